// The Account dialog, opened from the topbar's "Account" button: one section per
// account feature, each a component of its own.
import { useChat } from './context.js';
import { Dialog } from './Dialog.js';
import { TwoFactorSection } from './TwoFactor.js';

export function AccountDialog() {
  const chat = useChat();
  return (
    <Dialog open={chat.accountOpen.value} onClose={() => (chat.accountOpen.value = false)} title="Account">
      <TwoFactorSection />
    </Dialog>
  );
}
