// Migration 023 (away presence and Web Push) on a database with people, open
// connections, settings and messages: nothing is lost, open connections count as
// active, nobody's pushes carry text until they say so, and subscriptions are
// kept per person and endpoint and go with their account.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();

describe('migration 023', () => {
  it('upgrades a database with people, connections and messages', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '023');
    const ann = await insertUser(sql, 'ann');
    const ben = await insertUser(sql, 'ben');
    await sql`insert into memberships (room_id, user_id) values ('general', ${ann}), ('general', ${ben})`;
    await sql`insert into connections (id, user_id, authed_at) values ('c-ann', ${ann}, now()), ('c-anon', null, null)`;
    await sql`update users set read_receipts = false where id = ${ben}`;
    const said = await insertMessageWithSeq(sql, 'general', ann, 'k-1', 'hello');
    const before = await sql`select id, body, seq from messages order by id`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '023'));

    expect(await sql`select id, body, seq from messages order by id`).toEqual(before);
    expect(before.map((m) => String(m.id))).toEqual([said]);
    expect(await sql`select id, user_id::text, activity from connections order by id`).toEqual([
      { id: 'c-ann', user_id: ann, activity: 'active' },
      { id: 'c-anon', user_id: null, activity: 'active' },
    ]);
    expect(await sql`select username, read_receipts, push_text from users order by username`).toEqual([
      { username: 'ann', read_receipts: true, push_text: false },
      { username: 'ben', read_receipts: false, push_text: false },
    ]);
    // only the three states
    await expect(sql`update connections set activity = 'asleep' where id = 'c-ann'`).rejects.toMatchObject({ code: '23514' });
    // one row per person and endpoint; the same endpoint may serve two accounts
    const endpoint = 'https://push.example.net/send/abc';
    await sql`insert into push_subscriptions (user_id, endpoint, p256dh, auth) values (${ann}, ${endpoint}, 'k', 'a'), (${ben}, ${endpoint}, 'k', 'a')`;
    await expect(sql`insert into push_subscriptions (user_id, endpoint, p256dh, auth) values (${ann}, ${endpoint}, 'k2', 'a2')`).rejects.toMatchObject({
      code: '23505',
    });
    // a deleted account takes its subscriptions with it
    await sql`delete from users where id = ${ben}`;
    expect(await sql`select user_id::text from push_subscriptions`).toEqual([{ user_id: ann }]);
  });
});
