// Sessions and devices (extension E18): every session remembers the device it was
// started on, the address it came from and when it was last used; its owner lists
// them and ends one, or all but the current one. Ending a session revokes it (its
// token no longer resumes) and signs out and closes its open sockets at once.
import * as v from 'valibot';
import { securityEvent } from './audit.js';
import { BadRequest, NotFound } from './errors.js';
import type { Caller } from './identity.js';
import { requireCallerWithin } from './limits.js';
import type { Broadcast, Outcome } from './outcome.js';
import { commitWithoutFlush } from './budgets.js';
import type { Deps, Queryable, Sql } from './ports.js';
import { countUserConnections, onlinePresence } from './presence.js';
import { requestId } from './protocol.js';

/** A session's `lastUsedAt` moves at most this often (besides logins and resumes). */
export const TOUCH_INTERVAL_SECONDS = 5 * 60;

/** Sessions listed at most: the newest by last use. */
export const MAX_LISTED_SESSIONS = 50;

/**
 * At a login, verify or resume (inside the binding transaction), one statement:
 * signs the connection in to `sessionId`, only while that session is live (under
 * a share lock on its row, so a logout either revokes first and this finds
 * nothing, or waits for this to commit); and the session is used now, from the
 * connection's address, and learns its device and first address if it has none
 * yet (the connection's, read at connect). False: the session has ended.
 */
export async function bindToSession(tx: Queryable, connectionId: string, userId: string, sessionId: string, now: Date): Promise<boolean> {
  const [row] = await tx<{ bound: boolean }[]>`
    with bound as (
      update connections set user_id = ${userId}, session_id = ${sessionId}, authed_at = ${now}
      where id = ${connectionId}
        and exists (select 1 from sessions where id = ${sessionId} and revoked_at is null for share)
      returning source_ip, device
    ), touched as (
      update sessions s set
        last_used_at = ${now},
        last_ip = b.source_ip,
        device = coalesce(s.device, b.device),
        created_ip = coalesce(s.created_ip, b.source_ip)
      from bound b
      where s.id = ${sessionId}
    )
    -- the binding transaction writes only connection state and the bucket of
    -- sign-ins: it commits without a flush (commitWithoutFlush)
    select exists (select 1 from bound) as bound, ${commitWithoutFlush(tx)} as commit_mode`;
  return row?.bound ?? false;
}

/**
 * At most every TOUCH_INTERVAL_SECONDS, never per message: the session of a
 * connection that is in use. One statement that writes only when it is due.
 */
export async function touchSession(sql: Sql, caller: Caller, now: Date): Promise<void> {
  if (!caller.sessionId) return;
  await sql`
    update sessions set last_used_at = ${now}
    where id = ${caller.sessionId} and last_used_at < ${new Date(now.getTime() - TOUCH_INTERVAL_SECONDS * 1000)}`;
}

/** One SESSION as `sessions` lists it. */
export interface SessionInfo {
  id: string;
  device: string;
  /** the address the session was started from, as the server saw it */
  ip: string | null;
  /** the address it was last used from */
  lastIp: string | null;
  createdAt: string;
  lastUsedAt: string;
  /** the session of the connection that asked */
  current?: true;
}

export const SessionsFrame = v.object({ action: v.literal('sessions'), id: requestId });
export type SessionsFrame = v.InferOutput<typeof SessionsFrame>;

export const RevokeSessionFrame = v.pipe(
  v.object({
    action: v.literal('revoke_session'),
    id: requestId,
    session: v.optional(v.pipe(v.string('session must be a session id string'), v.regex(/^[1-9][0-9]{0,17}$/, 'session must be a session id'))),
    others: v.optional(v.literal(true, 'others must be true')),
  }),
  v.check((f) => (f.session === undefined) !== (f.others === undefined), 'Give either session (one session id) or others: true.'),
);
export type RevokeSessionFrame = v.InferOutput<typeof RevokeSessionFrame>;

/** `sessions` *(E18)*: my live sessions, the current one marked. */
export async function listSessions(deps: Deps, connectionId: string, _frame: SessionsFrame): Promise<Outcome> {
  const { sql, clock } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'sessions');
  const now = clock.now();
  await touchSession(sql, caller, now);
  const rows = await sql<
    { id: string; device: string | null; created_ip: string | null; last_ip: string | null; created_at: Date; last_used_at: Date }[]
  >`
    select id::text, device, created_ip, last_ip, created_at, last_used_at
    from sessions
    where user_id = ${caller.userId} and revoked_at is null and expires_at > ${now}
    order by (id = ${caller.sessionId ?? '0'}) desc, last_used_at desc, id desc
    limit ${MAX_LISTED_SESSIONS}`;
  const sessions: SessionInfo[] = rows.map((r) => ({
    id: r.id,
    device: r.device ?? 'Unknown device',
    ip: r.created_ip,
    lastIp: r.last_ip,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: r.last_used_at.toISOString(),
    ...(r.id === caller.sessionId ? { current: true as const } : {}),
  }));
  return { reply: { type: 'sessions', sessions } };
}

/** `revoke_session` *(E18)*: ends one of my sessions, or every one but the current. */
export async function revokeSession(deps: Deps, connectionId: string, frame: RevokeSessionFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'sessions');
  if (frame.session !== undefined && frame.session === caller.sessionId) {
    throw new BadRequest('That is this session; to end it, log out.');
  }
  const ended = await endSessions(deps, caller.userId, caller.username, {
    only: frame.session,
    keep: caller.sessionId ?? undefined,
  });
  if (frame.session !== undefined && ended.sessions === 0) throw new NotFound('You have no such session; it may have ended already.');
  securityEvent(deps.log, 'sessions_revoked', { user: caller.username, sessions: ended.sessions, connection: connectionId });
  return {
    reply: { type: 'sessions_revoked', sessions: ended.sessions, connections: ended.close.length },
    broadcasts: ended.broadcasts,
    close: ended.close,
  };
}

/**
 * Revokes a user's live sessions (`only` one of them, or every one but `keep`),
 * then, in the NEXT statement, signs out every socket bound to a revoked session
 * (or, with `everySocket`, every socket of the user): as logout does, that
 * statement's fresh snapshot sees every bind that committed before the revoke,
 * and any later bind finds its session revoked. Returns the sockets to close and
 * presence for when the user has none left.
 */
export async function endSessions(
  deps: Deps,
  userId: string,
  username: string,
  which: { only?: string; keep?: string; everySocket?: boolean },
): Promise<{ sessions: number; close: string[]; broadcasts: Broadcast[] }> {
  const { sql, clock } = deps;
  const now = clock.now();
  const revoked = await sql<{ id: string }[]>`
    update sessions set revoked_at = ${now}
    where user_id = ${userId} and revoked_at is null
      and ${which.only !== undefined ? sql`id = ${which.only}` : sql`true`}
      and ${which.keep !== undefined ? sql`id <> ${which.keep}` : sql`true`}
    returning id::text`;
  const ids = revoked.map((r) => r.id);
  const unbound =
    ids.length === 0 && !which.everySocket
      ? []
      : await sql<{ id: string }[]>`
          update connections set user_id = null, session_id = null, authed_at = null
          where user_id = ${userId}
            and ${which.everySocket ? sql`true` : sql`session_id = any(${ids}::bigint[])`}
          returning id`;
  const close = unbound.map((c) => c.id);
  const broadcasts = close.length && (await countUserConnections(sql, userId)) === 0 ? await onlinePresence(sql, deps.settings, userId, username, false) : [];
  return { sessions: ids.length, close, broadcasts };
}
