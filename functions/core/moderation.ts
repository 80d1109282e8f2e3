// Channel roles and moderation (E21): a channel's owner (its creator) makes and
// unmakes moderators; owners and moderators set the topic, rename the channel,
// make it private or public, kick or ban a member, and remove anyone's message;
// any member invites people. The server's administrators (ADMIN_USERS) moderate
// every channel. Who may do what is room-rules.ts; this file reads where the
// caller and the person acted on stand, asks those rules, and changes the rows.
//
// A removal (kick or ban) deletes the membership row in one statement: every
// fan-out (send, changes, typing, presence, reads) selects its recipients from
// memberships, so the removed person's open connections receive nothing of the
// room from the commit on, and are told so by `removed_from_room`.
import * as v from 'valibot';
import { isServerAdmin } from './admins.js';
import { refusingBanned } from './channel-entry.js';
import { deleteFiles } from './files.js';
import { BadRequest, Conflict, Forbidden, NotFound } from './errors.js';
import { BIDI_CONTROLS } from './file-types.js';
import { notExpired } from './expiry.js';
import type { Caller } from './identity.js';
import { requireCallerWithin } from './limits.js';
import { CHANNEL, GENERAL, USERNAME, hasForbiddenControls, type RoomName } from './names.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { Deps, Frame, Queryable, Sql } from './ports.js';
import { membershipPresence } from './presence.js';
import { type Message, requestId, requiredMessageId, room } from './protocol.js';
import { readMessage } from './messages.js';
import { readStateOf } from './reads.js';
import { type RoomAct, type RoomStanding, mayAct, mayRemovePerson } from './room-rules.js';
import { roomInfo, roomTimerOf } from './rooms.js';

/** A topic's longest length, in characters. */
export const MAX_TOPIC = 250;

const person = v.pipe(v.string('user must be a username'), v.toLowerCase(), v.regex(USERNAME, 'user must be a username'));
const channelName = v.pipe(
  v.string('name must be a channel name'),
  v.toLowerCase(),
  v.regex(CHANNEL, 'A channel name is 1 to 32 characters of a-z, 0-9, _ and -.'),
);
const topic = v.pipe(
  v.string('topic must be a string'),
  v.trim(),
  v.maxLength(MAX_TOPIC, `A topic is at most ${MAX_TOPIC} characters.`),
  v.check((s) => s.isWellFormed() && !hasForbiddenControls(s) && !/[\r\n]/.test(s), 'A topic is one line of ordinary characters.'),
  // as in profile text: an override (U+202E) or isolate would reorder what the channel's readers see
  v.check((s) => !BIDI_CONTROLS.test(s), 'A topic cannot contain characters that change the direction of text.'),
);

export const UpdateRoomFrame = v.pipe(
  v.object({
    action: v.literal('update_room'),
    id: requestId,
    room,
    topic: v.optional(topic),
    name: v.optional(channelName),
    private: v.optional(v.boolean('private must be true or false')),
  }),
  v.check((f) => f.topic !== undefined || f.name !== undefined || f.private !== undefined, 'Say what to change: topic, name or private.'),
);
export type UpdateRoomFrame = v.InferOutput<typeof UpdateRoomFrame>;

export const SetRoleFrame = v.object({
  action: v.literal('set_role'),
  id: requestId,
  room,
  user: person,
  role: v.picklist(['moderator', 'member'], 'role must be moderator or member'),
});
export type SetRoleFrame = v.InferOutput<typeof SetRoleFrame>;

const personAction = <A extends string>(action: A) => v.object({ action: v.literal(action), id: requestId, room, user: person });
export const KickFrame = personAction('kick');
export const BanFrame = personAction('ban');
export const UnbanFrame = personAction('unban');
export const InviteFrame = personAction('invite');
export type PersonFrame = v.InferOutput<typeof KickFrame>;

export const BansFrame = v.object({
  action: v.literal('bans'),
  id: requestId,
  room,
  after: v.optional(v.pipe(v.string('after must be a username'), v.regex(USERNAME, 'after must be a username'))),
});
export type BansFrame = v.InferOutput<typeof BansFrame>;

export const RemoveMessageFrame = v.object({ action: v.literal('remove_message'), id: requestId, room, message: requiredMessageId('message') });
export type RemoveMessageFrame = v.InferOutput<typeof RemoveMessageFrame>;

