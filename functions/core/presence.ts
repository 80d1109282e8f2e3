// Who is online: a user with at least one authenticated connection.
//
// Two ways to hear of it (docs/PROTOCOL.md, `presence`, and E23):
// - v1: a connection that never sent `watch` gets a `presence` online/offline
//   frame for each room it shares with the person, but only for rooms of at most
//   `presenceV1MaxMembers` members. Unbounded, one login in a `general` of 10,000
//   would be a frame to every connection of 9,999 people; with the line, a login
//   costs at most line × (the person's rooms) frames to old clients.
// - E23: a connection that sent `watch` names the people it shows, and hears of
//   those only, in `presence_batch` frames the hosting coalesces per connection
//   over a short window (PresenceBatcher). A login then costs one post per
//   connection watching the person, whatever the size of their rooms.
// Either way only as much as membership shows: a watcher hears of a person only
// while they share a room, and *(E22)* nobody who blocked a person hears of them.
import type { Fragment } from 'postgres';
import * as v from 'valibot';
import { commitWithoutFlush } from './budgets.js';
import { BadRequest, Forbidden } from './errors.js';
import { requireCallerWithin } from './limits.js';
import { USERNAME } from './names.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { ChatSettings, Deps, Queryable, Sql } from './ports.js';
import { requestId, room } from './protocol.js';

/**
 * A person's presence in `watching` and `presence_batch`: *(E25)* "away" is a
 * person online whose every connection is idle or hidden.
 */
export type PresenceStatus = 'online' | 'away' | 'offline';
/** `presence_batch`'s map: username → the latest status. */
export type PresenceMap = Record<string, PresenceStatus>;

export const PRESENCE_BATCH = 'presence_batch';

/**
 * Where a hosting coalesces `presence_batch` frames: per connection, over its
 * window, the last status per person winning. fanOut hands every
 * `presence_batch` broadcast here when the hosting has one (the local server's
 * timer, the AWS presence queue); without one each is posted at once.
 */
export interface PresenceBatcher {
  /** Takes the change; resolves with the connections it could not take (fanOut posts to those at once). */
  add(to: readonly string[], presence: PresenceMap): Promise<readonly string[]>;
}

export async function countUserConnections(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from connections where user_id = ${userId}`;
  return row?.n ?? 0;
}

/** The v1 line's default (PRESENCE_V1_MAX_MEMBERS), for callers without settings (the admin CLI). */
export const DEFAULT_PRESENCE_V1_MAX_MEMBERS = 100;

export type PresenceRules = Partial<Pick<ChatSettings, 'presenceV1MaxMembers'>>;

/**
 * v1: the connections, room by room, of the other members of the user's rooms of
 * at most `line` members, that never sent `watch`. A room's size is counted only
 * up to line + 1 rows, so `general`'s 10,000 cost 101 index entries, not 10,000.
 */
async function listV1Connections(sql: Sql, userId: string, line: number) {
  if (line <= 0) return [];
  return sql<{ room_id: string; ids: string[] }[]>`
    with small as (
      select mine.room_id from memberships mine
      where mine.user_id = ${userId}
        and (select count(*) from (select 1 from memberships x where x.room_id = mine.room_id limit ${line + 1}) n) <= ${line}
    )
    select m.room_id, array_agg(c.id) as ids
    from small
    join memberships m on m.room_id = small.room_id and m.user_id <> ${userId}
    join connections c on c.user_id = m.user_id and not c.watches
    -- *(E22)* nobody who blocked the user hears of them
    where not exists (select 1 from blocks b where b.blocked_id = ${userId} and b.blocker_id = m.user_id)
    group by m.room_id`;
}

/**
 * E23: connections that watch the user, whose person shares a room with the user
 * (what membership shows) and has not blocked them.
 */
async function listWatcherConnections(sql: Sql, userId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select c.id
    from presence_watches w join connections c on c.id = w.connection_id
    where w.user_id = ${userId} and c.watches and c.user_id is not null
      and exists (select 1 from memberships a join memberships b on b.room_id = a.room_id and b.user_id = ${userId} where a.user_id = c.user_id)
      and not exists (select 1 from blocks bl where bl.blocker_id = c.user_id and bl.blocked_id = ${userId})`;
  return rows.map((r) => r.id);
}

