// Messages: idempotent send in one SQL round trip, and history by cursor, paged
// by count and by bytes (see sizes.ts).
import { Forbidden, RateLimited, Unauthorized } from './errors.js';
import { requireCaller } from './identity.js';
import type { RoomName } from './names.js';
import type { Outcome } from './outcome.js';
import type { ChatSettings, Deps, Sql } from './ports.js';
import { applyProfanityPolicy } from './profanity.js';
import { REPLY_BUDGET_BYTES, fitPrefix } from './sizes.js';
import type { HistoryFrame, Message, SendFrame } from './protocol.js';
import { ensureDmRoom, isMember } from './rooms.js';

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
  recipients: string[] | null;
  /** for a fresh message, the id of the room's message before it (null: the first) */
  prev: string | null;
  /** a fresh send refused because the connection's bucket is empty */
  limited: boolean;
  send_tokens: number | null;
}

/** A connection's send bucket: `burst` tokens, refilled at `perSecond`. */
interface SendBucket {
  burst: number;
  perSecond: number;
  now: Date;
}

/**
 * The whole send as one statement: who the caller is (from the connection row),
 * membership, the idempotency check, the connection's rate limit, the id from the
 * room's counter (its row lock orders ids by commit), the insert, and the
 * recipients' connection ids.
 */
function insertMessage(sql: Sql, connectionId: string, room: string, clientId: string, text: string, bucket: SendBucket) {
  // Tokens now: what was left at the last send plus the refill since, capped at the burst.
  const tokens = sql`least(${bucket.burst}::float8,
    coalesce(c.send_tokens, ${bucket.burst}::float8)
    + ${bucket.perSecond}::float8 * greatest(0, extract(epoch from (${bucket.now}::timestamptz - coalesce(c.send_tokens_at, ${bucket.now}::timestamptz))))::float8)`;
  return sql<SendRow[]>`
    with sender as (
      select c.user_id, u.username, c.send_tokens
      from connections c join users u on u.id = c.user_id
      where c.id = ${connectionId}
    ), member as (
      select s.user_id, s.username from sender s
      join memberships m on m.room_id = ${room} and m.user_id = s.user_id
    ), previous as (
      select m.id, m.room_id, m.body, m.created_at, m.client_id
      from messages m join sender s on m.sender_id = s.user_id
      where m.client_id = ${clientId}
    ), charge as (
      -- A fresh send by a member takes one token, or nothing happens. The row lock
      -- makes parallel sends on one connection take turns; repeats are free.
      update connections c set send_tokens = ${tokens} - 1, send_tokens_at = ${bucket.now}
      where c.id = ${connectionId} and ${tokens} >= 1
        and exists (select 1 from member) and not exists (select 1 from previous)
      returning c.id
    ), bump as (
      -- The right-hand side sees the row as locked, so prev is the message before.
      update rooms set prev_message_id = last_message_id, last_message_id = nextval('message_ids')
      where id = ${room} and exists (select 1 from charge)
      returning last_message_id as id, prev_message_id as prev
    ), inserted as (
      insert into messages (id, room_id, sender_id, client_id, body)
      select b.id, ${room}, m.user_id, ${clientId}, ${text} from bump b cross join member m
      on conflict (sender_id, client_id) do nothing
      returning id, room_id, body, created_at, client_id
    ), result as (
      select true as fresh, * from inserted
      union all
      select false, * from previous
    )
    select
      s.user_id, s.username, s.send_tokens,
      exists (select 1 from member) as member,
      exists (select 1 from member) and not exists (select 1 from previous)
        and not exists (select 1 from charge) as limited,
      r.fresh, r.id, r.room_id, r.body, r.created_at, r.client_id,
      case when r.fresh then (select prev::text from bump) end as prev,
      case when r.room_id is not null then array(
        select c.id from memberships mm join connections c on c.user_id = mm.user_id
        where mm.room_id = r.room_id
      ) end as recipients
    from (select 1) one
    left join sender s on true
    left join result r on true`;
}

function sendBucket(settings: ChatSettings, now: Date): SendBucket {
  return { burst: settings.messageBurst, perSecond: settings.messagesPerMinute / 60, now };
}

function rateLimited(row: SendRow, settings: ChatSettings): RateLimited {
  const perSecond = settings.messagesPerMinute / 60;
  const wait = Math.max(1, Math.ceil((1 - Math.max(0, row.send_tokens ?? 0)) / perSecond));
  return new RateLimited(
    `You are sending too fast: at most ${settings.messagesPerMinute} messages a minute. Try again in ${wait} s.`,
    wait,
  );
}

export async function send(deps: Deps, connectionId: string, frame: SendFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  const room = frame.room;
  // Masking is deterministic, so a repeat stores and returns the same text.
  const text = applyProfanityPolicy(frame.text, settings.profanityFilter);
  const insert = () => insertMessage(sql, connectionId, room.id, frame.clientId, text, sendBucket(settings, deps.clock.now()));
  let [row] = await insert();
  if (!row?.user_id) throw new Unauthorized('Log in first.');
  if (!row.id && !row.member && room.kind === 'dm') {
    // The first message of a conversation opens the DM room for both people.
    await ensureDmRoom(sql, room, await requireCaller(sql, connectionId));
    [row] = await insert();
  }
  if (row?.limited) throw rateLimited(row, settings);
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
  // A repeat gets the same reply and is delivered again: if the first attempt died
  // between commit and fan-out, members still receive it live (clients drop
  // duplicates by id).
  return {
    reply: { type: 'sent', clientId: frame.clientId, message },
    // `prev` chains fresh messages (docs/DELIVERY.md); a repeat has none.
    broadcasts: [{ to: row.recipients ?? [], frame: row.fresh ? { type: 'message', message, prev: row.prev } : { type: 'message', message } }],
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
  const caller = await requireCaller(sql, connectionId);
  if (!(await isMember(sql, frame.room.id, caller.userId))) {
    throw new Forbidden(`You are not a member of ${describeRoom(frame.room)}.`);
  }
  const { messages, hasMore } = await pageMessages(sql, frame.room.id, frame, frame.limit ?? 50);
  return { reply: { type: 'history', room: frame.room.id, messages, hasMore } };
}
