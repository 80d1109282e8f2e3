// Races between resuming a session and ending it, and between parallel resumes
// of one account, on the core with real PostgreSQL (TEST_DATABASE_URL) or PGlite.
// On PGlite (one connection) statements cannot interleave, so these pass there
// trivially; on PostgreSQL the rounds below failed before binds took the
// session's share lock and logout collected sockets in a fresh statement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../../functions/core/accounts.js';
import { openConnection } from '../../functions/core/connections.js';
import { RateLimited, Unauthorized } from '../../functions/core/errors.js';
import type { Deps } from '../../functions/core/ports.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let deps: Deps;
const mailer = new RecordingMailer();
let now = new Date('2026-01-01T12:00:00Z');

beforeAll(async () => {
  db = await createTestDatabase();
  deps = {
    sql: db.sql,
    gateway: new RecordingGateway(),
    mailer,
    clock: { now: () => now },
    log: { info() {}, warn() {}, error() {} },
    settings: loadConfig({ ...TEST_ENV, LOGINS_PER_USER_PER_HOUR: '100000', CONNECTIONS_PER_USER: '20' }).settings,
  };
});
afterAll(() => db?.close());

let n = 0;
async function signUp(name: string): Promise<{ cid: string; token: string }> {
  const cid = `c-${name}-${++n}`;
  await openConnection(db.sql, cid, now, '10.0.0.1');
  await auth(deps, cid, { op: 'register', username: name, email: `${name}@example.com`, password: 'long enough pw' });
  const out = await auth(deps, cid, { op: 'verify', username: name, code: await mailer.codeFor(`${name}@example.com`) });
  const reply = out.reply as unknown as { token: string };
  return { cid, token: reply.token };
}

describe('logout against a resume of the same session', () => {
  it('leaves no socket signed in to a session that was logged out, over many parallel rounds', async () => {
    const { token: first } = await signUp('racer');
    let token = first;
    let survivors = 0;
    for (let round = 0; round < 60; round++) {
      // A signed-in socket holding the session, and a new one resuming it.
      const holder = `hold-${round}`;
      const joiner = `join-${round}`;
      await openConnection(db.sql, holder, now, '10.0.0.2');
      await openConnection(db.sql, joiner, now, '10.0.0.3');
      await auth(deps, holder, { op: 'resume', token });
      const [resumed, loggedOut] = await Promise.allSettled([
        auth(deps, joiner, { op: 'resume', token }),
        auth(deps, holder, { op: 'logout' }),
      ]);
      expect(loggedOut.status).toBe('fulfilled');
      if (resumed.status === 'rejected') {
        expect(resumed.reason).toBeInstanceOf(Unauthorized);
        expect((resumed.reason as Error).message).toBe('That session has ended; log in again.');
      }
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from connections c join sessions s on s.id = c.session_id
        where s.revoked_at is not null or c.id = ${joiner} and c.user_id is not null`;
      survivors += row!.n;
      // A fresh session for the next round.
      const cid = `login-${round}`;
      await openConnection(db.sql, cid, now, '10.0.0.4');
      const out = await auth(deps, cid, { op: 'login', username: 'racer', password: 'long enough pw' });
      token = (out.reply as unknown as { token: string }).token;
      await db.sql`delete from connections where id in (${holder}, ${joiner}, ${cid})`;
    }
    expect(survivors).toBe(0);
  });
});

describe('logout between a resume\'s check and its bind (deterministic, PostgreSQL)', () => {
  it('refuses the bind once the session is revoked', async (ctx) => {
    if (!db.real) return ctx.skip(); // one PGlite connection cannot hold a lock against itself
    const { cid: holder, token } = await signUp('stepper');
    const joiner = 'stepper-joiner';
    await openConnection(db.sql, joiner, now, '10.0.0.6');
    const [user] = await db.sql<{ id: string }[]>`select id from users where username = 'stepper'`;
    // Another connection holds the user's row, so the resume stops once it has
    // found the session live and goes to bind (a bind needs that row: for its
    // foreign key, and for the per-user count).
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const side = db.sql.begin(async (tx) => {
      await tx`select id from users where id = ${user!.id} for update`;
      locked();
      await new Promise<void>((r) => (release = r));
    });
    await isLocked;
    const resumed = auth(deps, joiner, { op: 'resume', token }).then(
      () => undefined,
      (err: unknown) => err,
    );
    // Wait until the resume is blocked on a lock.
    for (let i = 0; ; i++) {
      const [w] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
      if (w!.n > 0) break;
      if (i > 200) throw new Error('the resume never waited for the lock');
      await new Promise((r) => setTimeout(r, 10));
    }
    await auth(deps, holder, { op: 'logout' });
    release();
    await side;
    const err = await resumed;
    expect(err).toBeInstanceOf(Unauthorized);
    expect((err as Error).message).toBe('That session has ended; log in again.');
    const [row] = await db.sql<{ user_id: string | null }[]>`select user_id from connections where id = ${joiner}`;
    expect(row!.user_id).toBeNull();
  });
});

describe('parallel resumes of one token', () => {
  it('admit exactly CONNECTIONS_PER_USER connections', async () => {
    const { cid, token } = await signUp('crowd');
    await db.sql`delete from connections where id = ${cid}`;
    const ids = Array.from({ length: 40 }, (_, i) => `crowd-${i}`);
    for (const id of ids) await openConnection(db.sql, id, now, '10.0.0.5');
    const results = await Promise.allSettled(ids.map((id) => auth(deps, id, { op: 'resume', token })));
    const admitted = results.filter((r) => r.status === 'fulfilled').length;
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RateLimited);
    expect(admitted).toBe(20);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from connections c join users u on u.id = c.user_id where u.username = 'crowd'`;
    expect(row!.n).toBe(20);
  });
});

describe('a wrong resume token', () => {
  it('is logged as a security event with the connection and address, never the token', async () => {
    const log = new RecordingLogger();
    const logged: Deps = { ...deps, log };
    const token = 'x'.repeat(43);
    for (let i = 0; i < 3; i++) {
      const cid = `guess-${i}`;
      await openConnection(db.sql, cid, now, '192.0.2.7');
      await expect(auth(logged, cid, { op: 'resume', token })).rejects.toBeInstanceOf(Unauthorized);
    }
    const events = log.events('resume_failed');
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({ connection: 'guess-0', ip: '192.0.2.7' });
    expect(JSON.stringify(log.lines)).not.toContain(token);
  });
});
