// Small factories for API Gateway WebSocket events, as the Lambda runtime sends them.
import type { WsEvent } from '../../functions/route.js';
import { apiGatewayEvent } from '../../server/events.js';

const host = 'test.execute-api.local';

export const connectEvent = (connectionId: string, headers: Record<string, string> = {}) =>
  apiGatewayEvent('$connect', connectionId, { host, stage: 'test', headers });

export const disconnectEvent = (connectionId: string) => apiGatewayEvent('$disconnect', connectionId, { host, stage: 'test' });

/** A MESSAGE event; the route key is the body's action, as API Gateway selects it. */
export function messageEvent(connectionId: string, body: Record<string, unknown> | string): WsEvent {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const action = typeof body === 'object' && typeof body.action === 'string' ? body.action : '$default';
  return apiGatewayEvent(action, connectionId, { host, stage: 'test', body: text });
}
