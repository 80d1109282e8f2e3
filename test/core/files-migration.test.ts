// Migration 013 (files) on a database that holds people, rooms and messages:
// nothing is lost, every message reads with no files, and a file attached
// afterwards shows in the message as MESSAGE's `files`.
import { expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { readMessage } from '../../functions/core/messages.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore } from '../helpers/migrations.js';

const db = emptyDatabase();

it('upgrades a database with messages; their state reads the same, and files attach to them', async () => {
  const sql = db.sql;
  const all = await migrateBefore(sql, '013');
  const ann = await insertUser(sql, 'ann', 'Ann');
  await sql`insert into memberships (room_id, user_id) values ('general', ${ann})`;
  const message = await insertMessageWithSeq(sql, 'general', ann, 'k1', 'before files');

  await migrate(sql, all);
  const read = await readMessage(sql, message);
  expect(read).toMatchObject({ id: message, text: 'before files', from: 'ann' });
  expect(read).not.toHaveProperty('files');

  await sql`insert into files (id, room_id, uploader_id, name, content_type, size, uploaded_at, attached_at, message_id, position)
    values ('AAAAAAAAAAAAAAAAAAAAAA', 'general', ${ann}, 'a.pdf', 'application/pdf', 10, now(), now(), ${message}, 1)`;
  expect((await readMessage(sql, message))!.files).toEqual([{ id: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'a.pdf', type: 'application/pdf', size: 10 }]);
  // the message row going takes the file off it, for the sweep to delete
  await sql`delete from messages where id = ${message}`;
  expect(await sql`select message_id from files`).toEqual([{ message_id: null }]);
});
