// Typing notices, read marks and settings on PostgreSQL, with a clock the test
// moves and every statement the core sends counted (typing and read are one
// statement each). Also through the $default handler, as API Gateway calls it.
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import { Forbidden, NotFound, RateLimited, Unauthorized } from '../../functions/core/errors.js';
import { dmRoomId, parseRoom } from '../../functions/core/names.js';
import type { Deps, Sql } from '../../functions/core/ports.js';
import { changeSettings, markRoomRead, UNREAD_CAP } from '../../functions/core/reads.js';
import { listUserRooms, joinRoom } from '../../functions/core/rooms.js';
import { typing } from '../../functions/core/typing.js';
import { handler as onDefault } from '../../functions/default.js';
import { makeChannel, makeDm, makePerson, sayIn } from '../helpers/rooms.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { messageEvent } from '../helpers/events.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let sql: Sql;
let deps: Deps;
let now = new Date('2026-03-01T12:00:00Z');
const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));
const statements: string[] = [];
let lastParameters: unknown[] = [];
const gateway = new RecordingGateway();
const log = new RecordingLogger();

beforeAll(async () => {
  db = await createTestDatabase();
  // The test database's pool gives way to one that reports each statement
  // (PGlite serves a single connection), as in test/bench/send-queries.test.ts.
  await db.sql.end();
  sql = postgres(db.url, { max: db.real ? 5 : 1, onnotice: () => {}, debug: (_c, query, parameters) => {
    statements.push(query);
    lastParameters = parameters;
  } }) as unknown as Sql;
  deps = { sql, gateway, mailer: new RecordingMailer(), clock: { now: () => now }, log, settings: loadConfig(TEST_ENV).settings };
});
afterAll(async () => {
  installDeps(undefined);
  await sql?.end({ timeout: 1 });
  await db?.close();
});
beforeEach(() => gateway.clear());

let n = 0;
interface Person {
  id: string;
  name: string;
  /** a signed-in connection */
  conn: string;
}

async function connect(userId: string): Promise<string> {
  const id = `c-${++n}`;
  await sql`insert into connections (id, user_id, authed_at) values (${id}, ${userId}, ${now})`;
  return id;
}

/** A verified user in `general`, with one connection. */
async function person(prefix = 'p'): Promise<Person> {
  const made = await makePerson(sql, now, prefix);
  await sql`insert into memberships (room_id, user_id) values ('general', ${made.id})`;
  return made;
}


const channel = (id: string, ...members: Person[]) => makeChannel(sql, id, ...members);
const dm = (a: Person, b: Person) => makeDm(sql, a, b);
/** A message through the real send path; returns its id. */
const say = (who: Person, room: string, text?: string) => sayIn(deps, who, room, text);

const room = (id: string) => parseRoom(id)!;

async function counted<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  statements.length = 0;
  const result = await work();
  return { result, statements: [...statements] };
}

