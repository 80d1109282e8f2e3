// Migration 017 (profiles, account deletion) on a database that holds people,
// rooms, messages and files: nothing is lost, everyone starts with no status
// and no avatar, and a file can become an avatar afterwards.
import { expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { readMessage } from '../../functions/core/messages.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore } from '../helpers/migrations.js';

const db = emptyDatabase();

it('upgrades a database with people, messages and files; profiles start empty', async () => {
  const sql = db.sql;
  const all = await migrateBefore(sql, '017');
  const ann = await insertUser(sql, 'ann', 'Ann');
  await sql`insert into memberships (room_id, user_id) values ('general', ${ann})`;
  const message = await insertMessageWithSeq(sql, 'general', ann, 'k1', 'before profiles');
  await sql`insert into files (id, room_id, uploader_id, name, content_type, size, uploaded_at)
    values ('AAAAAAAAAAAAAAAAAAAAAA', 'general', ${ann}, 'me.png', 'image/png', 10, now())`;

  await migrate(sql, all);

  expect(await readMessage(sql, message)).toMatchObject({ id: message, text: 'before profiles', from: 'ann' });
  const [user] = await sql`select username, display_name, status_text, avatar_file_id, deleted_at from users where id = ${ann}`;
  expect(user).toEqual({ username: 'ann', display_name: 'Ann', status_text: null, avatar_file_id: null, deleted_at: null });
  expect(await sql`select * from held_names`).toEqual([]);
  // a file becomes the avatar; deleting the file takes it off the profile
  await sql`update users set avatar_file_id = 'AAAAAAAAAAAAAAAAAAAAAA' where id = ${ann}`;
  await sql`delete from files where id = 'AAAAAAAAAAAAAAAAAAAAAA'`;
  expect((await sql`select avatar_file_id from users where id = ${ann}`)[0]).toEqual({ avatar_file_id: null });
});
