// Disappearing messages on PostgreSQL and PGlite, with a clock the test sets:
// who may set a room's timer and how it is announced, the expiry the send stamps
// (still one statement), that no read path returns an expired message, and the
// sweep that deletes expired rows for good and puts the expiry on the change feed.
// The send stamps expiresAt from the injected clock; reads and the sweep judge it
// by the database's, so a clock set in the past sends messages already expired.
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { changes, editMessage, react } from '../../functions/core/conversations.js';
import { setTimer, sweepExpired } from '../../functions/core/disappearing.js';
import { allowedTimers, describeTimer, TIMERS } from '../../functions/core/timers.js';
import { BadRequest, Forbidden, NotFound, RateLimited } from '../../functions/core/errors.js';
import { history, readMessage, send } from '../../functions/core/messages.js';
import { dmRoomId, parseRoom } from '../../functions/core/names.js';
import type { Deps, Sql } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';
import { joinRoom, listUserRooms } from '../../functions/core/rooms.js';
import { handler as onDefault } from '../../functions/default.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { messageEvent } from '../helpers/events.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let sql: Sql;
let deps: Deps;
let now = new Date();
const statements: string[] = [];
const gateway = new RecordingGateway();
const HOUR = 60 * 60;
const DAY = 24 * HOUR;

beforeAll(async () => {
  db = await createTestDatabase();
  // A pool that reports each statement (PGlite serves a single connection), as in
  // test/core/reads.test.ts.
  await db.sql.end();
  sql = postgres(db.url, { max: db.real ? 5 : 1, onnotice: () => {}, debug: (_c, query) => void statements.push(query) }) as unknown as Sql;
  deps = {
    sql,
    gateway,
    mailer: new RecordingMailer(),
    clock: { now: () => now },
    log: new RecordingLogger(),
    settings: loadConfig({ ...TEST_ENV, TIMER_CHANGES_PER_HOUR: '5' }).settings,
  };
});
afterAll(async () => {
  installDeps(undefined);
  await sql?.end({ timeout: 1 });
  await db?.close();
});
beforeEach(() => {
  now = new Date();
  gateway.clear();
});

let n = 0;
interface Person {
  id: string;
  name: string;
  conn: string;
}

async function connect(userId: string): Promise<string> {
  const id = `c-${++n}`;
  await sql`insert into connections (id, user_id, authed_at) values (${id}, ${userId}, now())`;
  return id;
}

async function person(prefix = 'dis'): Promise<Person> {
  const name = `${prefix}${++n}`;
  const [u] = await sql<{ id: string }[]>`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values (${name}, ${name}, ${`${name}@example.com`}, ${`${name}@example.com`}, 'x', now()) returning id`;
  await sql`insert into memberships (room_id, user_id) values ('general', ${u!.id})`;
  return { id: u!.id, name, conn: await connect(u!.id) };
}

async function dm(a: Person, b: Person): Promise<string> {
  const id = dmRoomId(a.name, b.name);
  await sql`insert into rooms (id, kind) values (${id}, 'dm')`;
  await sql`insert into memberships (room_id, user_id) values (${id}, ${a.id}), (${id}, ${b.id})`;
  return id;
}

const room = (id: string) => parseRoom(id)!;

async function say(who: Person, roomId: string, text = 'hello', replyTo?: string): Promise<Message> {
  const out = await send(deps, who.conn, { action: 'send', room: room(roomId), text, clientId: `k-${++n}`, replyTo });
  return out.reply!.message as Message;
}

function timer(who: Person, roomId: string, seconds: number | null) {
  return setTimer(deps, who.conn, { action: 'set_timer', room: room(roomId), seconds });
}

/** Sends `text` under the room's timer with the clock `ago` seconds back: it expired that long minus the timer ago. */
async function sayAt(ago: number, who: Person, roomId: string, text: string, replyTo?: string): Promise<Message> {
  now = new Date(Date.now() - ago * 1000);
  try {
    return await say(who, roomId, text, replyTo);
  } finally {
    now = new Date();
  }
}

async function roomRow(id: string) {
  const [row] = await sql<{ disappear_after: number | null; last_seq: string | null; messages: number }[]>`
    select disappear_after, last_seq::text, (select count(*)::int from messages where room_id = ${id}) as messages
    from rooms where id = ${id}`;
  return row!;
}

describe('the timer values', () => {
  it('are 5 minutes, an hour, a day and a week, said as people say them; the test value only when set', () => {
    expect(TIMERS).toEqual([300, 3600, 86400, 604800]);
    expect(TIMERS.map(describeTimer)).toEqual(['5 minutes', '1 hour', '1 day', '1 week']);
    expect(describeTimer(5)).toBe('5 seconds');
    expect(allowedTimers(loadConfig({}).settings)).toEqual([...TIMERS]);
    expect(allowedTimers(loadConfig({ DISAPPEAR_TEST_SECONDS: '5' }).settings)).toEqual([5, ...TIMERS]);
  });
});

