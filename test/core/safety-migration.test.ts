// Migration 019 (blocks, reports, suspensions) on a database that holds people,
// rooms, messages and sessions: nothing is lost, nobody is blocked, reported or
// suspended, and the new tables hold their rules (no self-block, one report per
// person and message, bounded reasons) and go with the accounts they name.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { blockedNames } from '../../functions/core/blocks.js';
import { pageMessages } from '../../functions/core/messages.js';
import { openReports } from '../../functions/core/reports.js';
import { lockUnlessSuspended } from '../../functions/core/suspension.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();

describe('migration 019', () => {
  it('upgrades a database with people, rooms and messages: no blocks, no reports, no suspensions', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '019');
    const ann = await insertUser(sql, 'ann');
    const ben = await insertUser(sql, 'ben');
    await sql`insert into rooms (id, kind) values ('dm:ann:ben', 'dm')`;
    await sql`insert into memberships (room_id, user_id) values ('general', ${ann}), ('general', ${ben}), ('dm:ann:ben', ${ann}), ('dm:ann:ben', ${ben})`;
    const one = await insertMessageWithSeq(sql, 'general', ann, 'k-1', 'one');
    const two = await insertMessageWithSeq(sql, 'dm:ann:ben', ben, 'k-2', 'two');
    await sql`insert into sessions (user_id, token_hash, expires_at) values (${ann}, 'h', now() + interval '1 day')`;
    const before = await sql`select id, body, seq from messages order by id`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '019'));

    expect(await sql`select id, body, seq from messages order by id`).toEqual(before);
    expect(await blockedNames(sql, ann)).toEqual([]);
    expect(await openReports(sql)).toEqual({ reports: [], more: false });
    expect(await lockUnlessSuspended(sql, ann, new Date())).toBeUndefined();
    expect((await pageMessages(sql, 'dm:ann:ben', {}, 50)).messages.map((m) => m.id)).toEqual([two]);

    // the rules of the new tables
    await expect(sql`insert into blocks (blocker_id, blocked_id) values (${ann}, ${ann})`).rejects.toThrow(/check/);
    await sql`insert into blocks (blocker_id, blocked_id) values (${ann}, ${ben})`;
    await sql`insert into reports (message_id, room_id, sender_id, reporter_id, reason, body) values (${one}, 'general', ${ann}, ${ben}, 'why', 'one')`;
    await expect(
      sql`insert into reports (message_id, room_id, sender_id, reporter_id, reason, body) values (${one}, 'general', ${ann}, ${ben}, 'again', 'one')`,
    ).rejects.toThrow(/unique|duplicate/);
    await expect(
      sql`insert into reports (message_id, room_id, sender_id, reporter_id, reason, body) values (${two}, 'dm:ann:ben', ${ben}, ${ann}, ${'x'.repeat(501)}, 'two')`,
    ).rejects.toThrow(/check/);
    await sql`insert into suspensions (user_id, until, created_by) values (${ben}, null, 'root')`;
    expect(await lockUnlessSuspended(sql, ben, new Date())).toBeNull();
    // an account that goes takes its blocks, reports and suspension with it
    await sql`delete from users where id = ${ben}`;
    expect(await sql`select (select count(*)::int from blocks) as b, (select count(*)::int from reports) as r, (select count(*)::int from suspensions) as s`).toEqual([
      { b: 0, r: 0, s: 0 },
    ]);
  });
});
