// Model-based test: random sequences of sends (some of them replies), repeats
// (same clientId), edits, deletes, reactions, reconnects with catch-up, and
// history paging, run against the real server and a plain in-memory model of each
// room. Every client keeps a copy of its rooms from the live events (a replica,
// as docs/DELIVERY.md asks of a client); after a catch-up with `changes` it must
// equal both the model and the server's own state. Any divergence is shrunk by
// fast-check.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import { replySnippet } from '../../functions/core/mentions.js';
import type { Frame } from '../../functions/core/ports.js';
import type { Message, Reaction, ReplyTo } from '../../functions/core/protocol.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { Replica, serverState } from '../helpers/replica.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({
    MESSAGE_BURST: '100000',
    USER_MESSAGE_BURST: '100000',
    EDITS_PER_MINUTE: '100000',
    DELETES_PER_MINUTE: '100000',
    REACTIONS_PER_MINUTE: '100000',
  });
});
afterAll(() => t?.close());

interface Stored {
  id: string;
  from: number;
  text: string;
  clientId: string;
  edited?: boolean;
  deleted?: boolean;
  replyTo?: string;
  /** reactions in the order they were made */
  reactions?: Array<{ emoji: string; user: number }>;
}
interface Model {
  /** per room index: the messages in id order */
  rooms: Stored[][];
  /** per user: what they sent, to repeat */
  sent: Array<Array<Stored & { room: number }>>;
  nextClientId: number;
  /** per user: whether their socket is open (offline, they miss every live event) */
  online: boolean[];
}
interface Real {
  clients: TestClient[];
  tokens: string[];
  rooms: string[];
  usernames: string[];
  /** each user's copy of their rooms, kept from every frame of every socket they had */
  replicas: Replica[];
}

/** Feeds a socket's frames, those already in and those to come, into a replica. */
function follow<C extends TestClient>(c: C, replica: Replica): C {
  for (const f of c.frames) replica.apply(f);
  c.ws.on('message', (data) => replica.apply(JSON.parse(data.toString()) as Frame));
  return c;
}

/** A message as the model says the server holds it, in the fields a test can predict. */
function expected(m: Model, r: Real, room: number, x: Stored) {
  if (x.deleted) return { id: x.id, from: r.usernames[x.from], text: '', deleted: true, edited: false, replyTo: undefined, reactions: undefined };
  let replyTo: ReplyTo | undefined;
  if (x.replyTo) {
    const o = m.rooms[room]!.find((y) => y.id === x.replyTo)!;
    replyTo = o.deleted ? { id: o.id, deleted: true } : { id: o.id, from: r.usernames[o.from]!, text: replySnippet(o.text) };
  }
  const byEmoji = new Map<string, Reaction>();
  for (const { emoji, user } of x.reactions ?? []) {
    const e = byEmoji.get(emoji) ?? { emoji, count: 0, users: [] };
    e.count++;
    e.users.push(r.usernames[user]!);
    byEmoji.set(emoji, e);
  }
  const reactions = byEmoji.size ? [...byEmoji.values()] : undefined;
  return { id: x.id, from: r.usernames[x.from], text: x.text, deleted: undefined, edited: Boolean(x.edited), replyTo, reactions };
}

const project = (x: Message) => ({
  id: x.id,
  from: x.from,
  text: x.text,
  deleted: x.deleted,
  edited: Boolean(x.editedAt),
  replyTo: x.replyTo,
  reactions: x.reactions,
});

/**
 * Catches the user's copy of each of their rooms up with `changes`, then checks
 * it is exactly the server's state, message by message, and what the model says.
 */
async function expectConverged(m: Model, r: Real, user: number): Promise<void> {
  const c = r.clients[user]!;
  const request = (f: Record<string, unknown>) => c.request(f);
  for (const [room, members] of MEMBERS.entries()) {
    if (!members.has(user)) continue;
    const copy = r.replicas[user]!.room(r.rooms[room]!);
    await r.replicas[user]!.catchUp(request, r.rooms[room]!, 1); // one message a page: paging on every catch-up
    expect(copy.messages()).toEqual(await serverState(request, r.rooms[room]!));
    expect(copy.messages().map(project)).toEqual(m.rooms[room]!.map((x) => expected(m, r, room, x)));
  }
}