/** Bans a page of `bans` lists. */
export const BANS_PAGE = 100;

interface StandingRow {
  room_exists: boolean;
  private: boolean;
  owner: boolean;
  moderator: boolean;
  member: boolean;
  target_id: string | null;
  target_owner: boolean;
  target_moderator: boolean;
  target_member: boolean;
  target_banned: boolean;
  target_channels: number;
}

/** Where the caller, and the person acted on when there is one, stand in the channel: one statement. */
async function readStanding(sql: Sql, caller: Caller, roomId: string, target?: string) {
  const [row] = await sql<StandingRow[]>`
    with t as (select id from users where username = ${target ?? ''} and verified_at is not null)
    select exists (select 1 from rooms r where r.id = ${roomId}) as room_exists,
      coalesce((select r.private from rooms r where r.id = ${roomId}), false) as private,
      exists (select 1 from rooms r where r.id = ${roomId} and r.owner_id = ${caller.userId}) as owner,
      exists (select 1 from memberships m where m.room_id = ${roomId} and m.user_id = ${caller.userId} and m.moderator) as moderator,
      exists (select 1 from memberships m where m.room_id = ${roomId} and m.user_id = ${caller.userId}) as member,
      (select id::text from t) as target_id,
      exists (select 1 from rooms r join t on r.owner_id = t.id where r.id = ${roomId}) as target_owner,
      exists (select 1 from memberships m join t on m.user_id = t.id where m.room_id = ${roomId} and m.moderator) as target_moderator,
      exists (select 1 from memberships m join t on m.user_id = t.id where m.room_id = ${roomId}) as target_member,
      exists (select 1 from room_bans b join t on b.user_id = t.id where b.room_id = ${roomId}) as target_banned,
      (select count(*)::int from memberships m join t on m.user_id = t.id where m.room_id not like 'dm:%') as target_channels`;
  return row!;
}

interface Acting {
  caller: Caller;
  actor: RoomStanding;
  row: StandingRow;
  target?: { id: string; name: string; standing: RoomStanding };
}

/** The one answer to anyone not in a channel, whether it exists, is private, or not: nothing is learnt. */
function notIn(room: RoomName): NotFound {
  return new NotFound(`You are not in #${room.id}.`);
}

const REFUSALS: Record<RoomAct, string> = {
  topic: "Only the channel's owner and moderators can set its topic.",
  remove: "Only the channel's owner and moderators can remove other people's messages.",
  rename: "Only the channel's owner and moderators can rename it.",
  privacy: "Only the channel's owner and moderators can make it private or public.",
  kick: "Only the channel's owner and moderators can remove people from it.",
  ban: "Only the channel's owner and moderators can ban people from it.",
  appoint: "Only the channel's owner can make or unmake moderators.",
  invite: 'Everyone is in #general already.',
};

function refusal(act: RoomAct, room: RoomName): Forbidden {
  if (room.id === GENERAL && act !== 'invite' && act !== 'topic' && act !== 'remove') {
    return new Forbidden('#general is everyone\'s: only the server\'s administrators can do that there.');
  }
  return new Forbidden(REFUSALS[act]);
}

/**
 * The caller within the action's budget, where they stand, and whether every
 * one of `acts` is theirs to do in the channel; the person acted on, when named,
 * must exist.
 */
async function beginActing(
  deps: Deps,
  connectionId: string,
  room: RoomName,
  acts: RoomAct[],
  target?: string,
  budget: 'moderate' | 'invite' = 'moderate',
): Promise<Acting> {
  const caller = await requireCallerWithin(deps, connectionId, budget);
  if (room.kind !== 'channel') throw new BadRequest('A direct conversation has no moderators; only channels do.');
  const row = await readStanding(deps.sql, caller, room.id, target);
  const actor: RoomStanding = {
    admin: isServerAdmin(deps.settings, caller.username),
    owner: row.owner,
    moderator: row.moderator,
    member: row.member,
  };
  // an administrator learns whether a channel exists; anyone else not in it nothing
  if (!row.room_exists || !(actor.member || actor.admin)) throw actor.admin ? new NotFound(`There is no channel #${room.id}.`) : notIn(room);
  for (const act of acts) if (!mayAct(act, room.id, actor)) throw refusal(act, room);
  if (target === undefined) return { caller, actor, row };
  if (!row.target_id) throw new NotFound(`There is nobody called ${target}.`);
  const standing: RoomStanding = {
    admin: isServerAdmin(deps.settings, target),
    owner: row.target_owner,
    moderator: row.target_moderator,
    member: row.target_member,
  };
  return { caller, actor, row, target: { id: row.target_id, name: target, standing } };
}

