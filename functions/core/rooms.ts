// Rooms: channels (created on first join) and direct-message rooms (`dm:a:b`,
// created for both users on first use). Everyone is a member of `general`.
import {
  type RoomFieldsRow,
  applyRoomFields,
  bannedFrom,
  checkChannelEntry,
  refusingBanned,
  resolveChannel,
  roomFieldsColumns,
} from './channel-entry.js';
import type { Fragment } from 'postgres';
import { BadRequest, Forbidden, NotFound, RateLimited, Unauthorized } from './errors.js';
import { notExpired } from './expiry.js';
import type { Caller } from './identity.js';
import { limitHit, requireCallerWithin, spendUserBudget } from './limits.js';
import { type RoomName, GENERAL, roomDisplayName, parseRoom } from './names.js';
import type { Outcome } from './outcome.js';
import type { Deps, Sql } from './ports.js';
import { awaySql, listRoomConnections, membershipPresence } from './presence.js';
import type { JoinFrame, LeaveFrame, RoomInfo } from './protocol.js';
import { dmBlocked, pageMessages } from './messages.js';
import { dmBlockSql } from './blocks.js';
import { type ProfileRow, profileOf } from './profile.js';
import { type ReadState, type ReadStateRow, readStateOf, roomReadState, startReadMark, toReadState } from './reads.js';
import { JOIN_MEMBERS_BUDGET_BYTES, REPLY_BUDGET_BYTES, fitPrefix } from './sizes.js';

/** A room's disappearing-messages timer, and for a channel who may set it; with its E21 fields. */
export interface RoomTimer extends RoomFieldsRow {
  disappear_after: number | null;
  created_by: string | null;
}

/** SQL: the RoomTimer columns of the rooms row `r`, as `userId` sees it (`moderator`: their membership's flag, when at hand). */
function roomTimerColumns(sql: Sql, userId: string, moderator?: Fragment) {
  return sql`r.disappear_after, (select cu.username from users cu where cu.id = r.created_by) as created_by, ${roomFieldsColumns(sql, userId, moderator)}`;
}

export async function roomTimerOf(sql: Sql, roomId: string, userId: string): Promise<RoomTimer> {
  const [row] = await sql<RoomTimer[]>`select ${roomTimerColumns(sql, userId)} from rooms r where r.id = ${roomId}`;
  return row ?? { disappear_after: null, created_by: null };
}

export function roomInfo(id: string, lastMessageId: string | null, me: string, reads?: ReadState, timer?: RoomTimer): RoomInfo {
  const parsed = parseRoom(id) ?? { id, kind: 'channel' as const };
  const info: RoomInfo = { id, kind: parsed.kind, name: roomDisplayName(parsed, me), lastMessageId, ...reads };
  // Left out when empty, as MESSAGE's fields are: no field, no timer.
  if (timer?.disappear_after) info.disappearAfter = timer.disappear_after;
  if (timer?.created_by && parsed.kind === 'channel') info.createdBy = timer.created_by;
  return timer ? applyRoomFields(info, timer) : info;
}

/** Rooms a page of `rooms` (and `authed`) may list; as JSON they are held to a byte budget too. */
export const ROOMS_PAGE = 1000;

/** The user's rooms, channels first, each kind by id; from after `after` when given (a cursor). */
export async function listUserRooms(sql: Sql, userId: string, username: string, after?: RoomName, limit = ROOMS_PAGE): Promise<RoomInfo[]> {
  // The read state of every room in the same statement (reads.ts), each count
  // bounded by the index messages(room_id, id).
  const rows = await sql<({ id: string; kind: 'channel' | 'dm'; last_message_id: string | null } & ReadStateRow & RoomTimer)[]>`
    select r.id, r.kind, ${roomTimerColumns(sql, userId, sql`m.moderator`)},
      (select max(x.id) from messages x where x.room_id = r.id and x.deleted_at is null and ${notExpired(sql, 'x')})::text as last_message_id, rs.*
    from memberships m join rooms r on r.id = m.room_id
    cross join lateral (${roomReadState(sql, userId)}) rs
    where m.user_id = ${userId}
      ${after ? sql`and (r.kind, r.id) > (${after.kind}, ${after.id})` : sql``}
    order by r.kind, r.id
    limit ${limit}`;
  return rows.map((r) => roomInfo(r.id, r.last_message_id, username, toReadState(r.kind, r), r));
}

