// Migration 013 (files) on a database that holds people, rooms and messages:
// nothing is lost, every message reads with no files, and a file attached
// afterwards shows in the message as MESSAGE's `files`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../functions/adapters/migrate.js';
import { readMessage } from '../../functions/core/messages.js';
import type { Sql } from '../../functions/core/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  db = await createTestDatabase({ empty: true });
  sql = db.sql;
});
afterAll(() => db?.close());

it('upgrades a database with messages; their state reads the same, and files attach to them', async () => {
  const all = await loadMigrations();
  expect(all.some((m) => m.version.startsWith('013_'))).toBe(true);
  await migrate(sql, all.filter((m) => m.version < '013'));
  const [ann] = await sql<{ id: string }[]>`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values ('ann', 'Ann', 'ann@example.com', 'ann@example.com', 'x', now()) returning id`;
  await sql`insert into memberships (room_id, user_id) values ('general', ${ann!.id})`;
  const [message] = await sql<{ id: string }[]>`
    with bump as (update rooms set last_message_id = nextval('message_ids') where id = 'general' returning last_message_id as id)
    insert into messages (id, room_id, sender_id, client_id, body) select id, 'general', ${ann!.id}, 'k1', 'before files' from bump
    returning id::text`;

  await migrate(sql, all);
  const read = await readMessage(sql, message!.id);
  expect(read).toMatchObject({ id: message!.id, text: 'before files', from: 'ann' });
  expect(read).not.toHaveProperty('files');

  await sql`insert into files (id, room_id, uploader_id, name, content_type, size, uploaded_at, attached_at, message_id, position)
    values ('AAAAAAAAAAAAAAAAAAAAAA', 'general', ${ann!.id}, 'a.pdf', 'application/pdf', 10, now(), now(), ${message!.id}, 1)`;
  expect((await readMessage(sql, message!.id))!.files).toEqual([{ id: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'a.pdf', type: 'application/pdf', size: 10 }]);
  // the message row going takes the file off it, for the sweep to delete
  await sql`delete from messages where id = ${message!.id}`;
  expect(await sql`select message_id from files`).toEqual([{ message_id: null }]);
});
