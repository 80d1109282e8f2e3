// $connect: check the Origin, then record an anonymous connection unless its
// address has too many sockets open anonymously or opened too many of late.
import { loadConfig } from './adapters/config.js';
import { admitConnection, originAllowed } from './core/connections.js';
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
  if (!(await admitConnection(deps, connectionId, new Date(requestTimeEpoch), sourceIpOf(event)))) return 'rate_limited';
  return {};
});
