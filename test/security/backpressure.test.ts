// A client that stops reading must not make the server buffer without bound. It
// asks for big history pages and never reads the replies (its TCP socket is
// paused): the server stops reading its requests once its unsent bytes pass a
// mark, and closes it (1008) when fan-out would push them past the bound.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { signUp, type TestClient } from '../helpers/client.js';
import { RecordingLogger } from '../helpers/fakes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const BOUND = 1024 * 1024;
/** the bound, plus one reply or event that may be written past the mark */
const SLACK = 128 * 1024;
const log = new RecordingLogger();
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer(
    { MAX_BUFFERED_BYTES: String(BOUND), MESSAGE_BURST: '100000', MESSAGES_PER_MINUTE: '10000000', USER_MESSAGE_BURST: '100000', USER_MESSAGES_PER_MINUTE: '10000000' },
    { log },
  );
});
afterAll(() => t?.close());

async function connectionOf(c: TestClient & { username: string }): Promise<string> {
  const [row] = await t.db.sql<{ id: string }[]>`
    select c.id from connections c join users u on u.id = c.user_id where u.username = ${c.username}`;
  return row!.id;
}

/** The server's side of a connection: its ws socket. */
const serverSocket = (id: string) => t.server.gateway.sockets.get(id);

it('stops reading from, then closes, a client that never reads its replies', { timeout: 60_000 }, async () => {
  const alice = await signUp(t);
  await alice.request({ action: 'join', room: 'flood' });
  const text = '🦊'.repeat(4000);
  for (let i = 0; i < 40; i++) await alice.request({ action: 'send', room: 'flood', text, clientId: `f-${i}` });

  const mallory = await signUp(t);
  await mallory.request({ action: 'join', room: 'flood' });
  const id = await connectionOf(mallory);
  const server = serverSocket(id)!;

  // Mallory's client stops reading from the network, but keeps asking.
  const tcp = (mallory.ws as unknown as { _socket: Socket })._socket;
  tcp.pause();
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, server.bufferedAmount)), 5);
  try {
    for (let i = 0; i < 150; i++) mallory.send({ action: 'history', room: 'flood', limit: 100, id: `h${i}` });
    // Long enough for every request to be read and answered, were the server to do so.
    await new Promise((r) => setTimeout(r, 3000));
    expect(peak).toBeLessThanOrEqual(BOUND + SLACK);
    expect(server.readyState).toBe(server.OPEN); // replies alone only pause it

    // Fan-out is not a request the server can stop reading: past the bound it closes.
    for (let i = 0; i < 2000 && server.readyState === server.OPEN; i++) {
      await alice.request({ action: 'send', room: 'flood', text, clientId: `g-${i}` });
    }
    expect(server.readyState).not.toBe(server.OPEN);
    expect(peak).toBeLessThanOrEqual(BOUND + SLACK);
    expect(log.events('backpressure_closed')).toEqual([expect.objectContaining({ connectionId: id })]);
  } finally {
    clearInterval(sample);
    tcp.resume();
  }
  // Once it reads again, it learns why.
  expect(await mallory.closed).toEqual({ code: 1008, reason: expect.stringMatching(/reading/) });
  // The sender was not held up, and its socket is fine.
  expect((await alice.request({ action: 'ping' })).type).toBe('pong');
  await alice.close();
});

it('reads again from a slow client once it has caught up', { timeout: 30_000 }, async () => {
  const slow = await signUp(t);
  await slow.request({ action: 'join', room: 'flood' });
  const tcp = (slow.ws as unknown as { _socket: Socket })._socket;
  tcp.pause();
  // Fewer than the frames one socket may have in flight (64), so each has a reply of its own.
  for (let i = 0; i < 60; i++) slow.send({ action: 'history', room: 'flood', limit: 100, id: `s${i}` });
  await new Promise((r) => setTimeout(r, 1500));
  tcp.resume();
  // Every request is answered in the end: the server paused, it did not drop them.
  for (let i = 0; i < 60; i++) expect((await slow.next((f) => f.re === `s${i}`, 15_000)).type).toBe('history');
  expect((await slow.request({ action: 'ping' })).type).toBe('pong');
  await slow.close();
});
