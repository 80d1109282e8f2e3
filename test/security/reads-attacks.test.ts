// Attacks on read marks, receipts and typing: marks in rooms one is not in, a
// `through` from another room or past the room's last message, floods of typing
// meant to make the server fan out or write without bound, and settings with
// values it does not know. Each is refused with a code and a sentence and
// changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Frame } from '../../functions/core/ports.js';
import { signUp, TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

async function say(c: TestClient, room: string, text: string): Promise<string> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return (sent.message as { id: string }).id;
}

async function marksOf(username: string) {
  return t.db.sql<{ room_id: string; through: string }[]>`
    select rm.room_id, rm.through::text from read_marks rm join users u on u.id = rm.user_id where u.username = ${username} order by rm.room_id`;
}

const isTyping = (f: Frame) => f.type === 'typing';

describe('read marks', () => {
  it('are refused for rooms one is not in: channels, other people’s DMs, rooms that do not exist', async () => {
    const [mallory, bob, carol] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const secret = `vault-${Date.now() % 100000}`;
    await bob.request({ action: 'join', room: secret });
    const inSecret = await say(bob, secret, 'secret');
    const theirs = dmRoomId(bob.username, carol.username);
    const inTheirs = await say(bob, theirs, 'private');
    const before = await marksOf(mallory.username);

    for (const [room, through] of [
      [secret, inSecret],
      [theirs, inTheirs],
      ['no-such-room', inSecret],
    ] as const) {
      const refused = await mallory.request({ action: 'read', room, through });
      expect(refused).toMatchObject({ type: 'error', code: 'forbidden' });
      expect(String(refused.message)).toMatch(/^You are not a member of (#[a-z0-9-]+|this conversation)\.$/);
    }
    // nobody hears anything: no `read`, no `seen`
    expect(await bob.quiet((f) => f.type === 'read' || f.type === 'seen')).toEqual([]);
    expect(await carol.quiet((f) => f.type === 'read' || f.type === 'seen')).toEqual([]);
    expect(await marksOf(mallory.username)).toEqual(before);
    await Promise.all([mallory.close(), bob.close(), carol.close()]);
  });

  it('refuse a `through` past the room’s last message or from another room, and leave the mark', async () => {
    const [mallory, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = `mine-${Date.now() % 100000}`;
    const other = `other-${Date.now() % 100000}`;
    await mallory.request({ action: 'join', room });
    await bob.request({ action: 'join', room });
    await bob.request({ action: 'join', room: other });
    const first = await say(bob, room, 'first');
    const elsewhere = await say(bob, other, 'in another room');
    await say(bob, room, 'the room’s last is now above the other room’s id');
    await mallory.request({ action: 'read', room, through: first });

    for (const through of [elsewhere, '999999999999999999', String(BigInt(first) + 100000n)]) {
      const refused = await mallory.request({ action: 'read', room, through });
      expect(refused).toMatchObject({ type: 'error', code: 'not_found', message: `There is no message ${through} in #${room}.` });
    }
    // not a message id at all
    for (const through of ['1e3', '-5', '0', '01', '9999999999999999999', 'x']) {
      expect(await mallory.request({ action: 'read', room, through })).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    expect(await mallory.request({ action: 'read', room, through: 5 })).toMatchObject({ code: 'bad_request', message: 'through must be a message id string.' });
    expect((await marksOf(mallory.username)).find((m) => m.room_id === room)).toEqual({ room_id: room, through: first });
    await Promise.all([mallory.close(), bob.close()]);
  });

  it('are refused before login, and limited per user', async () => {
    const stranger = await TestClient.connect(t.wsUrl);
    for (const frame of [
      { action: 'read', room: 'general', through: '1' },
      { action: 'typing', room: 'general' },
      { action: 'settings', readReceipts: false },
    ]) {
      expect(await stranger.request(frame)).toMatchObject({ type: 'error', code: 'unauthorized', message: 'Log in first.' });
    }
    await stranger.close();

    const mallory = await signUp(t);
    const m = await say(mallory, 'general', 'x');
    const answers = [];
    for (let i = 0; i < 70; i++) answers.push(await mallory.request({ action: 'read', room: 'general', through: m }));
    expect(answers.filter((a) => a.type === 'read').length).toBeGreaterThanOrEqual(60);
    expect(answers.at(-1)).toMatchObject({ type: 'error', code: 'rate_limited', retryAfter: 1 });
    expect(String(answers.at(-1)!.message)).toMatch(/marking rooms read too fast: at most 120 a minute/);
    await mallory.close();
  });
});

describe('typing floods', () => {
  it('a flood in one room reaches the others once, and costs two budget rows', async () => {
    const [mallory, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = `flood-${Date.now() % 100000}`;
    await mallory.request({ action: 'join', room });
    await bob.request({ action: 'join', room });

    // as fast as the socket takes them: the local server's queue refuses what is
    // more than 64 in flight, the budget the rest
    for (let i = 0; i < 300; i++) mallory.send({ action: 'typing', id: `f${i}`, room });
    await mallory.next((f) => f.re === 'f299' || (f.type === 'error' && f.re === undefined && f.code === 'rate_limited'), 10_000);
    await new Promise((r) => setTimeout(r, 500));

    expect(bob.all(isTyping)).toHaveLength(1);
    const refused = mallory.all((f) => f.type === 'error');
    expect(refused.every((f) => f.code === 'rate_limited')).toBe(true);
    expect(refused.length).toBeGreaterThan(250);
    const id = await userId(mallory.username);
    const rows = await t.db.sql<{ key: string }[]>`
      select key from rate_budgets where key = ${`typing:user:${id}`} or key like ${`typing:room:${id}:%`} order by key`;
    expect(rows.map((r) => r.key)).toEqual([`typing:room:${id}:${room}`, `typing:user:${id}`]);
    await Promise.all([mallory.close(), bob.close()]);
  });

  it('spread over many rooms, forwards no more than the per-user budget', async () => {
    const [mallory, bob] = await Promise.all([signUp(t), signUp(t)]);
    const rooms = Array.from({ length: 20 }, (_, i) => `spread${i}-${Date.now() % 100000}`);
    for (const room of rooms) {
      await mallory.request({ action: 'join', room });
      await bob.request({ action: 'join', room });
    }
    const started = Date.now();
    for (const room of rooms) mallory.send({ action: 'typing', room });
    await mallory.request({ action: 'ping' }); // the local server answers a socket's frames in order
    await new Promise((r) => setTimeout(r, 300));

    // a burst of 6, then 2 a second
    const seconds = (Date.now() - started) / 1000;
    expect(bob.all(isTyping).length).toBeGreaterThanOrEqual(6);
    expect(bob.all(isTyping).length).toBeLessThanOrEqual(6 + Math.ceil(seconds * 2));
    await Promise.all([mallory.close(), bob.close()]);
  });

  it('cannot reach a room one is not in, nor tell whether it exists', async () => {
    const [mallory, bob] = await Promise.all([signUp(t), signUp(t)]);
    const secret = `hidden-${Date.now() % 100000}`;
    await bob.request({ action: 'join', room: secret });

    const existing = await mallory.request({ action: 'typing', room: secret });
    const missing = await mallory.request({ action: 'typing', room: `${secret}-x` });

    expect(existing).toMatchObject({ type: 'error', code: 'forbidden', message: `You are not a member of #${secret}.` });
    expect(missing).toMatchObject({ type: 'error', code: 'forbidden', message: `You are not a member of #${secret}-x.` });
    expect(await mallory.request({ action: 'typing', room: dmRoomId(bob.username, 'someone') })).toMatchObject({ code: 'forbidden' });
    expect(await bob.quiet(isTyping)).toEqual([]);
    await Promise.all([mallory.close(), bob.close()]);
  });
});

describe('settings', () => {
  it('refuses values it does not know (bad_request) and changes nothing', async () => {
    const mallory = await signUp(t);
    for (const readReceipts of ['false', 'off', 0, 1, null, {}, []]) {
      expect(await mallory.request({ action: 'settings', readReceipts })).toMatchObject({
        type: 'error',
        code: 'bad_request',
        message: 'readReceipts must be true or false.',
      });
    }
    // a field it does not know is ignored, as in every frame
    expect(await mallory.request({ action: 'settings', theme: 'dark', isAdmin: true })).toMatchObject({ type: 'settings', readReceipts: true });
    const [row] = await t.db.sql<Record<string, unknown>[]>`select read_receipts from users where username = ${mallory.username}`;
    expect(row).toEqual({ read_receipts: true });
    await mallory.close();
  });

  it('are limited per user', async () => {
    const mallory = await signUp(t);
    let last: Frame | undefined;
    for (let i = 0; i < 61; i++) last = await mallory.request({ action: 'settings', readReceipts: i % 2 === 0 });
    expect(last).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(last!.message)).toMatch(/changed your settings too often: at most 60 times an hour/);
    await mallory.close();
  });
});

async function userId(username: string): Promise<string> {
  const [row] = await t.db.sql<{ id: string }[]>`select id::text from users where username = ${username}`;
  return row!.id;
}
