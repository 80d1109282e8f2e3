// Conversations over real sockets: two people on two devices each see edits,
// deletes and reactions live, replies and mentions as the server stores them, and
// a device that was offline catches up with `changes` to exactly the server's state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';
import { MAX_SERVER_FRAME_BYTES } from '../../functions/core/sizes.js';
import { TestClient, resumeAs, signUp } from '../helpers/client.js';
import { Replica, serverState } from '../helpers/replica.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  // Budgets are tested in test/security/conversations-attacks.test.ts.
  t = await startTestServer({
    MESSAGE_BURST: '1000',
    USER_MESSAGE_BURST: '1000',
    REACTIONS_PER_MINUTE: '1000',
    EDITS_PER_MINUTE: '1000',
    DELETES_PER_MINUTE: '1000',
  });
});
afterAll(() => t?.close());

let rooms = 0;
const freshRoom = () => `conv-${process.pid % 1000}-${++rooms}`;

/** A device whose every frame also lands in a replica. */
function device(c: TestClient): { c: TestClient; replica: Replica } {
  const replica = new Replica();
  for (const f of c.frames) replica.apply(f);
  c.ws.on('message', (data) => replica.apply(JSON.parse(data.toString()) as Frame));
  return { c, replica };
}

const messageIn = (room: string, pred: (m: Message) => boolean) => (f: Frame) =>
  (f.type === 'changed' || f.type === 'message') && (f.message as Message).room === room && pred(f.message as Message);

describe('two people on two devices', () => {
  it('see edits, deletes and reactions arrive live, chained by seq, and converge with the server', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const [alice2, bob2] = await Promise.all([resumeAs(t, alice.token!), resumeAs(t, bob.token!)]);
    const room = freshRoom();
    const devices = [alice, alice2, bob, bob2].map(device);
    for (const d of devices) expect((await d.c.request({ action: 'join', room })).type).toBe('joined');

    const sent = await alice.request({ action: 'send', room, text: 'first draft\nsecond line', clientId: 'a-1' });
    const original = sent.message as Message;
    expect(original.seq).toMatch(/^\d+$/);
    const reply = await bob.request({ action: 'send', room, text: `@${alice.username} agreed`, clientId: 'b-1', replyTo: original.id });
    expect(reply.message).toMatchObject({
      replyTo: { id: original.id, from: alice.username, text: 'first draft' },
      mentions: [alice.username],
    });

    const edited = await alice.request({ action: 'edit', room, message: original.id, text: 'final text' });
    expect(edited).toMatchObject({ type: 'edited', message: { id: original.id, text: 'final text', editedAt: expect.any(String) } });
    const editSeq = (edited.message as Message).seq!;
    expect(BigInt(editSeq)).toBeGreaterThan(BigInt((reply.message as Message).seq!));

    const liked = await bob.request({ action: 'react', room, message: original.id, emoji: '👍', on: true });
    expect((liked.message as Message).reactions).toEqual([{ emoji: '👍', count: 1, users: [bob.username] }]);
    const likedToo = await alice2.request({ action: 'react', room, message: original.id, emoji: '👍' });
    expect((likedToo.message as Message).reactions).toEqual([{ emoji: '👍', count: 2, users: [bob.username, alice.username] }]);
    const heart = await alice.request({ action: 'react', room, message: original.id, emoji: '❤' });
    expect((heart.message as Message).reactions).toEqual([
      { emoji: '👍', count: 2, users: [bob.username, alice.username] },
      { emoji: '❤️', count: 1, users: [alice.username] },
    ]);
    const unliked = await bob2.request({ action: 'react', room, message: original.id, emoji: '👍', on: false });
    expect((unliked.message as Message).reactions).toEqual([
      { emoji: '👍', count: 1, users: [alice.username] },
      { emoji: '❤️', count: 1, users: [alice.username] },
    ]);

    const gone = await bob.request({ action: 'delete', room, message: (reply.message as Message).id });
    expect(gone).toMatchObject({ type: 'deleted_message', room, message: (reply.message as Message).id, seq: expect.stringMatching(/^\d+$/) });

    // Every device, the acting ones included, got each change live, in a gap-free chain.
    for (const d of devices) {
      const live: Frame[] = [];
      for (let i = 0; i < 8; i++) live.push(await d.c.next(messageIn(room, () => true)));
      expect(live.map((f) => f.type)).toEqual(['message', 'message', ...Array(6).fill('changed')]);
      expect(live[0]!.prevSeq).toBeNull();
      for (let i = 1; i < live.length; i++) expect(live[i]!.prevSeq).toBe(live[i - 1]!.seq);
      const tombstone = live.at(-1)!.message as Message;
      expect(tombstone).toEqual({ id: (reply.message as Message).id, room, from: bob.username, text: '', at: (reply.message as Message).at, clientId: 'b-1', seq: gone.seq, deleted: true });
    }

    const server = await serverState((f) => alice.request(f), room);
    expect(server.map((m) => m.text)).toEqual(['final text', '']);
    for (const d of devices) {
      expect(d.replica.room(room).messages()).toEqual(server);
      expect(d.replica.room(room).cursor).toBe(gone.seq); // the live chain reached the last change
    }
    // v1 readers never see the tombstone
    const page = await bob.request({ action: 'history', room });
    expect((page.messages as Message[]).map((m) => m.id)).toEqual([original.id]);
    expect(page.seq).toBe(gone.seq);
    await Promise.all(devices.map((d) => d.c.close()));
  });

  it('lets a device that was offline catch up with changes, from the seq of its join, to the server state', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    const early: Message[] = [];
    for (let i = 0; i < 5; i++) early.push((await alice.request({ action: 'send', room, text: `early ${i}`, clientId: `e${i}` })).message as Message);

    // bob's laptop joins, then goes offline
    const laptop = device(bob);
    const joined = await laptop.c.request({ action: 'join', room });
    expect(joined.seq).toBe(early.at(-1)!.seq);
    await laptop.c.close();

    // meanwhile: edits, a delete, reactions, new messages, replies
    await alice.request({ action: 'edit', room, message: early[0]!.id, text: 'early 0, edited' });
    await alice.request({ action: 'delete', room, message: early[1]!.id });
    await alice.request({ action: 'react', room, message: early[2]!.id, emoji: '🎉' });
    const phone = await resumeAs(t, bob.token!);
    await phone.request({ action: 'react', room, message: early[2]!.id, emoji: '🎉' });
    await phone.request({ action: 'send', room, text: 'from the phone', clientId: 'p1', replyTo: early[0]!.id });
    for (let i = 0; i < 30; i++) expect((await alice.request({ action: 'send', room, text: `later ${i}`, clientId: `l${i}` })).type).toBe('sent');
    await alice.request({ action: 'edit', room, message: early[0]!.id, text: 'early 0, edited twice' });

    // the laptop comes back: resume, then changes after its cursor, in small pages
    const back = await resumeAs(t, bob.token!);
    const pages = await laptop.replica.catchUp((f) => back.request(f), room, 7);
    expect(pages).toBeGreaterThan(4);
    const server = await serverState((f) => back.request(f), room);
    expect(laptop.replica.room(room).messages()).toEqual(server);
    const mine = laptop.replica.room(room).messages().find((m) => m.clientId === 'p1')!;
    expect(mine.replyTo).toEqual({ id: early[0]!.id, from: alice.username, text: 'early 0, edited twice' });
    expect(laptop.replica.room(room).byId.get(early[1]!.id)).toMatchObject({ deleted: true, text: '' });
    expect(laptop.replica.room(room).byId.get(early[2]!.id)!.reactions).toEqual([{ emoji: '🎉', count: 2, users: [alice.username, bob.username] }]);
    await Promise.all([alice.close(), phone.close(), back.close()]);
  });
});

