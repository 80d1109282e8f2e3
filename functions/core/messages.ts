// Messages: idempotent send in one SQL round trip, and history by cursor, paged
// by count and by bytes (see sizes.ts). A message's whole state (MESSAGE in
// PROTOCOL.md: its edits, tombstone, reply snippet, mentions and reactions) is
// read by one SQL fragment, messageColumns, wherever a message is read.
import type { Fragment } from 'postgres';
import { type Budget, chargeBucket, refilledTokens, waitFor } from './budgets.js';
import { BadRequest, Forbidden, NotFound, RateLimited, Unauthorized } from './errors.js';
import { notExpired } from './expiry.js';
import { describeWait, limitHit, requireCallerWithin, userBudget } from './limits.js';
import { MAX_MENTIONS, SNIPPET_LENGTH, parseMentions } from './mentions.js';
import type { RoomName } from './names.js';
import type { Outcome } from './outcome.js';
import type { ChatSettings, Deps, Queryable, Sql } from './ports.js';
import { applyProfanityPolicy } from './profanity.js';
import { REPLY_BUDGET_BYTES, fitPrefix } from './sizes.js';
import { confirmUploads, fileInfoJson } from './files.js';
import type { FileInfo, HistoryFrame, Message, Reaction, ReplyTo, SendFrame } from './protocol.js';
import { isMember, openDmRoom } from './rooms.js';
import { dmBlockSql } from './blocks.js';
import { pushMessage } from './push.js';

/** The users a reaction lists by name (its count has them all). */
export const MAX_REACTION_USERS = 20;

/** The columns messageColumns reads. */
export interface MessageRow {
  id: string;
  room_id: string;
  username: string;
  body: string;
  created_at: Date;
  client_id: string;
  seq: string;
  edited_at: Date | null;
  deleted: boolean;
  mentions_here: boolean;
  mentions: string[] | null;
  reply: ReplyTo | null;
  reactions: Reaction[] | null;
  expires_at: Date | null;
  timer: number | null;
  files: FileInfo[] | null;
  /** E21: who removed it, when not its author */
  removed_by?: string | null;
}

/**
 * A MESSAGE from its row. Always the whole state, with empty fields left out: a
 * v1 client sees the six fields it knows. A tombstone keeps only who and when.
 */
export function toMessage(r: MessageRow): Message {
  const message: Message = {
    id: r.id,
    room: r.room_id,
    from: r.username,
    text: r.deleted ? '' : r.body,
    at: r.created_at.toISOString(),
    clientId: r.client_id,
    seq: r.seq,
  };
  if (r.deleted) {
    message.deleted = true;
    if (r.removed_by) message.removedBy = r.removed_by;
    return message;
  }
  if (r.expires_at) message.expiresAt = r.expires_at.toISOString();
  if (r.timer !== null && r.timer !== undefined) message.timer = r.timer;
  if (r.edited_at) message.editedAt = r.edited_at.toISOString();
  if (r.reply) message.replyTo = r.reply;
  if (r.reactions?.length) message.reactions = r.reactions;
  if (r.mentions?.length) message.mentions = r.mentions;
  if (r.mentions_here) message.mentionsHere = true;
  if (r.files?.length) message.files = r.files;
  return message;
}

/** Rows of (emoji, user_id, created_at): one message's reactions as stored. */
export function storedReactions(sql: Queryable, messageId: Fragment) {
  return sql`select r.emoji, r.user_id, r.created_at from reactions r where r.message_id = ${messageId}`;
}

/**
 * A message's reactions as MESSAGE shows them, from rows of (emoji, user_id,
 * created_at): per emoji, ordered by its first reaction, the count and the first
 * 20 names in the order they reacted (created_at is clock_timestamp(), taken
 * under the room's lock, so it is the commit order; names break a tie). Null when
 * there are none.
 */
export function reactionSummary(sql: Queryable, rows: Fragment) {
  return sql`(
    select json_agg(json_build_object('emoji', g.emoji, 'count', g.count, 'users', g.users) order by g.first, g.emoji)
    from (
      select x.emoji, count(*)::int as count, min(x.created_at) as first,
        (array_agg(xu.username order by x.created_at, xu.username))[1:${MAX_REACTION_USERS}::int] as users
      from (${rows}) x join users xu on xu.id = x.user_id
      group by x.emoji
    ) g)`;
}

