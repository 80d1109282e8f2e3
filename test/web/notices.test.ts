// Email notices (E24) in a real browser: Debian's Chromium driven by
// playwright-core against the real local server, with a delay of two seconds
// and the sweep driven by the test. Bob closes his tab, Alice writes to him
// directly: after the delay exactly one notice goes to Bob, and its link opens
// the conversation (after logging in, on a fresh profile). When Bob reads first,
// in an open tab that a link moved to the conversation, no notice goes out. A
// link that comes before its conversation waits for it. The
// Account dialog's Email notifications section changes the choice, axe clean at phone
// width in the dark theme.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import { sweepNotices } from '../../functions/core/notices.js';
import type { Account, TestClient } from '../helpers/client.js';
import { PHONE_DARK, checkA11y, openDevice, signUpAs, useWebTest, type WebTest } from '../helpers/browser.js';

const DELAY_SECONDS = 2;
// SWEEP_INTERVAL_SECONDS: the server's own timer stays out of the way; the test sweeps.
// TEST_OUTBOX: mail lands in the outbox folder as on `npm start`, and is read back from there.
const web = useWebTest({ NOTICE_DELAY_SECONDS: String(DELAY_SECONDS), SWEEP_INTERVAL_SECONDS: '3600', TEST_OUTBOX: '1' });

