// The safety core (E22) on its own, against the database: suspensions' lengths
// and sentences, an ended suspension ignored, a suspension replaced and lifted,
// an administrator's deletion of a message (one statement, its reports closed,
// an expired or deleted one left alone), and reports' pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeMessageAsAdmin } from '../../functions/core/administration.js';
import { closeReports, openReports } from '../../functions/core/reports.js';
import { lockUnlessSuspended, describeUntil, liftSuspension, parseDuration, suspendAccount, suspendedError } from '../../functions/core/suspension.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { insertMessageWithSeq, insertUser } from '../helpers/migrations.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

describe('suspension lengths and sentences', () => {
  it('reads lengths from a minute to ten years, or for good', () => {
    expect(parseDuration('30m')).toBe(1800);
    expect(parseDuration('12h')).toBe(43200);
    expect(parseDuration('7d')).toBe(604800);
    expect(parseDuration('2W')).toBe(1209600);
    expect(parseDuration('forever')).toBeNull();
    for (const bad of ['', '5s', '0m', '7', 'd', '7 days', '-1d', '99999w', '1e3d']) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it('says until when, in UTC', () => {
    const until = new Date('2026-12-08T01:15:30.000Z');
    expect(describeUntil(until)).toBe('until 8 Dec 2026, 01:15 UTC');
    expect(describeUntil(null)).toBe('for good');
    expect(suspendedError(until)).toMatchObject({ code: 'suspended', until, message: "This account is suspended until 8 Dec 2026, 01:15 UTC by the server's administrators." });
    expect(suspendedError(null).until).toBeUndefined();
  });
});

describe('suspensions in the database', () => {
  it('hold until their end, are replaced by a new one, and lifted', async () => {
    const id = await insertUser(db.sql, 'suzy');
    let now = new Date('2026-12-01T00:00:00.000Z');
    const clock = { now: () => now };
    const until = new Date('2026-12-02T00:00:00.000Z');
    expect(await suspendAccount({ sql: db.sql, clock }, 'SUZY', until, 'root')).toEqual({ user: 'suzy', until, closed: [], broadcasts: [] });
    expect(await lockUnlessSuspended(db.sql, id, now)).toEqual(until);
    now = new Date('2026-12-02T00:00:00.000Z'); // it ends at `until`
    expect(await lockUnlessSuspended(db.sql, id, now)).toBeUndefined();
    await suspendAccount({ sql: db.sql, clock }, 'suzy', null, 'root');
    expect(await lockUnlessSuspended(db.sql, id, now)).toBeNull();
    expect(await liftSuspension({ sql: db.sql, clock }, 'suzy')).toBe(true);
    expect(await liftSuspension({ sql: db.sql, clock }, 'suzy')).toBe(false);
    expect(await suspendAccount({ sql: db.sql, clock }, 'nobody', null, 'root')).toBeUndefined();
  });
});

describe('an administrator deleting a message', () => {
  it('leaves a tombstone with a new seq, closes its reports, and leaves deleted and expired ones alone', async () => {
    const ann = await insertUser(db.sql, 'ann2');
    const ben = await insertUser(db.sql, 'ben2');
    await db.sql`insert into memberships (room_id, user_id) values ('general', ${ann}), ('general', ${ben}) on conflict do nothing`;
    const id = await insertMessageWithSeq(db.sql, 'general', ann, 'k-a', 'rude words');
    await db.sql`insert into reactions (message_id, user_id, emoji) values (${id}, ${ben}, '👍')`;
    await db.sql`insert into reports (message_id, room_id, sender_id, reporter_id, reason, body) values (${id}, 'general', ${ann}, ${ben}, 'rude', 'rude words')`;
    const [before] = await db.sql<{ last_seq: string }[]>`select last_seq::text from rooms where id = 'general'`;
    const clock = { now: () => new Date() };
    const removed = await removeMessageAsAdmin({ sql: db.sql, clock }, id, 'root');
    expect(removed?.message).toMatchObject({ id, deleted: true, text: '' });
    expect(BigInt(removed!.seq)).toBeGreaterThan(BigInt(before!.last_seq));
    expect(removed?.closed).toHaveLength(1);
    expect(await db.sql`select body, status, closed_by from reports where message_id = ${id}`).toEqual([{ body: '', status: 'deleted', closed_by: 'root' }]);
    expect(await db.sql`select count(*)::int as n from reactions where message_id = ${id}`).toEqual([{ n: 0 }]);
    expect(await removeMessageAsAdmin({ sql: db.sql, clock }, id, 'root')).toBeUndefined();
    const gone = await insertMessageWithSeq(db.sql, 'general', ann, 'k-b', 'expired');
    await db.sql`update messages set expires_at = now() - interval '1 second' where id = ${gone}`;
    expect(await removeMessageAsAdmin({ sql: db.sql, clock }, gone, 'root')).toBeUndefined();
    expect(await db.sql`select body from messages where id = ${gone}`).toEqual([{ body: 'expired' }]);
  });
});

describe('reports', () => {
  it('page open reports oldest first, and a closed one leaves the list and its copy of the text', async () => {
    const a = await insertUser(db.sql, 'pa');
    const b = await insertUser(db.sql, 'pb');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await insertMessageWithSeq(db.sql, 'general', a, `k-p${i}`, `m${i}`);
      const [r] = await db.sql<{ id: string }[]>`
        insert into reports (message_id, room_id, sender_id, reporter_id, reason, body) values (${m}, 'general', ${a}, ${b}, 'r', ${`m${i}`}) returning id::text`;
      ids.push(r!.id);
    }
    const first = await openReports(db.sql, undefined, 2);
    expect(first.reports.map((r) => r.id)).toEqual(ids.slice(0, 2));
    expect(first.more).toBe(true);
    const rest = await openReports(db.sql, first.reports[1]!.id, 10);
    expect(rest.reports.map((r) => r.id)).toEqual(ids.slice(2));
    expect(await closeReports(db.sql, { id: ids[0]! }, 'dismissed', 'root', new Date())).toEqual([ids[0]]);
    expect(await closeReports(db.sql, { id: ids[0]! }, 'dismissed', 'root', new Date())).toEqual([]);
    expect((await openReports(db.sql)).reports.map((r) => r.id)).toEqual(ids.slice(1));
  });
});