describe('typing', () => {
  it('is forwarded to the other members’ connections in one statement, at most once per 3 s per person and room', async () => {
    const alice = await person('ty');
    const bob = await person('ty');
    const bobPhone = await connect(bob.id);
    const outsider = await person('ty');
    const ops = await channel('ty-ops', alice, bob);

    const first = await counted(() => typing(deps, alice.conn, { action: 'typing', room: room(ops) }));

    expect(first.statements).toHaveLength(1);
    expect(first.result.reply).toBeUndefined();
    expect(first.result.broadcasts).toEqual([{ to: expect.arrayContaining([bob.conn, bobPhone]), frame: { type: 'typing', room: ops, from: alice.name } }]);
    expect(first.result.broadcasts![0]!.to).toHaveLength(2); // not alice's own, not the outsider's
    expect(first.result.broadcasts![0]!.to).not.toContain(outsider.conn);

    // within the interval: dropped quietly, still one statement
    advance(2.9);
    const dropped = await counted(() => typing(deps, alice.conn, { action: 'typing', room: room(ops) }));
    expect(dropped.statements).toHaveLength(1);
    expect(dropped.result).toEqual({});
    // another room has its own interval
    const inGeneral = await typing(deps, alice.conn, { action: 'typing', room: room('general') });
    expect(inGeneral.broadcasts?.[0]?.frame).toEqual({ type: 'typing', room: 'general', from: alice.name });

    advance(0.2);
    const again = await typing(deps, alice.conn, { action: 'typing', room: room(ops) });
    expect(again.broadcasts?.[0]?.frame).toMatchObject({ type: 'typing', from: alice.name });
    // bob's own interval is his
    expect((await typing(deps, bob.conn, { action: 'typing', room: room(ops) })).broadcasts?.[0]?.to).toEqual([alice.conn]);
  });

  it('refuses a non-member and a connection not logged in, in one statement each', async () => {
    const carol = await person('ty');
    const dave = await person('ty');
    const secret = await channel('ty-secret', dave);

    const refused = await counted(() => typing(deps, carol.conn, { action: 'typing', room: room(secret) }).catch((e: unknown) => e));
    expect(refused.result).toBeInstanceOf(Forbidden);
    expect((refused.result as Error).message).toBe('You are not a member of #ty-secret.');
    expect(refused.statements).toHaveLength(1);
    await expect(typing(deps, carol.conn, { action: 'typing', room: room(dmRoomId(dave.name, 'nobody')) })).rejects.toThrow(
      'You are not a member of this conversation.',
    );
    await sql`insert into connections (id) values ('c-anonymous-typing')`;
    await expect(typing(deps, 'c-anonymous-typing', { action: 'typing', room: room('general') })).rejects.toBeInstanceOf(Unauthorized);
  });

  it('answers rate_limited past the per-user budget, whatever the room', async () => {
    const erin = await person('ty');
    const { typingBurst } = deps.settings;
    for (let i = 0; i < typingBurst; i++) await typing(deps, erin.conn, { action: 'typing', room: room('general') });

    const over = await typing(deps, erin.conn, { action: 'typing', room: room('general') }).catch((e: unknown) => e);

    expect(over).toBeInstanceOf(RateLimited);
    expect((over as RateLimited).retryAfter).toBe(1);
    expect((over as Error).message).toMatch(/typing notices too fast: at most 120 a minute\. Try again in 1 s\./);
    expect(log.events('rate_limited').at(-1)).toMatchObject({ action: 'typing', user: erin.name });
    advance(0.5); // one token back (2 a second)
    await expect(typing(deps, erin.conn, { action: 'typing', room: room('general') })).resolves.toBeDefined();
  });

  it('is not forwarded at all in a room of more than TYPING_MAX_MEMBERS members', async () => {
    const people = await Promise.all([1, 2, 3, 4].map(() => person('big')));
    const big = await channel('ty-big', ...people);
    const small = await channel('ty-small', ...people.slice(0, 3));
    const capped = { ...deps, settings: { ...deps.settings, typingMaxMembers: 3 } };

    expect(await typing(capped, people[0]!.conn, { action: 'typing', room: room(big) })).toEqual({});
    expect((await typing(capped, people[0]!.conn, { action: 'typing', room: room(small) })).broadcasts).toHaveLength(1);
  });
});

