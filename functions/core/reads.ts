// Read state on every device. Each member has a mark per room, the id through
// which they have read it; it only moves forward. Marking a room read on one
// device tells the person's other devices at once (their badges clear), and in a
// direct conversation tells the other person, when both share read receipts.
// `authed`, `joined` and `rooms` carry each room's mark, its unread and mention
// counts, and in a DM how far the other person has read.
import * as v from 'valibot';
import { chargeBucket, perWindow, refilledTokens, waitFor, type Budget } from './budgets.js';
import { Forbidden, NotFound, RateLimited, Unauthorized } from './errors.js';
import { notExpired } from './expiry.js';
import { callerRow, describeWait, limitHit } from './limits.js';
import { MESSAGE_ID, type RoomName } from './names.js';
import { NOTIFY_LEVELS, type NotifyLevel } from './notices.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { ChatSettings, Deps, Queryable, Sql } from './ports.js';
import { requestId, room } from './protocol.js';

/** `{"action":"read","id"?,"room","through"}`: routed through `$default`. */
export const ReadFrame = v.object({
  action: v.literal('read'),
  id: requestId,
  room,
  through: v.pipe(v.string('through must be a message id string'), v.regex(MESSAGE_ID, 'through must be a message id')),
});
export type ReadFrame = v.InferOutput<typeof ReadFrame>;

/**
 * `{"action":"settings","id"?,"readReceipts"?,"notify"?,"notifyQuote"?,"pushText"?}`:
 * routed through `$default`. Without any of them it changes nothing and answers
 * the current settings. *(E24)* `notify` and `notifyQuote`: email notices
 * (notices.ts); *(E25)* `pushText`: whether pushes may carry the text (push.ts).
 */
export const SettingsFrame = v.object({
  action: v.literal('settings'),
  id: requestId,
  readReceipts: v.optional(v.boolean('readReceipts must be true or false')),
  notify: v.optional(v.picklist(NOTIFY_LEVELS, 'notify must be "off", "mentions" or "all"')),
  notifyQuote: v.optional(v.boolean('notifyQuote must be true or false')),
  /** *(E25)* whether pushes may carry the message's text */
  pushText: v.optional(v.boolean('pushText must be true or false')),
});
export type SettingsFrame = v.InferOutput<typeof SettingsFrame>;

/**
 * The most unread messages counted per room (a client shows "999+"): the count
 * reads at most this many index entries, so a room of a million unread messages
 * costs what one of a thousand does.
 */
export const UNREAD_CAP = 999;

/** A room's read state, as the ROOM objects of `authed`, `joined` and `rooms` carry it. */
export interface ReadState {
  /** every message up to this id is read (null: none yet) */
  readThrough: string | null;
  /** messages by others after readThrough, not deleted: at most UNREAD_CAP */
  unread: number;
  /** of those, the ones that mention me (by name, or @here) */
  mentions: number;
  /** DMs only: the other person's readThrough, when both have read receipts on */
  seenThrough?: string | null;
}

export interface ReadStateRow {
  read_through: string | null;
  unread: number;
  mentions: number;
  seen_through: string | null;
}

/**
 * SQL: a subquery of one row, the read state of the room `r` (a `rooms` row in
 * the surrounding query) for the user `userId`, for a lateral join. The counts
 * come from at most UNREAD_CAP entries of the index messages(room_id, id), the
 * newest unread ones: the mentions are those among them (exact while fewer than
 * UNREAD_CAP are unread; a lower bound beyond, where the badge reads "999+").
 *
 * `x.id <= r.last_message_id` holds for every committed message (the counter is
 * bumped in the inserting transaction), so it changes no count; it is there for
 * the planner, which costs each room from the table's statistics: an open range
 * (`id > mark`) it takes for a third of a room's messages, a closed one for a
 * sliver. Without it a member of a few hundred rooms costs past jit_above_cost,
 * and PostgreSQL compiles the statement first (700 ms instead of 20, measured).
 */
