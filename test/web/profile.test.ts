// Profiles and account deletion in a real browser (E20): two devices. Alice sets
// a display name, a status and a picture in the Account dialog; Bob sees her
// name and picture beside her username, live, in the people list and on her
// messages. Then Alice downloads her data and deletes her account, keeping her
// messages: she is back at the welcome screen, and Bob sees "deleted user".
// Controls by role and label; axe clean, also at phone width in the dark theme.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Account, TestClient } from '../helpers/client.js';
import { checkA11y, openDevice, PHONE_DARK, signUpAs, useWebTest, type Device } from '../helpers/browser.js';
import { PNG } from '../helpers/files.js';

const web = useWebTest();
const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');

const messageOf = (device: Device, text: string) =>
  device.page.locator('.message-list li.msg:not(.pending)').filter({ has: device.page.locator('.msg-text', { hasText: text }) });

describe.sequential('profiles and account deletion in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let alices: Device;
  let bobs: Device;

  it('alice sets her profile and picture; bob sees them beside her username, live', async () => {
    alice = await signUpAs(web.server, 'alice');
    bob = await signUpAs(web.server, 'bob');
    await alice.request({ action: 'send', room: 'general', text: 'hello from alice', clientId: 'a1' });
    alices = await openDevice(web, alice);
    bobs = await openDevice(web, bob);
    await messageOf(bobs, 'hello from alice').waitFor();

    await alices.page.getByRole('button', { name: 'Account' }).click();
    const dialog = alices.page.getByRole('dialog', { name: 'Account' });
    await dialog.getByRole('heading', { name: 'Profile' }).waitFor();
    await checkA11y(alices.page, 'the Account dialog');
    await dialog.getByLabel('Display name').fill('Alice Liddell');
    await dialog.getByLabel('Status').fill('down the rabbit hole');
    await dialog.getByRole('button', { name: 'Save profile' }).click();
    await dialog.getByText('Your profile is saved.').waitFor();
    await dialog.getByLabel('Choose a picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: PNG });
    await dialog.getByText('Your picture is saved.').waitFor();
    await alices.page.screenshot({ path: join(SCREENSHOTS, 'profile-account-dialog.png') });
    await dialog.getByRole('button', { name: 'Close' }).click();

    const people = bobs.page.getByRole('navigation', { name: 'Rooms and people' });
    await people.getByRole('button', { name: /^Alice Liddell @alice, / }).waitFor();
    await messageOf(bobs, 'hello from alice').locator('.msg-from', { hasText: 'Alice Liddell' }).waitFor();
    expect(await messageOf(bobs, 'hello from alice').locator('.msg-from').textContent()).toBe('Alice Liddell @alice');
    await people.locator('img.avatar').first().waitFor();
    const src = await people.locator('img.avatar').first().getAttribute('src');
    const res = await fetch(src!);
    expect(res.status).toBe(200);
    await checkA11y(bobs.page, 'a display name and picture in the people list');
    await bobs.page.screenshot({ path: join(SCREENSHOTS, 'profile-seen-by-bob.png') });
  }, 120_000);

  it('is clean at phone width in the dark theme', async () => {
    const phone = await openDevice(web, alice, PHONE_DARK);
    await phone.page.getByRole('button', { name: 'Account' }).click();
    await phone.page.getByRole('dialog', { name: 'Account' }).getByRole('heading', { name: 'Delete account' }).waitFor();
    await checkA11y(phone.page, 'the Account dialog on a phone, dark');
    await phone.page.screenshot({ path: join(SCREENSHOTS, 'profile-account-phone-dark.png') });
    await phone.ctx.close();
  }, 60_000);

  it('alice downloads her data, then deletes her account keeping her messages; bob sees "deleted user"', async () => {
    await alices.page.getByRole('button', { name: 'Account' }).click();
    const dialog = alices.page.getByRole('dialog', { name: 'Account' });
    const downloading = alices.page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Download my data' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('wild-whispers-alice.json');
    const data = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(data.profile).toMatchObject({ username: 'alice', displayName: 'Alice Liddell', email: 'alice@example.com' });
    expect(data.messages.map((m: { text: string }) => m.text)).toEqual(['hello from alice']);

    await dialog.getByRole('radio', { name: /Keep them/ }).check();
    await dialog.getByLabel('Your password').fill('not my password');
    await dialog.getByRole('button', { name: 'Delete my account' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'That password is not right' }).waitFor();
    await dialog.getByLabel('Your password').fill(alice.password);
    await dialog.getByRole('button', { name: 'Delete my account' }).click();
    await alices.page.getByText('Your account was deleted.').first().waitFor();
    await alices.page.getByRole('group', { name: 'Sign up or log in' }).waitFor();

    await messageOf(bobs, 'hello from alice').locator('.msg-from', { hasText: 'deleted user' }).waitFor();
    const people = bobs.page.getByRole('navigation', { name: 'Rooms and people' });
    await expect.poll(() => people.getByRole('button', { name: /Alice Liddell/ }).count()).toBe(0);
    // after a reload, from the server's history
    await bobs.page.reload();
    await messageOf(bobs, 'hello from alice').locator('.msg-from', { hasText: 'deleted user' }).waitFor();
    await checkA11y(bobs.page, 'a deleted user’s message');
    await bobs.page.screenshot({ path: join(SCREENSHOTS, 'profile-deleted-user.png') });
    expect(web.problems).toEqual([]);
    await Promise.all([alices.ctx.close(), bobs.ctx.close(), alice.close(), bob.close()]);
  }, 120_000);
});
