// Migration 011 (search) on a database that already holds messages: the index is
// built over them, so messages sent before the upgrade are found, and a deleted
// one is not.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { emptyDatabase, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();

describe('migration 011', () => {
  it('indexes the messages already stored, leaving out deleted ones', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '011');
    const ann = await insertUser(sql, 'ann', 'Ann');
    await sql`
      insert into messages (room_id, sender_id, client_id, body, deleted_at)
      select 'general', ${ann}, 'k' || i, case when i = 3 then '' else 'old note ' || i || ' crème brûlée' end,
        case when i = 3 then now() end
      from generate_series(1, 5) i`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '011'));

    const found = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      const plan = await tx`
        explain select id from messages m
        where m.deleted_at is null and search_document(m.body) @@ phraseto_tsquery('simple', search_fold('creme brulee'))`;
      const rows = await tx<{ client_id: string }[]>`
        select client_id from messages m
        where m.deleted_at is null and search_document(m.body) @@ phraseto_tsquery('simple', search_fold('Crème BRÛLÉE'))
        order by id`;
      return { plan: JSON.stringify(plan), ids: rows.map((r) => r.client_id) };
    });
    expect(found.plan).toContain('messages_search');
    expect(found.ids).toEqual(['k1', 'k2', 'k4', 'k5']);
    // the schema of every message is unchanged: no column was added
    const columns = await sql`select column_name from information_schema.columns where table_name = 'messages' and column_name like '%search%'`;
    expect(columns).toEqual([]);
  });
});