/** The frames telling who should know that a user came online or went offline. */
export async function onlinePresence(sql: Sql, rules: PresenceRules | undefined, userId: string, username: string, online: boolean): Promise<Broadcast[]> {
  const line = rules?.presenceV1MaxMembers ?? DEFAULT_PRESENCE_V1_MAX_MEMBERS;
  const [rooms, watchers] = await Promise.all([listV1Connections(sql, userId, line), listWatcherConnections(sql, userId)]);
  const out: Broadcast[] = rooms.map((r) => ({ to: r.ids, frame: { type: 'presence', room: r.room_id, user: username, online } }));
  if (watchers.length) out.push({ to: watchers, frame: presenceBatchFrame({ [username]: online ? 'online' : 'offline' }) });
  return out;
}

/**
 * *(E25)* The user is away now (every connection idle or hidden), or back: to
 * the same connections `onlinePresence` tells, the v1 `presence` frame with
 * `away` in small rooms, and "away" or "online" in watchers' batches.
 */
export async function awayPresence(sql: Sql, rules: PresenceRules | undefined, userId: string, username: string, away: boolean): Promise<Broadcast[]> {
  const line = rules?.presenceV1MaxMembers ?? DEFAULT_PRESENCE_V1_MAX_MEMBERS;
  const [rooms, watchers] = await Promise.all([listV1Connections(sql, userId, line), listWatcherConnections(sql, userId)]);
  const out: Broadcast[] = rooms.map((r) => ({ to: r.ids, frame: { type: 'presence', room: r.room_id, user: username, online: true, away } }));
  if (watchers.length) out.push({ to: watchers, frame: presenceBatchFrame({ [username]: away ? 'away' : 'online' }) });
  return out;
}

/**
 * *(E25)* SQL: the user `userColumn` has a connection and none of them is
 * active (all idle or hidden). Used for members' `away` and push selection.
 */
export function awaySql(sql: Queryable, userColumn: Fragment): Fragment {
  return sql`(exists (select 1 from connections ac where ac.user_id = ${userColumn})
    and not exists (select 1 from connections ac where ac.user_id = ${userColumn} and ac.activity = 'active'))`;
}

/**
 * An empty presence map. Without a prototype, since it is keyed by usernames and
 * `__proto__` is one: on a plain object, setting that key changes the object's
 * prototype instead and the person is silently dropped.
 */
export function emptyPresence(): PresenceMap {
  return Object.create(null) as PresenceMap;
}

export function presenceBatchFrame(presence: PresenceMap): { type: typeof PRESENCE_BATCH; presence: PresenceMap } {
  return { type: PRESENCE_BATCH, presence };
}

