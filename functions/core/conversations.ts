// Conversations on top of messages: `edit` and `delete` one's own message, `react`
// to any, and `changes`, the change feed a client catches up from. Each change is
// ONE SQL statement (like `send`): the caller from the connection row, the
// action's budget, membership and ownership, the room's seq (its row lock orders
// changes by commit), the change itself, the recipients, and the message's whole
// new state. Everyone in the room, the caller's connections included, gets the
// new state as `changed`, with `seq` and `prevSeq` chaining the room's changes.
import * as v from 'valibot';
import type { Fragment } from 'postgres';
import { dmBlockSql } from './blocks.js';
import { chargeBucket, refilledTokens } from './budgets.js';
import { checkEmoji } from './emoji.js';
import { deleteFiles } from './files.js';
import { BadRequest, Forbidden, NotFound, Unauthorized } from './errors.js';
import { notExpired } from './expiry.js';
import { type ConversationAction, limitHit, requireCallerWithin, userBudget, userRefusal } from './limits.js';
import { parseMentions } from './mentions.js';
import {
  type MessageRow,
  describeRoom,
  dmBlocked,
  mentionedMembers,
  messageColumns,
  reactionSummary,
  readMessage,
  storedReactions,
  toMessage,
} from './messages.js';
import type { Outcome } from './outcome.js';
import type { Deps, Sql } from './ports.js';
import { applyProfanityPolicy } from './profanity.js';
import { type Message, type RoomName, pageLimit, requestId, requiredMessageId, room, text } from './protocol.js';
import { isMember } from './rooms.js';
import { REPLY_BUDGET_BYTES, fitPrefix } from './sizes.js';

/** Distinct emoji one message may carry. */
export const MAX_EMOJI_PER_MESSAGE = 20;

const emoji = v.pipe(
  v.string('emoji must be a string'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const checked = checkEmoji(dataset.value);
    if (checked.problem !== undefined) {
      addIssue({ message: checked.problem });
      return NEVER;
    }
    return checked.emoji;
  }),
);

/** A change seq as a cursor: "0" (before everything) or a seq. */
const seqCursor = v.pipe(v.string('after must be a seq string'), v.regex(/^(0|[1-9][0-9]{0,17})$/, 'after must be a seq'));

export const EditFrame = v.object({ action: v.literal('edit'), id: requestId, room, message: requiredMessageId('message'), text });
export type EditFrame = v.InferOutput<typeof EditFrame>;

export const DeleteFrame = v.object({ action: v.literal('delete'), id: requestId, room, message: requiredMessageId('message') });
export type DeleteFrame = v.InferOutput<typeof DeleteFrame>;

export const ReactFrame = v.object({
  action: v.literal('react'),
  id: requestId,
  room,
  message: requiredMessageId('message'),
  emoji,
  on: v.optional(v.boolean('on must be true or false'), true),
});
export type ReactFrame = v.InferOutput<typeof ReactFrame>;

export const ChangesFrame = v.object({
  action: v.literal('changes'),
  id: requestId,
  room,
  // null: the client's cursor before the room has ever changed (from the start)
  after: v.nullish(seqCursor),
  limit: pageLimit(200),
});
export type ChangesFrame = v.InferOutput<typeof ChangesFrame>;

interface ChangeRow extends Partial<MessageRow> {
  user_id: string;
  caller_name: string;
  /** the action's budget had a token (taken) */
  taken: boolean;
  tokens: number | null;
  /** the message is in the room and the caller is a member of it */
  found: boolean;
  own: boolean | null;
  was_deleted: boolean | null;
  /** the message announces a timer change (disappearing messages) */
  notice: boolean | null;
  /** *(E22)* direct messages, when the spec refuses a block: 'mine' or 'theirs' (null: none) */
  dm_block?: 'mine' | 'theirs' | null;
  /** this statement changed the message (and the room's seq) */
  changed: boolean;
  change_seq: string | null;
  prev_seq: string | null;
  /** no other change of the room committed between this statement's snapshot and its lock */
  calm: boolean;
  recipients: string[] | null;
  /** react: whether the caller had this reaction, whether anyone had this emoji, and the message's distinct emoji */
  mine?: boolean;
  emoji_present?: boolean;
  emoji_count?: number;
  /** delete: the files the message carried, now the sweep's unless removed at once */
  detached?: string[];
}

