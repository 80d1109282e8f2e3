// E18 through the Lambda handlers as API Gateway calls them: the device comes from
// requestContext.identity.userAgent at $connect, and ending a session goes out
// through the gateway port's disconnect.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onDefault } from '../../functions/default.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import type { Deps } from '../../functions/core/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectEvent, messageEvent } from '../helpers/events.js';
import { RecordingGateway, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
const gateway = new RecordingGateway();
const mailer = new RecordingMailer();

beforeAll(async () => {
  db = await createTestDatabase();
  const deps: Deps = {
    sql: db.sql,
    gateway,
    mailer,
    clock: { now: () => new Date() },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    settings: loadConfig(TEST_ENV).settings,
  };
  installDeps(deps);
});
afterAll(async () => {
  installDeps(undefined);
  await db?.close();
});

/** A $connect as API Gateway sends it: the User-Agent in identity, not only a header. */
function awsConnect(id: string, userAgent: string) {
  const event = connectEvent(id);
  (event.requestContext as unknown as { identity: Record<string, string> }).identity = { sourceIp: '198.51.100.20', userAgent };
  return event;
}

const reply = (id: string, type: string) => gateway.framesTo(id).find((f) => f.type === type);

it('records the device from identity.userAgent, and a revoke disconnects through the gateway', async () => {
  const ua = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
  expect(await onConnect(awsConnect('p1', ua))).toEqual({ statusCode: 200 });
  const [row] = await db.sql`select device from connections where id = 'p1'`;
  expect(row!.device).toBe('Safari on iPhone');

  await onAuth(messageEvent('p1', { action: 'auth', op: 'register', username: 'dora', email: 'dora@example.com', password: 'dora password!' }));
  await onAuth(messageEvent('p1', { action: 'auth', op: 'verify', username: 'dora', code: await mailer.codeFor('dora@example.com') }));
  expect(reply('p1', 'authed')).toBeTruthy();
  await onConnect(awsConnect('d1', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'));
  await onAuth(messageEvent('d1', { action: 'auth', op: 'login', username: 'dora', password: 'dora password!' }));

  await onDefault(messageEvent('d1', { action: 'sessions', id: 's' }));
  const sessions = reply('d1', 'sessions')!.sessions as Array<{ id: string; device: string; ip: string; current?: true }>;
  expect(sessions.map((s) => s.device)).toEqual(['Chrome on Windows', 'Safari on iPhone']);
  expect(sessions[1]!.ip).toBe('198.51.100.20');

  await onDefault(messageEvent('d1', { action: 'revoke_session', others: true }));
  expect(reply('d1', 'sessions_revoked')).toMatchObject({ sessions: 1, connections: 1 });
  expect(gateway.disconnected).toEqual(['p1']);
});
