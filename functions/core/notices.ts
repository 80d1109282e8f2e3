// Email notices (E24): a person who leaves a direct message or a mention unread
// past a delay gets one email, a digest of everything that waited meanwhile, and
// at most one such email an hour. Nothing is written when a message is sent (the
// send stays one statement): the sweep reads what is due from messages,
// memberships and read_marks, and keeps per person only how far it has noticed
// (`notices.noticed_through`) and when it last mailed, and whether they may have
// something waiting (below).
//
// Who is asked at all: the sweep does not look at every person each minute.
// It reads the messages sent since its last look (`notice_scan.through`, in id
// order, a bounded batch) and writes down the people they may concern as
// `notice_candidates`: the other member of a DM, those mentioned by name or by
// @here, and the members of the room who chose every message. Only candidates
// are asked whether something is due, and a candidate with nothing waiting (or
// whose notices are off) is struck off. So a quiet minute costs a look at no
// message and no person, whatever the number of people; a busy one costs what
// its messages concern. A person who turns notices on (or to every message), an
// edit that mentions someone, and an unblock make a candidate too: those are the
// changes that can make old messages wait for someone without a new message.
//
// Exactly-once-ish under concurrency: a sweep claims a person's row with
// FOR UPDATE SKIP LOCKED and a lease (next_attempt_at moved past now, committed
// before the mail goes out), so two sweeps of the same minute never mail the same
// person, and a sweep that dies mid-way frees the row when the lease lapses. A
// failed send is retried with backoff, then given up after `noticeMaxAttempts`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { perWindow, takeBudget } from './budgets.js';
import { notExpired } from './expiry.js';
import type { ChatSettings, Deps, Mail, Queryable, Sql } from './ports.js';

/** What a person is mailed about: nothing, direct messages and mentions (the default), or every message. */
export const NOTIFY_LEVELS = ['off', 'mentions', 'all'] as const;
export type NotifyLevel = (typeof NOTIFY_LEVELS)[number];

/** A claim holds a person's row this long: a sweep that dies frees it after. */
export const CLAIM_LEASE_SECONDS = 5 * 60;
/** Rooms a digest names (the rest are counted), and code points of a quote. */
export const DIGEST_ROOMS = 10;
export const QUOTE_LENGTH = 140;
/** Messages the scan reads in one statement: a backlog (after downtime) is read over the next minutes. */
export const SCAN_BATCH = 5000;
/** Batches the scan reads at most per sweep: 20,000 messages a minute before it falls behind. */
export const SCAN_ROUNDS = 4;
/**
 * The scan moves past a message only once it is this old. Ids are taken before
 * a send commits, so a message with a lower id may still become visible after
 * one with a higher id; stopping at the first message younger than this keeps
 * the scan from jumping over one whose send is still committing (a send is one
 * statement: milliseconds, with room to spare for the two clocks' skew).
 * Younger messages are read too (their people become candidates at once) and
 * read again by the next sweep.
 */
export const SCAN_SETTLE_SECONDS = 30;
/** Messages older than this are never noticed (a person back after a long absence sees them in the client). */
export const LOOKBACK_DAYS = 7;

/** Seconds before retry `attempt` (1, 2, …): a minute, doubling, at most an hour. */
export function backoffSeconds(attempt: number): number {
  return Math.min(60 * 2 ** Math.max(0, attempt - 1), 60 * 60);
}

// ---------------------------------------------------------------------------
// The unsubscribe link: HMAC-SHA256 over the purpose, the user id and the expiry,
// with a key the server makes once and keeps in the database (every function
// reads the same one; no secret to deploy).

// Numbers without leading zeros: one token, one spelling.
const TOKEN = /^([1-9]\d{0,18})\.([1-9]\d{0,11})\.([A-Za-z0-9_-]{43})$/;
const PURPOSE = 'unsubscribe';

/** The server's key called `name`, made on first use (two racing makers agree on the first). */
export async function serverKey(sql: Queryable, name: string): Promise<Buffer> {
  await sql`insert into server_keys (name, key) values (${name}, ${randomBytes(32)}) on conflict (name) do nothing`;
  const [row] = await sql<{ key: Buffer }[]>`select key from server_keys where name = ${name}`;
  return row!.key;
}