const USERS = 3;
// Room 0: users 0 and 1; room 1: users 1 and 2; room 2: the DM of users 0 and 2;
// room 3: all three (so that while one is away, two others keep changing it).
const MEMBERS = [new Set([0, 1]), new Set([1, 2]), new Set([0, 2]), new Set([0, 1, 2])];

const ids = (ms: Array<{ id: string }>) => ms.map((m) => m.id);

class SendCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly room: number,
    readonly text: string,
    /** a reply to the room's message at this index (modulo), if any */
    readonly replyPick: number | null = null,
  ) {}
  check = (m: Readonly<Model>) => m.online[this.user]!;
  async run(m: Model, r: Real) {
    const clientId = `c${m.nextClientId++}`;
    const all = m.rooms[this.room]!;
    const original = this.replyPick !== null && all.length ? all[this.replyPick % all.length] : undefined;
    const reply = await r.clients[this.user]!.request({
      action: 'send',
      room: r.rooms[this.room],
      text: this.text,
      clientId,
      ...(original ? { replyTo: original.id } : {}),
    });
    if (!MEMBERS[this.room]!.has(this.user)) {
      expect(reply).toMatchObject({ type: 'error', code: 'forbidden' });
      return;
    }
    if (original?.deleted) {
      expect(reply).toMatchObject({ type: 'error', code: 'not_found' });
      return;
    }
    expect(reply.type).toBe('sent');
    const msg = reply.message as Message;
    expect(msg).toMatchObject({ room: r.rooms[this.room], from: r.usernames[this.user], text: this.text, clientId });
    const last = all.at(-1);
    if (last) expect(BigInt(msg.id) > BigInt(last.id)).toBe(true);
    const stored: Stored = { id: msg.id, from: this.user, text: this.text, clientId, ...(original ? { replyTo: original.id } : {}) };
    all.push(stored);
    m.sent[this.user]!.push({ ...stored, room: this.room });
    expect(project(msg)).toEqual(expected(m, r, this.room, stored));
  }
  toString = () => `send(u${this.user}, room${this.room}, ${JSON.stringify(this.text)}${this.replyPick === null ? '' : `, reply to #${this.replyPick}`})`;
}

/** The user's own message `pick` (modulo), in the model's room list, with its room. */
function ownMessage(m: Model, user: number, pick: number): { room: number; stored: Stored } {
  const sent = m.sent[user]!;
  const s = sent[pick % sent.length]!;
  return { room: s.room, stored: m.rooms[s.room]!.find((x) => x.id === s.id)! };
}

class EditCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
    readonly text: string,
  ) {}
  check = (m: Readonly<Model>) => m.online[this.user]! && m.sent[this.user]!.length > 0;
  async run(m: Model, r: Real) {
    const { room, stored } = ownMessage(m, this.user, this.pick);
    const reply = await r.clients[this.user]!.request({ action: 'edit', room: r.rooms[room], message: stored.id, text: this.text });
    if (stored.deleted) {
      expect(reply).toMatchObject({ type: 'error', code: 'not_found', message: 'That message has been deleted.' });
      return;
    }
    expect(reply.type).toBe('edited');
    stored.text = this.text;
    stored.edited = true;
    expect(project(reply.message as Message)).toEqual(expected(m, r, room, stored));
  }
  toString = () => `edit(u${this.user}, #${this.pick}, ${JSON.stringify(this.text)})`;
}

class DeleteCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
  ) {}
  check = (m: Readonly<Model>) => m.online[this.user]! && m.sent[this.user]!.length > 0;
  async run(m: Model, r: Real) {
    const { room, stored } = ownMessage(m, this.user, this.pick);
    const reply = await r.clients[this.user]!.request({ action: 'delete', room: r.rooms[room], message: stored.id });
    // a second delete answers the same, changing nothing
    expect(reply).toMatchObject({ type: 'deleted_message', room: r.rooms[room], message: stored.id });
    stored.deleted = true;
    stored.text = '';
    delete stored.edited;
    delete stored.replyTo;
    delete stored.reactions;
  }
  toString = () => `delete(u${this.user}, #${this.pick})`;
}

