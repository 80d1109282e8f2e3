// Disappearing messages: a room's timer (`set_timer`), announced in the room as a
// message, and the sweep that deletes expired messages for good. A message sent
// under a timer carries `expiresAt` (stamped by the send statement, messages.ts);
// from then on no read returns it (expiry.ts) and every client hides it by its own
// clock, offset to the server's (`serverTime` in `authed` and `pong`). The sweep
// deletes the rows within a minute (locally on the server's sweep timer, on AWS
// by the scheduled sweep) and puts the expiry on the room's change feed, so a
// client that was away drops them too (docs/DELIVERY.md).
import * as v from 'valibot';
import { dmBlockSql } from './blocks.js';
import { chargeBucket, refilledTokens } from './budgets.js';
import { BadRequest, Forbidden, Unauthorized } from './errors.js';
import { callerRow, limitHit, userBudget, userRefusal } from './limits.js';
import { type MessageRow, describeRoom, dmBlocked, messageColumns, toMessage } from './messages.js';
import type { RoomName } from './names.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { ChatSettings, Deps, Sql } from './ports.js';
import { requestId, room } from './protocol.js';
import { allowedTimers, announcement } from './timers.js';

/**
 * `{"action":"set_timer","id"?,"room","seconds"}` on `$default`: `seconds` is
 * one of the allowed timers, or null to turn it off. Which values are allowed
 * depends on the settings, so the core checks them (setTimer).
 */
export const SetTimerFrame = v.object({
  action: v.literal('set_timer'),
  id: requestId,
  room,
  seconds: v.nullable(v.pipe(v.number('seconds must be a number or null'), v.integer('seconds must be a whole number'))),
});
export type SetTimerFrame = v.InferOutput<typeof SetTimerFrame>;

interface TimerRow extends Partial<MessageRow> {
  /** the caller (the message columns' `username` is the announcement's sender, null without one) */
  caller_name: string;
  member: boolean;
  /** *(E22)* direct messages: a block between the two, 'mine' or 'theirs' (null: none) */
  dm_block?: 'mine' | 'theirs' | null;
  permitted: boolean;
  /** the room has a recorded creator (channels) */
  has_creator: boolean;
  taken: boolean;
  tokens: number | null;
  /** the room's timer now */
  disappear_after: number | null;
  fresh: boolean;
  prev: string | null;
  change_seq: string | null;
  prev_seq: string | null;
  recipients: string[] | null;
}

/**
 * The whole `set_timer` as one statement: the caller, membership, who may set
 * it (either person of a DM, a channel's creator), the budget (charged only to
 * those allowed), and, when the timer changes, the room's new timer with the
 * announcement taking the next id and seq under the room's lock, the recipients
 * and the announcement's whole state. The update checks the old timer again
 * under the lock, so parallel requests for one timer announce it once.
 */