/** SQL for replySnippet (mentions.ts) of the text `body`: its first line, at most SNIPPET_LENGTH code points. */
export function replySnippetSql(sql: Queryable, body: Fragment): Fragment {
  return sql`left(split_part(replace(${body}, chr(13), chr(10)), chr(10), 1), ${SNIPPET_LENGTH}::int)`;
}

/**
 * The columns of MessageRow for the messages row in scope as `m`. The reply
 * snippet is computed when read, so an edit or a delete of the original shows in
 * every reply to it: the first line of the original, at most SNIPPET_LENGTH code
 * points (mentions.ts' replySnippet says the same in TypeScript), or
 * `deleted: true` when it is gone, with `expired: true` as well when it
 * disappeared (expired, its row perhaps deleted already) rather than being
 * deleted by its sender, which leaves a tombstone. The snippet of a
 * disappearing message carries its `expiresAt`, as MESSAGE does, so that a
 * client stops quoting it at that moment.
 */
export function messageColumns(sql: Queryable, reactions: Fragment = reactionSummary(sql, storedReactions(sql, sql`m.id`))): Fragment {
  return sql`
    m.id, m.room_id, (select mu.username from users mu where mu.id = m.sender_id) as username, m.body, m.created_at,
    m.client_id, m.seq, m.edited_at, m.deleted_at is not null as deleted, m.removed_by, m.mentions_here, m.expires_at, m.timer,
    case when cardinality(m.mentioned_user_ids) > 0 then array(
      select mu.username from unnest(m.mentioned_user_ids) with ordinality as x(id, n) join users mu on mu.id = x.id order by x.n
    ) else '{}' end as mentions,
    case when m.reply_to is not null then coalesce(
      (select json_strip_nulls(json_build_object(
          'id', o.id::text, 'from', ou.username,
          'text', ${replySnippetSql(sql, sql`o.body`)}, 'expiresAt', to_char(o.expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
        from messages o join users ou on ou.id = o.sender_id
        where o.id = m.reply_to and o.room_id = m.room_id and o.deleted_at is null and ${notExpired(sql, 'o')}),
      case when exists (select 1 from messages o where o.id = m.reply_to and o.deleted_at is not null)
        then json_build_object('id', m.reply_to::text, 'deleted', true)
        else json_build_object('id', m.reply_to::text, 'deleted', true, 'expired', true) end
    ) end as reply,
    ${reactions} as reactions,
    (select json_agg(${fileInfoJson(sql)} order by f.position) from files f where f.message_id = m.id) as files`;
}

/**
 * The ids of the members of `roomId` among `names`, in the order given, at most
 * MAX_MENTIONS: the mentions a message stores. Non-members stay plain text.
 */
export function mentionedMembers(sql: Queryable, roomId: string, names: string[]) {
  return sql`array(
    select u.id from unnest(${names}::text[]) with ordinality as c(name, n)
    join users u on u.username = c.name
    join memberships mm on mm.user_id = u.id and mm.room_id = ${roomId}
    order by c.n
    limit ${MAX_MENTIONS}::int)`;
}

/** One message's whole state now, or undefined. */
export async function readMessage(sql: Queryable, id: string): Promise<Message | undefined> {
  const [row] = await sql<MessageRow[]>`select ${messageColumns(sql)} from messages m where m.id = ${id} and ${notExpired(sql, 'm')}`;
  return row && toMessage(row);
}

interface SendRow extends Partial<MessageRow> {
  user_id: string | null;
  sender_name: string | null;
  member: boolean;
  /** false: replyTo names no live message of the room (nothing was stored) */
  reply_ok: boolean;
  /** false: a file is not the sender's upload to this room, or was attached already (nothing was stored) */
  files_ok: boolean;
  /** a fresh message's files, attached by this statement (which cannot read its own update) */
  attached: FileInfo[] | null;
  fresh: boolean;
  /** for a fresh message or the one re-broadcast of a repeat: every connection of every member */
  recipients: string[] | null;
  /** for a fresh message, the id of the room's message before it (null: the first) */
  prev: string | null;
  /** for a fresh message, its seq, and the room's seq before it (null: the room's first change) */
  change_seq: string | null;
  prev_seq: string | null;
  /** no other change of the room committed between this statement's snapshot and its lock */
  calm: boolean;
  /** whether the message's @here was within the sender's budget */
  here_taken: boolean;
  /** *(E25)* someone the fresh message concerns has a push subscription and no active connection */
  push_wanted: boolean;
  /** *(E22)* direct messages: a block between the two, 'mine' or 'theirs' (null: none) */
  dm_block?: 'mine' | 'theirs' | null;
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
  /** @here messages per user */
  here: Budget;
  now: Date;
}

