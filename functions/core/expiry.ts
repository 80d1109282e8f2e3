// Disappearing messages as every read sees them: a message past its expires_at
// is gone, whether or not the sweep (disappearing.ts) has deleted its row yet.
// Every path that returns a message, counts one or quotes one filters with
// notExpired, so no reader ever gets an expired message.
import type { Fragment } from 'postgres';
import type { Queryable } from './ports.js';

/**
 * SQL: the messages row in scope as `alias` has not expired. The database's
 * clock decides (statement time), the same clock the sweep deletes by, so a
 * message no read returns is one the sweep will delete.
 */
export function notExpired(sql: Queryable, alias: string): Fragment {
  const expiresAt = sql(`${alias}.expires_at`);
  return sql`(${expiresAt} is null or ${expiresAt} > statement_timestamp())`;
}
