// The browser's connection, with a stand-in WebSocket and fake timers: replies
// matched by id, the heartbeat, and reconnects with backoff.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../web/src/connection.js';
import { ConnectionLost, ServerError, type ServerFrame } from '../../web/src/types.js';

class FakeSocket {
  static readonly OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  readonly sent: Array<Record<string, unknown>> = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  // what the server does
  accept() {
    this.readyState = 1;
    this.onopen?.();
  }
  deliver(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
  static last(): FakeSocket {
    return FakeSocket.all.at(-1)!;
  }
}

function connect() {
  const frames: ServerFrame[] = [];
  const events: string[] = [];
  const conn = new Connection('ws://chat.test/ws', {
    onOpen: () => events.push('open'),
    onFrame: (f) => frames.push(f),
    onClose: () => events.push('close'),
  });
  conn.start();
  FakeSocket.last().accept();
  return { conn, frames, events };
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeSocket);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('Connection', () => {
  it('matches replies to requests by id and passes every other frame on', async () => {
    const { conn, frames } = connect();
    const socket = FakeSocket.last();

    const joined = conn.request({ action: 'join', room: 'general' });
    const refused = conn.request({ action: 'send', room: 'general', text: 'x', clientId: 'c' });
    const [first, second] = socket.sent;
    socket.deliver({ type: 'message', message: { id: '1' } });
    socket.deliver({ type: 'error', re: String(second!.id), code: 'forbidden', message: 'Join it first.' });
    socket.deliver({ type: 'joined', re: String(first!.id) });

    expect(await joined).toMatchObject({ type: 'joined' });
    await expect(refused).rejects.toEqual(new ServerError('forbidden', 'Join it first.'));
    expect(frames).toEqual([{ type: 'message', message: { id: '1' } }]);
  });

  it('pings every four minutes, and treats a missing pong as a lost connection', async () => {
    const { conn, events } = connect();
    const socket = FakeSocket.last();

    await vi.advanceTimersByTimeAsync(4 * 60_000);
    const ping = socket.sent.at(-1)!;
    expect(ping).toMatchObject({ action: 'ping' });
    socket.deliver({ type: 'pong', re: String(ping.id) });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(conn.status.value).toBe('open');

    await vi.advanceTimersByTimeAsync(4 * 60_000 - 20_000); // the next ping goes unanswered
    expect(socket.sent.filter((f) => f.action === 'ping')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(conn.status.value).toBe('waiting');
    expect(events).toEqual(['open', 'close']);

    await vi.advanceTimersByTimeAsync(1000); // the first retry comes within a second
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last().accept();
    expect(conn.status.value).toBe('open');
  });

  it('rejects waiting requests when the socket closes, and retries with growing waits', async () => {
    const { conn } = connect();
    const pending = conn.request({ action: 'history', room: 'general' });
    FakeSocket.last().drop();
    await expect(pending).rejects.toBeInstanceOf(ConnectionLost);
    await expect(conn.request({ action: 'ping' })).rejects.toBeInstanceOf(ConnectionLost);

    // every attempt fails: the waits grow (1 s, 2 s, 4 s ceilings) with jitter
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      expect(conn.status.value).toBe('waiting');
      waits.push(conn.retryAt.value! - Date.now());
      await vi.advanceTimersByTimeAsync(waits.at(-1)!);
      FakeSocket.last().drop();
    }
    expect(waits[0]).toBeLessThanOrEqual(1000);
    expect(waits[1]).toBeGreaterThanOrEqual(1000);
    expect(waits[1]).toBeLessThanOrEqual(2000);
    expect(waits[2]).toBeGreaterThanOrEqual(2000);
    expect(waits[2]).toBeLessThanOrEqual(4000);

    // a healthy session starts the next outage from the shortest wait again
    await vi.advanceTimersByTimeAsync(conn.retryAt.value! - Date.now());
    FakeSocket.last().accept();
    conn.markHealthy();
    FakeSocket.last().drop();
    expect(conn.retryAt.value! - Date.now()).toBeLessThanOrEqual(1000);
  });

  it('skips the wait when asked to reconnect now', () => {
    const { conn } = connect();
    FakeSocket.last().drop();
    expect(conn.status.value).toBe('waiting');
    conn.reconnectNow();
    expect(conn.status.value).toBe('connecting');
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("gives up a socket at once when the browser goes offline, though its close never came", async () => {
    const { conn, events } = connect();
    const first = FakeSocket.last();
    const waiting = conn.request({ action: 'history', room: 'general' });
    // kept before the drop, which unhooks it: a browser may still deliver a close it had queued
    const lateClose = first.onclose!;
    conn.networkLost();
    await expect(waiting).rejects.toBeInstanceOf(ConnectionLost);
    expect(conn.status.value).toBe('waiting');
    expect(events).toEqual(['open', 'close']);
    expect(first.readyState).toBe(3);
    // the dead socket's late close changes nothing
    lateClose();
    expect(events).toEqual(['open', 'close']);
    expect(conn.status.value).toBe('waiting');
    // already waiting: a second offline does nothing; back online, it tries at once
    conn.networkLost();
    expect(FakeSocket.all).toHaveLength(1);
    conn.reconnectNow();
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last().accept();
    expect(conn.status.value).toBe('open');
    // nor once a new socket is open: it is not the current one
    lateClose();
    expect(conn.status.value).toBe('open');
    expect(events).toEqual(['open', 'close', 'open']);
  });
});
