// Shared by the account recovery and devices tests (E18): ports over a test
// database with a clock the test moves, a logger that keeps the security events,
// sockets from addresses of their own, and verified accounts.
import { loadConfig } from '../../functions/adapters/config.js';
import { auth } from '../../functions/core/accounts.js';
import { openConnection } from '../../functions/core/connections.js';
import type { Outcome } from '../../functions/core/outcome.js';
import type { Deps, Logger } from '../../functions/core/ports.js';
import type { TestDatabase } from './db.js';
import { RecordingGateway, RecordingMailer } from './fakes.js';
import { TEST_ENV } from './server.js';

export class RecordingLogger implements Logger {
  readonly lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
  info(message: string, fields: Record<string, unknown> = {}) {
    this.lines.push({ message, fields });
  }
  warn(message: string, fields: Record<string, unknown> = {}) {
    this.lines.push({ message, fields });
  }
  error(message: string, fields: Record<string, unknown> = {}) {
    this.lines.push({ message, fields });
  }
  events(name: string) {
    return this.lines.filter((l) => l.fields.security === name).map((l) => l.fields);
  }
}

let worlds = 0;

/**
 * Each world starts two days after the last, so that the server-wide budgets
 * (kept in the shared database) are full again for every test.
 */
export function recoveryWorld(db: TestDatabase, env: Record<string, string> = {}) {
  let now = new Date(Date.parse('2026-03-01T12:00:00Z') + ++worlds * 2 * 86_400_000);
  const mailer = new RecordingMailer();
  const log = new RecordingLogger();
  const gateway = new RecordingGateway();
  const deps: Deps = {
    sql: db.sql,
    gateway,
    mailer,
    clock: { now: () => now },
    log,
    settings: loadConfig({ ...TEST_ENV, ...env }).settings,
  };
  let n = 0;
  let ipN = 0;
  const unique = (prefix: string) => `${prefix}${process.pid % 1000}_${Date.now() % 100000}_${++n}`;
  const newIp = () => `203.0.${Math.floor(++ipN / 250)}.${ipN % 250}`;
  const w = {
    deps,
    mailer,
    log,
    gateway,
    unique,
    newIp,
    advance: (seconds: number) => (now = new Date(now.getTime() + seconds * 1000)),
    now: () => now,
    async socket(ip: string = newIp(), device?: string): Promise<string> {
      const cid = unique('c-');
      await openConnection(deps.sql, cid, now, ip, device);
      return cid;
    },
    /** the newest 6-digit code mailed to the address */
    codeFor(email: string): string | undefined {
      return mailer
        .to(email)
        .map((m) => /\b(\d{6})\b/.exec(m.subject)?.[1])
        .filter(Boolean)
        .at(-1);
    },
    /** A verified account, logged in on a socket of its own. */
    async account(prefix = 'u', password = 'correct horse battery', device = 'Firefox on Linux') {
      const username = unique(prefix);
      const email = `${username}@example.com`;
      await auth(deps, await w.socket(), { op: 'register', username, email, password });
      const connection = await w.socket(newIp(), device);
      const out = await auth(deps, connection, { op: 'verify', username, code: w.codeFor(email)! });
      return { username, email, password, connection, token: String(out.reply!.token) };
    },
    /** Logs in on a new socket from `device`. */
    async login(username: string, password: string, device?: string, ip?: string): Promise<{ connection: string; outcome: Outcome }> {
      const connection = await w.socket(ip, device);
      return { connection, outcome: await auth(deps, connection, { op: 'login', username, password }) };
    },
  };
  return w;
}
export type RecoveryWorld = ReturnType<typeof recoveryWorld>;
