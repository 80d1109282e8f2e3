// One postgres.js `sql` per process.
import postgres from 'postgres';
import type { Sql } from '../core/ports.js';
import { healingSql } from './healing-sql.js';

export interface DbOptions {
  /** PGlite is one backend: one connection. A real server: a small pool. */
  max?: number;
  /** Lambda behind RDS Proxy: the proxy pools, so each sandbox keeps one connection */
  ssl?: boolean;
  password?: string;
  username?: string;
}

export function createSql(url: string, options: DbOptions = {}): Sql {
  return healingSql((onclose) => openPool(url, options, onclose));
}

function openPool(url: string, options: DbOptions, onclose: () => void): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    ssl: options.ssl ? 'require' : false,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    idle_timeout: 60,
    connect_timeout: 10,
    // After the database drops connections, postgres.js waits before each
    // reconnect; its default grows to 20 s, so requests would stall long after
    // the database is back. Capped at 1 s, a request fails fast (`internal`)
    // while it is away and the next one succeeds soon after it returns.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
    // notices (e.g. "relation already exists, skipping") are not errors
    onnotice: () => {},
    onclose,
  });
}
