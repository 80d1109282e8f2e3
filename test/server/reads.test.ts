// Read state and typing over real sockets: two people, each on two devices.
// Reading on one device clears the badge on the other at once; in a DM the other
// person sees how far one has read, unless either turned receipts off; a new
// connection's `authed` carries the right counts; typing reaches the others at
// most once per 3 s and never in a big room.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Frame } from '../../functions/core/ports.js';
import type { RoomInfo } from '../../functions/core/protocol.js';
import { resumeAs, signUp, type TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  // Rooms of more than 3 members get no typing: `general` holds everyone here.
  t = await startTestServer({ TYPING_MAX_MEMBERS: '3' });
});
afterAll(() => t?.close());

interface Twin {
  name: string;
  token: string;
  laptop: TestClient;
  phone: TestClient;
}

/** A person signed in on two devices. */
async function twoDevices(): Promise<Twin> {
  const laptop = await signUp(t);
  const phone = await resumeAs(t, laptop.token!);
  return { name: laptop.username, token: laptop.token!, laptop, phone };
}

const closeAll = (...people: Twin[]) => Promise.all(people.flatMap((p) => [p.laptop.close(), p.phone.close()]));

async function say(c: TestClient, room: string, text: string): Promise<string> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return (sent.message as { id: string }).id;
}

/** The ROOM of `room` in a fresh connection's `authed` (a reload). */
async function afterReload(p: Twin, room: string): Promise<RoomInfo> {
  const fresh = await resumeAs(t, p.token);
  const authed = fresh.frames.find((f) => f.type === 'authed')!;
  await fresh.close();
  return (authed.rooms as RoomInfo[]).find((r) => r.id === room)!;
}

const isTyping = (room: string) => (f: Frame) => f.type === 'typing' && f.room === room;

