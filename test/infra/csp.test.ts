// The site as CloudFront serves it: the built client with the stack's security
// headers (infra/csp.ts) and a config.json naming the socket, in Chromium. A
// person signs up, opens the emoji picker and sends a message; the browser must
// refuse nothing. The socket is the local server's, standing in for API Gateway.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { contentSecurityPolicy } from '../../infra/csp.js';
import type { RunningServer } from '../../server/server.js';
import { buildWeb } from '../../web/build.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingMailer } from '../helpers/fakes.js';

const CHROMIUM = '/usr/bin/chromium';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

let dir: string;
let site: Server;
let siteUrl: string;
let chat: RunningServer;
let db: TestDatabase;
let browser: Browser;
const mail = new RecordingMailer();

// 127.0.0.1 rather than localhost: the server listens on IPv4 only.
const socketUrl = () => `ws://127.0.0.1:${chat.port}${new URL(chat.wsUrl).pathname}`;

/** What the response headers policy sets, for a socket at `socketOrigin`. */
function cloudFrontHeaders(socketOrigin: string): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(socketOrigin, 'https://ww-files.s3.eu-west-1.amazonaws.com'),
    'strict-transport-security': 'max-age=63072000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium`);
  dir = await mkdtemp(join(tmpdir(), 'ww-site-'));
  await buildWeb({ quiet: true, outdir: dir });

  site = createServer((req, res) => {
    void (async () => {
      const path = normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^(\.\.[/\\])+/, '');
      const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
      const headers = cloudFrontHeaders(new URL(socketUrl()).origin);
      if (path === '/config.json') {
        res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ websocketUrl: socketUrl() }));
        return;
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404, headers).end();
      }
    })();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

  db = await createTestDatabase();
  // The $connect handler reads its allowlist from the environment when it loads,
  // as on Lambda; the site is another origin than the socket here, as on AWS.
  vi.stubEnv('ALLOWED_ORIGINS', siteUrl);
  const [{ startServer }, { TEST_ENV }] = await Promise.all([import('../../server/server.js'), import('../helpers/server.js')]);
  const config = loadConfig({ ...TEST_ENV, DATA_DIR: join(dir, 'data'), ALLOWED_ORIGINS: siteUrl });
  chat = await startServer({ config, sql: db.sql, mailer: mail, webRoot: join(dir, 'unused') });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 120_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await browser?.close();
  await chat?.close();
  await db?.close();
  await new Promise((resolve) => site?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the deployed site's Content-Security-Policy", () => {
  it('lets the client sign up, open the emoji picker and chat, and refuses nothing', { timeout: 60_000 }, async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(8000);
    const refused: string[] = [];
    page.on('console', (m) => {
      if (/Refused to|Content Security Policy/i.test(m.text())) refused.push(m.text());
    });
    page.on('pageerror', (e) => refused.push(`page error: ${e.message}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to load: ${e.violatedDirective} ${e.blockedURI}`));
    });

    await page.goto(`${siteUrl}/`);
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await page.getByLabel('Username').fill('cspcheck');
    await page.getByLabel('Email').fill('cspcheck@example.com');
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByLabel('Code from the email').fill(await mail.codeFor('cspcheck@example.com'));
    await page.getByRole('button', { name: 'Verify and continue' }).click();
    await page.getByRole('dialog', { name: 'Welcome to Wild Whispers' }).waitFor();
    await page.getByRole('button', { name: 'Skip the tour' }).click();
    await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();

    // The picker: its data is fetched from this site, its stylesheet is a <style> in
    // its shadow root (a refused one leaves it without size).
    await page.getByRole('button', { name: 'Insert emoji' }).click();
    const firstEmoji = page.locator('emoji-picker').getByRole('menuitem').first();
    await firstEmoji.waitFor();
    expect((await page.locator('emoji-picker').boundingBox())?.height ?? 0).toBeGreaterThan(100);
    await firstEmoji.click();
    await page.locator('emoji-picker').waitFor({ state: 'detached' });

    const composer = page.getByRole('textbox', { name: 'Message #general' });
    await composer.fill('hello under a strict policy');
    await composer.press('Enter');
    await page.getByText('hello under a strict policy').first().waitFor();

    expect(refused).toEqual([]);
  });
});
