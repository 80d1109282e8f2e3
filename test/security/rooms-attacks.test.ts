// Attacks on private channels and moderation (E21), over real sockets: a private
// channel's name guessed, its messages sought by every path a non-member has, a
// moderator acting where they do not moderate, a non-member acting, a kicked
// member's open socket, a banned member coming back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { PDF, sendFiles, upload } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

let rooms = 0;
const freshRoom = () => `ra-${process.pid % 1000}-${++rooms}`;

async function say(c: TestClient, room: string, text: string, extra: Record<string, unknown> = {}): Promise<Message> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID(), ...extra });
  expect(sent.type).toBe('sent');
  return sent.message as Message;
}

/** A reply without its request id, and with the room's name put in place of `name`: what tells one answer from another. */
function shape(reply: Frame, name: string, as: string): unknown {
  const { re: _re, ...rest } = reply;
  return JSON.parse(JSON.stringify(rest).replaceAll(name, as));
}

/** A private channel with a secret said in it, and an outsider who never saw it. */
async function privateChannel() {
  const [alice, mallory] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('mal'))]);
  const room = freshRoom();
  await alice.request({ action: 'join', room });
  expect((await alice.request({ action: 'update_room', room, private: true, topic: 'the secret plan' })).type).toBe('room_updated');
  const file = await upload(t.url, alice, room, { name: 'plan.pdf', type: 'application/pdf', bytes: PDF });
  expect((await sendFiles(alice, room, [file.file], 'attached')).type).toBe('sent');
  const secret = await say(alice, room, 'zebracorn launches friday');
  return { alice, mallory, room, secret, file: file.file };
}

describe('a private channel’s name guessed', () => {
  it('joining it answers exactly as joining a channel that is not there, and it is in no directory', async () => {
    const { alice, mallory, room } = await privateChannel();
    const unknown = freshRoom();
    const guessed = await mallory.request({ action: 'join', room, create: false });
    const nothing = await mallory.request({ action: 'join', room: unknown, create: false });
    expect(guessed).toMatchObject({ type: 'error', code: 'not_found' });
    expect(shape(guessed, room, 'X')).toEqual(shape(nothing, unknown, 'X'));
    // without create: false too, the same refusal, and no membership
    expect(shape(await mallory.request({ action: 'join', room }), room, 'X')).toEqual(shape(nothing, unknown, 'X'));
    expect(shape(await mallory.request({ action: 'join', room: room.toUpperCase() }), room, 'X')).toEqual(shape(nothing, unknown, 'X'));
    expect((await mallory.request({ action: 'directory', query: room })).channels).toEqual([]);
    expect((await mallory.request({ action: 'directory', query: 'secret plan' })).channels).toEqual([]);
    const [row] = await t.db.sql`select count(*)::int as n from memberships m join users u on u.id = m.user_id where m.room_id = ${room} and u.username = ${mallory.username}`;
    expect(row!.n).toBe(0);
    await Promise.all([alice.close(), mallory.close()]);
  });
});

describe('a non-member of a private channel', () => {
  it('reaches none of its messages by any path: history, changes, search, members, typing, read, files, sends, replies', async () => {
    const { alice, mallory, room, secret, file } = await privateChannel();
    const unknown = freshRoom();
    const both = async (frame: Record<string, unknown>) => {
      const a = await mallory.request({ ...frame, room });
      const b = await mallory.request({ ...frame, room: unknown });
      expect(a.type).toBe('error');
      expect(shape(a, room, 'X')).toEqual(shape(b, unknown, 'X'));
    };
    await both({ action: 'history' });
    await both({ action: 'history', around: secret.id });
    await both({ action: 'changes' });
    await both({ action: 'members' });
    await both({ action: 'typing' });
    await both({ action: 'read', through: secret.id });
    await both({ action: 'send', text: 'let me in', clientId: 'x1' });
    await both({ action: 'edit', message: secret.id, text: 'mine' });
    await both({ action: 'react', message: secret.id, emoji: '👍' });
    await both({ action: 'delete', message: secret.id });
    await both({ action: 'remove_message', message: secret.id });
    await both({ action: 'invite', user: mallory.username });
    await both({ action: 'update_room', topic: 'pwned' });
    await both({ action: 'upload', name: 'x.pdf', size: 10, type: 'application/pdf' });
    // search finds nothing of it, by word or by naming the room
    const found = await mallory.request({ action: 'search', query: 'zebracorn' });
    expect(found).toMatchObject({ type: 'search_results', results: [] });
    const inRoom = await mallory.request({ action: 'search', query: `zebracorn in:#${room}` });
    const inNothing = await mallory.request({ action: 'search', query: `zebracorn in:#${unknown}` });
    expect(shape(inRoom, room, 'X')).toEqual(shape(inNothing, unknown, 'X'));
    // its file: as a file that does not exist
    const files = await mallory.request({ action: 'download', files: [file] });
    const none = await mallory.request({ action: 'download', files: ['A'.repeat(22)] });
    expect(shape({ ...files, expiresAt: 'T' }, file, 'F')).toEqual(shape({ ...none, expiresAt: 'T' }, 'A'.repeat(22), 'F'));
    expect(JSON.stringify(files)).not.toContain('/files/');
    // a reply to it from a room she is in is refused as a reply to nothing
    const reply = await mallory.request({ action: 'send', room: 'general', text: 'quoting', clientId: 'q1', replyTo: secret.id });
    expect(reply).toMatchObject({ type: 'error', code: 'not_found' });
    // and nothing said or done in it ever reached her socket
    await say(alice, room, 'zebracorn again');
    alice.send({ action: 'typing', room });
    await new Promise((r) => setTimeout(r, 300));
    // (her own searches echo their query; nothing else may hold the word)
    expect(JSON.stringify(mallory.frames.filter((f) => f.type !== 'search_results'))).not.toContain('zebracorn');
    expect(JSON.stringify(mallory.frames)).not.toContain('launches friday');
    expect(mallory.frames.filter((f) => f.room === room || (f.message as Message | undefined)?.room === room)).toEqual([]);
    await Promise.all([alice.close(), mallory.close()]);
  });
});

