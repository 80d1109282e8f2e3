// Delete my own chat history: every message the caller sent, in every room or in
// one, removed for everyone. Members' open connections are told at once so their
// clients drop the messages without a reload. Each message becomes a tombstone
// (its text erased, its reactions and files gone) with a fresh seq, so that a client that
// was away learns of it from the change feed (`changes`).
import * as v from 'valibot';
import { deleteFilesOfDeletedMessages } from './files.js';
import { requireCallerWithin } from './limits.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { Deps, Sql } from './ports.js';
import { requestId, room } from './protocol.js';

/** `{"action":"purge","id"?,"room"?}`: routed through `$default`, as API Gateway's routes are fixed. */
export const PurgeFrame = v.object({ action: v.literal('purge'), id: requestId, room: v.optional(room) });
export type PurgeFrame = v.InferOutput<typeof PurgeFrame>;

/**
 * Turns the user's messages into tombstones and, in the same statement, reports
 * per room how many went, the highest id among them, the room's seq after them
 * and the connections of the room's members. The rooms' rows are locked first, in
 * id order (the order every statement that locks several rooms uses), so each
 * tombstone's seq is taken under its room's lock: seqs stay in commit order.
 */
export function tombstoneMessagesOf(sql: Sql, userId: string, roomId: string | undefined) {
  return sql<{ room_id: string; count: number; through: string; seq: string; recipients: string[] }[]>`
    with hit as (
      select r.id from rooms r
      where r.id in (
        select room_id from messages
        where sender_id = ${userId} and deleted_at is null and timer is null ${roomId !== undefined ? sql`and room_id = ${roomId}` : sql``}
      )
      order by r.id
      for update
    ), gone as (
      update messages m set body = '', deleted_at = now(), edited_at = null, reply_to = null,
        mentioned_user_ids = '{}', mentions_here = false, seq = nextval('message_seqs')
      from hit h
      -- timer announcements stay: they are the room's record of its timer, not the sender's words
      where m.room_id = h.id and m.sender_id = ${userId} and m.deleted_at is null and m.timer is null
      returning m.room_id, m.id, m.seq
    ), unreacted as (
      delete from reactions r using gone g where r.message_id = g.id
    ), per_room as (
      select room_id, count(*)::int as count, max(id) as through, max(seq) as seq from gone group by room_id
    ), bumped as (
      update rooms r set prev_seq = r.last_seq, last_seq = p.seq from per_room p where r.id = p.room_id
    )
    select p.room_id, p.count, p.through::text as through, p.seq::text as seq,
      array(
        select c.id from memberships m join connections c on c.user_id = m.user_id
        where m.room_id = p.room_id
      ) as recipients
    from per_room p
    order by p.room_id`;
}

export async function purgeMyMessages(deps: Deps, connectionId: string, frame: PurgeFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'purge');
  const rows = await tombstoneMessagesOf(deps.sql, caller.userId, frame.room?.id);
  await deleteFilesOfDeletedMessages(deps, caller.userId);
  // One small frame per room whatever the number of messages: clients drop every
  // message from this user up to `through` (later ids are messages sent after).
  // `seq` is the room's seq after the purge; a client of the change feed catches
  // up with `changes` to get the tombstones.
  const broadcasts: Broadcast[] = rows
    .filter((r) => r.recipients.length > 0)
    .map((r) => ({ to: r.recipients, frame: { type: 'deleted', room: r.room_id, from: caller.username, through: r.through, seq: r.seq } }));
  return {
    reply: {
      type: 'purged',
      count: rows.reduce((n, r) => n + r.count, 0),
      rooms: rows.map((r) => ({ room: r.room_id, count: r.count, through: r.through })),
    },
    broadcasts,
  };
}