/**
 * A page of the user's rooms that fits `budget` bytes as JSON, and whether more
 * follow (the rest come from `rooms` with `after`: docs/PROTOCOL-EXTENSIONS.md).
 */
export async function userRoomsPage(sql: Sql, userId: string, username: string, budget: number, after?: RoomName) {
  const rooms = await listUserRooms(sql, userId, username, after, ROOMS_PAGE + 1);
  const { taken } = fitPrefix(rooms.slice(0, ROOMS_PAGE), budget, 1);
  return { rooms: taken, more: rooms.length > taken.length };
}

export async function isMember(sql: Sql, roomId: string, userId: string): Promise<boolean> {
  const [row] = await sql`select 1 from memberships where room_id = ${roomId} and user_id = ${userId}`;
  return Boolean(row);
}

/**
 * Creates a DM room and both memberships if the caller is one of its two users
 * and the other exists. Returns whether the caller was newly added.
 */
export async function ensureDmRoom(sql: Sql, room: RoomName, caller: Caller): Promise<void> {
  const users = room.users!;
  if (!users.includes(caller.username)) throw new Forbidden('A direct-message room is only for its two people.');
  const other = users[0] === caller.username ? users[1] : users[0];
  // *(E22)* Not across a block, either way: the room, its memberships and the
  // blocker's presence would reach the blocker.
  const [row] = await sql<{ added: number; dm_block: 'mine' | 'theirs' | null }[]>`
    with other as (
      select id from users where username = ${other} and verified_at is not null
    ), blocked as (
      select case when b.blocker_id = ${caller.userId}::bigint then 'mine' else 'theirs' end as way
      from blocks b join other o on (b.blocker_id = ${caller.userId}::bigint and b.blocked_id = o.id)
        or (b.blocker_id = o.id and b.blocked_id = ${caller.userId}::bigint)
      order by b.blocker_id = ${caller.userId}::bigint desc
      limit 1
    ), room as (
      insert into rooms (id, kind) select ${room.id}, 'dm'
      where exists (select 1 from other) and not exists (select 1 from blocked)
      on conflict (id) do nothing
    ), added as (
      insert into memberships (room_id, user_id)
      select ${room.id}, id from other where not exists (select 1 from blocked)
      union all
      select ${room.id}, ${caller.userId}::bigint where exists (select 1 from other) and not exists (select 1 from blocked)
      on conflict do nothing
      returning user_id
    )
    select (select count(*)::int from added) as added, (select way from blocked) as dm_block`;
  if (row?.dm_block) throw dmBlocked(room, caller.username, row.dm_block);
  if (!row?.added && !(await isMember(sql, room.id, caller.userId))) {
    throw new NotFound(`There is nobody called ${other}.`);
  }
}

async function joinChannel(sql: Sql, room: RoomName, caller: Caller): Promise<boolean> {
  const added = await sql`
    with room as (
      -- its creator may set its disappearing-messages timer, and owns it (E21)
      insert into rooms (id, kind, created_by, owner_id) values (${room.id}, 'channel', ${caller.userId}, ${caller.userId})
      on conflict (id) do nothing
    ), mark as (${startReadMark(sql, room.id, caller.userId)})
    insert into memberships (room_id, user_id) values (${room.id}, ${caller.userId})
    on conflict do nothing
    returning user_id`;
  return added.length > 0;
}

/** Members a page of `members` (and `joined`) may list; as JSON they are held to a byte budget too. */
export const MEMBERS_PAGE = 2000;

/**
 * A page of a room's members by username, after `after` when given (a cursor),
 * that fits `budget` bytes as JSON; with the room's member count and whether
 * more follow.
 */
export async function listMembers(sql: Sql, roomId: string, budget: number, after?: string, viewerId?: string) {
  const rows = await sql<(ProfileRow & { online: boolean; away: boolean; total: number })[]>`
    select u.username, u.display_name, u.status_text, u.avatar_file_id,
      -- *(E25)* online with every connection idle or hidden
      ${awaySql(sql, sql`u.id`)} as away,
      exists (select 1 from connections c where c.user_id = u.id)
      -- *(E22)* people the viewer blocked are never shown online to them
      ${viewerId !== undefined ? sql`and not exists (select 1 from blocks b where b.blocker_id = ${viewerId} and b.blocked_id = u.id)` : sql``} as online,
      (select count(*) from memberships where room_id = ${roomId})::int as total
    from memberships m join users u on u.id = m.user_id
    where m.room_id = ${roomId} ${after !== undefined ? sql`and u.username > ${after}` : sql``}
    order by u.username
    limit ${MEMBERS_PAGE + 1}`;
  const { taken } = fitPrefix(
    // E20: each member's profile beside the username (profile.ts)
    rows.slice(0, MEMBERS_PAGE).map((r) => ({ ...profileOf(r), online: r.online, ...(r.online && r.away ? { away: true } : {}) })),
    budget,
  );
  return { members: taken, count: rows[0]?.total ?? 0, more: rows.length > taken.length };
}

