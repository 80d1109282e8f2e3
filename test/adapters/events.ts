// API Gateway WebSocket events, built by small factories rather than pasted JSON.
import type { WsEvent } from '../../functions/route.js';
import { apiGatewayEvent } from '../../server/events.js';

const host = 'abc123.execute-api.eu-west-1.amazonaws.com';

export function wsEvent(routeKey: string, connectionId: string, body?: Record<string, unknown>): WsEvent {
  return apiGatewayEvent(routeKey, connectionId, {
    host,
    stage: 'prod',
    ...(body ? { body: JSON.stringify(body) } : {}),
    ...(routeKey === '$connect' ? { headers: { Host: host } } : {}),
  });
}

/** The environment a deployed function sees, pointed at local stand-ins. */
export function awsEnv(db: { url: string }, fake: { url: string; gatewayEndpoint: string }, secretArn: string): Record<string, string> {
  const u = new URL(db.url);
  return {
    DB_SECRET_ARN: secretArn,
    DB_HOST: u.hostname,
    DB_PORT: u.port || '5432',
    DB_NAME: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
    DB_SSL: 'disable', // the local server has no TLS; on AWS the default is verify-full
    GATEWAY_ENDPOINT: fake.gatewayEndpoint,
    SECRETS_ENDPOINT: fake.url,
    SES_ENDPOINT: fake.url,
    MAIL_TRANSPORT: 'ses',
    MAIL_FROM: 'Wild Whispers <no-reply@chat.example.com>',
    AWS_REGION: 'eu-west-1',
    SCRYPT_N: '1024',
    LOG_LEVEL: 'silent',
  };
}

/** RDS's generated secret has this shape (plus engine, host, port, dbname). */
export function dbSecret(db: { url: string }): string {
  const u = new URL(db.url);
  return JSON.stringify({
    engine: 'postgres',
    username: decodeURIComponent(u.username) || 'postgres',
    password: decodeURIComponent(u.password),
    host: 'instance.example.internal', // the functions connect to the proxy, not here
    port: 5432,
  });
}