describe('acting without the standing', () => {
  it('a moderator of one channel cannot moderate another, and a non-member cannot act at all', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('dep')), signUp(t, newAccount('mem'))]);
    const mine = freshRoom();
    const theirs = freshRoom();
    for (const c of [alice, bob]) await c.request({ action: 'join', room: mine });
    await alice.request({ action: 'set_role', room: mine, user: bob.username, role: 'moderator' });
    for (const c of [carol, bob]) await c.request({ action: 'join', room: theirs });
    const m = await say(carol, theirs, 'carol speaks');
    // bob moderates `mine`, and is a plain member of `theirs` (carol owns it)
    for (const frame of [
      { action: 'update_room', room: theirs, topic: 'bob was here' },
      { action: 'update_room', room: theirs, private: true },
      { action: 'update_room', room: theirs, name: `${theirs}-bob` },
      { action: 'kick', room: theirs, user: carol.username },
      { action: 'ban', room: theirs, user: carol.username },
      { action: 'unban', room: theirs, user: carol.username },
      { action: 'bans', room: theirs },
      { action: 'set_role', room: theirs, user: bob.username, role: 'moderator' },
    ]) {
      expect(await bob.request(frame)).toMatchObject({ type: 'error', code: 'forbidden' });
    }
    // naming his own channel with her message: as a message that is not there
    expect(await bob.request({ action: 'remove_message', room: mine, message: m.id })).toMatchObject({ type: 'error', code: 'not_found' });
    expect(await bob.request({ action: 'remove_message', room: theirs, message: m.id })).toMatchObject({ type: 'error', code: 'not_found' });
    // alice, in neither of carol's rooms: the same answer as for a channel that does not exist
    const unknown = freshRoom();
    for (const frame of [
      { action: 'update_room', topic: 'x' },
      { action: 'kick', user: carol.username },
      { action: 'ban', user: carol.username },
      { action: 'bans' },
      { action: 'set_role', user: alice.username, role: 'moderator' },
      { action: 'invite', user: alice.username },
    ]) {
      const a = await alice.request({ ...frame, room: theirs });
      expect(a).toMatchObject({ type: 'error', code: 'not_found' });
      expect(shape(a, theirs, 'X')).toEqual(shape(await alice.request({ ...frame, room: unknown }), unknown, 'X'));
    }
    const [row] = await t.db.sql`select topic, private, name from rooms where id = ${theirs}`;
    expect(row).toEqual({ topic: '', private: false, name: null });
    const [msg] = await t.db.sql`select body, deleted_at from messages where id = ${m.id}`;
    expect(msg).toEqual({ body: 'carol speaks', deleted_at: null });
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});

describe('a kicked member', () => {
  it('stops receiving on every open socket at once: messages, changes, typing, presence, reads', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('kck')), signUp(t, newAccount('mem'))]);
    const room = freshRoom();
    for (const c of [alice, bob, carol]) await c.request({ action: 'join', room });
    const before = await say(carol, room, 'before');
    const bobTab = await resumeAs(t, bob.token!);
    expect((await alice.request({ action: 'kick', room, user: bob.username })).type).toBe('kicked');
    for (const c of [bob, bobTab]) expect(await c.next('removed_from_room')).toMatchObject({ room, reason: 'kicked' });
    const mark = bob.frames.length;
    const markTab = bobTab.frames.length;
    await say(carol, room, 'after');
    await carol.request({ action: 'react', room, message: before.id, emoji: '👍' });
    await carol.request({ action: 'edit', room, message: before.id, text: 'edited after' });
    carol.send({ action: 'typing', room });
    await carol.request({ action: 'read', room, through: before.id });
    await carol.close();
    await new Promise((r) => setTimeout(r, 300));
    const leaked = (frames: Frame[]) => frames.filter((f) => f.room === room || (f.message as Message | undefined)?.room === room);
    expect(leaked(bob.frames.slice(mark))).toEqual([]);
    expect(leaked(bobTab.frames.slice(markTab))).toEqual([]);
    // and the room refuses him every read
    expect(await bob.request({ action: 'history', room })).toMatchObject({ type: 'error' });
    expect(await bob.request({ action: 'changes', room })).toMatchObject({ type: 'error' });
    await Promise.all([alice.close(), bob.close(), bobTab.close()]);
  });
});

