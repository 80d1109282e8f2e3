// The welcome tour, once per account: `authed` carries user.tourSeen, the
// `tour_seen` action sets it, and the migration counts accounts that already
// had their first login as having seen it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { resumeAs, signUp, TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('tour_seen', () => {
  it('is false for a new account, and true on every later login once marked', async () => {
    const alice = await signUp(server);
    const first = alice.frames.find((f) => f.type === 'authed')!;
    expect(first.user).toEqual({ username: alice.username, displayName: alice.username, tourSeen: false, readReceipts: true, notify: 'mentions', notifyQuote: false, twoFactor: false });

    expect(await alice.request({ action: 'tour_seen' })).toEqual({ type: 'tour_seen', re: expect.any(String) });
    const again = await resumeAs(server, alice.token!);
    expect(again.frames.find((f) => f.type === 'authed')!.user).toMatchObject({ tourSeen: true });
    // repeating it changes nothing, and keeps the first time
    const [before] = await server.db.sql<{ at: Date }[]>`select tour_seen_at as at from users where username = ${alice.username}`;
    expect(await again.request({ action: 'tour_seen' })).toMatchObject({ type: 'tour_seen' });
    const [after] = await server.db.sql<{ at: Date }[]>`select tour_seen_at as at from users where username = ${alice.username}`;
    expect(after!.at).toEqual(before!.at);
    await Promise.all([alice.close(), again.close()]);
  });

  it('needs a logged-in connection and a well-formed frame', async () => {
    const anonymous = await TestClient.connect(server.wsUrl);
    expect(await anonymous.request({ action: 'tour_seen' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    await anonymous.close();

    const bob = await signUp(server);
    bob.send({ action: 'tour_seen', id: 7 }); // an id must be a string
    expect(await bob.next('error')).toMatchObject({ code: 'bad_request', message: 'id must be a string.' });
    const [row] = await server.db.sql<{ at: Date | null }[]>`select tour_seen_at as at from users where username = ${bob.username}`;
    expect(row!.at).toBeNull();
    await bob.close();
  });

  it('is limited per account', async () => {
    const carol = await signUp(server);
    for (let i = 0; i < 10; i++) expect((await carol.request({ action: 'tour_seen' })).type).toBe('tour_seen');
    expect(await carol.request({ action: 'tour_seen' })).toMatchObject({ type: 'error', code: 'rate_limited' });
    await carol.close();
  });
});

describe('migration 008', () => {
  it('upgrades a database with accounts in it: verified ones have seen the tour, unverified ones have not', async () => {
    const { sql } = server.db;
    // back to before 008, with data
    await sql`alter table users drop column tour_seen_at`;
    await sql`delete from schema_migrations where version like '008_%'`;
    const verifiedAt = new Date('2026-01-02T03:04:05Z');
    await sql`
      insert into users (username, display_name, email, email_lower, password_hash, verified_at)
      values ('old-timer', 'Old-Timer', 'old@example.com', 'old@example.com', 'x', ${verifiedAt}),
             ('half-way', 'half-way', 'half@example.com', 'half@example.com', 'x', null)`;

    expect(await migrate(sql)).toEqual([expect.stringMatching(/^008_/)]);
    const rows = await sql<{ username: string; tour_seen_at: Date | null }[]>`
      select username, tour_seen_at from users where username in ('old-timer', 'half-way') order by username`;
    expect(rows).toEqual([
      { username: 'half-way', tour_seen_at: null },
      { username: 'old-timer', tour_seen_at: verifiedAt },
    ]);
  });
});
