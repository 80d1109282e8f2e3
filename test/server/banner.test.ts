// `npm start`'s banner, read from the real entry point (server/main.ts) run as a
// child process: what database, mail transport and sign-up policy are in force,
// https URLs when it has a certificate, the warning when a team would never get
// their codes, and never a password or the invite code.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerCert, writePem } from '../helpers/certs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { smtpUrl } from '../helpers/smtp.js';

const SMTP_PASSWORD = 'smtp-pw-Zq81';
const DB_PASSWORD = 'db-pw-Xk42';
const INVITE = 'invite-Wd77';

interface Run {
  output: string;
  code: number | null;
}

/**
 * Starts server/main.ts with `env` on top of the test's own, reads its output up
 * to the end of the banner, then stops it with SIGTERM (or waits for it to exit).
 */
function runMain(env: Record<string, string>, until = /➜ {2}Sign-up:.*\n(?:.*\n)*?\n/): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      env: { ...process.env, PORT: '0', SCRYPT_N: '1024', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stopping = false;
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!stopping && until.test(output)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner in time; output:\n${output}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ww-banner-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.sequential('the startup banner', () => {
  it('embedded database and the outbox on every interface: says so, and warns that nobody gets their codes', async () => {
    const dataDir = join(dir, 'lan');
    const { output } = await runMain({ HOST: '0.0.0.0', DATA_DIR: dataDir });
    expect(output).toMatch(/Wild Whispers ready in \d+ ms/);
    expect(output).toMatch(/➜ {2}Local: {4}http:\/\/localhost:\d+\//);
    expect(output).toContain(`➜  Database: embedded PostgreSQL (PGlite) in ${dataDir}/pgdata`);
    expect(output).toContain(`➜  Mail:     outbox: files in ${dataDir}/outbox/`);
    expect(output).toContain('➜  Sign-up:  open to anyone who can reach this server');
    expect(output).toContain(`⚠  Mail goes to the outbox: codes land in ${dataDir}/outbox; set SMTP_URL so people receive them.`);
    expect(output).toContain('⚠  Plain HTTP');
  }, 90_000);

  describe('PostgreSQL, SMTP, an invite code and a certificate', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(() => db?.close());

    it('names the database host and the SMTP server without their passwords, shows https and invite-only', async () => {
      const files = await writePem(dir, await makeServerCert({ dns: ['localhost'], ips: ['127.0.0.1'] }));
      const databaseUrl = new URL(db.url);
      databaseUrl.username = 'postgres';
      databaseUrl.password = DB_PASSWORD; // the test servers trust 127.0.0.1; the banner must still hide it
      const { output } = await runMain({
        HOST: '127.0.0.1',
        DATA_DIR: join(dir, 'pg'),
        DATABASE_URL: databaseUrl.toString(),
        SMTP_URL: smtpUrl('127.0.0.1', 2525, { user: 'chat', password: SMTP_PASSWORD }),
        MAIL_FROM: 'Chat <chat@corp.lan>',
        INVITE_CODE: INVITE,
        TLS_CERT: files.certFile,
        TLS_KEY: files.keyFile,
      });
      expect(output).toMatch(/➜ {2}Local: {4}https:\/\/localhost:\d+\//);
      expect(output).toContain(`➜  Database: PostgreSQL at ${databaseUrl.host}${databaseUrl.pathname} as postgres`);
      expect(output).toContain('➜  Mail:     SMTP smtp://chat@127.0.0.1:2525 (STARTTLS when offered), from Chat <chat@corp.lan>');
      expect(output).toContain('➜  Sign-up:  invite-only (INVITE_CODE)');
      expect(output).not.toContain('⚠');
      for (const secret of [SMTP_PASSWORD, DB_PASSWORD, INVITE]) expect(output).not.toContain(secret);
    }, 90_000);
  });

  it('a bad setting stops the start with its name, not a stack trace', async () => {
    const { output, code } = await runMain({ DATA_DIR: join(dir, 'bad'), SMTP_HOST: 'mail.lan', SMTP_PORT: 'twenty-five' }, /$^/);
    expect(code).toBe(1);
    expect(output.trim()).toBe('Cannot start: SMTP_PORT must be a whole number of at least 1, not "twenty-five"');
  }, 60_000);
});