function tokenMac(key: Buffer, userId: string, expires: number): string {
  return createHmac('sha256', key).update(`${PURPOSE}\n${userId}\n${expires}`).digest('base64url');
}

/** `<user id>.<expiry, Unix seconds>.<mac>`: unsubscribes that person from notices until the expiry. */
export function unsubscribeToken(key: Buffer, userId: string, expiresAt: Date): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  return `${userId}.${expires}.${tokenMac(key, userId, expires)}`;
}

export type TokenCheck = { userId: string } | { refused: 'malformed' | 'invalid' | 'expired' };

/** Checks a token: its form, then its MAC (constant time), then its expiry. */
export function checkUnsubscribeToken(key: Buffer, token: string, now: Date): TokenCheck {
  const match = TOKEN.exec(token);
  if (!match) return { refused: 'malformed' };
  const [, userId, expires] = match;
  // The text, not the decoded bytes: base64url's last character carries two
  // unused bits, so two spellings decode alike; only the canonical one is accepted.
  const given = Buffer.from(match[3]!, 'ascii');
  const expected = Buffer.from(tokenMac(key, userId!, Number(expires)), 'ascii');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { refused: 'invalid' };
  if (Number(expires) * 1000 <= now.getTime()) return { refused: 'expired' };
  return { userId: userId! };
}

export interface UnsubscribeRequest {
  method: string;
  /** the `token` query parameter */
  token: string | null;
  /** the POST body (form-encoded), at most a few hundred bytes are read */
  body?: string;
  /** the source network (networkOf), for the per-address budget */
  network: string;
}

export interface PageResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const REFUSALS: Record<'malformed' | 'invalid' | 'expired', string> = {
  malformed: 'This unsubscribe link is incomplete. Copy the whole link from the email, or change notifications in the Account dialog.',
  invalid: 'This unsubscribe link is not valid: it was not made by this server, or it was changed. Nothing was changed.',
  expired: 'This unsubscribe link has expired. Use the link in a newer email, or change notifications in the Account dialog.',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(status: number, title: string, inner: string, extra: Record<string, string> = {}): PageResponse {
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // A page of text and one form that posts back here: nothing else may load or run.
      'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      ...extra,
    },
    body:
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>${inner}</main></body></html>`,
  };
}

/**
 * Whether a POST body is RFC 8058's one-click request: `List-Unsubscribe=One-Click`
 * as `application/x-www-form-urlencoded` (what the page's button sends, and what
 * most mail providers send) or as a `multipart/form-data` part (what RFC 8058
 * §3.1 recommends). Only the first kilobyte is read.
 */
export function saysOneClick(body: string): boolean {
  const head = body.slice(0, 1024);
  if (new URLSearchParams(head).get('List-Unsubscribe') === 'One-Click') return true;
  return /content-disposition:[ \t]*form-data;[ \t]*name="?List-Unsubscribe"?[ \t]*\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n--/i.test(head);
}

/**
 * GET /unsubscribe?token=…: a page with a button, and nothing changed (mail
 * scanners open links). POST with `List-Unsubscribe=One-Click` (RFC 8058; the
 * page's button sends the same): notices off, 200. A forged, changed or expired
 * token: 400 and a page saying why, nothing changed. Each source network has a
 * budget, checked before anything else touches the database.
 */
export async function handleUnsubscribe(deps: Deps, request: UnsubscribeRequest): Promise<PageResponse> {
  const { settings } = deps;
  const now = deps.clock.now();
  if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'POST') {
    return { ...page(405, 'Not allowed', '<p>Open the link from the email.</p>'), headers: { ...page(405, '', '').headers, allow: 'GET, HEAD, POST' } };
  }
  const wait = await takeBudget(deps.sql, `unsubscribe:ip:${request.network}`, perWindow(settings.unsubscribesPerAddressPerHour, 3600), now);
  if (wait > 0) {
    return page(429, 'Too many requests', `<p>Too many unsubscribe requests from your network. Try again in ${Math.ceil(wait / 60)} minutes.</p>`, {
      'retry-after': String(wait),
    });
  }
  const checked = checkUnsubscribeToken(await serverKey(deps.sql, PURPOSE), request.token ?? '', now);
  if ('refused' in checked) return page(400, 'Link not valid', `<p>${escapeHtml(REFUSALS[checked.refused])}</p>`);
  const app = escapeHtml(settings.appName);
  if (request.method !== 'POST') {
    const action = `?token=${encodeURIComponent(request.token!)}`;
    return page(
      200,
      `Stop email notices from ${settings.appName}?`,
      `<p>You will no longer get emails about messages you have not read. Sign-in codes still come by email.</p>` +
        `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
        `<button type="submit">Unsubscribe</button></form>`,
    );
  }
  if (!saysOneClick(request.body ?? '')) {
    return page(400, 'Request not understood', '<p>The request did not say List-Unsubscribe=One-Click. Nothing was changed.</p>');
  }
  const changed = await deps.sql`update users set notify = 'off' where id = ${checked.userId} and notify <> 'off' returning id`;
  if (changed.length) deps.log.info('notices turned off by unsubscribe link', { user: checked.userId });
  return page(200, 'Unsubscribed', `<p>You will get no more email notices from ${app}. You can turn them on again in the Account dialog.</p>`);
}

