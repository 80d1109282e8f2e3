// The "Account" dialog, opened from the top bar: one section per account
// feature, each its own component.
import { BlockedSection } from './Blocked.js';
import { Dialog } from './Dialog.js';
import { useChat } from './context.js';

export function AccountDialog() {
  const chat = useChat();
  const open = chat.safety.accountOpen.value;
  return (
    <Dialog open={open} onClose={() => (chat.safety.accountOpen.value = false)} title="Account">
      <BlockedSection />
    </Dialog>
  );
}
