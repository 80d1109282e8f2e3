// Account rules on PostgreSQL with a clock the test moves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../../functions/core/accounts.js';
import { openConnection, sweepConnections } from '../../functions/core/connections.js';
import { InvalidCode, RateLimited } from '../../functions/core/errors.js';
import type { Deps } from '../../functions/core/ports.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { migrate } from '../../functions/adapters/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingGateway, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let deps: Deps;
let now = new Date('2026-01-01T12:00:00Z');
const mailer = new RecordingMailer();
const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));

beforeAll(async () => {
  db = await createTestDatabase();
  deps = {
    sql: db.sql,
    gateway: new RecordingGateway(),
    mailer,
    clock: { now: () => now },
    log: { info() {}, warn() {}, error() {} },
    settings: loadConfig(TEST_ENV).settings,
  };
});
afterAll(() => db?.close());

let n = 0;
async function register(name = `acct${++n}`) {
  const cid = `c-${name}-${n}`;
  await openConnection(db.sql, cid, now);
  await auth(deps, cid, { op: 'register', username: name, email: `${name}@example.com`, password: 'long enough pw' });
  return { cid, name, code: await mailer.codeFor(`${name}@example.com`) };
}

describe('one-time codes', () => {
  it('expire after ten minutes', async () => {
    const { cid, name, code } = await register();
    advance(10 * 60 + 1);
    await expect(auth(deps, cid, { op: 'verify', username: name, code })).rejects.toBeInstanceOf(InvalidCode);
  });

  it('are stored only as hashes', async () => {
    const { name, code } = await register();
    const rows = await db.sql`select o.code_hash from otp_challenges o join users u on u.id = o.user_id where u.username = ${name}`;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.code_hash).not.toContain(code);
  });

  it('are limited per account: five sends an hour, then rate_limited, then allowed again', async () => {
    const { cid, name } = await register();
    for (let i = 0; i < 4; i++) await auth(deps, cid, { op: 'login', username: name, password: 'long enough pw' });
    await expect(auth(deps, cid, { op: 'login', username: name, password: 'long enough pw' })).rejects.toBeInstanceOf(RateLimited);
    advance(3601);
    await expect(auth(deps, cid, { op: 'login', username: name, password: 'long enough pw' })).resolves.toMatchObject({ reply: { type: 'otp_sent' } });
  });
});

describe('unverified names', () => {
  it('can be taken over once the first code has lapsed, never while it is live', async () => {
    const { name } = await register();
    await openConnection(db.sql, 'c-squat', now);
    await auth(deps, 'c-squat', { op: 'register', username: name, email: 'other@example.com', password: 'another password' });
    expect(mailer.to('other@example.com').at(-1)?.subject).toMatch(/sign-up attempt/i);
    advance(11 * 60);
    await auth(deps, 'c-squat', { op: 'register', username: name, email: 'other@example.com', password: 'another password' });
    const code = await mailer.codeFor('other@example.com');
    await expect(auth(deps, 'c-squat', { op: 'verify', username: name, code })).resolves.toMatchObject({ reply: { type: 'authed' } });
  });
});

describe('the sweep', () => {
  it('drops sockets that never logged in after the grace period, and anything past the 2-hour limit', async () => {
    await openConnection(db.sql, 'sweep-anon', now);
    const { cid: authed, name, code } = await register();
    await auth(deps, authed, { op: 'verify', username: name, code });
    const limits = { maxAgeSeconds: 7200, unauthenticatedSeconds: 30 };
    advance(10);
    expect((await sweepConnections(deps, limits)).swept).not.toContain('sweep-anon');
    advance(30);
    const first = await sweepConnections(deps, limits);
    expect(first.swept).toContain('sweep-anon');
    expect(first.swept).not.toContain(authed);
    advance(7200);
    expect((await sweepConnections(deps, limits)).swept).toContain(authed);
  });
});

describe('migrations', () => {
  it('apply once; running again, even concurrently, changes nothing', async () => {
    expect(await migrate(db.sql)).toEqual([]);
    const again = await Promise.all([migrate(db.sql), migrate(db.sql)]);
    expect(again).toEqual([[], []]);
    const versions = await db.sql`select version from schema_migrations order by version`;
    expect(versions[0]).toEqual({ version: '001_init' });
  });
});
