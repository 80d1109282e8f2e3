// Channels and moderation in a real browser (E21): alice creates a channel,
// sets its topic and makes it private from "Manage channel", invites bob; carol
// finds it neither in "Browse channels" nor by name; alice makes bob a
// moderator; bob removes carol's message in a public channel ("removed by a
// moderator" on every screen) and removes carol, whose screen drops the room and
// says why. Controls by role and label; axe clean, also at phone width in the
// dark theme.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Account, TestClient } from '../helpers/client.js';
import { PHONE_DARK, checkA11y, openDevice, roomButton, signUpAs, useWebTest, type Device } from '../helpers/browser.js';

const web = useWebTest();

const message = (page: Page, text: string) =>
  page.locator('.message-list li.msg:not(.pending)').filter({ has: page.locator('.msg-text', { hasText: text }) });

async function manage(page: Page, room: string) {
  await page.locator('.room-header').getByRole('button', { name: `Manage channel #${room}` }).click();
  return page.getByRole('dialog', { name: `Manage #${room}` });
}

describe.sequential('channels and moderation in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let carol: TestClient & Account;
  let alices: Device;
  let bobs: Device;
  let carols: Device;

  it('alice creates a channel, sets its topic, makes it private and invites bob, who sees it at once', async () => {
    alice = await signUpAs(web.server, 'alice');
    bob = await signUpAs(web.server, 'bob');
    carol = await signUpAs(web.server, 'carol');
    await alice.request({ action: 'join', room: 'plans' });
    await bob.request({ action: 'join', room: 'lobby' });
    await carol.request({ action: 'join', room: 'lobby' });
    await alice.request({ action: 'join', room: 'lobby' });
    await alice.request({ action: 'join', room: 'garden' });
    await alice.request({ action: 'update_room', room: 'garden', topic: 'Tomatoes and such' });
    alices = await openDevice(web, alice);
    bobs = await openDevice(web, bob);
    carols = await openDevice(web, carol, PHONE_DARK);

    await roomButton(alices.page, '#?plans').click();
    await alices.page.getByRole('heading', { name: 'plans', level: 1 }).waitFor();
    const dialog = await manage(alices.page, 'plans');
    await dialog.getByRole('textbox', { name: 'Topic' }).fill('Launch day');
    await dialog.getByRole('button', { name: 'Save topic' }).click();
    await alices.page.locator('.room-header .room-topic', { hasText: 'Launch day' }).waitFor();
    await dialog.getByRole('checkbox', { name: /Private/ }).check();
    await alices.page.locator('.room-header', { hasText: 'private' }).waitFor();
    await dialog.getByRole('textbox', { name: 'Invite someone (username)' }).fill('bob');
    await dialog.getByRole('button', { name: 'Invite', exact: true }).click();
    await dialog.getByRole('status').filter({ hasText: 'Done.' }).last().waitFor();
    await checkA11y(alices.page, 'the Manage channel dialog');
    await dialog.getByRole('button', { name: 'Close' }).click();

    await roomButton(bobs.page, '#?plans').waitFor();
    await roomButton(bobs.page, '#?plans').click();
    await bobs.page.locator('.room-header .room-topic', { hasText: 'Launch day' }).waitFor();
    const [row] = await web.server.db.sql`select private, topic from rooms where id = 'plans'`;
    expect(row).toEqual({ private: true, topic: 'Launch day' });
  }, 120_000);

  it('carol cannot find it in the directory nor join it by name; she finds and joins a public one', async () => {
    const page = carols.page;
    await page.getByRole('button', { name: /^Rooms and people/ }).click();
    await page.getByRole('button', { name: 'Browse channels' }).click();
    const dialog = page.getByRole('dialog', { name: 'Browse channels' });
    const list = dialog.getByRole('list', { name: 'Public channels' });
    await list.getByRole('button', { name: 'Open #lobby' }).waitFor();
    await list.getByText('Tomatoes and such').waitFor();
    expect(await dialog.getByText('plans').count()).toBe(0);
    await dialog.getByRole('searchbox', { name: 'Search channels' }).fill('plan');
    await dialog.getByRole('status').filter({ hasText: 'No public channel matches.' }).waitFor();
    await checkA11y(page, 'the Browse channels dialog at phone width, dark');
    await dialog.getByRole('searchbox', { name: 'Search channels' }).fill('tomato');
    await list.getByRole('button', { name: 'Join #garden' }).click();
    await page.getByRole('heading', { name: 'garden', level: 1 }).waitFor();
    await page.locator('.room-header .room-topic', { hasText: 'Tomatoes and such' }).waitFor();

    await page.getByRole('button', { name: /^Rooms and people/ }).click();
    await page.getByText('Join or create a channel').click();
    await page.getByRole('textbox', { name: 'Channel name' }).fill('plans');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'There is no channel #plans you can join.' }).waitFor();
    await page.getByRole('button', { name: 'Close the room list' }).click();
  }, 60_000);

  it('alice makes bob a moderator of lobby; bob removes carol’s message and then carol, whose screen says why', async () => {
    await alice.request({ action: 'set_role', room: 'lobby', user: 'bob', role: 'moderator' });
    const said = await carol.request({ action: 'send', room: 'lobby', text: 'buy cheap watches', clientId: 'spam-1' });
    expect(said.type).toBe('sent');
    await roomButton(bobs.page, '#?lobby').click();
    const spam = message(bobs.page, 'buy cheap watches');
    await spam.waitFor();
    await spam.hover();
    await spam.getByRole('button', { name: 'Message actions' }).click();
    await spam.getByRole('menu', { name: 'Message actions' }).getByRole('menuitem', { name: 'Remove…' }).click();
    await bobs.page.getByRole('dialog', { name: 'Remove this message?' }).getByRole('button', { name: 'Remove' }).click();
    await bobs.page.locator('.msg-deleted', { hasText: 'removed by a moderator' }).waitFor();
    await roomButton(alices.page, '#?lobby').click();
    await alices.page.locator('.msg-deleted', { hasText: 'removed by a moderator' }).waitFor();

    // carol has lobby open on her phone when bob removes her
    await carols.page.getByRole('button', { name: /^Rooms and people/ }).click();
    await roomButton(carols.page, '#?lobby').click();
    await carols.page.locator('.msg-deleted', { hasText: 'removed by a moderator' }).waitFor();
    const dialog = await manage(bobs.page, 'lobby');
    await dialog.getByRole('button', { name: 'Remove carol' }).click();
    await expect.poll(() => roomButton(carols.page, '#?lobby').count()).toBe(0);
    await carols.page.locator('.toast', { hasText: 'bob removed you from #lobby.' }).waitFor();
    await carols.page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    await checkA11y(carols.page, 'after being removed, at phone width, dark');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await Promise.all([alices.ctx.close(), bobs.ctx.close(), carols.ctx.close()]);
  }, 60_000);
});