function updateTimer(deps: Deps, connectionId: string, room: RoomName, seconds: number | null) {
  const { sql } = deps;
  const roomId = room.id;
  // *(E22)* In a DM across a block, nobody may set it: its announcement would
  // reach the blocker. Channels' statements are unchanged.
  const dmUsers = room.kind === 'dm' ? room.users : undefined;
  const now = deps.clock.now();
  const budget = userBudget(deps.settings, 'timer');
  return sql<TimerRow[]>`
    with caller as (${callerRow(sql, connectionId, 'timer')}), target as (
      select r.kind, r.disappear_after, r.created_by from rooms r
      join caller c on true
      join memberships mm on mm.room_id = r.id and mm.user_id = c.user_id
      where r.id = ${roomId}
    ), ${
      dmUsers
        ? sql`dm_block as (
      select ${dmBlockSql(sql, dmUsers)} as way from (select 1) one left join caller s on true
    ), permitted as (
      select 1 from target t where t.kind = 'dm' and (select way from dm_block) is null`
        : sql`permitted as (
      select 1 from target t join caller c on true where t.kind = 'dm' or t.created_by = c.user_id`
    }
    ), taken as (
      ${chargeBucket(sql, sql`select key from caller where exists (select 1 from permitted)`, budget, now)}
    ), bump as (
      update rooms set disappear_after = ${seconds}::int,
        prev_message_id = last_message_id, last_message_id = nextval('message_ids'),
        prev_seq = last_seq, last_seq = nextval('message_seqs')
      where id = ${roomId} and exists (select 1 from taken) and disappear_after is distinct from ${seconds}::int
      returning last_message_id as id, prev_message_id as prev, last_seq as seq, prev_seq
    ), inserted as (
      -- The announcement never expires: it says what the room does from now on.
      insert into messages (id, room_id, sender_id, client_id, body, seq, timer)
      select b.id, ${roomId}, c.user_id, 'timer-' || b.id, c.username || ${announcement(seconds)}, b.seq, coalesce(${seconds}::int, 0)
      from bump b cross join caller c
      returning *
    )
    select c.username as caller_name,
      exists (select 1 from target) as member,
      exists (select 1 from permitted) as permitted,
      ${dmUsers ? sql`(select way from dm_block) as dm_block,` : sql``}
      (select t.created_by is not null from target t) as has_creator,
      exists (select 1 from taken) as taken,
      (select ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = c.key) as tokens,
      case when exists (select 1 from bump) then ${seconds}::int else (select t.disappear_after from target t) end as disappear_after,
      m.id is not null as fresh,
      (select prev::text from bump) as prev,
      (select seq::text from bump) as change_seq,
      (select prev_seq::text from bump) as prev_seq,
      case when m.id is not null then array(
        select cn.id from memberships mm join connections cn on cn.user_id = mm.user_id where mm.room_id = ${roomId}
      ) end as recipients,
      ${messageColumns(sql)}
    from caller c
    left join inserted m on true`;
}

function describeChoices(settings: ChatSettings): string {
  return allowedTimers(settings).join(', ');
}

/**
 * `set_timer`: sets the room's disappearing-messages timer for the messages sent
 * from now on, and announces the change in the room. Setting the timer it
 * already has changes nothing and announces nothing (a retry after a lost
 * reply); the reply then has no `message`.
 */
export async function setTimer(deps: Deps, connectionId: string, frame: SetTimerFrame): Promise<Outcome> {
  const { settings } = deps;
  const { seconds } = frame;
  // Cheap checks first: a value off the list never reaches the database.
  if (seconds !== null && !allowedTimers(settings).includes(seconds)) {
    throw new BadRequest(`seconds is null (off) or one of ${describeChoices(settings)}.`);
  }
  const [row] = await updateTimer(deps, connectionId, frame.room, seconds);
  if (!row) throw new Unauthorized('Log in first.');
  if (!row.member) throw new Forbidden(`You are not a member of ${describeRoom(frame.room)}.`);
  if (row.dm_block) throw dmBlocked(frame.room, row.caller_name, row.dm_block);
  if (!row.permitted) throw new Forbidden(notPermitted(frame.room, row.has_creator));
  if (!row.taken) {
    limitHit(deps.log, 'timer', { user: row.caller_name, connection: connectionId });
    throw userRefusal(settings, 'timer', row.tokens ?? 0);
  }
  if (!row.fresh) return { reply: { type: 'timer', room: frame.room.id, disappearAfter: row.disappear_after } };
  const message = toMessage(row as MessageRow);
  const broadcasts: Broadcast[] = row.recipients?.length
    ? [{ to: row.recipients, frame: { type: 'message', message, prev: row.prev, seq: row.change_seq, prevSeq: row.prev_seq } }]
    : [];
  return { reply: { type: 'timer', room: frame.room.id, disappearAfter: row.disappear_after, message }, broadcasts };
}

function notPermitted(room: RoomName, hasCreator: boolean): string {
  return hasCreator
    ? `Only the person who created #${room.id} can set its timer.`
    : `#${room.id} has no creator on record, so nobody can set its timer.`;
}

/** Messages one sweep statement deletes at most, and statements one sweep runs at most. */
export const EXPIRY_BATCH = 1000;
const EXPIRY_BATCHES = 20;

interface ExpiredRow {
  room_id: string;
  count: number;
  through: Date;
  seq: string;
  prev_seq: string | null;
  recipients: string[];
}

/**
 * Deletes up to EXPIRY_BATCH expired messages (their reactions go with them by
 * the foreign key) and, per room, puts the expiry on the change feed: a fresh
 * seq taken under the room's lock (rooms locked in id order, as purge does),
 * with expired_through, the latest expiry it covers. Returns per room the
 * count, the new seq and the connections of its members.
 */
function deleteExpired(sql: Sql) {
  return sql<ExpiredRow[]>`
    with due as (
      select id, room_id from messages
      where expires_at <= statement_timestamp()
      order by expires_at
      limit ${EXPIRY_BATCH}
    ), hit as (
      select r.id from rooms r where r.id in (select room_id from due) order by r.id for update
    ), gone as (
      delete from messages m using due d, hit h
      where m.id = d.id and m.room_id = h.id
      returning m.room_id, m.expires_at
    ), per_room as (
      select room_id, count(*)::int as count, max(expires_at) as through, nextval('message_seqs') as seq
      from gone group by room_id
    ), bumped as (
      update rooms r set prev_seq = r.last_seq, last_seq = p.seq, expired_seq = p.seq,
        expired_through = greatest(r.expired_through, p.through)
      from per_room p where r.id = p.room_id
      returning r.id, r.prev_seq, r.expired_through
    )
    select p.room_id, p.count, b.expired_through as through, p.seq::text as seq, b.prev_seq::text as prev_seq,
      array(
        select c.id from memberships m join connections c on c.user_id = m.user_id where m.room_id = p.room_id
      ) as recipients
    from per_room p join bumped b on b.id = p.room_id
    order by p.room_id`;
}

/**
 * The expiry sweep: deletes every expired message for good, in batches, and
 * tells each room's members with `expired` (live) and the change feed (later).
 * Run by the local server's sweep timer and by the scheduled sweep on AWS.
 */
export async function sweepExpired(deps: Pick<Deps, 'sql' | 'log'>): Promise<Outcome & { deleted: number }> {
  const broadcasts: Broadcast[] = [];
  let deleted = 0;
  for (let i = 0; i < EXPIRY_BATCHES; i++) {
    const rows = await deleteExpired(deps.sql);
    const count = rows.reduce((n, r) => n + r.count, 0);
    deleted += count;
    for (const r of rows) {
      if (!r.recipients.length) continue;
      const frame = { type: 'expired', room: r.room_id, through: r.through.toISOString(), seq: r.seq, prevSeq: r.prev_seq };
      broadcasts.push({ to: r.recipients, frame });
    }
    if (count < EXPIRY_BATCH) break;
  }
  if (deleted) deps.log.info('deleted expired messages', { count: deleted });
  return { broadcasts, deleted };
}
