// Block, report and administration (E22) over real sockets on the local server:
// blocks reach every device and refuse direct messages both ways, presence is
// hidden from the blocker, reports reach the administrators, who dismiss them,
// delete the message, suspend (the person's sockets close, login and resume are
// refused saying until when), lift suspensions and delete accounts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const dana = { ...newAccount('dana'), username: `dana${process.pid % 1000}adm` };
dana.email = `${dana.username}@example.com`;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ ADMIN_USERS: `someone_else,${dana.username.toUpperCase()}` });
});
afterAll(() => t?.close());

async function say(c: TestClient, room: string, text: string): Promise<string> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent).toMatchObject({ type: 'sent' });
  return (sent.message as { id: string }).id;
}

async function login(account: { username: string; password: string }): Promise<{ client: TestClient; reply: Record<string, unknown> }> {
  const client = await TestClient.connect(t.wsUrl);
  const reply = await client.request({ action: 'auth', op: 'login', username: account.username, password: account.password });
  return { client, reply };
}

describe('blocks', () => {
  it('reach every device of the blocker, in authed and live, and can be undone', async () => {
    const [bob, carol] = await Promise.all([signUp(t), signUp(t)]);
    const phone = await resumeAs(t, bob.token!);
    expect(await bob.request({ action: 'block', user: carol.username!.toUpperCase() })).toMatchObject({ type: 'blocks', blocks: [carol.username] });
    expect(await phone.next('blocks')).toMatchObject({ type: 'blocks', blocks: [carol.username] });
    // blocking again changes nothing
    expect(await bob.request({ action: 'block', user: carol.username })).toMatchObject({ blocks: [carol.username] });
    expect(await bob.request({ action: 'blocks' })).toMatchObject({ type: 'blocks', blocks: [carol.username] });
    const laptop = await TestClient.connect(t.wsUrl);
    expect(await laptop.request({ action: 'auth', op: 'resume', token: bob.token })).toMatchObject({ type: 'authed', blocks: [carol.username] });
    // carol is never told
    expect(carol.all('blocks')).toEqual([]);
    expect(await bob.request({ action: 'unblock', user: carol.username })).toMatchObject({ type: 'blocks', blocks: [] });
    expect(await laptop.next('blocks')).toMatchObject({ blocks: [] });
    expect(await carol.request({ action: 'auth', op: 'logout' })).toMatchObject({ type: 'logged_out' });
    await Promise.all([bob, carol, phone, laptop].map((c) => c.close()));
  });

  it('refuse direct messages both ways, the blocked sender not told why; unblocking lets them through', async () => {
    const [bob, carol] = await Promise.all([signUp(t), signUp(t)]);
    const room = dmRoomId(bob.username!, carol.username!);
    await say(carol, room, 'hello before');
    await bob.next((f) => f.type === 'message');
    await bob.request({ action: 'block', user: carol.username });
    const refused = await carol.request({ action: 'send', room, text: 'are you there?', clientId: 'c-1' });
    expect(refused).toEqual({ type: 'error', re: refused.re, code: 'forbidden', message: 'Your message could not be delivered to this person.' });
    expect(await bob.request({ action: 'send', room, text: 'x', clientId: 'b-1' })).toMatchObject({
      code: 'forbidden',
      message: `You have blocked ${carol.username}; unblock them to write to them.`,
    });
    expect(await bob.quiet((f) => f.type === 'message')).toEqual([]);
    const n = (await t.db.sql<{ n: number }[]>`select count(*)::int as n from messages where room_id = ${room}`)[0]?.n;
    expect(n).toBe(1);
    await bob.request({ action: 'unblock', user: carol.username });
    await say(carol, room, 'hello again');
    expect(await bob.next((f) => f.type === 'message')).toMatchObject({ message: { text: 'hello again' } });
    await Promise.all([bob, carol].map((c) => c.close()));
  });

  it('hide the blocked person typing from the blocker only', async () => {
    const [bob, carol, erin] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const channel = `typing-${process.pid}`;
    for (const c of [bob, carol, erin]) await c.request({ action: 'join', room: channel });
    await bob.request({ action: 'block', user: carol.username });
    carol.send({ action: 'typing', room: channel });
    expect(await erin.next((f) => f.type === 'typing' && f.from === carol.username)).toMatchObject({ room: channel });
    expect(await bob.quiet((f) => f.type === 'typing' && f.from === carol.username, 300)).toEqual([]);
    await Promise.all([bob, carol, erin].map((c) => c.close()));
  });

  it('refuse a first direct message without opening the conversation', async () => {
    const [bob, carol] = await Promise.all([signUp(t), signUp(t)]);
    await bob.request({ action: 'block', user: carol.username });
    const room = dmRoomId(bob.username!, carol.username!);
    expect(await carol.request({ action: 'send', room, text: 'hi', clientId: 'c-1' })).toMatchObject({ code: 'forbidden' });
    expect(await t.db.sql`select id from rooms where id = ${room}`).toEqual([]);
    await Promise.all([bob, carol].map((c) => c.close()));
  });

  it('hide the blocked person\'s presence from the blocker only', async () => {
    const [bob, carol, erin] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    await bob.request({ action: 'block', user: carol.username });
    const from = bob.frames.length;
    const carolsPresence = () => bob.frames.slice(from).filter((f) => f.type === 'presence' && f.user === carol.username && f.online !== undefined);
    const phone = await resumeAs(t, carol.token!);
    await carol.close();
    await phone.close();
    // erin hears carol go offline; bob does not
    await erin.next((f) => f.type === 'presence' && f.user === carol.username && f.online === false);
    await bob.quiet('none', 300);
    expect(carolsPresence()).toEqual([]);
    const back = await resumeAs(t, carol.token!);
    await erin.next((f) => f.type === 'presence' && f.user === carol.username && f.online === true);
    await bob.quiet('none', 300);
    expect(carolsPresence()).toEqual([]);
    const joined = await bob.request({ action: 'join', room: 'general' });
    const members = joined.members as { username: string; online: boolean }[];
    expect(members.find((m) => m.username === carol.username)).toEqual({ username: carol.username, online: false });
    expect(members.find((m) => m.username === erin.username)).toEqual({ username: erin.username, online: true });
    const page = await bob.request({ action: 'members', room: 'general' });
    expect((page.members as { username: string; online: boolean }[]).find((m) => m.username === carol.username)?.online).toBe(false);
    const erinsView = await erin.request({ action: 'members', room: 'general' });
    expect((erinsView.members as { username: string; online: boolean }[]).find((m) => m.username === carol.username)?.online).toBe(true);
    await Promise.all([bob, erin, back].map((c) => c.close()));
  });
});

