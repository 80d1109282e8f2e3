// Connection rows: created on connect, deleted on disconnect, on a 410 from the
// gateway, and by the sweep. When a user's last connection goes, roommates hear it.
import type { Broadcast, Outcome } from './outcome.js';
import type { Deps, Sql } from './ports.js';
import { onlinePresence } from './presence.js';

/** Records a new anonymous socket and the address it came from (for per-address budgets). */
export async function openConnection(sql: Sql, connectionId: string, at: Date, sourceIp?: string): Promise<void> {
  await sql`
    insert into connections (id, connected_at, source_ip) values (${connectionId}, ${at}, ${sourceIp ?? null})
    on conflict (id) do nothing`;
}

/** Deletes connection rows; returns presence for users left with no connection. */
export async function dropConnections(sql: Sql, connectionIds: readonly string[]): Promise<Broadcast[]> {
  if (connectionIds.length === 0) return [];
  const gone = await sql<{ user_id: string; username: string }[]>`
    with dropped as (
      delete from connections where id = any(${connectionIds as string[]}) returning user_id
    )
    select distinct u.id as user_id, u.username
    from dropped d join users u on u.id = d.user_id
    where not exists (select 1 from connections c where c.user_id = d.user_id and c.id <> all(${connectionIds as string[]}))`;
  const out: Broadcast[] = [];
  for (const user of gone) out.push(...(await onlinePresence(sql, user.user_id, user.username, false)));
  return out;
}

export async function closeConnection(deps: Deps, connectionId: string): Promise<Outcome> {
  return { broadcasts: await dropConnections(deps.sql, [connectionId]) };
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
  return { swept, close: swept, broadcasts: await dropConnections(deps.sql, swept) };
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
