// Away presence and Web Push notifications (extension E25).
//
// Every connection reports whether its person is looking at it (`activity`:
// active, idle or hidden); a person is away when all their connections are idle
// or hidden, and roommates hear when that changes (presence.ts, awayPresence).
// A person may subscribe devices to Web Push; a direct message or a mention
// then reaches those devices when the person has no active connection. The
// push is encrypted to the device (aes128gcm) and signed with the server's
// VAPID key by the Pusher port; here are the checks, the budgets and the
// selection. Subscription endpoints are URLs a client gives the server to
// send to, so they are checked against SSRF: https only, no private, loopback
// or link-local address, literal or resolved (the adapter checks again when it
// connects, against a name that changed its answer).
import { createECDH } from 'node:crypto';
import * as v from 'valibot';
import { chargeBucket, refilledTokens } from './budgets.js';
import { BadRequest, Conflict, NotFound, Unauthorized } from './errors.js';
import { callerRow, limitHit, requireCallerWithin, userBudget, userRefusal } from './limits.js';
import type { Outcome } from './outcome.js';
import type { Deps, PushTarget, Sql } from './ports.js';
import { awayPresence } from './presence.js';
import { requestId } from './protocol.js';

// ---------------------------------------------------------------- activity

export const ACTIVITY_STATES = ['active', 'idle', 'hidden'] as const;
export type ActivityState = (typeof ACTIVITY_STATES)[number];

/** `{"action":"activity","id"?,"state":"active"|"idle"|"hidden"}` */
export const ActivityFrame = v.object({
  action: v.literal('activity'),
  id: requestId,
  state: v.picklist(ACTIVITY_STATES, 'state must be "active", "idle" or "hidden"'),
});
export type ActivityFrame = v.InferOutput<typeof ActivityFrame>;

/**
 * `activity`: the connection's state. Two statements, as dropConnections has,
 * on purpose: the update, then the look at the person's other connections once
 * it has committed, so two tabs going hidden at the same moment cannot each see
 * the other still active and leave the person away with nobody told (both may
 * tell instead, which changes nothing).
 */
export async function reportActivity(deps: Deps, connectionId: string, frame: ActivityFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  const budget = userBudget(settings, 'activity');
  const now = deps.clock.now();
  const [row] = await sql<{ user_id: string; username: string; taken: boolean; tokens: number | null; before: string | null }[]>`
    with caller as (${callerRow(sql, connectionId, 'activity')}),
    taken as (${chargeBucket(sql, sql`select key from caller`, budget, now)}),
    before as (select c.activity from connections c where c.id = ${connectionId}),
    changed as (
      update connections c set activity = ${frame.state}
      where c.id = ${connectionId} and exists (select 1 from taken) and c.activity <> ${frame.state}
      returning c.id
    )
    select k.user_id, k.username, exists (select 1 from taken) as taken,
      (select ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = k.key) as tokens,
      (select activity from before) as before
    from caller k`;
  if (!row) throw new Unauthorized('Log in first.');
  if (!row.taken) {
    limitHit(deps.log, 'activity', { user: row.username, connection: connectionId });
    throw userRefusal(settings, 'activity', row.tokens ?? 0);
  }
  const othersActive = await hasActiveConnection(sql, row.user_id, connectionId);
  const away = !othersActive && frame.state !== 'active';
  const wasAway = !othersActive && row.before !== 'active';
  return {
    reply: { type: 'activity', state: frame.state, away },
    broadcasts: away !== wasAway ? await awayPresence(sql, deps.settings, row.user_id, row.username, away) : [],
  };
}

/** Whether the user has an active connection besides `exceptConnection`. */
export async function hasActiveConnection(sql: Sql, userId: string, exceptConnection = ''): Promise<boolean> {
  const [row] = await sql<{ active: boolean }[]>`
    select exists (select 1 from connections where user_id = ${userId} and id <> ${exceptConnection} and activity = 'active') as active`;
  return row?.active ?? false;
}

// ---------------------------------------------------------------- subscriptions

