// Who is online: a user with at least one authenticated connection. Presence
// frames go to the connections of everyone who shares a room with the user.
import type { Fragment } from 'postgres';
import type { Broadcast } from './outcome.js';
import type { Queryable, Sql } from './ports.js';

export async function countUserConnections(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from connections where user_id = ${userId}`;
  return row?.n ?? 0;
}

/** Every connection of every other member, room by room, of the user's rooms. */
async function listRoommateConnections(sql: Sql, userId: string) {
  return sql<{ room_id: string; ids: string[] }[]>`
    select m.room_id, array_agg(c.id) as ids
    from memberships mine
    join memberships m on m.room_id = mine.room_id and m.user_id <> mine.user_id
    join connections c on c.user_id = m.user_id
    where mine.user_id = ${userId}
      -- *(E22)* nobody who blocked the user hears of them
      and not exists (select 1 from blocks b where b.blocked_id = ${userId} and b.blocker_id = m.user_id)
    group by m.room_id`;
}

export async function onlinePresence(sql: Sql, userId: string, username: string, online: boolean): Promise<Broadcast[]> {
  const rows = await listRoommateConnections(sql, userId);
  return rows.map((r) => ({ to: r.ids, frame: { type: 'presence', room: r.room_id, user: username, online } }));
}

/**
 * *(E25)* The user is away now (every connection idle or hidden), or back: the
 * `presence` frame with `away`, to the same roommates `onlinePresence` tells.
 * The one place these frames are made, so their routing can change in one place.
 */
export async function awayPresence(sql: Sql, userId: string, username: string, away: boolean): Promise<Broadcast[]> {
  const rows = await listRoommateConnections(sql, userId);
  return rows.map((r) => ({ to: r.ids, frame: { type: 'presence', room: r.room_id, user: username, online: true, away } }));
}

/**
 * *(E25)* SQL: the user `userColumn` has a connection and none of them is
 * active (all idle or hidden). Used for members' `away` and push selection.
 */
export function awaySql(sql: Queryable, userColumn: Fragment): Fragment {
  return sql`(exists (select 1 from connections ac where ac.user_id = ${userColumn})
    and not exists (select 1 from connections ac where ac.user_id = ${userColumn} and ac.activity = 'active'))`;
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
