// What every browser test shares: Debian's Chromium, launched headless with no
// background traffic (this machine has no network but the registries), and the
// accessibility check (axe: no serious or critical violation).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildWeb } from '../../web/build.js';
import { signUp, type Account, type TestClient } from './client.js';
import { startTestServer, type TestServer } from './server.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** axe on the page as it is now; `where` names the state in the failure message. */
export async function checkA11y(page: Page, where: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${where}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

/** A browser test's world: the local server with the built web client, Chromium, and the page errors seen. */
export interface WebTest {
  readonly server: TestServer;
  readonly browser: Browser;
  /** Uncaught errors of every page opened with openDevice; a scenario ends by expecting none. */
  readonly problems: string[];
  baseUrl(): string;
}

/** Starts the server (with `env`), builds the web client into it and launches Chromium before the file's tests; closes both after. */
export function useWebTest(env: Record<string, string> = {}): WebTest {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium`);
    server = await startTestServer(env);
    await buildWeb({ quiet: true, outdir: join(server.config.dataDir, 'web') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the server and browser are not started yet');
    return value;
  };
  return {
    get server() {
      return ready(server);
    },
    get browser() {
      return ready(browser);
    },
    problems: [],
    baseUrl: () => `http://127.0.0.1:${ready(server).server.port}/`,
  };
}

/** A person signed up over the protocol as `username`, with the password the browser tests type. */
export function signUpAs(server: TestServer, username: string): Promise<TestClient & Account> {
  return signUp(server, { username, email: `${username}@example.com`, password: 'correct horse battery' });
}

/** One person's browser: its own context (a fresh profile) and page. */
export interface Device {
  ctx: BrowserContext;
  page: Page;
}

/**
 * `who` logged in through the form on a fresh profile (laptop-sized unless `options` say
 * otherwise), past the tour, which shows at an account's first login only, on #general.
 */
export async function openDevice(web: WebTest, who: Account, options: BrowserContextOptions = {}): Promise<Device> {
  const ctx = await web.browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  ctx.setDefaultTimeout(15_000);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => web.problems.push(`${who.username}: ${e.message}`));
  await page.goto(web.baseUrl());
  await page.getByRole('group', { name: 'Sign up or log in' }).getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByLabel('Password', { exact: true }).press('Enter');
  const tour = page.getByRole('dialog', { name: 'Welcome to Wild Whispers' });
  const heading = page.getByRole('heading', { name: 'general', level: 1 });
  await tour.or(heading).first().waitFor();
  if (await tour.isVisible()) await tour.getByRole('button', { name: 'Skip the tour' }).click();
  await heading.waitFor();
  return { ctx, page };
}

/** A room in the sidebar, by the start of its accessible name ("bob, online, 1 unread, 1 mention"). */
export const roomButton = (page: Page, name: string) =>
  page
    .getByRole('navigation', { name: 'Rooms and people' })
    .getByRole('button', { name: new RegExp(`^${name}(, (online|offline|presence unknown))?(, \\d+ unread)?(, \\d+ mentions?)?$`) });

/** The phone of the browser tests: small, touch, dark theme. */
export const PHONE_DARK: BrowserContextOptions = { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, colorScheme: 'dark' };
