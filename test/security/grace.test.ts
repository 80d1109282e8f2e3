// Sockets that never log in are closed after a short grace period (30 s by
// default); logged-in sockets stay. Here the grace is 3 s and the sweep runs every second.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { TestClient, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ UNAUTHENTICATED_GRACE_SECONDS: '3', SWEEP_INTERVAL_SECONDS: '1' });
});
afterAll(() => t?.close());

it('defaults to 30 seconds', () => {
  expect(loadConfig({}).sweep.unauthenticatedSeconds).toBe(30);
});

it('closes a socket that never authenticates, drops its row, and keeps logged-in ones', async () => {
  const idle = await TestClient.connect(t.wsUrl);
  const alice = await signUp(t);

  const closed = await idle.closed;

  expect(closed.code).toBe(1000);
  const [rows] = await t.db.sql`select count(*)::int as n from connections where user_id is null`;
  expect(rows!.n).toBe(0);
  expect((await alice.request({ action: 'ping' })).type).toBe('pong');
  expect((await alice.request({ action: 'history', room: 'general' })).type).toBe('history');
  await alice.close();
});

it('gives a socket that logs out a fresh grace period to log in again', async () => {
  const alice = await signUp(t);
  await new Promise((r) => setTimeout(r, 3500)); // older than the grace period
  expect((await alice.request({ action: 'auth', op: 'logout' })).type).toBe('logged_out');
  await new Promise((r) => setTimeout(r, 1500)); // a sweep or two, within the new grace
  const again = await alice.request({ action: 'auth', op: 'login', username: alice.username, password: alice.password });
  expect(again.type).toBe('authed');
  await alice.close();
});
