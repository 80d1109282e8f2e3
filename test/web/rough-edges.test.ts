// Rough edges of the web client found by a first trial, each checked the way a
// person meets it: Debian's Chromium (playwright-core) against the real local
// server, controls found by role and label. Each test makes its own people, so
// they run in any order. axe stays clean on the new states, at phone width and in
// the dark theme.
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { newAccount, signUp, type Account, type TestClient } from '../helpers/client.js';
import { CHROMIUM, CHROMIUM_ARGS, PHONE_DARK, checkA11y, useWebTest } from '../helpers/browser.js';


// many messages at once for the long history below
const web = useWebTest({ MESSAGE_BURST: '500', MESSAGES_PER_MINUTE: '10000', USER_MESSAGE_BURST: '500', USER_MESSAGES_PER_MINUTE: '10000', FRAMES_BURST: '1000' });

// ---- helpers -----------------------------------------------------------------

async function newContext(options: BrowserContextOptions = {}, on: Browser = web.browser): Promise<BrowserContext> {
  const ctx = await on.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  ctx.setDefaultTimeout(10_000); // a missing control fails in seconds, not half a minute
  return ctx;
}

async function openPage(ctx: BrowserContext, url = web.baseUrl()): Promise<Page> {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => web.problems.push(e.message));
  await page.goto(url);
  return page;
}

/** axe-core: nothing serious or critical. */
/** An account made over the protocol: its client stays connected (online) until closed. */
async function account(prefix: string): Promise<TestClient & Account> {
  return signUp(web.server, newAccount(prefix));
}

/** Logs in through the form; skips the tour when it shows (a first login). */
async function logIn(page: Page, who: Account, tour: 'skip' | 'none' = 'skip'): Promise<void> {
  await page.getByRole('group', { name: 'Sign up or log in' }).getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByLabel('Password', { exact: true }).press('Enter');
  if (tour === 'skip') await page.getByRole('dialog', { name: 'Welcome to Wild Whispers' }).getByRole('button', { name: 'Skip the tour' }).click();
  await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
}

/** Signs up through the forms up to the code screen. */
async function toCodeScreen(page: Page, who: Account): Promise<void> {
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
}

async function joinChannel(page: Page, name: string): Promise<void> {
  await page.getByText('Join or create a channel').click();
  await page.getByRole('textbox', { name: 'Channel name' }).fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}

/** A room in the sidebar (not the person of the same name in the People list). */
const roomButton = (page: Page, name: string) => page.getByRole('button', { name: new RegExp(`^${name}(, [a-z ]+)?(, \\d+ unread)?$`) });

const composer = (page: Page, room: string) => page.getByRole('textbox', { name: `Message ${room}` });

/** The connections of `username` on the server, newest first. */
async function connectionsOf(username: string): Promise<string[]> {
  const rows = await web.server.db.sql<{ id: string }[]>`
    select c.id from connections c join users u on u.id = c.user_id where u.username = ${username} order by c.connected_at desc`;
  return rows.map((r) => r.id);
}

// ---- the rough edges ------------------------------------------------------------