describe('reports and administration', () => {
  let admin: TestClient;
  beforeAll(async () => {
    admin = await signUp(t, dana);
  });
  afterAll(() => admin?.close());

  it('tells an administrator they are one, and nobody else', async () => {
    const again = await login(dana);
    expect(again.reply).toMatchObject({ type: 'authed', user: { username: dana.username, admin: true } });
    const alice = await signUp(t);
    const other = await login(alice);
    expect((other.reply.user as Record<string, unknown>).admin).toBeUndefined();
    await Promise.all([again.client, other.client, alice].map((c) => c.close()));
  });

  it('a report reaches the administrators, who dismiss it or delete the message', async () => {
    const [alice, mallory] = await Promise.all([signUp(t), signUp(t)]);
    const rude = await say(mallory, 'general', 'something rude');
    const ruder = await say(mallory, 'general', 'something ruder');
    const first = await alice.request({ action: 'report', room: 'general', message: rude, reason: '  insulting  ' });
    expect(first).toMatchObject({ type: 'reported', room: 'general', message: rude });
    const live = await admin.next('report');
    expect(live.report).toMatchObject({ id: first.report, room: 'general', message: rude, from: mallory.username, text: 'something rude', reason: 'insulting', by: alice.username });
    const second = await alice.request({ action: 'report', room: 'general', message: ruder, reason: 'spam' });
    const list = await admin.request({ action: 'reports' });
    const ids = (list.reports as { id: string }[]).map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining([first.report, second.report]));
    expect(await admin.request({ action: 'resolve_report', report: first.report, outcome: 'dismiss' })).toMatchObject({
      type: 'report_resolved',
      outcome: 'dismiss',
      closed: [first.report],
    });
    expect(await admin.request({ action: 'resolve_report', report: second.report, outcome: 'delete_message' })).toMatchObject({
      type: 'report_resolved',
      outcome: 'delete_message',
      closed: [second.report],
    });
    expect(await alice.next((f) => f.type === 'changed' && (f.message as { id: string }).id === ruder)).toMatchObject({
      room: 'general',
      message: { id: ruder, deleted: true, text: '' },
    });
    const after = (await admin.request({ action: 'reports' })).reports as { id: string }[];
    expect(after.map((r) => r.id)).not.toContain(first.report);
    expect(after.map((r) => r.id)).not.toContain(second.report);
    // the closed reports keep no copy of the text
    const bodies = await t.db.sql`select body, status from reports where id in (${first.report as string}, ${second.report as string}) order by id`;
    expect(bodies).toEqual([
      { body: '', status: 'dismissed' },
      { body: '', status: 'deleted' },
    ]);
    expect(await admin.request({ action: 'resolve_report', report: first.report, outcome: 'dismiss' })).toMatchObject({ code: 'not_found' });
    await Promise.all([alice, mallory].map((c) => c.close()));
  });

  it('a suspension closes the person\'s sockets at once and refuses login and resume until it is lifted', async () => {
    const mallory = await signUp(t);
    const phone = await resumeAs(t, mallory.token!);
    const reply = await admin.request({ action: 'suspend_user', user: mallory.username, seconds: 7 * 24 * 3600 });
    expect(reply).toMatchObject({ type: 'user_suspended', user: mallory.username });
    const until = new Date(reply.until as string);
    expect(until.getTime() - Date.now()).toBeGreaterThan(7 * 24 * 3600 * 1000 - 60_000);
    for (const c of [mallory, phone]) {
      expect(await c.next('suspended')).toMatchObject({ until: reply.until });
      await c.closed;
    }
    const tried = await login(mallory);
    expect(tried.reply).toMatchObject({ type: 'error', code: 'suspended', until: reply.until });
    expect(tried.reply.message).toMatch(/^This account is suspended until \d+ \w+ \d{4}, \d\d:\d\d UTC by the server's administrators\.$/);
    const resumed = await TestClient.connect(t.wsUrl);
    expect(await resumed.request({ action: 'auth', op: 'resume', token: mallory.token })).toMatchObject({ code: 'suspended' });
    expect(await admin.request({ action: 'unsuspend_user', user: mallory.username })).toMatchObject({ type: 'user_unsuspended' });
    expect(await resumed.request({ action: 'auth', op: 'resume', token: mallory.token })).toMatchObject({ type: 'authed' });
    expect(await admin.request({ action: 'unsuspend_user', user: mallory.username })).toMatchObject({ code: 'not_found' });
    // for good
    const forGood = await admin.request({ action: 'suspend_user', user: mallory.username });
    expect(forGood).toMatchObject({ type: 'user_suspended', until: null });
    await resumed.closed;
    expect((await login(mallory)).reply).toMatchObject({ code: 'suspended', until: null, message: "This account is suspended for good by the server's administrators." });
    await Promise.all([tried.client].map((c) => c.close()));
  });

  it('deleting an account closes its sockets and it cannot log in again', async () => {
    const gone = await signUp(t);
    expect(await admin.request({ action: 'admin_delete_user', user: gone.username })).toMatchObject({ type: 'user_deleted', user: gone.username });
    await gone.closed;
    expect((await login(gone)).reply).toMatchObject({ code: 'unauthorized' });
    expect(await admin.request({ action: 'admin_delete_user', user: gone.username })).toMatchObject({ code: 'not_found' });
  });

  it('administrators cannot suspend or delete administrators', async () => {
    expect(await admin.request({ action: 'suspend_user', user: dana.username })).toMatchObject({ code: 'bad_request' });
    expect(await admin.request({ action: 'admin_delete_user', user: dana.username })).toMatchObject({ code: 'bad_request' });
  });
});