describe('read', () => {
  it('on one device clears the badge on the other at once', async () => {
    const [alice, bob] = await Promise.all([twoDevices(), twoDevices()]);
    const room = `reads-${Date.now() % 100000}`;
    for (const c of [alice.laptop, bob.laptop]) expect((await c.request({ action: 'join', room })).type).toBe('joined');
    const m1 = await say(bob.laptop, room, 'one');
    const m2 = await say(bob.phone, room, 'two');
    expect(await afterReload(alice, room)).toMatchObject({ readThrough: null, unread: 2, mentions: 0 });

    const reply = await alice.laptop.request({ action: 'read', room, through: m2 });

    expect(reply).toEqual({ type: 'read', room, through: m2, re: expect.any(String) });
    expect(await alice.phone.next((f) => f.type === 'read')).toEqual({ type: 'read', room, through: m2 });
    // a channel tells nobody else
    expect(await bob.laptop.quiet((f) => f.type === 'read' || f.type === 'seen')).toEqual([]);
    expect(await afterReload(alice, room)).toMatchObject({ readThrough: m2, unread: 0 });
    // never backwards: an older device's stale mark changes nothing and tells nobody
    expect(await alice.phone.request({ action: 'read', room, through: m1 })).toMatchObject({ type: 'read', through: m2 });
    expect(await alice.laptop.quiet('read')).toEqual([]);
    await closeAll(alice, bob);
  });

  it('in a DM tells the other person’s devices how far one has read (`seen`)', async () => {
    const [alice, bob] = await Promise.all([twoDevices(), twoDevices()]);
    const dm = dmRoomId(alice.name, bob.name);
    const m = await say(bob.laptop, dm, 'are you there?');
    await alice.phone.next((f) => f.type === 'message' && f.message !== undefined);

    await alice.phone.request({ action: 'read', room: dm, through: m });

    const seen = { type: 'seen', room: dm, from: alice.name, through: m };
    expect(await bob.laptop.next('seen')).toEqual(seen);
    expect(await bob.phone.next('seen')).toEqual(seen);
    expect(await alice.laptop.next('read')).toEqual({ type: 'read', room: dm, through: m });
    expect(await alice.laptop.quiet('seen')).toEqual([]); // not to oneself
    expect(await afterReload(bob, dm)).toMatchObject({ kind: 'dm', seenThrough: m, unread: 0 });
    expect(await afterReload(alice, dm)).toMatchObject({ readThrough: m, seenThrough: null, unread: 0 });
    await closeAll(alice, bob);
  });

  it('with receipts off hides mine and shows me none, both ways', async () => {
    const [alice, bob] = await Promise.all([twoDevices(), twoDevices()]);
    const dm = dmRoomId(alice.name, bob.name);
    const m1 = await say(alice.laptop, dm, 'first');
    await bob.laptop.request({ action: 'read', room: dm, through: m1 });
    await alice.laptop.next('seen');
    await alice.phone.next('seen');

    // bob turns receipts off on his laptop: his phone hears of it
    expect(await bob.laptop.request({ action: 'settings', readReceipts: false })).toMatchObject({ type: 'settings', readReceipts: false });
    expect(await bob.phone.next('settings')).toEqual({ type: 'settings', readReceipts: false, notify: 'mentions', notifyQuote: false, pushText: false });
    const m2 = await say(alice.laptop, dm, 'second');
    const m3 = await say(bob.laptop, dm, 'third');

    // his reads are not shown to alice ...
    await bob.phone.request({ action: 'read', room: dm, through: m2 });
    expect(await bob.laptop.next('read')).toMatchObject({ through: m2 }); // his own devices still agree
    // ... and hers are not shown to him
    await alice.laptop.request({ action: 'read', room: dm, through: m3 });
    expect(await alice.phone.quiet('seen')).toEqual([]);
    expect(await bob.phone.quiet('seen')).toEqual([]);
    expect(await bob.laptop.quiet('seen')).toEqual([]);
    expect(await afterReload(alice, dm)).toMatchObject({ seenThrough: null });
    expect(await afterReload(bob, dm)).toMatchObject({ seenThrough: null });
    const fresh = await resumeAs(t, bob.token);
    expect(fresh.frames.find((f) => f.type === 'authed')!.user).toMatchObject({ readReceipts: false });
    await fresh.close();

    // on again: both see each other's marks once more
    await bob.laptop.request({ action: 'settings', readReceipts: true });
    expect(await afterReload(alice, dm)).toMatchObject({ seenThrough: m2 });
    const m4 = await say(alice.laptop, dm, 'fourth');
    await bob.laptop.request({ action: 'read', room: dm, through: m4 });
    expect(await alice.phone.next('seen')).toEqual({ type: 'seen', room: dm, from: bob.name, through: m4 });
    await closeAll(alice, bob);
  });

  it('unread and mention counts are right after a reload, and in `joined`', async () => {
    const [alice, bob] = await Promise.all([twoDevices(), twoDevices()]);
    const room = `counts-${Date.now() % 100000}`;
    await alice.laptop.request({ action: 'join', room });
    await bob.laptop.request({ action: 'join', room });
    await say(alice.laptop, room, 'mine do not count');
    const plain = await say(bob.laptop, room, 'plain');
    const named = await say(bob.phone, room, `@${alice.name} look`);
    await say(bob.laptop, room, 'one more');
    // The send path stores mentions (migration 009); stored here as it does.
    await t.db.sql`update messages set mentioned_user_ids = array[(select id from users where username = ${alice.name})] where id = ${named}`;

    expect(await afterReload(alice, room)).toMatchObject({ readThrough: null, unread: 3, mentions: 1 });
    expect(await afterReload(bob, room)).toMatchObject({ unread: 1, mentions: 0 });

    await alice.laptop.request({ action: 'read', room, through: plain });
    expect(await afterReload(alice, room)).toMatchObject({ readThrough: plain, unread: 2, mentions: 1 });
    await alice.laptop.request({ action: 'read', room, through: named });
    expect(await afterReload(alice, room)).toMatchObject({ readThrough: named, unread: 1, mentions: 0 });
    expect((await alice.phone.request({ action: 'join', room })).room).toMatchObject({ readThrough: named, unread: 1, mentions: 0 });
    await closeAll(alice, bob);
  });
});