/** Push service URLs are a few hundred characters (FCM, Mozilla, Apple); longer is refused. */
export const MAX_ENDPOINT_LENGTH = 1024;
/** Subscriptions (devices) one person may keep. */
export const MAX_PUSH_SUBSCRIPTIONS = 10;
/** Characters of a device label. */
export const MAX_PUSH_DEVICE_LENGTH = 64;
/** RFC 8291: an uncompressed P-256 point (65 bytes) and a 16-byte auth secret, base64url. */
export const P256DH_BYTES = 65;
export const AUTH_BYTES = 16;

const subscriptionId = v.pipe(v.string('subscription must be a subscription id string'), v.regex(/^[1-9][0-9]{0,17}$/, 'subscription must be a subscription id'));

/** `{"action":"push_subscribe","id"?,"endpoint","keys":{"p256dh","auth"},"device"?}` */
export const PushSubscribeFrame = v.object({
  action: v.literal('push_subscribe'),
  id: requestId,
  endpoint: v.pipe(v.string('endpoint must be a string'), v.maxLength(MAX_ENDPOINT_LENGTH, `endpoint is at most ${MAX_ENDPOINT_LENGTH} characters`)),
  keys: v.object(
    {
      // A little slack over the exact lengths for padding; the decoded size is checked below.
      p256dh: v.pipe(v.string('keys.p256dh must be a string'), v.maxLength(100, `keys.p256dh must be a ${P256DH_BYTES}-byte key, base64url`)),
      auth: v.pipe(v.string('keys.auth must be a string'), v.maxLength(32, `keys.auth must be a ${AUTH_BYTES}-byte secret, base64url`)),
    },
    'keys must be an object with p256dh and auth',
  ),
  device: v.optional(
    v.pipe(
      v.string('device must be a string'),
      v.maxLength(MAX_PUSH_DEVICE_LENGTH, `device is at most ${MAX_PUSH_DEVICE_LENGTH} characters`),
      // a label shown as one line of text: no control or direction characters (NUL cannot be stored either)
      v.regex(/^[^\p{Cc}\u202a-\u202e\u2066-\u2069]*$/u, 'device must be one line of text, without control characters'),
    ),
  ),
});
export type PushSubscribeFrame = v.InferOutput<typeof PushSubscribeFrame>;

export const PushSubscriptionsFrame = v.object({ action: v.literal('push_subscriptions'), id: requestId });
export type PushSubscriptionsFrame = v.InferOutput<typeof PushSubscriptionsFrame>;

export const PushUnsubscribeFrame = v.object({ action: v.literal('push_unsubscribe'), id: requestId, subscription: subscriptionId });
export type PushUnsubscribeFrame = v.InferOutput<typeof PushUnsubscribeFrame>;

/** One PUSH_SUBSCRIPTION as the protocol shows it: never its endpoint or keys. */
export interface PushSubscriptionInfo {
  id: string;
  device: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

interface SubscriptionRow {
  id: string;
  device: string | null;
  created_at: Date;
  last_used_at: Date | null;
}

function toInfo(r: SubscriptionRow): PushSubscriptionInfo {
  return { id: String(r.id), device: r.device, createdAt: r.created_at.toISOString(), lastUsedAt: r.last_used_at?.toISOString() ?? null };
}

/** The bytes of a base64url string (padding allowed), or undefined when it is not base64url. */
function base64urlBytes(s: string): Buffer | undefined {
  const bare = s.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(bare) || bare.length % 4 === 1) return undefined;
  return Buffer.from(bare, 'base64url');
}

/** The four bytes of a dotted IPv4 address, or undefined. */
function ipv4Bytes(ip: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail allowed), or undefined. */
function ipv6Groups(ip: string): number[] | undefined {
  let s = ip.toLowerCase().replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!s.includes(':')) return undefined;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = ipv4Bytes(v4[1]!);
    if (!b) return undefined;
    s = s.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const part = (p: string) => (p ? p.split(':') : []);
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