export function roomReadState(sql: Queryable, userId: string) {
  const me = sql`${userId}::bigint`;
  return sql`
    select mark.through::text as read_through,
      coalesce(tally.unread, 0)::int as unread,
      coalesce(tally.mentions, 0)::int as mentions,
      -- max(): one value whatever the plan. A DM has one other member, but the
      -- planner may compute this for rooms the user is not in before joining
      -- their memberships, where both members' marks match.
      case when r.kind = 'dm' then (
        select max(other.through)::text
        from read_marks other
        join users them on them.id = other.user_id
        join users self on self.id = ${me}
        where other.room_id = r.id and other.user_id <> ${me} and them.read_receipts and self.read_receipts
      ) end as seen_through
    from (select 1) one
    left join read_marks mark on mark.user_id = ${me} and mark.room_id = r.id
    cross join lateral (
      select count(*) as unread, count(*) filter (where newest.mention) as mentions
      from (
        select (${me} = any(x.mentioned_user_ids) or x.mentions_here) as mention
        from messages x
        where x.room_id = r.id and x.id > coalesce(mark.through, 0) and x.id <= r.last_message_id
          and x.sender_id <> ${me} and x.deleted_at is null and ${notExpired(sql, 'x')}
        order by x.id desc
        limit ${UNREAD_CAP}
      ) newest
    ) tally`;
}

export function toReadState(kind: 'channel' | 'dm', row: ReadStateRow): ReadState {
  const state: ReadState = { readThrough: row.read_through, unread: row.unread, mentions: row.mentions };
  if (kind === 'dm') state.seenThrough = row.seen_through;
  return state;
}

/** The read state of one room for one user (for `joined`). */
export async function readStateOf(sql: Sql, userId: string, room: RoomName): Promise<ReadState> {
  const [row] = await sql<ReadStateRow[]>`
    select rs.* from rooms r cross join lateral (${roomReadState(sql, userId)}) rs where r.id = ${room.id}`;
  return toReadState(room.kind, row ?? { read_through: null, unread: 0, mentions: 0, seen_through: null });
}

/**
 * SQL: start a new member's mark at the room's latest message, so that joining
 * a channel with a long history does not show all of it as unread (what came
 * before is there to read, not news). A rejoin keeps the greater mark. A room
 * without messages needs no mark: everything in it will be new.
 */
export function startReadMark(sql: Queryable, roomId: string, userId: string) {
  return sql`
    insert into read_marks (user_id, room_id, through)
    select ${userId}::bigint, r.id, r.last_message_id from rooms r
    where r.id = ${roomId} and r.last_message_id is not null
    on conflict (user_id, room_id) do update set through = greatest(read_marks.through, excluded.through)`;
}

export function readMarkBudget(settings: ChatSettings): Budget {
  return { burst: settings.readMarkBurst, perSecond: settings.readMarksPerMinute / 60 };
}

export function settingsBudget(settings: ChatSettings): Budget {
  return perWindow(settings.settingsPerHour, 60 * 60);
}

interface MarkRow {
  username: string;
  allowed: boolean;
  tokens: number | null;
  member: boolean;
  /** `through` names a message of this room, or an id no room holds any more up to the room's last */
  valid: boolean;
  /** the mark moved forward */
  moved: boolean;
  /** the mark now */
  through: string | null;
  /** when moved: the caller's other connections */
  mine: string[] | null;
  /** when moved in a DM where both share receipts: the other person's connections */
  seen_by: string[] | null;
}

/**
 * The whole `read` as one statement: the caller, the per-user budget,
 * membership, the check of `through`, the forward-only upsert, and who hears of
 * it. An id of another room's message is refused even when it is lower than
 * this room's last (ids come from one sequence shared by every room); an id no
 * message holds any more (purged) is accepted up to the room's last, so a client
 * holding a message that was just purged can still mark it read.
 */
