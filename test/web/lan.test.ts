// A team's setup, two machines on one network simulated on this one: the server
// on HTTPS at a second loopback address (127.0.0.2) with a certificate from the
// team's own CA, mail through an SMTP server over STARTTLS, and a colleague in
// Chromium who trusts that CA and nothing else. They sign up at
// https://127.0.0.2:PORT with the code the mail server received and end up in
// the chat. Controls are found by role and label, as a person finds them.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { buildWeb } from '../../web/build.js';
import { makeCa, makeServerCert, spkiHash, writePem, type Pem } from '../helpers/certs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_ENV } from '../helpers/server.js';
import { smtpUrl, startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser.js';

const SERVER_HOST = '127.0.0.2';
const PASSWORD = 'correct horse battery staple';

let dir: string;
let ca: Pem;
let db: TestDatabase;
let smtp: SmtpTestServer;
let server: RunningServer;
let browser: Browser;
const origin = () => `https://${SERVER_HOST}:${server.port}`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium`);
  dir = await mkdtemp(join(tmpdir(), 'ww-lan-'));
  const webRoot = join(dir, 'web');
  ca = await makeCa('Team CA');
  const caFile = (await writePem(dir, ca, 'ca-')).certFile;
  const site = await writePem(dir, await makeServerCert({ ips: [SERVER_HOST] }, ca), 'site-');
  // The mail server: another machine, STARTTLS with a certificate from the same CA.
  smtp = await startSmtpServer({ tls: await makeServerCert({ ips: ['127.0.0.1'] }, ca), login: { user: 'chat', password: 'mail secret' } });
  [db] = await Promise.all([createTestDatabase(), buildWeb({ quiet: true, outdir: webRoot })]);
  const config = loadConfig({
    ...TEST_ENV,
    HOST: SERVER_HOST,
    DATA_DIR: dir,
    TLS_CERT: site.certFile,
    TLS_KEY: site.keyFile,
    SMTP_URL: smtpUrl('127.0.0.1', smtp.port, { user: 'chat', password: 'mail secret' }),
    SMTP_REQUIRE_TLS: 'true',
    SMTP_CA: caFile,
    MAIL_FROM: 'Team chat <chat@team.lan>',
  });
  // No mailer handed in: the server mails through SMTP as its settings say.
  server = await startServer({ config, sql: db.sql, webRoot });
  // The colleague's browser trusts the team CA's key, as an installed CA would be.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkiHash(ca.cert)}`] });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await smtp?.close();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('signs up over https://127.0.0.2 with the code that came by SMTP, and lands in the chat', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  const response = await page.goto(`${origin()}/`);
  expect(response?.headers()['strict-transport-security']).toBe('max-age=63072000');
  expect(await page.evaluate(() => window.isSecureContext)).toBe(true);

  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  await page.getByLabel('Username').fill('erin');
  await page.getByLabel('Email').fill('erin@team.lan');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();

  const code = await smtp.codeFor('erin@team.lan');
  const mail = smtp.received.find((m) => m.to.includes('erin@team.lan'))!;
  expect(mail).toMatchObject({ secure: true, user: 'chat', from: 'chat@team.lan' });

  await page.getByLabel('Code from the email').fill(code);
  await page.getByRole('button', { name: 'Verify and continue' }).click();
  await page.getByRole('dialog', { name: 'Welcome to Wild Whispers' }).waitFor();
  await page.getByRole('button', { name: 'Skip the tour' }).click();
  await page.getByRole('heading', { name: 'general', level: 1 }).waitFor();
  const box = page.getByRole('textbox', { name: 'Message #general' });
  await box.fill('hello from the second machine');
  await box.press('Enter');
  await page.locator('.message-list li.msg:not(.pending) .msg-text', { hasText: 'hello from the second machine' }).waitFor();
  expect(sockets).toEqual([`wss://${SERVER_HOST}:${server.port}/ws`]);
  await ctx.close();
}, 90_000);

it('a browser that does not trust the team CA is stopped at the certificate', async () => {
  const stranger = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await stranger.newPage();
    await expect(page.goto(`${origin()}/`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await stranger.close();
  }
}, 60_000);
