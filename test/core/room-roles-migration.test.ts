// Migration 018 (channel roles and moderation) on a database with people, rooms
// and messages: channels get an owner (their recorded creator, else their
// earliest member, else nobody; never general), nothing becomes private, no
// message reads as removed, and every room lists as before.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { pageMessages } from '../../functions/core/messages.js';
import { listUserRooms } from '../../functions/core/rooms.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();

describe('migration 018', () => {
  it('gives old channels an owner and keeps everything else as it was', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '018');
    expect(all.some((m) => m.version === '018_room_roles')).toBe(true);
    const ann = await insertUser(sql, 'ann');
    const ben = await insertUser(sql, 'ben');
    const cat = await insertUser(sql, 'cat');
    await sql`insert into rooms (id, kind) values ('dm:ann:ben', 'dm'), ('old', 'channel'), ('empty', 'channel')`;
    await sql`insert into rooms (id, kind, created_by) values ('made', 'channel', ${cat})`;
    await sql`insert into memberships (room_id, user_id, joined_at) values
      ('general', ${ann}, now() - interval '3 days'), ('general', ${ben}, now()),
      ('dm:ann:ben', ${ann}, now()), ('dm:ann:ben', ${ben}, now()),
      ('old', ${ben}, now() - interval '2 days'), ('old', ${ann}, now() - interval '1 day'),
      ('made', ${ann}, now() - interval '2 days'), ('made', ${cat}, now())`;
    const one = await insertMessageWithSeq(sql, 'old', ben, 'k1', 'one');

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '018'));

    const owners = await sql`select r.id, u.username as owner from rooms r left join users u on u.id = r.owner_id order by r.id`;
    expect(owners).toEqual([
      { id: 'dm:ann:ben', owner: null },
      { id: 'empty', owner: null },
      { id: 'general', owner: null },
      { id: 'made', owner: 'cat' },
      { id: 'old', owner: 'ben' },
    ]);
    expect(await sql`select distinct private, topic, name from rooms`).toEqual([{ private: false, topic: '', name: null }]);
    expect(await sql`select count(*)::int as n from memberships where moderator`).toEqual([{ n: 0 }]);
    const page = await pageMessages(sql, 'old', {}, 50);
    expect(page.messages.map((m) => [m.id, m.text, m.removedBy])).toEqual([[one, 'one', undefined]]);
    // ann's rooms list as before, no role, topic or privacy; ben's and cat's show their ownership
    const anns = await listUserRooms(sql, ann, 'ann');
    expect(anns.map((r) => [r.id, r.name])).toEqual([['general', 'general'], ['made', 'made'], ['old', 'old'], ['dm:ann:ben', 'ben']]);
    for (const r of anns) for (const field of ['role', 'topic', 'private']) expect(r).not.toHaveProperty(field);
    expect((await listUserRooms(sql, ben, 'ben')).find((r) => r.id === 'old')).toMatchObject({ role: 'owner' });
    expect((await listUserRooms(sql, cat, 'cat')).find((r) => r.id === 'made')).toMatchObject({ role: 'owner' });
    // names are unique among channels, checked, and the topic bounded
    await expect(sql`update rooms set name = 'old' where id = 'made'`).rejects.toThrow(/unique|duplicate/);
    await expect(sql`update rooms set name = 'Not OK' where id = 'made'`).rejects.toThrow(/check/);
    await expect(sql`update rooms set topic = ${'x'.repeat(251)} where id = 'made'`).rejects.toThrow(/check/);
  });
});