function markRead(sql: Sql, connectionId: string, room: RoomName, through: string, budget: Budget, now: Date) {
  return sql<MarkRow[]>`
    with caller as (${callerRow(sql, connectionId, 'readmark')}), allowed as (
      ${chargeBucket(sql, sql`select key from caller`, budget, now)}
    ), member as (
      select 1 from caller c join memberships m on m.room_id = ${room.id} and m.user_id = c.user_id
    ), valid as (
      select 1 from messages x where x.id = ${through}::bigint and x.room_id = ${room.id}
      union all
      select 1 from rooms r
      where r.id = ${room.id} and ${through}::bigint <= r.last_message_id
        and not exists (select 1 from messages x where x.id = ${through}::bigint)
    ), marked as (
      insert into read_marks as rm (user_id, room_id, through, updated_at)
      select c.user_id, ${room.id}, ${through}::bigint, ${now}::timestamptz from caller c
      where exists (select 1 from allowed) and exists (select 1 from member) and exists (select 1 from valid)
      on conflict (user_id, room_id) do update set through = excluded.through, updated_at = excluded.updated_at
        where rm.through < excluded.through
      returning rm.through
    )
    select c.username,
      exists (select 1 from allowed) as allowed,
      (select ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = c.key) as tokens,
      exists (select 1 from member) as member,
      exists (select 1 from valid) as valid,
      exists (select 1 from marked) as moved,
      coalesce(
        (select through from marked),
        (select rm.through from read_marks rm where rm.user_id = c.user_id and rm.room_id = ${room.id})
      )::text as through,
      case when exists (select 1 from marked) then array(
        select conn.id from connections conn where conn.user_id = c.user_id and conn.id <> ${connectionId}
      ) end as mine,
      case when exists (select 1 from marked) and ${room.kind === 'dm'} and c.read_receipts then array(
        select conn.id from memberships m
        join users them on them.id = m.user_id
        join connections conn on conn.user_id = m.user_id
        where m.room_id = ${room.id} and m.user_id <> c.user_id and them.read_receipts
      ) end as seen_by
    from caller c`;
}

function describeRoom(room: RoomName): string {
  return room.kind === 'dm' ? 'this conversation' : `#${room.id}`;
}

/**
 * `read`: moves the caller's mark in a room forward. The reply, and the same
 * frame to the caller's other connections, carry the mark as it now stands
 * (a `through` behind it changes nothing and tells nobody else).
 */
export async function markRoomRead(deps: Deps, connectionId: string, frame: ReadFrame): Promise<Outcome> {
  const { settings } = deps;
  const budget = readMarkBudget(settings);
  const [row] = await markRead(deps.sql, connectionId, frame.room, frame.through, budget, deps.clock.now());
  if (!row) throw new Unauthorized('Log in first.');
  if (!row.allowed) {
    limitHit(deps.log, 'read_mark', { user: row.username, connection: connectionId });
    const wait = waitFor(row.tokens ?? 0, budget);
    throw new RateLimited(
      `You are marking rooms read too fast: at most ${settings.readMarksPerMinute} a minute. Try again in ${describeWait(wait)}.`,
      wait,
    );
  }
  if (!row.member) throw new Forbidden(`You are not a member of ${describeRoom(frame.room)}.`);
  if (!row.valid) throw new NotFound(`There is no message ${frame.through} in ${describeRoom(frame.room)}.`);
  const read = { type: 'read', room: frame.room.id, through: row.through ?? frame.through };
  const broadcasts: Broadcast[] = [];
  if (row.mine?.length) broadcasts.push({ to: row.mine, frame: read });
  if (row.seen_by?.length) {
    broadcasts.push({ to: row.seen_by, frame: { type: 'seen', room: frame.room.id, from: row.username, through: read.through } });
  }
  return { reply: read, broadcasts };
}

interface SettingsRow {
  username: string;
  allowed: boolean;
  tokens: number | null;
  read_receipts: boolean;
  notify: NotifyLevel;
  notify_quote: boolean;
  push_text: boolean;
  /** when changed: the caller's other connections */
  mine: string[] | null;
}

