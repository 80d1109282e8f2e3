// Hostile messages against the web client, in Chromium over the real server: one
// member of a room must not be able to freeze the others' tabs, bury the room,
// or show a link that names one host and goes to another. Mallory talks over a
// protocol client (test/helpers/client.ts); Vera reads in the browser, whose
// main thread is watched for long tasks. Controls are found by role and label.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { buildWeb } from '../../web/build.js';
import { newAccount, signUp, type Account, type TestClient } from '../helpers/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';
import { CHROMIUM, CHROMIUM_ARGS, checkA11y } from '../helpers/browser.js';

/** Main-thread time a viewer's browser may spend on one arriving message, hostile or not. */
const BUDGET_MS = 100;
/**
 * No task may run longer than this by the wall clock. Wall time on a shared
 * 2-core machine includes other processes' turns (a 40 ms task can take 150 ms
 * of wall time there), so the 100 ms budget is held in main-thread CPU time
 * above, and this catches a freeze whatever the machine: before the fix, one
 * render of the room took seconds.
 */
const FREEZE_MS = 500;

let browser: Browser;
let db: TestDatabase;
let server: RunningServer;
let dataDir: string;
const mail = new RecordingMailer();
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}; the browser tests need it: apt-get install -y chromium`);
  }
  dataDir = await mkdtemp(join(tmpdir(), 'ww-web-dos-'));
  const webRoot = join(dataDir, 'web');
  await buildWeb({ quiet: true, outdir: webRoot });
  db = await createTestDatabase();
  // Mallory's sends are not what is under test here: a budget that lets her send
  // them all at once (repeats of one send are free anyway).
  const config = loadConfig({ ...TEST_ENV, DATA_DIR: dataDir, MESSAGE_BURST: '500', MESSAGES_PER_MINUTE: '1000', USER_MESSAGE_BURST: '500', USER_MESSAGES_PER_MINUTE: '1000', PROFANITY_FILTER: 'off' });
  server = await startServer({ config, sql: db.sql, mailer: mail, webRoot });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// ---- helpers -----------------------------------------------------------------

declare global {
  interface Window {
    longTasks: { start: number; duration: number }[];
  }
}

/** A browser logged in as `account`, in #general, with every long task of its main thread recorded. */
/** Logs in in a new context; `firstLogin`: the account's first, which shows the tour (once per account). */
async function openAs(account: Account, options: BrowserContextOptions = {}, firstLogin = true): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  await ctx.addInitScript(() => {
    window.longTasks = [];
    // long tasks (scripts) and long animation frames (scripts, then style, layout and paint)
    for (const type of ['longtask', 'long-animation-frame']) {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type, buffered: true });
    }
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(account.username);
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  await page.getByLabel('Password', { exact: true }).press('Enter');
  if (firstLogin) {
    await page.getByRole('dialog', { name: 'Welcome to Wild Whispers' }).waitFor();
    await page.getByRole('button', { name: 'Skip the tour' }).click();
  }
  await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
  return page;
}

const messageItems = (page: Page) => page.locator('.message-list li.msg');

async function waitForText(page: Page, text: string): Promise<void> {
  await expect.poll(() => page.locator('.msg-text').allTextContents(), { timeout: 60_000, interval: 100 }).toContain(text);
}

async function waitForCount(page: Page, count: number, timeoutMs = 120_000): Promise<void> {
  await expect.poll(() => messageItems(page).count(), { timeout: timeoutMs, interval: 100 }).toBeGreaterThanOrEqual(count);
}

/** Long tasks since `since` (page time), longest first. */
async function longTasksSince(page: Page, since: number): Promise<number[]> {
  const tasks = await page.evaluate(() => window.longTasks);
  return tasks
    .filter((t) => t.start >= since)
    .map((t) => Math.round(t.duration))
    .sort((a, b) => b - a);
}

const pageNow = (page: Page) => page.evaluate(() => performance.now());

/**
 * The CPU time (ms) the page's main thread has spent on tasks so far: Chromium's
 * TaskDuration in thread ticks, which other processes on the machine do not inflate.
 */
async function mainThreadClock(page: Page): Promise<() => Promise<number>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  return async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'TaskDuration')!.value * 1000;
  };
}

/** axe-core: nothing serious or critical. */
// Fifty messages at the 4,000-character limit, each built to cost a viewer
// something: linkify's trimming, height, width, glyphs, combining marks. Each is
// different, so no cache of a text can hide the cost of the first one.
function hostileMessages(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 20; i++) out.push(`https://a.b/${i}${')'.repeat(3986)}`); // linkify: trailing parentheses
  for (let i = 0; i < 8; i++) out.push(`lines ${i}${'\n'.repeat(3980)}end`); // 4,000 lines tall
  for (let i = 0; i < 8; i++) out.push(`${'W'.repeat(3990)}${i}`); // one word wider than any screen
  for (let i = 0; i < 4; i++) out.push(`${i}${' www.a.b'.repeat(499)}`); // 499 links
  for (let i = 0; i < 5; i++) out.push(`${'👨‍👩‍👧‍👦'.repeat(570)}${i}`); // 570 family emoji of 7 code points
  // The server refuses more than 8 marks on one letter (test/security/invisible-text.test.ts);
  // the most it lets through: 8 on each of 440 letters.
  for (let i = 0; i < 5; i++) out.push(`Z${`a${'\u030D\u0316'.repeat(4)}`.repeat(440)}${i}`);
  return out;
}

