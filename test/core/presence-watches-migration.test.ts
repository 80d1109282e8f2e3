// Migration 021 (presence subscriptions, E23) on a database that holds people,
// rooms, memberships and open connections: nothing is lost, every connection
// that was open is an old client (not opted in, so it keeps v1 presence), and
// watches go with their connection and with the watched account.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();

describe('migration 021', () => {
  it('upgrades a database with connections in it; watches cascade with connections and accounts', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '021');
    const ann = await insertUser(sql, 'ann');
    const ben = await insertUser(sql, 'ben');
    const cat = await insertUser(sql, 'cat');
    await sql`insert into memberships (room_id, user_id) values ('general', ${ann}), ('general', ${ben}), ('general', ${cat})`;
    await sql`insert into connections (id, user_id, authed_at) values ('c-ann', ${ann}, now()), ('c-ben', ${ben}, now()), ('c-anon', null, null)`;
    const said = await insertMessageWithSeq(sql, 'general', ann, 'k-1', 'hello');
    const before = await sql`select id, user_id::text, authed_at from connections order by id`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '021'));

    expect(await sql`select id, user_id::text, authed_at from connections order by id`).toEqual(before);
    expect((await sql`select id::text from messages`).map((m) => m.id)).toEqual([said]);
    // Everyone connected before the upgrade is an old client until it sends `watch`.
    expect((await sql`select id, watches from connections order by id`).map((r) => [r.id, r.watches])).toEqual([
      ['c-ann', false],
      ['c-anon', false],
      ['c-ben', false],
    ]);

    await sql`update connections set watches = true where id = 'c-ann'`;
    await sql`insert into presence_watches (connection_id, user_id) values ('c-ann', ${ben}), ('c-ann', ${cat}), ('c-ben', ${cat})`;
    // one row per (connection, person)
    await expect(sql`insert into presence_watches (connection_id, user_id) values ('c-ann', ${ben})`).rejects.toMatchObject({ code: '23505' });
    // a watch of an account that does not exist cannot be stored
    await expect(sql`insert into presence_watches (connection_id, user_id) values ('c-ann', 999999)`).rejects.toMatchObject({ code: '23503' });

    const watches = async () => (await sql`select connection_id, user_id::text from presence_watches order by 1, 2`).map((r) => `${r.connection_id}>${r.user_id}`);
    await sql`delete from users where id = ${cat}`;
    expect(await watches()).toEqual([`c-ann>${ben}`]);
    await sql`delete from connections where id = 'c-ann'`;
    expect(await watches()).toEqual([]);
  });
});