interface ChangeSpec {
  action: ConversationAction;
  /** on `t` (the target: id, sender_id, deleted) and `c` (the caller): whether this change may happen */
  allowed: Fragment;
  /** more of the `set` list of the message's update, after its new seq */
  update?: Fragment;
  /** more CTEs after `changed` (each starting with a comma) */
  more?: Fragment;
  /** more columns of the result (each ending with a comma) */
  columns?: Fragment;
  /** the reactions column of the message's new state */
  reactions?: Fragment;
  /**
   * *(E22)* refuse the change in a direct-message room when either person
   * blocked the other (edit, react); channels' statements are unchanged.
   */
  refuseBlocked?: boolean;
}

/**
 * One change to one message as one statement. The room's row is updated (its
 * seq bumped) before the message's, so every statement that changes messages
 * locks the room first: changes of a room commit in seq order, and none can
 * deadlock with another. A change that its checks refuse bumps nothing.
 */
function changeMessage(deps: Deps, connectionId: string, room: RoomName, messageId: string, spec: ChangeSpec) {
  const { sql } = deps;
  const roomId = room.id;
  const dmUsers = spec.refuseBlocked && room.kind === 'dm' ? room.users : undefined;
  const now = deps.clock.now();
  const budget = userBudget(deps.settings, spec.action);
  const key = `${spec.action}:user:`;
  return sql<ChangeRow[]>`
    with caller as (
      select c.user_id, u.username from connections c join users u on u.id = c.user_id where c.id = ${connectionId}
    ), taken as (
      ${chargeBucket(sql, sql`select ${key}::text || user_id as key from caller`, budget, now)}
    ), target as (
      -- only a member learns anything of a message, and nobody of an expired one
      select m.id, m.sender_id, m.deleted_at is not null as deleted, m.timer is not null as notice
      from messages m
      join caller c on true
      join memberships mm on mm.room_id = m.room_id and mm.user_id = c.user_id
      where m.id = ${messageId} and m.room_id = ${roomId} and ${notExpired(sql, 'm')}
    ), ${
      dmUsers
        ? sql`dm_block as (
      select ${dmBlockSql(sql, dmUsers)} as way from (select 1) one left join caller s on true
    ), allowed as (
      select t.id from target t join caller c on true
      where exists (select 1 from taken) and ${spec.allowed} and (select way from dm_block) is null`
        : sql`allowed as (
      select t.id from target t join caller c on true where exists (select 1 from taken) and ${spec.allowed}`
    }
    ), seen as (
      select last_seq from rooms where id = ${roomId}
    ), bump as (
      update rooms set prev_seq = last_seq, last_seq = nextval('message_seqs')
      where id = ${roomId} and exists (select 1 from allowed)
      returning last_seq as seq, prev_seq
    ), changed as (
      -- Joined to bump, so it runs once the room is locked; deleted_at is checked
      -- again on the row as it is then, so a delete that committed meanwhile wins.
      update messages m set seq = b.seq ${spec.update ? sql`, ${spec.update}` : sql``}
      from bump b
      where m.id = ${messageId} and m.room_id = ${roomId} and m.deleted_at is null
      returning m.*
    ) ${spec.more ?? sql``}
    select c.user_id, c.username as caller_name, exists (select 1 from taken) as taken,
      (select ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = ${key}::text || c.user_id) as tokens,
      exists (select 1 from target) as found,
      (select t.sender_id = c.user_id from target t) as own,
      (select t.deleted from target t) as was_deleted,
      (select t.notice from target t) as notice,
      ${dmUsers ? sql`(select way from dm_block) as dm_block,` : sql``}
      exists (select 1 from changed) as changed,
      (select seq::text from bump) as change_seq,
      (select prev_seq::text from bump) as prev_seq,
      (select last_seq from seen) is not distinct from (select prev_seq from bump) as calm,
      case when exists (select 1 from changed) then array(
        select cn.id from memberships mm join connections cn on cn.user_id = mm.user_id where mm.room_id = ${roomId}
      ) end as recipients,
      ${spec.columns ?? sql``}
      ${messageColumns(sql, spec.reactions)}
    from caller c
    left join lateral (
      select * from changed
      union all
      select * from messages
      where id = ${messageId} and room_id = ${roomId} and exists (select 1 from target) and not exists (select 1 from changed)
    ) m on true`;
}

const NOT_FOUND = 'That message does not exist, or you are not in its room.';
const DELETED = 'That message has been deleted.';

/** The caller and the budget: the errors every change checks first. */
function checkCaller(deps: Deps, connectionId: string, action: ConversationAction, row: ChangeRow | undefined): asserts row is ChangeRow {
  if (!row?.user_id) throw new Unauthorized('Log in first.');
  if (!row.taken) {
    limitHit(deps.log, action, { user: row.caller_name, connection: connectionId });
    throw userRefusal(deps.settings, action, row.tokens ?? 0);
  }
  if (!row.found) throw new NotFound(NOT_FOUND);
}

/** *(E22)* A change refused across a block, worded as the direct message's send refusal. */
function checkBlock(room: RoomName, row: ChangeRow): void {
  if (row.dm_block) throw dmBlocked(room, row.caller_name, row.dm_block);
}

/**
 * The message's new state. The statement read it from its snapshot, taken before
 * it waited for the room's lock: if another change of the room committed in
 * between (only then), the reactions or the reply it read may be older than the
 * change, so the message is read again, after the commit.
 */
async function newState(sql: Sql, row: ChangeRow): Promise<Message> {
  if (row.changed && !row.calm) {
    const fresh = await readMessage(sql, row.id!);
    if (fresh) return fresh;
  }
  return toMessage(row as MessageRow);
}

/** `changed` to every connection in the room, the caller's own included. */
function changedEvent(roomId: string, row: ChangeRow, message: Message) {
  return row.recipients?.length
    ? [{ to: row.recipients, frame: { type: 'changed', room: roomId, seq: row.change_seq, prevSeq: row.prev_seq, message } }]
    : [];
}

/** `edit`: one's own message gets new text (filtered, mentions read again) and `editedAt`. */
export async function editMessage(deps: Deps, connectionId: string, frame: EditFrame): Promise<Outcome> {
  const { sql } = deps;
  const stored = applyProfanityPolicy(frame.text, deps.settings.profanityFilter);
  const mentions = parseMentions(stored);
  const [row] = await changeMessage(deps, connectionId, frame.room, frame.message, {
    action: 'edit',
    refuseBlocked: true,
    allowed: sql`not t.deleted and t.sender_id = c.user_id and not t.notice`,
    // An edit cannot add an @here: that would call everyone without the budget.
    update: sql`body = ${stored}, edited_at = now(),
      mentioned_user_ids = ${mentionedMembers(sql, frame.room.id, mentions.names)},
      mentions_here = m.mentions_here and ${mentions.here}::boolean`,
    // *(E24)* Someone newly mentioned by the edit may now have it waiting, and
    // the notice sweep reads only new messages: make them its candidates.
    more: mentions.names.length
      ? sql`, noticed as (
      insert into notice_candidates (user_id)
      select u.id from changed ch cross join unnest(ch.mentioned_user_ids) as mu (id) join users u on u.id = mu.id
      where u.notify <> 'off' order by u.id
      on conflict (user_id) do nothing
    )`
      : undefined,
  });
  checkCaller(deps, connectionId, 'edit', row);
  checkBlock(frame.room, row);
  if (row.was_deleted) throw new NotFound(DELETED);
  if (!row.own) throw new Forbidden('You can only edit your own messages.');
  if (row.notice) throw new BadRequest('An announcement of a timer change cannot be edited.');
  if (!row.changed) throw new NotFound(DELETED); // deleted while this edit waited
  const message = await newState(sql, row);
  return { reply: { type: 'edited', message }, broadcasts: changedEvent(frame.room.id, row, message) };
}

/**
 * `delete`: one's own message becomes a tombstone, its text, mentions and
 * reactions erased from the database. Deleting it again answers the same (a
 * retry after a lost reply), without a change.
 */
export async function deleteMessage(deps: Deps, connectionId: string, frame: DeleteFrame): Promise<Outcome> {
  const { sql } = deps;
  const [row] = await changeMessage(deps, connectionId, frame.room, frame.message, {
    action: 'delete',
    allowed: sql`not t.deleted and t.sender_id = c.user_id and not t.notice`,
    update: sql`body = '', deleted_at = now(), edited_at = null, reply_to = null, mentioned_user_ids = '{}', mentions_here = false`,
    // Its files are let go in the same statement: detached, they are the sweep's
    // if removing them from storage below fails.
    more: sql`, unreacted as (delete from reactions r using changed d where r.message_id = d.id),
      detached as (update files f set message_id = null from changed d where f.message_id = d.id returning f.id)`,
    columns: sql`array(select id from detached) as detached,`,
  });
  checkCaller(deps, connectionId, 'delete', row);
  if (!row.own) throw row.was_deleted ? new NotFound(DELETED) : new Forbidden('You can only delete your own messages.');
  if (row.notice) throw new BadRequest('An announcement of a timer change cannot be deleted.');
  let message: Message | undefined;
  if (row.changed) message = await newState(sql, row);
  else if (row.was_deleted) message = toMessage(row as MessageRow);
  else message = await readMessage(sql, frame.message); // deleted by another of the caller's devices meanwhile
  if (!message?.deleted) throw new NotFound(NOT_FOUND);
  if (row.detached?.length) await deleteFiles(deps, row.detached);
  return {
    reply: { type: 'deleted_message', room: frame.room.id, message: frame.message, seq: message.seq },
    broadcasts: changedEvent(frame.room.id, row, message),
  };
}

/**
 * `react`: adds (`on`) or removes the caller's reaction. Any member may react to
 * a message that is not deleted; a message holds at most MAX_EMOJI_PER_MESSAGE
 * distinct emoji (parallel reactions may pass it by the few in flight, which the
 * reactions budget bounds). Adding one already there or removing one that is not
 * changes nothing and answers the message as it is.
 */
export async function react(deps: Deps, connectionId: string, frame: ReactFrame): Promise<Outcome> {
  const { sql } = deps;
  const { emoji, on } = frame;
  const mine = sql`exists (select 1 from reactions r where r.message_id = t.id and r.user_id = c.user_id and r.emoji = ${emoji})`;
  const [row] = await changeMessage(deps, connectionId, frame.room, frame.message, {
    action: 'react',
    refuseBlocked: true,
    allowed: on
      ? sql`not t.deleted and not ${mine} and (
          exists (select 1 from reactions r where r.message_id = t.id and r.emoji = ${emoji})
          or (select count(distinct r.emoji) from reactions r where r.message_id = t.id) < ${MAX_EMOJI_PER_MESSAGE})`
      : sql`not t.deleted and ${mine}`,
    more: sql`, added as (
        insert into reactions (message_id, user_id, emoji)
        select d.id, c.user_id, ${emoji} from changed d cross join caller c where ${on}::boolean
        on conflict do nothing
        returning emoji, user_id, created_at
      ), removed as (
        delete from reactions r using changed d, caller c
        where not ${on}::boolean and r.message_id = d.id and r.user_id = c.user_id and r.emoji = ${emoji}
      )`,
    columns: sql`
      exists (select 1 from reactions r where r.message_id = ${frame.message} and r.user_id = c.user_id and r.emoji = ${emoji}) as mine,
      exists (select 1 from reactions r where r.message_id = ${frame.message} and r.emoji = ${emoji}) as emoji_present,
      (select count(distinct r.emoji)::int from reactions r where r.message_id = ${frame.message}) as emoji_count,`,
    // The statement cannot read its own insert or delete: the new reactions are
    // the stored ones with the caller's change applied.
    reactions: sql`case when exists (select 1 from changed) then ${reactionSummary(
      sql,
      sql`select r.emoji, r.user_id, r.created_at from reactions r
          where r.message_id = m.id and not (r.user_id = c.user_id and r.emoji = ${emoji})
          union all
          select emoji, user_id, created_at from added`,
    )} else ${reactionSummary(sql, storedReactions(sql, sql`m.id`))} end`,
  });
  checkCaller(deps, connectionId, 'react', row);
  checkBlock(frame.room, row);
  if (row.was_deleted) throw new NotFound(DELETED);
  if (!row.changed) {
    if (on && !row.mine && !row.emoji_present && (row.emoji_count ?? 0) >= MAX_EMOJI_PER_MESSAGE) {
      throw new BadRequest(`A message can have at most ${MAX_EMOJI_PER_MESSAGE} different emoji; react with one that is already there.`);
    }
    // Allowed, yet unchanged: the message was deleted while this waited.
    if (on !== row.mine) throw new NotFound(DELETED);
  }
  // Unchanged (already there, or not there to remove): the message as it is, to
  // the caller only.
  const message = row.changed ? await newState(sql, row) : toMessage(row as MessageRow);
  return { reply: { type: 'reacted', message }, broadcasts: changedEvent(frame.room.id, row, message) };
}

/**
 * A page of the room's change feed: every message whose seq is above `after`,
 * by seq, each once in its latest state (tombstones too), at most `limit` and,
 * as JSON, at most `budget` bytes (never none). The room's seq comes from the
 * same snapshot: every change up to it is in the page or before `after`.
 * Expired messages are left out, and a message the sweep deleted leaves no
 * tombstone: `expiredThrough`, when the room's latest expiry sweep came after
 * `after`, tells the client to drop every message that expired by then.
 */
export async function pageChanges(sql: Sql, roomId: string, after: string | undefined, limit: number, budget = REPLY_BUDGET_BYTES) {
  const rows = await sql<(Partial<MessageRow> & { room_seq: string | null; expired_through: Date | null })[]>`
    select r.last_seq::text as room_seq,
      case when r.expired_seq > ${after ?? '0'}::bigint then r.expired_through end as expired_through,
      p.* from rooms r
    left join lateral (
      select ${messageColumns(sql)} from (
        select m.id, sum(octet_length(m.body)) over (order by m.seq) - octet_length(m.body) as bytes_before
        from messages m
        where m.room_id = ${roomId} and ${notExpired(sql, 'm')} ${after !== undefined ? sql`and m.seq > ${after}` : sql``}
        order by m.seq
        limit ${limit + 1}
      ) page join messages m on m.id = page.id
      where page.bytes_before <= ${budget}
    ) p on true
    where r.id = ${roomId}
    order by p.seq`;
  const found = rows.filter((r) => r.id != null) as MessageRow[];
  const { taken } = fitPrefix(found.slice(0, limit).map(toMessage), budget, 1);
  const hasMore = found.length > taken.length;
  // Without more, the client now holds every change up to the room's seq (which
  // may lie past the last message's: a change refused after its seq was taken).
  const through = hasMore ? taken.at(-1)!.seq! : (rows[0]?.room_seq ?? after ?? null);
  const expiredThrough = rows[0]?.expired_through?.toISOString();
  return { messages: taken, through, hasMore, ...(expiredThrough ? { expiredThrough } : {}) };
}

/** `changes`: catch-up on the change feed after a cursor (docs/DELIVERY.md). */
export async function changes(deps: Deps, connectionId: string, frame: ChangesFrame): Promise<Outcome> {
  const { sql } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  if (!(await isMember(sql, frame.room.id, caller.userId))) {
    throw new Forbidden(`You are not a member of ${describeRoom(frame.room)}.`);
  }
  const after = frame.after === '0' || frame.after === null ? undefined : frame.after;
  const page = await pageChanges(sql, frame.room.id, after, frame.limit ?? 100);
  return { reply: { type: 'changes', room: frame.room.id, ...page } };
}

/** The conversation actions `$default` routes, with their frames. */
export const CONVERSATION_ACTIONS = {
  edit: { schema: EditFrame, run: editMessage },
  delete: { schema: DeleteFrame, run: deleteMessage },
  react: { schema: ReactFrame, run: react },
  changes: { schema: ChangesFrame, run: changes },
} as const;