// ---------------------------------------------------------------------------
// The sweep

/**
 * SQL: the messages waiting for a notice to the person `u` (a users row in
 * scope, with `n`, their notices row, left-joined), as rows (id, room_id,
 * sender_id, body, created_at, mention): in a room they are in, after their
 * read mark and after what was noticed, by someone else they have not blocked,
 * not deleted, removed or expired, and of the kind their choice names
 * (`mentions`: any message of a DM, or one that mentions them; `all`: any).
 *
 * Three disjoint branches, so that what a minute's sweep reads grows with what
 * is due rather than with what is unread: a person who leaves a busy channel
 * unread costs nothing unless they are mentioned in it. DMs (and every room,
 * for `all`) are read from the rooms' unread ranges; mentions by name through
 * the partial GIN index on mentioned_user_ids; @here through the partial index
 * of @here messages per room (schema/022_notices.sql).
 */
function waitingFor(sql: Queryable, now: Date) {
  const floor = sql`greatest(coalesce(rm.through, 0), coalesce(n.noticed_through, 0))`;
  const common = sql`x.sender_id <> u.id and x.deleted_at is null and ${notExpired(sql, 'x')}
    and x.created_at > ${now}::timestamptz - make_interval(days => ${LOOKBACK_DAYS})
    and not exists (select 1 from blocks b where b.blocker_id = u.id and b.blocked_id = x.sender_id)`;
  const columns = sql`x.id, x.room_id, x.sender_id, x.body, x.created_at, (u.id = any(x.mentioned_user_ids) or x.mentions_here) as mention`;
  return sql`
    select ${columns}
    from memberships m
    join rooms r on r.id = m.room_id
    left join read_marks rm on rm.user_id = u.id and rm.room_id = m.room_id
    join messages x on x.room_id = m.room_id and x.id > ${floor} and x.id <= r.last_message_id
    where m.user_id = u.id and (r.kind = 'dm' or u.notify = 'all') and r.last_message_id > ${floor} and ${common}
    union all
    select ${columns}
    from messages x
    join memberships m on m.room_id = x.room_id and m.user_id = u.id
    join rooms r on r.id = x.room_id
    left join read_marks rm on rm.user_id = u.id and rm.room_id = x.room_id
    where x.mentioned_user_ids @> array[u.id]::bigint[] and x.mentioned_user_ids <> '{}'
      and r.kind = 'channel' and u.notify <> 'all' and x.id > ${floor} and ${common}
    union all
    select ${columns}
    from memberships m
    join rooms r on r.id = m.room_id
    left join read_marks rm on rm.user_id = u.id and rm.room_id = m.room_id
    join messages x on x.room_id = m.room_id and x.mentions_here and x.id > ${floor} and x.id <= r.last_message_id
    where m.user_id = u.id and r.kind = 'channel' and u.notify <> 'all' and not (u.id = any(x.mentioned_user_ids))
      and r.last_message_id > ${floor} and ${common}`;
}

