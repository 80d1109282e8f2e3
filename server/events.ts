// API Gateway WebSocket events, shaped as the Lambda runtime delivers them: the
// local server builds one per socket event, and tests build them the same way.
import type { WsEvent } from '../functions/route.js';

export interface EventOptions {
  /** the API's domain name, as in the management endpoint */
  host?: string;
  stage?: string;
  body?: string;
  isBase64Encoded?: boolean;
  /** $connect only: the handshake's headers */
  headers?: Record<string, string | undefined>;
  /** the client's address, as API Gateway's `identity.sourceIp` */
  sourceIp?: string;
}

// Request ids only need to be unique in this process: a counter, not the CSPRNG,
// as one event is built for every frame.
let seq = 0;
const nextId = () => (++seq).toString(36);

const EVENT_TYPES: Record<string, 'CONNECT' | 'DISCONNECT'> = { $connect: 'CONNECT', $disconnect: 'DISCONNECT' };

export function apiGatewayEvent(routeKey: string, connectionId: string, options: EventOptions = {}): WsEvent {
  const now = Date.now();
  return {
    requestContext: {
      routeKey,
      eventType: EVENT_TYPES[routeKey] ?? 'MESSAGE',
      connectionId,
      requestTimeEpoch: now,
      requestTime: new Date(now).toUTCString(),
      messageId: nextId(),
      extendedRequestId: nextId(),
      requestId: nextId(),
      messageDirection: 'IN',
      connectedAt: now,
      domainName: options.host ?? 'localhost',
      stage: options.stage ?? 'local',
      apiId: 'local',
      identity: { sourceIp: options.sourceIp ?? '127.0.0.1' },
    },
    isBase64Encoded: options.isBase64Encoded ?? false,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  } as unknown as WsEvent;
}