/** What a fresh message says beyond its text. */
interface SendExtras {
  replyTo: string | null;
  /** candidate usernames mentioned (mentions.ts), the members among them are stored */
  names: string[];
  /** an @here in a channel, to be charged to the sender's budget */
  here: boolean;
  /** ids of uploaded files to attach, in order (files.ts confirmed them) */
  files: string[];
}

/**
 * The whole send as one statement: who the caller is (from the connection row),
 * membership, the idempotency check (sender, room and clientId), the replied-to
 * message and the attached files, the connection's and the user's rate limits (and the @here budget),
 * the id and the seq from the room's counters (its row lock orders both by
 * commit), the insert with the mentioned members, the mark on a re-broadcast
 * repeat, the recipients' connection ids, and the message's whole state.
 */
function insertMessage(sql: Sql, connectionId: string, roomName: RoomName, clientId: string, text: string, extras: SendExtras, limits: SendLimits) {
  const { connection, user, now } = limits;
  const room = roomName.id;
  const dmUsers = roomName.kind === 'dm' ? roomName.users : undefined;
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
      select m.* from messages m join sender s on m.sender_id = s.user_id
      where m.room_id = ${room} and m.client_id = ${clientId}
    ), reply_ok as (
      -- A reply answers a message of the same room that is still there.
      select ${extras.replyTo}::bigint is null or exists (
        select 1 from messages o where o.id = ${extras.replyTo}::bigint and o.room_id = ${room} and o.deleted_at is null
          and ${notExpired(sql, 'o')}
      ) as ok
    ), files_ok as (
      -- Files are the sender's uploads to this room, confirmed and never attached.
      select cardinality(${extras.files}::text[]) = 0 or cardinality(${extras.files}::text[]) = (
        select count(*) from files f join sender s on f.uploader_id = s.user_id
        where f.id = any(${extras.files}::text[]) and f.room_id = ${room} and f.uploaded_at is not null and f.attached_at is null
      ) as ok
    ), ${
      // A direct message between two people one of whom blocked the other goes
      // nowhere (blocks.ts); channels' statements are unchanged.
      dmUsers
        ? sql`dm_block as (
      select ${dmBlockSql(sql, dmUsers)} as way from (select 1) one left join sender s on true
    ), checks as (
      select r.ok and f.ok and d.way is null as ok from reply_ok r, files_ok f, dm_block d`
        : sql`checks as (
      select r.ok and f.ok as ok from reply_ok r, files_ok f`
    }
    ), user_bucket as (
      select ${refilledTokens(sql, user, now)} as tokens from rate_budgets b join sender s on b.key = 'send:user:' || s.user_id
    ), user_charge as (
      -- Every send takes a token from the user's bucket, shared by all their
      -- connections; a repeat too, so repeats cannot be sent without bound. A fresh
      -- send only when the connection's bucket has one as well (taken below).
      ${chargeBucket(
        sql,
        sql`select 'send:user:' || s.user_id as key from sender s
          where exists (select 1 from previous)
            or (exists (select 1 from member) and (select ok from checks) and s.connection_tokens >= 1)`,
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
        and exists (select 1 from user_charge) and not exists (select 1 from previous) and (select ok from checks)
      returning c.id
    ), here_charge as (
      -- @here counts only within its budget; over it the message goes without.
      ${chargeBucket(
        sql,
        sql`select 'here:user:' || s.user_id as key from sender s where ${extras.here}::boolean and exists (select 1 from charge)`,
        limits.here,
        now,
      )}
    ), seen as (
      select last_seq from rooms where id = ${room}
    ), bump as (
      -- The right-hand side sees the row as locked, so prev is the message before
      -- and prev_seq the room's latest change before this one.
      update rooms set prev_message_id = last_message_id, last_message_id = nextval('message_ids'),
        prev_seq = last_seq, last_seq = nextval('message_seqs')
      where id = ${room} and exists (select 1 from charge)
      returning last_message_id as id, prev_message_id as prev, last_seq as seq, prev_seq, disappear_after
    ), inserted as (
      insert into messages (id, room_id, sender_id, client_id, body, seq, reply_to, mentioned_user_ids, mentions_here, expires_at)
      select b.id, ${room}, m.user_id, ${clientId}, ${text}, b.seq, ${extras.replyTo}::bigint,
        ${mentionedMembers(sql, room, extras.names)}, exists (select 1 from here_charge),
        -- disappearing messages: the room's timer, read under its lock (null: off)
        ${now}::timestamptz + make_interval(secs => b.disappear_after)
      from bump b cross join member m
      on conflict (sender_id, room_id, client_id) do nothing
      returning *
    ), attached as (
      update files f set message_id = i.id, attached_at = now(), position = array_position(${extras.files}::text[], f.id)
      from inserted i
      where f.id = any(${extras.files}::text[]) and f.attached_at is null
      returning f.*
    ), rebroadcast as (
      -- A paid repeat soon after the original goes to the room once more, in case
      -- the first attempt died between commit and fan-out. Only once: the row
      -- lock makes parallel repeats take turns, and the later ones find it marked.
      -- Never a deleted one: members have its tombstone.
      update messages m set rebroadcast_at = ${now}
      where m.id = (select id from previous) and m.rebroadcast_at is null and m.deleted_at is null
        and m.created_at > now() - make_interval(secs => ${limits.rebroadcastSeconds})
        and exists (select 1 from user_charge)
      returning m.id
    ), result as (
      select true as fresh, * from inserted
      union all
      select false, * from previous
    )
    select
      s.user_id, s.username as sender_name, s.connection_tokens, (select tokens from user_bucket) as user_tokens,
      exists (select 1 from member) as member, (select ok from reply_ok) as reply_ok, (select ok from files_ok) as files_ok,
      (select json_agg(${fileInfoJson(sql)} order by f.position) from attached f) as attached,
      (exists (select 1 from previous) and not exists (select 1 from user_charge))
        or (exists (select 1 from member) and not exists (select 1 from previous) and (select ok from checks)
            and not exists (select 1 from charge)) as limited,
      -- A fresh message has no reactions yet: only a repeat reads them.
      m.fresh, ${messageColumns(sql, sql`case when not m.fresh then ${reactionSummary(sql, storedReactions(sql, sql`m.id`))} end`)},
      case when m.fresh then (select prev::text from bump) end as prev,
      case when m.fresh then (select seq::text from bump) end as change_seq,
      case when m.fresh then (select prev_seq::text from bump) end as prev_seq,
      -- Only a reply reads the room's seq a second time (see calm in send()).
      ${extras.replyTo}::bigint is null or (select last_seq from seen) is not distinct from (select prev_seq from bump) as calm,
      exists (select 1 from here_charge) as here_taken,
      -- *(E25)* whether anyone this fresh message concerns (a DM's other member,
      -- the mentioned) may get a push: the selection itself runs after the fan-out
      ${
        dmUsers || extras.names.length
          ? sql`exists (
        select 1 from inserted i join push_subscriptions ps on ps.user_id <> i.sender_id
          and ${dmUsers ? sql`ps.user_id in (select mm.user_id from memberships mm where mm.room_id = i.room_id)` : sql`ps.user_id = any(i.mentioned_user_ids)`}
        where not exists (select 1 from connections pc where pc.user_id = ps.user_id and pc.activity = 'active'))`
          : sql`false`
      } as push_wanted,
      ${dmUsers ? sql`(select way from dm_block) as dm_block,` : sql``}
      case when m.fresh or exists (select 1 from rebroadcast) then array(
        select c.id from memberships mm join connections c on c.user_id = mm.user_id
        where mm.room_id = ${room}
      ) end as recipients
    from (select 1) one
    left join sender s on true
    left join result m on true`;
}

function sendLimits(settings: ChatSettings, now: Date): SendLimits {
  return {
    connection: { burst: settings.messageBurst, perSecond: settings.messagesPerMinute / 60 },
    user: { burst: settings.userMessageBurst, perSecond: settings.userMessagesPerMinute / 60 },
    rebroadcastSeconds: settings.rebroadcastSeconds,
    here: userBudget(settings, 'here'),
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
  // Mentions are read from the stored text; @here counts only in a channel.
  const mentions = parseMentions(text);
  const extras: SendExtras = {
    replyTo: frame.replyTo ?? null,
    names: mentions.names,
    here: mentions.here && room.kind === 'channel',
    files: frame.files ?? [],
  };
  if (extras.files.length) await confirmUploads(deps, connectionId, room.id, extras.files);
  const limits = sendLimits(settings, deps.clock.now());
  const insert = () => insertMessage(sql, connectionId, room, frame.clientId, text, extras, limits);
  let [row] = await insert();
  if (!row?.user_id) throw new Unauthorized('Log in first.');
  if (row.dm_block) throw dmBlocked(room, row.sender_name ?? '', row.dm_block);
  if (!row.id && !row.member && !row.limited && room.kind === 'dm') {
    // The first message of a conversation opens the DM room for both people
    // (with the checks and budgets of joining it).
    await openDmRoom(deps, connectionId, room);
    [row] = await insert();
  }
  if (row?.limited) {
    limitHit(deps.log, 'send', { user: row.sender_name ?? undefined, connection: connectionId });
    throw rateLimited(row, limits, settings);
  }
  if (!row?.id) {
    if (!row?.member) throw new Forbidden(`You are not a member of ${describeRoom(room)}; join it first.`);
    if (!row.reply_ok) throw new NotFound(REPLY_NOT_FOUND);
    if (!row.files_ok) throw new NotFound(FILES_NOT_FOUND);
    // Lost a race with a parallel send of the same clientId: that one stored it.
    [row] = await insert();
    if (!row?.id) throw new Forbidden(`You are not a member of ${describeRoom(room)}.`);
  }
  // A repeat of a send whose message has disappeared since: it goes to nobody again.
  if (!row.fresh && row.expires_at && row.expires_at <= limits.now) throw new NotFound('That message has disappeared.');
  if (row.fresh && extras.here && !row.here_taken) {
    // Sent all the same, without the @here.
    limitHit(deps.log, 'here', { user: row.sender_name ?? undefined, connection: connectionId });
  }
  let message = toMessage(row as MessageRow);
  if (row.fresh && row.attached?.length) message.files = row.attached;
  // The reply snippet was read from the statement's snapshot: if the original
  // changed while this send waited for the room's lock, read it again (only then).
  if (row.fresh && extras.replyTo && !row.calm) message = (await readMessage(sql, message.id)) ?? message;
  // A repeat gets the same reply; the room hears it again only once and only
  // soon after the original (docs/DELIVERY.md): if the first attempt died between
  // commit and fan-out, members still receive it live (clients drop duplicates by
  // id). Otherwise no recipients come back and the sender alone is answered.
  const recipients = row.recipients ?? [];
  // *(E25)* a fresh direct message or mention is pushed to the devices of the
  // people it concerns who are not looking: after the fan-out (route.ts), by a
  // statement of its own, so the send stays one statement up to the fan-out.
  const fresh = message;
  const pushable = row.fresh && row.push_wanted && deps.push !== undefined;
  return {
    ...(pushable ? { after: () => pushMessage(deps, { id: fresh.id, room: fresh.room, from: fresh.from, text: fresh.text }) } : {}),
    reply: { type: 'sent', clientId: frame.clientId, message },
    // `prev` chains fresh messages (docs/DELIVERY.md), and `seq`/`prevSeq` the
    // room's changes; a repeat has neither.
    broadcasts: recipients.length
      ? [
          {
            to: recipients,
            frame: row.fresh
              ? { type: 'message', message, prev: row.prev, seq: row.change_seq, prevSeq: row.prev_seq }
              : { type: 'message', message },
          },
        ]
      : [],
  };
}

/**
 * *(E22)* The refusal of a direct message across a block. The blocked sender
 * hears only that it was not delivered, the sentence any refused delivery would
 * get, never that they are blocked; the blocker is told their own block.
 */
export function dmBlocked(room: RoomName, me: string, way: 'mine' | 'theirs'): Forbidden {
  if (way === 'theirs') return new Forbidden(DM_NOT_DELIVERED);
  const other = room.users?.find((u) => u !== me) ?? 'this person';
  return new Forbidden(`You have blocked ${other}; unblock them to write to them.`);
}

export const DM_NOT_DELIVERED = 'Your message could not be delivered to this person.';

export const FILES_NOT_FOUND = 'A file of this message is not one you uploaded to this room, or it was sent already.';
export const REPLY_NOT_FOUND = 'The message you are replying to is not in this room, or has been deleted.';

export function describeRoom(room: RoomName): string {
  return room.kind === 'dm' ? 'this conversation' : `#${room.id}`;
}

/** A page of messages, and the room's seq read in the same snapshot. */
export interface MessagePage {
  messages: Message[];
  hasMore: boolean;
  /** the room's change seq when the page was read (null: it has never changed) */
  seq: string | null;
}

type PageRow = Partial<MessageRow> & { room_seq: string | null };

/**
 * A page of history, oldest first: `after` reads forward from a cursor (catch-up);
 * otherwise backwards from `before` or the end. At most `limit` messages and, as
 * JSON, at most `budget` bytes (but never none); `hasMore` says more lie beyond
 * the page in the direction read. Tombstones are left out: version 1 clients
 * never see an empty message (the change feed, `changes`, carries them). The
 * room's seq comes from the same statement, so every change up to it shows in
 * the page: a client may start its change cursor there.
 */
export async function pageMessages(
  sql: Sql,
  roomId: string,
  cursor: { before?: string; after?: string },
  limit: number,
  budget: number = REPLY_BUDGET_BYTES,
): Promise<MessagePage> {
  const { before, after } = cursor;
  const forward = after !== undefined;
  const order = forward ? sql`asc` : sql`desc`;
  // Rows in reading order, cut by body size in the database as well as by count,
  // so a room of long messages is not read whole for a page that holds a few: the
  // body bytes before a row are a lower bound of its JSON's, so every row that
  // can fit comes back, plus one past the budget that tells there is more. Only
  // those rows get their whole state (reactions, reply, mentions) read.
  const rows = await sql<PageRow[]>`
    select r.last_seq::text as room_seq, p.* from rooms r
    left join lateral (
      select ${messageColumns(sql)} from (
        select m.id, sum(octet_length(m.body)) over (order by m.id ${order}) - octet_length(m.body) as bytes_before
        from messages m
        where m.room_id = ${roomId} and m.deleted_at is null and ${notExpired(sql, 'm')}
          ${after !== undefined ? sql`and m.id > ${after}` : sql``}
          ${before !== undefined ? sql`and m.id < ${before}` : sql``}
        order by m.id ${order}
        limit ${limit + 1}
      ) page join messages m on m.id = page.id
      where page.bytes_before <= ${budget}
    ) p on true
    where r.id = ${roomId}
    order by p.id ${order}`;
  const found = rows.filter((r) => r.id != null) as MessageRow[];
  const { taken } = fitPrefix(found.slice(0, limit).map(toMessage), budget, 1);
  const hasMore = found.length > taken.length;
  if (!forward) taken.reverse();
  return { messages: taken, hasMore, seq: rows[0]?.room_seq ?? null };
}

export async function history(deps: Deps, connectionId: string, frame: HistoryFrame): Promise<Outcome> {
  const { sql } = deps;
  const { around } = frame;
  if (around !== undefined && (frame.before !== undefined || frame.after !== undefined)) {
    throw new BadRequest('around cannot be combined with before or after.');
  }
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  if (!(await isMember(sql, frame.room.id, caller.userId))) {
    throw new Forbidden(`You are not a member of ${describeRoom(frame.room)}.`);
  }
  const limit = frame.limit ?? 50;
  if (around !== undefined) {
    // Centred on the message (a jump to a reply's original, or to a mention): up
    // to half the page at or before it, the rest after it, each half within half
    // the bytes. The room's seq comes with the first read: the second may only
    // show later states, never earlier ones, which a change cursor tolerates.
    const older = await pageMessages(sql, frame.room.id, { before: (BigInt(around) + 1n).toString() }, Math.ceil(limit / 2), REPLY_BUDGET_BYTES / 2);
    const newer = await pageMessages(sql, frame.room.id, { after: around }, limit - older.messages.length, REPLY_BUDGET_BYTES / 2);
    return {
      reply: {
        type: 'history',
        room: frame.room.id,
        messages: [...older.messages, ...newer.messages],
        hasMore: older.hasMore,
        hasNewer: newer.hasMore,
        seq: older.seq,
      },
    };
  }
  const { messages, hasMore, seq } = await pageMessages(sql, frame.room.id, frame, limit);
  return { reply: { type: 'history', room: frame.room.id, messages, hasMore, seq } };
}
