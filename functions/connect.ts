// $connect: check the Origin, then record an anonymous connection.
import { loadConfig } from './adapters/config.js';
import { openConnection, originAllowed } from './core/connections.js';
import { lifecycleRoute, type WsEvent } from './route.js';

const { allowedOrigins } = loadConfig();

/** API Gateway's `identity.sourceIp` (the local server fills it from the socket's peer). */
function sourceIpOf(event: WsEvent): string | undefined {
  const identity = (event.requestContext as { identity?: { sourceIp?: unknown } }).identity;
  return typeof identity?.sourceIp === 'string' ? identity.sourceIp : undefined;
}

export const handler = lifecycleRoute(async (deps, event) => {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  if (!originAllowed(headers.origin, headers.host, allowedOrigins)) return false;
  const { connectionId, requestTimeEpoch } = event.requestContext;
  await openConnection(deps.sql, connectionId, new Date(requestTimeEpoch), sourceIpOf(event));
  return {};
});