function privateIpv4(b: number[]): boolean {
  const [a, c] = [b[0]!, b[1]!];
  return (
    a === 0 || // "this" network
    a === 10 ||
    a === 127 ||
    (a === 100 && c >= 64 && c <= 127) || // carrier-grade NAT
    (a === 169 && c === 254) || // link-local, cloud metadata
    (a === 172 && c >= 16 && c <= 31) ||
    (a === 192 && c === 168) ||
    (a === 192 && c === 0 && b[2] === 0) || // IETF protocol assignments
    (a === 192 && c === 0 && b[2] === 2) || // documentation (TEST-NET-1)
    (a === 198 && c === 51 && b[2] === 100) || // documentation (TEST-NET-2)
    (a === 203 && c === 0 && b[2] === 113) || // documentation (TEST-NET-3)
    (a === 192 && c === 88 && b[2] === 99) || // 6to4 relay anycast
    (a === 198 && (c === 18 || c === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

/**
 * Whether an address (IPv4 or IPv6, as a resolver or a URL gives it) is one a
 * push must never go to: private, loopback, link-local, unique-local,
 * multicast, unspecified or reserved, also when an IPv6 address carries such an
 * IPv4 address (mapped, NAT64, 6to4). Anything that does not parse counts as private.
 */
export function isPrivateAddress(ip: string): boolean {
  const v4 = ipv4Bytes(ip);
  if (v4) return privateIpv4(v4);
  const g = ipv6Groups(ip);
  if (!g) return true;
  const embedded = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return privateIpv4(embedded(g[6]!, g[7]!)); // ::ffff:a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return privateIpv4(embedded(g[6]!, g[7]!)); // NAT64
  // Outside global unicast (2000::/3) nothing is public: ::, ::1, IPv4-compatible
  // ::a.b.c.d and ::ffff:0:a.b.c.d, 64:ff9b:1::/48, discard, unique local,
  // link-local, site-local, multicast. An allow-list, so a range not named here
  // is refused rather than let through.
  if ((g[0]! & 0xe000) !== 0x2000) return true;
  if (g[0] === 0x2002) return privateIpv4(embedded(g[1]!, g[2]!)); // 6to4
  if (g[0] === 0x2001) {
    if (g[1]! < 0x200) return true; // 2001::/23 IETF special purpose: Teredo, benchmarking, ORCHID, AMT…
    if (g[1] === 0xdb8) return true; // documentation
  }
  if ((g[0]! & 0xfff0) === 0x3ff0) return true; // 3fff::/20 documentation
  return false;
}

/** The endpoint's URL if its form is acceptable (https, no credentials, not a literal private address). */
export function checkEndpointForm(endpoint: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new BadRequest('endpoint must be a URL (the push service address the browser gave).');
  }
  if (url.protocol !== 'https:') throw new BadRequest('endpoint must be an https:// URL.');
  if (url.username || url.password) throw new BadRequest('endpoint must not carry a user name or password.');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = ipv4Bytes(host) !== undefined || host.includes(':');
  if (literal && !allowPrivate && isPrivateAddress(host)) {
    throw new BadRequest('endpoint must be a public push service, not a private, loopback or link-local address.');
  }
  return url;
}

/** Refuses a name that resolves to a private address (any of its addresses), or to none. */
export async function checkEndpointHost(deps: Deps, url: URL): Promise<void> {
  if (deps.settings.pushAllowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipv4Bytes(host) !== undefined || host.includes(':')) return; // a literal, checked by checkEndpointForm
  let addresses: string[];
  try {
    addresses = await deps.push!.resolve(host);
  } catch {
    addresses = [];
  }
  if (addresses.length === 0) throw new BadRequest(`endpoint's host ${host} could not be resolved.`);
  if (addresses.some(isPrivateAddress)) {
    throw new BadRequest('endpoint must be a public push service, not a name that resolves to a private, loopback or link-local address.');
  }
}

/**
 * Whether the bytes are a point on P-256: a key off the curve passes the size
 * check but no push can ever be encrypted to it, and the subscription would
 * hold a device's place and cost a try on every message.
 */
function onCurve(point: Uint8Array): boolean {
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    ecdh.computeSecret(point);
    return true;
  } catch {
    return false;
  }
}

function checkKeys(keys: { p256dh: string; auth: string }): void {
  const p256dh = base64urlBytes(keys.p256dh);
  if (!p256dh || p256dh.length !== P256DH_BYTES || p256dh[0] !== 4 || !onCurve(p256dh)) {
    throw new BadRequest(`keys.p256dh must be an uncompressed P-256 public key: ${P256DH_BYTES} bytes, base64url.`);
  }
  const auth = base64urlBytes(keys.auth);
  if (!auth || auth.length !== AUTH_BYTES) throw new BadRequest(`keys.auth must be a ${AUTH_BYTES}-byte secret, base64url.`);
}

function requirePush(deps: Deps): NonNullable<Deps['push']> {
  if (!deps.push) throw new BadRequest('This server does not send push notifications.');
  return deps.push;
}

/**
 * `push_subscribe`: keeps this device's subscription (the same endpoint again
 * replaces its keys and label). Cheap checks first (the frame, the keys, the
 * URL's form), then the budget, then the name's resolution, then one insert
 * that also holds the person to MAX_PUSH_SUBSCRIPTIONS.
 */
export async function pushSubscribe(deps: Deps, connectionId: string, frame: PushSubscribeFrame): Promise<Outcome> {
  requirePush(deps);
  checkKeys(frame.keys);
  const url = checkEndpointForm(frame.endpoint, deps.settings.pushAllowPrivate);
  const caller = await requireCallerWithin(deps, connectionId, 'push');
  await checkEndpointHost(deps, url);
  const device = frame.device?.trim() || null;
  const [row] = await deps.sql<SubscriptionRow[]>`
    insert into push_subscriptions (user_id, endpoint, p256dh, auth, device)
    select ${caller.userId}, ${url.href}, ${frame.keys.p256dh.replace(/=+$/, '')}, ${frame.keys.auth.replace(/=+$/, '')}, ${device}
    where (select count(*) from push_subscriptions where user_id = ${caller.userId}) < ${MAX_PUSH_SUBSCRIPTIONS}
      or exists (select 1 from push_subscriptions where user_id = ${caller.userId} and endpoint = ${url.href})
    on conflict (user_id, endpoint) do update set p256dh = excluded.p256dh, auth = excluded.auth, device = coalesce(excluded.device, push_subscriptions.device)
    returning id, device, created_at, last_used_at`;
  if (!row) throw new Conflict(`You have notifications on for ${MAX_PUSH_SUBSCRIPTIONS} devices, the most allowed; turn one off first.`);
  return { reply: { type: 'push_subscribed', subscription: toInfo(row) } };
}

/** `push_subscriptions`: my devices with notifications on, and the key to subscribe another with. */
export async function listPushSubscriptions(deps: Deps, connectionId: string, _frame: PushSubscriptionsFrame): Promise<Outcome> {
  const push = requirePush(deps);
  const caller = await requireCallerWithin(deps, connectionId, 'push');
  const rows = await deps.sql<SubscriptionRow[]>`
    select id, device, created_at, last_used_at from push_subscriptions where user_id = ${caller.userId} order by created_at, id`;
  const [settings] = await deps.sql<{ push_text: boolean }[]>`select push_text from users where id = ${caller.userId}`;
  return {
    reply: { type: 'push_subscriptions', publicKey: await push.publicKey(), pushText: settings?.push_text ?? false, subscriptions: rows.map(toInfo) },
  };
}

/** `push_unsubscribe`: one of my subscriptions removed; anyone else's is "not found", as a missing one is. */
export async function pushUnsubscribe(deps: Deps, connectionId: string, frame: PushUnsubscribeFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'push');
  const gone = await deps.sql`delete from push_subscriptions where id = ${frame.subscription} and user_id = ${caller.userId} returning id`;
  if (gone.length === 0) throw new NotFound('You have no such notification subscription.');
  return { reply: { type: 'push_unsubscribed', subscription: frame.subscription } };
}

// ---------------------------------------------------------------- sending

/** A push older than this is dropped by the push service: by then the person has seen the room. */
export const PUSH_TTL_SECONDS = 6 * 60 * 60;
/** Pushes in flight at once from one send. */
export const PUSH_CONCURRENCY = 8;
/** Code points of text a push may carry, when its person allows text at all. */
export const PUSH_TEXT_LENGTH = 200;

/** What the service worker gets: enough to say who wrote where, and to open the room. */
export interface PushPayload {
  type: 'message';
  room: string;
  /** "#general", or for a direct message the sender */
  roomName: string;
  from: string;
  messageId: string;
  /** 'dm' or 'mention' */
  reason: 'dm' | 'mention';
  /** only for people who set pushText */
  text?: string;
}

interface PushRow extends PushTarget {
  id: string;
  push_text: boolean;
  room_kind: 'channel' | 'dm';
}

/**
 * After a fresh message's fan-out: the devices to push to. One statement: the
 * direct message's other member or the mentioned members, who are not the
 * sender, have not blocked the sender, have a subscription and no active
 * connection, each within their budget of pushes received (over it, nothing).
 */
function selectPushTargets(deps: Deps, messageId: string) {
  const { sql } = deps;
  const received = { burst: deps.settings.pushesPerHour, perSecond: deps.settings.pushesPerHour / 3600 };
  const now = deps.clock.now();
  return sql<PushRow[]>`
    with msg as (
      select m.room_id, m.sender_id, m.mentioned_user_ids, r.kind from messages m join rooms r on r.id = m.room_id
      where m.id = ${messageId} and m.deleted_at is null
    ), targets as (
      select u.id, u.push_text, msg.kind from msg join users u on u.id <> msg.sender_id
        and (u.id = any(msg.mentioned_user_ids)
          or (msg.kind = 'dm' and exists (select 1 from memberships mm where mm.room_id = msg.room_id and mm.user_id = u.id)))
      where exists (select 1 from push_subscriptions s where s.user_id = u.id)
        and not exists (select 1 from connections c where c.user_id = u.id and c.activity = 'active')
        and not exists (select 1 from blocks b where b.blocker_id = u.id and b.blocked_id = msg.sender_id)
    ), charged as (
      ${chargeBucket(sql, sql`select 'pushed:user:' || t.id as key from targets t`, received, now)}
    ), used as (
      update push_subscriptions s set last_used_at = ${now}
      from targets t
      where s.user_id = t.id and ('pushed:user:' || t.id) in (select key from charged)
      returning s.id, s.endpoint, s.p256dh, s.auth, s.user_id
    )
    select u.id, u.endpoint, u.p256dh, u.auth, t.push_text, t.kind as room_kind from used u join targets t on t.id = u.user_id`;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function bounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

/**
 * Pushes a fresh message to the devices of the people it concerns who are not
 * looking (a direct message's other member, the mentioned): after the fan-out,
 * so the send path stays one statement. A push service's 404 or 410 says the
 * subscription is gone: it is deleted. Other failures are logged with the push
 * service's host and status only (the endpoint's path is a capability).
 */
export async function pushMessage(deps: Deps, message: { id: string; room: string; from: string; text: string }): Promise<void> {
  const push = deps.push;
  if (!push) return;
  const rows = await selectPushTargets(deps, message.id);
  if (rows.length === 0) return;
  const gone: string[] = [];
  await bounded(rows, PUSH_CONCURRENCY, async (r) => {
    const payload: PushPayload = {
      type: 'message',
      room: message.room,
      roomName: r.room_kind === 'dm' ? message.from : `#${message.room}`,
      from: message.from,
      messageId: message.id,
      reason: r.room_kind === 'dm' ? 'dm' : 'mention',
      ...(r.push_text ? { text: [...message.text].slice(0, PUSH_TEXT_LENGTH).join('') } : {}),
    };
    const status = await push.send(r, JSON.stringify(payload), PUSH_TTL_SECONDS);
    if (status === 404 || status === 410) gone.push(r.id);
    else if (status < 200 || status >= 300) {
      deps.log.warn('push not accepted', { host: new URL(r.endpoint).host, status });
    }
    deps.telemetry?.metric(status >= 200 && status < 300 ? 'Pushes' : 'PushFailures', 1, 'Count');
  });
  if (gone.length) await deps.sql`delete from push_subscriptions where id = any(${gone})`;
}
