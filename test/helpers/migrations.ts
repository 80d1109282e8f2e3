// What every migration test shares: an empty database (not the migrated template),
// so migrations run in steps, brought up to just before the migration under test,
// and rows written as the older schema stored them.
import { afterAll, beforeAll } from 'vitest';
import { loadMigrations, migrate, type Migration } from '../../functions/adapters/migrate.js';
import type { Sql } from '../../functions/core/ports.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/** An empty database for the file's (or describe block's) tests, closed after them. */
export function emptyDatabase(timeout?: number): { readonly sql: Sql } {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase({ empty: true });
  }, timeout);
  afterAll(() => db?.close());
  return {
    get sql(): Sql {
      if (!db) throw new Error('the empty database is not ready yet');
      return db.sql;
    },
  };
}

/**
 * Applies every migration numbered below `version` (e.g. '012') and returns all of
 * them, for the test to apply the rest; throws if no migration has that number.
 */
export async function migrateBefore(sql: Sql, version: string): Promise<Migration[]> {
  const all = await loadMigrations();
  if (!all.some((m) => m.version.startsWith(`${version}_`))) throw new Error(`no migration ${version}`);
  await migrate(sql, all.filter((m) => m.version < version));
  return all;
}

/** The versions from `version` on, the ones a full migrate applies after migrateBefore. */
export function versionsFrom(all: Migration[], version: string): string[] {
  return all.filter((m) => m.version >= version).map((m) => m.version);
}

/** A verified person as every schema so far stores one; returns the id. */
export async function insertUser(sql: Sql, username: string, displayName = username): Promise<string> {
  const email = `${username}@example.com`;
  const [row] = await sql<{ id: string }[]>`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values (${username}, ${displayName}, ${email}, ${email}, 'x', now()) returning id::text`;
  return row!.id;
}

/** A message stored as the send statement stored it before 009: the id from the room's counter. */
export async function insertMessageBeforeSeq(sql: Sql, room: string, senderId: string, clientId: string, body: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    with bump as (
      update rooms set prev_message_id = last_message_id, last_message_id = nextval('message_ids') where id = ${room}
      returning last_message_id as id
    )
    insert into messages (id, room_id, sender_id, client_id, body)
    select id, ${room}, ${senderId}, ${clientId}, ${body} from bump returning id::text`;
  return row!.id;
}

/** A message stored as the send statement stored it from 009 to 012: the room's counters give the id and the seq. */
export async function insertMessageWithSeq(sql: Sql, room: string, senderId: string, clientId: string, body: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    with bump as (
      update rooms set prev_message_id = last_message_id, last_message_id = nextval('message_ids'),
        prev_seq = last_seq, last_seq = nextval('message_seqs')
      where id = ${room}
      returning last_message_id as id, last_seq as seq
    )
    insert into messages (id, room_id, sender_id, client_id, body, seq)
    select id, ${room}, ${senderId}, ${clientId}, ${body}, seq from bump returning id::text`;
  return row!.id;
}