interface SettingsChange {
  readReceipts?: boolean;
  notify?: NotifyLevel;
  notifyQuote?: boolean;
  pushText?: boolean;
}

/** The caller's settings, changed where given (and different), in one statement. */
function updateSettings(sql: Sql, connectionId: string, change: SettingsChange, budget: Budget, now: Date) {
  const receipts = change.readReceipts ?? null;
  const notify = change.notify ?? null;
  const quote = change.notifyQuote ?? null;
  const pushText = change.pushText ?? null;
  return sql<SettingsRow[]>`
    with caller as (${callerRow(sql, connectionId, 'settings')}), allowed as (
      ${chargeBucket(sql, sql`select key from caller`, budget, now)}
    ), changed as (
      update users u set read_receipts = coalesce(${receipts}::boolean, u.read_receipts),
        notify = coalesce(${notify}::text, u.notify), notify_quote = coalesce(${quote}::boolean, u.notify_quote),
        push_text = coalesce(${pushText}::boolean, u.push_text)
      from caller c
      where u.id = c.user_id and exists (select 1 from allowed)
        and (u.read_receipts <> coalesce(${receipts}::boolean, u.read_receipts)
          or u.notify <> coalesce(${notify}::text, u.notify)
          or u.notify_quote <> coalesce(${quote}::boolean, u.notify_quote)
          or u.push_text <> coalesce(${pushText}::boolean, u.push_text))
      returning u.read_receipts, u.notify, u.notify_quote, u.push_text
    ), noticed as (
      -- *(E24)* Notices turned on, or to every message: messages already unread
      -- may now be waiting, and the notice sweep reads only new ones. Make the
      -- person its candidate (struck off again if nothing waits).
      insert into notice_candidates (user_id)
      select c.user_id from caller c
      where ${notify}::text is not null and exists (select 1 from changed ch where ch.notify <> 'off')
      on conflict (user_id) do nothing
    )
    select c.username,
      exists (select 1 from allowed) as allowed,
      (select ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = c.key) as tokens,
      coalesce((select read_receipts from changed), c.read_receipts) as read_receipts,
      coalesce((select notify from changed), (select notify from users where id = c.user_id)) as notify,
      coalesce((select notify_quote from changed), (select notify_quote from users where id = c.user_id)) as notify_quote,
      coalesce((select push_text from changed), (select u.push_text from users u where u.id = c.user_id)) as push_text,
      case when exists (select 1 from changed) then array(
        select conn.id from connections conn where conn.user_id = c.user_id and conn.id <> ${connectionId}
      ) end as mine
    from caller c`;
}

/**
 * `settings`: the caller's account settings (`readReceipts`; E24 `notify`, `notifyQuote`; E25 `pushText`). The
 * reply carries them as they now stand; the caller's other connections get the
 * same frame when something changed, so every device agrees.
 */
export async function changeSettings(deps: Deps, connectionId: string, frame: SettingsFrame): Promise<Outcome> {
  const { settings } = deps;
  const budget = settingsBudget(settings);
  const change = { readReceipts: frame.readReceipts, notify: frame.notify, notifyQuote: frame.notifyQuote, pushText: frame.pushText };
  const [row] = await updateSettings(deps.sql, connectionId, change, budget, deps.clock.now());
  if (!row) throw new Unauthorized('Log in first.');
  if (!row.allowed) {
    limitHit(deps.log, 'settings', { user: row.username, connection: connectionId });
    const wait = waitFor(row.tokens ?? 0, budget);
    throw new RateLimited(`You have changed your settings too often: at most ${settings.settingsPerHour} times an hour. Try again in ${describeWait(wait)}.`, wait);
  }
  const reply = { type: 'settings', readReceipts: row.read_receipts, notify: row.notify, notifyQuote: row.notify_quote, pushText: row.push_text };
  return { reply, broadcasts: row.mine?.length ? [{ to: row.mine, frame: reply }] : [] };
}