describe('set_timer', () => {
  it('lets either person of a DM set it: announced in the room on the change feed, shown on the room', async () => {
    const alice = await person();
    const bob = await person();
    const bobPhone = await connect(bob.id);
    const id = await dm(alice, bob);
    await say(alice, id, 'before the timer');
    const before = await roomRow(id);

    const out = await timer(bob, id, DAY);

    const message = out.reply!.message as Message;
    expect(out.reply).toEqual({ type: 'timer', room: id, disappearAfter: DAY, message });
    expect(message).toMatchObject({ room: id, from: bob.name, text: `${bob.name} set messages to disappear after 1 day`, timer: DAY });
    expect(message.expiresAt).toBeUndefined(); // the announcement stays
    expect(BigInt(message.seq!)).toBeGreaterThan(BigInt(before.last_seq!));
    expect(out.broadcasts).toEqual([
      { to: expect.arrayContaining([alice.conn, bob.conn, bobPhone]), frame: { type: 'message', message, prev: expect.any(String), seq: message.seq, prevSeq: before.last_seq } },
    ]);
    expect(out.broadcasts![0]!.to).toHaveLength(3);
    expect(await roomRow(id)).toMatchObject({ disappear_after: DAY, last_seq: message.seq });
    // the listings show it, and history and the change feed deliver the announcement
    const rooms = await listUserRooms(sql, alice.id, alice.name);
    expect(rooms.find((r) => r.id === id)).toMatchObject({ disappearAfter: DAY });
    expect(rooms.find((r) => r.id === id)).not.toHaveProperty('createdBy');
    const page = await history(deps, alice.conn, { action: 'history', room: room(id) });
    expect((page.reply!.messages as Message[]).at(-1)).toEqual(message);
    const feed = await changes(deps, alice.conn, { action: 'changes', room: room(id), after: before.last_seq });
    expect(feed.reply!.messages).toEqual([message]);

    // the same timer again: nothing changes, nothing is announced (a retry)
    const again = await timer(alice, id, DAY);
    expect(again).toEqual({ reply: { type: 'timer', room: id, disappearAfter: DAY } });
    expect(await roomRow(id)).toMatchObject({ disappear_after: DAY, last_seq: message.seq });

    // off
    const off = await timer(alice, id, null);
    expect(off.reply).toMatchObject({ type: 'timer', disappearAfter: null, message: { text: `${alice.name} turned off disappearing messages`, timer: 0 } });
    expect((await roomRow(id)).disappear_after).toBeNull();
  });

  it('lets only a channel’s creator set it; nobody in channels with no recorded creator', async () => {
    const owner = await person();
    const member = await person();
    const outsider = await person();
    const ch = `dis-ch-${++n}`;
    await joinRoom(deps, owner.conn, { action: 'join', room: room(ch) });
    const joined = await joinRoom(deps, member.conn, { action: 'join', room: room(ch) });
    expect(joined.reply!.room).toMatchObject({ createdBy: owner.name });
    expect(joined.reply!.room).not.toHaveProperty('disappearAfter'); // off

    expect((await timer(owner, ch, HOUR)).reply).toMatchObject({ disappearAfter: HOUR, message: { timer: HOUR } });
    const after = await roomRow(ch);

    const refusals = await Promise.all([
      timer(member, ch, null).catch((e: unknown) => e),
      timer(outsider, ch, null).catch((e: unknown) => e),
      timer(owner, 'general', HOUR).catch((e: unknown) => e),
    ]);
    expect(refusals[0]).toBeInstanceOf(Forbidden);
    expect((refusals[0] as Error).message).toBe(`Only the person who created #${ch} can set its timer.`);
    expect(refusals[1]).toBeInstanceOf(Forbidden);
    expect((refusals[1] as Error).message).toBe(`You are not a member of #${ch}.`);
    expect(refusals[2]).toBeInstanceOf(Forbidden);
    expect((refusals[2] as Error).message).toBe('#general has no creator on record, so nobody can set its timer.');
    expect(await roomRow(ch)).toEqual(after);
    expect((await roomRow('general')).disappear_after).toBeNull();
    // the creator's rooms say who created it, with the timer
    expect((await listUserRooms(sql, member.id, member.name)).find((r) => r.id === ch)).toMatchObject({ disappearAfter: HOUR, createdBy: owner.name });
  });

  it('refuses a value off the list before touching the database, and the test value unless configured', async () => {
    const alice = await person();
    const bob = await person();
    const id = await dm(alice, bob);
    for (const seconds of [0, -300, 5, 60, 301, 2 ** 31]) {
      statements.length = 0;
      const refused = await timer(alice, id, seconds).catch((e: unknown) => e);
      expect(refused, String(seconds)).toBeInstanceOf(BadRequest);
      expect((refused as Error).message).toBe('seconds is null (off) or one of 300, 3600, 86400, 604800.');
      expect(statements).toEqual([]);
    }
    expect(await roomRow(id)).toMatchObject({ disappear_after: null, messages: 0 });
    const testing = { ...deps, settings: { ...deps.settings, disappearTestSeconds: 5 } };
    const out = await setTimer(testing, alice.conn, { action: 'set_timer', room: room(id), seconds: 5 });
    expect(out.reply).toMatchObject({ disappearAfter: 5, message: { text: `${alice.name} set messages to disappear after 5 seconds` } });
  });

  it('has a budget per person (TIMER_CHANGES_PER_HOUR), charged only to those allowed', async () => {
    const alice = await person();
    const bob = await person();
    const id = await dm(alice, bob);
    for (let i = 0; i < 5; i++) await timer(alice, id, i % 2 ? null : HOUR);
    const refused = await timer(alice, id, DAY).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimited);
    expect((refused as Error).message).toMatch(/^You have changed disappearing-message timers too often: at most 5 times an hour\. Try again in \d+ min\.$/);
    expect((await roomRow(id)).disappear_after).toBe(HOUR);
    expect((await timer(bob, id, DAY)).reply).toMatchObject({ disappearAfter: DAY }); // bob's is his own
  });

  it('travels on $default, and ping answers the server’s time', async () => {
    installDeps(deps);
    const alice = await person();
    const bob = await person();
    const id = await dm(alice, bob);
    await onDefault(messageEvent(alice.conn, { action: 'set_timer', id: 't1', room: id, seconds: 300 }));
    await onDefault(messageEvent(alice.conn, { action: 'set_timer', id: 't2', room: id, seconds: '300' }));
    await onDefault(messageEvent(alice.conn, { action: 'ping', id: 'p1' }));
    const replies = gateway.framesTo(alice.conn);
    expect(replies).toContainEqual(expect.objectContaining({ type: 'timer', re: 't1', disappearAfter: 300 }));
    expect(replies).toContainEqual({ type: 'error', re: 't2', code: 'bad_request', message: 'seconds must be a number or null.' });
    expect(replies).toContainEqual({ type: 'pong', re: 'p1', serverTime: now.toISOString() });
  });
});