/** Every connection of the room's members but one connection (the caller's, which gets the reply). */
function roomConnections(sql: Sql, roomId: string, except: string) {
  return sql`array(select c.id from memberships m join connections c on c.user_id = m.user_id where m.room_id = ${roomId} and c.id <> ${except})`;
}

function toAll(to: string[], frame: Frame): Broadcast[] {
  return to.length ? [{ to, frame }] : [];
}

/** `update_room`: a channel's topic, shown name, or privacy, announced to every member as `room_updated`. */
export async function updateRoom(deps: Deps, connectionId: string, frame: UpdateRoomFrame): Promise<Outcome> {
  const { sql } = deps;
  const acts: RoomAct[] = [];
  if (frame.topic !== undefined) acts.push('topic');
  if (frame.name !== undefined) acts.push('rename');
  if (frame.private !== undefined) acts.push('privacy');
  const { caller } = await beginActing(deps, connectionId, frame.room, acts);
  const roomId = frame.room.id;
  const name = frame.name ?? null;
  let rows: { name: string; topic: string; private: boolean; recipients: string[] }[];
  try {
    rows = await sql`
      with updated as (
        update rooms r set topic = coalesce(${frame.topic ?? null}::text, r.topic),
          name = case when ${name}::text is null then r.name when ${name}::text = r.id then null else ${name}::text end,
          private = coalesce(${frame.private ?? null}::boolean, r.private)
        where r.id = ${roomId} and (${name}::text is null or not exists (
          select 1 from rooms o where o.kind = 'channel' and o.id <> r.id and (o.id = ${name}::text or o.name = ${name}::text)))
        returning coalesce(r.name, r.id) as name, r.topic, r.private
      )
      select u.*, ${roomConnections(sql, roomId, caller.connectionId)} as recipients from updated u`;
  } catch (error) {
    // two renames to one name at once: the unique index settles it
    if ((error as { code?: string }).code === '23505') rows = [];
    else throw error;
  }
  const [row] = rows;
  if (!row) throw new Conflict(`There is already a channel #${name}; choose another name.`);
  const event = {
    type: 'room_updated',
    room: { id: roomId, kind: 'channel', name: row.name, topic: row.topic, private: row.private },
    by: caller.username,
  };
  return { reply: event, broadcasts: toAll(row.recipients, event) };
}

/** `set_role`: the owner (or an administrator) makes a member a moderator, or a moderator a member again. */
export async function setRole(deps: Deps, connectionId: string, frame: SetRoleFrame): Promise<Outcome> {
  const { sql } = deps;
  const { caller, target } = await beginActing(deps, connectionId, frame.room, ['appoint'], frame.user);
  if (!target!.standing.member) throw new NotFound(`${frame.user} is not in #${frame.room.id}.`);
  if (target!.standing.owner) throw new BadRequest(`${frame.user} owns #${frame.room.id}: an owner is more than a moderator.`);
  const [row] = await sql<{ recipients: string[] }[]>`
    with changed as (
      update memberships set moderator = ${frame.role === 'moderator'}
      where room_id = ${frame.room.id} and user_id = ${target!.id}
    )
    select ${roomConnections(sql, frame.room.id, caller.connectionId)} as recipients`;
  const event = { type: 'role_changed', room: frame.room.id, user: frame.user, role: frame.role, by: caller.username };
  return { reply: event, broadcasts: toAll(row!.recipients, event) };
}

/**
 * Removes a member (and with `ban`, records the ban) in one statement, which
 * reads the remaining members and the removed person's connections as they were.
 *
 * A ban first takes the (room, person) lock a channel membership insert takes
 * (schema/020_ban_guard.sql), in a transaction, so the statement's snapshot
 * holds a `join` of that person that committed just before: it is removed and
 * told so here, and a `join` after it finds the ban.
 */
