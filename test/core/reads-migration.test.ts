// Migration 010 (read marks, read receipts) on a database that holds people,
// rooms and messages: members start with everything read, nothing is lost, and
// it runs whether or not migration 009 already added the message columns it
// shares (`deleted_at`, `mentioned_user_ids`, `mentions_here`).
import { describe, expect, it } from 'vitest';
import { migrate, type Migration } from '../../functions/adapters/migrate.js';
import { listUserRooms } from '../../functions/core/rooms.js';
import { emptyDatabase, insertMessageBeforeSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();
const post = (room: string, senderId: string, body: string) => insertMessageBeforeSeq(db.sql, room, senderId, `k-${body}`, body);

describe('migration 010', () => {
  let all: Migration[];
  let ids: { ann: string; ben: string };
  let last: { general: string; dm: string };

  it('upgrades a database with people, rooms and messages: every member starts with everything read', async () => {
    const sql = db.sql;
    all = await migrateBefore(sql, '010');
    ids = { ann: await insertUser(sql, 'ann', 'Ann'), ben: await insertUser(sql, 'ben') };
    await sql`insert into rooms (id, kind) values ('dm:ann:ben', 'dm'), ('quiet', 'channel')`;
    await sql`
      insert into memberships (room_id, user_id)
      values ('general', ${ids.ann}), ('general', ${ids.ben}), ('dm:ann:ben', ${ids.ann}), ('dm:ann:ben', ${ids.ben}), ('quiet', ${ids.ann})`;
    await post('general', ids.ann, 'one');
    last = { general: await post('general', ids.ben, 'two'), dm: await post('dm:ann:ben', ids.ben, 'three') };

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '010'));

    const marks = await sql<{ user_id: string; room_id: string; through: string }[]>`
      select user_id::text, room_id, through::text from read_marks order by room_id, user_id`;
    expect(marks).toEqual([
      { user_id: ids.ann, room_id: 'dm:ann:ben', through: last.dm },
      { user_id: ids.ben, room_id: 'dm:ann:ben', through: last.dm },
      { user_id: ids.ann, room_id: 'general', through: last.general },
      { user_id: ids.ben, room_id: 'general', through: last.general },
    ]); // none in the room without messages
    expect(await sql`select username, read_receipts from users order by username`).toEqual([
      { username: 'ann', read_receipts: true },
      { username: 'ben', read_receipts: true },
    ]);
    expect(await sql`select body, deleted_at, mentioned_user_ids, mentions_here from messages order by id`).toEqual([
      { body: 'one', deleted_at: null, mentioned_user_ids: [], mentions_here: false },
      { body: 'two', deleted_at: null, mentioned_user_ids: [], mentions_here: false },
      { body: 'three', deleted_at: null, mentioned_user_ids: [], mentions_here: false },
    ]);
    const rooms = await listUserRooms(sql, ids.ann, 'ann');
    expect(rooms.map((r) => [r.id, r.readThrough, r.unread, r.mentions, r.seenThrough])).toEqual([
      ['general', last.general, 0, 0, undefined],
      ['quiet', null, 0, 0, undefined],
      ['dm:ann:ben', last.dm, 0, 0, last.dm],
    ]);
  });

  it('runs after migration 009 has added the message columns, keeping what they hold', async () => {
    const sql = db.sql;
    // back to before 010, with the shared columns left in place and in use, as 009 leaves them
    await sql`drop table read_marks`;
    await sql`alter table users drop column read_receipts`;
    await sql`delete from schema_migrations where version like '010%'`; // later migrations stay applied
    await sql`update messages set mentioned_user_ids = array[${ids.ann}::bigint], mentions_here = true where id = ${last.general}`;
    await sql`update messages set deleted_at = now(), body = '' where id = ${last.dm}`;

    expect(await migrate(sql, all)).toEqual(all.filter((m) => m.version.startsWith('010_')).map((m) => m.version));

    const [named] = await sql`select mentioned_user_ids, mentions_here from messages where id = ${last.general}`;
    expect(named).toEqual({ mentioned_user_ids: [ids.ann], mentions_here: true });
    const [gone] = await sql<{ deleted: boolean }[]>`select deleted_at is not null as deleted from messages where id = ${last.dm}`;
    expect(gone!.deleted).toBe(true);
    expect(await sql`select 1 from read_marks`).toHaveLength(4);
  });
});
