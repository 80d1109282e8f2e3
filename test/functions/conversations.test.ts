// The conversation actions through the $default handler as API Gateway calls it:
// each success with its reply and its `changed` fan-out, and each error with its
// code and sentence, after which nothing in the database has changed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onDefault } from '../../functions/default.js';
import { handler as onJoin } from '../../functions/join.js';
import { handler as onSend } from '../../functions/send.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import type { ChatSettings, Deps, Frame } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectEvent, messageEvent } from '../helpers/events.js';
import { RecordingGateway, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let deps: Deps;
const gateway = new RecordingGateway();
const mailer = new RecordingMailer();

beforeAll(async () => {
  db = await createTestDatabase();
  deps = {
    sql: db.sql,
    gateway,
    mailer,
    clock: { now: () => new Date() },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    settings: loadConfig({ ...TEST_ENV, MESSAGE_BURST: '1000', USER_MESSAGE_BURST: '1000' }).settings,
  };
  installDeps(deps);
});
afterAll(async () => {
  installDeps(undefined);
  await db?.close();
});
beforeEach(() => gateway.clear());

let n = 0;
interface User {
  cid: string;
  name: string;
}
async function user(): Promise<User> {
  const name = `cv${++n}_${process.pid % 1000}`;
  const cid = `conn-${name}`;
  await onConnect(connectEvent(cid));
  await onAuth(messageEvent(cid, { action: 'auth', op: 'register', username: name, email: `${name}@example.com`, password: 'long enough pw' }));
  const code = await mailer.codeFor(`${name}@example.com`);
  await onAuth(messageEvent(cid, { action: 'auth', op: 'verify', username: name, code, id: 'v' }));
  return { cid, name };
}

/** Sends a frame through $default (or its own route) and returns the reply to it. */
async function call(u: User, frame: Record<string, unknown>): Promise<Frame> {
  const id = `q${++n}`;
  const event = messageEvent(u.cid, { ...frame, id });
  if (frame.action === 'send') await onSend(event);
  else if (frame.action === 'join') await onJoin(event);
  else await onDefault(event);
  const reply = gateway.framesTo(u.cid).find((f) => f.re === id);
  if (!reply) throw new Error(`no reply to ${JSON.stringify(frame)}`);
  return reply;
}

let rooms = 0;
async function roomWith(...users: User[]): Promise<string> {
  const room = `hc-${process.pid % 1000}-${++rooms}`;
  for (const u of users) expect((await call(u, { action: 'join', room })).type).toBe('joined');
  return room;
}

async function say(u: User, room: string, text: string, extra: Record<string, unknown> = {}): Promise<Message> {
  const sent = await call(u, { action: 'send', room, text, clientId: `c${++n}`, ...extra });
  expect(sent.type).toBe('sent');
  return sent.message as Message;
}

/** Everything an action could change: the message rows, reactions, seqs and budgets but the caller's. */
async function state(room: string) {
  const [messages, reactions, seq] = await Promise.all([
    db.sql`select id, body, seq, edited_at, deleted_at, mentioned_user_ids, mentions_here from messages where room_id = ${room} order by id`,
    db.sql`select r.* from reactions r join messages m on m.id = r.message_id where m.room_id = ${room} order by r.created_at`,
    db.sql`select last_seq, prev_seq from rooms where id = ${room}`,
  ]);
  return { messages, reactions, seq };
}

async function withSettings<T>(settings: Partial<ChatSettings>, run: () => Promise<T>): Promise<T> {
  installDeps({ ...deps, settings: { ...deps.settings, ...settings } });
  try {
    return await run();
  } finally {
    installDeps(deps);
  }
}

/** Asserts an error reply, and that the room is as it was. */
async function refused(room: string, attempt: () => Promise<Frame>, code: string, message: string | RegExp): Promise<Frame> {
  const before = await state(room);
  const posts = gateway.posts.length;
  const reply = await attempt();
  expect(reply).toMatchObject({ type: 'error', code, message: typeof message === 'string' ? message : expect.stringMatching(message) });
  expect(await state(room)).toEqual(before);
  expect(gateway.posts.length).toBe(posts + 1); // the error alone, no fan-out
  return reply;
}

describe('edit', () => {
  it('changes the text, marks it edited, answers the caller first, then tells every connection in the room', async () => {
    const [a, b] = [await user(), await user()];
    const room = await roomWith(a, b);
    const m = await say(a, room, 'helo');
    gateway.clear();
    const reply = await call(a, { action: 'edit', room, message: m.id, text: '  hello  ' });
    expect(reply).toMatchObject({ type: 'edited', message: { id: m.id, text: 'hello', from: a.name, clientId: m.clientId, at: m.at } });
    const edited = reply.message as Message;
    expect(Date.parse(edited.editedAt!)).toBeGreaterThanOrEqual(Date.parse(m.at));
    expect(BigInt(edited.seq!)).toBeGreaterThan(BigInt(m.seq!));
    expect(gateway.posts[0]).toMatchObject({ to: a.cid, frame: { type: 'edited' } });
    const event = { type: 'changed', room, seq: edited.seq, prevSeq: m.seq, message: edited };
    expect(gateway.framesTo(a.cid).slice(1)).toEqual([event]);
    expect(gateway.framesTo(b.cid)).toEqual([event]);
    const [row] = await db.sql`select body from messages where id = ${m.id}`;
    expect(row!.body).toBe('hello');
  });

  it('refuses someone else’s message, a missing one, one of another room, a deleted one, and bad text; nothing changes', async () => {
    const [a, b, c] = [await user(), await user(), await user()];
    const room = await roomWith(a, b);
    const other = await roomWith(a, c);
    const mine = await say(a, room, 'mine');
    const elsewhere = await say(a, other, 'elsewhere');
    const gone = await say(a, room, 'gone');
    await call(a, { action: 'delete', room, message: gone.id });
    await refused(room, () => call(b, { action: 'edit', room, message: mine.id, text: 'hijacked' }), 'forbidden', 'You can only edit your own messages.');
    await refused(room, () => call(a, { action: 'edit', room, message: '999999999', text: 'x' }), 'not_found', 'That message does not exist, or you are not in its room.');
    await refused(room, () => call(a, { action: 'edit', room, message: elsewhere.id, text: 'x' }), 'not_found', /does not exist/);
    await refused(other, () => call(b, { action: 'edit', room: other, message: elsewhere.id, text: 'x' }), 'not_found', /does not exist/);
    await refused(room, () => call(a, { action: 'edit', room, message: gone.id, text: 'back' }), 'not_found', 'That message has been deleted.');
    await refused(room, () => call(a, { action: 'edit', room, message: mine.id, text: 'x'.repeat(4001) }), 'bad_request', 'A message is at most 4000 characters.');
    await refused(room, () => call(a, { action: 'edit', room, message: mine.id, text: '\u200b\u200b ' }), 'bad_request', /visible character/);
    await refused(room, () => call(a, { action: 'edit', room, message: mine.id }), 'bad_request', 'text is required.');
    await refused(room, () => call(a, { action: 'edit', room, text: 'x' }), 'bad_request', 'message is required.');
    await refused(room, () => call(a, { action: 'edit', room, message: '01', text: 'x' }), 'bad_request', 'message must be a message id.');
    await withSettings({ profanityFilter: 'reject' }, () =>
      refused(room, () => call(a, { action: 'edit', room, message: mine.id, text: 'fuck this' }), 'bad_request', 'That message contains words this server does not allow.'),
    );
  });

  it('masks words under the profanity filter, and reads the mentions again', async () => {
    const [a, b] = [await user(), await user()];
    const room = await roomWith(a, b);
    const m = await say(a, room, `hi @${b.name}`);
    expect(m.mentions).toEqual([b.name]);
    const reply = await call(a, { action: 'edit', room, message: m.id, text: 'well shit' });
    expect((reply.message as Message).text).toBe('well ****');
    expect((reply.message as Message).mentions).toBeUndefined();
  });

  it('refuses over its budget with rate_limited and the wait', async () => {
    const a = await user();
    const room = await roomWith(a);
    const m = await say(a, room, 'x');
    await withSettings({ editsPerMinute: 2 }, async () => {
      expect((await call(a, { action: 'edit', room, message: m.id, text: 'y' })).type).toBe('edited');
      expect((await call(a, { action: 'edit', room, message: m.id, text: 'z' })).type).toBe('edited');
      const r = await refused(room, () => call(a, { action: 'edit', room, message: m.id, text: 'w' }), 'rate_limited', /editing messages too fast: at most 2 a minute\. Try again in \d+ s\./);
      expect(r.retryAfter).toBeGreaterThan(0);
    });
  });

  it('needs a login', async () => {
    await onConnect(connectEvent('c-anon-edit'));
    await onDefault(messageEvent('c-anon-edit', { action: 'edit', id: 'e', room: 'general', message: '1', text: 'x' }));
    expect(gateway.framesTo('c-anon-edit')).toEqual([{ type: 'error', re: 'e', code: 'unauthorized', message: 'Log in first.' }]);
  });
});

describe('delete', () => {
  it('leaves a tombstone with its body, mentions and reactions erased, and answers a repeat the same', async () => {
    const [a, b] = [await user(), await user()];
    const room = await roomWith(a, b);
    const m = await say(a, room, `secret for @${b.name}`);
    await call(b, { action: 'react', room, message: m.id, emoji: '👀' });
    gateway.clear();
    const reply = await call(a, { action: 'delete', room, message: m.id });
    expect(reply).toEqual({ type: 'deleted_message', room, message: m.id, seq: expect.stringMatching(/^\d+$/), re: expect.any(String) });
    const tombstone = { id: m.id, room, from: a.name, text: '', at: m.at, clientId: m.clientId, seq: reply.seq, deleted: true };
    expect(gateway.framesTo(b.cid)).toEqual([{ type: 'changed', room, seq: reply.seq, prevSeq: expect.any(String), message: tombstone }]);
    const [row] = await db.sql`select body, deleted_at, mentioned_user_ids, mentions_here from messages where id = ${m.id}`;
    expect(row).toMatchObject({ body: '', deleted_at: expect.any(Date), mentioned_user_ids: [], mentions_here: false });
    expect(await db.sql`select 1 from reactions where message_id = ${m.id}`).toHaveLength(0);

    gateway.clear();
    const again = await call(a, { action: 'delete', room, message: m.id });
    expect(again).toMatchObject({ type: 'deleted_message', room, message: m.id, seq: reply.seq });
    expect(gateway.framesTo(b.cid)).toEqual([]);
  });

  it('refuses someone else’s message and a missing one; nothing changes', async () => {
    const [a, b] = [await user(), await user()];
    const room = await roomWith(a, b);
    const m = await say(a, room, 'stays');
    await refused(room, () => call(b, { action: 'delete', room, message: m.id }), 'forbidden', 'You can only delete your own messages.');
    await refused(room, () => call(b, { action: 'delete', room, message: '888888888' }), 'not_found', /does not exist/);
    await withSettings({ deletesPerMinute: 1 }, async () => {
      const x = await say(a, room, 'x');
      expect((await call(a, { action: 'delete', room, message: x.id })).type).toBe('deleted_message');
      await refused(room, () => call(a, { action: 'delete', room, message: m.id }), 'rate_limited', /deleting messages too fast/);
    });
  });
});

describe('react', () => {
  it('adds and removes reactions, normalised, and answers an unchanged one without a fan-out', async () => {
    const [a, b] = [await user(), await user()];
    const room = await roomWith(a, b);
    const m = await say(a, room, 'react to me');
    gateway.clear();
    const heart = await call(b, { action: 'react', room, message: m.id, emoji: '❤', on: true });
    expect(heart).toMatchObject({ type: 'reacted', message: { id: m.id, reactions: [{ emoji: '❤️', count: 1, users: [b.name] }] } });
    expect(gateway.framesTo(a.cid)).toEqual([{ type: 'changed', room, seq: (heart.message as Message).seq, prevSeq: m.seq, message: heart.message }]);
    gateway.clear();
    const same = await call(b, { action: 'react', room, message: m.id, emoji: '❤️' });
    expect(same).toMatchObject({ type: 'reacted', message: heart.message });
    expect(gateway.framesTo(a.cid)).toEqual([]);
    const off = await call(b, { action: 'react', room, message: m.id, emoji: '❤️', on: false });
    expect((off.message as Message).reactions).toBeUndefined();
    const offAgain = await call(b, { action: 'react', room, message: m.id, emoji: '❤️', on: false });
    expect(offAgain).toMatchObject({ type: 'reacted', message: off.message });
  });

  it('refuses what is not one emoji', async () => {
    const a = await user();
    const room = await roomWith(a);
    const m = await say(a, room, 'x');
    for (const emoji of ['ok', '', ' ', 'a', '1', '👍👍', '👍 ', '🇦', '\u200d', '<b>', '\u{E0067}']) {
      await refused(room, () => call(a, { action: 'react', room, message: m.id, emoji }), 'bad_request', 'That is not an emoji.');
    }
    await refused(room, () => call(a, { action: 'react', room, message: m.id, emoji: 5 }), 'bad_request', 'emoji must be a string.');
    await refused(room, () => call(a, { action: 'react', room, message: m.id, emoji: '👩🏻‍❤️‍💋‍👨🏼' }), 'bad_request', 'A reaction is at most 32 bytes; that emoji takes 35.');
    await refused(room, () => call(a, { action: 'react', room, message: m.id, emoji: '👍', on: 'yes' }), 'bad_request', 'on must be true or false.');
  });

  it('holds a message to 20 different emoji', async () => {
    const [a, b] = [await user(), await user()];
    const room = await roomWith(a, b);
    const m = await say(a, room, 'popular');
    const emoji = [...'😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚'];
    expect(emoji).toHaveLength(20);
    await withSettings({ reactionsPerMinute: 100 }, async () => {
      for (const e of emoji) expect((await call(a, { action: 'react', room, message: m.id, emoji: e })).type).toBe('reacted');
      await refused(room, () => call(b, { action: 'react', room, message: m.id, emoji: '🤯' }), 'bad_request', /at most 20 different emoji/);
      // one already there is fine
      expect((await call(b, { action: 'react', room, message: m.id, emoji: '😀' })).message).toMatchObject({
        reactions: expect.arrayContaining([{ emoji: '😀', count: 2, users: [a.name, b.name] }]),
      });
    });
  });

  it('refuses a deleted message, a stranger, and a flood', async () => {
    const [a, b, c] = [await user(), await user(), await user()];
    const room = await roomWith(a, b);
    const m = await say(a, room, 'soon gone');
    await refused(room, () => call(c, { action: 'react', room, message: m.id, emoji: '👍' }), 'not_found', /does not exist/);
    await call(a, { action: 'delete', room, message: m.id });
    await refused(room, () => call(b, { action: 'react', room, message: m.id, emoji: '👍' }), 'not_found', 'That message has been deleted.');
    const live = await say(a, room, 'here');
    await withSettings({ reactionsPerMinute: 3 }, async () => {
      for (const on of [true, false, true]) expect((await call(b, { action: 'react', room, message: live.id, emoji: '👍', on })).type).toBe('reacted');
      await refused(room, () => call(b, { action: 'react', room, message: live.id, emoji: '👍', on: false }), 'rate_limited', /reacting too fast: at most 3 reactions a minute/);
    });
  });
});

describe('send with replyTo and mentions', () => {
  it('refuses a reply to a message of another room or a missing one, storing nothing', async () => {
    const [a, b] = [await user(), await user()];
    const room = await roomWith(a, b);
    const other = await roomWith(a);
    const there = await say(a, other, 'there');
    const sentence = 'The message you are replying to is not in this room, or has been deleted.';
    await refused(room, () => call(b, { action: 'send', room, text: 'hm', clientId: 'r1', replyTo: there.id }), 'not_found', sentence);
    await refused(room, () => call(b, { action: 'send', room, text: 'hm', clientId: 'r2', replyTo: '777777777' }), 'not_found', sentence);
    await refused(room, () => call(b, { action: 'send', room, text: 'hm', clientId: 'r3', replyTo: 'x' }), 'bad_request', 'replyTo must be a message id.');
  });

  it('stores at most 50 mentions of members, in the order of the text, and sends the rest as text', async () => {
    const members = [];
    for (let i = 0; i < 55; i++) members.push(await user());
    const [a] = members;
    const room = await roomWith(...members);
    const text = members.map((u) => `@${u.name}`).join(' ') + ' @nobody_at_all';
    const m = await say(a!, room, text);
    expect(m.text).toBe(text);
    expect(m.mentions).toEqual(members.slice(0, 50).map((u) => u.name));
    const [row] = await db.sql`select cardinality(mentioned_user_ids) as n from messages where id = ${m.id}`;
    expect(row!.n).toBe(50);
  });

  it('lets @here count only within its budget: over it, the message goes without', async () => {
    const a = await user();
    const room = await roomWith(a);
    await withSettings({ hereMentionsPerHour: 1 }, async () => {
      expect((await say(a, room, '@here first')).mentionsHere).toBe(true);
      const second = await say(a, room, '@here second');
      expect(second.mentionsHere).toBeUndefined();
      expect(second.text).toBe('@here second');
    });
  });
});

describe('changes', () => {
  it('refuses a room one is not in, and bad cursors and limits', async () => {
    const [a, b] = [await user(), await user()];
    const room = await roomWith(a);
    expect(await call(b, { action: 'changes', room })).toMatchObject({ type: 'error', code: 'forbidden', message: `You are not a member of #${room}.` });
    expect(await call(a, { action: 'changes', room, after: '-1' })).toMatchObject({ type: 'error', code: 'bad_request', message: 'after must be a seq.' });
    expect(await call(a, { action: 'changes', room, limit: 201 })).toMatchObject({ type: 'error', code: 'bad_request', message: 'limit is 1 to 200.' });
  });
});