describe('the change feed', () => {
  it('gives seq on joined and history, each message once in its latest state, and through', async () => {
    const alice = await signUp(t);
    const room = freshRoom();
    const empty = await alice.request({ action: 'join', room });
    expect(empty.seq).toBeNull();
    expect(await alice.request({ action: 'changes', room })).toMatchObject({ type: 'changes', room, messages: [], through: null, hasMore: false });
    const a = (await alice.request({ action: 'send', room, text: 'a', clientId: 'a' })).message as Message;
    const b = (await alice.request({ action: 'send', room, text: 'b', clientId: 'b' })).message as Message;
    await alice.request({ action: 'edit', room, message: a.id, text: 'a2' });
    const edit = await alice.request({ action: 'edit', room, message: a.id, text: 'a3' });

    const all = await alice.request({ action: 'changes', room, after: '0' });
    expect((all.messages as Message[]).map((m) => [m.id, m.text])).toEqual([
      [b.id, 'b'],
      [a.id, 'a3'],
    ]);
    expect(all.through).toBe((edit.message as Message).seq);
    const since = await alice.request({ action: 'changes', room, after: b.seq });
    expect((since.messages as Message[]).map((m) => m.text)).toEqual(['a3']);
    const nothing = await alice.request({ action: 'changes', room, after: all.through });
    expect(nothing).toMatchObject({ messages: [], through: all.through, hasMore: false });
    const paged = await alice.request({ action: 'changes', room, limit: 1 });
    expect(paged).toMatchObject({ messages: [{ id: b.id }], through: b.seq, hasMore: true });
    await alice.close();
  });

  it('pages by bytes: every reply stays under 128 KB, however big the messages and their reactions', async () => {
    const alice = await signUp(t);
    const others = await Promise.all([1, 2, 3].map(() => signUp(t)));
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    for (const o of others) await o.request({ action: 'join', room });
    const big = '🦊'.repeat(4000);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(((await alice.request({ action: 'send', room, text: big, clientId: `big${i}` })).message as Message).id);
    for (const emoji of ['👍', '🎉', '❤️', '😂', '🧑🏽‍💻', '🇫🇷']) for (const o of others) await o.request({ action: 'react', room, message: ids[0], emoji });
    const largest: number[] = [];
    const reader = await signUp(t);
    reader.ws.on('message', (data: Buffer) => largest.push(data.length));
    await reader.request({ action: 'join', room });
    const got: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (; pages < 20; ) {
      const r = await reader.request({ action: 'changes', room, ...(after ? { after } : {}), limit: 200 });
      pages++;
      got.push(...(r.messages as Message[]).map((m) => m.id));
      after = r.through as string;
      if (!r.hasMore) break;
    }
    expect(pages).toBeGreaterThan(1); // 12 messages of 16 KB: more than one page holds
    expect(new Set(got)).toEqual(new Set(ids));
    expect(got.length).toBe(ids.length);
    expect(Math.max(...largest)).toBeLessThan(MAX_SERVER_FRAME_BYTES);
    await Promise.all([alice, reader, ...others].map((c) => c.close()));
  });
});