describe('read', () => {
  it('moves forward only, tells my other devices, and is one statement', async () => {
    const alice = await person('rd');
    const alicePhone = await connect(alice.id);
    const bob = await person('rd');
    const ops = await channel('rd-ops', alice, bob);
    const m1 = await say(bob, ops, 'one');
    const m2 = await say(bob, ops, 'two');

    const first = await counted(() => markRoomRead(deps, alice.conn, { action: 'read', room: room(ops), through: m2 }));

    expect(first.statements).toHaveLength(1);
    expect(first.result.reply).toEqual({ type: 'read', room: ops, through: m2 });
    expect(first.result.broadcasts).toEqual([{ to: [alicePhone], frame: { type: 'read', room: ops, through: m2 } }]);

    // backwards: nothing moves, the reply says where the mark stands, nobody else hears
    const back = await markRoomRead(deps, alicePhone, { action: 'read', room: room(ops), through: m1 });
    expect(back).toEqual({ reply: { type: 'read', room: ops, through: m2 }, broadcasts: [] });
    const [mark] = await sql<{ through: string }[]>`select through::text from read_marks where user_id = ${alice.id} and room_id = ${ops}`;
    expect(mark!.through).toBe(m2);
  });

  it('refuses a room I am not in, a message of another room, an id past the room’s last', async () => {
    const alice = await person('rd');
    const bob = await person('rd');
    const secret = await channel('rd-secret', bob);
    const mine = await channel('rd-mine', alice, bob);
    const inSecret = await say(bob, secret, 'secret');
    const inMine = await say(bob, mine, 'mine');
    const later = await say(bob, secret, 'later, so the other room’s id is below this room’s last');
    void later;

    await expect(markRoomRead(deps, alice.conn, { action: 'read', room: room(secret), through: inSecret })).rejects.toBeInstanceOf(Forbidden);
    await expect(markRoomRead(deps, bob.conn, { action: 'read', room: room(mine), through: inSecret })).rejects.toThrow(
      new NotFound(`There is no message ${inSecret} in #rd-mine.`),
    );
    const beyond = String(BigInt(inMine) + 1000n);
    await expect(markRoomRead(deps, bob.conn, { action: 'read', room: room(mine), through: beyond })).rejects.toBeInstanceOf(NotFound);
    expect(await sql`select 1 from read_marks where user_id = ${alice.id} and room_id = ${secret}`).toHaveLength(0);
    expect(await sql`select 1 from read_marks where user_id = ${bob.id} and room_id = ${mine}`).toHaveLength(0);
  });

  it('accepts the id of a purged message up to the room’s last', async () => {
    const alice = await person('rd');
    const bob = await person('rd');
    const ops = await channel('rd-purged', alice, bob);
    const gone = await say(bob, ops, 'soon gone');
    await sql`delete from messages where id = ${gone}`;

    expect((await markRoomRead(deps, alice.conn, { action: 'read', room: room(ops), through: gone })).reply).toEqual({
      type: 'read',
      room: ops,
      through: gone,
    });
  });

  it('in a DM tells the other person (`seen`) only while both have receipts on', async () => {
    const alice = await person('rd');
    const bob = await person('rd');
    const bobPhone = await connect(bob.id);
    const room1 = await dm(alice, bob);
    const a = await say(bob, room1, 'hi');
    const b = await say(bob, room1, 'there');
    const c = await say(bob, room1, 'again');

    const both = await markRoomRead(deps, alice.conn, { action: 'read', room: room(room1), through: a });
    expect(both.broadcasts).toEqual([{ to: expect.arrayContaining([bob.conn, bobPhone]), frame: { type: 'seen', room: room1, from: alice.name, through: a } }]);

    // bob turns receipts off: alice's reads are no longer shown to him
    expect((await changeSettings(deps, bob.conn, { action: 'settings', readReceipts: false })).reply).toEqual({ type: 'settings', readReceipts: false, notify: 'mentions', notifyQuote: false, pushText: false });
    expect((await markRoomRead(deps, alice.conn, { action: 'read', room: room(room1), through: b })).broadcasts).toEqual([]);
    // and alice's turn: off hides hers, whatever bob's setting
    await changeSettings(deps, bob.conn, { action: 'settings', readReceipts: true });
    await changeSettings(deps, alice.conn, { action: 'settings', readReceipts: false });
    expect((await markRoomRead(deps, alice.conn, { action: 'read', room: room(room1), through: c })).broadcasts).toEqual([]);
  });

  it('is limited per user', async () => {
    const alice = await person('rd');
    const tight = { ...deps, settings: { ...deps.settings, readMarkBurst: 2, readMarksPerMinute: 60 } };
    const m = await say(alice, 'general', 'x');
    await markRoomRead(tight, alice.conn, { action: 'read', room: room('general'), through: m });
    await markRoomRead(tight, alice.conn, { action: 'read', room: room('general'), through: m });
    await expect(markRoomRead(tight, alice.conn, { action: 'read', room: room('general'), through: m })).rejects.toBeInstanceOf(RateLimited);
  });
});

