// Search in a real browser: Debian's Chromium driven by playwright-core against
// the real local server. Alice and Bob share #ops and a direct conversation;
// Alice searches from the top bar (Ctrl+K and `/`), reads the results with the
// matches marked, moves through them with the arrow keys, opens one with Enter
// and lands on the message in its room; a query with no match says what to try,
// a bad filter says what is wrong. Also at phone width in the dark theme; axe
// clean throughout. Controls are found by role and label.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../web/build.js';
import { CHROMIUM, CHROMIUM_ARGS, checkA11y } from '../helpers/browser.js';
import { signUp, type Account, type TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');
const PHONE_DARK: BrowserContextOptions = { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, colorScheme: 'dark' };

let server: TestServer;
let browser: Browser;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium`);
  server = await startTestServer({ MESSAGE_BURST: '500', MESSAGES_PER_MINUTE: '10000', USER_MESSAGE_BURST: '500', USER_MESSAGES_PER_MINUTE: '10000' });
  await buildWeb({ quiet: true, outdir: join(server.config.dataDir, 'web') });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(who: Account, options: BrowserContextOptions = {}): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  ctx.setDefaultTimeout(15_000);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`${who.username}: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server.server.port}/`);
  await page.getByRole('group', { name: 'Sign up or log in' }).getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByLabel('Password', { exact: true }).press('Enter');
  const tour = page.getByRole('dialog', { name: 'Welcome to Wild Whispers' });
  const heading = page.getByRole('heading', { name: 'general', level: 1 });
  await tour.or(heading).first().waitFor();
  if (await tour.isVisible()) await tour.getByRole('button', { name: 'Skip the tour' }).click();
  await heading.waitFor();
  return page;
}

const searchBox = (page: Page) => page.getByRole('search').getByRole('searchbox', { name: 'Search messages' });
const panel = (page: Page) => page.getByRole('region', { name: 'Search results' });
const results = (page: Page) => panel(page).getByRole('list').getByRole('button');

describe.sequential('search in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let page: Page;
  const sent: Record<string, string> = {};

  it('signs Alice and Bob in; they talk in #ops and in a direct conversation', async () => {
    const target = { wsUrl: server.wsUrl, codeFor: (email: string) => server.codeFor(email) };
    const password = 'correct horse battery';
    alice = await signUp(target, { username: 'alice', email: 'alice@example.com', password });
    bob = await signUp(target, { username: 'bob', email: 'bob@example.com', password });
    for (const c of [alice, bob]) {
      await c.request({ action: 'join', room: 'general' });
      await c.request({ action: 'join', room: 'ops' });
    }
    const say = async (c: TestClient, room: string, text: string) => {
      const r = await c.request({ action: 'send', room, text, clientId: `k${Object.keys(sent).length}` });
      sent[text] = (r.message as { id: string }).id;
    };
    await say(bob, 'ops', 'The deployment of the billing service starts at noon');
    // a long room, so the first match is far back from the latest page
    for (let i = 0; i < 60; i++) await say(alice, 'ops', `routine status line ${i}`);
    await say(bob, 'dm:alice:bob', 'Can you deploy the café menu before lunch? 🍰');
    await say(alice, 'general', 'Nothing to see here');
    page = await open(alice);
  }, 90_000);

  it('Ctrl+K goes to the search box; typing shows results newest first, with the matches marked', async () => {
    await page.getByRole('heading', { name: 'general', level: 1 }).click();
    await page.keyboard.press('Control+k');
    await expect.poll(() => searchBox(page).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.type('deplo');
    await expect.poll(() => results(page).count()).toBe(2);
    await expect.poll(() => panel(page).getByRole('status').textContent()).toBe('2 results');
    const [first, second] = [results(page).nth(0), results(page).nth(1)];
    expect(await first.textContent()).toContain('with bob');
    expect(await first.locator('mark').allTextContents()).toEqual(['deploy']);
    expect(await second.textContent()).toContain('in #ops');
    expect(await second.locator('mark').allTextContents()).toEqual(['deployment']);
    await checkA11y(page, 'search results');
    await page.screenshot({ path: join(SCREENSHOTS, 'search-results.png') });
  });

  it('arrows move through the results; Enter opens the message in its room, brought into view', async () => {
    await searchBox(page).press('ArrowDown');
    await expect.poll(() => results(page).nth(0).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => results(page).nth(1).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'ops', level: 1 }).waitFor();
    await expect(panel(page).isVisible()).resolves.toBe(false);
    const target = page.locator('.message-list li.msg.highlight');
    await target.waitFor();
    expect(await target.textContent()).toContain('The deployment of the billing service');
    await expect.poll(() => target.isVisible()).toBe(true);
  });

  it('`/` goes back to the box when not typing; a query with no match says what to try', async () => {
    await page.getByRole('heading', { name: 'ops', level: 1 }).click();
    await page.keyboard.press('/');
    await expect.poll(() => searchBox(page).evaluate((el) => el === document.activeElement)).toBe(true);
    await searchBox(page).fill('zebra crossing ');
    await panel(page).getByText('No messages in your rooms match “zebra crossing”.').waitFor();
    await panel(page).getByText(/the start of a word/).waitFor();
    // `/` typed in the composer is a character, not the shortcut
    const composer = page.getByRole('textbox', { name: 'Message #ops' });
    await composer.click();
    await page.keyboard.type('a/b');
    expect(await composer.inputValue()).toBe('a/b');
    await composer.fill('');
  });

  it('a bad filter gets a sentence, not an empty list; the café is found without its accent', async () => {
    await searchBox(page).fill('deploy has:link');
    await expect.poll(() => panel(page).getByRole('alert').textContent()).toMatch(/"has:" is not a filter/);
    await searchBox(page).fill('cafe ');
    await expect.poll(() => results(page).count()).toBe(1);
    expect(await results(page).nth(0).locator('mark').allTextContents()).toEqual(['café']);
    await searchBox(page).press('Enter'); // opens the first result
    await page.getByRole('heading', { name: 'bob', level: 1 }).waitFor();
    await page.locator('.message-list li.msg.highlight').waitFor();
  });

  it('Bob does not find Alice’s words in a room he is not in, and works at phone width in the dark theme', async () => {
    await alice.request({ action: 'join', room: 'alice-notes' });
    await alice.request({ action: 'send', room: 'alice-notes', text: 'private deploy notes', clientId: 'private-1' });
    const phone = await open(bob, PHONE_DARK);
    await searchBox(phone).click();
    await searchBox(phone).fill('deploy ');
    await expect.poll(() => results(phone).count()).toBe(1);
    expect(await results(phone).nth(0).textContent()).toContain('Can you deploy the café menu');
    const box = await panel(phone).boundingBox();
    expect(box!.width).toBeLessThanOrEqual(375);
    await checkA11y(phone, 'search results at phone width, dark');
    await phone.screenshot({ path: join(SCREENSHOTS, 'search-phone-dark.png') });
    await phone.keyboard.press('Escape');
    await expect.poll(() => panel(phone).isVisible()).toBe(false);
    await phone.context().close();
  }, 60_000);

  it('raised no page errors', () => {
    expect(problems).toEqual([]);
  });
});