/** Connections that should hear about membership changes in a room. */
export async function listRoomConnections(sql: Sql, roomId: string, exceptConnection?: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select c.id
    from memberships m join connections c on c.user_id = m.user_id
    where m.room_id = ${roomId} and c.id <> ${exceptConnection ?? ''}`;
  return rows.map((r) => r.id);
}

export function membershipPresence(to: string[], room: string, username: string, member: boolean): Broadcast[] {
  return to.length ? [{ to, frame: { type: 'presence', room, user: username, member } }] : [];
}

/** A bound on the list's length before the setting's: a frame is 32 KiB anyway. */
const WATCH_LIST_MAX = 2000;

const watchedName = v.pipe(
  v.string('users must be usernames'),
  v.toLowerCase(),
  v.regex(USERNAME, 'users must be usernames: 3 to 32 characters of a-z, 0-9, _ . and -.'),
);

/** `{"action":"watch","id"?,"users":[...]}`: the people this connection hears presence of, replacing any list before. */
export const WatchFrame = v.object({
  action: v.literal('watch'),
  id: requestId,
  users: v.pipe(v.array(watchedName, 'users must be a list of usernames'), v.maxLength(WATCH_LIST_MAX, `users is at most ${WATCH_LIST_MAX} names`)),
});
export type WatchFrame = v.InferOutput<typeof WatchFrame>;

/**
 * `watch`: replaces the connection's watch list and opts it in to
 * `presence_batch` (from now on it gets no v1 online/offline frames). Replies
 * with each name's status now. A name nobody has, or of someone the caller
 * shares no room with, or has blocked, is "offline": the reply says no more
 * than membership already shows.
 */
export async function watch(deps: Deps, connectionId: string, frame: WatchFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  const names = [...new Set(frame.users)];
  // Before the budget and the database: a list over the cap changes nothing.
  if (names.length > settings.presenceWatchMax) {
    throw new BadRequest(`You can watch at most ${settings.presenceWatchMax} people at once; this list names ${names.length}.`);
  }
  const caller = await requireCallerWithin(deps, connectionId, 'watch');
  // One statement: the old rows not in the new list go, the new ones come, the
  // connection is marked, and the statuses are read. The delete and the insert
  // touch different rows, so they do not meet inside the statement.
  const rows = await sql<{ username: string; online: boolean; away: boolean }[]>`
    with wanted as (select id, username from users where username = any(${names})),
    marked as (update connections set watches = true where id = ${connectionId} returning id),
    cleared as (
      delete from presence_watches
      where connection_id = ${connectionId} and user_id not in (select id from wanted)
    ),
    added as (
      insert into presence_watches (connection_id, user_id)
      select m.id, w.id from marked m cross join wanted w
      on conflict do nothing
    )
    select w.username,
      cs.n > 0
      and exists (select 1 from memberships a join memberships b on b.room_id = a.room_id and b.user_id = w.id where a.user_id = ${caller.userId})
      and not exists (select 1 from blocks bl where bl.blocker_id = ${caller.userId} and bl.blocked_id = w.id) as online,
      cs.n > 0 and not cs.active as away,
      -- connection state only (commitWithoutFlush)
      ${commitWithoutFlush(sql)} as commit_mode
    from wanted w
    -- Each name's connections through the index, a few rows each. As exists
    -- (select … from connections) the planner hashed all of them instead, three
    -- times: every watch, so every sign-in, read every connection of the server.
    cross join lateral (
      select count(*) as n, coalesce(bool_or(c.activity = 'active'), false) as active
      from connections c where c.user_id = w.id
    ) cs`;
  const status = new Map(rows.filter((r) => r.online).map((r) => [r.username, r.away ? ('away' as const) : ('online' as const)]));
  const presence = emptyPresence();
  for (const name of names) presence[name] = status.get(name) ?? 'offline';
  return { reply: { type: 'watching', presence } };
}

/** `{"action":"online_count","id"?,"room"}`: how many of a room's members are online. */
export const OnlineCountFrame = v.object({ action: v.literal('online_count'), id: requestId, room });
export type OnlineCountFrame = v.InferOutput<typeof OnlineCountFrame>;

/**
 * `online_count`: members only, as `members`. Counts what `members` would list as
 * online for the caller (people the caller blocked are not counted online).
 */
export async function onlineCount(deps: Deps, connectionId: string, frame: OnlineCountFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'online_count');
  const [row] = await deps.sql<{ is_member: boolean; members: number; online: number }[]>`
    select exists (select 1 from memberships where room_id = ${frame.room.id} and user_id = ${caller.userId}) as is_member,
      count(*)::int as members,
      (count(*) filter (where exists (select 1 from connections c where c.user_id = m.user_id)
        and not exists (select 1 from blocks b where b.blocker_id = ${caller.userId} and b.blocked_id = m.user_id)))::int as online
    from memberships m where m.room_id = ${frame.room.id}`;
  if (!row?.is_member) {
    throw new Forbidden(frame.room.kind === 'dm' ? 'You are not in this conversation.' : `You are not a member of #${frame.room.id}.`);
  }
  return { reply: { type: 'online_count', room: frame.room.id, online: row.online, members: row.members } };
}

/**
 * Merges presence maps in order: per connection, the last status per person
 * wins. What a hosting's window (or a worker's batch of queue messages) holds
 * becomes one frame per connection. Bounded by `max` people per connection;
 * further people past it start a new map for that connection (a second frame).
 */
export function mergePresence(items: Iterable<{ to: readonly string[]; presence: PresenceMap }>, max = Infinity): Map<string, PresenceMap[]> {
  const out = new Map<string, PresenceMap[]>();
  for (const { to, presence } of items) {
    for (const id of to) {
      let maps = out.get(id);
      if (!maps) out.set(id, (maps = [emptyPresence()]));
      for (const [user, status] of Object.entries(presence)) {
        let last = maps[maps.length - 1]!;
        if (!Object.hasOwn(last, user) && Object.keys(last).length >= max) maps.push((last = emptyPresence()));
        // delete first: the map's order is the order of the latest changes
        delete last[user];
        last[user] = status;
      }
    }
  }
  return out;
}

/**
 * Groups connections by the frame they get, so one post carries it to all of
 * them (a login's change reaches its watchers as one post).
 */
export function groupByFrame(merged: Map<string, PresenceMap[]>): Array<{ to: string[]; presence: PresenceMap }> {
  const groups = new Map<string, { to: string[]; presence: PresenceMap }>();
  for (const [id, maps] of merged) {
    for (const presence of maps) {
      if (Object.keys(presence).length === 0) continue;
      const key = JSON.stringify(presence);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { to: [], presence }));
      g.to.push(id);
    }
  }
  return [...groups.values()];
}