describe('a banned member', () => {
  it('cannot rejoin by id, by a new name or from the directory, nor be invited, until unbanned', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('ban')), signUp(t, newAccount('mem'))]);
    const room = freshRoom();
    for (const c of [alice, bob, carol]) await c.request({ action: 'join', room });
    expect((await alice.request({ action: 'ban', room, user: bob.username })).type).toBe('banned');
    const renamed = `${room}-new`;
    await alice.request({ action: 'update_room', room, name: renamed });
    for (const frame of [
      { action: 'join', room },
      { action: 'join', room: renamed },
      { action: 'join', room, create: false },
    ]) {
      expect(await bob.request(frame)).toMatchObject({ type: 'error', code: 'forbidden' });
    }
    expect(await carol.request({ action: 'invite', room, user: bob.username })).toMatchObject({ type: 'error', code: 'forbidden' });
    // a second device, and a reconnect, find no trace of the room
    const again = await resumeAs(t, bob.token!);
    expect((again.frames.find((f) => f.type === 'authed')!.rooms as { id: string }[]).map((r) => r.id)).not.toContain(room);
    const [row] = await t.db.sql`select count(*)::int as n from memberships m join users u on u.id = m.user_id where m.room_id = ${room} and u.username = ${bob.username}`;
    expect(row!.n).toBe(0);
    await Promise.all([alice.close(), bob.close(), carol.close(), again.close()]);
  });
});

describe('a ban racing joins', () => {
  // Under READ COMMITTED a ban does not see a membership not yet committed, nor a
  // join a ban not yet committed; the (room, person) lock both inserts take
  // (schema/020_ban_guard.sql) settles them in one order. PGlite has one
  // connection, so nothing runs at once there.
  it('never leaves the person both banned and a member, and a join that won is undone and told', async (ctx) => {
    if (!t.db.real) return ctx.skip();
    const [alice, bob] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('rac'))]);
    const tabs = [bob, await resumeAs(t, bob.token!), await resumeAs(t, bob.token!)];
    for (let round = 0; round < 10; round++) {
      const room = freshRoom();
      await alice.request({ action: 'join', room });
      const joins = tabs.flatMap((tab) => [0, 1, 2].map(() => tab.request({ action: 'join', room })));
      const [banned, ...answers] = await Promise.all([alice.request({ action: 'ban', room, user: bob.username }), ...joins]);
      expect(banned.type).toBe('banned');
      for (const answer of answers) {
        if (answer.type === 'error') expect(answer).toMatchObject({ code: expect.stringMatching(/^(forbidden|rate_limited)$/) });
        else expect(answer.type).toBe('joined');
      }
      const refused = answers.filter((a) => a.type === 'error' && a.code === 'forbidden');
      for (const r of refused) expect(r.message).toBe(`You are banned from #${room}.`);
      const [row] = await t.db.sql`
        select exists (select 1 from room_bans b join users u on u.id = b.user_id where b.room_id = ${room} and u.username = ${bob.username}) as banned,
          exists (select 1 from memberships m join users u on u.id = m.user_id where m.room_id = ${room} and u.username = ${bob.username}) as member`;
      expect(row).toEqual({ banned: true, member: false });
      // a join that got in before the ban was removed by it: every tab is told
      if (answers.some((a) => a.type === 'joined')) {
        for (const tab of tabs) expect(await tab.next((f) => f.type === 'removed_from_room' && f.room === room)).toMatchObject({ reason: 'banned' });
      }
      // and the room's messages reach none of them
      await say(alice, room, `after the ban ${round}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const tab of tabs) expect(tab.all((f) => String((f.message as Message | undefined)?.text ?? '').startsWith('after the ban'))).toEqual([]);
    await Promise.all([alice.close(), ...tabs.map((c) => c.close())]);
  });
});

describe('a channel topic', () => {
  it('refuses characters that change the direction of text, as profile text does, and stores nothing', async () => {
    const alice = await signUp(t, newAccount('own'));
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    expect((await alice.request({ action: 'update_room', room, topic: 'before' })).type).toBe('room_updated');
    for (const topic of ['Meeting at 10 \u202Eon yadnom', 'a\u202Db', 'a\u2066b\u2069', 'a\u200Fb', 'x\u061C', '\u202Aleft']) {
      expect(await alice.request({ action: 'update_room', room, topic })).toMatchObject({
        type: 'error',
        code: 'bad_request',
        message: 'A topic cannot contain characters that change the direction of text.',
      });
    }
    // right-to-left scripts themselves are fine
    expect(await alice.request({ action: 'update_room', room, topic: 'שלום עולם and مرحبا' })).toMatchObject({ type: 'room_updated' });
    const [row] = await t.db.sql`select topic from rooms where id = ${room}`;
    expect(row!.topic).toBe('שלום עולם and مرحبا');
    await alice.close();
  });
});
