// Who may do what in a channel (E21): every act for every standing, in a channel
// and in general, and who may remove whom.
import { describe, expect, it } from 'vitest';
import { type RoomAct, type RoomStanding, mayAct, mayRemovePerson, roleOf } from '../../functions/core/room-rules.js';

const none: RoomStanding = { admin: false, owner: false, moderator: false, member: false };
const member: RoomStanding = { ...none, member: true };
const moderator: RoomStanding = { ...member, moderator: true };
const owner: RoomStanding = { ...member, owner: true };
const admin: RoomStanding = { ...none, admin: true };
const ACTS: RoomAct[] = ['topic', 'remove', 'rename', 'privacy', 'kick', 'ban', 'appoint', 'invite'];

const allowed = (s: RoomStanding, room: string) => ACTS.filter((a) => mayAct(a, room, s));

describe('mayAct', () => {
  it('in a channel: members invite; moderators also moderate; only the owner appoints; administrators do all', () => {
    expect(allowed(none, 'ops')).toEqual([]);
    expect(allowed(member, 'ops')).toEqual(['invite']);
    expect(allowed(moderator, 'ops')).toEqual(['topic', 'remove', 'rename', 'privacy', 'kick', 'ban', 'invite']);
    expect(allowed(owner, 'ops')).toEqual(ACTS);
    expect(allowed(admin, 'ops')).toEqual(ACTS);
    // an owner who left acts no more until back in it
    expect(allowed({ ...owner, member: false }, 'ops')).toEqual([]);
  });

  it('in general: no renaming, privacy, kicks, bans or appointments but by administrators', () => {
    expect(allowed(member, 'general')).toEqual([]);
    expect(allowed(moderator, 'general')).toEqual(['topic', 'remove']);
    expect(allowed(owner, 'general')).toEqual(['topic', 'remove']);
    expect(allowed(admin, 'general')).toEqual(ACTS);
  });
});

describe('mayRemovePerson', () => {
  it('only someone of a higher rank, and never oneself', () => {
    expect(mayRemovePerson(moderator, member, false)).toBe(true);
    expect(mayRemovePerson(moderator, moderator, false)).toBe(false);
    expect(mayRemovePerson(moderator, owner, false)).toBe(false);
    expect(mayRemovePerson(owner, moderator, false)).toBe(true);
    expect(mayRemovePerson(owner, admin, false)).toBe(false);
    expect(mayRemovePerson(admin, owner, false)).toBe(true);
    expect(mayRemovePerson(admin, admin, false)).toBe(false);
    expect(mayRemovePerson(admin, member, true)).toBe(false);
    // a ban of someone not in the channel yet
    expect(mayRemovePerson(moderator, none, false)).toBe(true);
  });

  it('roleOf names the highest role', () => {
    expect([roleOf(owner), roleOf({ owner: true, moderator: true }), roleOf(moderator), roleOf(member)]).toEqual(['owner', 'owner', 'moderator', undefined]);
  });
});