/** SQL: the person `u` (row `n`) may be mailed now: notices on, address not suppressed, not suspended, not in a lease, backoff or the hourly cap. */
function mayMail(sql: Queryable, settings: ChatSettings, now: Date) {
  return sql`
    u.notify <> 'off' and u.verified_at is not null
    and not exists (select 1 from mail_suppressions s where s.email_lower = u.email_lower)
    -- a suspended account is not invited back by mail
    and not exists (select 1 from suspensions sp where sp.user_id = u.id and (sp.until is null or sp.until > ${now}))
    and (n.next_attempt_at is null or n.next_attempt_at <= ${now})
    and (n.last_sent_at is null or n.last_sent_at <= ${now}::timestamptz - make_interval(secs => ${settings.noticeIntervalSeconds}))`;
}

interface Claimed {
  user_id: string;
  attempts: number;
}

interface DigestRow {
  room_id: string;
  kind: 'channel' | 'dm';
  count: number;
  senders: string[];
  mentioned: boolean;
  through: string;
  latest_sender: string;
  latest_body: string;
}

interface Recipient {
  username: string;
  email: string;
  notify: NotifyLevel;
  notify_quote: boolean;
}

export interface NoticeSweep {
  /** notices mailed */
  sent: number;
  /** sends that failed and will be retried, and those given up */
  failed: number;
  gaveUp: number;
}

/**
 * Reads the new messages into candidates, finds the candidates with something
 * due (a waiting message older than the delay), claims them, mails each one
 * digest, and strikes off the candidates with nothing left waiting. Safe to run
 * in several processes at once; each run handles at most `noticeBatch` people.
 */
export async function sweepNotices(deps: Deps): Promise<NoticeSweep> {
  const { sql, settings } = deps;
  const now = deps.clock.now();
  const result: NoticeSweep = { sent: 0, failed: 0, gaveUp: 0 };
  await scanMessages(sql, now);
  const due = await sql<{ id: string }[]>`
    select u.id::text from notice_candidates c join users u on u.id = c.user_id left join notices n on n.user_id = u.id
    where ${mayMail(sql, settings, now)}
      and exists (select 1 from (${waitingFor(sql, now)}) w
        where w.created_at <= ${now}::timestamptz - make_interval(secs => ${settings.noticeDelaySeconds}))
    limit ${settings.noticeBatch}`;
  if (!due.length) {
    await pruneCandidates(sql, now);
    return result;
  }
  const ids = due.map((d) => d.id);
  await sql`insert into notices (user_id) select unnest(${ids}::bigint[]) on conflict (user_id) do nothing`;
  // The claim: rows another sweep holds are skipped; rows it has just claimed
  // and committed fail the re-checked lease condition.
  const claimed = await sql<Claimed[]>`
    update notices n set attempts = n.attempts + 1,
      next_attempt_at = ${now}::timestamptz + make_interval(secs => ${CLAIM_LEASE_SECONDS})
    where n.user_id in (
      select c.user_id from notices c
      where c.user_id = any(${ids}::bigint[]) and (c.next_attempt_at is null or c.next_attempt_at <= ${now})
        and (c.last_sent_at is null or c.last_sent_at <= ${now}::timestamptz - make_interval(secs => ${settings.noticeIntervalSeconds}))
      for update skip locked)
    returning n.user_id::text, n.attempts`;
  const key = claimed.length ? await serverKey(sql, PURPOSE) : undefined;
  for (const claim of claimed) {
    const outcome = await noticeOne(deps, claim, key!, now);
    if (outcome === 'sent') result.sent++;
    else if (outcome === 'failed') result.failed++;
    else if (outcome === 'gave_up') result.gaveUp++;
  }
  // After the mail: a person just mailed has nothing waiting any more.
  await pruneCandidates(sql, now);
  if (result.sent || result.failed || result.gaveUp) deps.log.info('notices swept', { ...result });
  return result;
}

