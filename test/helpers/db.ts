// A fresh, migrated database for one test file: a new database on the real server
// when TEST_DATABASE_URL is set (CI), otherwise an in-process PGlite.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createSql } from '../../functions/adapters/db.js';
import { migrate } from '../../functions/adapters/migrate.js';
import type { Sql } from '../../functions/core/ports.js';
import { startEmbeddedPostgres } from '../../server/embedded-db.js';
import { loadTemplate } from './pglite-template.js';

export interface TestDatabase {
  sql: Sql;
  url: string;
  /** true on the real PostgreSQL server */
  real: boolean;
  close(): Promise<void>;
}

/** `empty`: no migrations run (not the migrated template), for tests that migrate in steps. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL;
  if (base) {
    const name = `ww_test_${randomBytes(6).toString('hex')}`;
    const admin = postgres(base, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    const sql = createSql(url.toString(), { max: 5 });
    if (!options.empty) await migrate(sql);
    return {
      sql,
      url: url.toString(),
      real: true,
      async close() {
        await sql.end({ timeout: 1 });
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      },
    };
  }
  // On TCP (tests only), as `url` is also handed to proxies and other clients.
  const pg = await startEmbeddedPostgres({ ...(options.empty ? {} : { loadDataDir: await loadTemplate() }), tcp: true });
  const sql = createSql(pg.url, { max: 1 });
  return {
    sql,
    url: pg.url,
    real: false,
    async close() {
      await sql.end({ timeout: 1 });
      await pg.stop();
    },
  };
}
