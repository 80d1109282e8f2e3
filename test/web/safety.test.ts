// Block, report and administration (E22) in a real browser: Debian's Chromium
// driven by playwright-core against the real local server. Bob, on a phone in
// the dark theme, blocks Carol from her message's menu: her channel message
// collapses ("Message from a blocked person — show"), her presence goes from his
// sidebar, and her direct message to him is refused and never reaches his screen.
// Alice reports a message of Carol's; Dana, an administrator (ADMIN_USERS), sees
// it under "Reports" and suspends Carol, whose open socket closes at once.
// Controls are found by role and label; axe stays clean at phone width, dark.
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Account, TestClient } from '../helpers/client.js';
import { PHONE_DARK, checkA11y, openDevice, roomButton, signUpAs, useWebTest, type Device } from '../helpers/browser.js';

const web = useWebTest({ ADMIN_USERS: 'dana' });

const message = (page: Page, text: string) =>
  page.locator('.message-list li.msg:not(.pending)').filter({ has: page.locator('.msg-text', { hasText: text }) });

async function act(item: Locator, name: string | RegExp): Promise<void> {
  await item.hover();
  await item.getByRole('button', { name: 'Message actions' }).click();
  await item.getByRole('menu', { name: 'Message actions' }).getByRole('menuitem', { name }).click();
}

describe.sequential('blocks and reports in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let carol: TestClient & Account;
  let dana: TestClient & Account;
  let bobs: Device;

  it('lets Bob block Carol: her channel message collapses, her presence and her DMs stop reaching him', async () => {
    alice = await signUpAs(web.server, 'alice');
    bob = await signUpAs(web.server, 'bob');
    carol = await signUpAs(web.server, 'carol');
    dana = await signUpAs(web.server, 'dana');
    const dm = dmRoomId('bob', 'carol');
    await carol.request({ action: 'send', room: dm, text: 'hi bob', clientId: 'c-dm-1' });
    await carol.request({ action: 'send', room: 'general', text: 'carol says hello', clientId: 'c-1' });
    bobs = await openDevice(web, bob, PHONE_DARK);
    const page = bobs.page;
    await message(page, 'carol says hello').waitFor();
    await page.getByRole('button', { name: 'Rooms and people' }).click();
    await expect.poll(async () => (await roomButton(page, 'carol').first().getAttribute('aria-label')) ?? '').toMatch(/^carol, online/);
    await page.keyboard.press('Escape');
    await page.locator('.scrim').waitFor({ state: 'hidden' }); // the drawer is closed

    await act(message(page, 'carol says hello'), 'Block carol');
    const collapsed = page.locator('li.msg.blocked', { hasText: 'Message from a blocked person' });
    await collapsed.waitFor();
    expect(await message(page, 'carol says hello').count()).toBe(0);
    expect(await web.server.db.sql`select 1 from blocks`).toHaveLength(1);
    await page.getByRole('button', { name: /^Rooms and people/ }).click();
    await expect.poll(async () => (await roomButton(page, 'carol').first().getAttribute('aria-label')) ?? '').toMatch(/^carol, offline/);

    // carol's direct message is refused, and nothing reaches bob
    const refused = await carol.request({ action: 'send', room: dm, text: 'why no answer?', clientId: 'c-dm-2' });
    expect(refused).toMatchObject({ type: 'error', code: 'forbidden', message: 'Your message could not be delivered to this person.' });
    await roomButton(page, 'carol').first().click();
    await message(page, 'hi bob').waitFor();
    expect(await message(page, 'why no answer?').count()).toBe(0);
    await checkA11y(page, 'a DM with a blocked person, phone, dark');

    // shown on request, in #general
    await page.getByRole('button', { name: /^Rooms and people/ }).click();
    await roomButton(page, '#?general').click();
    await collapsed.waitFor();
    await checkA11y(page, 'a collapsed message, phone, dark');
    await collapsed.getByRole('button', { name: 'show' }).click();
    await message(page, 'carol says hello').waitFor();

    // the Account dialog lists her, with Unblock
    await page.getByRole('button', { name: 'Account' }).click();
    const account = page.getByRole('dialog', { name: 'Account' });
    await account.getByRole('button', { name: 'Unblock carol' }).waitFor();
    await checkA11y(page, 'the Account dialog, phone, dark');
    await account.getByRole('button', { name: 'Close' }).click();
  }, 120_000);

  it('lets Alice report a message, and Dana, an administrator, suspend its author, whose socket closes', async () => {
    const alices = await openDevice(web, alice);
    await act(message(alices.page, 'carol says hello'), 'Report…');
    const dialog = alices.page.getByRole('dialog', { name: 'Report message' });
    await dialog.getByLabel('Why are you reporting it?').fill('She keeps insulting people');
    await dialog.getByRole('button', { name: 'Send report' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(async () => (await web.server.db.sql`select reason from reports`).map((r) => r.reason)).toEqual(['She keeps insulting people']);

    // not an administrator: no Reports button
    expect(await bobs.page.getByRole('button', { name: /^Reports/ }).count()).toBe(0);

    const danas = await openDevice(web, dana, PHONE_DARK);
    const page = danas.page;
    await page.getByRole('button', { name: 'Reports, 1 open' }).click();
    const reports = page.getByRole('dialog', { name: 'Reports' });
    const report = reports.getByRole('listitem').filter({ hasText: 'alice reported a message by carol in #general' });
    await report.getByText('She keeps insulting people').waitFor();
    await report.getByText('carol says hello').waitFor();
    await checkA11y(page, 'the Reports dialog, phone, dark');
    await report.getByLabel('Suspend carol for').selectOption({ label: '7 days' });
    await report.getByRole('button', { name: 'Suspend carol' }).click();
    await report.getByRole('status').filter({ hasText: /^carol is suspended until/ }).waitFor();
    // carol's open socket is told and closed
    expect(await carol.next('suspended')).toMatchObject({ message: expect.stringMatching(/^This account is suspended until/) });
    await carol.closed;
    await report.getByRole('button', { name: 'Dismiss' }).click();
    await reports.getByText('No open reports.').waitFor();
    await Promise.all([alices.ctx.close(), danas.ctx.close(), bobs.ctx.close()]);
    expect(web.problems).toEqual([]);
  }, 120_000);
});