/**
 * The scan: the messages after `notice_scan.through` (SCAN_BATCH at a time, by
 * id) make the people they may concern candidates, and `through` moves to the
 * last message of the batch's settled prefix (see SCAN_SETTLE_SECONDS). A full
 * batch that moved on is followed by another, up to SCAN_ROUNDS a sweep, so a
 * busy server does not fall behind. Each round is one statement; a sweep that
 * finds the row taken by another sweep's scan reads nothing (that one does the
 * work), and with no new message the row is not even locked (a quiet minute
 * writes nothing). Deleted, expired or blocked messages are not sorted out
 * here: the due query asks exactly, this only narrows whom it asks.
 */
async function scanMessages(sql: Queryable, now: Date): Promise<void> {
  for (let round = 0; round < SCAN_ROUNDS; round++) {
    const [scanned] = await sql<{ read: number; moved: boolean }[]>`
      with scan as (
        select t.through from notice_scan t
        where t.id and exists (select 1 from messages x where x.id > t.through)
        for update skip locked
      ), batch as (
        select x.id, x.room_id, x.sender_id, x.mentioned_user_ids, x.mentions_here, x.created_at
        from scan s join messages x on x.id > s.through
        order by x.id limit ${SCAN_BATCH}
      ), settled as (
        select max(b.id) as through from batch b
        where b.id < coalesce(
          (select min(y.id) from batch y where y.created_at > ${now}::timestamptz - make_interval(secs => ${SCAN_SETTLE_SECONDS})),
          9223372036854775807)
      ), rooms_in as (
        select distinct b.room_id from batch b
      ), concerned as (
        -- the other member of a direct conversation (by room and writer, not per message)
        select m.user_id from (select distinct b.room_id, b.sender_id from batch b) w
        join rooms r on r.id = w.room_id and r.kind = 'dm'
        join memberships m on m.room_id = w.room_id and m.user_id <> w.sender_id
        union all
        -- those mentioned by name (members when it was sent)
        select unnest(b.mentioned_user_ids) from batch b where b.mentioned_user_ids <> '{}'
        union all
        -- @here: every member of the room, once per room however many there were
        select m.user_id from memberships m where m.room_id in (select b.room_id from batch b where b.mentions_here)
        union all
        -- those who chose every message, through the partial index of them
        select u.id from users u join memberships m on m.user_id = u.id
        where u.notify = 'all' and m.room_id in (select room_id from rooms_in)
      ), added as (
        -- in id order, so that two writers of candidates never wait on each other in a circle
        insert into notice_candidates (user_id)
        select distinct u.id from concerned p join users u on u.id = p.user_id where u.notify <> 'off'
        order by u.id
        on conflict (user_id) do nothing
      ), moved as (
        update notice_scan t set through = s.through
        from settled s where t.id and s.through is not null
        returning t.through
      )
      select (select count(*)::int from batch) as read, exists (select 1 from moved) as moved`;
    if (!scanned || scanned.read < SCAN_BATCH || !scanned.moved) return;
  }
}

/**
 * Strikes off the candidates with nothing waiting at all (of any age: one whose
 * message is not yet due stays), and those who cannot be mailed until they act:
 * notices off (turning them on makes a candidate again), address unverified.
 * Those merely in a lease, a backoff or the hourly cap stay. So do a suspended
 * person and a suppressed address while something waits: a suspension can be
 * lifted and an address changed, after which what still waits is mailed as
 * before; they are few, and the lookback drops them within days of the last
 * message. It reads only candidates, so it costs about what the due query does.
 */
async function pruneCandidates(sql: Queryable, now: Date): Promise<void> {
  await sql`
    delete from notice_candidates d where d.user_id in (
      select c.user_id from notice_candidates c
      join users u on u.id = c.user_id
      left join notices n on n.user_id = u.id
      where u.notify = 'off' or u.verified_at is null
        or not exists (select 1 from (${waitingFor(sql, now)}) w))`;
}

