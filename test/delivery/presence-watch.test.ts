// E23 presence subscriptions over real sockets: `watch` and its reply, bounds and
// bad input, `presence_batch` once per window with the last state winning, the v1
// line (old clients hear online/offline only in small rooms), frames per login
// bounded by watchers, blocks, `online_count`, and usernames that are also the
// names of an object's own properties (`__proto__`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../functions/core/ports.js';
import { TestClient, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const WINDOW_MS = 400;
const LINE = 20;
const CAP = 5;
const WATCHES = 12;
const FILLERS = 300;
const COUNTS = 8;

const isOnline = (f: Frame) => f.type === 'presence' && 'online' in f;
const batches = (c: TestClient) => c.all('presence_batch');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('presence subscriptions (E23)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      PRESENCE_BATCH_MS: String(WINDOW_MS),
      PRESENCE_V1_MAX_MEMBERS: String(LINE),
      PRESENCE_WATCH_MAX: String(CAP),
      WATCHES_PER_MINUTE: String(WATCHES),
      ONLINE_COUNTS_PER_MINUTE: String(COUNTS),
    });
    // `general` well above the line: people who never connect, as in a big team.
    await t.db.sql`
      with people as (
        insert into users (username, display_name, email, email_lower, password_hash, verified_at)
        select 'filler' || i, 'filler' || i, 'filler' || i || '@example.com', 'filler' || i || '@example.com', 'x', now()
        from generate_series(1, ${FILLERS}) i returning id
      )
      insert into memberships (room_id, user_id) select 'general', id from people`;
  });
  afterAll(() => t?.close());

  it('replies with each name\'s status; unknown names, strangers and bad input', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const carol = await signUp(t);
    await carol.close();
    const reply = await alice.request({ action: 'watch', users: [bob.username, carol.username.toUpperCase(), 'nobody_at_all', 'filler1'] });
    expect(reply).toMatchObject({ type: 'watching', presence: { [bob.username]: 'online', [carol.username]: 'offline', nobody_at_all: 'offline', filler1: 'offline' } });
    // Someone with a connection who shares no room with alice: offline to her.
    await t.db.sql`insert into connections (id, user_id, authed_at) select 'stranger-conn', id, now() from users where username = 'filler2'`;
    await t.db.sql`delete from memberships where user_id = (select id from users where username = 'filler2')`;
    expect((await alice.request({ action: 'watch', users: ['filler2'] })).presence).toEqual({ filler2: 'offline' });
    await t.db.sql`delete from connections where id = 'stranger-conn'`;

    // Over the cap: a sentence, and the list stays as it was.
    await alice.request({ action: 'watch', users: [bob.username] });
    const tooMany = await alice.request({ action: 'watch', users: ['aaa1', 'aaa2', 'aaa3', 'aaa4', 'aaa5', 'aaa6'] });
    expect(tooMany).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(tooMany.message).toBe(`You can watch at most ${CAP} people at once; this list names 6.`);
    for (const bad of [{ users: 'bob' }, { users: ['a b'] }, { users: [42] }, {}]) {
      expect(await alice.request({ action: 'watch', ...bad })).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    const rows = await t.db.sql`select u.username from presence_watches w join users u on u.id = w.user_id join connections c on c.id = w.connection_id
      where c.user_id = (select id from users where username = ${alice.username})`;
    expect(rows.map((r) => r.username)).toEqual([bob.username]);
    // Repeats count once; an empty list is valid.
    expect((await alice.request({ action: 'watch', users: [bob.username, bob.username] })).presence).toEqual({ [bob.username]: 'online' });
    expect(await alice.request({ action: 'watch', users: [] })).toEqual({ type: 'watching', presence: {}, re: expect.any(String) });

    const anonymous = await TestClient.connect(t.wsUrl);
    expect(await anonymous.request({ action: 'watch', users: [] })).toMatchObject({ type: 'error', code: 'unauthorized' });
    await Promise.all([alice.close(), bob.close(), anonymous.close()]);
  });

  it('is budgeted per person', async () => {
    const alice = await signUp(t);
    const second = await resumeAs(t, alice.token!);
    for (let i = 0; i < WATCHES; i++) expect((await (i % 2 ? second : alice).request({ action: 'watch', users: [] })).type).toBe('watching');
    const refused = await alice.request({ action: 'watch', users: [] });
    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited', retryAfter: expect.any(Number) });
    expect(refused.message).toMatch(/watch too often: at most 12 times a minute/);
    await Promise.all([alice.close(), second.close()]);
  });

  it('tells a watcher (E25) "away" when every connection of the watched is hidden or idle, and "online" when one is active again', async () => {
    const watcher = await signUp(t);
    const bob = await signUp(t);
    expect((await watcher.request({ action: 'watch', users: [bob.username] })).presence).toEqual({ [bob.username]: 'online' });
    await bob.request({ action: 'activity', state: 'hidden' });
    await watcher.next((f) => f.type === 'presence_batch' && (f.presence as Record<string, string>)[bob.username] === 'away');
    expect((await watcher.request({ action: 'watch', users: [bob.username] })).presence).toEqual({ [bob.username]: 'away' });
    await bob.request({ action: 'activity', state: 'active' });
    await watcher.next((f) => f.type === 'presence_batch' && (f.presence as Record<string, string>)[bob.username] === 'online');
    await Promise.all([watcher.close(), bob.close()]);
  });

  it('sends one batch per window, the last state winning, and nothing of the unwatched', async () => {
    const watcher = await signUp(t);
    const bob = await signUp(t);
    const carol = await signUp(t);
    const dave = await signUp(t);
    await Promise.all([bob.close(), carol.close()]);
    await watcher.request({ action: 'watch', users: [bob.username, carol.username] });
    await sleep(WINDOW_MS * 2);
    const before = batches(watcher).length;

    // Within one window (or a few, on a slow machine): bob and carol come online, bob leaves and returns.
    const started = Date.now();
    const bob2 = await resumeAs(t, bob.token!);
    const carol2 = await resumeAs(t, carol.token!);
    await bob2.close();
    const bob3 = await resumeAs(t, bob.token!);
    const windows = Math.ceil((Date.now() - started) / WINDOW_MS) + 1;
    // dave is not watched: his coming and going sends the watcher nothing.
    await dave.close();
    await resumeAs(t, dave.token!).then((c) => c.close());
    await sleep(WINDOW_MS * 3);
    const got = batches(watcher).slice(before);
    // One frame per window the changes spanned at most (one or two here). Either way, last state wins.
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(got.length).toBeLessThanOrEqual(windows);
    const final: Record<string, string> = {};
    for (const f of got) Object.assign(final, f.presence);
    expect(final).toEqual({ [bob.username]: 'online', [carol.username]: 'online' });
    for (const f of got) expect(Object.keys(f.presence as object).every((u) => u === bob.username || u === carol.username)).toBe(true);
    // An opted-in connection gets no v1 online/offline frames at all.
    expect(watcher.all(isOnline)).toEqual([]);
    await Promise.all([watcher.close(), bob3.close(), carol2.close()]);
  });

  it('coalesces a burst into one frame per connection per window', async () => {
    const watcher = await signUp(t);
    const people = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    await watcher.request({ action: 'watch', users: people.map((p) => p.username) });
    await sleep(WINDOW_MS * 2);
    const before = batches(watcher).length;
    const started = Date.now();
    await Promise.all(people.map((p) => p.close()));
    await watcher.next((f) => f.type === 'presence_batch' && Object.keys(f.presence as object).length === 3 && batches(watcher).length === before + 1, WINDOW_MS * 5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(WINDOW_MS / 2);
    expect(batches(watcher).at(-1)!.presence).toEqual(Object.fromEntries(people.map((p) => [p.username, 'offline'])));
    await watcher.close();
  });

  it('keeps v1 presence for old clients in rooms at most the line, none above it', async () => {
    const x = await signUp(t);
    const old = await signUp(t);
    await x.request({ action: 'join', room: 'den-small' });
    await old.request({ action: 'join', room: 'den-small' });
    await x.close();
    expect(await old.next((f) => isOnline(f) && f.user === x.username)).toMatchObject({ room: 'den-small', online: false });
    const seen = old.frames.length;
    const x2 = await resumeAs(t, x.token!);
    const online = await old.next((f) => isOnline(f) && f.user === x.username);
    expect(online).toMatchObject({ room: 'den-small', online: true });
    await sleep(WINDOW_MS);
    // general has more than the line: no frame for it
    expect(old.frames.slice(seen).filter((f) => isOnline(f) && f.user === x.username).map((f) => f.room)).toEqual(['den-small']);
    // membership presence is for everyone, watchers included
    const watcher = await signUp(t);
    await watcher.request({ action: 'join', room: 'den-small' });
    await watcher.request({ action: 'watch', users: [] });
    const joiner = await signUp(t);
    await joiner.request({ action: 'join', room: 'den-small' });
    await watcher.next((f) => f.type === 'presence' && f.user === joiner.username && f.member === true);
    await Promise.all([x2.close(), old.close(), watcher.close(), joiner.close()]);
  });

  it('bounds the frames of one login: watchers plus old clients of small rooms', async () => {
    const x = await signUp(t);
    const watchers = await Promise.all(Array.from({ length: 5 }, () => signUp(t)));
    const oldBig = await Promise.all(Array.from({ length: 5 }, () => signUp(t)));
    const oldSmall = await Promise.all(Array.from({ length: 2 }, () => signUp(t)));
    const bystanders = await Promise.all(Array.from({ length: 3 }, () => signUp(t)));
    for (const w of watchers) await w.request({ action: 'watch', users: [x.username] });
    for (const b of bystanders) await b.request({ action: 'watch', users: [] });
    await x.request({ action: 'join', room: 'tiny-room' });
    for (const s of oldSmall) await s.request({ action: 'join', room: 'tiny-room' });
    await x.close();
    await sleep(WINDOW_MS * 2);
    const everyone = [...watchers, ...oldBig, ...oldSmall, ...bystanders];
    const marks = everyone.map((c) => c.frames.length);
    const x2 = await resumeAs(t, x.token!);
    await sleep(WINDOW_MS * 3);
    const about = (f: Frame) =>
      (f.type === 'presence' && f.user === x.username && 'online' in f) ||
      (f.type === 'presence_batch' && Object.hasOwn(f.presence as object, x.username));
    const counts = everyone.map((c, i) => c.frames.slice(marks[i]).filter(about).length);
    const total = counts.reduce((a, b) => a + b, 0);
    // general holds 300+ members: its old clients hear nothing of x.
    expect(counts).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect(total).toBeLessThanOrEqual(5 + 2);
    await Promise.all([...everyone, x2].map((c) => c.close()));
  });

  it('a person named __proto__ or constructor is watched like anyone (the maps have no prototype)', async () => {
    const watcher = await signUp(t);
    const proto = await signUp(t, { username: '__proto__', email: 'proto-name@example.com', password: 'correct horse battery' });
    const reply = await watcher.request({ action: 'watch', users: ['__proto__', 'constructor'] });
    expect(Object.entries(reply.presence as object)).toEqual([
      ['__proto__', 'online'],
      ['constructor', 'offline'],
    ]);
    await proto.close();
    const gone = await watcher.next((f) => f.type === 'presence_batch' && Object.hasOwn(f.presence as object, '__proto__'));
    expect(Object.entries(gone.presence as object)).toEqual([['__proto__', 'offline']]);
    await watcher.close();
  });

  it('a watcher who blocked someone never hears their presence', async () => {
    const alice = await signUp(t);
    const mallory = await signUp(t);
    expect((await alice.request({ action: 'block', user: mallory.username })).type).not.toBe('error');
    expect((await alice.request({ action: 'watch', users: [mallory.username] })).presence).toEqual({ [mallory.username]: 'offline' });
    // mallory's own watch of alice is not affected by alice's block of her
    expect((await mallory.request({ action: 'watch', users: [alice.username] })).presence).toEqual({ [alice.username]: 'online' });
    await mallory.close();
    const m2 = await resumeAs(t, mallory.token!);
    await m2.close();
    expect(await alice.quiet((f) => f.type === 'presence_batch' || isOnline(f), WINDOW_MS * 3)).toEqual([]);
    await alice.close();
  });

  it('forgets the watch list when the connection signs out', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    await alice.request({ action: 'watch', users: [bob.username] });
    const [watching] = await t.db.sql`select c.id, c.watches from connections c join users u on u.id = c.user_id where u.username = ${alice.username}`;
    expect(watching!.watches).toBe(true);
    expect((await alice.request({ action: 'auth', op: 'logout' })).type).toBe('logged_out');
    const [row] = await t.db.sql`select watches, (select count(*)::int from presence_watches w where w.connection_id = c.id) as n
      from connections c where c.id = ${watching!.id}`;
    expect(row).toMatchObject({ watches: false, n: 0 });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('online_count: members only, online as members would show it', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const carol = await signUp(t);
    await alice.request({ action: 'join', room: 'counted' });
    await bob.request({ action: 'join', room: 'counted' });
    await carol.request({ action: 'join', room: 'counted' });
    await carol.close();
    // her socket is closed; the server's $disconnect runs just after
    await expect.poll(async () => (await alice.request({ action: 'online_count', room: 'counted' })).online).toBe(2);
    expect(await alice.request({ action: 'online_count', room: 'counted' })).toMatchObject({ type: 'online_count', room: 'counted', online: 2, members: 3 });
    const general = await alice.request({ action: 'online_count', room: 'general' });
    expect(general.members as number).toBeGreaterThan(FILLERS);
    expect(general.online as number).toBeGreaterThanOrEqual(2);
    await alice.request({ action: 'block', user: bob.username });
    expect(await alice.request({ action: 'online_count', room: 'counted' })).toMatchObject({ online: 1, members: 3 });
    const outsider = await signUp(t);
    expect(await outsider.request({ action: 'online_count', room: 'counted' })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await outsider.request({ action: 'online_count', room: 'no-such-room' })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await outsider.request({ action: 'online_count', room: 'Not A Room' })).toMatchObject({ type: 'error', code: 'bad_request' });
    await Promise.all([alice.close(), bob.close(), outsider.close()]);
  });

  it('online_count is budgeted per person', async () => {
    const dora = await signUp(t);
    for (let i = 0; i < COUNTS; i++) expect((await dora.request({ action: 'online_count', room: 'general' })).type).toBe('online_count');
    const refused = await dora.request({ action: 'online_count', room: 'general' });
    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited', retryAfter: expect.any(Number) });
    expect(refused.message).toMatch(/online counts too fast: at most 8 a minute/);
    await dora.close();
  });
});
