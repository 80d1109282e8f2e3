// Connection rows: created on connect, deleted on disconnect, on a 410 from the
// gateway, and by the sweep. When a user's last connection goes, roommates hear it.
import { chargeBucket, commitWithoutFlush, perWindow, refilledTokens, takeBudget } from './budgets.js';
import { RateLimited } from './errors.js';
import { limitHit, userBudget, userKey, userRefusal } from './limits.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { Deps, Queryable, Sql } from './ports.js';
import { type PresenceRules, awayPresence, onlinePresence } from './presence.js';

/** Records a new anonymous socket and the address it came from (for per-address budgets). */
export async function openConnection(sql: Sql, connectionId: string, at: Date, sourceIp?: string, device?: string): Promise<void> {
  await sql`
    insert into connections (id, connected_at, source_ip, device) values (${connectionId}, ${at}, ${sourceIp ?? null}, ${device ?? null})
    on conflict (id) do nothing`;
}

/**
 * The key an address's budgets are kept under: an IPv4 address as it is, an
 * IPv6 address by its /64, the block one subscriber is given (else one host could
 * take a fresh address for every socket).
 */
export function addressKey(address: string): string {
  const ip = address.replace(/%.*$/, ''); // zone id
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail] = ip.split('::');
  const groups = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? front : [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${all
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/**
 * Records a new anonymous socket unless its address is over a limit: too many of
 * its sockets open and not logged in, or too many new ones in the last minute.
 * One statement; a refused socket is not recorded and its handshake is refused.
 */
export async function admitConnection(
  deps: Deps,
  connectionId: string,
  at: Date,
  sourceIp: string | undefined,
  /** *(E18)* the device label (devices.ts), kept for the session this socket may start */
  device?: string,
): Promise<boolean> {
  const { sql, settings } = deps;
  // Without an address (never on API Gateway or the local server) there is nothing to count by.
  if (sourceIp === undefined) {
    await openConnection(sql, connectionId, at, undefined, device);
    return true;
  }
  const cap = settings.anonymousConnectionsPerAddress;
  const key = `connect:ip:${addressKey(sourceIp)}`;
  const [row] = await sql<{ anonymous: number; taken: boolean }[]>`
    with anonymous as (
      select count(*)::int as n from connections where source_ip = ${sourceIp} and user_id is null
    ), taken as (
      ${chargeBucket(sql, sql`select ${key}::text as key from anonymous where n < ${cap}`, perWindow(settings.connectionsPerAddressPerMinute, 60), at)}
    ), opened as (
      insert into connections (id, connected_at, source_ip, device)
      select ${connectionId}, ${at}, ${sourceIp}, ${device ?? null} where exists (select 1 from taken)
      on conflict (id) do nothing
    )
    -- the address's bucket is shared by everyone behind it: see commitWithoutFlush
    select (select n from anonymous) as anonymous, exists (select 1 from taken) as taken, ${commitWithoutFlush(sql)} as commit_mode`;
  if (row?.taken) return true;
  limitHit(deps.log, 'connect', { address: sourceIp }, (row?.anonymous ?? 0) >= cap ? 'anonymous_connections' : 'connection_rate');
  return false;
}

/**
 * Charges a refused handshake (a foreign Origin, a wrong path) to its address's
 * connection budget, as an admitted one is: refusals cost the server work and
 * log lines too, so a flood of them is answered 429 like any other. False when
 * the budget is spent.
 */
export async function chargeRefusedHandshake(deps: Deps, at: Date, sourceIp: string | undefined): Promise<boolean> {
  if (sourceIp === undefined) return true;
  const key = `connect:ip:${addressKey(sourceIp)}`;
  const wait = await takeBudget(deps.sql, key, perWindow(deps.settings.connectionsPerAddressPerMinute, 60), at);
  if (wait === 0) return true;
  limitHit(deps.log, 'connect', { address: sourceIp }, 'connection_rate');
  return false;
}

/**
 * Admits a sign-in that has just bound `connectionId` to the user, inside the
 * binding transaction `tx` that holds the user's row lock, or returns the
 * `rate_limited` refusal for the caller to throw once the
 * transaction is over, having undone the bind (returned, not thrown: a
 * transaction that ends in a commit, never a rollback, is the cheap path on every
 * database, PGlite's embedded server included): every login,
 * verify or resume takes a token of the user's sign-in budget (which also bounds
 * the presence frames that signing in and out again sends roommates), and the
 * user may hold at most `connectionsPerUser` connections. The lock serialises
 * one user's binds, so the count sees every earlier one and the cap is exact.
 * Returns the user's number of connections.
 */
export async function admitSignIn(
  deps: Deps,
  tx: Queryable,
  connectionId: string,
  user: { id: string; username: string },
): Promise<number | RateLimited> {
  const { settings } = deps;
  const budget = userBudget(settings, 'bind');
  const now = deps.clock.now();
  const key = userKey('bind', user.id);
  const cap = settings.connectionsPerUser;
  // Count first: a refusal for the cap then spends no sign-in token.
  const [row] = await tx<{ n: number; taken: boolean; tokens: number | null }[]>`
    with n as (select count(*)::int as n from connections where user_id = ${user.id}),
    taken as (${chargeBucket(tx, tx`select ${key}::text as key from n where n.n <= ${cap}`, budget, now)})
    select (select n from n) as n,
      exists (select 1 from taken) as taken,
      (select ${refilledTokens(tx, budget, now)} from rate_budgets b where b.key = ${key}) as tokens`;
  if (row && row.taken) return row.n;
  await tx`update connections set user_id = null, session_id = null, authed_at = null where id = ${connectionId}`;
  const full = (row?.n ?? 0) > cap;
  limitHit(deps.log, 'bind', { user: user.username, connection: connectionId }, full ? 'connections_per_user' : 'sign_ins');
  if (!full) return userRefusal(settings, 'bind', row?.tokens ?? 0);
  return new RateLimited(
    `This account already has ${cap} connections open, the most allowed; close one (another tab or device) and try again.`,
  );
}

/**
 * Deletes connection rows; returns presence for users left with no connection.
 * Two statements, on purpose: the check for a user's other connections runs
 * after the delete has committed. Done in one statement, two of a user's sockets
 * closing at once (a tab and a phone) each see the other still there, and nobody
 * hears the user go offline; checked afterwards, the later one always sees none
 * (both may, and roommates then hear "offline" twice, which changes nothing).
 */
export async function dropConnections(sql: Sql, connectionIds: readonly string[], rules?: PresenceRules): Promise<Broadcast[]> {
  if (connectionIds.length === 0) return [];
  const dropped = await sql<{ user_id: string | null; activity: string }[]>`
    delete from connections where id = any(${connectionIds as string[]}) returning user_id, activity`;
  const users = [...new Set(dropped.flatMap((d) => (d.user_id ? [d.user_id] : [])))];
  if (users.length === 0) return [];
  // *(E25)* users who lost an active connection and kept only idle or hidden ones are away now
  const lostActive = [...new Set(dropped.flatMap((d) => (d.user_id && d.activity === 'active' ? [d.user_id] : [])))];
  const left = await sql<{ user_id: string; username: string; connected: boolean; active: boolean }[]>`
    select u.id as user_id, u.username,
      exists (select 1 from connections c where c.user_id = u.id) as connected,
      exists (select 1 from connections c where c.user_id = u.id and c.activity = 'active') as active
    from users u
    where u.id = any(${users})`;
  const out: Broadcast[] = [];
  for (const user of left) {
    if (!user.connected) out.push(...(await onlinePresence(sql, rules, user.user_id, user.username, false)));
    else if (!user.active && lostActive.includes(user.user_id)) out.push(...(await awayPresence(sql, rules, user.user_id, user.username, true)));
  }
  return out;
}

export async function closeConnection(deps: Deps, connectionId: string): Promise<Outcome> {
  return { broadcasts: await dropConnections(deps.sql, [connectionId], deps.settings) };
}

export interface SweepLimits {
  /** API Gateway closes every connection after 2 hours */
  maxAgeSeconds: number;
  /** sockets that never authenticate are dropped after this grace period */
  unauthenticatedSeconds: number;
}

/**
 * Deletes rows of connections that cannot be alive any more (older than the
 * gateway allows) and of sockets that never logged in. Returns the ids so the
 * hosting can close any socket it still holds, and presence for the users gone.
 */
export async function sweepConnections(deps: Deps, limits: SweepLimits): Promise<Outcome & { swept: string[] }> {
  const now = deps.clock.now().getTime();
  const rows = await deps.sql<{ id: string }[]>`
    select id from connections
    where connected_at < ${new Date(now - limits.maxAgeSeconds * 1000)}
       or (user_id is null and connected_at < ${new Date(now - limits.unauthenticatedSeconds * 1000)})`;
  const swept = rows.map((r) => r.id);
  return { swept, close: swept, broadcasts: await dropConnections(deps.sql, swept, deps.settings) };
}

/**
 * Origin allowlist for the WebSocket handshake: browsers always send Origin, so a
 * page on another site cannot open a socket with the user's cookies or network
 * position. `allowed` holds origins exactly as browsers write them (scheme, host,
 * port; '*' allows any). It is a list the hosting knows, never the Host header: a
 * page on a name rebound to this server's address sends a Host of that name.
 * Non-browser clients send no Origin and are allowed.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  return allowed.includes('*') || allowed.includes(origin);
}