async function noticeOne(deps: Deps, claim: Claimed, key: Buffer, now: Date): Promise<'sent' | 'failed' | 'gave_up' | 'none'> {
  const { sql, settings } = deps;
  const [person] = await sql<Recipient[]>`
    select u.username, u.email, u.notify, u.notify_quote from users u left join notices n on n.user_id = u.id
    where u.id = ${claim.user_id} and u.notify <> 'off' and u.verified_at is not null
      and not exists (select 1 from mail_suppressions s where s.email_lower = u.email_lower)`;
  // Read since the claim's query, or turned off: the row goes back as it was.
  const rooms = person
    ? await sql<DigestRow[]>`
        select x.room_id, r.kind, count(*)::int as count,
          (array_agg(distinct s.username))[1:5] as senders,
          bool_or(x.mention) as mentioned,
          max(x.id)::text as through,
          (array_agg(s.username order by x.id desc))[1] as latest_sender,
          (array_agg(x.body order by x.id desc))[1] as latest_body
        from users u left join notices n on n.user_id = u.id
        cross join lateral (${waitingFor(sql, now)}) x
        join rooms r on r.id = x.room_id
        join users s on s.id = x.sender_id
        where u.id = ${claim.user_id}
        group by x.room_id, r.kind
        order by max(x.id) desc`
    : [];
  if (!person || !rooms.length) {
    await sql`update notices set attempts = 0, next_attempt_at = null where user_id = ${claim.user_id}`;
    return 'none';
  }
  const through = rooms.reduce((max, r) => (BigInt(r.through) > BigInt(max) ? r.through : max), '0');
  const token = unsubscribeToken(key, claim.user_id, new Date(now.getTime() + settings.unsubscribeLinkDays * 86_400_000));
  try {
    await deps.mailer.send(digestMail(settings, person, rooms, token));
  } catch (err) {
    const reason = err instanceof Error ? err.name : 'Error';
    if (claim.attempts >= settings.noticeMaxAttempts) {
      // Given up: these messages are never noticed; later ones may be.
      await sql`
        update notices set noticed_through = greatest(noticed_through, ${through}::bigint), attempts = 0,
          next_attempt_at = null, last_error = ${`gave up after ${claim.attempts} attempts: ${reason}`}
        where user_id = ${claim.user_id}`;
      deps.log.warn('notice given up', { user: claim.user_id, attempts: claim.attempts, error: reason });
      return 'gave_up';
    }
    const retryAt = new Date(now.getTime() + backoffSeconds(claim.attempts) * 1000);
    await sql`update notices set next_attempt_at = ${retryAt}, last_error = ${reason} where user_id = ${claim.user_id}`;
    deps.log.warn('notice failed, will retry', { user: claim.user_id, attempts: claim.attempts, error: reason });
    return 'failed';
  }
  await sql`
    update notices set noticed_through = greatest(noticed_through, ${through}::bigint), last_sent_at = ${now},
      attempts = 0, next_attempt_at = null, last_error = null
    where user_id = ${claim.user_id}`;
  return 'sent';
}

/** The room's link: the web client opens `#room=<id>`. */
export function roomLink(baseUrl: string, roomId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/#room=${encodeURIComponent(roomId)}`;
}

/** The unsubscribe endpoint (UNSUBSCRIBE_URL, e.g. a Lambda function URL; else the server's /unsubscribe) with the token. */
export function unsubscribeLink(settings: ChatSettings, token: string): string {
  const url = new URL(settings.unsubscribeUrl ?? `${(settings.publicUrl ?? 'http://localhost').replace(/\/+$/, '')}/unsubscribe`);
  url.searchParams.set('token', token);
  return url.toString();
}

function shorten(text: string): string {
  // Plain text in a mail client: no control, direction or invisible format
  // characters (a right-to-left override would show the quote reversed).
  const flat = text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\p{Cf}/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  const points = [...flat];
  return points.length > QUOTE_LENGTH ? `${points.slice(0, QUOTE_LENGTH - 1).join('')}…` : flat;
}

function describe(room: DigestRow): string {
  const others = room.senders.map((s) => `@${s}`);
  const who = others.length > 1 ? `${others.slice(0, -1).join(', ')} and ${others.at(-1)}` : others[0]!;
  const messages = room.count === 1 ? 'a message' : `${room.count} messages`;
  if (room.kind === 'dm') return `${who} sent you ${messages} directly`;
  return room.mentioned ? `${who} mentioned you in #${room.room_id} (${messages})` : `${who} wrote ${messages} in #${room.room_id}`;
}