/** Where the caller stands with a room they ask to join, in one statement. */
interface Standing {
  caller: Caller;
  member: boolean;
  roomExists: boolean;
  /** channels the caller is a member of */
  rooms: number;
  /** for a DM: whether the other person exists */
  otherExists: boolean;
  /** *(E22)* for a DM: a block between the two, 'mine' or 'theirs' (null: none) */
  dmBlock: 'mine' | 'theirs' | null;
}

function otherOf(room: RoomName, me: string): string | undefined {
  if (room.kind !== 'dm' || !room.users) return undefined;
  return room.users[0] === me ? room.users[1] : room.users[0];
}

interface StandingRow {
  user_id: string;
  username: string;
  session_id: string | null;
  member: boolean;
  room_exists: boolean;
  rooms: number;
  other_exists: boolean;
  dm_block: 'mine' | 'theirs' | null;
}

async function findStanding(sql: Sql, connectionId: string, room: RoomName): Promise<Standing> {
  // A DM's other person, as seen by either of its two; for anyone else ensureDmRoom refuses.
  const others = room.kind === 'dm' ? room.users! : (['', ''] as const);
  const [row] = await sql<StandingRow[]>`
    with caller as (
      select c.user_id, u.username, c.session_id
      from connections c join users u on u.id = c.user_id
      where c.id = ${connectionId}
    ), other as (
      select o.id from users o, caller c
      where o.username = case when c.username = ${others[0]} then ${others[1]} else ${others[0]} end
        and o.verified_at is not null
    )
    select c.user_id, c.username, c.session_id,
      exists (select 1 from memberships m where m.room_id = ${room.id} and m.user_id = c.user_id) as member,
      exists (select 1 from rooms r where r.id = ${room.id}) as room_exists,
      -- channels only: a channel id never holds ':', a DM's always starts 'dm:'
      (select count(*)::int from memberships m where m.user_id = c.user_id and m.room_id not like 'dm:%') as rooms,
      exists (select 1 from other) as other_exists,
      ${room.kind === 'dm' ? sql`(select ${dmBlockSql(sql, others)} from caller s)` : sql`null::text`} as dm_block
    from caller c`;
  if (!row) throw new Unauthorized('Log in first.');
  return {
    caller: { connectionId, userId: row.user_id, username: row.username, sessionId: row.session_id },
    member: row.member,
    roomExists: row.room_exists,
    rooms: row.rooms,
    otherExists: row.other_exists,
    dmBlock: row.dm_block,
  };
}

/**
 * The checks in front of a new membership: the cap on channels per person, the
 * join budget, and, when the room is new, the quota on rooms created. The cap
 * counts channels only: a DM cannot be left, so if DMs counted, strangers could
 * fill a person's quota by writing to them (and learn their count from the
 * refusal). DMs are bounded instead by their openers' quota on rooms created a
 * day. Parallel joins can pass the cap by the few in flight, which the join
 * budget bounds.
 */
async function claimNewMembership(deps: Deps, room: RoomName, standing: Standing): Promise<void> {
  const { settings, log } = deps;
  const { caller } = standing;
  const cap = settings.roomsPerUser;
  if (room.kind === 'channel' && standing.rooms >= cap) {
    limitHit(log, 'join', { user: caller.username, connection: caller.connectionId }, 'rooms_per_user');
    throw new RateLimited(`You are in ${standing.rooms} channels, the most allowed; leave one before joining another.`);
  }
  if (room.kind === 'dm') {
    const other = otherOf(room, caller.username);
    if (!room.users!.includes(caller.username)) throw new Forbidden('A direct-message room is only for its two people.');
    if (!standing.otherExists) throw new NotFound(`There is nobody called ${other}.`);
    // *(E22)* before any budget is spent; ensureDmRoom checks it again in its statement
    if (standing.dmBlock) throw dmBlocked(room, caller.username, standing.dmBlock);
  }
  await spendUserBudget(deps, caller, 'join');
  if (!standing.roomExists) await spendUserBudget(deps, caller, 'create');
}

