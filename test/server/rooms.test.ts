// Channel directory, roles, private channels and moderation (E21) over real
// sockets: two people on two devices see every change live, and a client that
// reconnects finds the same in `authed` and `join`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../functions/core/ports.js';
import type { Message, RoomInfo } from '../../functions/core/protocol.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let admin: TestClient & { username: string };
beforeAll(async () => {
  t = await startTestServer({ ADMIN_USERS: `boss${process.pid % 1000}_1` });
  admin = await signUp(t, newAccount('boss'));
});
afterAll(() => t?.close());

let rooms = 0;
const freshRoom = () => `rm-${process.pid % 1000}-${++rooms}`;

async function say(c: TestClient, room: string, text: string): Promise<Message> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return sent.message as Message;
}

const roomIn = (authed: Frame, id: string) => (authed.rooms as RoomInfo[]).find((r) => r.id === id);

describe('a channel and its owner', () => {
  it('the creator owns it; the topic, name and privacy reach every member live and after a reconnect', async () => {
    const [alice, bob] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('mem'))]);
    const room = freshRoom();
    const joined = await alice.request({ action: 'join', room });
    expect((joined.room as RoomInfo).role).toBe('owner');
    const bobJoined = await bob.request({ action: 'join', room });
    expect(bobJoined.room).not.toHaveProperty('role');

    const topic = await alice.request({ action: 'update_room', room, topic: '  Plans for the launch  ' });
    expect(topic).toMatchObject({ type: 'room_updated', room: { id: room, name: room, topic: 'Plans for the launch', private: false }, by: alice.username });
    expect(await bob.next('room_updated')).toMatchObject({ room: { id: room, topic: 'Plans for the launch' } });

    const renamed = `${room}-x`;
    expect(await alice.request({ action: 'update_room', room, name: renamed.toUpperCase() })).toMatchObject({ room: { id: room, name: renamed } });
    expect(await bob.next('room_updated')).toMatchObject({ room: { id: room, name: renamed } });
    // the new name finds the channel; the id keeps working in every frame
    const carol = await signUp(t, newAccount('car'));
    expect(await carol.request({ action: 'join', room: renamed })).toMatchObject({ type: 'joined', room: { id: room, name: renamed } });
    await say(carol, room, 'hello by id');
    // names stay unique: another channel cannot take it, nor an id in use
    const other = freshRoom();
    await bob.request({ action: 'join', room: other });
    expect(await bob.request({ action: 'update_room', room: other, name: renamed })).toMatchObject({ type: 'error', code: 'conflict' });
    expect(await bob.request({ action: 'update_room', room: other, name: 'general' })).toMatchObject({ type: 'error', code: 'conflict' });

    expect(await alice.request({ action: 'update_room', room, private: true })).toMatchObject({ room: { private: true } });
    const again = await resumeAs(t, bob.token!);
    const authed = again.frames.find((f) => f.type === 'authed')!;
    expect(roomIn(authed, room)).toMatchObject({ id: room, name: renamed, topic: 'Plans for the launch', private: true });
    expect(roomIn(authed, room)).not.toHaveProperty('role');
    await Promise.all([alice.close(), bob.close(), carol.close(), again.close()]);
  });

  it('the owner makes a moderator, who then moderates but cannot appoint', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('deputy')), signUp(t, newAccount('mem'))]);
    const room = freshRoom();
    for (const c of [alice, bob, carol]) await c.request({ action: 'join', room });
    expect(await bob.request({ action: 'update_room', room, topic: 'mine now' })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await alice.request({ action: 'set_role', room, user: bob.username, role: 'moderator' })).toMatchObject({
      type: 'role_changed', room, user: bob.username, role: 'moderator', by: alice.username,
    });
    expect(await bob.next('role_changed')).toMatchObject({ user: bob.username, role: 'moderator' });
    expect(await carol.next('role_changed')).toMatchObject({ user: bob.username, role: 'moderator' });
    expect(await bob.request({ action: 'update_room', room, topic: 'set by a moderator' })).toMatchObject({ type: 'room_updated' });
    expect(await bob.request({ action: 'set_role', room, user: carol.username, role: 'moderator' })).toMatchObject({ type: 'error', code: 'forbidden' });
    // a moderator cannot remove the owner
    expect(await bob.request({ action: 'kick', room, user: alice.username })).toMatchObject({ type: 'error', code: 'forbidden' });
    const rejoined = await bob.request({ action: 'join', room });
    expect((rejoined.room as RoomInfo).role).toBe('moderator');
    expect(await alice.request({ action: 'set_role', room, user: bob.username, role: 'member' })).toMatchObject({ role: 'member' });
    expect(await bob.request({ action: 'update_room', room, topic: 'again' })).toMatchObject({ type: 'error', code: 'forbidden' });
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});

