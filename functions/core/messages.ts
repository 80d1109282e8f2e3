// Messages: idempotent send in one SQL round trip, and history by cursor, paged
// by count and by bytes (see sizes.ts).
import { chargeBucket, refilledTokens, waitFor } from './budgets.js';
import { Forbidden, RateLimited, Unauthorized } from './errors.js';
import { describeWait, limitHit, requireCallerWithin } from './limits.js';
import type { RoomName } from './names.js';
import type { Outcome } from './outcome.js';
import type { ChatSettings, Deps, Sql } from './ports.js';
import { applyProfanityPolicy } from './profanity.js';
import { REPLY_BUDGET_BYTES, fitPrefix } from './sizes.js';
import type { HistoryFrame, Message, SendFrame } from './protocol.js';
import { isMember, openDmRoom } from './rooms.js';

interface MessageRow {
  id: string;
  room_id: string;
  username: string;
  body: string;
  created_at: Date;
  client_id: string;
}

export function toMessage(r: MessageRow): Message {
  return { id: r.id, room: r.room_id, from: r.username, text: r.body, at: r.created_at.toISOString(), clientId: r.client_id };
}

interface SendRow {
  user_id: string | null;
  username: string | null;
  member: boolean;
  fresh: boolean;
  id: string | null;
  room_id: string | null;
  body: string | null;
  created_at: Date | null;
  client_id: string | null;
  /** for a fresh message or the one re-broadcast of a repeat: every connection of every member */
  recipients: string[] | null;
  /** for a fresh message, the id of the room's message before it (null: the first) */
  prev: string | null;
  /** refused because the connection's or the user's bucket is empty */
  limited: boolean;
  /** the buckets' tokens now, before this send (null: full) */
  connection_tokens: number | null;
  user_tokens: number | null;
}

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
interface Bucket {
  burst: number;
  perSecond: number;
}

interface SendLimits {
  connection: Bucket;
  user: Bucket;
  /** a repeat this many seconds after the original is re-broadcast, once */
  rebroadcastSeconds: number;
  now: Date;
}

/**
 * The whole send as one statement: who the caller is (from the connection row),
 * membership, the idempotency check (sender, room and clientId), the connection's
 * and the user's rate limits, the id from the room's counter (its row lock orders
 * ids by commit), the insert, the mark on a re-broadcast repeat, and the
 * recipients' connection ids.
 */
