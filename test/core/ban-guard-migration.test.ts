// Migration 020 (the ban guard) on a database that holds people, channels, a
// direct conversation, memberships and bans: nothing else is lost, a person the
// race left banned and a member is a member no more, and from then on a banned
// person's channel membership is refused and a ban ends a membership, while
// direct conversations are untouched.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { BANNED_SQLSTATE } from '../../functions/core/channel-entry.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();

describe('migration 020', () => {
  it('upgrades a database with members and bans, and guards memberships from then on', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '020');
    const ann = await insertUser(sql, 'ann');
    const ben = await insertUser(sql, 'ben');
    const cat = await insertUser(sql, 'cat');
    await sql`insert into rooms (id, kind, owner_id) values ('den', 'channel', ${ann}), ('dm:ann:ben', 'dm', null)`;
    await sql`insert into memberships (room_id, user_id) values ('general', ${ann}), ('general', ${ben}), ('general', ${cat}),
      ('den', ${ann}), ('den', ${ben}), ('den', ${cat}), ('dm:ann:ben', ${ann}), ('dm:ann:ben', ${ben})`;
    // ben banned and still a member, as the race left people; cat a member, not banned
    await sql`insert into room_bans (room_id, user_id, banned_by) values ('den', ${ben}, ${ann})`;
    const said = await insertMessageWithSeq(sql, 'den', ann, 'k-1', 'hello');
    const before = await sql`select id, body, seq from messages order by id`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '020'));

    expect(await sql`select id, body, seq from messages order by id`).toEqual(before);
    expect(before.map((m) => String(m.id))).toEqual([said]);
    const members = async (room: string) =>
      (await sql<{ username: string }[]>`select u.username from memberships m join users u on u.id = m.user_id where m.room_id = ${room} order by 1`).map((r) => r.username);
    expect(await members('general')).toEqual(['ann', 'ben', 'cat']);
    expect(await members('den')).toEqual(['ann', 'cat']);
    expect(await members('dm:ann:ben')).toEqual(['ann', 'ben']);
    expect(await sql`select room_id, user_id::text from room_bans`).toEqual([{ room_id: 'den', user_id: ben }]);

    // a banned person's membership is refused with the guard's SQLSTATE
    await expect(sql`insert into memberships (room_id, user_id) values ('den', ${ben})`).rejects.toMatchObject({ code: BANNED_SQLSTATE });
    await expect(sql`insert into memberships (room_id, user_id) values ('den', ${ben}) on conflict do nothing`).rejects.toMatchObject({
      code: BANNED_SQLSTATE,
    });
    // a ban ends the membership it finds
    await sql`insert into room_bans (room_id, user_id, banned_by) values ('den', ${cat}, ${ann})`;
    expect(await members('den')).toEqual(['ann']);
    // an unban lets them in again
    await sql`delete from room_bans where room_id = 'den' and user_id = ${ben}`;
    await sql`insert into memberships (room_id, user_id) values ('den', ${ben})`;
    expect(await members('den')).toEqual(['ann', 'ben']);
    // direct conversations are not channels: no guard there
    await sql`delete from memberships where room_id = 'dm:ann:ben' and user_id = ${ben}`;
    await sql`insert into memberships (room_id, user_id) values ('dm:ann:ben', ${ben})`;
    expect(await members('dm:ann:ben')).toEqual(['ann', 'ben']);
  });
});