describe('moderating messages', () => {
  it('a moderator removes anyone’s message: a tombstone saying who, live on every device and in the change feed', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('deputy')), signUp(t, newAccount('mem'))]);
    const room = freshRoom();
    for (const c of [alice, bob, carol]) await c.request({ action: 'join', room });
    await alice.request({ action: 'set_role', room, user: bob.username, role: 'moderator' });
    const m = await say(carol, room, 'something rude');
    const carolTab = await resumeAs(t, carol.token!);
    expect(await carol.request({ action: 'remove_message', room, message: m.id })).toMatchObject({ type: 'error', code: 'not_found' });
    const removed = await bob.request({ action: 'remove_message', room, message: m.id });
    expect(removed).toMatchObject({ type: 'removed_message', room, message: m.id });
    for (const c of [alice, carol, carolTab]) {
      const changed = await c.next((f) => f.type === 'changed' && (f.message as Message).id === m.id);
      expect(changed.message).toMatchObject({ id: m.id, text: '', deleted: true, removedBy: bob.username });
    }
    const feed = await alice.request({ action: 'changes', room, after: m.seq });
    expect((feed.messages as Message[]).find((x) => x.id === m.id)).toMatchObject({ deleted: true, removedBy: bob.username });
    // her own delete is a tombstone without removedBy
    const mine = await say(carol, room, 'take this back');
    const own = await carol.request({ action: 'delete', room, message: mine.id });
    expect(own.type).toBe('deleted_message');
    const ownChange = await alice.next((f) => f.type === 'changed' && (f.message as Message).id === mine.id);
    expect(ownChange.message).not.toHaveProperty('removedBy');
    await Promise.all([alice.close(), bob.close(), carol.close(), carolTab.close()]);
  });

  it('an administrator removes a message in a channel they are not in', async () => {
    const [alice] = await Promise.all([signUp(t, newAccount('own'))]);
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    const m = await say(alice, room, 'reported');
    expect(await admin.request({ action: 'remove_message', room, message: m.id })).toMatchObject({ type: 'removed_message' });
    expect((await alice.next('changed')).message).toMatchObject({ deleted: true, removedBy: admin.username });
    await alice.close();
  });
});

describe('private channels and invitations', () => {
  it('are not listed nor joinable by name; an invitee sees the channel at once and after a reconnect', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('inv')), signUp(t, newAccount('out'))]);
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    await alice.request({ action: 'update_room', room, topic: 'hush' });
    const listed = await carol.request({ action: 'directory', query: room });
    expect(listed).toMatchObject({ type: 'directory', channels: [{ id: room, name: room, topic: 'hush', memberCount: 1 }], hasMore: false });
    await alice.request({ action: 'update_room', room, private: true });
    expect(await carol.request({ action: 'directory', query: room })).toMatchObject({ channels: [], hasMore: false });
    expect(await carol.request({ action: 'join', room })).toMatchObject({ type: 'error', code: 'not_found', message: `There is no channel #${room} you can join.` });

    expect(await alice.request({ action: 'invite', room, user: bob.username })).toMatchObject({ type: 'invited', room, user: bob.username });
    const added = await bob.next('added_to_room');
    expect(added).toMatchObject({ room: { id: room, kind: 'channel', topic: 'hush', private: true }, by: alice.username });
    const m = await say(alice, room, 'for bob');
    expect((await bob.next((f) => f.type === 'message' && (f.message as Message).id === m.id)).message).toMatchObject({ text: 'for bob' });
    const again = await resumeAs(t, bob.token!);
    expect(roomIn(again.frames.find((f) => f.type === 'authed')!, room)).toMatchObject({ private: true, lastMessageId: m.id });
    expect(await again.request({ action: 'join', room })).toMatchObject({ type: 'joined' });
    // inviting again is a conflict, inviting nobody a not_found
    expect(await bob.request({ action: 'invite', room, user: alice.username })).toMatchObject({ type: 'error', code: 'conflict' });
    expect(await bob.request({ action: 'invite', room, user: 'nobody_at_all' })).toMatchObject({ type: 'error', code: 'not_found' });
    await Promise.all([alice.close(), bob.close(), carol.close(), again.close()]);
  });
});