describe('read state in the room list', () => {
  it('counts unread messages by others after the mark, not deleted ones, and mentions of me', async () => {
    const alice = await person('ls');
    const bob = await person('ls');
    const ops = await channel('ls-ops', alice, bob);
    const mine = await say(alice, ops, 'my own: never unread');
    const plain = await say(bob, ops, 'plain');
    const named = await say(bob, ops, 'to alice');
    const here = await say(bob, ops, '@here');
    const deleted = await say(bob, ops, 'deleted');
    // The mention columns and tombstones are written by the send and delete paths
    // (migration 009); set here as those paths store them.
    await sql`update messages set mentioned_user_ids = array[${alice.id}::bigint] where id = ${named}`;
    await sql`update messages set mentions_here = true where id = ${here}`;
    await sql`update messages set deleted_at = now(), body = '' where id = ${deleted}`;
    void mine;

    const rooms = await listUserRooms(sql, alice.id, alice.name);
    expect(rooms.find((r) => r.id === ops)).toEqual({
      id: ops,
      kind: 'channel',
      name: ops,
      // a deleted message is no longer the room's last (conversations.ts)
      lastMessageId: here,
      readThrough: null,
      unread: 3,
      mentions: 2,
    });

    await markRoomRead(deps, alice.conn, { action: 'read', room: room(ops), through: named });
    expect((await listUserRooms(sql, alice.id, alice.name)).find((r) => r.id === ops)).toMatchObject({ readThrough: named, unread: 1, mentions: 1 });
    expect(plain < named).toBe(true);
  });

  it('caps the count at 999, reading no more of the index than that', async () => {
    const alice = await person('ls');
    const bob = await person('ls');
    const busy = await channel('ls-busy', alice, bob);
    await sql`
      with ids as (select nextval('message_ids') as id from generate_series(1, ${UNREAD_CAP + 200}))
      insert into messages (id, room_id, sender_id, client_id, body, mentioned_user_ids)
      select id, ${busy}, ${bob.id}, 'bulk-' || id, 'bulk', case when id % 100 = 0 then array[${alice.id}::bigint] else '{}' end from ids`;
    await sql`update rooms set last_message_id = (select max(id) from messages where room_id = ${busy}) where id = ${busy}`;

    const listed = (await listUserRooms(sql, alice.id, alice.name)).find((r) => r.id === busy)!;

    expect(listed.unread).toBe(UNREAD_CAP);
    expect(listed.mentions).toBeGreaterThanOrEqual(9);
    expect(listed.mentions).toBeLessThanOrEqual(11);
    const [plan] = await sql<{ 'QUERY PLAN': unknown }[]>`
      explain (format json) select count(*) from (
        select 1 from messages x where x.room_id = ${busy} and x.id > 0 and x.sender_id <> ${alice.id} and x.deleted_at is null
        order by x.id desc limit ${UNREAD_CAP}) t`;
    expect(JSON.stringify(plan)).toMatch(/messages_room_id/);
  });

  it('costs a member of 500 rooms less than the planner’s JIT threshold, so logging in is not slowed by compiling', async () => {
    // Each room's count is costed from the table's statistics, not from what is
    // unread: without a tight range on the ids the planner guesses a third of a
    // room's messages per room and, past jit_above_cost, compiles the statement
    // (measured: 700 ms instead of 20 for 500 rooms of 2,000 messages).
    const alice = await person('jit');
    const bob = await person('jit');
    const rooms = Array.from({ length: 500 }, (_, i) => `jit-${i}`);
    await sql`insert into rooms (id, kind) select unnest(${rooms}::text[]), 'channel'`;
    await sql`insert into memberships (room_id, user_id) select unnest(${rooms}::text[]), ${alice.id}::bigint`;
    await sql`
      insert into messages (room_id, sender_id, client_id, body)
      select 'jit-' || (g % 500), ${bob.id}, 'jit-' || g, 'hello' from generate_series(1, 100000) g`;
    await sql`update rooms r set last_message_id = (select max(id) from messages where room_id = r.id) where r.id like 'jit-%'`;
    await sql`analyze`;

    statements.length = 0;
    const listed = await listUserRooms(sql, alice.id, alice.name);
    const [query] = statements;
    const [plan] = await sql.unsafe<{ 'QUERY PLAN': [{ Plan: { 'Total Cost': number } }] }[]>(
      `explain (format json) ${query}`,
      lastParameters as never[],
    );
    const [threshold] = await sql<{ cost: number }[]>`select current_setting('jit_above_cost')::float8 as cost`;

    expect(listed.filter((r) => r.id.startsWith('jit-')).every((r) => r.unread === 200)).toBe(true);
    expect(plan!['QUERY PLAN'][0].Plan['Total Cost']).toBeLessThan(threshold!.cost);
  });

  it('shows the other person’s mark in a DM (seenThrough) only while both have receipts on', async () => {
    const alice = await person('ls');
    const bob = await person('ls');
    const room1 = await dm(alice, bob);
    const m = await say(alice, room1, 'read me');
    await markRoomRead(deps, bob.conn, { action: 'read', room: room(room1), through: m });

    const seen = async () => (await listUserRooms(sql, alice.id, alice.name)).find((r) => r.id === room1)!;
    expect(await seen()).toEqual({ id: room1, kind: 'dm', name: bob.name, lastMessageId: m, readThrough: null, unread: 0, mentions: 0, seenThrough: m });
    await changeSettings(deps, bob.conn, { action: 'settings', readReceipts: false });
    expect((await seen()).seenThrough).toBeNull();
    await changeSettings(deps, bob.conn, { action: 'settings', readReceipts: true });
    await changeSettings(deps, alice.conn, { action: 'settings', readReceipts: false });
    expect((await seen()).seenThrough).toBeNull();
    // channels have no seenThrough at all
    expect((await listUserRooms(sql, alice.id, alice.name)).find((r) => r.id === 'general')).not.toHaveProperty('seenThrough');
  });

  it('starts a new channel member’s mark at the latest message, and `joined` carries the state', async () => {
    const alice = await person('ls');
    const bob = await person('ls');
    const old = await channel('ls-history', bob);
    const before = await say(bob, old, 'before alice came');

    const joined = await joinRoom(deps, alice.conn, { action: 'join', room: room(old) });

    expect(joined.reply!.room).toEqual({ id: old, kind: 'channel', name: old, lastMessageId: before, readThrough: before, unread: 0, mentions: 0 });
    const after = await say(bob, old, 'after');
    expect((await joinRoom(deps, alice.conn, { action: 'join', room: room(old) })).reply!.room).toMatchObject({ readThrough: before, unread: 1, lastMessageId: after });
  });
});

