// Attacks on edits, deletes, reactions, replies and mentions, over real sockets
// with the default limits: each is refused with a clear error and changes
// nothing, or is bounded (fan-out, stored mentions, reply size).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';
import { MAX_SERVER_FRAME_BYTES } from '../../functions/core/sizes.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

let rooms = 0;
const freshRoom = () => `atk-${process.pid % 1000}-${++rooms}`;

async function joined(room: string, ...clients: TestClient[]) {
  for (const c of clients) expect((await c.request({ action: 'join', room })).type).toBe('joined');
}

async function say(c: TestClient, room: string, text: string): Promise<Message> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return sent.message as Message;
}

/** The stored row of a message and the room's seq: what an attack must leave as it was. */
async function stored(id: string) {
  const [row] = await t.db.sql`
    select m.body, m.seq, m.edited_at, m.deleted_at, m.reply_to, m.mentioned_user_ids, r.last_seq,
      (select count(*)::int from reactions where message_id = m.id) as reactions
    from messages m join rooms r on r.id = m.room_id where m.id = ${id}`;
  return row;
}

const error = (code: string, message?: string | RegExp) => ({
  type: 'error',
  code,
  ...(message === undefined ? {} : { message: typeof message === 'string' ? message : expect.stringMatching(message) }),
});

describe("someone else's message", () => {
  it('cannot be edited or deleted, from any device, and nobody hears of the attempt', async () => {
    const [alice, mallory] = await Promise.all([signUp(t, newAccount('vic')), signUp(t, newAccount('mal'))]);
    const room = freshRoom();
    await joined(room, alice, mallory);
    const m = await say(alice, room, 'my words');
    const before = await stored(m.id);
    const tab = await resumeAs(t, mallory.token!);
    for (const c of [mallory, tab]) {
      expect(await c.request({ action: 'edit', room, message: m.id, text: 'your words' })).toMatchObject(error('forbidden', 'You can only edit your own messages.'));
      expect(await c.request({ action: 'delete', room, message: m.id })).toMatchObject(error('forbidden', 'You can only delete your own messages.'));
    }
    // naming another room, or none of hers, only reaches not_found
    expect(await mallory.request({ action: 'edit', room: 'general', message: m.id, text: 'x' })).toMatchObject(error('not_found'));
    expect(await stored(m.id)).toEqual(before);
    expect(await alice.quiet('changed')).toEqual([]);
    await Promise.all([alice.close(), mallory.close(), tab.close()]);
  });
});

