// Who may do what in a channel (E21), as pure functions: the moderation actions
// (moderation.ts) ask these, and the rules are tested case by case without a
// database. Ranks: a server administrator (ADMIN_USERS) above a channel's owner,
// the owner above its moderators, moderators above members.
import { GENERAL } from './names.js';

/** What someone is in one channel. */
export interface RoomStanding {
  /** a server administrator (admins.ts): moderates every channel */
  admin: boolean;
  owner: boolean;
  moderator: boolean;
  member: boolean;
}

/** The things a channel's moderation decides. */
export type RoomAct =
  | 'topic' // set the topic
  | 'remove' // remove anyone's message
  | 'rename'
  | 'privacy' // make it private or public
  | 'kick'
  | 'ban' // ban, unban, list bans
  | 'appoint' // make or unmake a moderator
  | 'invite';

/** A role as ROOM's `role` shows it; absent for a plain member. */
export type RoomRole = 'owner' | 'moderator';

export function roleOf(s: Pick<RoomStanding, 'owner' | 'moderator'>): RoomRole | undefined {
  return s.owner ? 'owner' : s.moderator ? 'moderator' : undefined;
}

function rank(s: RoomStanding): number {
  if (s.admin) return 3;
  if (s.owner) return 2;
  if (s.moderator) return 1;
  return 0;
}

/**
 * Whether `actor` may do `act` in the channel `roomId`. Administrators may do
 * everything everywhere. Everyone else acts only in a channel they are in.
 * `general` is everyone's: it has no owner, and only administrators rename it,
 * make it private, or remove (kick or ban) anyone from it; moderators that an
 * administrator appointed there set its topic and remove messages.
 */
export function mayAct(act: RoomAct, roomId: string, actor: RoomStanding): boolean {
  if (actor.admin) return true;
  if (!actor.member) return false;
  const general = roomId === GENERAL;
  const moderates = actor.owner || actor.moderator;
  switch (act) {
    case 'invite':
      return !general; // everyone is in general already
    case 'topic':
    case 'remove':
      return moderates;
    case 'appoint':
      return !general && actor.owner;
    case 'rename':
    case 'privacy':
    case 'kick':
    case 'ban':
      return !general && moderates;
  }
}

/**
 * Whether `actor` may kick or ban `target`: only someone of a lower rank, never
 * oneself (a moderator cannot remove another moderator or the owner; the owner
 * can remove a moderator; nobody but an administrator removes an administrator,
 * and no administrator another).
 */
export function mayRemovePerson(actor: RoomStanding, target: RoomStanding, self: boolean): boolean {
  return !self && rank(actor) > rank(target);
}