async function removeFromRoom(sql: Sql, roomId: string, targetId: string, byId: string, ban: boolean) {
  if (!ban) return removeStatement(sql, roomId, targetId, byId, false);
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(ban_guard_key(${roomId}, ${targetId}::bigint))`;
    return removeStatement(tx, roomId, targetId, byId, true);
  });
}

function removeStatement(sql: Queryable, roomId: string, targetId: string, byId: string, ban: boolean) {
  return sql<{ removed: boolean; recipients: string[]; removed_connections: string[] }[]>`
    with removed as (
      delete from memberships where room_id = ${roomId} and user_id = ${targetId} returning user_id
    ), banned as (
      insert into room_bans (room_id, user_id, banned_by) select ${roomId}, ${targetId}, ${byId} where ${ban}::boolean
      on conflict (room_id, user_id) do nothing
    )
    select exists (select 1 from removed) as removed,
      array(select c.id from memberships m join connections c on c.user_id = m.user_id
        where m.room_id = ${roomId} and m.user_id <> ${targetId}) as recipients,
      array(select c.id from connections c where c.user_id = ${targetId}) as removed_connections`;
}

async function removePerson(deps: Deps, connectionId: string, frame: PersonFrame, ban: boolean): Promise<Outcome> {
  const act = ban ? 'ban' : 'kick';
  const { caller, actor, target } = await beginActing(deps, connectionId, frame.room, [act], frame.user);
  const self = target!.id === caller.userId;
  if (self) throw new BadRequest(`You cannot ${act} yourself; leave the channel instead.`);
  if (!mayRemovePerson(actor, target!.standing, self)) {
    throw new Forbidden(`You cannot ${act} ${frame.user}: only someone above them in #${frame.room.id} can.`);
  }
  if (!ban && !target!.standing.member) throw new NotFound(`${frame.user} is not in #${frame.room.id}.`);
  const [row] = await removeFromRoom(deps.sql, frame.room.id, target!.id, caller.userId, ban);
  const reason = ban ? 'banned' : 'kicked';
  const broadcasts: Broadcast[] = [];
  if (row!.removed) {
    broadcasts.push(...membershipPresence(row!.recipients.filter((c) => c !== caller.connectionId), frame.room.id, frame.user, false));
    broadcasts.push(...toAll(row!.removed_connections, { type: 'removed_from_room', room: frame.room.id, reason, by: caller.username }));
  }
  return { reply: { type: reason, room: frame.room.id, user: frame.user }, broadcasts };
}

/** `kick`: removes a member; they may join again (a private channel: when invited again). */
export function kick(deps: Deps, connectionId: string, frame: PersonFrame): Promise<Outcome> {
  return removePerson(deps, connectionId, frame, false);
}

/** `ban`: removes a member, or anyone not in the channel yet, and keeps them out until `unban`. */
export function ban(deps: Deps, connectionId: string, frame: PersonFrame): Promise<Outcome> {
  return removePerson(deps, connectionId, frame, true);
}

/** `unban`: the person may join (or be invited) again. */
export async function unban(deps: Deps, connectionId: string, frame: PersonFrame): Promise<Outcome> {
  const { target } = await beginActing(deps, connectionId, frame.room, ['ban'], frame.user);
  const gone = await deps.sql`delete from room_bans where room_id = ${frame.room.id} and user_id = ${target!.id} returning user_id`;
  if (gone.length === 0) throw new NotFound(`${frame.user} is not banned from #${frame.room.id}.`);
  return { reply: { type: 'unbanned', room: frame.room.id, user: frame.user } };
}

/** `bans`: who is banned from the channel, by username, a page after `after`. */
export async function listBans(deps: Deps, connectionId: string, frame: BansFrame): Promise<Outcome> {
  await beginActing(deps, connectionId, frame.room, ['ban']);
  const rows = await deps.sql<{ user: string; by: string | null; at: Date }[]>`
    select u.username as user, (select bu.username from users bu where bu.id = b.banned_by) as by, b.banned_at as at
    from room_bans b join users u on u.id = b.user_id
    where b.room_id = ${frame.room.id} ${frame.after ? deps.sql`and u.username > ${frame.after}` : deps.sql``}
    order by u.username limit ${BANS_PAGE + 1}`;
  const bans = rows.slice(0, BANS_PAGE).map((r) => ({ user: r.user, ...(r.by ? { by: r.by } : {}), at: r.at.toISOString() }));
  return { reply: { type: 'bans', room: frame.room.id, bans, hasMore: rows.length > BANS_PAGE } };
}