describe('settings', () => {
  it('answers the settings, tells my other devices of a change, and only of a change', async () => {
    const alice = await person('st');
    const phone = await connect(alice.id);

    expect(await changeSettings(deps, alice.conn, { action: 'settings' })).toEqual({ reply: { type: 'settings', readReceipts: true, notify: 'mentions', notifyQuote: false, pushText: false }, broadcasts: [] });
    expect(await changeSettings(deps, alice.conn, { action: 'settings', readReceipts: false })).toEqual({
      reply: { type: 'settings', readReceipts: false, notify: 'mentions', notifyQuote: false, pushText: false },
      broadcasts: [{ to: [phone], frame: { type: 'settings', readReceipts: false, notify: 'mentions', notifyQuote: false, pushText: false } }],
    });
    // *(E25)* pushText the same way, independent of readReceipts
    expect(await changeSettings(deps, alice.conn, { action: 'settings', pushText: true })).toEqual({
      reply: { type: 'settings', readReceipts: false, notify: 'mentions', notifyQuote: false, pushText: true },
      broadcasts: [{ to: [phone], frame: { type: 'settings', readReceipts: false, notify: 'mentions', notifyQuote: false, pushText: true } }],
    });
    expect((await changeSettings(deps, alice.conn, { action: 'settings', readReceipts: false })).broadcasts).toEqual([]);
    const [row] = await sql<{ read_receipts: boolean }[]>`select read_receipts from users where id = ${alice.id}`;
    expect(row!.read_receipts).toBe(false);
  });
});

describe('through the $default handler', () => {
  beforeAll(() => installDeps(deps));

  it('validates each frame (bad_request) and changes nothing', async () => {
    const alice = await person('hd');
    const frames = [
      [{ action: 'settings', id: 's1', readReceipts: 'yes' }, 'readReceipts must be true or false.'],
      [{ action: 'settings', id: 's2', readReceipts: null }, 'readReceipts must be true or false.'],
      [{ action: 'read', id: 'r1', room: 'general' }, 'through is required.'],
      [{ action: 'read', id: 'r2', room: 'general', through: 12 }, 'through must be a message id string.'],
      [{ action: 'read', id: 'r3', room: 'general', through: '0' }, 'through must be a message id.'],
      [{ action: 'typing', id: 't1', room: 'Not a room!' }, 'A room is a channel name of 1 to 32 characters of a-z, 0-9, _ and -, or dm:user1:user2.'],
      [{ action: 'typing', id: 't2' }, 'room is required.'],
    ] as const;
    for (const [frame, message] of frames) {
      gateway.clear();
      await onDefault(messageEvent(alice.conn, frame));
      expect(gateway.framesTo(alice.conn)).toEqual([{ type: 'error', code: 'bad_request', message, re: frame.id }]);
    }
    const [row] = await sql<{ read_receipts: boolean }[]>`select read_receipts from users where id = ${alice.id}`;
    expect(row!.read_receipts).toBe(true);
    expect(await sql`select 1 from read_marks where user_id = ${alice.id}`).toHaveLength(0);
  });

  it('posts typing to the others only, with no reply to the typist', async () => {
    const alice = await person('hd');
    const bob = await person('hd');
    const ops = await channel('hd-ops', alice, bob);

    await onDefault(messageEvent(alice.conn, { action: 'typing', id: 't', room: ops }));

    expect(gateway.framesTo(alice.conn)).toEqual([]);
    expect(gateway.framesTo(bob.conn)).toEqual([{ type: 'typing', room: ops, from: alice.name }]);
  });

  it('answers read with re, and the other devices without', async () => {
    const alice = await person('hd');
    const phone = await connect(alice.id);
    const m = await say(alice, 'general', 'x');

    await onDefault(messageEvent(alice.conn, { action: 'read', id: 'rd', room: 'general', through: m }));

    expect(gateway.framesTo(alice.conn)).toEqual([{ type: 'read', room: 'general', through: m, re: 'rd' }]);
    expect(gateway.framesTo(phone)).toEqual([{ type: 'read', room: 'general', through: m }]);
  });
});