describe('the directory', () => {
  it('pages public channels by name with topic and member count, searches names and topics, and joins with create: false', async () => {
    const [alice, bob] = await Promise.all([signUp(t, newAccount('dir')), signUp(t, newAccount('dir'))]);
    const stem = `dirx${process.pid % 1000}`;
    for (let i = 0; i < 5; i++) await alice.request({ action: 'join', room: `${stem}-${i}` });
    await bob.request({ action: 'join', room: `${stem}-3` });
    await alice.request({ action: 'update_room', room: `${stem}-2`, topic: 'Gardening 50%_off' });
    const first = await bob.request({ action: 'directory', query: stem, limit: 3 });
    expect((first.channels as { name: string }[]).map((c) => c.name)).toEqual([`${stem}-0`, `${stem}-1`, `${stem}-2`]);
    expect(first.hasMore).toBe(true);
    const rest = await bob.request({ action: 'directory', query: stem, limit: 3, after: `${stem}-2` });
    expect(rest.channels).toEqual([
      { id: `${stem}-3`, name: `${stem}-3`, memberCount: 2, joined: true },
      { id: `${stem}-4`, name: `${stem}-4`, memberCount: 1 },
    ]);
    expect(rest.hasMore).toBe(false);
    // the topic is searched, and % and _ are plain characters
    expect(((await bob.request({ action: 'directory', query: 'GARDENING 50%_' })).channels as { id: string }[]).map((c) => c.id)).toEqual([`${stem}-2`]);
    expect((await bob.request({ action: 'directory', query: `${stem}%` })).channels).toEqual([]);
    // joining from the directory: create false joins what exists and creates nothing
    expect(await bob.request({ action: 'join', room: `${stem}-4`, create: false })).toMatchObject({ type: 'joined' });
    expect(await bob.request({ action: 'join', room: `${stem}-none`, create: false })).toMatchObject({
      type: 'error', code: 'not_found', message: `There is no channel #${stem}-none you can join.`,
    });
    const [row] = await t.db.sql`select count(*)::int as n from rooms where id = ${`${stem}-none`}`;
    expect(row!.n).toBe(0);
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('kick and ban', () => {
  it('a kicked member is told, stops receiving at once, and may come back; a banned one may not until unbanned', async () => {
    const [alice, bob] = await Promise.all([signUp(t, newAccount('own')), signUp(t, newAccount('out'))]);
    const room = freshRoom();
    await alice.request({ action: 'join', room });
    await bob.request({ action: 'join', room });
    const bobTab = await resumeAs(t, bob.token!);
    expect(await alice.request({ action: 'kick', room, user: bob.username })).toMatchObject({ type: 'kicked', room, user: bob.username });
    for (const c of [bob, bobTab]) expect(await c.next('removed_from_room')).toMatchObject({ room, reason: 'kicked', by: alice.username });
    await say(alice, room, 'after the kick');
    expect(await bob.quiet((f) => f.type === 'message' && (f.message as Message).room === room)).toEqual([]);
    expect(await bob.request({ action: 'join', room })).toMatchObject({ type: 'joined' });

    expect(await alice.request({ action: 'ban', room, user: bob.username })).toMatchObject({ type: 'banned' });
    expect(await bob.next('removed_from_room')).toMatchObject({ room, reason: 'banned' });
    expect(await bob.request({ action: 'join', room })).toMatchObject({ type: 'error', code: 'forbidden', message: `You are banned from #${room}.` });
    const carol = await signUp(t, newAccount('car'));
    await carol.request({ action: 'join', room });
    expect(await carol.request({ action: 'invite', room, user: bob.username })).toMatchObject({ type: 'error', code: 'forbidden' });
    const bans = await alice.request({ action: 'bans', room });
    expect(bans).toMatchObject({ type: 'bans', room, bans: [{ user: bob.username, by: alice.username }], hasMore: false });
    expect(await alice.request({ action: 'unban', room, user: bob.username })).toMatchObject({ type: 'unbanned' });
    expect(await bob.request({ action: 'join', room })).toMatchObject({ type: 'joined' });
    await Promise.all([alice.close(), bob.close(), bobTab.close(), carol.close()]);
  });

  it('general is everyone’s: only an administrator renames it, makes it private, kicks or bans there', async () => {
    const [alice, bob] = await Promise.all([signUp(t, newAccount('gen')), signUp(t, newAccount('gen'))]);
    for (const frame of [
      { action: 'update_room', room: 'general', name: 'lobby' },
      { action: 'update_room', room: 'general', private: true },
      { action: 'kick', room: 'general', user: bob.username },
      { action: 'ban', room: 'general', user: bob.username },
      { action: 'set_role', room: 'general', user: bob.username, role: 'moderator' },
    ]) {
      expect(await alice.request(frame)).toMatchObject({ type: 'error', code: 'forbidden' });
    }
    expect(await admin.request({ action: 'set_role', room: 'general', user: alice.username, role: 'moderator' })).toMatchObject({ type: 'role_changed' });
    expect(await alice.request({ action: 'update_room', room: 'general', topic: 'Say hello' })).toMatchObject({ type: 'room_updated' });
    expect(await alice.request({ action: 'kick', room: 'general', user: bob.username })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await admin.request({ action: 'kick', room: 'general', user: bob.username })).toMatchObject({ type: 'kicked' });
    await admin.request({ action: 'update_room', room: 'general', topic: '' });
    await admin.request({ action: 'set_role', room: 'general', user: alice.username, role: 'member' });
    await Promise.all([alice.close(), bob.close()]);
  });
});
