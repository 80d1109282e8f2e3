// Model-based test: random sequences of sends, repeats (same clientId),
// reconnects with catch-up, and history paging, run against the real server and
// a plain in-memory model of each room. Any divergence is shrunk by fast-check.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Message } from '../../functions/core/protocol.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MESSAGE_BURST: '100000', USER_MESSAGE_BURST: '100000' });
});
afterAll(() => t?.close());

interface Stored {
  id: string;
  from: number;
  text: string;
  clientId: string;
}
interface Model {
  /** per room index: the messages in id order */
  rooms: Stored[][];
  /** per user: what they sent, to repeat */
  sent: Array<Array<Stored & { room: number }>>;
  nextClientId: number;
}
interface Real {
  clients: TestClient[];
  tokens: string[];
  rooms: string[];
  usernames: string[];
}

const USERS = 3;
// Room 0: users 0 and 1; room 1: users 1 and 2; room 2: the DM of users 0 and 2.
const MEMBERS = [new Set([0, 1]), new Set([1, 2]), new Set([0, 2])];

const ids = (ms: Array<{ id: string }>) => ms.map((m) => m.id);

class SendCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly room: number,
    readonly text: string,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const clientId = `c${m.nextClientId++}`;
    const reply = await r.clients[this.user]!.request({ action: 'send', room: r.rooms[this.room], text: this.text, clientId });
    if (!MEMBERS[this.room]!.has(this.user)) {
      expect(reply).toMatchObject({ type: 'error', code: 'forbidden' });
      return;
    }
    expect(reply.type).toBe('sent');
    const msg = reply.message as Message;
    expect(msg).toMatchObject({ room: r.rooms[this.room], from: r.usernames[this.user], text: this.text, clientId });
    const last = m.rooms[this.room]!.at(-1);
    if (last) expect(BigInt(msg.id) > BigInt(last.id)).toBe(true);
    const stored = { id: msg.id, from: this.user, text: this.text, clientId };
    m.rooms[this.room]!.push(stored);
    m.sent[this.user]!.push({ ...stored, room: this.room });
  }
  toString = () => `send(u${this.user}, room${this.room}, ${JSON.stringify(this.text)})`;
}

class RepeatCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
  ) {}
  check = (m: Readonly<Model>) => m.sent[this.user]!.length > 0;
  async run(m: Model, r: Real) {
    const old = m.sent[this.user]![this.pick % m.sent[this.user]!.length]!;
    const reply = await r.clients[this.user]!.request({ action: 'send', room: r.rooms[old.room], text: old.text, clientId: old.clientId });
    expect(reply.type).toBe('sent');
    expect((reply.message as Message).id).toBe(old.id);
  }
  toString = () => `repeat(u${this.user}, #${this.pick})`;
}

class ReconnectCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly seenFraction: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    await r.clients[this.user]!.close();
    r.clients[this.user] = await resumeAs(t, r.tokens[this.user]!);
    // Catch up each room from a cursor somewhere in what was seen before.
    for (const [room, members] of MEMBERS.entries()) {
      if (!members.has(this.user)) continue;
      const all = m.rooms[room]!;
      const seen = Math.floor(all.length * this.seenFraction);
      const after = seen > 0 ? all[seen - 1]!.id : undefined;
      const got: Message[] = [];
      let cursor = after;
      for (;;) {
        const page = await r.clients[this.user]!.request({ action: 'history', room: r.rooms[room], limit: 7, ...(cursor ? { after: cursor } : {}) });
        const msgs = page.messages as Message[];
        if (!cursor) {
          // No cursor: the newest page; read everything instead for the check.
          const full = await r.clients[this.user]!.request({ action: 'history', room: r.rooms[room], limit: 100 });
          got.push(...(full.messages as Message[]));
          break;
        }
        got.push(...msgs);
        if (!page.hasMore) break;
        cursor = msgs.at(-1)!.id;
      }
      expect(ids(got)).toEqual(ids(after ? all.slice(seen) : all));
    }
  }
  toString = () => `reconnect(u${this.user}, seen ${this.seenFraction.toFixed(2)})`;
}

class HistoryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly room: number,
    readonly mode: 'latest' | 'before' | 'after',
    readonly anchor: number,
    readonly limit: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const all = m.rooms[this.room]!;
    const anchorMsg = all.length ? all[this.anchor % all.length] : undefined;
    const frame: Record<string, unknown> = { action: 'history', room: r.rooms[this.room], limit: this.limit };
    if (this.mode !== 'latest' && anchorMsg) frame[this.mode] = anchorMsg.id;
    const page = await r.clients[this.user]!.request(frame);
    if (!MEMBERS[this.room]!.has(this.user)) {
      expect(page).toMatchObject({ type: 'error', code: 'forbidden' });
      return;
    }
    let expected: Stored[];
    let hasMore: boolean;
    if (this.mode === 'after' && anchorMsg) {
      const rest = all.filter((x) => BigInt(x.id) > BigInt(anchorMsg.id));
      expected = rest.slice(0, this.limit);
      hasMore = rest.length > this.limit;
    } else {
      const upTo = this.mode === 'before' && anchorMsg ? all.filter((x) => BigInt(x.id) < BigInt(anchorMsg.id)) : all;
      expected = upTo.slice(Math.max(0, upTo.length - this.limit));
      hasMore = upTo.length > this.limit;
    }
    expect(page.type).toBe('history');
    expect(ids(page.messages as Message[])).toEqual(ids(expected));
    expect((page.messages as Message[]).map((x) => x.text)).toEqual(expected.map((x) => x.text));
    expect(page.hasMore).toBe(hasMore);
  }
  toString = () => `history(u${this.user}, room${this.room}, ${this.mode} #${this.anchor}, limit ${this.limit})`;
}

const user = fc.integer({ min: 0, max: USERS - 1 });
const room = fc.integer({ min: 0, max: 2 });
const text = fc.stringMatching(/^[a-z0-9][a-z0-9 ]{0,12}[a-z0-9]$/);
const commands = [
  fc.tuple(user, room, text).map(([u, r, x]) => new SendCommand(u, r, x)),
  fc.tuple(user, room, text).map(([u, r, x]) => new SendCommand(u, r, x)),
  fc.tuple(user, fc.nat()).map(([u, p]) => new RepeatCommand(u, p)),
  fc.tuple(user, fc.double({ min: 0, max: 1, noNaN: true })).map(([u, f]) => new ReconnectCommand(u, f)),
  fc
    .tuple(user, room, fc.constantFrom('latest' as const, 'before' as const, 'after' as const), fc.nat(), fc.integer({ min: 1, max: 6 }))
    .map(([u, r, mode, a, l]) => new HistoryCommand(u, r, mode, a, l)),
];

let run = 0;
async function setup(): Promise<{ model: Model; real: Real }> {
  run++;
  const clients = await Promise.all([...Array(USERS).keys()].map(() => signUp(t, newAccount(`m${run}u`))));
  const usernames = clients.map((c) => c.username);
  const rooms = [`model-${process.pid % 1000}-${run}-a`, `model-${process.pid % 1000}-${run}-b`, dmRoomId(usernames[0]!, usernames[2]!)];
  for (const [i, members] of MEMBERS.entries()) for (const u of members) expect((await clients[u]!.request({ action: 'join', room: rooms[i] })).type).toBe('joined');
  return {
    model: { rooms: [[], [], []], sent: [[], [], []], nextClientId: 0 },
    real: { clients, tokens: clients.map((c) => c.token!), rooms, usernames },
  };
}

it('agrees with an in-memory model over sends, repeats, reconnects and paging', async () => {
  const opened: TestClient[][] = [];
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
      const s = await setup();
      opened.push(s.real.clients);
      await fc.asyncModelRun(() => s, cmds);
      await Promise.all(s.real.clients.map((c) => c.close()));
    }),
    { numRuns: 12, seed: Number(process.env.MODEL_SEED ?? 42) },
  );
  await Promise.all(opened.flat().map((c) => c.ws.terminate()));
}, 120_000);