function insertMessage(sql: Sql, connectionId: string, room: string, clientId: string, text: string, limits: SendLimits) {
  const { connection, user, now } = limits;
  // The connection's tokens now: what was left at its last send plus the refill
  // since, capped at the burst (null: never sent, a full bucket). The user's
  // bucket is a row of rate_budgets, `send:user:ID`, charged the same way.
  const connectionTokens = sql`least(${connection.burst}::float8,
    coalesce(c.send_tokens, ${connection.burst}::float8)
    + ${connection.perSecond}::float8 * greatest(0, extract(epoch from (${now}::timestamptz - coalesce(c.send_tokens_at, ${now}::timestamptz))))::float8)`;
  return sql<SendRow[]>`
    with sender as (
      select c.user_id, u.username, ${connectionTokens} as connection_tokens
      from connections c join users u on u.id = c.user_id
      where c.id = ${connectionId}
    ), member as (
      select s.user_id, s.username from sender s
      join memberships m on m.room_id = ${room} and m.user_id = s.user_id
    ), previous as (
      select m.id, m.room_id, m.body, m.created_at, m.client_id
      from messages m join sender s on m.sender_id = s.user_id
      where m.room_id = ${room} and m.client_id = ${clientId}
    ), user_bucket as (
      select ${refilledTokens(sql, user, now)} as tokens from rate_budgets b join sender s on b.key = 'send:user:' || s.user_id
    ), user_charge as (
      -- Every send takes a token from the user's bucket, shared by all their
      -- connections; a repeat too, so repeats cannot be sent without bound. A fresh
      -- send only when the connection's bucket has one as well (taken below).
      ${chargeBucket(
        sql,
        sql`select 'send:user:' || s.user_id as key from sender s
          where exists (select 1 from previous) or (exists (select 1 from member) and s.connection_tokens >= 1)`,
        user,
        now,
      )}
    ), charge as (
      -- A fresh send by a member takes one token of the connection's, or nothing
      -- happens. The row lock makes parallel sends on one connection take turns
      -- (one that finds the bucket emptied meanwhile has still paid the user's
      -- token: a loss for the sender, never a way past the limit).
      update connections c set send_tokens = ${connectionTokens} - 1, send_tokens_at = ${now}
      where c.id = ${connectionId} and ${connectionTokens} >= 1
        and exists (select 1 from user_charge) and not exists (select 1 from previous)
      returning c.id
    ), bump as (
      -- The right-hand side sees the row as locked, so prev is the message before.
      update rooms set prev_message_id = last_message_id, last_message_id = nextval('message_ids')
      where id = ${room} and exists (select 1 from charge)
      returning last_message_id as id, prev_message_id as prev
    ), inserted as (
      insert into messages (id, room_id, sender_id, client_id, body)
      select b.id, ${room}, m.user_id, ${clientId}, ${text} from bump b cross join member m
      on conflict (sender_id, room_id, client_id) do nothing
      returning id, room_id, body, created_at, client_id
    ), rebroadcast as (
      -- A paid repeat soon after the original goes to the room once more, in case
      -- the first attempt died between commit and fan-out. Only once: the row
      -- lock makes parallel repeats take turns, and the later ones find it marked.
      update messages m set rebroadcast_at = ${now}
      where m.id = (select id from previous) and m.rebroadcast_at is null
        and m.created_at > now() - make_interval(secs => ${limits.rebroadcastSeconds})
        and exists (select 1 from user_charge)
      returning m.id
    ), result as (
      select true as fresh, * from inserted
      union all
      select false, * from previous
    )
    select
      s.user_id, s.username, s.connection_tokens, (select tokens from user_bucket) as user_tokens,
      exists (select 1 from member) as member,
      (exists (select 1 from previous) and not exists (select 1 from user_charge))
        or (exists (select 1 from member) and not exists (select 1 from previous) and not exists (select 1 from charge)) as limited,
      r.fresh, r.id, r.room_id, r.body, r.created_at, r.client_id,
      case when r.fresh then (select prev::text from bump) end as prev,
      case when r.fresh or exists (select 1 from rebroadcast) then array(
        select c.id from memberships mm join connections c on c.user_id = mm.user_id
        where mm.room_id = r.room_id
      ) end as recipients
    from (select 1) one
    left join sender s on true
    left join result r on true`;
}

function sendLimits(settings: ChatSettings, now: Date): SendLimits {
  return {
    connection: { burst: settings.messageBurst, perSecond: settings.messagesPerMinute / 60 },
    user: { burst: settings.userMessageBurst, perSecond: settings.userMessagesPerMinute / 60 },
    rebroadcastSeconds: settings.rebroadcastSeconds,
    now,
  };
}

/** Which bucket ran dry, and how long until it holds a token again. */
function rateLimited(row: SendRow, limits: SendLimits, settings: ChatSettings): RateLimited {
  const userTokens = row.user_tokens ?? limits.user.burst;
  const byUser = userTokens < 1;
  const bucket = byUser ? limits.user : limits.connection;
  const tokens = byUser ? userTokens : (row.connection_tokens ?? limits.connection.burst);
  const wait = waitFor(tokens, bucket);
  const rule = byUser
    ? `at most ${settings.userMessagesPerMinute} messages a minute from all your connections together`
    : `at most ${settings.messagesPerMinute} messages a minute`;
  return new RateLimited(`You are sending too fast: ${rule}. Try again in ${describeWait(wait)}.`, wait);
}

