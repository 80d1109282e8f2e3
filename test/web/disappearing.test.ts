// Disappearing messages in a real browser: Debian's Chromium driven by
// playwright-core against the real local server, with the test-only 5-second
// timer. Alice sets the timer of her DM with Bob from the room's header; both
// see the announcement and the timer on the header; her next message vanishes
// from both screens at its expiry, without a reload, and the server deletes it
// soon after. Who gets the control: either person of a DM, a channel's creator,
// nobody in #general. Controls are found by role and label; axe stays clean,
// also at phone width in the dark theme.
import type { Page } from 'playwright-core';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Account, TestClient } from '../helpers/client.js';
import { checkA11y, openDevice, roomButton, signUpAs, useWebTest, type Device } from '../helpers/browser.js';

// the test-only timer, and a sweep every 2 s so the deletion is seen soon
const web = useWebTest({ DISAPPEAR_TEST_SECONDS: '5', SWEEP_INTERVAL_SECONDS: '2' });

const message = (page: Page, text: string) =>
  page.locator('.message-list li.msg:not(.pending)').filter({ has: page.locator('.msg-text', { hasText: text }) });

const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');

const timerControl = (page: Page) => page.getByRole('combobox', { name: 'Disappearing messages' });
const header = (page: Page) => page.locator('.room-header');

describe.sequential('disappearing messages in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let alices: Device;
  let bobs: Device;
  let dm: string;

  it('gives the timer control to either person of a DM and to a channel’s creator, nobody in #general', async () => {
    alice = await signUpAs(web.server, 'alice');
    bob = await signUpAs(web.server, 'bob');
    dm = dmRoomId('alice', 'bob');
    await alice.request({ action: 'send', room: dm, text: 'hi bob', clientId: 'hello-1' });
    await bob.request({ action: 'join', room: 'bobs-den' });
    await alice.request({ action: 'join', room: 'bobs-den' });
    alices = await openDevice(web, alice);
    bobs = await openDevice(web, bob);

    await expect.poll(() => timerControl(alices.page).count()).toBe(0); // #general: no creator on record
    await roomButton(alices.page, '#?bobs-den').click();
    await alices.page.getByRole('heading', { name: 'bobs-den', level: 1 }).waitFor();
    expect(await timerControl(alices.page).count()).toBe(0); // bob created it
    await roomButton(bobs.page, '#?bobs-den').click();
    await bobs.page.getByRole('heading', { name: 'bobs-den', level: 1 }).waitFor();
    await timerControl(bobs.page).waitFor();
    expect(await timerControl(bobs.page).inputValue()).toBe('off');

    await roomButton(alices.page, 'bob').click();
    await roomButton(bobs.page, 'alice').click();
    await timerControl(alices.page).waitFor();
    await timerControl(bobs.page).waitFor();
    const choices = await timerControl(alices.page).locator('option').allTextContents();
    expect(choices).toEqual(['Off', '5 seconds', '5 minutes', '1 hour', '1 day', '1 week']);
    await checkA11y(alices.page, 'a DM with the timer control');
  }, 90_000);

  it('announces a new timer in both timelines and shows it on the header', async () => {
    await timerControl(alices.page).selectOption({ label: '5 seconds' });

    await alices.page.locator('.timer-notice', { hasText: 'You set messages to disappear after 5 seconds' }).waitFor();
    await bobs.page.locator('.timer-notice', { hasText: 'alice set messages to disappear after 5 seconds' }).waitFor();
    for (const page of [alices.page, bobs.page]) {
      await header(page).getByText('Messages disappear after 5 seconds').waitFor();
      expect(await timerControl(page).inputValue()).toBe('5');
    }
    const [row] = await web.server.db.sql`select disappear_after from rooms where id = ${dm}`;
    expect(row).toEqual({ disappear_after: 5 });
    await alices.page.screenshot({ path: join(SCREENSHOTS, 'disappearing-timer-set.png') });
  });

  it('makes a message vanish from both screens at its expiry, without a reload; the server deletes it', async () => {
    const box = alices.page.getByRole('textbox', { name: 'Message bob' });
    await box.fill('this will vanish');
    await box.press('Enter');
    await message(alices.page, 'this will vanish').waitFor();
    await message(bobs.page, 'this will vanish').waitFor();
    const shownAt = Date.now();
    // the bubble says it will go
    expect(await message(bobs.page, 'this will vanish').getByTitle(/^Disappears /).count()).toBe(1);
    expect(await message(bobs.page, 'hi bob').getByTitle(/^Disappears /).count()).toBe(0);
    const [stored] = await web.server.db.sql<{ id: string; left: number }[]>`
      select id::text, extract(epoch from expires_at - now())::float8 as left from messages where body = 'this will vanish'`;
    expect(stored!.left).toBeGreaterThan(3);
    expect(stored!.left).toBeLessThanOrEqual(5);

    await Promise.all([
      message(alices.page, 'this will vanish').waitFor({ state: 'detached', timeout: 10_000 }),
      message(bobs.page, 'this will vanish').waitFor({ state: 'detached', timeout: 10_000 }),
    ]);
    // gone by the timer, not at once
    expect(Date.now() - shownAt).toBeGreaterThan(2500);
    // the announcement stays, and the earlier message sent before the timer
    await alices.page.locator('.timer-notice', { hasText: 'You set messages to disappear after 5 seconds' }).waitFor();
    await message(bobs.page, 'hi bob').waitFor();
    // the sweep (every 2 s here) deletes the row for good
    await expect.poll(async () => (await web.server.db.sql`select 1 from messages where id = ${stored!.id}`).length, { timeout: 10_000 }).toBe(0);
  }, 30_000);

  it('turns the timer off, announced, and stays axe-clean at phone width in the dark theme', async () => {
    await timerControl(bobs.page).selectOption({ label: 'Off' });
    await bobs.page.locator('.timer-notice', { hasText: 'You turned off disappearing messages' }).waitFor();
    await alices.page.locator('.timer-notice', { hasText: 'bob turned off disappearing messages' }).waitFor();
    await expect.poll(() => header(alices.page).getByText(/Messages disappear after/).count()).toBe(0);
    expect(await timerControl(alices.page).inputValue()).toBe('off');

    await bobs.page.setViewportSize({ width: 375, height: 812 });
    await bobs.page.emulateMedia({ colorScheme: 'dark' });
    await timerControl(bobs.page).waitFor(); // still labelled when its words are visually hidden
    await bobs.page.locator('#sidebar').evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished))); // the drawer slid away
    expect(await bobs.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await bobs.page.screenshot({ path: join(SCREENSHOTS, 'disappearing-phone-dark.png') });
    await checkA11y(bobs.page, 'a DM at phone width, dark');
    await checkA11y(alices.page, 'a DM after the timer went off');
    expect(web.problems).toEqual([]);
    await Promise.all([alices.ctx.close(), bobs.ctx.close(), alice.close(), bob.close()]);
  });
});
