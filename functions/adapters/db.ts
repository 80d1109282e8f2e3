// One postgres.js `sql` per process.
import postgres from 'postgres';
import type { Sql } from '../core/ports.js';

export interface DbOptions {
  /** PGlite is one backend: one connection. A real server: a small pool. */
  max?: number;
  /** Lambda behind RDS Proxy: the proxy pools, so each sandbox keeps one connection */
  ssl?: boolean;
  password?: string;
  username?: string;
}

export function createSql(url: string, options: DbOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    ssl: options.ssl ? 'require' : false,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    idle_timeout: 60,
    connect_timeout: 10,
    // notices (e.g. "relation already exists, skipping") are not errors
    onnotice: () => {},
  });
}
