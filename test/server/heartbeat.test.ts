// The local server's heartbeat over real sockets: each socket is pinged once a
// period (HEARTBEAT_SECONDS, here 3), the sockets spread over the period's
// seconds rather than all at once, and a socket that stops answering pings is
// cut, which takes its owner offline for the others.
import { afterEach, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signUp, type TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PERIOD = 3;
let t: TestServer | undefined;
const open: WebSocket[] = [];
afterEach(async () => {
  for (const socket of open.splice(0)) socket.terminate();
  await t?.close();
  t = undefined;
});

/** A socket that writes down when each ping came, answering it unless told not to. */
function pingedSocket(url: string, autoPong = true): Promise<{ socket: WebSocket; pings: number[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { autoPong });
    open.push(socket);
    const pings: number[] = [];
    socket.on('ping', () => pings.push(Date.now()));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('open', () => resolve({ socket, pings, closed }));
    socket.once('error', reject);
  });
}

it('pings each socket once a period, spread over its seconds, not all at once', { timeout: 30_000 }, async () => {
  t = await startTestServer({ HEARTBEAT_SECONDS: String(PERIOD), UNAUTHENTICATED_GRACE_SECONDS: '60' });
  const sockets: Awaited<ReturnType<typeof pingedSocket>>[] = [];
  for (let i = 0; i < 2 * PERIOD; i++) sockets.push(await pingedSocket(t.wsUrl));
  await expect.poll(() => sockets.every((s) => s.pings.length >= 3), { timeout: 5 * PERIOD * 1000, interval: 100 }).toBe(true);
  for (const { pings, socket } of sockets) {
    // a ping a period (give or take the timer's jitter), and the socket is still open
    for (let i = 1; i < pings.length; i++) expect(Math.abs(pings[i]! - pings[i - 1]! - PERIOD * 1000)).toBeLessThan(700);
    expect(socket.readyState).toBe(WebSocket.OPEN);
  }
  // The first pings of a period land in every one of its seconds: two sockets a second.
  const firstRound = sockets.map((s) => s.pings[1]!);
  const start = Math.min(...firstRound);
  const seconds = new Set(firstRound.map((at) => Math.round((at - start) / 1000)));
  expect(seconds.size).toBe(PERIOD);
});

it('cuts a socket that stops answering pings, and its owner goes offline', { timeout: 30_000 }, async () => {
  t = await startTestServer({ HEARTBEAT_SECONDS: String(PERIOD) });
  const alice: TestClient = await signUp(t);
  const bob = await signUp(t);
  // bob's second device stops answering pings (a laptop lid closed on a dead network)
  const silent = await pingedSocket(t.wsUrl, false);
  const authed = new Promise<unknown>((resolve) => silent.socket.once('message', (data) => resolve(JSON.parse(String(data)))));
  silent.socket.send(JSON.stringify({ action: 'auth', op: 'resume', token: bob.token }));
  expect(await authed).toMatchObject({ type: 'authed' });
  await bob.close();
  const started = Date.now();
  await silent.closed;
  // cut after it missed one ping: within two periods
  expect(Date.now() - started).toBeLessThan(2 * PERIOD * 1000 + 1500);
  expect(silent.pings.length).toBeGreaterThanOrEqual(1);
  await alice.next((f) => f.type === 'presence' && f.user === bob.username && f.online === false, 5000);
});