const EMOJI = ['👍', '❤️', '🎉', '🧑🏽‍💻'];

class ReactCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly room: number,
    readonly pick: number,
    readonly emoji: number,
    readonly on: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.online[this.user]! && m.rooms[this.room]!.length > 0;
  async run(m: Model, r: Real) {
    const all = m.rooms[this.room]!;
    const stored = all[this.pick % all.length]!;
    const emoji = EMOJI[this.emoji]!;
    const reply = await r.clients[this.user]!.request({ action: 'react', room: r.rooms[this.room], message: stored.id, emoji, on: this.on });
    if (!MEMBERS[this.room]!.has(this.user)) {
      expect(reply).toMatchObject({ type: 'error', code: 'not_found' });
      return;
    }
    if (stored.deleted) {
      expect(reply).toMatchObject({ type: 'error', code: 'not_found', message: 'That message has been deleted.' });
      return;
    }
    expect(reply.type).toBe('reacted');
    const reactions = (stored.reactions ??= []);
    const mine = reactions.findIndex((x) => x.user === this.user && x.emoji === emoji);
    if (this.on && mine < 0) reactions.push({ emoji, user: this.user });
    if (!this.on && mine >= 0) reactions.splice(mine, 1);
    // emoji by their first reaction, people in the order they reacted
    const firstOf = (e: string) => reactions.findIndex((x) => x.emoji === e);
    reactions.sort((a, b) => firstOf(a.emoji) - firstOf(b.emoji));
    expect(project(reply.message as Message)).toEqual(expected(m, r, this.room, stored));
  }
  toString = () => `react(u${this.user}, room${this.room} #${this.pick}, ${EMOJI[this.emoji]}, ${this.on ? 'on' : 'off'})`;
}

/** Catches up without a reconnect: the live events and `changes` together give the server's state. */
class SyncCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly user: number) {}
  check = (m: Readonly<Model>) => m.online[this.user]!;
  async run(m: Model, r: Real) {
    await expectConverged(m, r, this.user);
  }
  toString = () => `sync(u${this.user})`;
}

class RepeatCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
  ) {}
  check = (m: Readonly<Model>) => m.online[this.user]! && m.sent[this.user]!.length > 0;
  async run(m: Model, r: Real) {
    const old = m.sent[this.user]![this.pick % m.sent[this.user]!.length]!;
    const reply = await r.clients[this.user]!.request({ action: 'send', room: r.rooms[old.room], text: old.text, clientId: old.clientId });
    expect(reply.type).toBe('sent');
    expect((reply.message as Message).id).toBe(old.id);
    // the stored message as it is now: edited, deleted or reacted to since
    const now = m.rooms[old.room]!.find((x) => x.id === old.id)!;
    expect(project(reply.message as Message)).toEqual(expected(m, r, old.room, now));
  }
  toString = () => `repeat(u${this.user}, #${this.pick})`;
}

/** The socket goes; until the user reconnects, the others go on without them. */
class DisconnectCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly user: number) {}
  check = (m: Readonly<Model>) => m.online[this.user]!;
  async run(m: Model, r: Real) {
    if (Math.random() < 0.5) await r.clients[this.user]!.close();
    else r.clients[this.user]!.ws.terminate(); // no closing handshake, as a dropped network
    m.online[this.user] = false;
  }
  toString = () => `disconnect(u${this.user})`;
}

class ReconnectCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly seenFraction: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    if (m.online[this.user]) await r.clients[this.user]!.close();
    r.clients[this.user] = follow(await resumeAs(t, r.tokens[this.user]!), r.replicas[this.user]!);
    m.online[this.user] = true;
    // The change feed first (before the history reads below could fill the copy):
    // whatever this user missed while away, in its copy now.
    await expectConverged(m, r, this.user);
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
      // history (version 1) leaves deleted messages out
      expect(ids(got)).toEqual(ids((after ? all.slice(seen) : all).filter((x) => !x.deleted)));
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
  check = (m: Readonly<Model>) => m.online[this.user]!;
  async run(m: Model, r: Real) {
    const all = m.rooms[this.room]!.filter((x) => !x.deleted);
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
const room = fc.integer({ min: 0, max: MEMBERS.length - 1 });
const text = fc.stringMatching(/^[a-z0-9][a-z0-9 ]{0,12}[a-z0-9]$/);
const commands = [
  fc.tuple(user, room, text).map(([u, r, x]) => new SendCommand(u, r, x)),
  fc.tuple(user, room, text, fc.nat()).map(([u, r, x, p]) => new SendCommand(u, r, x, p)),
  fc.tuple(user, fc.nat(), text).map(([u, p, x]) => new EditCommand(u, p, x)),
  fc.tuple(user, fc.nat()).map(([u, p]) => new DeleteCommand(u, p)),
  fc.tuple(user, room, fc.nat(), fc.integer({ min: 0, max: EMOJI.length - 1 }), fc.boolean()).map(([u, r, p, e, on]) => new ReactCommand(u, r, p, e, on)),
  fc.tuple(user, room, fc.nat(), fc.integer({ min: 0, max: EMOJI.length - 1 }), fc.boolean()).map(([u, r, p, e, on]) => new ReactCommand(u, r, p, e, on)),
  user.map((u) => new SyncCommand(u)),
  user.map((u) => new DisconnectCommand(u)),
  fc.tuple(user, fc.nat()).map(([u, p]) => new RepeatCommand(u, p)),
  fc.tuple(user, fc.double({ min: 0, max: 1, noNaN: true })).map(([u, f]) => new ReconnectCommand(u, f)),
  fc
    .tuple(user, room, fc.constantFrom('latest' as const, 'before' as const, 'after' as const), fc.nat(), fc.integer({ min: 1, max: 6 }))
    .map(([u, r, mode, a, l]) => new HistoryCommand(u, r, mode, a, l)),
];

let run = 0;
async function setup(): Promise<{ model: Model; real: Real }> {
  run++;
  const replicas = [...Array(USERS).keys()].map(() => new Replica());
  const clients = (await Promise.all([...Array(USERS).keys()].map(() => signUp(t, newAccount(`m${run}u`))))).map((c, i) => follow(c, replicas[i]!));
  const usernames = clients.map((c) => c.username);
  const rooms = [
    `model-${process.pid % 1000}-${run}-a`,
    `model-${process.pid % 1000}-${run}-b`,
    dmRoomId(usernames[0]!, usernames[2]!),
    `model-${process.pid % 1000}-${run}-c`,
  ];
  for (const [i, members] of MEMBERS.entries()) for (const u of members) expect((await clients[u]!.request({ action: 'join', room: rooms[i] })).type).toBe('joined');
  return {
    model: { rooms: [[], [], [], []], sent: [[], [], []], nextClientId: 0, online: [true, true, true] },
    real: { clients, tokens: clients.map((c) => c.token!), rooms, usernames, replicas },
  };
}

it('agrees with an in-memory model over sends, replies, repeats, edits, deletes, reactions, reconnects and paging', async () => {
  const opened: TestClient[][] = [];
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'large' }), async (cmds) => {
      const s = await setup();
      opened.push(s.real.clients);
      await fc.asyncModelRun(() => s, cmds);
      if (process.env.MODEL_DEBUG) console.log(String(cmds));
      // In the end every client, back online and caught up, holds exactly the server's state.
      for (let u = 0; u < USERS; u++) {
        if (!s.model.online[u]) await new ReconnectCommand(u, 1).run(s.model, s.real);
        await expectConverged(s.model, s.real, u);
      }
      await Promise.all(s.real.clients.map((c) => c.close()));
    }),
    { numRuns: 12, seed: Number(process.env.MODEL_SEED ?? 42) },
  );
  await Promise.all(opened.flat().map((c) => c.ws.terminate()));
}, 120_000);