describe('a message sent under a timer', () => {
  it('carries its expiry, stamped by the one send statement from the room’s timer', async () => {
    const alice = await person();
    const bob = await person();
    const id = await dm(alice, bob);
    const plain = await say(alice, id, 'no timer yet');
    await timer(alice, id, HOUR);

    statements.length = 0;
    const sent = await say(bob, id, 'gone in an hour');
    expect(statements).toHaveLength(1);
    expect(sent.expiresAt).toBe(new Date(now.getTime() + HOUR * 1000).toISOString());
    expect(plain.expiresAt).toBeUndefined();
    expect(await readMessage(sql, plain.id)).not.toHaveProperty('expiresAt'); // earlier messages keep theirs
    await timer(alice, id, null);
    expect((await say(bob, id, 'stays')).expiresAt).toBeUndefined();
  });
});

describe('an expired message', () => {
  it('is returned by no read path, even before the sweep', async () => {
    const alice = await person();
    const bob = await person();
    const ch = `dis-read-${++n}`;
    await joinRoom(deps, alice.conn, { action: 'join', room: room(ch) });
    await joinRoom(deps, bob.conn, { action: 'join', room: room(ch) });
    const start = (await roomRow(ch)).last_seq;
    const kept = await say(alice, ch, 'kept');
    await timer(alice, ch, HOUR);
    const live = await say(alice, ch, `live @${bob.name}`);
    const gone = await say(alice, ch, `gone @${bob.name}`);
    const early = await say(alice, ch, 'answered while it lasted', gone.id);
    expect(early.replyTo).toEqual({ id: gone.id, from: alice.name, text: `gone @${bob.name}`, expiresAt: gone.expiresAt });
    // the hour passes, as the database's clock sees it
    await sql`update messages set expires_at = statement_timestamp() - interval '1 second' where id = ${gone.id}`;
    const reply = await say(alice, ch, 'answering the gone one', early.id);
    // a reply's quote of it says it expired
    const quoted = (await readMessage(sql, early.id))!;
    expect(quoted.replyTo).toEqual({ id: gone.id, deleted: true, expired: true });
    const expectIds = (messages: unknown, expected: string[]) => {
      const ids = (messages as Message[]).map((m) => m.id);
      for (const id of expected) expect(ids).toContain(id);
      expect(ids).not.toContain(gone.id);
    };

    const page = (await history(deps, bob.conn, { action: 'history', room: room(ch) })).reply!.messages as Message[];
    expectIds(page, [kept.id, live.id, early.id, reply.id]);
    expect(page.find((m) => m.id === early.id)!.replyTo).toEqual({ id: gone.id, deleted: true, expired: true });
    expectIds((await history(deps, bob.conn, { action: 'history', room: room(ch), around: gone.id })).reply!.messages, [live.id, reply.id]);
    expectIds((await history(deps, bob.conn, { action: 'history', room: room(ch), after: kept.id })).reply!.messages, [live.id]);
    expectIds((await joinRoom(deps, bob.conn, { action: 'join', room: room(ch) })).reply!.messages, [kept.id, live.id]);
    expectIds((await changes(deps, bob.conn, { action: 'changes', room: room(ch), after: start })).reply!.messages, [kept.id, live.id]);
    expect(await readMessage(sql, gone.id)).toBeUndefined();
    // unread and mention counts: bob has read up to `kept`
    await sql`insert into read_marks (user_id, room_id, through) values (${bob.id}, ${ch}, ${kept.id})`;
    const listed = (await listUserRooms(sql, bob.id, bob.name)).find((r) => r.id === ch)!;
    expect(listed).toMatchObject({ unread: 4, mentions: 1, lastMessageId: reply.id }); // the announcement, live, early, reply
    // it cannot be answered, edited or reacted to
    await expect(say(bob, ch, 'late answer', gone.id)).rejects.toBeInstanceOf(NotFound);
    await expect(editMessage(deps, alice.conn, { action: 'edit', room: room(ch), message: gone.id, text: 'x' })).rejects.toBeInstanceOf(NotFound);
    await expect(react(deps, bob.conn, { action: 'react', room: room(ch), message: gone.id, emoji: '👍', on: true })).rejects.toBeInstanceOf(NotFound);
  });

  it('is deleted for good by the sweep, with its reactions, and the expiry goes on the change feed', async () => {
    const alice = await person();
    const bob = await person();
    const bobPhone = await connect(bob.id);
    const id = await dm(alice, bob);
    await timer(alice, id, 300);
    const soon = await say(alice, id, 'expires in five minutes');
    const early = await sayAt(600, alice, id, 'expired five minutes ago');
    await sql`insert into reactions (message_id, user_id, emoji) values (${early.id}, ${bob.id}, '👍'), (${soon.id}, ${bob.id}, '👍')`;
    const cursor = (await roomRow(id)).last_seq!;

    const swept = await sweepExpired(deps);

    expect(swept.deleted).toBeGreaterThanOrEqual(1); // other tests' expired messages go too
    const frame = swept.broadcasts!.find((b) => b.frame.room === id)!;
    expect(frame.to).toEqual(expect.arrayContaining([alice.conn, bob.conn, bobPhone]));
    expect(frame.frame).toEqual({ type: 'expired', room: id, through: early.expiresAt, seq: expect.any(String), prevSeq: cursor });
    const seq = frame.frame.seq as string;
    expect(BigInt(seq)).toBeGreaterThan(BigInt(cursor));
    expect(await sql`select id::text from messages where id = ${early.id}`).toEqual([]);
    expect(await sql`select count(*)::int as n from reactions where message_id = ${early.id}`).toEqual([{ n: 0 }]);
    expect(await sql`select count(*)::int as n from reactions where message_id = ${soon.id}`).toEqual([{ n: 1 }]);
    expect(await roomRow(id)).toMatchObject({ last_seq: seq });

    // a client that was away hears of it from the feed; one already past it does not
    const away = await changes(deps, bob.conn, { action: 'changes', room: room(id), after: cursor });
    expect(away.reply).toEqual({ type: 'changes', room: id, messages: [], through: seq, hasMore: false, expiredThrough: early.expiresAt });
    const current = await changes(deps, bob.conn, { action: 'changes', room: room(id), after: seq });
    expect(current.reply).toEqual({ type: 'changes', room: id, messages: [], through: seq, hasMore: false });
    // nothing left to do: no seq, no frame
    const again = await sweepExpired(deps);
    expect(again.broadcasts!.find((b) => b.frame.room === id)).toBeUndefined();
    expect((await roomRow(id)).last_seq).toBe(seq);
  });
});
