// A client that does what docs/DELIVERY.md asks of one: it reconnects, resumes
// its session, catches up every room from a gap-free cursor, retries a send with
// the same clientId until it is acknowledged, and shows each message id once.
// With `feed`, it also keeps the change feed: a seq cursor chained by `seqs` and
// `prevSeq` on live `message` and `changed` events, catch-up with `changes`, each
// message held in its latest state (the copy with the higher seq wins); and it can
// edit and delete its messages, retrying each until it is acknowledged.
import WebSocket from 'ws';
import type { Frame } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';

export class SocketClosed extends Error {}

const compareIds = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/** A live change's links in a chain: the value before it, and its own. */
class Chain {
  /** everything up to here is held; null: nothing yet; undefined: not known */
  cursor: string | null | undefined = undefined;
  private next = new Map<string, string>();

  link(value: string, before: string | null): void {
    this.next.set(before ?? 'none', value);
    this.advance();
  }

  holdsThrough(last: string | null): void {
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
}

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

  /** The room's change seq up to which this client holds every change (the feed). */
  readonly seqs = new Chain();

  add(m: Message): void {
    this.received++;
    const held = this.byId.get(m.id);
    if (held?.seq && m.seq && compareIds(held.seq, m.seq) > 0) return; // an older state
    this.byId.set(m.id, m);
  }

  /** A live change (`message` or `changed`) with its place in the feed. */
  changed(m: Message, seq: string, prevSeq: string | null): void {
    this.add(m);
    this.seqs.link(seq, prevSeq);
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

  /** Held messages by id, tombstones included. */
  all(): Message[] {
    return [...this.byId.values()].sort((a, b) => compareIds(a.id, b.id));
  }

  /** The messages shown: tombstones left out. */
  messages(): Message[] {
    return this.all().filter((m) => !m.deleted);
  }
}

export interface ClientStats {
  connects: number;
  sendAttempts: number;
  acked: number;
  repeats: number;
  repeatMismatches: number;
  internalErrors: number;
  edits: number;
  deletes: number;
  changeAttempts: number;
}

export class ReliableClient {
  readonly rooms = new Map<string, RoomView>();
  readonly stats: ClientStats = {
    connects: 0,
    sendAttempts: 0,
    acked: 0,
    repeats: 0,
    repeatMismatches: 0,
    internalErrors: 0,
    edits: 0,
    deletes: 0,
    changeAttempts: 0,
  };
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
    /** keep the change feed (edits, deletes) as well as the messages */
    readonly feed = false,
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
    if (view.cursor == null && (!this.feed || view.seqs.cursor === undefined)) {
      // Nothing known: read backwards from the newest to the first message.
      let before: string | undefined;
      const pages: Message[][] = [];
      let seq: string | null | undefined;
      for (;;) {
        const page = await this.request({ action: 'history', room, limit: 100, ...(before ? { before } : {}) });
        if (page.type !== 'history') throw new Error(JSON.stringify(page));
        // The change cursor starts at the seq of the first page read: later
        // pages may hold later states of their messages, never earlier ones.
        seq ??= (page.seq as string | null | undefined) ?? null;
        const msgs = page.messages as Message[];
        pages.unshift(msgs);
        if (!page.hasMore || msgs.length === 0) break;
        before = msgs[0]!.id;
      }
      const all = pages.flat();
      for (const m of all) view.add(m);
      view.caughtUpTo(all.at(-1)?.id ?? null);
      if (this.feed) view.seqs.holdsThrough(seq ?? null);
      if (all.length === 0 && !this.feed) return;
    }
    if (this.feed) {
      // The change feed brings new messages as well as changed ones.
      for (;;) {
        const after = view.seqs.cursor;
        const page = await this.request({ action: 'changes', room, limit: 100, ...(after ? { after } : {}) });
        if (page.type !== 'changes') throw new Error(JSON.stringify(page));
        for (const m of page.messages as Message[]) view.add(m);
        view.seqs.holdsThrough((page.through as string | null) ?? null);
        if (!page.hasMore) return;
      }
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
      const view = this.rooms.get(m.room);
      view?.live(m, f.prev as string | null | undefined);
      if (this.feed && typeof f.seq === 'string') view?.seqs.link(f.seq, (f.prevSeq as string | null) ?? null);
    }
    if (f.type === 'changed' && this.feed) {
      const m = f.message as Message;
      this.rooms.get(m.room)?.changed(m, f.seq as string, (f.prevSeq as string | null) ?? null);
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

  /**
   * A change to a message, repeated until the server answers `type`: an edit
   * repeated sets the same text again, a delete repeated answers the same.
   */
  private async change(frame: Record<string, unknown>, type: string): Promise<Frame> {
    for (;;) {
      await this.connected();
      this.stats.changeAttempts++;
      let reply: Frame;
      try {
        reply = await this.request(frame);
      } catch (err) {
        if (!(err instanceof SocketClosed)) throw err;
        await sleep(5);
        continue;
      }
      if (reply.type === type) return reply;
      if (reply.type === 'error' && (reply.code === 'internal' || reply.code === 'rate_limited')) {
        if (reply.code === 'internal') this.stats.internalErrors++;
        await sleep(50);
        continue;
      }
      throw new Error(`${String(frame.action)} refused: ${JSON.stringify(reply)}`);
    }
  }

  async edit(room: string, message: string, text: string): Promise<Message> {
    const reply = await this.change({ action: 'edit', room, message, text }, 'edited');
    this.stats.edits++;
    return reply.message as Message;
  }

  async delete(room: string, message: string): Promise<void> {
    await this.change({ action: 'delete', room, message }, 'deleted_message');
    this.stats.deletes++;
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
