// Two-factor authentication in a real browser (E19): Debian's Chromium driven by
// playwright-core against the real local server. Alice turns it on from the
// Account dialog on her laptop, reading the key shown beside the QR code and
// computing the code with otplib as her authenticator app would; she sees ten
// recovery codes once. On her phone (narrow, dark theme) the login then asks for
// a code after the password; she turns it off there with a recovery code and her
// password. Controls are found by role and label; axe stays clean.
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PHONE_DARK, checkA11y, openDevice, signUpAs, useWebTest } from '../helpers/browser.js';

const web = useWebTest();
const now = () => Math.floor(Date.now() / 1000);
const account = (page: Page) => page.getByRole('dialog', { name: 'Account' });

describe.sequential('two-factor authentication in Chromium', () => {
  it('enrols with the key shown, logs in on a second device with a code, and turns it off there', async () => {
    const alice = await signUpAs(web.server, 'alice');
    const laptop = await openDevice(web, alice);
    const page = laptop.page;

    await page.getByRole('button', { name: 'Account' }).click();
    const dialog = account(page);
    await dialog.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await dialog.getByLabel('Password (to set it up)').fill(alice.password);
    await dialog.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    const qr = dialog.getByRole('img', { name: 'QR code to add this account to an authenticator app' });
    await qr.waitFor();
    expect(Number(await qr.getAttribute('width'))).toBeGreaterThanOrEqual(150);
    expect(await qr.locator('path').getAttribute('d')).toMatch(/^M\d+ \d+h1v1h-1z/);
    const key = (await dialog.getByTestId('two-factor-key').textContent())!.replace(/\s/g, '');
    expect(key).toMatch(/^[A-Z2-7]{32}$/);
    await checkA11y(page, 'the two-factor setup');

    await dialog.getByLabel('Code from the app').fill('000000');
    await dialog.getByRole('button', { name: 'Turn on', exact: true }).click();
    await dialog.getByText('That code is not valid').waitFor();
    await dialog.getByLabel('Code from the app').fill(await generate({ secret: key, epoch: now() }));
    await dialog.getByRole('button', { name: 'Turn on', exact: true }).click();
    const list = dialog.getByRole('list', { name: 'Recovery codes' });
    await list.waitFor();
    const recovery = (await list.getByRole('listitem').allTextContents()).map((c) => c.trim());
    expect(recovery).toHaveLength(10);
    for (const c of recovery) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    await checkA11y(page, 'the recovery codes');
    await dialog.getByRole('button', { name: 'I have saved them' }).click();
    await dialog.getByText('On: logging in asks for a code').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();

    // the phone: the password alone is not enough
    const ctx = await web.browser.newContext({ ...PHONE_DARK });
    ctx.setDefaultTimeout(15_000);
    const phone = await ctx.newPage();
    phone.on('pageerror', (e) => web.problems.push(`phone: ${e.message}`));
    await phone.goto(web.baseUrl());
    await phone.getByRole('group', { name: 'Sign up or log in' }).getByRole('button', { name: 'Log in' }).click();
    await phone.getByLabel('Username').fill('alice');
    await phone.getByLabel('Password', { exact: true }).fill(alice.password);
    await phone.getByLabel('Password', { exact: true }).press('Enter');
    await phone.getByRole('heading', { name: 'Two-factor authentication', level: 1 }).waitFor();
    await checkA11y(phone, 'the second step at phone width, dark');
    // the code of the enrolment's step is spent: the app's next one (within the one-step tolerance)
    await phone.getByLabel('Authentication code').fill(await generate({ secret: key, epoch: now() + 30 }));
    await phone.getByRole('button', { name: 'Log in' }).click();
    await phone.getByRole('heading', { name: 'general', level: 1 }).waitFor();

    // the topbar's Account button fits the phone's width
    const box = (await phone.getByRole('button', { name: 'Account' }).boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(375);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await phone.screenshot({ path: join(process.cwd(), 'test-output', 'screenshots', 'two-factor-phone.png') });
    await phone.getByRole('button', { name: 'Account' }).click();
    const onPhone = account(phone);
    await onPhone.getByText('On: logging in asks for a code').waitFor();
    await checkA11y(phone, 'the Account dialog at phone width, dark');
    await onPhone.getByLabel('Code from the app, or a recovery code').fill(recovery[0]!);
    await onPhone.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    await onPhone.getByText('That is not your current password.').waitFor();
    await onPhone.getByLabel('Password (to turn it off)').fill(alice.password);
    await onPhone.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    await onPhone.getByRole('button', { name: 'Set up two-factor authentication' }).waitFor();

    // and the laptop's next login needs the password only
    await laptop.ctx.close();
    const again = await openDevice(web, alice);
    await again.page.getByRole('button', { name: 'Account' }).click();
    await account(again.page).getByText('Off. With it on').waitFor();
    await Promise.all([again.ctx.close(), ctx.close(), alice.close()]);
    expect(web.problems).toEqual([]);
  }, 120_000);
});