export async function send(deps: Deps, connectionId: string, frame: SendFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  const room = frame.room;
  // Masking is deterministic, so a repeat stores and returns the same text.
  const text = applyProfanityPolicy(frame.text, settings.profanityFilter);
  const limits = sendLimits(settings, deps.clock.now());
  const insert = () => insertMessage(sql, connectionId, room.id, frame.clientId, text, limits);
  let [row] = await insert();
  if (!row?.user_id) throw new Unauthorized('Log in first.');
  if (!row.id && !row.member && !row.limited && room.kind === 'dm') {
    // The first message of a conversation opens the DM room for both people
    // (with the checks and budgets of joining it).
    await openDmRoom(deps, connectionId, room);
    [row] = await insert();
  }
  if (row?.limited) {
    limitHit(deps.log, 'send', { user: row.username ?? undefined, connection: connectionId });
    throw rateLimited(row, limits, settings);
  }
  if (!row?.id) {
    if (!row?.member) throw new Forbidden(`You are not a member of ${describeRoom(room)}; join it first.`);
    // Lost a race with a parallel send of the same clientId: that one stored it.
    [row] = await insert();
    if (!row?.id) throw new Forbidden(`You are not a member of ${describeRoom(room)}.`);
  }
  const message = toMessage({
    id: row.id,
    room_id: row.room_id!,
    username: row.username!,
    body: row.body!,
    created_at: row.created_at!,
    client_id: row.client_id!,
  });
  // A repeat gets the same reply; the room hears it again only once and only
  // soon after the original (docs/DELIVERY.md): if the first attempt died between
  // commit and fan-out, members still receive it live (clients drop duplicates by
  // id). Otherwise no recipients come back and the sender alone is answered.
  const recipients = row.recipients ?? [];
  return {
    reply: { type: 'sent', clientId: frame.clientId, message },
    // `prev` chains fresh messages (docs/DELIVERY.md); a repeat has none.
    broadcasts: recipients.length
      ? [{ to: recipients, frame: row.fresh ? { type: 'message', message, prev: row.prev } : { type: 'message', message } }]
      : [],
  };
}

function describeRoom(room: RoomName): string {
  return room.kind === 'dm' ? 'this conversation' : `#${room.id}`;
}

/**
 * A page of history, oldest first: `after` reads forward from a cursor (catch-up);
 * otherwise backwards from `before` or the end. At most `limit` messages and, as
 * JSON, at most `budget` bytes (but never none); `hasMore` says more lie beyond
 * the page in the direction read.
 */
export async function pageMessages(
  sql: Sql,
  roomId: string,
  cursor: { before?: string; after?: string },
  limit: number,
  budget: number = REPLY_BUDGET_BYTES,
): Promise<{ messages: Message[]; hasMore: boolean }> {
  const { before, after } = cursor;
  const forward = after !== undefined;
  const order = forward ? sql`asc` : sql`desc`;
  // Rows in reading order, cut by body size in the database as well as by count,
  // so a room of long messages is not read whole for a page that holds a few: the
  // body bytes before a row are a lower bound of its JSON's, so every row that
  // can fit comes back, plus one past the budget that tells there is more.
  const rows = await sql<MessageRow[]>`
    select id, room_id, username, body, created_at, client_id from (
      select m.id, m.room_id, u.username, m.body, m.created_at, m.client_id,
        sum(octet_length(m.body)) over (order by m.id ${order}) - octet_length(m.body) as bytes_before
      from messages m join users u on u.id = m.sender_id
      where m.room_id = ${roomId}
        ${after !== undefined ? sql`and m.id > ${after}` : sql``}
        ${before !== undefined ? sql`and m.id < ${before}` : sql``}
      order by m.id ${order}
      limit ${limit + 1}
    ) page
    where bytes_before <= ${budget}
    order by id ${order}`;
  const { taken } = fitPrefix(rows.slice(0, limit).map(toMessage), budget, 1);
  const hasMore = rows.length > taken.length;
  if (!forward) taken.reverse();
  return { messages: taken, hasMore };
}

export async function history(deps: Deps, connectionId: string, frame: HistoryFrame): Promise<Outcome> {
  const { sql } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  if (!(await isMember(sql, frame.room.id, caller.userId))) {
    throw new Forbidden(`You are not a member of ${describeRoom(frame.room)}.`);
  }
  const { messages, hasMore } = await pageMessages(sql, frame.room.id, frame, frame.limit ?? 50);
  return { reply: { type: 'history', room: frame.room.id, messages, hasMore } };
}
