// Migration 011 (search) on a database that already holds messages: the index is
// built over them, so messages sent before the upgrade are found, and a deleted
// one is not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../functions/adapters/migrate.js';
import type { Sql } from '../../functions/core/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  // An empty database (not the migrated template), so migrations run in steps.
  db = await createTestDatabase({ empty: true });
  sql = db.sql;
});
afterAll(() => db?.close());

describe('migration 011', () => {
  it('indexes the messages already stored, leaving out deleted ones', async () => {
    const all = await loadMigrations();
    expect(all.some((m) => m.version.startsWith('011_'))).toBe(true);
    await migrate(sql, all.filter((m) => m.version < '011'));
    const [ann] = await sql<{ id: string }[]>`
      insert into users (username, display_name, email, email_lower, password_hash, verified_at)
      values ('ann', 'Ann', 'ann@example.com', 'ann@example.com', 'x', now()) returning id`;
    await sql`
      insert into messages (room_id, sender_id, client_id, body, deleted_at)
      select 'general', ${ann!.id}, 'k' || i, case when i = 3 then '' else 'old note ' || i || ' crème brûlée' end,
        case when i = 3 then now() end
      from generate_series(1, 5) i`;

    expect(await migrate(sql, all)).toEqual(all.filter((m) => m.version >= '011').map((m) => m.version));

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
