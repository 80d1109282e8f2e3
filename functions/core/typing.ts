// "alice is typing…": a frame that lives for seconds and is never stored as a
// message. It is the chattiest thing a client sends, and every forwarded one is
// a post to each connection in the room (on AWS, a billed PostToConnection per
// connection), so it costs one SQL statement and its fan-out is bounded three
// ways: a budget per person (about 2 frames a second), at most one forwarded per
// person and room every few seconds (the frames in between are dropped quietly),
// and no forwarding at all in big rooms. Why these bounds: docs/PROTOCOL.md.
import * as v from 'valibot';
import { chargeBucket, refilledTokens, waitFor, type Budget } from './budgets.js';
import { Forbidden, RateLimited, Unauthorized } from './errors.js';
import { callerRow, describeWait, limitHit } from './limits.js';
import type { RoomName } from './names.js';
import type { Outcome } from './outcome.js';
import type { ChatSettings, Deps, Sql } from './ports.js';
import { requestId, room } from './protocol.js';

/** `{"action":"typing","id"?,"room"}`: routed through `$default`. */
export const TypingFrame = v.object({ action: v.literal('typing'), id: requestId, room });
export type TypingFrame = v.InferOutput<typeof TypingFrame>;

/** Every typing frame, forwarded or not, takes a token of this per-user bucket. */
export function typingBudget(settings: ChatSettings): Budget {
  return { burst: settings.typingBurst, perSecond: settings.typingPerMinute / 60 };
}

/** One token that refills in the interval: one forwarded frame per person and room per interval. */
export function typingWindow(settings: ChatSettings): Budget {
  return { burst: 1, perSecond: 1 / settings.typingIntervalSeconds };
}

interface TypingRow {
  username: string;
  /** the per-user budget had a token */
  allowed: boolean;
  /** that budget's tokens now, before this frame (null: full) */
  tokens: number | null;
  member: boolean;
  /** the room is small enough and the person's interval has passed: forward it */
  forwarded: boolean;
  /** when forwarded: the connections of the room's other members */
  recipients: string[] | null;
}

/**
 * The whole typing frame as one statement: the caller (from the connection row),
 * the per-user budget, membership, the room's size (counted only up to the cap,
 * so a big room costs no more than a small one), the per-person-and-room
 * interval, and the recipients' connections.
 */
function forwardTyping(sql: Sql, connectionId: string, roomId: string, settings: ChatSettings, now: Date) {
  const budget = typingBudget(settings);
  const cap = settings.typingMaxMembers;
  return sql<TypingRow[]>`
    with caller as (${callerRow(sql, connectionId, 'typing')}), allowed as (
      ${chargeBucket(sql, sql`select key from caller`, budget, now)}
    ), member as (
      select 1 from caller c join memberships m on m.room_id = ${roomId} and m.user_id = c.user_id
    ), small as (
      select 1 where (select count(*) from (select 1 from memberships where room_id = ${roomId} limit ${cap + 1}) m) <= ${cap}
    ), forwarded as (
      -- The key holds the room id: one person's rooms each have their own interval.
      ${chargeBucket(
        sql,
        sql`select 'typing:room:' || c.user_id || ':' || ${roomId}::text as key from caller c
          where exists (select 1 from allowed) and exists (select 1 from member) and exists (select 1 from small)`,
        typingWindow(settings),
        now,
      )}
    )
    select c.username,
      exists (select 1 from allowed) as allowed,
      (select ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = c.key) as tokens,
      exists (select 1 from member) as member,
      exists (select 1 from forwarded) as forwarded,
      case when exists (select 1 from forwarded) then array(
        select conn.id from memberships m join connections conn on conn.user_id = m.user_id
        where m.room_id = ${roomId} and m.user_id <> c.user_id
          -- *(E22)* nobody who blocked the typist sees them typing
          and not exists (select 1 from blocks b where b.blocker_id = m.user_id and b.blocked_id = c.user_id)
      ) end as recipients
    from caller c`;
}

function describeRoom(room: RoomName): string {
  return room.kind === 'dm' ? 'this conversation' : `#${room.id}`;
}

/**
 * `typing`: no reply when it goes well (forwarded or dropped in the interval);
 * `error` for a non-member or a person over budget. Others in the room receive
 * `{"type":"typing","room","from"}`.
 */
export async function typing(deps: Deps, connectionId: string, frame: TypingFrame): Promise<Outcome> {
  const { settings } = deps;
  const [row] = await forwardTyping(deps.sql, connectionId, frame.room.id, settings, deps.clock.now());
  if (!row) throw new Unauthorized('Log in first.');
  if (!row.allowed) {
    limitHit(deps.log, 'typing', { user: row.username, connection: connectionId });
    const wait = waitFor(row.tokens ?? 0, typingBudget(settings));
    throw new RateLimited(
      `You are sending typing notices too fast: at most ${settings.typingPerMinute} a minute. Try again in ${describeWait(wait)}.`,
      wait,
    );
  }
  if (!row.member) throw new Forbidden(`You are not a member of ${describeRoom(frame.room)}.`);
  const recipients = row.recipients ?? [];
  return recipients.length ? { broadcasts: [{ to: recipients, frame: { type: 'typing', room: frame.room.id, from: row.username } }] } : {};
}