/**
 * `invite`: a member adds someone to the channel (the only way into a private
 * one). The invitee's connections get `added_to_room` with the ROOM as they see
 * it; the other members `presence`. A banned person is not invited.
 */
export async function invite(deps: Deps, connectionId: string, frame: PersonFrame): Promise<Outcome> {
  const { sql } = deps;
  const { caller, target, row } = await beginActing(deps, connectionId, frame.room, ['invite'], frame.user, 'invite');
  const roomId = frame.room.id;
  if (target!.standing.member) throw new Conflict(`${frame.user} is in #${roomId} already.`);
  // a ban committed after readStanding is refused by the insert itself, with the same sentence
  const bannedNow = () => new Forbidden(`${frame.user} is banned from #${roomId}; unban them first.`);
  if (row.target_banned) throw bannedNow();
  if (row.target_channels >= deps.settings.roomsPerUser) throw new Forbidden(`${frame.user} is in the most channels allowed.`);
  const [added] = await refusingBanned(sql<{
    added: boolean;
    block: 'mine' | 'theirs' | null;
    recipients: string[];
    invitee_connections: string[];
    last_message_id: string | null;
  }[]>`
    with blocked as (
      -- (E22) nobody is put in a room by a person either of them blocked
      select case when b.blocker_id = ${caller.userId}::bigint then 'mine' else 'theirs' end as way
      from blocks b
      where (b.blocker_id = ${caller.userId}::bigint and b.blocked_id = ${target!.id}::bigint)
        or (b.blocker_id = ${target!.id}::bigint and b.blocked_id = ${caller.userId}::bigint)
      order by b.blocker_id = ${caller.userId}::bigint desc
      limit 1
    ), added as (
      insert into memberships (room_id, user_id) select ${roomId}, ${target!.id}::bigint where not exists (select 1 from blocked)
      on conflict do nothing returning user_id
    ), mark as (
      -- the invitee starts with the room read, as a joiner does
      insert into read_marks (user_id, room_id, through)
      select ${target!.id}::bigint, r.id, r.last_message_id from rooms r
      where r.id = ${roomId} and r.last_message_id is not null and exists (select 1 from added)
      on conflict (user_id, room_id) do update set through = greatest(read_marks.through, excluded.through)
    )
    select exists (select 1 from added) as added, (select way from blocked) as block,
      ${roomConnections(sql, roomId, caller.connectionId)} as recipients,
      array(select c.id from connections c where c.user_id = ${target!.id}) as invitee_connections,
      (select max(x.id) from messages x where x.room_id = ${roomId} and x.deleted_at is null and ${notExpired(sql, 'x')})::text as last_message_id`, bannedNow);
  // The blocked inviter hears only that it could not be done, never that they are blocked.
  if (added!.block === 'theirs') throw new Forbidden(inviteNotDelivered(frame.user, roomId));
  if (added!.block === 'mine') throw new Forbidden(`You have blocked ${frame.user}; unblock them to invite them.`);
  if (!added!.added) throw new Conflict(`${frame.user} is in #${roomId} already.`);
  const broadcasts = membershipPresence(added!.recipients, roomId, frame.user, true);
  if (added!.invitee_connections.length) {
    const [reads, timer] = await Promise.all([readStateOf(sql, target!.id, frame.room), roomTimerOf(sql, roomId, target!.id)]);
    const info = roomInfo(roomId, added!.last_message_id, frame.user, reads, timer);
    broadcasts.push({ to: added!.invitee_connections, frame: { type: 'added_to_room', room: info, by: caller.username } });
  }
  return { reply: { type: 'invited', room: roomId, user: frame.user }, broadcasts };
}

/** *(E22)* An invitation refused across a block, in the words of a refused direct message. */
export function inviteNotDelivered(user: string, roomId: string): string {
  return `${user} could not be invited to #${roomId}.`;
}

/** Who removes a message: `admin` from isServerAdmin. */
export interface Remover {
  userId: string;
  username: string;
  admin: boolean;
}

interface RemoveRow {
  room_id: string | null;
  found: boolean;
  allowed: boolean;
  was_deleted: boolean | null;
  notice: boolean | null;
  changed: boolean;
  change_seq: string | null;
  prev_seq: string | null;
  recipients: string[] | null;
  detached: string[];
}

