// $default: whatever matched no route: a malformed frame, an unknown action, the
// heartbeat `ping` (answered without touching the database), `purge` (delete my own
// messages), `tour_seen` (the welcome tour, once per account), and `members` and
// `rooms` (the rest of a list a reply could not hold), `typing`, `read` (marks a
// room read on every device) and `settings`, and the conversation actions `edit`,
// `delete`, `react` and `changes`, which have no route of their own because API
// Gateway's are fixed.
import * as v from 'valibot';
import { CONVERSATION_ACTIONS } from './core/conversations.js';
import { BadRequest } from './core/errors.js';
import { Envelope, TourSeenFrame, describeIssues } from './core/protocol.js';
import { MembersFrame, RoomsFrame, membersPage, roomsPage } from './core/listing.js';
import { PurgeFrame, purgeMyMessages } from './core/purge.js';
import { ReadFrame, SettingsFrame, changeSettings, markRoomRead } from './core/reads.js';
import { markTourSeen } from './core/tour.js';
import { TypingFrame, typing } from './core/typing.js';
import type { Outcome } from './core/outcome.js';
import type { Deps } from './core/ports.js';
import { messageRoute } from './route.js';

// Loose, so an action's own fields survive for its schema below.
const DefaultFrame = v.looseObject(Envelope.entries);

export const handler = messageRoute(DefaultFrame, async (deps, connectionId, frame) => {
  if (frame.action === 'ping') return { reply: { type: 'pong' } };
  if (frame.action === 'purge') {
    const parsed = v.safeParse(PurgeFrame, frame);
    if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
    return purgeMyMessages(deps, connectionId, parsed.output);
  }
  if (frame.action === 'tour_seen') {
    const parsed = v.safeParse(TourSeenFrame, frame);
    if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
    return markTourSeen(deps, connectionId, parsed.output);
  }
  if (frame.action === 'members') {
    const parsed = v.safeParse(MembersFrame, frame);
    if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
    return membersPage(deps, connectionId, parsed.output);
  }
  if (frame.action === 'rooms') {
    const parsed = v.safeParse(RoomsFrame, frame);
    if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
    return roomsPage(deps, connectionId, parsed.output);
  }
  if (frame.action === 'typing') {
    const parsed = v.safeParse(TypingFrame, frame);
    if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
    return typing(deps, connectionId, parsed.output);
  }
  if (frame.action === 'read') {
    const parsed = v.safeParse(ReadFrame, frame);
    if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
    return markRoomRead(deps, connectionId, parsed.output);
  }
  if (frame.action === 'settings') {
    const parsed = v.safeParse(SettingsFrame, frame);
    if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
    return changeSettings(deps, connectionId, parsed.output);
  }
  if (Object.hasOwn(CONVERSATION_ACTIONS, frame.action)) {
    const { schema, run } = CONVERSATION_ACTIONS[frame.action as keyof typeof CONVERSATION_ACTIONS];
    const parsed = v.safeParse(schema, frame);
    if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
    return (run as (deps: Deps, connectionId: string, frame: unknown) => Promise<Outcome>)(deps, connectionId, parsed.output);
  }
  throw new BadRequest(`Unknown action "${frame.action}".`);
});
