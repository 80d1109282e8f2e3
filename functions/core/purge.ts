// Delete my own chat history: every message the caller sent, in every room or in
// one, removed for everyone. Members' open connections are told at once so their
// clients drop the messages without a reload.
import * as v from 'valibot';
import { requireCallerWithin } from './limits.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { Deps, Sql } from './ports.js';
import { requestId, room } from './protocol.js';

/** `{"action":"purge","id"?,"room"?}`: routed through `$default`, as API Gateway's routes are fixed. */
export const PurgeFrame = v.object({ action: v.literal('purge'), id: requestId, room: v.optional(room) });
export type PurgeFrame = v.InferOutput<typeof PurgeFrame>;

/**
 * Deletes the user's messages and, in the same statement, reports per room how
 * many went, the highest id among them and the connections of the room's members.
 */
function deleteMessagesOf(sql: Sql, userId: string, roomId: string | undefined) {
  return sql<{ room_id: string; count: number; through: string; recipients: string[] }[]>`
    with gone as (
      delete from messages
      where sender_id = ${userId} ${roomId !== undefined ? sql`and room_id = ${roomId}` : sql``}
      returning room_id, id
    )
    select g.room_id, count(*)::int as count, max(g.id)::text as through,
      array(
        select c.id from memberships m join connections c on c.user_id = m.user_id
        where m.room_id = g.room_id
      ) as recipients
    from gone g
    group by g.room_id
    order by g.room_id`;
}

export async function purgeMyMessages(deps: Deps, connectionId: string, frame: PurgeFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'purge');
  const rows = await deleteMessagesOf(deps.sql, caller.userId, frame.room?.id);
  // One small frame per room whatever the number of messages: clients drop every
  // message from this user up to `through` (later ids are messages sent after).
  const broadcasts: Broadcast[] = rows
    .filter((r) => r.recipients.length > 0)
    .map((r) => ({ to: r.recipients, frame: { type: 'deleted', room: r.room_id, from: caller.username, through: r.through } }));
  return {
    reply: {
      type: 'purged',
      count: rows.reduce((n, r) => n + r.count, 0),
      rooms: rows.map((r) => ({ room: r.room_id, count: r.count, through: r.through })),
    },
    broadcasts,
  };
}
