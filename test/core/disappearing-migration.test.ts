// Migration 012 (disappearing messages) on a database that holds people, rooms,
// messages and reactions: nothing is lost, nothing starts to expire, no existing
// channel gets a creator, and the sweep leaves every old message alone.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { sweepExpired } from '../../functions/core/disappearing.js';
import { pageMessages } from '../../functions/core/messages.js';
import { listUserRooms } from '../../functions/core/rooms.js';
import { RecordingLogger } from '../helpers/fakes.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();
const post = (room: string, senderId: string, body: string) => insertMessageWithSeq(db.sql, room, senderId, `k-${body}`, body);

describe('migration 012', () => {
  it('upgrades a database with people, rooms, messages and reactions: no timers, no creators, nothing expires', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '012');
    expect(all.some((m) => m.version === '012_disappearing')).toBe(true);
    const ann = await insertUser(sql, 'ann', 'Ann');
    const ben = await insertUser(sql, 'ben');
    await sql`insert into rooms (id, kind) values ('dm:ann:ben', 'dm'), ('ops', 'channel')`;
    await sql`
      insert into memberships (room_id, user_id)
      values ('general', ${ann}), ('general', ${ben}), ('dm:ann:ben', ${ann}), ('dm:ann:ben', ${ben}), ('ops', ${ann})`;
    const one = await post('general', ann, 'one');
    const two = await post('dm:ann:ben', ben, 'two');
    await post('ops', ann, 'three');
    await sql`insert into reactions (message_id, user_id, emoji) values (${one}, ${ben}, '👍')`;
    const seqs = await sql`select id, last_seq::text from rooms order by id`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '012'));

    expect(await sql`select id, disappear_after, created_by, expired_seq, expired_through from rooms order by id`).toEqual(
      ['dm:ann:ben', 'general', 'ops'].map((id) => ({ id, disappear_after: null, created_by: null, expired_seq: null, expired_through: null })),
    );
    expect(await sql`select body, expires_at, timer from messages order by id`).toEqual(
      ['one', 'two', 'three'].map((body) => ({ body, expires_at: null, timer: null })),
    );
    const swept = await sweepExpired({ sql, log: new RecordingLogger() });
    expect(swept).toEqual({ broadcasts: [], deleted: 0 });
    expect(await sql`select id, last_seq::text from rooms order by id`).toEqual(seqs);
    expect(await sql`select count(*)::int as n from reactions`).toEqual([{ n: 1 }]);
    const page = await pageMessages(sql, 'dm:ann:ben', {}, 50);
    expect(page.messages.map((m) => [m.id, m.text, m.expiresAt])).toEqual([[two, 'two', undefined]]);
    const rooms = await listUserRooms(sql, ann, 'ann');
    for (const r of rooms) {
      expect(r).not.toHaveProperty('disappearAfter');
      expect(r).not.toHaveProperty('createdBy');
    }
    // the timer's columns are checked: no zero or negative timer, no negative announcement
    await expect(sql`update rooms set disappear_after = 0 where id = 'ops'`).rejects.toThrow(/check/);
    await expect(sql`update messages set timer = -1 where id = ${one}`).rejects.toThrow(/check/);
  });
});
