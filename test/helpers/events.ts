// Small factories for API Gateway WebSocket events, as the Lambda runtime sends them.
import type { WsEvent } from '../../functions/route.js';

let n = 0;
function event(connectionId: string, routeKey: string, eventType: string, extra: Partial<WsEvent> = {}): WsEvent {
  const now = Date.now();
  return {
    requestContext: {
      routeKey,
      eventType,
      connectionId,
      requestTimeEpoch: now,
      messageId: `m${++n}`,
      extendedRequestId: `e${n}`,
      requestId: `q${n}`,
      requestTime: new Date(now).toUTCString(),
      messageDirection: 'IN',
      stage: 'test',
      connectedAt: now,
      domainName: 'test.execute-api.local',
      apiId: 'test',
    },
    isBase64Encoded: false,
    ...extra,
  } as WsEvent;
}

export const connectEvent = (connectionId: string, headers: Record<string, string> = {}) =>
  event(connectionId, '$connect', 'CONNECT', { headers });

export const disconnectEvent = (connectionId: string) => event(connectionId, '$disconnect', 'DISCONNECT');

/** A MESSAGE event; the route key is the body's action, as API Gateway selects it. */
export function messageEvent(connectionId: string, body: Record<string, unknown> | string): WsEvent {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const action = typeof body === 'object' && typeof body.action === 'string' ? body.action : '$default';
  return event(connectionId, action, 'MESSAGE', { body: text });
}
