// The Account dialog, opened from the topbar's "Account" button. Each part of an
// account has a section of its own, in a component file of its own.
import { useEffect } from 'preact/hooks';
import { AccountData } from './AccountData.js';
import { DevicesSection, PasswordEmailSection } from './AccountRecovery.js';
import { BlockedSection } from './Blocked.js';
import { useChat } from './context.js';
import { Dialog } from './Dialog.js';
import { NotificationsSection } from './Notifications.js';
import { PushSection } from './PushNotifications.js';
import { ProfileSection } from './ProfileSection.js';
import { TwoFactorSection } from './TwoFactor.js';

export function AccountDialog() {
  const chat = useChat();
  // closed with the chat screen (a logout, a session ended elsewhere), not reopened at the next login
  useEffect(() => () => void (chat.accountOpen.value = false), [chat]);
  return (
    <Dialog open={chat.accountOpen.value} onClose={() => (chat.accountOpen.value = false)} title="Account" wide>
      <ProfileSection />
      <PasswordEmailSection />
      <DevicesSection />
      <TwoFactorSection />
      <NotificationsSection />
      <PushSection />
      <BlockedSection />
      <AccountData />
    </Dialog>
  );
}
