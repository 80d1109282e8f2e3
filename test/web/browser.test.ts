// The web client in a real browser: Debian's Chromium driven by playwright-core
// against the real local server (PGlite or PostgreSQL, real sockets). Two people
// sign up with codes from the mail, talk, whisper, lose the server and come back
// to everything in order, once. Fields and buttons are found by role and label,
// the way a person finds them. Screenshots go to test-output/screenshots/.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../functions/adapters/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { buildWeb } from '../../web/build.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';
import { CHROMIUM, CHROMIUM_ARGS, checkA11y } from '../helpers/browser.js';

export const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');
const PASSWORD = 'correct horse battery staple';

let browser: Browser;
let db: TestDatabase;
let server: RunningServer;
let config: Config;
let dataDir: string;
let webRoot: string;
const mail = new RecordingMailer();
const problems: string[] = [];

function baseUrl(): string {
  return `http://127.0.0.1:${server.port}/`;
}

async function boot(env: Record<string, string> = {}, port = 0): Promise<void> {
  config = loadConfig({ ...TEST_ENV, DATA_DIR: dataDir, ...env });
  server = await startServer({ config: { ...config, port }, sql: db.sql, mailer: mail, webRoot });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}; the browser tests need it: apt-get install -y chromium`);
  }
  await mkdir(SCREENSHOTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'ww-web-'));
  webRoot = join(dataDir, 'web');
  await buildWeb({ quiet: true, outdir: webRoot });
  db = await createTestDatabase();
  await boot();
  // launch() gives every run a fresh temporary profile (user-data-dir) of its own
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// ---- helpers -----------------------------------------------------------------

interface Person {
  name: string;
  email: string;
  ctx: BrowserContext;
  page: Page;
  /** every URL the page requested */
  requests: string[];
}

async function openBrowser(name: string, options: BrowserContextOptions = {}): Promise<Person> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await ctx.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    // a refused script, style or connection would show up here (CSP)
    if (m.type() === 'error' && /Refused to|Content Security Policy/.test(m.text())) problems.push(`${name}: ${m.text()}`);
  });
  await page.goto(baseUrl());
  return { name, email: `${name}@example.com`, ctx, page, requests };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** axe-core: nothing serious or critical. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

/** A room in the sidebar (not the person of the same name in the People list). */
const roomButton = (page: Page, name: string) =>
  page.getByRole('button', { name: new RegExp(`^${name}(, (online|offline))?(, \\d+ unread)?$`) });

const composer = (page: Page, room = '#general') => page.getByRole('textbox', { name: `Message ${room}` });

/** Texts of the delivered messages in the open room, in screen order. */
const shownTexts = (page: Page) => page.locator('.message-list li.msg:not(.pending) .msg-text').allTextContents();

async function say(page: Page, text: string, room = '#general'): Promise<void> {
  const box = composer(page, room);
  await box.fill(text);
  await box.press('Enter');
  await eventually(() => shownTexts(page), (t) => t.includes(text));
  await page.locator('.msg.pending').waitFor({ state: 'detached' });
}

async function waitForText(page: Page, text: string): Promise<void> {
  const texts = await eventually(() => shownTexts(page), (t) => t.includes(text));
  expect(texts).toContain(text);
}

async function signUp(p: Person, options: { tour?: 'skip' | 'walk'; shots?: boolean } = {}): Promise<void> {
  const { page } = p;
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  await page.getByLabel('Username').fill(p.name);
  await page.getByLabel('Email').fill(p.email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  if (options.shots) {
    await shot(page, '02-code');
    await checkA11y(page, 'code screen');
  }
  await page.getByLabel('Code from the email').fill(await mail.codeFor(p.email));
  await page.getByRole('button', { name: 'Verify and continue' }).click();
  const guide = page.getByRole('dialog', { name: 'Welcome to Wild Whispers' });
  await guide.waitFor();
  if (options.tour === 'walk') {
    if (options.shots) {
      await shot(page, '03-guide');
      await checkA11y(page, 'first-run guide');
    }
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Start chatting' }).click();
  } else {
    await page.getByRole('button', { name: 'Skip the tour' }).click();
  }
  await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
}

async function logIn(p: Person): Promise<void> {
  const { page } = p;
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(p.name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password', { exact: true }).press('Enter');
  await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
}

async function status(page: Page): Promise<string> {
  return (await page.locator('.conn-label').textContent()) ?? '';
}

// ---- the scenario --------------------------------------------------------------

describe.sequential('the web client in Chromium', () => {
  let alice: Person;
  let bob: Person;
  /** what #general must show, in order, exactly once each */
  const general: string[] = [];

  it('welcomes, signs up with the emailed code, and walks through the first-run guide', async () => {
    alice = await openBrowser('alice');
    await alice.page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await shot(alice.page, '01-welcome');
    await checkA11y(alice.page, 'welcome screen');
    // help is there before signing up too
    await alice.page.getByRole('button', { name: 'Help and answers' }).click();
    await alice.page.getByRole('dialog', { name: 'Help' }).waitFor();
    await alice.page.keyboard.press('Escape');
    await alice.page.getByRole('dialog', { name: 'Help' }).waitFor({ state: 'hidden' });

    await signUp(alice, { tour: 'walk', shots: true });
    bob = await openBrowser('bob');
    await signUp(bob);

    expect(await status(alice.page)).toBe('Connected');
  }, 60_000);

  it('lets two people talk in #general: Enter sends, Shift+Enter breaks the line, links are clickable', async () => {
    await say(alice.page, 'Hello Bob!');
    general.push('Hello Bob!');
    await waitForText(bob.page, 'Hello Bob!');

    const box = composer(bob.page);
    await box.click();
    await bob.page.keyboard.type('Hi Alice!');
    await bob.page.keyboard.press('Shift+Enter');
    await bob.page.keyboard.type('The guide: https://example.com/guide.');
    await bob.page.keyboard.press('Enter');
    const reply = 'Hi Alice!\nThe guide: https://example.com/guide.';
    general.push(reply);
    await waitForText(alice.page, reply);
    const link = alice.page.getByRole('link', { name: 'https://example.com/guide' });
    expect(await link.getAttribute('href')).toBe('https://example.com/guide');
    expect(await link.getAttribute('rel')).toContain('noopener');

    // who is online, from each side
    await alice.page.getByRole('button', { name: /^bob, online/ }).waitFor();
    await bob.page.getByRole('button', { name: /^alice, online/ }).waitFor();
  }, 60_000);

  it('shows an XSS payload as text', async () => {
    const payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold?</b>';
    await say(bob.page, payload);
    general.push(payload);
    await waitForText(alice.page, payload);
    expect(await alice.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await alice.page.locator('.message-list img, .message-list script, .message-list b').count()).toBe(0);
  }, 60_000);

  it('opens a direct message from the online list and counts it as unread', async () => {
    await bob.page.getByRole('button', { name: /^alice, online/ }).click();
    await bob.page.getByRole('heading', { name: 'alice', level: 1 }).waitFor();
    await say(bob.page, 'psst: just between us', 'alice');

    // alice is still in #general: the DM appears in her sidebar, unread
    const dm = alice.page.getByRole('button', { name: /^bob, online, 1 unread/ });
    await dm.waitFor();
    expect(await alice.page.title()).toBe('(1) Wild Whispers');
    // and screen readers hear of it
    expect(
      await eventually(
        () => alice.page.getByTestId('announcer').textContent(),
        (t) => t === 'New direct message from bob',
      ),
    ).toBe('New direct message from bob');
    await shot(alice.page, '04-chat');
    await checkA11y(alice.page, 'chat');

    await dm.click();
    await alice.page.getByRole('heading', { name: 'bob', level: 1 }).waitFor();
    await waitForText(alice.page, 'psst: just between us');
    await say(alice.page, 'Safe with me 🤫', 'bob');
    await waitForText(bob.page, 'Safe with me 🤫');
    expect(await alice.page.title()).toBe('Wild Whispers');
    await shot(alice.page, '05-dm');
  }, 60_000);

  it('loads the emoji picker only when opened, with its data from this site', async () => {
    const page = alice.page;
    expect(alice.requests.filter((u) => u.includes('emoji'))).toEqual([]);
    await page.getByRole('button', { name: 'Insert emoji' }).click();
    const firstEmoji = page.locator('emoji-picker').getByRole('menuitem').first();
    // the picker lists only the emoji the system can draw: it needs a colour emoji font
    await firstEmoji.waitFor().catch((err) => {
      throw new Error(`The emoji picker shows no emoji; is an emoji font installed (apt-get install fonts-noto-color-emoji)? ${err}`);
    });
    await shot(page, '06-emoji');
    const emoji = (await firstEmoji.textContent())!.trim();
    await firstEmoji.click();
    expect(await eventually(() => composer(page, 'bob').inputValue(), (v) => v === emoji)).toBe(emoji);
    await page.locator('emoji-picker').waitFor({ state: 'detached' });
    await composer(page, 'bob').fill('');

    expect(alice.requests.some((u) => u.endsWith('/emoji/en/data.json'))).toBe(true);
    const origin = new URL(baseUrl()).origin;
    expect(alice.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('ws://'))).toEqual([]);
  }, 60_000);

  it('has a help panel reachable at any time', async () => {
    const page = alice.page;
    await page.getByRole('button', { name: 'Help' }).click();
    const help = page.getByRole('dialog', { name: 'Help' });
    await help.waitFor();
    await help.getByText('Can I delete what I wrote?').click();
    await shot(page, '07-help');
    await checkA11y(page, 'help panel');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
    // and from the keyboard, outside the message box
    await page.getByRole('button', { name: 'Help' }).focus();
    await page.keyboard.press('?');
    await help.waitFor();
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
  }, 60_000);

  it('after a server restart, catches up with everything in order, once', async () => {
    await roomButton(alice.page, 'general').click();
    await roomButton(bob.page, 'general').click();
    const before = await shownTexts(bob.page);
    expect(before).toEqual(general);

    // bob's network goes away with the server; alice keeps typing through the outage
    await bob.ctx.setOffline(true);
    const port = server.port;
    await server.close();
    await eventually(() => status(alice.page), (s) => s === 'Offline');
    const duringOutage = 'Written while the server was down';
    await composer(alice.page).fill(duringOutage);
    await composer(alice.page).press('Enter');
    await alice.page.locator('.msg.pending').getByText('Pending: will be sent when you are back online').waitFor();

    await boot({}, port); // same port, same database
    await eventually(() => status(alice.page), (s) => s === 'Connected');
    general.push(duringOutage);
    await waitForText(alice.page, duringOutage);
    for (const n of [1, 2, 3]) {
      await say(alice.page, `While you were away, part ${n}`);
      general.push(`While you were away, part ${n}`);
    }
    await shot(bob.page, '08-offline');
    expect(await status(bob.page)).not.toBe('Connected'); // Offline, or between two attempts
    expect(await shownTexts(bob.page)).toEqual(before); // nothing reached bob live

    await bob.ctx.setOffline(false);
    await eventually(() => status(bob.page), (s) => s === 'Connected');
    const after = await eventually(
      () => shownTexts(bob.page),
      (t) => t.length >= general.length,
    );
    expect(after).toEqual(general);
    // and the DM is intact, once
    await roomButton(bob.page, 'alice').click();
    expect(await eventually(() => shownTexts(bob.page), (t) => t.length === 2)).toEqual(['psst: just between us', 'Safe with me 🤫']);
    await roomButton(bob.page, 'general').click();
  }, 90_000);

  it('deletes my own messages for everyone at once, after a confirmation', async () => {
    await alice.page.getByRole('button', { name: 'Delete my messages' }).click();
    const confirm = alice.page.getByRole('dialog', { name: 'Delete all your messages?' });
    await confirm.waitFor();
    await shot(alice.page, '09-delete-confirm');
    await checkA11y(alice.page, 'delete confirmation');
    await confirm.getByRole('button', { name: 'Delete my messages' }).click();
    await confirm.waitFor({ state: 'hidden' });

    const bobs = general.filter((t) => !t.startsWith('Hello Bob') && !t.startsWith('While') && !t.startsWith('Written'));
    expect(await eventually(() => shownTexts(bob.page), (t) => t.length === bobs.length)).toEqual(bobs);
    expect(await eventually(() => shownTexts(alice.page), (t) => t.length === bobs.length)).toEqual(bobs);
    await roomButton(bob.page, 'alice').click();
    expect(await eventually(() => shownTexts(bob.page), (t) => t.length === 1)).toEqual(['psst: just between us']);
    await roomButton(bob.page, 'general').click();
  }, 60_000);

  it('joins, creates and leaves a channel; opens a DM by name', async () => {
    const page = alice.page;
    await page.getByText('Message someone by name').click();
    await page.getByLabel('Their username').fill('nobody-here');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByText('There is nobody called nobody-here.').waitFor();
    await page.getByLabel('Their username').fill('Bob');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('heading', { name: 'bob', level: 1 }).waitFor();

    await page.getByText('Join or create a channel').click();
    await page.getByLabel('Channel name').fill('Book Club');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByRole('heading', { name: 'book-club', level: 1 }).waitFor();
    await say(page, 'First!', '#book-club');

    await page.getByRole('button', { name: 'Leave #book-club' }).click();
    await page.getByRole('dialog', { name: 'Leave #book-club?' }).getByRole('button', { name: 'Leave channel' }).click();
    await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    expect(await roomButton(page, 'book-club').count()).toBe(0);
  }, 60_000);

  it('stays logged in across a reload, and logs out', async () => {
    const page = alice.page;
    await page.reload();
    await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0); // the guide was seen once
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Welcome back' }).waitFor(); // Log in, saying why
    await page.reload();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  }, 60_000);

  it('works on a 375-pixel screen, by keyboard', async () => {
    const phone = await openBrowser('bob', { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    await logIn(phone);
    const page = phone.page;
    expect(await page.getByRole('dialog').count()).toBe(0); // bob saw the tour at sign-up, in another browser
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
    await shot(page, '10-mobile-chat');
    await checkA11y(page, 'phone chat');

    // keyboard only: the skip link leads to the message box; Enter sends
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the message box');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('composer-input');
    await page.keyboard.type('Typed on a phone, sent with Enter');
    await page.keyboard.press('Enter');
    await waitForText(bob.page, 'Typed on a phone, sent with Enter');

    await page.getByRole('button', { name: /^Rooms and people/ }).click();
    await page.getByRole('navigation', { name: 'Rooms and people' }).getByRole('heading', { name: 'Channels' }).waitFor();
    await page.waitForTimeout(250); // the drawer's slide-in, for the picture
    await shot(page, '11-mobile-drawer');
    await checkA11y(page, 'phone drawer');
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Channels' }).waitFor({ state: 'hidden' });
    await phone.ctx.close();
  }, 60_000);

  it('follows a dark system theme and has a toggle', async () => {
    const dark = await openBrowser('bob', { colorScheme: 'dark' });
    await logIn(dark);
    const page = dark.page;
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await shot(page, '12-dark');
    await checkA11y(page, 'dark theme');
    await page.getByRole('button', { name: /^Theme: system/ }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.getByRole('button', { name: /^Theme: light/ }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await dark.ctx.close();
  }, 60_000);

  it('asks for the invite code where the server wants one', async () => {
    await Promise.all([alice.ctx.close(), bob.ctx.close()]);
    await server.close();
    await boot({ INVITE_CODE: 'wild-2026' });
    const carol = await openBrowser('carol');
    const page = carol.page;
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Email').fill(carol.email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    const invite = page.getByLabel('Invite code');
    await invite.waitFor();
    await shot(page, '13-invite');
    await checkA11y(page, 'invite code');
    await invite.fill('wild-2026');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await carol.ctx.close();
  }, 60_000);

  it('ran without script errors or content-security-policy refusals', () => {
    expect(problems).toEqual([]);
  });
});
