// Suspensions (docs/PROTOCOL.md, E22): an administrator suspends an account for a
// time or for good. At once its connections are signed out and closed (each told
// why first), and until it ends every login, verify and resume is refused with a
// sentence saying until when. Lifting it deletes the row; an ended suspension is
// just ignored. The statements here take `sql` and a clock only, so the admin CLI
// (cli/admin.ts) runs them against the database directly.
import { Suspended } from './errors.js';
import type { Broadcast } from './outcome.js';
import type { Clock, Queryable, Sql } from './ports.js';
import { type PresenceRules, onlinePresence } from './presence.js';

/** What the admin CLI and the protocol actions both need: the database and the time. */
export interface Db {
  sql: Sql;
  clock: Clock;
  /** the v1 presence line (E23); the admin CLI goes without, and the default applies */
  settings?: PresenceRules;
}

/** The longest suspension with an end: ten years (longer is "for good"). */
export const MAX_SUSPENSION_SECONDS = 10 * 365 * 24 * 60 * 60;

/** "until 8 Dec 2026, 14:05 UTC" */
export function describeUntil(until: Date | null | undefined): string {
  if (!until) return 'for good';
  const day = until.toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
  const time = until.toLocaleTimeString('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit' });
  return `until ${day}, ${time} UTC`;
}

/** The refusal a suspended account's login or resume gets. */
export function suspendedError(until: Date | null): Suspended {
  return new Suspended(
    until
      ? `This account is suspended ${describeUntil(until)} by the server's administrators.`
      : "This account is suspended for good by the server's administrators.",
    until ?? undefined,
  );
}

/**
 * Inside a sign-in's transaction: locks the account's row (FOR NO KEY UPDATE,
 * the lock a suspension takes too, so the two take turns) and reads, in the same
 * statement, the suspension in force at `now`: its end (null: for good), or
 * undefined when there is none.
 */
export async function lockUnlessSuspended(tx: Queryable, userId: string, now: Date): Promise<Date | null | undefined> {
  const [row] = await tx<{ suspended: boolean; until: Date | null }[]>`
    select s.user_id is not null as suspended, s.until
    from users u left join lateral (
      select user_id, until from suspensions where user_id = u.id and (until is null or until > ${now})
    ) s on true
    where u.id = ${userId}
    for no key update of u`;
  return row?.suspended ? row.until : undefined;
}

export interface SuspendResult {
  user: string;
  until: Date | null;
  /** the account's connections, signed out: the caller closes them */
  closed: string[];
  /** the frames to send before closing: the account's own `suspended` event, roommates' presence */
  broadcasts: Broadcast[];
}

/**
 * Suspends `username` until `until` (null: for good), replacing any suspension,
 * and signs out its connections in the same transaction. The user's row lock is
 * the one a bind takes (accounts.ts bindConnection), so a login racing this one
 * either binds first (and is signed out here) or waits and finds the suspension.
 * Undefined when there is no such account.
 */
export async function suspendAccount(db: Db, username: string, until: Date | null, by: string): Promise<SuspendResult | undefined> {
  const { sql } = db;
  const found = await sql.begin(async (tx) => {
    const [user] = await tx<{ id: string; username: string }[]>`
      select id, username from users where username = ${username.toLowerCase()} for no key update`;
    if (!user) return undefined;
    await tx`
      insert into suspensions (user_id, until, created_by, created_at) values (${user.id}, ${until}, ${by}, ${db.clock.now()})
      on conflict (user_id) do update set until = excluded.until, created_by = excluded.created_by, created_at = excluded.created_at`;
    const closed = await tx<{ id: string }[]>`
      update connections set user_id = null, session_id = null, authed_at = null where user_id = ${user.id} returning id`;
    return { user, closed: closed.map((c) => c.id) };
  });
  if (!found) return undefined;
  const { user, closed } = found;
  const error = suspendedError(until);
  const broadcasts: Broadcast[] = [];
  if (closed.length) {
    broadcasts.push({ to: closed, frame: { type: 'suspended', until: until?.toISOString() ?? null, message: error.message } });
    broadcasts.push(...(await onlinePresence(sql, db.settings, user.id, user.username, false)));
  }
  return { user: user.username, until, closed, broadcasts };
}

/** Lifts the account's suspension. False when there is no such account or it was not suspended. */
export async function liftSuspension(db: Db, username: string): Promise<boolean> {
  const rows = await db.sql`
    delete from suspensions s using users u where s.user_id = u.id and u.username = ${username.toLowerCase()} returning s.user_id`;
  return rows.length > 0;
}

/** "7d", "12h", "30m", "3600s", "forever": a suspension's length in seconds, null for good; undefined when unreadable. */
export function parseDuration(text: string): number | null | undefined {
  if (/^(forever|for-good|permanent)$/i.test(text)) return null;
  const m = /^(\d{1,6})\s*([smhdw])$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 }[m[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
  const seconds = Number(m[1]) * unit;
  return seconds >= 60 && seconds <= MAX_SUSPENSION_SECONDS ? seconds : undefined;
}