/**
 * Opens a DM room for the first message of a conversation: the same checks and
 * budgets as joining it. Returns the caller.
 */
export async function openDmRoom(deps: Deps, connectionId: string, room: RoomName): Promise<Caller> {
  const standing = await findStanding(deps.sql, connectionId, room);
  if (!standing.member) {
    await claimNewMembership(deps, room, standing);
    await ensureDmRoom(deps.sql, room, standing.caller);
  }
  return standing.caller;
}

export async function joinRoom(deps: Deps, connectionId: string, frame: JoinFrame): Promise<Outcome> {
  const { sql } = deps;
  // a renamed channel is found by its new name too (E21)
  const room = await resolveChannel(sql, frame.room);
  const standing = await findStanding(sql, connectionId, room);
  const { caller } = standing;
  let added = false;
  if (standing.member) {
    // A member joining again (clients sync every room on reconnect) changes
    // nothing and reads the room's latest page: it costs a read.
    await spendUserBudget(deps, caller, 'read');
  } else {
    if (room.kind === 'channel') await checkChannelEntry(deps, caller, room, frame.room.id, frame.create ?? true);
    await claimNewMembership(deps, room, standing);
    if (room.kind === 'dm') {
      await ensureDmRoom(sql, room, caller);
      added = true;
    } else {
      // a ban committed since checkChannelEntry read none: the insert refuses it
      added = await refusingBanned(joinChannel(sql, room, caller), () => bannedFrom(frame.room.id));
    }
  }
  // Bounded by bytes whatever the room holds (sizes.ts): the members first, then
  // the latest messages in what is left; the rest by `members` and `history`.
  const [members, latest, reads, timer] = await Promise.all([
    listMembers(sql, room.id, JOIN_MEMBERS_BUDGET_BYTES, undefined, caller.userId),
    pageMessages(sql, room.id, {}, 50, REPLY_BUDGET_BYTES - JOIN_MEMBERS_BUDGET_BYTES),
    readStateOf(sql, caller.userId, room),
    roomTimerOf(sql, room.id, caller.userId),
  ]);
  const messages = latest.messages;
  const last = messages.at(-1)?.id ?? null;
  return {
    reply: {
      type: 'joined',
      room: roomInfo(room.id, last, caller.username, reads, timer),
      members: members.members,
      messages,
      // Extensions (docs/PROTOCOL-EXTENSIONS.md): all members, whether `members`
      // is only the first part of them, whether older messages exist.
      memberCount: members.count,
      membersMore: members.more,
      hasMore: latest.hasMore,
      // The room's change seq, read with the messages: where a client's change
      // cursor starts (docs/DELIVERY.md).
      seq: latest.seq,
    },
    broadcasts: added
      ? membershipPresence(await listRoomConnections(sql, room.id, caller.connectionId), room.id, caller.username, true)
      : [],
  };
}

/**
 * Deletes the membership and returns who hears of it: the main query reads the
 * room as it was before the delete, so the remaining members and the leaver's
 * other connections, in one round trip.
 */
function removeMembership(sql: Sql, roomId: string, userId: string, exceptConnection: string) {
  return sql<{ removed: boolean; recipients: string[] }[]>`
    with removed as (
      delete from memberships where room_id = ${roomId} and user_id = ${userId} returning user_id
    )
    select exists (select 1 from removed) as removed, array(
      select c.id from memberships m join connections c on c.user_id = m.user_id
      where m.room_id = ${roomId} and c.id <> ${exceptConnection}
    ) as recipients`;
}

export async function leaveRoom(deps: Deps, connectionId: string, { room }: LeaveFrame): Promise<Outcome> {
  const { sql } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'leave');
  if (room.kind === 'dm') throw new BadRequest('A direct-message room cannot be left.');
  if (room.id === GENERAL) throw new BadRequest('Everyone stays in #general.');
  const [result] = await removeMembership(sql, room.id, caller.userId, caller.connectionId);
  if (!result?.removed) throw new NotFound(`You are not in #${room.id}.`);
  return { reply: { type: 'left', room: room.id }, broadcasts: membershipPresence(result.recipients, room.id, caller.username, false) };
}