describe('typing', () => {
  it('reaches the others’ devices once per 3 s, and is dropped quietly in between', async () => {
    const [alice, bob] = await Promise.all([twoDevices(), twoDevices()]);
    const room = `typing-${Date.now() % 100000}`;
    await alice.laptop.request({ action: 'join', room });
    await bob.laptop.request({ action: 'join', room });

    alice.laptop.send({ action: 'typing', id: 'ty1', room });
    const frame = { type: 'typing', room, from: alice.name };
    expect(await bob.laptop.next(isTyping(room))).toEqual(frame);
    expect(await bob.phone.next(isTyping(room))).toEqual(frame);
    const started = Date.now();

    // within the 3 s: no frame to anyone, no reply
    alice.laptop.send({ action: 'typing', id: 'ty2', room });
    alice.phone.send({ action: 'typing', id: 'ty3', room });
    expect(await bob.laptop.quiet(isTyping(room), 500)).toEqual([]);
    const anythingButPresence = (f: Frame) => f.type !== 'presence';
    expect(await alice.laptop.quiet(anythingButPresence)).toEqual([]); // no reply, and her own devices hear nothing
    expect(await alice.phone.quiet(anythingButPresence)).toEqual([]);

    await new Promise((r) => setTimeout(r, 3000 - (Date.now() - started) + 100));
    alice.phone.send({ action: 'typing', room });
    expect(await bob.laptop.next(isTyping(room))).toEqual(frame);
    await closeAll(alice, bob);
  });

  it('answers rate_limited at 100 a second', async () => {
    const [alice, bob] = await Promise.all([twoDevices(), twoDevices()]);
    const room = `flood-${Date.now() % 100000}`;
    await alice.laptop.request({ action: 'join', room });
    await bob.laptop.request({ action: 'join', room });

    const replies: Promise<Frame>[] = [];
    for (let i = 0; i < 100; i++) {
      replies.push(alice.laptop.request({ action: 'typing', room }, 1500).catch(() => ({ type: 'none' })));
      await new Promise((r) => setTimeout(r, 10));
    }
    const answered = await Promise.all(replies);

    const limited = answered.filter((f) => f.type === 'error' && f.code === 'rate_limited');
    // a burst of 6, then 2 a second over the second it took
    expect(limited.length).toBeGreaterThanOrEqual(85);
    expect(limited[0]!.message).toMatch(/typing notices too fast: at most 120 a minute/);
    expect(answered.filter((f) => f.type !== 'none' && !(f.type === 'error' && f.code === 'rate_limited'))).toEqual([]);
    expect(bob.laptop.all(isTyping(room)).length).toBe(1);
    await closeAll(alice, bob);
  });

  it('is refused to a non-member, and not forwarded in a room of more than TYPING_MAX_MEMBERS', async () => {
    const [alice, bob] = await Promise.all([twoDevices(), twoDevices()]);
    const secret = `secret-${Date.now() % 100000}`;
    await bob.laptop.request({ action: 'join', room: secret });

    expect(await alice.laptop.request({ action: 'typing', room: secret })).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: `You are not a member of #${secret}.`,
    });
    expect(await bob.laptop.quiet(isTyping(secret))).toEqual([]);

    // general holds every person of this file, more than 3: nothing is forwarded, nothing answered
    alice.laptop.send({ action: 'typing', id: 'big', room: 'general' });
    expect(await bob.laptop.quiet(isTyping('general'), 400)).toEqual([]);
    expect(await alice.laptop.quiet((f) => f.re === 'big')).toEqual([]);
    await closeAll(alice, bob);
  });
});
