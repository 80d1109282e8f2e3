// The load generator: real `ws` (and Socket.IO) clients in their own process,
// driven by bench/run.ts over IPC. It records the send→deliver latency of every
// delivery in an HDR histogram, deliveries per second, and lost messages.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { recordPauses } from './pauses.js';
import { answerParent } from './proc.js';
import WebSocket from 'ws';

export type Kind = 'chat' | 'ws' | 'sio';
type Frame = { type: string; re?: string; [k: string]: unknown };

const PASSWORD = 'bench-password-1';
const MESSAGE_PREFIX = '{"type":"message"';
const SIO_MESSAGE_PREFIX = '42["message",{"type":"message"';
const CLIENT_ID = Buffer.from('"clientId":"');

// ---------------------------------------------------------------- deliveries

interface InFlight {
  t: number;
  left: number;
  measured: boolean;
}

/** Every message in flight, by clientId, with the deliveries still expected. */
class Tracker {
  inflight = new Map<string, InFlight>();
  hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  windowStart = Infinity;
  windowEnd = Infinity;
  deliveriesInWindow = 0;
  deliveries = 0;
  unknown = 0;
  expected = 0;

  reset(expected: number): void {
    this.inflight.clear();
    this.hist.reset();
    this.deliveriesInWindow = this.deliveries = this.unknown = 0;
    this.windowStart = this.windowEnd = Infinity;
    this.expected = expected;
  }

  sent(clientId: string, expected = this.expected): void {
    const t = performance.now();
    this.inflight.set(clientId, { t, left: expected, measured: t >= this.windowStart && t < this.windowEnd });
  }

  delivered(clientId: string): void {
    const now = performance.now();
    this.deliveries++;
    if (now >= this.windowStart && now < this.windowEnd) this.deliveriesInWindow++;
    const f = this.inflight.get(clientId);
    if (!f) {
      this.unknown++;
      return;
    }
    if (f.measured) this.hist.recordValue(Math.max(1, Math.round((now - f.t) * 1000)));
    if (--f.left === 0) this.inflight.delete(clientId);
  }

  lost(): number {
    let n = 0;
    for (const f of this.inflight.values()) n += f.left;
    return n;
  }
}

const tracker = new Tracker();
let lastFrameAt = 0;
/** Sees every frame first (the ramp's counting); true when it has handled it. */
let frameHook: ((data: Buffer) => boolean) | undefined;

const latencyHist = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
/** The ramp's tallies in this process (bench/ramp.ts sums them over its load generators). */
const ramp = {
  /** frames received, by `type` */
  frames: new Map<string, number>(),
  /** send→deliver in µs, by when the message was sent: during the ramp, or after it */
  hist: { ramp: latencyHist(), after: latencyHist() },
  deliveries: { ramp: 0, after: 0 },
  /** deliveries of each message sent after the ramp, by clientId (a few hundred messages) */
  afterCounts: new Map<string, number>(),
  /** the slowest delivery of each message sent after the ramp, µs, by clientId: when the tail happens */
  afterWorst: new Map<string, number>(),
  /** when the ramp ends, µs since the epoch (messages sent from then on are "after") */
  endsAtUs: Infinity,
  closed: 0,
};
/** Now in µs since the epoch, comparable between the load generator processes on this machine. */
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const TYPE_PREFIX = '{"type":"';

/** Counts each frame by type; a `message` stamped by rampSend is timed from its clientId (`R<µs>x…`). */
function rampFrame(data: Buffer): boolean {
  let type: string;
  if (data.toString('latin1', 0, TYPE_PREFIX.length) === TYPE_PREFIX) {
    type = data.toString('latin1', TYPE_PREFIX.length, data.indexOf(0x22, TYPE_PREFIX.length));
  } else {
    try {
      type = String((JSON.parse(data.toString()) as Frame).type);
    } catch {
      type = 'unparsable';
    }
  }
  ramp.frames.set(type, (ramp.frames.get(type) ?? 0) + 1);
  if (type !== 'message') return false;
  const id = deliveredClientId(data, false);
  if (id === undefined || id[0] !== 'R') return true;
  const sentUs = Number(id.slice(1, id.indexOf('x')));
  const phase = sentUs < ramp.endsAtUs ? 'ramp' : 'after';
  ramp.deliveries[phase]++;
  const us = Math.max(1, Math.round(nowUs() - sentUs));
  if (phase === 'after') {
    ramp.afterCounts.set(id, (ramp.afterCounts.get(id) ?? 0) + 1);
    if (us > (ramp.afterWorst.get(id) ?? 0)) ramp.afterWorst.set(id, us);
  }
  ramp.hist[phase].recordValue(us);
  return true;
}

