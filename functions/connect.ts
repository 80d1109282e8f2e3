// $connect: check the Origin, then record an anonymous connection unless its
// address has too many sockets open anonymously or opened too many of late.
import { loadConfig } from './adapters/config.js';
import { securityEvent } from './core/audit.js';
import { admitConnection, chargeRefusedHandshake, originAllowed } from './core/connections.js';
import { describeDevice } from './core/devices.js';
import { lifecycleRoute, type WsEvent, type WsHandler } from './route.js';

const { allowedOrigins } = loadConfig();

/** API Gateway's `identity.sourceIp` (the local server fills it from the socket's peer). */
function sourceIpOf(event: WsEvent): string | undefined {
  const identity = (event.requestContext as { identity?: { sourceIp?: unknown } }).identity;
  return typeof identity?.sourceIp === 'string' ? identity.sourceIp : undefined;
}

/**
 * *(E18)* The handshake's User-Agent: API Gateway's `identity.userAgent`, else the
 * header (the local server passes the handshake's headers).
 */
function userAgentOf(event: WsEvent, headers: Record<string, string | undefined>): string | undefined {
  const identity = (event.requestContext as { identity?: { userAgent?: unknown } }).identity;
  return typeof identity?.userAgent === 'string' ? identity.userAgent : headers['user-agent'];
}

/**
 * The $connect handler for a hosting whose browser origins `origins` names:
 * never the Host header, which a page on a rebound name sets as it likes.
 */
export function connectHandler(origins: (event: WsEvent) => readonly string[]): WsHandler {
  return lifecycleRoute(async (deps, event) => {
    const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const { connectionId, requestTimeEpoch } = event.requestContext;
    if (!originAllowed(headers.origin, origins(event))) {
      // Counted against the address's connection budget: a flood of them gets 429.
      if (!(await chargeRefusedHandshake(deps, new Date(requestTimeEpoch), sourceIpOf(event)))) return 'rate_limited';
      securityEvent(deps.log, 'origin_refused', { origin: headers.origin?.slice(0, 200), sourceIp: sourceIpOf(event) });
      return false;
    }
    if (!(await admitConnection(deps, connectionId, new Date(requestTimeEpoch), sourceIpOf(event), describeDevice(userAgentOf(event, headers))))) return 'rate_limited';
    return {};
  });
}

// On AWS: the deployed site (ALLOWED_ORIGINS, set by the stack) and the API's own
// domain, which API Gateway fills in (not a header).
export const handler = connectHandler((event) => [`https://${event.requestContext.domainName}`, ...allowedOrigins]);
