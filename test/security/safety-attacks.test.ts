// Attacks on blocks, reports and administration (E22), over real sockets: an
// administrator's action by someone who is not one, a report of a message in a
// room one is not in (answered as a message that does not exist), report
// flooding, a suspended person's token and open socket, blocking oneself or
// nobody. Each is refused with a code and a sentence and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import { RecordingLogger } from '../helpers/fakes.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const boss = { ...newAccount('boss'), username: `boss${process.pid % 1000}adm` };
boss.email = `${boss.username}@example.com`;
const log = new RecordingLogger();

let t: TestServer;
let admin: TestClient;
beforeAll(async () => {
  t = await startTestServer({ ADMIN_USERS: boss.username, REPORTS_PER_DAY: '4', LOG_LEVEL: 'info' }, { log });
  admin = await signUp(t, boss);
});
afterAll(async () => {
  await admin?.close();
  await t?.close();
});

async function say(c: TestClient, room: string, text: string): Promise<string> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent).toMatchObject({ type: 'sent' });
  return (sent.message as { id: string }).id;
}

const counts = async () => {
  const [row] = await t.db.sql`select (select count(*)::int from reports) as reports, (select count(*)::int from suspensions) as suspensions,
    (select count(*)::int from blocks) as blocks, (select count(*)::int from messages where deleted_at is not null) as deleted`;
  return row;
};

describe('administrator actions', () => {
  it('are refused to everyone else, changing nothing, and logged', async () => {
    const [mallory, victim] = await Promise.all([signUp(t), signUp(t)]);
    const id = await say(mallory, 'general', 'a message');
    const reported = await victim.request({ action: 'report', room: 'general', message: id, reason: 'test' });
    expect(reported.type).toBe('reported');
    const before = await counts();
    const frames = [
      { action: 'reports' },
      { action: 'resolve_report', report: reported.report, outcome: 'delete_message' },
      { action: 'resolve_report', report: reported.report, outcome: 'dismiss' },
      { action: 'suspend_user', user: victim.username },
      { action: 'unsuspend_user', user: victim.username },
      { action: 'admin_delete_user', user: victim.username },
    ];
    for (const frame of frames) {
      expect(await mallory.request(frame)).toMatchObject({ type: 'error', code: 'forbidden', message: "Only the server's administrators can do that." });
    }
    expect(await counts()).toEqual(before);
    expect(victim.all('suspended')).toEqual([]);
    expect(mallory.all('report')).toEqual([]);
    expect(log.lines.filter((l) => l.fields?.security === 'admin_refused' && l.fields.user === mallory.username)).toHaveLength(frames.length);
    // a name that only looks like an administrator's is not one
    const lookalike = await signUp(t, { ...newAccount(), username: `${boss.username}x`.slice(0, 32) });
    expect(await lookalike.request({ action: 'reports' })).toMatchObject({ code: 'forbidden' });
    await Promise.all([mallory, victim, lookalike].map((c) => c.close()));
  });

  it('are refused to everyone else before their fields are read: a bad field is still forbidden, and logged', async () => {
    const mallory = await signUp(t);
    const before = await counts();
    const frames = [
      { action: 'reports', after: 'not a report id' },
      { action: 'reports', after: 7 },
      { action: 'resolve_report', report: 'x', outcome: 'burn' },
      { action: 'resolve_report' },
      { action: 'suspend_user', user: 'NOT A NAME!', seconds: -1 },
      { action: 'suspend_user', user: admin.username, seconds: 'forever' },
      { action: 'unsuspend_user', user: ['a'] },
      { action: 'admin_delete_user' },
    ];
    for (const frame of frames) {
      expect(await mallory.request(frame)).toMatchObject({ type: 'error', code: 'forbidden', message: "Only the server's administrators can do that." });
    }
    expect(await counts()).toEqual(before);
    const refused = log.lines.filter((l) => l.fields?.security === 'admin_refused' && l.fields.user === mallory.username);
    expect(refused.map((l) => l.fields!.action)).toEqual(frames.map((f) => f.action));
    // an administrator's bad field is a bad request, as any action's
    expect(await admin.request({ action: 'suspend_user', user: 'NOT A NAME!' })).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(await admin.request({ action: 'resolve_report', report: 'x', outcome: 'burn' })).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(await admin.request({ action: 'suspend_user', user: mallory.username, seconds: 1 })).toMatchObject({
      type: 'error',
      code: 'bad_request',
      message: expect.stringContaining('at least 60 seconds'),
    });
    await mallory.close();
  });

  it('are refused before logging in', async () => {
    const anon = await TestClient.connect(t.wsUrl);
    expect(await anon.request({ action: 'reports' })).toMatchObject({ code: 'unauthorized' });
    await anon.close();
  });
});