describe('history around a message', () => {
  it('centres the page on the message and says whether older and newer ones exist', async () => {
    const alice = await signUp(t);
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(((await alice.request({ action: 'send', room, text: `m${i}`, clientId: `m${i}` })).message as Message).id);
    const page = await alice.request({ action: 'history', room, around: ids[10], limit: 6 });
    expect((page.messages as Message[]).map((m) => m.text)).toEqual(['m8', 'm9', 'm10', 'm11', 'm12', 'm13']);
    expect(page).toMatchObject({ hasMore: true, hasNewer: true, seq: expect.any(String) });
    const start = await alice.request({ action: 'history', room, around: ids[1], limit: 6 });
    expect((start.messages as Message[]).map((m) => m.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(start).toMatchObject({ hasMore: false, hasNewer: true });
    const end = await alice.request({ action: 'history', room, around: ids[19] });
    expect((end.messages as Message[]).length).toBe(20);
    expect(end).toMatchObject({ hasMore: false, hasNewer: false });
    expect(await alice.request({ action: 'history', room, around: ids[3], after: ids[1] })).toMatchObject({
      type: 'error',
      code: 'bad_request',
      message: 'around cannot be combined with before or after.',
    });
    await alice.close();
  });
});

describe('replies and mentions', () => {
  it('shows the original as it is now: edited, then deleted', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    await bob.request({ action: 'join', room });
    const long = `${'x'.repeat(150)}\nsecond line`;
    const original = (await alice.request({ action: 'send', room, text: long, clientId: 'o' })).message as Message;
    const r = (await bob.request({ action: 'send', room, text: 'reply', clientId: 'r', replyTo: original.id })).message as Message;
    expect(r.replyTo).toEqual({ id: original.id, from: alice.username, text: 'x'.repeat(100) });
    await alice.request({ action: 'edit', room, message: original.id, text: 'short now' });
    let page = await bob.request({ action: 'history', room });
    expect((page.messages as Message[]).find((m) => m.id === r.id)!.replyTo).toEqual({ id: original.id, from: alice.username, text: 'short now' });
    await alice.request({ action: 'delete', room, message: original.id });
    page = await bob.request({ action: 'history', room });
    expect((page.messages as Message[]).map((m) => m.id)).toEqual([r.id]);
    expect((page.messages as Message[])[0]!.replyTo).toEqual({ id: original.id, deleted: true });
    expect(await bob.request({ action: 'send', room, text: 'too late', clientId: 'late', replyTo: original.id })).toMatchObject({
      type: 'error',
      code: 'not_found',
    });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('stores the members mentioned and @here in channels, not in direct messages', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    await bob.request({ action: 'join', room });
    const sent = await alice.request({
      action: 'send',
      room,
      text: `@${bob.username.toUpperCase()}, @${carol.username} (not here), mail ${bob.username}@example.com, @here @${bob.username}.`,
      clientId: 'm1',
    });
    expect(sent.message).toMatchObject({ mentions: [bob.username], mentionsHere: true });
    const dm = `dm:${[alice.username, bob.username].sort().join(':')}`;
    const direct = await alice.request({ action: 'send', room: dm, text: `@here @${bob.username}`, clientId: 'd1' });
    expect(direct.message).toMatchObject({ mentions: [bob.username] });
    expect((direct.message as Message).mentionsHere).toBeUndefined();
    // an edit reads the mentions again, and cannot add an @here
    const edited = await alice.request({ action: 'edit', room: dm, message: (direct.message as Message).id, text: 'no one now' });
    expect((edited.message as Message).mentions).toBeUndefined();
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});
