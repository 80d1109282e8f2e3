// A client that does what docs/DELIVERY.md asks of one: it reconnects, resumes
// its session, catches up every room from a gap-free cursor, retries a send with
// the same clientId until it is acknowledged, and shows each message id once.
import WebSocket from 'ws';
import type { Frame } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';

export class SocketClosed extends Error {}

const compareIds = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/** One room as a client holds it. */
export class RoomView {
  readonly byId = new Map<string, Message>();
  /** every copy received, to count what a naive client would have shown twice */
  received = 0;
  /**
   * The highest id up to which this client has every message: set from history
   * and joined pages, advanced by live messages whose `prev` is the cursor.
   * `null`: the room had no message; undefined: not known yet.
   */
  cursor: string | null | undefined = undefined;
  /** live messages by the id before them, waiting for the chain to reach them */
  private next = new Map<string, string>();

  add(m: Message): void {
    this.received++;
    this.byId.set(m.id, m);
  }

  live(m: Message, prev: string | null | undefined): void {
    this.add(m);
    if (prev === undefined) return; // a repeat's re-broadcast: no chain information
    this.next.set(prev ?? 'none', m.id);
    this.advance();
  }

  /** After a contiguous page that reaches `last`. */
  caughtUpTo(last: string | null): void {
    if (last !== null && (this.cursor == null || compareIds(last, this.cursor) > 0)) this.cursor = last;
    else if (this.cursor === undefined) this.cursor = last;
    this.advance();
  }

  private advance(): void {
    if (this.cursor === undefined) return;
    for (;;) {
      const n = this.next.get(this.cursor ?? 'none');
      if (!n) return;
      this.next.delete(this.cursor ?? 'none');
      this.cursor = n;
    }
  }

  messages(): Message[] {
    return [...this.byId.values()].sort((a, b) => compareIds(a.id, b.id));
  }
}

export interface ClientStats {
  connects: number;
  sendAttempts: number;
  acked: number;
  repeats: number;
  repeatMismatches: number;
  internalErrors: number;
}

export class ReliableClient {
  readonly rooms = new Map<string, RoomView>();
  readonly stats: ClientStats = { connects: 0, sendAttempts: 0, acked: 0, repeats: 0, repeatMismatches: 0, internalErrors: 0 };
  private ws?: WebSocket;
  private ready?: Promise<void>;
  private seq = 0;
  private waiting = new Map<string, { resolve(f: Frame): void; reject(e: Error): void }>();
  private stopped = false;

  constructor(
    private readonly url: () => string,
    readonly username: string,
    private readonly token: string,
    roomIds: string[],
  ) {
    for (const r of roomIds) this.rooms.set(r, new RoomView());
  }

  /** Resolves once connected, resumed and caught up; reconnects as needed. */
  connected(): Promise<void> {
    this.ready ??= this.connectUntilReady();
    return this.ready;
  }

  private async connectUntilReady(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new SocketClosed('stopped');
      try {
        await this.connectOnce();
        return;
      } catch {
        this.ws?.terminate();
        await sleep(Math.min(500, 20 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
      }
    }
  }

  private connectOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.url());
      this.ws = ws;
      ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as Frame));
      ws.once('error', (err) => reject(err));
      ws.once('close', () => {
        for (const w of this.waiting.values()) w.reject(new SocketClosed('closed'));
        this.waiting.clear();
        if (this.ws === ws) this.ready = undefined;
        reject(new SocketClosed('closed before ready'));
      });
      ws.once('open', () => {
        this.stats.connects++;
        this.resumeAndCatchUp().then(resolve, reject);
      });
    });
  }

  private async resumeAndCatchUp(): Promise<void> {
    const authed = await this.request({ action: 'auth', op: 'resume', token: this.token });
    if (authed.type !== 'authed') throw new Error(`resume failed: ${JSON.stringify(authed)}`);
    for (const [room, view] of this.rooms) await this.catchUp(room, view);
  }

  /** Pages forward from the cursor to the end; a room never seen is read in full. */
  async catchUp(room: string, view: RoomView): Promise<void> {
    if (view.cursor == null) {
      // Nothing known: read backwards from the newest to the first message.
      let before: string | undefined;
      const pages: Message[][] = [];
      for (;;) {
        const page = await this.request({ action: 'history', room, limit: 100, ...(before ? { before } : {}) });
        if (page.type !== 'history') throw new Error(JSON.stringify(page));
        const msgs = page.messages as Message[];
        pages.unshift(msgs);
        if (!page.hasMore || msgs.length === 0) break;
        before = msgs[0]!.id;
      }
      const all = pages.flat();
      for (const m of all) view.add(m);
      view.caughtUpTo(all.at(-1)?.id ?? null);
      if (all.length === 0) return;
    }
    for (;;) {
      const page = await this.request({ action: 'history', room, after: view.cursor, limit: 100 });
      if (page.type !== 'history') throw new Error(JSON.stringify(page));
      const msgs = page.messages as Message[];
      for (const m of msgs) view.add(m);
      if (msgs.length) view.caughtUpTo(msgs.at(-1)!.id);
      if (!page.hasMore) return;
    }
  }

  /** Catches up every room, reconnecting as often as it takes. */
  async catchUpAll(): Promise<void> {
    for (;;) {
      await this.connected();
      try {
        for (const [room, view] of this.rooms) await this.catchUp(room, view);
        return;
      } catch (err) {
        if (!(err instanceof SocketClosed)) throw err;
        await sleep(5);
      }
    }
  }

  private onFrame(f: Frame): void {
    if (typeof f.re === 'string') {
      const w = this.waiting.get(f.re);
      if (w) {
        this.waiting.delete(f.re);
        w.resolve(f);
      }
      return;
    }
    if (f.type === 'message') {
      const m = f.message as Message;
      this.rooms.get(m.room)?.live(m, f.prev as string | null | undefined);
    }
  }

  /** One request on the current socket; rejects with SocketClosed if it drops first. */
  request(frame: Record<string, unknown>, timeoutMs = 10_000): Promise<Frame> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      if (this.ws === ws) this.ready = undefined; // closing: the next connected() starts over
      return Promise.reject(new SocketClosed('not open'));
    }
    const id = `q${++this.seq}`;
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        ws.terminate(); // a reply that never comes: start over on a new socket
        reject(new SocketClosed('timed out'));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  /** Sends until the server acknowledges; the same clientId makes retries safe. */
  async send(room: string, text: string, clientId: string): Promise<Message> {
    for (;;) {
      await this.connected();
      this.stats.sendAttempts++;
      let reply: Frame;
      try {
        reply = await this.request({ action: 'send', room, text, clientId });
      } catch (err) {
        if (!(err instanceof SocketClosed)) throw err;
        await sleep(5); // never spin on microtasks while the socket closes
        continue;
      }
      if (reply.type === 'sent') return reply.message as Message;
      if (reply.type === 'error' && (reply.code === 'internal' || reply.code === 'rate_limited')) {
        if (reply.code === 'internal') this.stats.internalErrors++;
        await sleep(50);
        continue;
      }
      throw new Error(`send refused: ${JSON.stringify(reply)}`);
    }
  }

  /** Cuts the socket without a closing handshake, as a dropped network would. */
  drop(): void {
    this.ws?.terminate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close();
        setTimeout(() => (ws.terminate(), resolve()), 1000);
      });
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
