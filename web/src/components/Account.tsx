// The Account dialog, opened from the top bar: each account feature is a
// section of its own, in its own file.
import { AccountData } from './AccountData.js';
import { Dialog } from './Dialog.js';
import { ProfileSection } from './ProfileSection.js';
import { useChat } from './context.js';

export function AccountDialog() {
  const chat = useChat();
  const close = () => (chat.accountOpen.value = false);
  return (
    <Dialog open={chat.accountOpen.value} onClose={close} title="Account" wide>
      <ProfileSection />
      <AccountData />
    </Dialog>
  );
}