/** The outbox's notices (mails with List-Unsubscribe) to an address, as files. */
async function outboxNoticesTo(w: WebTest, address: string): Promise<string[]> {
  const files = await readdir(w.server.outboxDir).catch(() => [] as string[]);
  const mails = await Promise.all(files.filter((f) => f.endsWith('.eml')).map((f) => readFile(join(w.server.outboxDir, f), 'utf8')));
  return mails.filter((m) => new RegExp(`^To: .*${address.replace(/[.]/g, '\\.')}`, 'mi').test(m) && /^List-Unsubscribe: </m.test(m));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Past the delay, then one sweep, as the minute's timer would run it. */
async function afterDelaySweep(w: WebTest): Promise<void> {
  await sleep(DELAY_SECONDS * 1000 + 500);
  await sweepNotices(w.server.server.deps);
}

/** Logs in on the page already at some address of the app (a link), past the tour. */
async function logIn(page: Page, who: Account): Promise<void> {
  await page.getByRole('group', { name: 'Sign up or log in' }).getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByLabel('Password', { exact: true }).press('Enter');
  const tour = page.getByRole('dialog', { name: 'Welcome to Wild Whispers' });
  const chat = page.getByRole('heading', { level: 1 });
  await tour.or(chat).first().waitFor();
  if (await tour.isVisible()) await tour.getByRole('button', { name: 'Skip the tour' }).click();
}

describe.sequential('email notices in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let carol: TestClient & Account;

  it('bob closes his tab, alice writes to him: one notice after the delay, whose link opens the conversation', async () => {
    alice = await signUpAs(web.server, 'alice');
    bob = await signUpAs(web.server, 'bob');
    carol = await signUpAs(web.server, 'carol');
    // only bob's browser: his protocol client from sign-up goes away too
    await bob.close();
    const bobs = await openDevice(web, bob);
    await bobs.ctx.close();

    const dm = dmRoomId('alice', 'bob');
    await alice.request({ action: 'send', room: dm, text: 'are you coming tonight?', clientId: 'a-1' });
    await alice.request({ action: 'send', room: dm, text: 'let me know', clientId: 'a-2' });
    await sweepNotices(web.server.server.deps);
    expect(web.server.mail.to('bob@example.com')).toHaveLength(1); // the sign-up code only
    await afterDelaySweep(web);
    await sweepNotices(web.server.server.deps); // a second sweep sends nothing more
    const notices = web.server.mail.to('bob@example.com').filter((m) => m.headers?.['List-Unsubscribe']);
    expect(notices).toHaveLength(1);
    // the outbox, as files: exactly one notice for bob, with its one-click headers
    const files = await outboxNoticesTo(web, 'bob@example.com');
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    const notice = notices[0]!;
    expect(notice.subject).toBe('@alice sent you 2 messages on Wild Whispers');
    expect(notice.text).not.toContain('coming tonight'); // no quotes unless asked
    expect(web.server.mail.to('alice@example.com').filter((m) => m.headers)).toHaveLength(0);
    const link = /Open: (\S+)/.exec(notice.text)![1]!;
    // where the server is reached (PUBLIC_URL unset: its first listening origin)
    expect(link).toBe(`http://localhost:${web.server.server.port}/#room=${encodeURIComponent(dm)}`);

    // the link, on a fresh profile: log in, and the conversation is open
    const ctx = await web.browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctx.setDefaultTimeout(15_000);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => web.problems.push(`bob: ${e.message}`));
    await page.goto(new URL(new URL(link).hash, web.baseUrl()).toString());
    await logIn(page, bob);
    await page.getByRole('heading', { name: 'alice', level: 1 }).waitFor();
    await page.locator('.msg-text', { hasText: 'let me know' }).waitFor();
    // the address no longer forces that room on a reload
    expect(new URL(page.url()).hash).toBe('');
    await ctx.close();
  });

  it('bob reads first, in a tab a link moved to the conversation: no notice', async () => {
    const bobs = await openDevice(web, bob);
    const page = bobs.page;
    const dm = dmRoomId('bob', 'carol');
    await carol.request({ action: 'send', room: dm, text: 'hello bob', clientId: 'c-0' });
    // a link followed in a tab already open: the hash change opens the room
    await page.evaluate((id) => (location.hash = `#room=${encodeURIComponent(id)}`), dm);
    await page.getByRole('heading', { name: 'carol', level: 1 }).waitFor();
    const before = web.server.mail.to('bob@example.com').length;
    const sent = await carol.request({ action: 'send', room: dm, text: 'quick question', clientId: 'c-1' });
    await page.locator('.msg-text', { hasText: 'quick question' }).waitFor();
    const id = (sent.message as { id: string }).id;
    await expect
      .poll(async () => (await web.server.db.sql`select through::text from read_marks rm join users u on u.id = rm.user_id where u.username = 'bob' and room_id = ${dm}`)[0]?.through)
      .toBe(id);
    await bobs.ctx.close();
    const filed = (await outboxNoticesTo(web, 'bob@example.com')).length;
    await afterDelaySweep(web);
    expect(web.server.mail.to('bob@example.com')).toHaveLength(before);
    expect(await outboxNoticesTo(web, 'bob@example.com')).toHaveLength(filed);
  });

  it('a link that comes before its conversation opens it as the first message arrives; a link to a room bob is not in says so', async () => {
    const dave = await signUpAs(web.server, 'dave');
    const bobs = await openDevice(web, bob);
    const page = bobs.page;
    const dm = dmRoomId('bob', 'dave');
    // clicked before the tab has heard of the conversation (it does not exist yet)
    await page.evaluate((id) => (location.hash = `#room=${encodeURIComponent(id)}`), dm);
    await dave.request({ action: 'send', room: dm, text: 'first words', clientId: 'd-0' });
    await page.getByRole('heading', { name: 'dave', level: 1 }).waitFor();
    await page.locator('.msg-text', { hasText: 'first words' }).waitFor();
    // a room bob is not in, and never joins: the page says so after a wait, and stays where it is
    await page.evaluate((id) => (location.hash = `#room=${encodeURIComponent(id)}`), 'not-for-bob');
    await page.getByText('You are not in the room that link opens.').waitFor();
    expect(await page.getByRole('heading', { name: 'dave', level: 1 }).isVisible()).toBe(true);
    await bobs.ctx.close();
    await dave.close();
  });

  it('the Account dialog’s Email notifications section changes the choice, axe clean at phone width, dark', async () => {
    const bobs = await openDevice(web, bob, PHONE_DARK);
    const page = bobs.page;
    await page.getByRole('button', { name: 'Account' }).click();
    const dialog = page.getByRole('dialog', { name: 'Account' });
    const section = dialog.getByRole('region', { name: 'Email notifications' });
    await section.scrollIntoViewIfNeeded();
    const group = section.getByRole('group', { name: 'Email me about' });
    expect(await group.getByRole('radio', { name: 'Direct messages and mentions' }).isChecked()).toBe(true);
    const quote = section.getByRole('checkbox', { name: 'Quote messages in emails' });
    expect(await quote.isChecked()).toBe(false);
    await checkA11y(page, 'notifications section, phone, dark');

    await group.getByRole('radio', { name: 'Every message in my rooms' }).check();
    await quote.check();
    await expect
      .poll(async () => await web.server.db.sql`select notify, notify_quote from users where username = 'bob'`)
      .toEqual([{ notify: 'all', notify_quote: true }]);
    await group.getByRole('radio', { name: 'Never' }).check();
    await expect.poll(async () => (await web.server.db.sql`select notify from users where username = 'bob'`)[0]!.notify).toBe('off');
    expect(await quote.isDisabled()).toBe(true);
    await checkA11y(page, 'notifications off, phone, dark');
    await bobs.ctx.close();
    expect(web.problems).toEqual([]);
  });
});