describe('a room one has left', () => {
  it('gives nothing: not even one’s own messages there can be changed, and its feed is closed', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = freshRoom();
    await joined(room, alice, bob);
    const mine = await say(alice, room, 'said before leaving');
    const theirs = await say(bob, room, 'said by bob');
    expect((await alice.request({ action: 'leave', room })).type).toBe('left');
    const before = [await stored(mine.id), await stored(theirs.id)];
    const gone = 'That message does not exist, or you are not in its room.';
    expect(await alice.request({ action: 'edit', room, message: mine.id, text: 'rewritten' })).toMatchObject(error('not_found', gone));
    expect(await alice.request({ action: 'delete', room, message: mine.id })).toMatchObject(error('not_found', gone));
    expect(await alice.request({ action: 'react', room, message: theirs.id, emoji: '👎' })).toMatchObject(error('not_found', gone));
    expect(await alice.request({ action: 'changes', room })).toMatchObject(error('forbidden'));
    expect(await alice.request({ action: 'history', room, around: theirs.id })).toMatchObject(error('forbidden'));
    expect(await alice.request({ action: 'send', room: 'general', text: 'quoting', clientId: 'q', replyTo: theirs.id })).toMatchObject(error('not_found'));
    expect([await stored(mine.id), await stored(theirs.id)]).toEqual(before);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('cannot be probed: a message of a room one is not in reads the same as one that does not exist', async () => {
    const [alice, eve] = await Promise.all([signUp(t), signUp(t)]);
    const room = freshRoom();
    await joined(room, alice);
    const secret = await say(alice, room, 'secret');
    const real = await eve.request({ action: 'react', room, message: secret.id, emoji: '👀' });
    const fake = await eve.request({ action: 'react', room, message: String(BigInt(secret.id) + 1000n), emoji: '👀' });
    expect({ ...real, re: undefined }).toEqual({ ...fake, re: undefined });
    const replyReal = await eve.request({ action: 'send', room: 'general', text: 'x', clientId: 'p1', replyTo: secret.id });
    const replyFake = await eve.request({ action: 'send', room: 'general', text: 'x', clientId: 'p2', replyTo: String(BigInt(secret.id) + 1000n) });
    expect({ ...replyReal, re: undefined }).toEqual({ ...replyFake, re: undefined });
    await Promise.all([alice.close(), eve.close()]);
  });
});

describe('reactions', () => {
  it('refuse anything but one emoji: text, markup, several emoji, invisible and control characters', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = freshRoom();
    await joined(room, alice, bob);
    const m = await say(alice, room, 'react');
    const hostile = [
      'lol',
      '<img src=x onerror=alert(1)>',
      '👍 nice',
      '👍👍👍',
      '\u200b',
      '\u202e👍',
      '👍\u0000',
      '\u{E0041}\u{E0042}',
      '🇺',
      'A\u20E3',
      '👍'.repeat(40),
      '\uD83D',
      { toString: '👍' },
      ['👍'],
    ];
    for (const emoji of hostile) {
      const r = await bob.request({ action: 'react', room, message: m.id, emoji });
      expect(r.type).toBe('error');
      expect(r.code).toBe('bad_request');
    }
    expect((await stored(m.id))!.reactions).toBe(0);
    expect(await alice.quiet('changed')).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('stop at 20 different emoji on one message', async () => {
    const clients = await Promise.all(Array.from({ length: 3 }, () => signUp(t)));
    const [alice] = clients;
    const room = freshRoom();
    await joined(room, ...clients);
    const m = await say(alice!, room, 'target');
    const emoji = [...'🍏🍎🍐🍊🍋🍌🍉🍇🍓🫐🍈🍒🍑🥭🍍🥥🥝🍅🍆🥑'];
    for (const [i, e] of emoji.entries()) {
      expect((await clients[i % 3]!.request({ action: 'react', room, message: m.id, emoji: e })).type).toBe('reacted');
    }
    const before = await stored(m.id);
    expect(await clients[1]!.request({ action: 'react', room, message: m.id, emoji: '🥦' })).toMatchObject(
      error('bad_request', 'A message can have at most 20 different emoji; react with one that is already there.'),
    );
    expect(await stored(m.id)).toEqual(before);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('cannot flood a room: the reactions budget bounds what the others receive', async () => {
    const [mallory, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = freshRoom();
    await joined(room, mallory, bob);
    const m = await say(bob, room, 'poor message');
    const replies: Frame[] = [];
    // Toggling one reaction on and off as fast as the socket allows, in flights.
    for (let flight = 0; flight < 4; flight++) {
      replies.push(...(await Promise.all(Array.from({ length: 25 }, (_, i) => mallory.request({ action: 'react', room, message: m.id, emoji: '🤡', on: (flight * 25 + i) % 2 === 0 })))));
    }
    const accepted = replies.filter((r) => r.type === 'reacted').length;
    const limited = replies.filter((r) => r.code === 'rate_limited');
    expect(accepted).toBe(60); // REACTIONS_PER_MINUTE's default
    expect(limited).toHaveLength(40);
    expect(limited[0]).toMatchObject({ message: expect.stringMatching(/reacting too fast: at most 60 reactions a minute\. Try again in \d+ s\./), retryAfter: expect.any(Number) });
    await bob.quiet('changed', 300);
    expect(bob.all('changed').length).toBeLessThanOrEqual(60);
    await Promise.all([mallory.close(), bob.close()]);
  });

  it('keep a message under the frame limit however many people react', async () => {
    const crowd = await Promise.all(Array.from({ length: 24 }, () => signUp(t, newAccount('crowd_member_long_'))));
    const room = freshRoom();
    await joined(room, ...crowd);
    const m = await say(crowd[0]!, room, '🦊'.repeat(4000));
    const emoji = [...'🍏🍎🍐🍊🍋🍌🍉🍇🍓🫐🍈🍒🍑🥭🍍🥥🥝🍅🍆🥑'];
    let last: Frame | undefined;
    for (const c of crowd) for (const e of emoji.slice(0, 10)) last = await c.request({ action: 'react', room, message: m.id, emoji: e });
    const summary = (last!.message as Message).reactions!;
    expect(summary[0]).toMatchObject({ count: 24 });
    expect(summary[0]!.users).toHaveLength(20); // the count has them all, the names the first 20
    expect(Buffer.byteLength(JSON.stringify(last))).toBeLessThan(MAX_SERVER_FRAME_BYTES / 2);
    await Promise.all(crowd.map((c) => c.close()));
  }, 60_000);
});

describe('replies', () => {
  it("cannot quote another room's message, even one of a room the sender is in", async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const [a, b] = [freshRoom(), freshRoom()];
    await joined(a, alice, bob);
    await joined(b, alice);
    const elsewhere = await say(alice, b, 'only for room b');
    for (const c of [alice, bob]) {
      expect(await c.request({ action: 'send', room: a, text: 'look', clientId: `x-${c.username}`, replyTo: elsewhere.id })).toMatchObject(
        error('not_found', 'The message you are replying to is not in this room, or has been deleted.'),
      );
    }
    const [n] = await t.db.sql`select count(*)::int as n from messages where room_id = ${a}`;
    expect(n!.n).toBe(0);
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('edits', () => {
  it('refuse text over the limit, invisible text, control characters and mark towers; the message stays', async () => {
    const alice = await signUp(t);
    const room = freshRoom();
    await joined(room, alice);
    const m = await say(alice, room, 'original');
    const before = await stored(m.id);
    const hostile: Array<[unknown, RegExp]> = [
      ['x'.repeat(4001), /at most 4000 characters/],
      ['🦊'.repeat(4001), /at most 4000 characters/],
      ['\u200b\u200c\u200d\u2060\ufeff', /visible character/],
      ['   \n\t  ', /cannot be empty/],
      ['\u2800\u2800', /visible character/],
      ['bad\u0000byte', /cannot be stored/],
      [`Z${'\u0301'.repeat(50)}algo`, /accent marks/],
      ['\uD800 lone', /cannot be stored/],
      [42, /text must be a string/],
    ];
    for (const [text, sentence] of hostile) {
      expect(await alice.request({ action: 'edit', room, message: m.id, text })).toMatchObject(error('bad_request', sentence));
    }
    expect(await stored(m.id)).toEqual(before);
    await alice.close();
  });

  it('erase a deleted message from the database for good: no edit brings it back', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = freshRoom();
    await joined(room, alice, bob);
    const m = await say(alice, room, `regrettable @${bob.username}`);
    await bob.request({ action: 'react', room, message: m.id, emoji: '😬' });
    expect((await alice.request({ action: 'delete', room, message: m.id })).type).toBe('deleted_message');
    expect(await stored(m.id)).toMatchObject({ body: '', mentioned_user_ids: [], reactions: 0, deleted_at: expect.any(Date) });
    const [found] = await t.db.sql`select count(*)::int as n from messages where body like '%regrettable%'`;
    expect(found!.n).toBe(0);
    expect(await alice.request({ action: 'edit', room, message: m.id, text: 'back again' })).toMatchObject(error('not_found', 'That message has been deleted.'));
    const page = await bob.request({ action: 'history', room });
    expect(page.messages).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('mentions', () => {
  it('store at most 50 members however many names the text holds, and send the message', async () => {
    const alice = await signUp(t);
    const room = freshRoom();
    await joined(room, alice);
    const text = Array.from({ length: 500 }, (_, i) => `@${alice.username}${i % 2 ? '' : '.'} @user${i}`).join(' ').slice(0, 3990);
    const sent = await alice.request({ action: 'send', room, text, clientId: 'flood' });
    expect(sent.type).toBe('sent');
    expect((sent.message as Message).mentions).toEqual([alice.username]);
    const others = await Promise.all(Array.from({ length: 60 }, () => signUp(t, newAccount('m'))));
    await joined(room, ...others);
    const many = others.map((o) => `@${o.username}`).join(' ').repeat(5).slice(0, 4000);
    const flood = await alice.request({ action: 'send', room, text: many, clientId: 'flood2' });
    expect((flood.message as Message).mentions).toHaveLength(50);
    await Promise.all([alice, ...others].map((c) => c.close()));
  }, 60_000);

  it('cannot call everyone with @here beyond its budget', async () => {
    const alice = await signUp(t);
    const room = freshRoom();
    await joined(room, alice);
    const here: boolean[] = [];
    for (let i = 0; i < 12; i++) here.push(((await say(alice, room, `@here ${i}`)).mentionsHere ?? false) as boolean);
    expect(here).toEqual([...Array(10).fill(true), false, false]); // HERE_MENTIONS_PER_HOUR's default
    await alice.close();
  });
});