/** The clientId of a `message` frame, read from the bytes without parsing the JSON. */
function deliveredClientId(data: Buffer, sio: boolean): string | undefined {
  const prefix = sio ? SIO_MESSAGE_PREFIX : MESSAGE_PREFIX;
  if (data.length < 40 || data.toString('latin1', 0, prefix.length) !== prefix) return undefined;
  const at = data.lastIndexOf(CLIENT_ID);
  if (at < 0) return undefined;
  const start = at + CLIENT_ID.length;
  return data.toString('latin1', start, data.indexOf(0x22, start));
}

// ---------------------------------------------------------------- clients

interface Client {
  /** a request that resolves with its reply (by `re`, or the Socket.IO ack) */
  request(frame: Record<string, unknown>): Promise<Frame>;
  close(): void;
}

let nextRequest = 0;

/**
 * One WebSocket client for all three servers. The chat and the bare ws server
 * speak the chat's JSON frames; Socket.IO's wire format (Engine.IO v4) is spoken
 * here directly, so every server is measured with the very same client code.
 */
class WsClient implements Client {
  private waiting = new Map<string, (f: Frame) => void>();
  constructor(
    readonly socket: WebSocket,
    readonly sio: boolean,
  ) {
    socket.on('message', (data: Buffer) => {
      lastFrameAt = performance.now();
      if (frameHook?.(data)) return;
      const id = deliveredClientId(data, sio);
      if (id !== undefined) return tracker.delivered(id);
      if (sio) return this.onSioPacket(data.toString());
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.re !== undefined) this.resolve(frame.re, frame);
    });
    socket.on('error', () => {});
    socket.on('close', () => ramp.closed++);
  }

  private resolve(re: string, frame: Frame) {
    const w = this.waiting.get(re);
    if (w) {
      this.waiting.delete(re);
      w(frame);
    }
  }

  /** Engine.IO: `2` ping; Socket.IO: `40` connected, `43<id>[reply]` an ack. */
  private onSioPacket(p: string) {
    if (p === '2') return this.socket.send('3');
    if (p.startsWith('40')) return this.resolve('connect', { type: 'connected' });
    if (p.startsWith('43')) {
      const bracket = p.indexOf('[');
      this.resolve(p.slice(2, bracket), (JSON.parse(p.slice(bracket)) as Frame[])[0]!);
    }
  }

  static open(url: string, sio = false): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(sio ? `${url}/socket.io/?EIO=4&transport=websocket` : url, { perMessageDeflate: false });
      socket.once('open', () => {
        const client = new WsClient(socket, sio);
        if (!sio) return resolve(client);
        client.waiting.set('connect', () => resolve(client));
        socket.send('40');
      });
      socket.once('error', reject);
    });
  }

  request(frame: Record<string, unknown>): Promise<Frame> {
    const n = ++nextRequest;
    const id = this.sio ? String(n) : `r${n}`;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.send(this.sio ? `42${id}${JSON.stringify([frame.action, frame])}` : JSON.stringify({ ...frame, id }));
    });
  }

  close(): void {
    this.socket.terminate();
  }
}

