// The SMTP transport against a real SMTP server the test runs (smtp-server):
// the settings as the environment gives them, a message as a mail server
// receives it, a whole sign-up whose code travels by SMTP, and STARTTLS with a
// certificate the test makes (trusted through SMTP_CA, refused without it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, smtpWarning } from '../../functions/adapters/config.js';
import { startupBanner } from '../../server/banner.js';
import { describeSmtp, SmtpMailer } from '../../functions/adapters/smtp-mailer.js';
import { startServer } from '../../server/server.js';
import { makeServerCert, writePem } from '../helpers/certs.js';
import { signUp } from '../helpers/client.js';
import { createTestDatabase } from '../helpers/db.js';
import { TEST_ENV } from '../helpers/server.js';
import { smtpUrl, startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';

const PASSWORD = 'p@ss w/ord:secret';
const mailerFor = (env: Record<string, string>) => {
  const config = loadConfig({ ...TEST_ENV, ...env });
  return new SmtpMailer({ from: config.mail.from, smtp: config.mail.smtp! });
};
const code = { to: 'Dana@example.com', subject: '123456 is your Wild Whispers code', text: 'Your Wild Whispers code is 123456\n\nÜnïcode survives.\n' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ww-smtp-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('SMTP settings', () => {
  it('reads SMTP_URL: scheme, user, password (decoded), host, port; implicit TLS for smtps', () => {
    const plain = loadConfig({ SMTP_URL: smtpUrl('mail.corp.lan', 2525, { user: 'mailer@corp', password: PASSWORD }) }).mail;
    expect(plain.transport).toBe('smtp'); // setting a server is enough to use it
    expect(plain.smtp).toEqual({ host: 'mail.corp.lan', port: 2525, secure: false, requireTls: true, user: 'mailer@corp', password: PASSWORD, caFile: undefined });
    const secure = loadConfig({ MAIL_TRANSPORT: 'smtp', SMTP_URL: 'smtps://relay.corp.lan', SMTP_REQUIRE_TLS: 'true' }).mail.smtp;
    expect(secure).toMatchObject({ host: 'relay.corp.lan', port: 465, secure: true, requireTls: true, user: undefined });
    expect(loadConfig({ SMTP_URL: 'smtp://relay.corp.lan' }).mail.smtp?.port).toBe(587);
    // the password may stay out of the URL
    const split = loadConfig({ SMTP_URL: smtpUrl('relay.corp.lan', 587, { user: 'chat' }), SMTP_PASSWORD: PASSWORD }).mail.smtp;
    expect(split).toMatchObject({ user: 'chat', password: PASSWORD });
  });

  it('reads the SMTP_HOST family', () => {
    const smtp = loadConfig({ SMTP_HOST: 'mail.lan', SMTP_USER: 'chat', SMTP_PASSWORD: PASSWORD, SMTP_SECURE: 'true' }).mail.smtp;
    expect(smtp).toMatchObject({ host: 'mail.lan', port: 465, secure: true, user: 'chat', password: PASSWORD });
    expect(loadConfig({ SMTP_HOST: 'mail.lan' }).mail.smtp).toMatchObject({ port: 587, secure: false, user: undefined });
  });

  it('refuses bad values at start-up with the variable name, never echoing the password', () => {
    const fails = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(env)}`);
    };
    expect(fails({ MAIL_TRANSPORT: 'smtp' })).toMatch(/SMTP_URL or SMTP_HOST/);
    expect(fails({ MAIL_TRANSPORT: 'carrier-pigeon' })).toMatch(/MAIL_TRANSPORT must be one of outbox, ses, smtp/);
    const badScheme = fails({ SMTP_URL: smtpUrl('mail.lan', 25, { user: 'u', password: PASSWORD }, 'http') });
    expect(badScheme).toMatch(/^SMTP_URL must start with smtp:\/\/ or smtps:\/\//);
    expect(badScheme).not.toMatch(/secret|p%40ss/);
    const unparsable = fails({ SMTP_URL: 'smtp://' + ['u', PASSWORD].join(':') + '@mail lan:x' });
    expect(unparsable).toMatch(/^SMTP_URL must look like/);
    expect(unparsable).not.toMatch(/secret|p@ss/);
    expect(fails({ SMTP_HOST: 'mail.lan', SMTP_PORT: 'twenty-five' })).toMatch(/^SMTP_PORT must be a whole number/);
    expect(fails({ SMTP_HOST: 'mail.lan', SMTP_SECURE: 'maybe' })).toMatch(/^SMTP_SECURE must be true or false/);
    expect(fails({ SMTP_HOST: 'mail.lan', SMTP_REQUIRE_TLS: 'sometimes' })).toMatch(/^SMTP_REQUIRE_TLS must be true or false/);
    expect(fails({ SMTP_HOST: 'mail.lan', SMTP_PASSWORD: PASSWORD })).toMatch(/^SMTP_PASSWORD is set without SMTP_USER/);
    expect(fails({ SMTP_HOST: 'mail.lan', SMTP_CA: join(dir, 'missing.pem') })).toMatch(/^SMTP_CA names a file that cannot be read/);
  });

  it('describes the transport without the password', () => {
    const smtp = loadConfig({ SMTP_URL: smtpUrl('mail.lan', 2525, { user: 'chat', password: PASSWORD }) }).mail.smtp!;
    expect(describeSmtp(smtp)).toBe('smtp://chat@mail.lan:2525 (STARTTLS required)');
  });

  it('requires STARTTLS by default when a password would go to another machine', () => {
    const smtp = (env: Record<string, string>) => loadConfig(env).mail.smtp!;
    const login = { user: 'chat', password: PASSWORD };
    // credentials to a remote host: never in clear unless said so
    expect(smtp({ SMTP_URL: smtpUrl('mail.corp.lan', 587, login) }).requireTls).toBe(true);
    expect(smtp({ SMTP_HOST: '203.0.113.5', SMTP_USER: 'chat', SMTP_PASSWORD: PASSWORD }).requireTls).toBe(true);
    expect(smtp({ SMTP_URL: smtpUrl('[2001:db8::1]', 587, login) }).requireTls).toBe(true);
    // no credentials, or a relay on this machine: as before
    expect(smtp({ SMTP_URL: 'smtp://relay.corp.lan' }).requireTls).toBe(false);
    for (const host of ['localhost', '127.0.0.1', '[::1]']) expect(smtp({ SMTP_URL: smtpUrl(host, 2525, login) }).requireTls).toBe(false);
    // an explicit opt-out is honoured, and the banner says what it costs
    const optOut = loadConfig({ SMTP_URL: smtpUrl('mail.corp.lan', 587, login), SMTP_REQUIRE_TLS: 'false' });
    expect(optOut.mail.smtp!.requireTls).toBe(false);
    expect(smtpWarning(optOut.mail.smtp)).toMatch(/SMTP_REQUIRE_TLS=false: the SMTP password is sent in clear to mail\.corp\.lan/);
    const banner = startupBanner({ config: optOut, port: 8080, scheme: 'http', readyMs: 1, interfaces: {} }).join('\n');
    expect(banner).toMatch(/⚠ .*SMTP_REQUIRE_TLS=false/);
    expect(banner).not.toContain(PASSWORD);
    expect(smtpWarning(smtp({ SMTP_URL: smtpUrl('mail.corp.lan', 587, login) }))).toBeUndefined();
    expect(smtpWarning(smtp({ SMTP_URL: smtpUrl('127.0.0.1', 2525, login) }))).toBeUndefined();
  });
});

describe('sending over SMTP', () => {
  let smtp: SmtpTestServer;
  beforeAll(async () => {
    smtp = await startSmtpServer({ login: { user: 'chat', password: PASSWORD } });
  });
  afterAll(() => smtp?.close());

  it('logs in and hands the message over: sender, recipient, subject and UTF-8 text intact', async () => {
    const mailer = mailerFor({ SMTP_URL: smtpUrl('127.0.0.1', smtp.port, { user: 'chat', password: PASSWORD }), MAIL_FROM: 'Wild Whispers <chat@corp.lan>' });
    await mailer.send(code);
    const [got] = smtp.received;
    expect(got).toMatchObject({ from: 'chat@corp.lan', to: ['Dana@example.com'], user: 'chat', secure: false });
    expect(got!.parsed.subject).toBe(code.subject);
    expect(got!.parsed.text).toBe(code.text);
    expect(got!.parsed.from?.value).toEqual([{ name: 'Wild Whispers', address: 'chat@corp.lan' }]);
  });

  it('carries a notice\'s List-Unsubscribe headers (E24, RFC 8058) to the server', async () => {
    const mailer = mailerFor({ SMTP_URL: smtpUrl('127.0.0.1', smtp.port, { user: 'chat', password: PASSWORD }), MAIL_FROM: 'Wild Whispers <chat@corp.lan>' });
    const before = smtp.received.length;
    await mailer.send({
      to: 'dana@example.com',
      subject: '@alice sent you a message on Wild Whispers',
      text: 'Hello',
      headers: { 'List-Unsubscribe': '<https://chat.corp.lan/unsubscribe?token=1.2.abc>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
    const got = smtp.received[before]!;
    const line = (key: string) => got.parsed.headerLines.find((h) => h.key === key)?.line;
    expect(line('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(line('list-unsubscribe')).toBe('List-Unsubscribe: <https://chat.corp.lan/unsubscribe?token=1.2.abc>');
  });

  it('fails with the server reason, not the password, when the login is refused', async () => {
    const wrong = 'not-the-password-42';
    const mailer = mailerFor({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), SMTP_USER: 'chat', SMTP_PASSWORD: wrong });
    const before = smtp.received.length;
    const err = await mailer.send(code).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^SMTP delivery via smtp:\/\/chat@127\.0\.0\.1:\d+ \(STARTTLS when offered\) failed: .*Invalid username or password/);
    expect(err?.message).not.toContain(wrong);
    expect(smtp.refusedLogins).toBeGreaterThan(0);
    expect(smtp.received.length).toBe(before);
  });

  it('signs a person up with the code the SMTP server received', async () => {
    const db = await createTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'ww-smtp-server-'));
    // No mailer handed in: the server picks the transport from its settings.
    const config = loadConfig({ ...TEST_ENV, DATA_DIR: dataDir, SMTP_URL: smtpUrl('127.0.0.1', smtp.port, { user: 'chat', password: PASSWORD }) });
    const server = await startServer({ config, sql: db.sql, webRoot: join(dataDir, 'web') });
    try {
      const client = await signUp({ wsUrl: server.wsUrl, codeFor: (email) => smtp.codeFor(email) });
      const [mail] = smtp.received.filter((m) => m.to.includes(client.email));
      expect(mail?.parsed.subject).toMatch(/^\d{6} is your Wild Whispers code$/);
      const joined = await client.request({ action: 'join', room: 'general' });
      expect(joined).toMatchObject({ type: 'joined' });
      await client.close();
    } finally {
      await server.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('STARTTLS', () => {
  let smtp: SmtpTestServer;
  let caFile: string;
  beforeAll(async () => {
    // A self-signed certificate for the address the client dials.
    const pem = await makeServerCert({ dns: ['localhost'], ips: ['127.0.0.1'] });
    caFile = (await writePem(dir, pem, 'smtp-')).certFile;
    smtp = await startSmtpServer({ tls: pem, login: { user: 'chat', password: PASSWORD } });
  });
  afterAll(() => smtp?.close());

  it('upgrades the session when the server offers STARTTLS, trusting the certificate in SMTP_CA', async () => {
    const mailer = mailerFor({ SMTP_URL: smtpUrl('127.0.0.1', smtp.port, { user: 'chat', password: PASSWORD }), SMTP_CA: caFile, SMTP_REQUIRE_TLS: 'true' });
    await mailer.send(code);
    expect(smtp.received.at(-1)).toMatchObject({ secure: true, user: 'chat', to: ['Dana@example.com'] });
  });

  it('verifies the certificate: an unknown one gets nothing, not a plain-text fallback', async () => {
    const before = smtp.received.length;
    const mailer = mailerFor({ SMTP_URL: smtpUrl('127.0.0.1', smtp.port, { user: 'chat', password: PASSWORD }) });
    await expect(mailer.send(code)).rejects.toThrow(/SMTP delivery via .* failed: .*(self-signed|certificate)/i);
    expect(smtp.received.length).toBe(before);
  });

  it('with SMTP_REQUIRE_TLS, refuses a server that does not offer STARTTLS', async () => {
    const bare = await startSmtpServer();
    try {
      const mailer = mailerFor({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(bare.port), SMTP_REQUIRE_TLS: 'true' });
      await expect(mailer.send(code)).rejects.toThrow(/STARTTLS/);
      expect(bare.received).toEqual([]);
      // without it, the same server takes the message in the clear
      await mailerFor({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(bare.port) }).send(code);
      expect(bare.received).toHaveLength(1);
    } finally {
      await bare.close();
    }
  });
});