/** "10 minutes", "1 hour", "45 seconds": a setting's length as the footer says it. */
function duration(seconds: number): string {
  const [n, unit] = seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : seconds % 60 === 0 ? [seconds / 60, 'minute'] : [seconds, 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** "an hour", "every 30 minutes": how often at most. */
function every(seconds: number): string {
  return seconds === 3600 ? 'an hour' : `every ${duration(seconds)}`;
}

/** The digest: who wrote and where, a link per room, quotes only when the person chose them. */
export function digestMail(settings: ChatSettings, person: Recipient, rooms: readonly DigestRow[], token: string): Mail {
  const base = settings.publicUrl ?? '';
  const total = rooms.reduce((sum, r) => sum + r.count, 0);
  const first = rooms[0]!;
  const subject =
    rooms.length === 1 && first.kind === 'dm'
      ? `@${first.latest_sender} sent you ${first.count === 1 ? 'a message' : `${first.count} messages`} on ${settings.appName}`
      : `${total} unread ${total === 1 ? 'message' : 'messages'} for you on ${settings.appName}`;
  const lines = [`Hello @${person.username},`, '', `While you were away on ${settings.appName}:`, ''];
  for (const room of rooms.slice(0, DIGEST_ROOMS)) {
    lines.push(`- ${describe(room)}`);
    if (person.notify_quote) lines.push(`  @${room.latest_sender}: "${shorten(room.latest_body)}"`);
    lines.push(`  Open: ${roomLink(base, room.room_id)}`, '');
  }
  if (rooms.length > DIGEST_ROOMS) lines.push(`…and ${rooms.length - DIGEST_ROOMS} more rooms.`, '');
  const unsubscribe = unsubscribeLink(settings, token);
  const choice = person.notify === 'all' ? 'every message in your rooms' : 'direct messages and mentions';
  lines.push(
    `You get at most one such email ${every(settings.noticeIntervalSeconds)}, about ${choice} left unread for ${duration(settings.noticeDelaySeconds)}.`,
    'Change this under Account > Email notifications, or stop these emails with one click:',
    unsubscribe,
  );
  return {
    to: person.email,
    subject,
    text: lines.join('\n'),
    // RFC 3834: sent by a machine, so autoresponders stay quiet
    headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', 'Auto-Submitted': 'auto-generated' },
  };
}

// ---------------------------------------------------------------------------
// SES bounces and complaints

export interface SesNotification {
  notificationType?: string;
  eventType?: string;
  bounce?: { bounceType?: string; bouncedRecipients?: Array<{ emailAddress?: string }> };
  complaint?: { complainedRecipients?: Array<{ emailAddress?: string }> };
}

/** Bare address of `Name <a@b>` or `a@b`, lower-cased; undefined unless it looks like one. */
function bareAddress(value: string | undefined): string | undefined {
  const address = (/<([^>]+)>/.exec(value ?? '')?.[1] ?? value ?? '').trim().toLowerCase();
  return /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(address) ? address : undefined;
}

/**
 * An SES event (the SNS message's JSON) of a permanent bounce or a complaint:
 * its recipients are suppressed. Transient bounces (a full mailbox) are not.
 * Returns the number of addresses suppressed; anything else is ignored.
 */
export async function recordSesEvent(sql: Sql, event: SesNotification): Promise<number> {
  const type = event.notificationType ?? event.eventType;
  let reason: 'bounce' | 'complaint';
  let recipients: Array<{ emailAddress?: string }>;
  if (type === 'Bounce' && event.bounce?.bounceType === 'Permanent') {
    reason = 'bounce';
    recipients = event.bounce.bouncedRecipients ?? [];
  } else if (type === 'Complaint') {
    reason = 'complaint';
    recipients = event.complaint?.complainedRecipients ?? [];
  } else return 0;
  const addresses = [...new Set(recipients.slice(0, 50).map((r) => bareAddress(r.emailAddress)).filter((a): a is string => !!a))];
  if (!addresses.length) return 0;
  await sql`
    insert into mail_suppressions (email_lower, reason)
    select unnest(${addresses}::text[]), ${reason}
    on conflict (email_lower) do nothing`;
  return addresses.length;
}