describe('reports', () => {
  it('of a message in a room one is not in get the same answer as a message that does not exist', async () => {
    const [alice, bob, mallory] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const dm = dmRoomId(alice.username!, bob.username!);
    const secret = await say(alice, dm, 'between us');
    const channel = `priv-${process.pid}`;
    await alice.request({ action: 'join', room: channel });
    const inChannel = await say(alice, channel, 'members only');
    const before = await counts();
    const answers = [];
    for (const [room, message] of [
      [dm, secret],
      [channel, inChannel],
      ['general', secret], // a real id, the wrong room
      ['general', '999999999'],
    ]) {
      answers.push(await mallory.request({ action: 'report', room, message, reason: 'x' }));
    }
    for (const a of answers) expect({ code: a.code, message: a.message }).toEqual({ code: 'not_found', message: 'That message does not exist, or you are not in its room.' });
    expect(await counts()).toEqual(before);
    expect(admin.all((f) => f.type === 'report' && [secret, inChannel].includes((f.report as { message: string }).message))).toEqual([]);
    await Promise.all([alice, bob, mallory].map((c) => c.close()));
  });

  it('cannot flood: once per message, a budget a day, bounded reasons, never one\'s own', async () => {
    const [flooder, target] = await Promise.all([signUp(t), signUp(t)]);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await say(target, 'general', `message ${i}`));
    const own = await say(flooder, 'general', 'mine');
    expect(await flooder.request({ action: 'report', room: 'general', message: ids[0], reason: 'x'.repeat(501) })).toMatchObject({
      code: 'bad_request',
      message: 'A reason is at most 500 characters.',
    });
    expect(await flooder.request({ action: 'report', room: 'general', message: ids[0], reason: ' \u200b ' })).toMatchObject({ code: 'bad_request' });
    expect(await flooder.request({ action: 'report', room: 'general', message: ids[0], reason: 'one' })).toMatchObject({ type: 'reported' });
    expect(await flooder.request({ action: 'report', room: 'general', message: ids[0], reason: 'again' })).toMatchObject({ code: 'conflict' });
    expect(await flooder.request({ action: 'report', room: 'general', message: own, reason: 'me' })).toMatchObject({ code: 'bad_request' });
    expect(await flooder.request({ action: 'report', room: 'general', message: ids[1], reason: 'two' })).toMatchObject({ type: 'reported' });
    // REPORTS_PER_DAY=4: the first, the repeat, the own, the second (each charged), then refused
    const refused = await flooder.request({ action: 'report', room: 'general', message: ids[2], reason: 'three' });
    expect(refused).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/^You have reported too many messages: at most 4 a day\. Try again in/) });
    const n = (await t.db.sql<{ n: number }[]>`select count(*)::int as n from reports r join users u on u.id = r.reporter_id where u.username = ${flooder.username}`)[0]?.n;
    expect(n).toBe(2);
    await Promise.all([flooder, target].map((c) => c.close()));
  });
});

describe('a suspended person', () => {
  it('loses the open socket at once, and neither the token nor the password brings it back', async () => {
    const mallory = await signUp(t);
    const other = await resumeAs(t, mallory.token!);
    await admin.request({ action: 'suspend_user', user: mallory.username, seconds: 3600 });
    await Promise.all([mallory.closed, other.closed]);
    // whatever the socket sent after the suspension is not theirs any more
    const n = (await t.db.sql<{ n: number }[]>`select count(*)::int as n from connections c join users u on u.id = c.user_id where u.username = ${mallory.username}`)[0]?.n;
    expect(n).toBe(0);
    for (let i = 0; i < 2; i++) {
      const again = await TestClient.connect(t.wsUrl);
      expect(await again.request({ action: 'auth', op: 'resume', token: mallory.token })).toMatchObject({ code: 'suspended' });
      expect(await again.request({ action: 'send', room: 'general', text: 'still here', clientId: 'x' })).toMatchObject({ code: 'unauthorized' });
      await again.close();
    }
    const login = await TestClient.connect(t.wsUrl);
    expect(await login.request({ action: 'auth', op: 'login', username: mallory.username, password: 'wrong password!' })).toMatchObject({ code: 'unauthorized' });
    await login.close();
    expect(log.lines.some((l) => l.fields?.security === 'suspended_refused' && l.fields.user === mallory.username)).toBe(true);
  });
});

