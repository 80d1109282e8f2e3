// The rest of a list that a reply could not hold: `joined` carries the first
// part of a room's members and `authed` the first part of the caller's rooms,
// each within a byte budget (sizes.ts); these two actions page through the rest.
// Both travel on `$default`, as API Gateway's routes are fixed.
import * as v from 'valibot';
import { Forbidden } from './errors.js';
import { requireCallerWithin } from './limits.js';
import { USERNAME } from './names.js';
import type { Outcome } from './outcome.js';
import type { Deps } from './ports.js';
import { requestId, room } from './protocol.js';
import { isMember, listMembers, userRoomsPage } from './rooms.js';
import { REPLY_BUDGET_BYTES } from './sizes.js';

/** `{"action":"members","id"?,"room","after"?}`: members by username, after `after`. */
export const MembersFrame = v.object({
  action: v.literal('members'),
  id: requestId,
  room,
  after: v.optional(v.pipe(v.string('after must be a username'), v.regex(USERNAME, 'after must be a username'))),
});
export type MembersFrame = v.InferOutput<typeof MembersFrame>;

/** `{"action":"rooms","id"?,"after"?}`: the caller's rooms in `authed`'s order, after the room `after`. */
export const RoomsFrame = v.object({ action: v.literal('rooms'), id: requestId, after: v.optional(room) });
export type RoomsFrame = v.InferOutput<typeof RoomsFrame>;

export async function membersPage(deps: Deps, connectionId: string, frame: MembersFrame): Promise<Outcome> {
  const { sql } = deps;
  // Charged as a read, as a history page: a page of a big room's members is as
  // large, and a member list is not a way around the budget of either.
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  if (!(await isMember(sql, frame.room.id, caller.userId))) {
    throw new Forbidden(frame.room.kind === 'dm' ? 'You are not in this conversation.' : `You are not a member of #${frame.room.id}.`);
  }
  const page = await listMembers(sql, frame.room.id, REPLY_BUDGET_BYTES, frame.after, caller.userId);
  return { reply: { type: 'members', room: frame.room.id, members: page.members, hasMore: page.more } };
}

export async function roomsPage(deps: Deps, connectionId: string, frame: RoomsFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  const page = await userRoomsPage(deps.sql, caller.userId, caller.username, REPLY_BUDGET_BYTES, frame.after);
  return { reply: { type: 'rooms', rooms: page.rooms, hasMore: page.more } };
}
