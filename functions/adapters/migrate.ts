// Applies schema/NNN_name.sql in order, each exactly once. One transaction under
// an advisory lock, so two processes starting together do not race: the second
// waits, then finds nothing left to do.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sql } from '../core/ports.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));
const LOCK_KEY = 727_274_001; // any constant shared by every process of this app

export interface Migration {
  version: string;
  sql: string;
}

export async function loadMigrations(dir = SCHEMA_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Promise.all(files.map(async (f) => ({ version: f.replace(/\.sql$/, ''), sql: await readFile(`${dir}/${f}`, 'utf8') })));
}

/** Returns the versions it applied. */
export async function migrate(sql: Sql, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())`;
    const done = new Set((await tx<{ version: string }[]>`select version from schema_migrations`).map((r) => r.version));
    const applied: string[] = [];
    for (const m of all) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql); // DDL from our own files, never from input
      await tx`insert into schema_migrations (version) values (${m.version})`;
      applied.push(m.version);
    }
    return applied;
  });
}
