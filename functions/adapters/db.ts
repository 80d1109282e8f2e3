// One postgres.js `sql` per process, for every hosting: the local server, tests
// and Lambda behind RDS Proxy share these settings.
import postgres from 'postgres';
import type { Logger, Sql } from '../core/ports.js';
import { healingSql } from './healing-sql.js';

export interface DbOptions {
  /** PGlite is one backend: one connection. A real server: a small pool. Lambda: one. */
  max?: number;
  /** where no URL is given (Lambda: the proxy endpoint and the secret's credentials) */
  host?: string;
  port?: number;
  database?: string;
  username?: string;
  password?: string;
  ssl?: false | 'require' | 'verify-full';
  /**
   * false: unnamed statements only. postgres.js names and caches prepared
   * statements by default, and a named Parse pins the client's session to one
   * database connection in RDS Proxy, which would defeat its multiplexing.
   */
  prepare?: boolean;
  /** recycle connections this old (a thawed Lambda sandbox's socket may be long dead) */
  maxLifetimeSeconds?: number;
  /** a Unix socket to connect through instead of host and port (the embedded database) */
  path?: string;
  /** where a database outage is reported, once per outage (healing-sql.ts) */
  log?: Logger;
  /** run-time parameters for every connection (PostgreSQL settings such as `plan_cache_mode`) */
  connection?: Record<string, string>;
}

export function createSql(url: string | undefined, options: DbOptions = {}): Sql {
  const { max = 10, maxLifetimeSeconds, log, ...connection } = options;
  // Only what is set: an undefined key would hide postgres.js's own default.
  const given = Object.fromEntries(Object.entries(connection).filter(([, v]) => v !== undefined));
  // A new pool after a connection failure: see healing-sql.ts.
  return healingSql(
    (onclose) =>
      postgres(url as string, {
        ...given,
        max,
        idle_timeout: 60,
        ...(maxLifetimeSeconds ? { max_lifetime: maxLifetimeSeconds } : {}),
        connect_timeout: 10,
        // After the database drops connections, postgres.js waits before each
        // reconnect; its default grows to 20 s, so requests would stall long after
        // the database is back. Capped at 1 s, a request fails fast (`internal`)
        // while it is away and the next one succeeds soon after it returns.
        backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
        // notices (e.g. "relation already exists, skipping") are not errors
        onnotice: () => {},
        onclose,
      }),
    { log },
  );
}
