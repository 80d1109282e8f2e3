// A postgres.js `sql` that replaces its pool after a connection failure.
//
// Why: in postgres.js 3.4.9, a query given to a connection whose socket was reset
// (between the reset and the close event, or on a connection that failed a query
// before) is neither sent nor failed: closing with an error rejects nothing, and
// the request hangs for good, even after the database is back.
// test/delivery/database-outage.test.ts reproduces it. A fresh pool has no such
// state, and pools open connections lazily. So on any close, or a query failing
// for a reason other than a server error, the pool is replaced at once; the old
// one is ended with a short grace, which lets healthy queries finish and fails
// the stranded ones (CONNECTION_DESTROYED, an `internal` error to the client).
//
// Transactions: postgres.js 3.4.9's sql.begin sends BEGIN on a busy connection,
// and reserves that connection only if the write went out whole and the
// connection's pipeline was not full (porsager/postgres issues 823 and 1189).
// Under load it is not: the caller gets UNSAFE_TRANSACTION (which, not being a
// server error, also replaced the pool, failing every query in flight), and
// other queries can run inside the open transaction. So `begin` here first
// reserves an idle connection (`reserve`: nothing else is in flight on it), then
// sends BEGIN, runs the callback, COMMIT or ROLLBACK, and gives it back
// (test/adapters/healing-sql-transactions.test.ts).
//
// An outage (a query failing because the database cannot be reached, until a
// query succeeds again) is logged once as the security event
// `database_unavailable`, however many requests fail in it.
import postgres from 'postgres';
import { securityEvent } from '../core/audit.js';
import type { Logger, Sql } from '../core/ports.js';

/** Errors from the server (SQLSTATE) leave the connection sound; anything else may not. */
function isConnectionFailure(err: unknown): boolean {
  return !(err instanceof postgres.PostgresError);
}

/**
 * Errors that say the database cannot be reached: the system's (ECONNREFUSED,
 * ECONNRESET, ETIMEDOUT…) and postgres.js's (CONNECTION_CLOSED, CONNECT_TIMEOUT…),
 * not Node's programming errors (ERR_…).
 */
function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(E(?!RR_)[A-Z]+|CONNECT(ION)?_[A-Z_]+)$/.test(code) && !(err instanceof postgres.PostgresError);
}

const GRACE_SECONDS = 2;

export interface HealingOptions {
  log?: Logger;
}

export function healingSql(open: (onclose: () => void) => Sql, options: HealingOptions = {}): Sql {
  const { log } = options;
  /** when the current outage began (undefined: the database answers) */
  let downSince: number | undefined;
  const unreachable = (err: unknown) => {
    if (downSince !== undefined || !isUnreachable(err)) return;
    downSince = Date.now();
    if (log) securityEvent(log, 'database_unavailable', { error: (err as { code: string }).code });
  };
  const reachable = () => {
    if (downSince === undefined) return;
    log?.info('database reachable again', { downSeconds: Math.round((Date.now() - downSince) / 1000) });
    downSince = undefined;
  };
  let stale = false;
  /** end() was called: the closes that follow are the ending, not a failure, and no pool is opened again */
  let ended = false;
  const markStale = () => {
    if (stale || ended) return;
    stale = true;
    // Not inside postgres.js's own close handling: on the next turn.
    setTimeout(live, 0).unref();
  };
  const openCurrent = (): Sql => {
    const pool: Sql = open(() => {
      // Closes of a pool already replaced (its ending) change nothing.
      if (pool === current) markStale();
    });
    return pool;
  };
  let current: Sql = openCurrent();
  const live = (): Sql => {
    if (stale) {
      stale = false;
      const old = current;
      current = openCurrent();
      void old.end({ timeout: GRACE_SECONDS }).catch(() => {});
    }
    return current;
  };
  const watch = (pool: Sql) => (err: unknown) => {
    if (pool !== current) return; // a replaced pool's stranded queries are no news
    unreachable(err);
    if (isConnectionFailure(err)) markStale();
  };
  const target = function () {} as unknown as Sql;
  return new Proxy(target, {
    apply: (_t, _this, args: unknown[]) => {
      const pool = live();
      const query = (pool as unknown as (...a: unknown[]) => { reject?: (e: unknown) => void; resolve?: (v: unknown) => void })(...args);
      // A query settles through these hooks before any caller sees the result.
      const { reject, resolve } = query ?? {};
      if (typeof reject === 'function') {
        const noticed = watch(pool);
        query.reject = (err: unknown) => (noticed(err), reject(err));
      }
      if (typeof resolve === 'function') {
        query.resolve = (value: unknown) => (downSince !== undefined && reachable(), resolve(value));
      }
      return query;
    },
    get: (_t, prop) => {
      // end() ends the pool in use, not a fresh one, and for good: a pool opened
      // after it would connect to a database that may be gone by then.
      if (prop === 'end') {
        return (...args: unknown[]) => {
          ended = true;
          stale = false;
          return (current as unknown as { end: (...a: unknown[]) => Promise<void> }).end(...args);
        };
      }
      const pool = live();
      const value = (pool as unknown as Record<PropertyKey, unknown>)[prop];
      if (typeof value !== 'function') return value;
      if (prop === 'begin' || prop === 'reserve') {
        const noticed = watch(pool);
        const run = prop === 'begin' ? (...args: unknown[]) => transaction(pool, args) : (value as (...a: unknown[]) => Promise<unknown>).bind(pool);
        return (...args: unknown[]) =>
          run(...args).then(
            (result) => (reachable(), result),
            (err: unknown) => {
              noticed(err);
              throw err;
            },
          );
      }
      return value.bind(pool);
    },
  });
}

type Reserved = Sql & { release(): void };

/**
 * `sql.begin([mode,] fn)` on a connection reserved first. As postgres.js's own:
 * `fn` may return an array of queries (run together), and a throw rolls back
 * and rethrows. A connection whose ROLLBACK failed is broken: the failure has
 * replaced the pool, and the connection goes back only to be closed with it.
 */
async function transaction(pool: Sql, args: unknown[]): Promise<unknown> {
  const fn = args[args.length - 1] as (tx: Sql) => unknown;
  const mode = args.length > 1 ? String(args[0]).replace(/[^a-z ]/gi, '') : '';
  const tx = (await (pool as unknown as { reserve(): Promise<Reserved> }).reserve()) as Reserved;
  try {
    await tx.unsafe(`begin ${mode}`);
    try {
      const out = fn(tx);
      const result = await (Array.isArray(out) ? Promise.all(out) : out);
      await tx.unsafe('commit');
      return result;
    } catch (err) {
      await tx.unsafe('rollback').catch(() => {});
      throw err;
    }
  } finally {
    tx.release();
  }
}