/**
 * Removes anyone's message as a moderator of its room, or as an administrator
 * in any room: it becomes a tombstone, like its author's `delete`, with
 * `removedBy`. One statement: the permission, the room's seq (its row lock
 * orders the change among the room's), the tombstone, its reactions and files
 * let go, and the recipients: every connection of the room's members (the
 * actor's too, as `changed` goes to an author's own devices). Returns that
 * fan-out and the message's new state. Removing a removed or deleted message
 * again changes nothing.
 */
export async function removeMessage(
  deps: Deps,
  actor: Remover,
  messageId: string,
  roomId?: string,
): Promise<{ roomId: string; message: Message; broadcasts: Broadcast[] }> {
  const { sql } = deps;
  const [row] = await sql<RemoveRow[]>`
    with target as (
      select m.id, m.room_id, m.deleted_at is not null as deleted, m.timer is not null as notice
      from messages m
      where m.id = ${messageId} ${roomId ? sql`and m.room_id = ${roomId}` : sql``} and ${notExpired(sql, 'm')}
    ), allowed as (
      select t.* from target t
      where ${actor.admin}::boolean or exists (
        select 1 from memberships mm join rooms rr on rr.id = mm.room_id
        where mm.room_id = t.room_id and mm.user_id = ${actor.userId} and rr.kind = 'channel'
          and (mm.moderator or rr.owner_id = mm.user_id))
    ), bump as (
      update rooms r set prev_seq = r.last_seq, last_seq = nextval('message_seqs')
      from allowed a where r.id = a.room_id and not a.deleted and not a.notice
      returning r.last_seq as seq, r.prev_seq
    ), changed as (
      update messages m set seq = b.seq, body = '', deleted_at = now(), edited_at = null, reply_to = null,
        mentioned_user_ids = '{}', mentions_here = false, removed_by = ${actor.username}
      from bump b
      where m.id = ${messageId} and m.deleted_at is null
      returning m.id, m.room_id
    ), unreacted as (
      delete from reactions r using changed d where r.message_id = d.id
    ), detached as (
      update files f set message_id = null from changed d where f.message_id = d.id returning f.id
    )
    select (select room_id from target) as room_id, exists (select 1 from target) as found,
      exists (select 1 from allowed) as allowed,
      (select deleted from target) as was_deleted, (select notice from target) as notice,
      exists (select 1 from changed) as changed,
      (select seq::text from bump) as change_seq, (select prev_seq::text from bump) as prev_seq,
      case when exists (select 1 from changed) then array(
        select cn.id from memberships mm join connections cn on cn.user_id = mm.user_id
        where mm.room_id = (select room_id from changed)
      ) end as recipients,
      array(select id from detached) as detached`;
  // the same answer for a message that is not there and one in a room the actor does not moderate
  if (!row?.found || !row.allowed) throw new NotFound('That message does not exist, or you do not moderate its room.');
  if (row.notice) throw new BadRequest('An announcement of a timer change cannot be removed.');
  const message = await readMessage(sql, messageId);
  if (!message?.deleted) throw new NotFound('That message does not exist, or you do not moderate its room.');
  if (row.detached.length) await deleteFiles(deps, row.detached);
  const broadcasts: Broadcast[] = row.changed
    ? toAll(row.recipients ?? [], { type: 'changed', room: row.room_id, seq: row.change_seq, prevSeq: row.prev_seq, message })
    : [];
  return { roomId: row.room_id!, message, broadcasts };
}

/** `remove_message`: a moderator (or an administrator) removes someone's message from a channel. */
export async function removeMessageAction(deps: Deps, connectionId: string, frame: RemoveMessageFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'moderate');
  const admin = isServerAdmin(deps.settings, caller.username);
  const { message, broadcasts } = await removeMessage(deps, { ...caller, admin }, frame.message, frame.room.id);
  return { reply: { type: 'removed_message', room: frame.room.id, message: frame.message, seq: message.seq }, broadcasts };
}

/** The E21 moderation actions `$default` routes, with their frames. */
export const MODERATION_ACTIONS = {
  update_room: { schema: UpdateRoomFrame, run: updateRoom },
  set_role: { schema: SetRoleFrame, run: setRole },
  kick: { schema: KickFrame, run: kick },
  ban: { schema: BanFrame, run: ban },
  unban: { schema: UnbanFrame, run: unban },
  bans: { schema: BansFrame, run: listBans },
  invite: { schema: InviteFrame, run: invite },
  remove_message: { schema: RemoveMessageFrame, run: removeMessageAction },
} as const;
