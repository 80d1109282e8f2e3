// Who may enter a channel, and how a channel's E21 fields read (ROOM's `name`,
// `topic`, `private`, `role`). Kept apart from rooms.ts, which calls these from
// `join` and the room lists, so that moderation.ts can use rooms.ts in turn.
import type { Fragment } from 'postgres';
import { isServerAdmin } from './admins.js';
import { Forbidden, NotFound } from './errors.js';
import type { Caller } from './identity.js';
import type { RoomName } from './names.js';
import type { Deps, Queryable, Sql } from './ports.js';
import type { RoomInfo } from './protocol.js';
import type { RoomRole } from './room-rules.js';

/**
 * The one answer to joining a private channel one was not invited to, and to a
 * `join` with `create: false` of a channel that does not exist: the same code
 * and sentence, so a name cannot be tested for a private channel behind it.
 */
export function noChannelToJoin(name: string): NotFound {
  return new NotFound(`There is no channel #${name} you can join.`);
}

/**
 * The SQLSTATE a channel membership insert raises while its person is banned
 * (schema/020_ban_guard.sql): a ban that commits while a `join` or `invite` is
 * on its way is seen by the insert itself, not only by the check before it.
 */
export const BANNED_SQLSTATE = 'WB001';

/** The answer to a banned person's `join`. */
export function bannedFrom(name: string): Forbidden {
  return new Forbidden(`You are banned from #${name}.`);
}

/** Runs a statement that inserts a channel membership, turning the ban guard's refusal into `refusal`. */
export async function refusingBanned<T>(statement: Promise<T>, refusal: () => Error): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    if ((error as { code?: unknown }).code === BANNED_SQLSTATE) throw refusal();
    throw error;
  }
}

/**
 * The channel a name stands for: the channel with that id, or else the one
 * renamed to it (a renamed channel keeps its id, which every frame uses).
 */
export async function resolveChannel(sql: Sql, room: RoomName): Promise<RoomName> {
  if (room.kind !== 'channel') return room;
  const [row] = await sql<{ id: string }[]>`
    select id from rooms where kind = 'channel' and (id = ${room.id} or name = ${room.id})
    order by id = ${room.id} desc limit 1`;
  return row ? { id: row.id, kind: 'channel' } : room;
}

/**
 * The checks in front of a new channel membership: a private channel only for
 * its owner (and the server's administrators); a banned person nowhere until
 * unbanned; and with `create: false`, no new channel.
 */
export async function checkChannelEntry(deps: Deps, caller: Caller, room: RoomName, typed: string, create: boolean): Promise<void> {
  const [row] = await deps.sql<{ private: boolean; owner: boolean; banned: boolean }[]>`
    select r.private, r.owner_id is not distinct from ${caller.userId}::bigint as owner,
      exists (select 1 from room_bans b where b.room_id = r.id and b.user_id = ${caller.userId}) as banned
    from rooms r where r.id = ${room.id}`;
  const admin = isServerAdmin(deps.settings, caller.username);
  if (!row) {
    if (!create) throw noChannelToJoin(typed);
    return;
  }
  if (admin) return;
  if (row.private && !row.owner) throw noChannelToJoin(typed);
  if (row.banned) throw bannedFrom(typed);
}

/** ROOM's E21 fields as stored, for the rooms row `r` and the user `userId`. */
export interface RoomFieldsRow {
  shown_name?: string | null;
  topic?: string;
  private?: boolean;
  role?: RoomRole | null;
}

/**
 * SQL: the RoomFieldsRow columns of the rooms row `r` as `userId` sees it;
 * `moderator` is their membership's flag when the statement has the row at
 * hand (a list of one's rooms: no lookup per room), else it is looked up.
 */
export function roomFieldsColumns(sql: Queryable, userId: string, moderator?: Fragment): Fragment {
  const moderates =
    moderator ?? sql`exists (select 1 from memberships rm where rm.room_id = r.id and rm.user_id = ${userId}::bigint and rm.moderator)`;
  return sql`r.name as shown_name, r.topic, r.private,
    case when r.owner_id = ${userId}::bigint then 'owner' when ${moderates} then 'moderator' end as role`;
}

/** ROOM's E21 fields, left out when empty (as MESSAGE's are). */
export function applyRoomFields(info: RoomInfo, row: RoomFieldsRow): RoomInfo {
  if (info.kind !== 'channel') return info;
  if (row.shown_name) info.name = row.shown_name;
  if (row.topic) info.topic = row.topic;
  if (row.private) info.private = true;
  if (row.role) info.role = row.role;
  return info;
}
