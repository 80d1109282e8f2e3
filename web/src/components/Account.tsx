// The Account dialog, opened from the topbar's "Account" button. Each part of an
// account has a section of its own, in a component file of its own.
import { signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Dialog } from './Dialog.js';
import { DevicesSection, PasswordEmailSection } from './AccountRecovery.js';
import { AccountData } from './AccountData.js';
import { ProfileSection } from './ProfileSection.js';

/** Whether the Account dialog is open. */
export const accountOpen = signal(false);

export function AccountButton() {
  return (
    <button type="button" class="btn ghost small" onClick={() => (accountOpen.value = true)}>
      Account
    </button>
  );
}

export function AccountDialog() {
  // closed with the chat screen (a logout, a session ended elsewhere), not reopened at the next login
  useEffect(() => () => void (accountOpen.value = false), []);
  return (
    <Dialog open={accountOpen.value} onClose={() => (accountOpen.value = false)} title="Account" wide>
      <ProfileSection />
      <PasswordEmailSection />
      <DevicesSection />
      <AccountData />
    </Dialog>
  );
}
