// The local gateway's writes (functions/adapters/local-gateway.ts), on real
// sockets: frames to a socket leave in the order they were posted; small posts
// are corked until the turn of the event loop ends (one system call for a reply
// and the broadcasts after it); the first large fan-out of a turn is handed to
// the sockets at once, after what was already corked; a second one in the same
// turn is corked again.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { LocalGateway } from '../../functions/adapters/local-gateway.js';

const PEOPLE = 4;
let wss: WebSocketServer;
let gateway: LocalGateway;
const ids: string[] = [];
const clients: WebSocket[] = [];
const received = new Map<string, string[]>();

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  // "large" here is 3 sockets or more
  gateway = new LocalGateway({ directFanOutFrom: 3 });
  const { port } = wss.address() as { port: number };
  for (let i = 0; i < PEOPLE; i++) {
    const id = `c${i}`;
    const joined = new Promise<void>((resolve) => wss.once('connection', (socket) => (gateway.add(id, socket), resolve())));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    received.set(id, []);
    client.on('message', (data) => received.get(id)!.push(JSON.parse(String(data)).type));
    await joined;
    ids.push(id);
    clients.push(client);
  }
});
afterAll(async () => {
  for (const c of clients) c.close();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});

/** The server side's TCP socket of connection `id`. */
const raw = (id: string) => (gateway.sockets.get(id) as unknown as { _socket: Socket })._socket;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function allReceived(count: number): Promise<void> {
  await expect.poll(() => ids.every((id) => received.get(id)!.length >= count)).toBe(true);
}

describe('the local gateway', () => {
  it('corks a small post until the turn ends', async () => {
    await gateway.post(['c0'], { type: 'reply' });
    expect(raw('c0').writableCorked).toBe(1);
    await nextTurn();
    expect(raw('c0').writableCorked).toBe(0);
    await expect.poll(() => received.get('c0')).toEqual(['reply']);
  });

  it("writes the turn's first large fan-out at once, after the reply corked before it, and corks a second", async () => {
    for (const id of ids) received.set(id, []);
    await nextTurn();
    await gateway.post(['c0'], { type: 'sent' });
    expect(raw('c0').writableCorked).toBe(1);
    await gateway.post(ids, { type: 'first' });
    // handed to the sockets already: nothing corked, the reply included
    for (const id of ids) expect(raw(id).writableCorked).toBe(0);
    await gateway.post(ids, { type: 'second' });
    for (const id of ids) expect(raw(id).writableCorked).toBe(1);
    await gateway.post(['c1'], { type: 'after' });
    await nextTurn();
    for (const id of ids) expect(raw(id).writableCorked).toBe(0);

    await allReceived(2);
    await expect.poll(() => received.get('c1')!.length).toBe(3);
    expect(received.get('c0')).toEqual(['sent', 'first', 'second']);
    expect(received.get('c1')).toEqual(['first', 'second', 'after']);
    expect(received.get('c2')).toEqual(['first', 'second']);
    expect(received.get('c3')).toEqual(['first', 'second']);
  });

  it('writes a large fan-out at once again in a later turn', async () => {
    await nextTurn();
    await gateway.post(ids, { type: 'later' });
    for (const id of ids) expect(raw(id).writableCorked).toBe(0);
    await expect.poll(() => ids.every((id) => received.get(id)!.at(-1) === 'later')).toBe(true);
  });

  it('names the sockets that are gone', async () => {
    expect(await gateway.post([...ids, 'c-gone'], { type: 'hello' })).toEqual(['c-gone']);
  });
});