// ---- the scenario --------------------------------------------------------------

describe.sequential('hostile messages in a viewer’s browser', () => {
  let mallory: TestClient & Account;
  let vera: TestClient & Account;
  let page: Page;
  const sent: { clientId: string; text: string }[] = [];
  let seq = 0;

  async function send(text: string, clientId = `c${++seq}`): Promise<void> {
    const reply = await mallory.request({ action: 'send', room: 'general', text, clientId });
    expect(reply.type, JSON.stringify(reply).slice(0, 200)).toBe('sent');
    sent.push({ clientId, text });
  }

  it('spends under 100 ms of main-thread time per message while 50 hostile messages arrive, then 20 ordinary ones and repeats', async () => {
    const target = { wsUrl: server.wsUrl, codeFor: (email: string) => mail.codeFor(email) };
    mallory = await signUp(target, newAccount('mallory'));
    vera = await signUp(target, newAccount('vera'));
    await mallory.request({ action: 'join', room: 'general' });
    page = await openAs(vera);
    const cpu = await mainThreadClock(page);
    await page.waitForTimeout(500); // the first render and the join, before the clock starts
    const start = await pageNow(page);

    // 1. fifty hostile messages arrive, one by one
    for (const [i, text] of hostileMessages().entries()) {
      const before = await cpu();
      await send(text);
      await waitForCount(page, i + 1);
      const ms = (await cpu()) - before;
      expect(ms, `main-thread ms for hostile message ${i}, ${JSON.stringify(text.slice(0, 16))}…`).toBeLessThanOrEqual(BUDGET_MS);
    }

    // 2. with them on screen: twenty ordinary messages, each followed by a repeat
    // of a hostile send (same clientId: the server delivers the same message again)
    for (let i = 0; i < 20; i++) {
      const before = await cpu();
      await send(`ordinary message ${i}`);
      const hostile = sent[i]!;
      await send(hostile.text, hostile.clientId);
      await expect
        .poll(() => page.locator('.msg-text').last().textContent(), { timeout: 120_000, interval: 50 })
        .toBe(`ordinary message ${i}`);
      await page.waitForTimeout(100); // the repeat, sent after it, handled too
      const ms = (await cpu()) - before;
      expect(ms, `main-thread ms for ordinary message ${i} and a repeat`).toBeLessThanOrEqual(BUDGET_MS);
    }
    await page.waitForTimeout(300); // the last long tasks reported
    const longTasks = await longTasksSince(page, start);

    expect(longTasks.filter((ms) => ms > FREEZE_MS), `long tasks (ms, wall clock): ${longTasks}`).toEqual([]);

    // each message shows once: repeats add nothing
    expect(await messageItems(page).count()).toBe(70);
    // and a repeat is not announced again: the live region still has the last new message, not the repeat after it
    expect(await page.getByTestId('announcer').textContent()).toBe(`${mallory.username}: ordinary message 19`);

    // both clocks do see a busy main thread: the budgets above are not met by a blind eye
    const before = await cpu();
    const selfCheckStart = await pageNow(page);
    await page.evaluate(() => {
      // a task of the page's own (what page.evaluate runs directly is not one)
      setTimeout(() => {
        const start = performance.now();
        while (performance.now() - start < 150);
      });
    });
    await expect.poll(async () => (await longTasksSince(page, selfCheckStart))[0] ?? 0).toBeGreaterThanOrEqual(150);
    expect((await cpu()) - before).toBeGreaterThan(10);
  }, 600_000);

  it('keeps the room readable: long messages shortened, long words wrapped, marks clipped', async () => {
    await send(`a tall message${'\n'.repeat(3980)}end`);
    await send(`${'L'.repeat(3990)}ong`);
    await send(`Zalgo${'\u030D\u0316'.repeat(4)}`);
    await send('after them');
    await waitForText(page, 'after them');

    // 4,000 lines: the first ones and "Show more"
    const tall = page.locator('li.msg', { hasText: 'a tall message' });
    expect((await tall.boundingBox())!.height).toBeLessThan(400);
    const more = tall.getByRole('button', { name: 'Show more' });
    expect(await more.getAttribute('aria-expanded')).toBe('false');
    await more.click();
    const less = tall.getByRole('button', { name: 'Show less' });
    expect(await less.getAttribute('aria-expanded')).toBe('true');
    expect((await tall.boundingBox())!.height).toBeGreaterThan(10_000);
    expect((await tall.locator('.msg-text').textContent())!.endsWith('end')).toBe(true);
    await less.click();
    await tall.getByRole('button', { name: 'Show more' }).waitFor();
    expect((await tall.boundingBox())!.height).toBeLessThan(400);

    // a 4,000-letter word wraps inside its bubble: nothing scrolls sideways
    const sideways = await page.evaluate(() => {
      const list = document.querySelector('.messages')!;
      return [document.documentElement.scrollWidth - document.documentElement.clientWidth, list.scrollWidth - list.clientWidth];
    });
    expect(sideways).toEqual([0, 0]);
    const word = page.locator('li.msg', { hasText: 'LLLL' }).locator('.bubble');
    expect((await word.boundingBox())!.width).toBeLessThanOrEqual(680);

    // Marks are clipped to their own text. (Towers are refused by the server; the
    // client's own cut at 30 marks, for what an older server stored, is unit-tested
    // in test/web/message-rendering.test.ts.)
    const zalgo = page.locator('.msg-text').filter({ hasText: /^Zalgo/ });
    expect(await zalgo.textContent()).toBe(`Zalgo${'\u030D\u0316'.repeat(4)}`);
    expect(await zalgo.evaluate((el) => getComputedStyle(el).overflow)).toBe('clip');
  }, 60_000);

  it('shows links by their real host', async () => {
    await send('pay at https://good.com@evil.com/pay or log in at https://аpple.com/login, thanks');
    const item = page.locator('li.msg', { hasText: 'pay at' });
    await item.waitFor();
    // the userinfo link is no link at all: nothing to click that names good.com
    expect(await item.getByRole('link', { name: /good\.com|evil\.com/ }).count()).toBe(0);
    expect(await item.locator('.msg-text').textContent()).toContain('https://good.com@evil.com/pay');
    // the homoglyph host is shown as the punycode the browser will go to
    const apple = item.getByRole('link', { name: 'https://xn--pple-43d.com/login' });
    expect(await apple.getAttribute('href')).toBe('https://xn--pple-43d.com/login');
    // every link on the screen: its visible text names the host of its href
    const mismatched = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLAnchorElement>('.message-list a[href]')]
        .filter((a) => {
          const shown = a.textContent!.replace(/^https?:\/\//i, '').toLowerCase();
          return !shown.startsWith(new URL(a.href).hostname);
        })
        .map((a) => `${a.textContent} -> ${a.href}`),
    );
    expect(mismatched).toEqual([]);
  }, 60_000);

  it('stays usable and accessible on a phone in the dark theme', async () => {
    const phone = await openAs(vera, { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, colorScheme: 'dark' }, false);
    expect(await phone.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await phone.locator('li.msg', { hasText: 'a tall message' }).getByRole('button', { name: 'Show more' }).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
    await checkA11y(phone, 'hostile messages, phone, dark');
    await phone.context().close();
    expect(problems).toEqual([]);
  }, 120_000);
});