function expect(frame: Frame, type: string): Frame {
  if (frame.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(frame)}`);
  return frame;
}

/** Runs `n` tasks with at most `concurrency` at once. */
async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

const username = (i: number, prefix = 'bu') => `${prefix}${i}`;

// ---------------------------------------------------------------- commands

/** Open connections, one pool per server under test. */
const pools = new Map<string, Client[]>();
function poolOf(name: unknown): Client[] {
  const key = String(name ?? 'default');
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = []));
  return pool;
}
/** Unique across runs: the same users send again over a reused database. */
const NONCE = Math.random().toString(36).slice(2, 8);
let run = 0;

const commands: Record<string, (c: any) => Promise<unknown>> = {
  /** Signs users up through the protocol (register, code from the mail, verify), then sets their rooms. */
  async signup(c: { url: string; codesDir: string; from: number; to: number; rooms: { name: string; upTo: number }[]; concurrency: number; prefix?: string }) {
    const n = c.to - c.from;
    const tokens: string[] = new Array(n);
    const opened: WsClient[] = new Array(n);
    const t0 = performance.now();
    await pool(n, c.concurrency, async (k) => {
      const i = c.from + k;
      const client = (opened[k] = await WsClient.open(c.url));
      const name = username(i, c.prefix);
      const email = `${name}@bench.example`;
      expect(await client.request({ action: 'auth', op: 'register', username: name, email, password: PASSWORD }), 'otp_sent');
      const code = (await readFile(join(c.codesDir, email), 'utf8')).trim();
      const authed = expect(await client.request({ action: 'auth', op: 'verify', username: name, code }), 'authed');
      tokens[k] = String(authed.token);
    });
    const signupSeconds = (performance.now() - t0) / 1000;
    // Their rooms (everyone also stays in #general).
    await pool(n, c.concurrency, async (k) => {
      const i = c.from + k;
      const client = opened[k]!;
      for (const r of c.rooms) if (i < r.upTo) expect(await client.request({ action: 'join', room: r.name }), 'joined');
      client.close();
    });
    return { users: n, signupSeconds, signupsPerSecond: n / signupSeconds, tokens };
  },

  /** Password logins through the protocol, each on a fresh connection. */
  async logins(c: { url: string; users: number; concurrency: number }) {
    const t0 = performance.now();
    await pool(c.users, c.concurrency, async (i) => {
      const client = await WsClient.open(c.url);
      expect(await client.request({ action: 'auth', op: 'login', username: username(i), password: PASSWORD }), 'authed');
      client.close();
    });
    const seconds = (performance.now() - t0) / 1000;
    return { logins: c.users, seconds, loginsPerSecond: c.users / seconds };
  },

  /** Opens `count` more connections; chat connections resume tokens[i % tokens.length]. */
  async open(c: { pool?: string; kind: Kind; url: string; count: number; tokens?: string[]; concurrency?: number }) {
    const clients = poolOf(c.pool);
    const t0 = performance.now();
    const base = clients.length;
    const opened = await pool(c.count, c.concurrency ?? 64, async (k) => {
      const client = await WsClient.open(c.url, c.kind === 'sio');
      if (c.kind === 'chat') {
        const token = c.tokens![(base + k) % c.tokens!.length];
        expect(await client.request({ action: 'auth', op: 'resume', token }), 'authed');
      }
      return client;
    });
    clients.push(...opened);
    return { open: clients.length, seconds: (performance.now() - t0) / 1000 };
  },

  /** Waits until no frame has arrived for `ms` (presence after a connection wave). */
  async quiet(c: { ms: number; maxMs?: number }) {
    const t0 = performance.now();
    lastFrameAt = Math.max(lastFrameAt, t0);
    while (performance.now() - lastFrameAt < c.ms && performance.now() - t0 < (c.maxMs ?? 60_000)) await sleep(c.ms / 4);
    return { seconds: (performance.now() - t0) / 1000 };
  },

  async closeAll(c: { pool?: string }) {
    for (const [name, clients] of pools) {
      if (c.pool !== undefined && name !== c.pool) continue;
      for (const client of clients) client.close();
      pools.delete(name);
    }
    await sleep(200);
    return true;
  },

  /**
   * One room, every open connection a member. `senders` connections send either
   * as fast as their replies come back (`acks`) or `rate` messages/s in total
   * (`rate`, open loop); deliveries are counted in a window after a warm-up.
   */
  async load(c: { pool?: string; mode: 'acks' | 'rate'; room: string; senders: number; rate?: number; warmupMs: number; durationMs: number; drainMs?: number }) {
    const clients = poolOf(c.pool);
    run++;
    tracker.reset(clients.length);
    const senders = clients.slice(0, c.senders);
    const t0 = performance.now();
    tracker.windowStart = t0 + c.warmupMs;
    tracker.windowEnd = tracker.windowStart + c.durationMs;
    let sends = 0;
    let acks = 0;
    let errors = 0;
    let firstError: Frame | undefined;
    let acksInWindow = 0;
    const text = 'The quick brown fox jumps over the lazy dog, benchmark message';
    const ackHist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    const sendOne = async (s: number, seq: number) => {
      const clientId = `x${NONCE}${run}-${s}-${seq}`;
      tracker.sent(clientId);
      sends++;
      const t = performance.now();
      const reply = await senders[s]!.request({ action: 'send', room: c.room, text, clientId });
      if (reply.type === 'sent') {
        acks++;
        const now = performance.now();
        if (t >= tracker.windowStart && t < tracker.windowEnd) ackHist.recordValue(Math.max(1, Math.round((now - t) * 1000)));
        if (now >= tracker.windowStart && now < tracker.windowEnd) acksInWindow++;
      } else {
        errors++;
        firstError ??= reply;
        tracker.inflight.delete(clientId);
      }
    };
    if (c.mode === 'acks') {
      await Promise.all(
        senders.map(async (_, s) => {
          for (let seq = 0; performance.now() < tracker.windowEnd; seq++) await sendOne(s, seq);
        }),
      );
    } else {
      const interval = 1000 / c.rate!;
      const pendingSends: Promise<void>[] = [];
      for (let i = 0; ; i++) {
        const due = t0 + i * interval;
        if (due >= tracker.windowEnd) break;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        pendingSends.push(sendOne(i % senders.length, i));
      }
      await Promise.all(pendingSends);
    }
    // Let the last deliveries arrive; what never does is lost.
    const drainUntil = performance.now() + (c.drainMs ?? 10_000);
    while (tracker.inflight.size > 0 && performance.now() < drainUntil) await sleep(20);
    const h = tracker.hist;
    const ms = (v: number) => Math.round(v) / 1000;
    return {
      connections: clients.length,
      senders: senders.length,
      sends,
      acks,
      errors,
      firstError,
      sendsPerSecond: acksInWindow / (c.durationMs / 1000),
      deliveriesPerSecond: tracker.deliveriesInWindow / (c.durationMs / 1000),
      deliveries: tracker.deliveries,
      lost: tracker.lost(),
      unknown: tracker.unknown,
      ackLatencyMs: { p50: ms(ackHist.getValueAtPercentile(50)), p99: ms(ackHist.getValueAtPercentile(99)) },
      latencyMs: {
        count: h.totalCount,
        p50: ms(h.getValueAtPercentile(50)),
        p90: ms(h.getValueAtPercentile(90)),
        p99: ms(h.getValueAtPercentile(99)),
        p999: ms(h.getValueAtPercentile(99.9)),
        max: ms(h.maxValue),
        mean: ms(h.mean),
      },
    };
  },

  /**
   * Direct messages between pairs (0,1), (2,3), ... of the open connections, each
   * person sending to the other as fast as replies come; 2 deliveries a message.
   */
  async dmStorm(c: { pool?: string; warmupMs: number; durationMs: number; firstUser: number }) {
    const clients = poolOf(c.pool);
    run++;
    tracker.reset(2);
    const t0 = performance.now();
    tracker.windowStart = t0 + c.warmupMs;
    tracker.windowEnd = tracker.windowStart + c.durationMs;
    let acks = 0;
    let errors = 0;
    let firstError: Frame | undefined;
    const pairs = Math.floor(clients.length / 2);
    await Promise.all(
      clients.slice(0, pairs * 2).map(async (client, k) => {
        const me = username(c.firstUser + k);
        const peer = username(c.firstUser + (k ^ 1));
        const room = `dm:${[me, peer].sort().join(':')}`;
        for (let seq = 0; performance.now() < tracker.windowEnd; seq++) {
          const clientId = `d${NONCE}${run}-${k}-${seq}`;
          tracker.sent(clientId);
          const reply = await client.request({ action: 'send', room, text: 'a direct message for the storm', clientId });
          if (reply.type === 'sent') acks++;
          else {
            errors++;
            firstError ??= reply;
            tracker.inflight.delete(clientId);
            await sleep(100);
          }
        }
      }),
    );
    const drainUntil = performance.now() + 10_000;
    while (tracker.inflight.size > 0 && performance.now() < drainUntil) await sleep(20);
    const h = tracker.hist;
    const ms = (v: number) => Math.round(v) / 1000;
    return {
      pairs,
      acks,
      errors,
      firstError,
      deliveriesPerSecond: tracker.deliveriesInWindow / (c.durationMs / 1000),
      messagesPerSecond: tracker.deliveriesInWindow / 2 / (c.durationMs / 1000),
      lost: tracker.lost(),
      latencyMs: { count: h.totalCount, p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) },
    };
  },

  /** `history` pages at random points of a long room, one request at a time. */
  async history(c: { pool?: string; room: string; requests: number; lastId: number; count: number; limit: number }) {
    const client = poolOf(c.pool)[0]!;
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    const first = c.lastId - c.count + 1;
    const one = async (frame: Record<string, unknown>) => {
      const t = performance.now();
      const reply = expect(await client.request({ action: 'history', room: c.room, limit: c.limit, ...frame }), 'history');
      h.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
      return reply;
    };
    const ms = (v: number) => Math.round(v) / 1000;
    const summary = () => ({ count: h.totalCount, p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) });
    for (let i = 0; i < c.requests; i++) await one({ before: String(first + 1 + Math.floor(Math.random() * (c.count - 1))) });
    const before = summary();
    h.reset();
    for (let i = 0; i < c.requests; i++) await one({ after: String(first + Math.floor(Math.random() * c.count)) });
    const after = summary();
    h.reset();
    for (let i = 0; i < c.requests; i++) await one({});
    return { before, after, latest: summary() };
  },

  /** Opens authenticated connections in waves until `target` or the first failure. */
  async ramp(c: { pool?: string; url: string; tokens: string[]; target: number; concurrency: number; maxSeconds: number }) {
    const clients = poolOf(c.pool);
    const t0 = performance.now();
    const base = clients.length;
    let failed: string | undefined;
    let next = 0;
    const marks: { connections: number; seconds: number }[] = [];
    await Promise.all(
      Array.from({ length: c.concurrency }, async () => {
        while (!failed && next < c.target) {
          if (performance.now() - t0 > c.maxSeconds * 1000) {
            failed ??= `time budget of ${c.maxSeconds} s`;
            break;
          }
          const k = next++;
          try {
            const client = await WsClient.open(c.url);
            expect(await client.request({ action: 'auth', op: 'resume', token: c.tokens[k % c.tokens.length] }), 'authed');
            clients.push(client);
            if (clients.length % 1000 === 0) marks.push({ connections: clients.length - base, seconds: (performance.now() - t0) / 1000 });
          } catch (err) {
            failed ??= String((err as Error).message ?? err);
          }
        }
      }),
    );
    // Every connection still answers: a ping round trip on each.
    let alive = 0;
    await pool(clients.length - base, 256, async (k) => {
      const reply = await Promise.race([clients[base + k]!.request({ action: 'ping' }), sleep(10_000).then(() => ({ type: 'timeout' }))]);
      if ((reply as Frame).type === 'pong') alive++;
    });
    return { connections: clients.length - base, alive, seconds: (performance.now() - t0) / 1000, failed, marks, rssMB: rss() };
  },

  async rss() {
    return rss();
  },
};

// ---------------------------------------------------------------- the ramp (bench/ramp.ts)

/** This process's share of the ramp's connections, in the order they came online. */
const rampClients: WsClient[] = [];
/** this process's pauses since the ramp's counting began */
const pauses = recordPauses();

const rampCommands: Record<string, (c: any) => Promise<unknown>> = {
  /** Starts counting: every frame from now on is tallied by type. */
  async rampReset(c: { endsAtUs: number }) {
    ramp.frames.clear();
    ramp.hist.ramp.reset();
    ramp.hist.after.reset();
    ramp.deliveries.ramp = ramp.deliveries.after = 0;
    ramp.afterCounts.clear();
    ramp.afterWorst.clear();
    ramp.closed = 0;
    ramp.endsAtUs = c.endsAtUs;
    pauses.clear();
    frameHook = rampFrame;
    return true;
  },

  /**
   * Opens one connection per entry at its time (`startAtMs + offsetsMs[k]`, ms
   * since the epoch), open loop: a slow login does not hold back the next. Chat
   * connections resume `tokens[k]` and, with `watch`, then send
   * `{"action":"watch","users":watch[k]}`; a server that does not know the action
   * answers with an error, counted as "watch unsupported".
   */
  async rampOpen(c: { kind: Kind; url: string; startAtMs: number; offsetsMs: number[]; tokens?: string[]; watch?: string[][]; replyTimeoutMs?: number }) {
    const logins = latencyHist();
    let failed = 0;
    let firstFailure: string | undefined;
    const watch = { watching: 0, errors: 0, firstError: undefined as Frame | undefined };
    const pending: Promise<void>[] = [];
    for (let k = 0; k < c.offsetsMs.length; k++) {
      const wait = c.startAtMs + c.offsetsMs[k]! - (performance.timeOrigin + performance.now());
      if (wait > 1) await sleep(wait);
      pending.push(
        (async () => {
          const t = performance.now();
          try {
            const client = await WsClient.open(c.url);
            rampClients.push(client);
            if (c.kind !== 'chat') return;
            // A socket the server closes, or a reply that never comes, fails this login instead of hanging the ramp.
            const gone = new Promise<never>((_, reject) => {
              client.socket.once('close', () => reject(new Error('closed by the server before its reply')));
              setTimeout(() => reject(new Error(`no reply within ${c.replyTimeoutMs ?? 300_000} ms`)), c.replyTimeoutMs ?? 300_000).unref();
            });
            gone.catch(() => {});
            expect(await Promise.race([client.request({ action: 'auth', op: 'resume', token: c.tokens![k] }), gone]), 'authed');
            logins.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
            if (!c.watch) return;
            const reply = await Promise.race([client.request({ action: 'watch', users: c.watch[k] }), gone]);
            if (reply.type === 'watching') watch.watching++;
            else {
              watch.errors++;
              watch.firstError ??= reply;
            }
          } catch (err) {
            failed++;
            firstFailure ??= String((err as Error).message ?? err);
          }
        })(),
      );
    }
    await Promise.all(pending);
    const ms = (v: number) => Math.round(v) / 1000;
    return {
      opened: c.offsetsMs.length - failed,
      failed,
      firstFailure,
      loginMs: { count: logins.totalCount, p50: ms(logins.getValueAtPercentile(50)), p99: ms(logins.getValueAtPercentile(99)), max: ms(logins.maxValue) },
      watch,
    };
  },

  /**
   * `rate` messages a second in `room` until `untilMs` (ms since the epoch), open
   * loop, round-robin over this process's first `senders` connections. Each
   * clientId carries its send time, so any load generator can time its delivery.
   */
  async rampSend(c: { room: string; rate: number; senders: number; untilMs: number }) {
    const senders = rampClients.slice(0, c.senders);
    const text = 'The quick brown fox jumps over the lazy dog, benchmark message';
    const sent = { ramp: 0, after: 0 };
    /** the clientIds sent after the ramp */
    const stamps: string[] = [];
    let acks = 0;
    let errors = 0;
    let firstError: Frame | undefined;
    const pendingSends: Promise<void>[] = [];
    const t0 = performance.timeOrigin + performance.now();
    for (let i = 0; ; i++) {
      const due = t0 + (i * 1000) / c.rate;
      if (due >= c.untilMs) break;
      const wait = due - (performance.timeOrigin + performance.now());
      if (wait > 1) await sleep(wait);
      const at = nowUs();
      const clientId = `R${Math.round(at)}x${NONCE}-${i}`;
      sent[at < ramp.endsAtUs ? 'ramp' : 'after']++;
      if (at >= ramp.endsAtUs) stamps.push(clientId);
      pendingSends.push(
        senders[i % senders.length]!.request({ action: 'send', room: c.room, text, clientId }).then((reply) => {
          if (reply.type === 'sent') acks++;
          else {
            errors++;
            firstError ??= reply;
          }
        }),
      );
    }
    await Promise.race([Promise.all(pendingSends), sleep(60_000)]);
    return { sent, stamps, acks, errors, firstError };
  },

  /** When the ramp ends (µs since the epoch): messages sent from then on count as "after". */
  async rampPhase(c: { endsAtUs: number }) {
    ramp.endsAtUs = c.endsAtUs;
    return true;
  },

  /** This process's tallies; the histograms encoded, for the parent to add up. */
  async rampStats() {
    return {
      pauses: pauses.since(0),
      frames: Object.fromEntries(ramp.frames),
      deliveries: { ...ramp.deliveries },
      afterCounts: Object.fromEntries(ramp.afterCounts),
      afterWorst: Object.fromEntries(ramp.afterWorst),
      hist: { ramp: hdr.encodeIntoCompressedBase64(ramp.hist.ramp), after: hdr.encodeIntoCompressedBase64(ramp.hist.after) },
      closed: ramp.closed,
      open: rampClients.length,
      rssMB: rss(),
    };
  },

  async rampClose() {
    frameHook = undefined;
    for (const client of rampClients.splice(0)) client.close();
    await sleep(200);
    return true;
  },
};

function rss(): number {
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

answerParent({ ...commands, ...rampCommands }, {});
