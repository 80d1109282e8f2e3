// Account recovery and devices (E18) in a real browser: alice on a phone (dark
// theme, phone width) and a desktop. The desktop's Account dialog lists both
// devices and logs the phone out, whose page drops to the login screen at once;
// then the phone resets the password with "Forgot password?" and the code from
// the outbox, which logs the desktop out too. axe stays clean throughout.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Account, TestClient } from '../helpers/client.js';
import { checkA11y, openDevice, PHONE_DARK, signUpAs, useWebTest, type Device } from '../helpers/browser.js';

// The phone sits logged out through the reset (minutes for a person reading the
// mailed code; over 30 s in a loaded CI run): the sweep would close its
// anonymous socket meanwhile, and the login typed across the reconnect was lost
// (the page showed "Connection lost. Reconnecting…" and an empty form). Not what
// this file tests: the grace period is tested in test/security.
const web = useWebTest({ UNAUTHENTICATED_GRACE_SECONDS: '600' });

const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';
const loginChoice = (page: Page) => page.getByRole('group', { name: 'Sign up or log in' });

async function openAccount(page: Page) {
  await page.getByRole('button', { name: 'Account', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Account' });
  await dialog.getByRole('heading', { name: 'Devices' }).waitFor();
  return dialog;
}

describe.sequential('account recovery and devices in Chromium', () => {
  let alice: TestClient & Account;
  let phone: Device;
  let desk: Device;

  it('lists both devices in the Account dialog, this one marked', async () => {
    alice = await signUpAs(web.server, 'alice');
    await alice.request({ action: 'auth', op: 'logout' }); // only the two browsers stay
    await alice.close();
    phone = await openDevice(web, alice, { ...PHONE_DARK, userAgent: ANDROID_UA });
    desk = await openDevice(web, alice);

    const onPhone = await openAccount(phone.page);
    await onPhone.getByRole('heading', { name: 'Password and email' }).waitFor();
    await onPhone.getByRole('list', { name: 'Devices logged in' }).getByText('Chrome on Android').waitFor();
    await checkA11y(phone.page, 'the Account dialog on a phone in the dark theme');
    await onPhone.getByRole('button', { name: 'Close' }).click();

    const onDesk = await openAccount(desk.page);
    const list = onDesk.getByRole('list', { name: 'Devices logged in' });
    await expect.poll(() => list.getByRole('listitem').count()).toBe(2);
    const mine = list.getByRole('listitem').filter({ hasText: '(this device)' });
    await expect.poll(() => mine.textContent()).toMatch(/Headless Chrome on Linux/);
    await checkA11y(desk.page, 'the Account dialog on a desktop');
  }, 90_000);

  it('logs the phone out from the desktop, and the phone drops to the login screen at once', async () => {
    const onDesk = desk.page.getByRole('dialog', { name: 'Account' });
    await onDesk.getByRole('button', { name: /^Log out Chrome on Android/ }).click();
    await onDesk.getByText('Logged out Chrome on Android.').waitFor();
    await loginChoice(phone.page).waitFor({ timeout: 10_000 });
    await expect.poll(() => onDesk.getByRole('list', { name: 'Devices logged in' }).getByRole('listitem').count()).toBe(1);
    await checkA11y(phone.page, 'the login screen after the phone was logged out');
  }, 60_000);

  it('resets the password with "Forgot password?" and the mailed code; every other device is logged out', async () => {
    const page = phone.page;
    await loginChoice(page).getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Forgot password?' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset your password' });
    await dialog.getByLabel('Username or email').fill(alice.email);
    await checkA11y(page, 'the reset dialog on a phone in the dark theme');
    await dialog.getByRole('button', { name: 'Send code' }).click();
    await dialog.getByLabel('Code from the email').waitFor();
    // the code from the outbox, as sign-up tests read it
    let code: string | undefined;
    await expect
      .poll(() => (code = web.server.mail.to(alice.email).filter((m) => /reset the password/.test(m.text)).map((m) => /\b(\d{6})\b/.exec(m.subject)?.[1]).at(-1)))
      .toMatch(/^\d{6}$/);
    await dialog.getByLabel('Code from the email').fill('000000');
    await dialog.getByLabel('New password', { exact: true }).fill('a whole new passphrase');
    await dialog.getByRole('button', { name: 'Set new password' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'That code is not valid' }).waitFor();
    await dialog.getByLabel('Code from the email').fill(code!);
    await dialog.getByRole('button', { name: 'Set new password' }).click();
    // logged in by email: told to log in with the username and the new password
    await dialog.getByText('Password changed. Log in with your username and the new password.').waitFor();
    await loginChoice(desk.page).waitFor({ timeout: 10_000 }); // the desktop's session ended too
    await dialog.getByRole('button', { name: 'Close' }).click();
    // The login is typed again if the first was lost: the page can reconnect just
    // then and empty the form (seen under load; a login lost across a reconnect
    // is a problem of its own, still open). This test is about the reset.
    for (let attempt = 0; attempt < 2; attempt++) {
      await page.getByLabel('Username').fill(alice.username);
      await page.getByLabel('Password', { exact: true }).fill('a whole new passphrase');
      await page.getByLabel('Password', { exact: true }).press('Enter');
      if (await page.getByRole('heading', { name: 'general', level: 1 }).waitFor({ timeout: 7_000 }).then(() => true, () => false)) break;
    }
    // Once in a loaded CI run the chat did not appear within 15 s, and not again
    // in 7 runs here: if it happens again, the failure says what the page showed.
    await page
      .getByRole('heading', { name: 'general', level: 1 })
      .waitFor()
      .catch(async (err: Error) => {
        throw new Error(`${err.message}\nThe page showed: ${(await page.locator('body').innerText()).slice(0, 2000)}`);
      });
    expect(web.problems).toEqual([]);
  }, 90_000);
});
