// Protocol fuzzing shared by the suite (test/security/fuzz.test.ts) and the long
// run (`npm run fuzz`, scripts/fuzz.ts): arbitrary JSON, protocol-shaped frames
// with hostile field values, arbitrary strings and arbitrary bytes, sent on a
// logged-in and an anonymous socket. After each frame a `ping` with a fresh id
// marks the end of its answers: every frame must get at least one answer, every
// answer must be a well-formed frame, and the socket must stay open.
import fc from 'fast-check';
import WebSocket from 'ws';
import type { Frame } from '../../functions/core/ports.js';

export const ERROR_CODES = ['bad_request', 'too_large', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'invalid_code', 'rate_limited', 'internal'];
const TYPES = ['authed', 'otp_sent', 'logged_out', 'joined', 'sent', 'message', 'history', 'left', 'presence', 'error', 'pong', 'purged', 'deleted', 'search_results'];

export type FuzzCase = { socket: 'authed' | 'anonymous'; payload: string | Uint8Array; binary: boolean };

const hostile = fc.constantFrom(
  'general',
  'dm:alice:bob',
  "'; drop table users; --",
  '<script>alert(1)</script>',
  '\u202Eevil',
  '🦊'.repeat(50),
  '9999999999999999999999',
  '-1',
  '0',
  '1e3',
  '__proto__',
  'constructor',
  '',
  ' ',
);
const value = fc.oneof(hostile, fc.string(), fc.string({ unit: 'binary', maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const protocolShaped = fc
  .record(
    {
      action: fc.oneof(fc.constantFrom('auth', 'join', 'send', 'history', 'leave', 'ping', 'purge', 'search', '$connect', '$default', 'nope'), value),
      id: maybe(fc.oneof(fc.string({ maxLength: 80 }), value)),
      op: maybe(fc.oneof(fc.constantFrom('register', 'verify', 'login', 'resume', 'logout'), value)),
      room: maybe(value),
      text: maybe(value),
      clientId: maybe(value),
      before: maybe(value),
      after: maybe(value),
      limit: maybe(value),
      username: maybe(value),
      email: maybe(value),
      password: maybe(value),
      code: maybe(value),
      token: maybe(value),
      query: maybe(value),
    },
    { requiredKeys: ['action'] },
  )
  .map((r) => JSON.stringify(r));

// Valid frames with one field swapped for a hostile value (or dropped): these get
// past the envelope and reach the core's own checks, SQL and fan-out.
const validFrames = [
  { action: 'send', room: 'general', text: 'hello', clientId: 'c1' },
  { action: 'send', room: 'fuzz', text: 'in fuzz', clientId: 'c2' },
  { action: 'join', room: 'fuzz' },
  { action: 'history', room: 'general', limit: 10 },
  { action: 'history', room: 'general', after: '1', limit: 5 },
  { action: 'leave', room: 'fuzz' },
  { action: 'auth', op: 'resume', token: 'x'.repeat(43) },
  { action: 'auth', op: 'login', username: 'nobody', password: 'whatever password' },
  { action: 'auth', op: 'verify', username: 'nobody', code: '123456' },
  { action: 'search', query: 'hello from:me' },
  { action: 'search', query: '"in fuzz" -nope hel', before: '1000', limit: 5 },
] as Array<Record<string, unknown>>;
const nearlyValid = fc
  .tuple(fc.constantFrom(...validFrames), fc.constantFrom('room', 'text', 'clientId', 'limit', 'after', 'before', 'id', 'op', 'token', 'code', 'query'), fc.option(value, { nil: undefined }), fc.string({ maxLength: 12 }))
  .map(([frame, field, v, unique]) => {
    const out: Record<string, unknown> = { ...frame };
    if (typeof out.clientId === 'string') out.clientId = `${out.clientId}-${unique}`;
    if (v === undefined) delete out[field];
    else out[field] = v;
    return JSON.stringify(out);
  });

/** A frame for one of the two sockets: protocol-shaped, any JSON, any text, any bytes. */
export const fuzzCases: fc.Arbitrary<FuzzCase> = fc.tuple(
  fc.constantFrom('authed' as const, 'anonymous' as const),
  fc.oneof(
    { weight: 3, arbitrary: nearlyValid.map((payload) => ({ payload: payload as string | Uint8Array, binary: false })) },
    { weight: 3, arbitrary: protocolShaped.map((payload) => ({ payload: payload as string | Uint8Array, binary: false })) },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => ({ payload: (JSON.stringify(v) ?? 'null') as string | Uint8Array, binary: false })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((payload) => ({ payload: payload as string | Uint8Array, binary: false })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((payload) => ({ payload: payload as string | Uint8Array, binary: true })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => ({ payload: new TextDecoder().decode(b) as string | Uint8Array, binary: false })) },
  ),
).map(([socket, p]) => ({ socket, ...p }));

/** Why a frame is not well formed, or undefined when it is. */
export function malformed(f: unknown): string | undefined {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return 'not an object';
  const frame = f as Frame;
  if (typeof frame.type !== 'string' || !TYPES.includes(frame.type)) return `unknown type ${String(frame.type)}`;
  if ('re' in frame && (typeof frame.re !== 'string' || frame.re.length > 64)) return 'bad re';
  if (frame.type === 'error') {
    if (!ERROR_CODES.includes(frame.code as string)) return `unknown code ${String(frame.code)}`;
    if (typeof frame.message !== 'string' || frame.message.length === 0) return 'no message';
    if (/\n\s+at |\.ts:\d+|\.js:\d+|postgres|syntax error|relation "/i.test(frame.message)) return `internal detail: ${frame.message}`;
  }
  return undefined;
}

export interface FuzzStats {
  frames: number;
  answers: number;
  byType: Record<string, number>;
  byCode: Record<string, number>;
  malformed: string[];
  unexpectedCloses: number;
  /** a fuzzed logout signed the logged-in socket out */
  loggedOut?: boolean;
}

export function newStats(): FuzzStats {
  return { frames: 0, answers: 0, byType: {}, byCode: {}, malformed: [], unexpectedCloses: 0 };
}

/** A raw socket that collects frames until a marker pong. */
export class FuzzSocket {
  private frames: unknown[] = [];
  private wake?: () => void;
  closed = false;
  private n = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        parsed = { unparseable: data.toString().slice(0, 200) };
      }
      this.frames.push(parsed);
      this.wake?.();
    });
    ws.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static open(url: string): Promise<FuzzSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new FuzzSocket(ws)));
      ws.once('error', reject);
    });
  }

  request(frame: object): Promise<Frame> {
    const id = `setup-${++this.n}`;
    this.ws.send(JSON.stringify({ ...frame, id }));
    return this.until((f) => (f as Frame).re === id) as Promise<Frame>;
  }

  /** Sends one fuzz case and returns every frame answered before the marker. */
  async exchange(c: FuzzCase, timeoutMs = 10_000): Promise<unknown[]> {
    const marker = `fz-${++this.n}`;
    this.ws.send(c.payload, { binary: c.binary });
    this.ws.send(JSON.stringify({ action: 'ping', id: marker }));
    const start = this.frames.length;
    await this.until((f) => (f as Frame).type === 'pong' && (f as Frame).re === marker, timeoutMs);
    const got = this.frames.splice(start);
    return got.filter((f) => !((f as Frame).type === 'pong' && (f as Frame).re === marker));
  }

  private async until(pred: (f: unknown) => boolean, timeoutMs = 10_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (let seen = 0; ; ) {
      for (; seen < this.frames.length; seen++) if (pred(this.frames[seen])) return this.frames[seen];
      if (this.closed) throw new Error('socket closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no answer in time');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, Math.min(left, 200));
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** The logged-in socket again, after a fuzzed logout (or a dropped socket). */
export async function reauthenticate(url: string, username: string, password: string): Promise<FuzzSocket> {
  const s = await FuzzSocket.open(url);
  const authed = await s.request({ action: 'auth', op: 'login', username, password });
  if (authed.type !== 'authed') throw new Error(`could not log in again: ${JSON.stringify(authed)}`);
  return s;
}

/** Runs one case and records it; returns a failure description or undefined. */
export async function runCase(sockets: Record<FuzzCase['socket'], FuzzSocket>, c: FuzzCase, stats: FuzzStats): Promise<string | undefined> {
  const socket = sockets[c.socket];
  stats.frames++;
  let answers: unknown[];
  try {
    answers = await socket.exchange(c);
  } catch (err) {
    if (socket.closed) stats.unexpectedCloses++;
    return `${c.socket} socket: ${(err as Error).message} after ${JSON.stringify(typeof c.payload === 'string' ? c.payload.slice(0, 200) : [...c.payload])}`;
  }
  stats.answers += answers.length;
  if (c.socket === 'authed' && answers.some((a) => (a as Frame).type === 'logged_out')) stats.loggedOut = true;
  for (const a of answers) {
    const f = a as Frame;
    stats.byType[String(f.type)] = (stats.byType[String(f.type)] ?? 0) + 1;
    if (f.type === 'error') stats.byCode[String(f.code)] = (stats.byCode[String(f.code)] ?? 0) + 1;
    const why = malformed(a);
    if (why) {
      stats.malformed.push(why);
      return `malformed answer (${why}): ${JSON.stringify(a).slice(0, 300)}`;
    }
  }
  // Every frame gets an answer of its own, besides any broadcasts.
  if (!answers.some((a) => (a as Frame).type !== 'presence' && (a as Frame).type !== 'message' && (a as Frame).type !== 'deleted')) {
    return `no answer to ${JSON.stringify(typeof c.payload === 'string' ? c.payload.slice(0, 200) : [...c.payload])}`;
  }
  return undefined;
}