describe('blocks', () => {
  it('refuse oneself and nobody, and bad names, changing nothing', async () => {
    const alice = await signUp(t);
    const before = await counts();
    expect(await alice.request({ action: 'block', user: alice.username })).toMatchObject({ code: 'bad_request', message: 'You cannot block yourself.' });
    expect(await alice.request({ action: 'block', user: alice.username!.toUpperCase() })).toMatchObject({ code: 'bad_request' });
    expect(await alice.request({ action: 'block', user: 'nobody_at_all' })).toMatchObject({ code: 'not_found', message: 'There is nobody called nobody_at_all.' });
    expect(await alice.request({ action: 'block', user: 'a' })).toMatchObject({ code: 'bad_request' });
    expect(await alice.request({ action: 'block', user: ['x'] })).toMatchObject({ code: 'bad_request' });
    expect(await alice.request({ action: 'unblock', user: 'nobody_at_all' })).toMatchObject({ type: 'blocks', blocks: [] });
    expect(await counts()).toEqual(before);
    await alice.close();
  });
});

describe('a block refuses every way into the other person\'s DM, not only send', () => {
  const NOT_DELIVERED = 'Your message could not be delivered to this person.';
  /** Frames of one room (or naming it) that reached a client. */
  const ofRoom = (c: TestClient, room: string) =>
    c.all((f) => f.room === room || (f.message as { room?: string } | undefined)?.room === room || (f.room as { id?: string } | undefined)?.id === room);

  it('edit, react, set_timer and upload in an existing DM, either way, storing and delivering nothing', async () => {
    const [alice, mallory] = await Promise.all([signUp(t), signUp(t)]);
    const dm = dmRoomId(alice.username!, mallory.username!);
    const old = await say(mallory, dm, 'before the block');
    const hers = await say(alice, dm, 'hers, before the block');
    expect(await alice.request({ action: 'block', user: mallory.username })).toMatchObject({ type: 'blocks', blocks: [mallory.username] });
    const seen = ofRoom(alice, dm).length;
    const seenByMallory = ofRoom(mallory, dm).length;
    const state = async () => {
      const [row] = await t.db.sql`select
        (select json_agg(json_build_object('id', id, 'body', body, 'edited', edited_at is not null) order by id) from messages where room_id = ${dm}) as messages,
        (select count(*)::int from reactions r join messages m on m.id = r.message_id where m.room_id = ${dm}) as reactions,
        (select count(*)::int from files where room_id = ${dm}) as files,
        (select row(disappear_after, last_seq)::text from rooms where id = ${dm}) as room`;
      return row;
    };
    const before = await state();

    // the blocked person hears only that it could not be delivered
    const refused = [
      await mallory.request({ action: 'edit', room: dm, message: old, text: 'after the block' }),
      await mallory.request({ action: 'react', room: dm, message: hers, emoji: '👍' }),
      await mallory.request({ action: 'react', room: dm, message: old, emoji: '👍' }),
      await mallory.request({ action: 'set_timer', room: dm, seconds: 300 }),
      await mallory.request({ action: 'upload', room: dm, name: 'note.txt', size: 10, type: 'text/plain' }),
    ];
    for (const r of refused) expect(r).toMatchObject({ type: 'error', code: 'forbidden', message: NOT_DELIVERED });

    // the blocker is told their own block
    const mine = `You have blocked ${mallory.username}; unblock them to write to them.`;
    for (const frame of [
      { action: 'edit', room: dm, message: hers, text: 'after the block' },
      { action: 'react', room: dm, message: old, emoji: '👍' },
      { action: 'set_timer', room: dm, seconds: 300 },
      { action: 'upload', room: dm, name: 'note.txt', size: 10, type: 'text/plain' },
    ]) {
      expect(await alice.request(frame)).toMatchObject({ type: 'error', code: 'forbidden', message: mine });
    }

    expect(await state()).toEqual(before);
    await alice.quiet(() => false, 200);
    expect(ofRoom(alice, dm).length).toBe(seen);
    expect(ofRoom(mallory, dm).slice(seenByMallory).filter((f) => f.type !== 'error')).toEqual([]);
    // someone else's message is still not theirs to edit, block or none (not a block refusal first for a non-member)
    const stranger = await signUp(t);
    expect(await stranger.request({ action: 'edit', room: dm, message: old, text: 'x' })).toMatchObject({ code: 'not_found' });
    expect(await stranger.request({ action: 'upload', room: dm, name: 'n.txt', size: 10, type: 'text/plain' })).toMatchObject({ code: 'forbidden', message: 'You are not a member of this conversation.' });

    // unblocked, both work again
    await alice.request({ action: 'unblock', user: mallory.username });
    expect(await mallory.request({ action: 'react', room: dm, message: hers, emoji: '👍' })).toMatchObject({ type: 'reacted' });
    expect(await mallory.request({ action: 'edit', room: dm, message: old, text: 'edited later' })).toMatchObject({ type: 'edited' });
    await Promise.all([alice, mallory, stranger].map((c) => c.close()));
  });

  it('join of a DM that does not exist yet, either way, opening nothing', async () => {
    const [carol, mallory] = await Promise.all([signUp(t), signUp(t)]);
    const dm = dmRoomId(carol.username!, mallory.username!);
    await carol.request({ action: 'block', user: mallory.username });
    expect(await mallory.request({ action: 'join', room: dm })).toMatchObject({ type: 'error', code: 'forbidden', message: NOT_DELIVERED });
    expect(await mallory.request({ action: 'send', room: dm, text: 'hi', clientId: crypto.randomUUID() })).toMatchObject({ code: 'forbidden', message: NOT_DELIVERED });
    expect(await carol.request({ action: 'join', room: dm })).toMatchObject({
      code: 'forbidden',
      message: `You have blocked ${mallory.username}; unblock them to write to them.`,
    });
    const [row] = await t.db.sql`select (select count(*)::int from rooms where id = ${dm}) as rooms, (select count(*)::int from memberships where room_id = ${dm}) as members`;
    expect(row).toEqual({ rooms: 0, members: 0 });
    await carol.quiet(() => false, 200);
    expect(ofRoom(carol, dm)).toEqual([]);
    await Promise.all([carol, mallory].map((c) => c.close()));
  });

  it('invite into a channel, either way, adding nobody and telling the blocked inviter nothing of the block', async () => {
    const [carol, mallory] = await Promise.all([signUp(t), signUp(t)]);
    const hers = `bk-c-${crypto.randomUUID().slice(0, 8)}`;
    const his = `bk-m-${crypto.randomUUID().slice(0, 8)}`;
    expect(await carol.request({ action: 'join', room: hers })).toMatchObject({ type: 'joined' });
    expect(await mallory.request({ action: 'join', room: his })).toMatchObject({ type: 'joined' });
    await carol.request({ action: 'block', user: mallory.username });
    expect(await mallory.request({ action: 'invite', room: his, user: carol.username })).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: `${carol.username} could not be invited to #${his}.`,
    });
    expect(await carol.request({ action: 'invite', room: hers, user: mallory.username })).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: `You have blocked ${mallory.username}; unblock them to invite them.`,
    });
    const [row] = await t.db.sql`select count(*)::int as n from memberships where (room_id = ${his} and user_id = (select id from users where username = ${carol.username}))
      or (room_id = ${hers} and user_id = (select id from users where username = ${mallory.username}))`;
    expect(row).toEqual({ n: 0 });
    await carol.quiet(() => false, 200);
    expect(carol.all('added_to_room')).toEqual([]);
    expect(ofRoom(carol, his)).toEqual([]);
    expect(ofRoom(mallory, hers)).toEqual([]);
    await Promise.all([carol, mallory].map((c) => c.close()));
  });
});