describe.sequential('rough edges of the web client', () => {
  it('a tab whose session ended in another tab goes back to the welcome screen and says why', async () => {
    const who = await account('tabs');
    await who.close();
    const ctx = await newContext();
    const first = await openPage(ctx);
    await logIn(first, who);
    const second = await openPage(ctx); // same browser: resumes with the shared token
    await second.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    expect(await second.getByRole('dialog').count()).toBe(0);

    await first.getByRole('button', { name: 'Log out' }).click();
    await first.getByRole('textbox', { name: 'Username' }).waitFor();
    // the other tab does not stay "Connected" on a chat that sends nothing
    const note = second.getByRole('status').filter({ hasText: 'You were logged out in another tab.' });
    await note.waitFor();
    await second.getByRole('heading', { name: 'Welcome back' }).waitFor();
    await second.getByRole('form', { name: 'Log in' }).waitFor();
    expect(await second.getByRole('textbox', { name: 'Message #general' }).count()).toBe(0);

    // The same when the tab missed the news (no storage event) and finds out on
    // its next connection: the token is gone and the server closed the socket.
    await logIn(first, who, 'none');
    await second.reload();
    await second.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    await second.evaluate(() => localStorage.removeItem('ww.token')); // no storage event in the tab that removes it
    for (const id of await connectionsOf(who.username)) await web.server.server.gateway.disconnect(id);
    await second.getByRole('status').filter({ hasText: 'You were logged out in another tab.' }).waitFor();
    await second.getByRole('heading', { name: 'Welcome back' }).waitFor();
    await ctx.close();
  }, 60_000);

  it('shows presence as unknown while offline, and again once caught up', async () => {
    const me = await account('presence');
    await me.close();
    const friend = await account('friend'); // stays connected: online
    const ctx = await newContext(PHONE_DARK);
    const page = await openPage(ctx);
    await logIn(page, me);
    await page.getByRole('button', { name: /^Rooms and people/ }).click();
    const people = page.getByRole('navigation', { name: 'Rooms and people' });
    await people.getByRole('button', { name: `${friend.username}, online. Send a direct message` }).waitFor();
    await people.getByRole('heading', { name: /^People 1 online$/ }).waitFor();

    // The network goes; the server's end of the socket with it. The page learns
    // it from the browser's `offline` event: no close can cross a network that is
    // gone (in Chromium's emulation too, once a frame is on its way).
    await ctx.setOffline(true);
    await friend.request({ action: 'send', room: 'general', text: 'said while you were offline', clientId: 'f1' });
    for (const id of await connectionsOf(me.username)) await web.server.server.gateway.disconnect(id);
    await page.locator('.conn-label').getByText('Offline').waitFor();
    await people.getByRole('button', { name: `${friend.username}, presence unknown while offline. Send a direct message` }).waitFor();
    await people.getByRole('heading', { name: 'People presence unknown while offline' }).waitFor();
    expect(await people.getByText('1 online').count()).toBe(0);
    await page.waitForTimeout(250); // the drawer's slide-in
    await checkA11y(page, 'presence unknown, phone, dark');

    // while away the friend left; back online, the list says so
    await friend.close();
    await ctx.setOffline(false);
    // (the browser's `online` event skips the wait before the next attempt)
    await people.getByRole('button', { name: `${friend.username}, offline. Send a direct message` }).waitFor();
    await people.getByRole('heading', { name: /^People 0 online$/ }).waitFor();
    await page.locator('.message-list').getByText('said while you were offline').waitFor();
    await ctx.close();
  });

  it('keeps the open room and unsent drafts across a reload', async () => {
    const who = await account('drafts');
    await who.close();
    const ctx = await newContext();
    const page = await openPage(ctx);
    await logIn(page, who);
    await composer(page, '#general').fill('half a thought for general');
    // The device's cache is saved a second after a change: a reload right after
    // joining finds a cache without the new room. Here the cache keeps what it
    // has now (general only), and the reloaded page hears from the server only
    // after it has shown that cache, as on a slow network.
    type Saving = { wildWhispers: { device: { rooms(user: string): Promise<unknown[]>; saveRooms(): Promise<void> } } };
    await expect.poll(() => page.evaluate((user) => (window as unknown as Saving).wildWhispers.device.rooms(user).then((r) => r.length), who.username)).toBe(1);
    await page.evaluate(() => {
      (window as unknown as Saving).wildWhispers.device.saveRooms = async () => {};
    });
    await joinChannel(page, 'draft-room');
    await composer(page, '#draft-room').fill('still typing this\non two lines');
    await page.routeWebSocket(/./, (ws) => {
      const server = ws.connectToServer();
      server.onMessage((frame) => setTimeout(() => ws.send(frame), 1500));
    });

    await page.reload();
    await page.getByRole('heading', { name: 'general', level: 1 }).waitFor(); // from the cache
    await page.getByRole('heading', { name: 'draft-room', level: 1 }).waitFor();
    await page.unrouteAll();
    expect(await composer(page, '#draft-room').inputValue()).toBe('still typing this\non two lines');
    await roomButton(page, 'general').click();
    expect(await composer(page, '#general').inputValue()).toBe('half a thought for general');

    // a sent message leaves no draft behind
    await composer(page, '#general').press('Enter');
    await page.locator('.message-list .msg:not(.pending)').getByText('half a thought for general').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    expect(await composer(page, '#general').inputValue()).toBe('');
    await ctx.close();
  });

  it('folds the channel name box away after joining', async () => {
    const who = await account('fold');
    await who.close();
    const ctx = await newContext();
    const page = await openPage(ctx);
    await logIn(page, who);
    await joinChannel(page, 'fold-me');
    await page.getByRole('textbox', { name: 'Channel name' }).waitFor({ state: 'hidden' });
    await ctx.close();
  }, 60_000);

  it('after logging out, shows Log in with a visible note', async () => {
    const who = await account('logout');
    await who.close();
    const ctx = await newContext(PHONE_DARK);
    const page = await openPage(ctx);
    await logIn(page, who);
    await page.getByRole('button', { name: /^Rooms and people/ }).click();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Welcome back' }).waitFor();
    await page.getByRole('form', { name: 'Log in' }).waitFor();
    const note = page.getByRole('status').filter({ hasText: 'You are logged out.' });
    await note.waitFor();
    // on screen, not only for screen readers
    const box = await note.boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    expect(await note.evaluate((el) => getComputedStyle(el).clip)).not.toMatch(/rect\(0/);
    await checkA11y(page, 'logged out, phone, dark');
    await ctx.close();
  }, 60_000);

  it('the code screen names the real outbox folder', async () => {
    const ctx = await newContext(PHONE_DARK);
    const page = await openPage(ctx);
    await toCodeScreen(page, newAccount('outbox'));
    const outbox = resolve(web.server.config.mail.outboxDir);
    expect(outbox).not.toContain('.data');
    await page.getByText(outbox, { exact: true }).waitFor();
    expect(await page.getByText('.data/outbox').count()).toBe(0);
    // a long path wraps instead of widening the phone's page
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await checkA11y(page, 'code screen with the outbox folder, phone, dark');
    await ctx.close();
  }, 60_000);

  it('a wrong code says to ask for a new one (the button is right there)', async () => {
    const who = newAccount('code');
    const ctx = await newContext();
    const page = await openPage(ctx);
    await toCodeScreen(page, who);
    const code = await web.server.codeFor(who.email);
    const wrong = code === '111111' ? '222222' : '111111';
    await page.getByLabel('Code from the email').fill(wrong);
    await page.getByRole('button', { name: 'Verify and continue' }).click();
    await page.getByText('That code is not valid. Check the email, or ask for a new code.').waitFor();
    expect(await page.getByText(/log in to get a new code/).count()).toBe(0);
    await page.getByRole('button', { name: 'Send a new code' }).waitFor();
    await ctx.close();
  }, 60_000);

  it('shows no outbox folder to a page that is not on this machine', async () => {
    // chat.test resolves to this machine, but to the page it is another host
    const other = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP chat.test 127.0.0.1'],
    });
    // The name people reach the server at is one of its public origins
    // (PUBLIC_ORIGIN), or the handshake refuses the page; the port is known only now.
    web.server.config.publicOrigins.push(`http://chat.test:${web.server.server.port}`);
    try {
      const ctx = await newContext({}, other);
      const page = await openPage(ctx, `http://chat.test:${web.server.server.port}/`);
      await toCodeScreen(page, newAccount('remote'));
      await page.getByLabel('Code from the email').waitFor();
      expect(await page.getByText('outbox').count()).toBe(0);
      expect(await page.getByText(web.server.config.dataDir).count()).toBe(0);
    } finally {
      web.server.config.publicOrigins.pop();
      await other.close();
    }
  }, 60_000);

  it('the FAQ says what the profanity filter does', async () => {
    const ctx = await newContext({ colorScheme: 'dark' });
    const page = await openPage(ctx);
    await page.getByRole('button', { name: 'Help and answers' }).click();
    const help = page.getByRole('dialog', { name: 'Help' });
    await help.getByText('Why do some words show as stars?').click();
    await help.getByText(/replaces common swear words with stars/).waitFor();
    await help.getByText(/refuse such messages instead, or turn it off/).waitFor();
    await help.getByText('Is my password safe?').click();
    expect(await help.getByText(/exactly as written/).count()).toBe(0);
    await checkA11y(page, 'help, dark');
    await ctx.close();
  }, 60_000);

  it('shows the welcome tour once per account, not once per browser', async () => {
    const who = newAccount('tour');
    const first = await newContext();
    const page = await openPage(first);
    await toCodeScreen(page, who);
    await page.getByLabel('Code from the email').fill(await web.server.codeFor(who.email));
    await page.getByRole('button', { name: 'Verify and continue' }).click();
    await page.getByRole('dialog', { name: 'Welcome to Wild Whispers' }).getByRole('button', { name: 'Skip the tour' }).click();
    await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    await first.close();

    // another browser (a fresh profile): the account has seen it
    const second = await newContext();
    const again = await openPage(second);
    await logIn(again, who, 'none');
    await again.waitForTimeout(500);
    expect(await again.getByRole('dialog', { name: 'Welcome to Wild Whispers' }).count()).toBe(0);
    // and it is still there on request
    await again.getByRole('button', { name: 'Help' }).click();
    await again.getByRole('button', { name: 'Show the welcome tour again' }).click();
    await again.getByRole('dialog', { name: 'Welcome to Wild Whispers' }).waitFor();
    await second.close();
  }, 60_000);

  it('loads older history while scrolling up, without moving what is on screen', async () => {
    const writer = await account('writer');
    const reader = await account('reader');
    await writer.request({ action: 'join', room: 'long-read' });
    await reader.request({ action: 'join', room: 'long-read' });
    await reader.close();
    for (let from = 1; from <= 130; from += 26) {
      // in batches: the server takes at most 64 frames in flight per socket
      const batch = Array.from({ length: 26 }, (_, i) =>
        writer.request({ action: 'send', room: 'long-read', text: `line ${from + i}`, clientId: `line-${from + i}` }),
      );
      expect((await Promise.all(batch)).map((f) => f.type)).toEqual(Array(26).fill('sent'));
    }
    await writer.close();

    const ctx = await newContext();
    const page = await openPage(ctx);
    await logIn(page, reader);
    await roomButton(page, 'long-read').click();
    const region = page.getByRole('region', { name: 'Messages in #long-read' });
    await region.getByText('line 130', { exact: true }).waitFor();
    expect(await region.getByText('line 81', { exact: true }).count()).toBe(1);
    expect(await region.getByText('line 80', { exact: true }).count()).toBe(0);

    // Scroll up near the top, and note where "line 81" is on screen at that moment.
    const before = await region.evaluate((el) => {
      el.scrollTop = 150;
      const line = [...el.querySelectorAll('.msg-text')].find((p) => p.textContent === 'line 81')!;
      return line.getBoundingClientRect().top;
    });
    // the earlier page arrives by itself, no button pressed
    await region.getByText('line 31', { exact: true }).waitFor();
    const after = await region.getByText('line 81', { exact: true }).evaluate((el) => el.getBoundingClientRect().top);
    expect(Math.abs(after - before)).toBeLessThanOrEqual(2);

    // the button is still there for keyboards and screen readers
    const older = region.getByRole('button', { name: 'Load earlier messages' });
    await older.click();
    await region.getByText('line 1', { exact: true }).waitFor();
    await older.waitFor({ state: 'detached' });
    await ctx.close();
  }, 60_000);

  it('ran without script errors', () => {
    expect(web.problems).toEqual([]);
  });
});
