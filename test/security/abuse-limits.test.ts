// Resource exhaustion: every action has a budget per user (not only per
// connection), a user's authenticated connections and an address's anonymous ones
// are capped, connections per address are rate-limited, and channel creation has a
// quota. Each limit is set low here and hit over real sockets.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Logger } from '../../functions/core/ports.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Starts a server with `env` for the describe block around the call. */
function serverWith(env: Record<string, string>): () => TestServer {
  let t: TestServer | undefined;
  beforeAll(async () => {
    t = await startTestServer(env);
  });
  afterAll(() => t?.close());
  return () => t!;
}

/** The handshake's HTTP status, or 101 when the socket opened (and is closed again). */
function handshakeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
  });
}

const send = (c: TestClient, text: string, clientId: string, room = 'general') => c.request({ action: 'send', room, text, clientId });
const RETRY = /Try again in \d+ (s|min|h)\b/;

describe('sends per user, across connections', () => {
  const t = serverWith({ MESSAGE_BURST: '5', USER_MESSAGE_BURST: '7', USER_MESSAGES_PER_MINUTE: '6' });

  it('refuses once the user has sent the burst, whichever socket sends', async () => {
    const alice = await signUp(t(), newAccount('multi'));
    for (let i = 0; i < 5; i++) expect((await send(alice, `a${i}`, `a${i}`)).type).toBe('sent');
    const tab = await resumeAs(t(), alice.token!);
    expect((await send(tab, 'b0', 'b0')).type).toBe('sent');
    expect((await send(tab, 'b1', 'b1')).type).toBe('sent');

    const refused = await send(tab, 'b2', 'b2');

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(/all your connections/);
    expect(String(refused.message)).toMatch(RETRY);
    await Promise.all([alice.close(), tab.close()]);
  });

  it('holds when many sockets send at once', async () => {
    const bob = await signUp(t(), newAccount('swarm'));
    const tabs = await Promise.all(Array.from({ length: 4 }, () => resumeAs(t(), bob.token!)));
    const replies = await Promise.all(
      [bob, ...tabs].flatMap((c, i) => Array.from({ length: 5 }, (_, j) => send(c, `s${i}-${j}`, `s${i}-${j}`))),
    );
    const sent = replies.filter((r) => r.type === 'sent').length;
    // 7 at once, and perhaps one more refilled while the 25 were in flight
    expect(sent).toBeGreaterThanOrEqual(7);
    expect(sent).toBeLessThanOrEqual(8);
    const [row] = await t().db.sql`
      select count(*)::int as n from messages m join users u on u.id = m.sender_id where u.username = ${bob.username}`;
    expect(row!.n).toBe(sent);
    await Promise.all([bob, ...tabs].map((c) => c.close()));
  });
});

describe('authenticated connections per user', () => {
  const t = serverWith({ CONNECTIONS_PER_USER: '3' });

  it('refuses the sign-in beyond the cap, and admits one again when a socket closes', async () => {
    const alice = await signUp(t(), newAccount('conns'));
    const second = await resumeAs(t(), alice.token!);
    const third = await TestClient.connect(t().wsUrl);
    expect((await third.request({ action: 'auth', op: 'login', username: alice.username, password: alice.password })).type).toBe('authed');

    const fourth = await TestClient.connect(t().wsUrl);
    const refused = await fourth.request({ action: 'auth', op: 'resume', token: alice.token });

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(/3 connections/);
    // the refused socket is not logged in
    expect(await fourth.request({ action: 'join', room: 'general' })).toMatchObject({ code: 'unauthorized' });
    const [row] = await t().db.sql`
      select count(*)::int as n from connections c join users u on u.id = c.user_id where u.username = ${alice.username}`;
    expect(row!.n).toBe(3);

    await second.close();
    await new Promise((r) => setTimeout(r, 100)); // its $disconnect
    expect((await fourth.request({ action: 'auth', op: 'resume', token: alice.token })).type).toBe('authed');
    await Promise.all([alice.close(), third.close(), fourth.close()]);
  });

  it('holds against parallel sign-ins', async () => {
    const bob = await signUp(t(), newAccount('rush'));
    const sockets = await Promise.all(Array.from({ length: 8 }, () => TestClient.connect(t().wsUrl)));
    const replies = await Promise.all(sockets.map((s) => s.request({ action: 'auth', op: 'resume', token: bob.token })));
    expect(replies.filter((r) => r.type === 'authed').length).toBeLessThanOrEqual(2);
    const [row] = await t().db.sql`
      select count(*)::int as n from connections c join users u on u.id = c.user_id where u.username = ${bob.username}`;
    expect(row!.n).toBeLessThanOrEqual(3);
    await Promise.all([bob, ...sockets].map((c) => c.close()));
  });
});

describe('sign-ins per user', () => {
  const t = serverWith({ LOGINS_PER_USER_PER_HOUR: '4' });

  it('bounds resume-and-close cycles, and with them the presence frames roommates get', async () => {
    const [alice, bob] = await Promise.all([signUp(t(), newAccount('churn')), signUp(t(), newAccount('churn'))]);
    await alice.close(); // sign-up was the first sign-in
    await bob.quiet('presence', 100);
    const replies = [];
    for (let i = 0; i < 8; i++) {
      const c = await TestClient.connect(t().wsUrl);
      replies.push(await c.request({ action: 'auth', op: 'resume', token: alice.token }));
      await c.close();
    }

    expect(replies.slice(0, 3).map((r) => r.type)).toEqual(['authed', 'authed', 'authed']);
    expect(replies.slice(3).map((r) => r.code)).toEqual(Array(5).fill('rate_limited'));
    expect(String(replies[3]!.message)).toMatch(/sign-ins/);
    expect(String(replies[3]!.message)).toMatch(RETRY);
    await bob.quiet('presence', 300);
    const churn = bob.all((f) => f.type === 'presence' && f.user === alice.username);
    expect(churn.length).toBeLessThanOrEqual(2 * 4);
    await bob.close();
  });
});

describe('anonymous connections per address', () => {
  const t = serverWith({ ANONYMOUS_CONNECTIONS_PER_ADDRESS: '3' });

  it('refuses the handshake beyond the cap with 429; signed-in sockets do not count', async () => {
    const alice = await signUp(t(), newAccount('anon'));
    const open = await Promise.all([1, 2, 3].map(() => TestClient.connect(t().wsUrl)));

    expect(await handshakeStatus(t().wsUrl)).toBe(429);

    await open[0]!.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(await handshakeStatus(t().wsUrl)).toBe(101);
    await Promise.all([alice, ...open.slice(1)].map((c) => c.close()));
  });
});

describe('new connections per address', () => {
  const t = serverWith({ CONNECTIONS_PER_ADDRESS_PER_MINUTE: '5' });

  it('refuses the handshake with 429 once the address has opened its budget', async () => {
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push(await handshakeStatus(t().wsUrl));
    expect(statuses).toEqual([101, 101, 101, 101, 101, 429, 429]);
  });
});

describe('joins per user', () => {
  const t = serverWith({ JOINS_PER_MINUTE: '3' });

  it('refuses the join beyond the budget; a member re-joining a room is a read, not a join', async () => {
    const alice = await signUp(t(), newAccount('joins'));
    const base = `j${process.pid % 1000}`;
    for (let i = 0; i < 3; i++) expect((await alice.request({ action: 'join', room: `${base}-${i}` })).type).toBe('joined');

    const refused = await alice.request({ action: 'join', room: `${base}-3` });

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(/joining rooms too fast/);
    expect(String(refused.message)).toMatch(RETRY);
    const [row] = await t().db.sql`select count(*)::int as n from rooms where id = ${`${base}-3`}`;
    expect(row!.n).toBe(0);
    // syncing a room one is in (the web client does it on every reconnect) still works
    expect((await alice.request({ action: 'join', room: `${base}-0` })).type).toBe('joined');
    await alice.close();
  });
});

describe('channel creation per user', () => {
  const t = serverWith({ ROOMS_CREATED_PER_DAY: '2' });

  it('refuses a new room beyond the daily quota, but lets one join rooms that exist', async () => {
    const [alice, bob] = await Promise.all([signUp(t(), newAccount('maker')), signUp(t(), newAccount('maker'))]);
    const base = `c${process.pid % 1000}`;
    expect((await alice.request({ action: 'join', room: `${base}-a` })).type).toBe('joined');
    expect((await alice.request({ action: 'join', room: `${base}-b` })).type).toBe('joined');

    const refused = await alice.request({ action: 'join', room: `${base}-c` });

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(/new rooms/);
    expect(String(refused.message)).toMatch(RETRY);
    expect((await bob.request({ action: 'join', room: `${base}-c` })).type).toBe('joined');
    expect((await alice.request({ action: 'join', room: `${base}-c` })).type).toBe('joined');
    // a new direct conversation is a new room too
    const carol = await signUp(t(), newAccount('maker'));
    const dm = await send(alice, 'hello', 'dm-1', dmRoomId(alice.username, carol.username));
    expect(dm).toMatchObject({ type: 'error', code: 'rate_limited' });
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});

describe('rooms per user', () => {
  const t = serverWith({ ROOMS_PER_USER: '3' });

  it('caps the rooms a user is in, so the authed reply stays bounded', async () => {
    const alice = await signUp(t(), newAccount('member'));
    const base = `m${process.pid % 1000}`;
    expect((await alice.request({ action: 'join', room: `${base}-a` })).type).toBe('joined');
    expect((await alice.request({ action: 'join', room: `${base}-b` })).type).toBe('joined');

    const refused = await alice.request({ action: 'join', room: `${base}-c` });

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(/3 channels/);
    const again = await resumeAs(t(), alice.token!);
    expect((again.frames.find((f) => f.type === 'authed')!.rooms as unknown[]).length).toBe(3);
    expect((await alice.request({ action: 'leave', room: `${base}-a` })).type).toBe('left');
    expect((await alice.request({ action: 'join', room: `${base}-c` })).type).toBe('joined');
    await Promise.all([alice.close(), again.close()]);
  });

  it('does not count conversations others open: strangers cannot fill a quota, nor learn it', async () => {
    const victim = await signUp(t(), newAccount('target'));
    const strangers = await Promise.all([1, 2, 3, 4].map(() => signUp(t(), newAccount('stranger'))));
    const room = (s: TestClient) => dmRoomId(s.username!, victim.username!);
    for (const [i, s] of strangers.slice(0, 3).entries()) {
      const reply = await send(s, `hi ${i}`, `dm-${i}`, room(s));
      expect(reply.type, JSON.stringify(reply)).not.toBe('error');
    }
    // The victim, in #general and three conversations, can still join channels up to the cap.
    const base = `v${process.pid % 1000}`;
    expect((await victim.request({ action: 'join', room: `${base}-a` })).type).toBe('joined');
    expect((await victim.request({ action: 'join', room: `${base}-b` })).type).toBe('joined');
    // At the cap, a stranger still reaches them, and no reply tells anyone their count.
    const last = await send(strangers[3]!, 'hello', 'dm-last', room(strangers[3]!));
    expect(last.type, JSON.stringify(last)).not.toBe('error');
    await Promise.all([victim.close(), ...strangers.map((s) => s.close())]);
  });
});

describe('history, leave and purge per user', () => {
  const t = serverWith({ READ_BURST: '3', READS_PER_MINUTE: '6', LEAVES_PER_MINUTE: '2', PURGES_PER_HOUR: '2' });

  it('limits history pages (and re-joins, which read the same) per user', async () => {
    const alice = await signUp(t(), newAccount('reader'));
    const tab = await resumeAs(t(), alice.token!);
    expect((await alice.request({ action: 'history', room: 'general' })).type).toBe('history');
    expect((await tab.request({ action: 'history', room: 'general' })).type).toBe('history');
    expect((await alice.request({ action: 'join', room: 'general' })).type).toBe('joined');

    const refused = await tab.request({ action: 'history', room: 'general' });

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(/history/);
    expect(String(refused.message)).toMatch(RETRY);
    await Promise.all([alice.close(), tab.close()]);
  });

  it('limits member and room list pages per user, across sockets, as reads', async () => {
    const alice = await signUp(t(), newAccount('lister'));
    const tab = await resumeAs(t(), alice.token!);
    expect((await alice.request({ action: 'members', room: 'general' })).type).toBe('members');
    expect((await tab.request({ action: 'rooms' })).type).toBe('rooms');
    expect((await tab.request({ action: 'members', room: 'general' })).type).toBe('members');

    for (const frame of [{ action: 'members', room: 'general' }, { action: 'rooms' }]) {
      const refused = await alice.request(frame);
      expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
      expect(String(refused.message)).toMatch(/member lists/);
      expect(String(refused.message)).toMatch(RETRY);
    }
    await Promise.all([alice.close(), tab.close()]);
  });

  it('limits leaves per user', async () => {
    const alice = await signUp(t(), newAccount('leaver'));
    const base = `l${process.pid % 1000}`;
    for (const r of ['a', 'b', 'c']) expect((await alice.request({ action: 'join', room: `${base}-${r}` })).type).toBe('joined');
    expect((await alice.request({ action: 'leave', room: `${base}-a` })).type).toBe('left');
    expect((await alice.request({ action: 'leave', room: `${base}-b` })).type).toBe('left');

    const refused = await alice.request({ action: 'leave', room: `${base}-c` });

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(/leaving rooms too fast/);
    const [row] = await t().db.sql`
      select count(*)::int as n from memberships m join users u on u.id = m.user_id
      where u.username = ${alice.username} and m.room_id = ${`${base}-c`}`;
    expect(row!.n).toBe(1);
    await alice.close();
  });

  it('limits purges per user', async () => {
    const alice = await signUp(t(), newAccount('purger'));
    expect((await alice.request({ action: 'purge' })).type).toBe('purged');
    expect((await alice.request({ action: 'purge' })).type).toBe('purged');
    expect((await send(alice, 'still here', 'p-1')).type).toBe('sent');

    const refused = await alice.request({ action: 'purge' });

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(RETRY);
    const [row] = await t().db.sql`
      select count(*)::int as n from messages m join users u on u.id = m.sender_id where u.username = ${alice.username}`;
    expect(row!.n).toBe(1);
    await alice.close();
  });
});

describe('limit hits and old buckets', () => {
  const t = serverWith({ JOINS_PER_MINUTE: '1', SWEEP_INTERVAL_SECONDS: '1' });

  it('logs each limit hit as a security event naming the action and the user', async () => {
    const events: Array<Record<string, unknown>> = [];
    const quiet = () => {};
    const recorder: Logger = { info: quiet, error: quiet, warn: (_m, f) => void (f?.security && events.push(f)) };
    const log = t().server.deps.log;
    t().server.deps.log = recorder;
    try {
      const alice = await signUp(t(), newAccount('logged'));
      await alice.request({ action: 'join', room: `log-${process.pid % 1000}-a` });
      expect(await alice.request({ action: 'join', room: `log-${process.pid % 1000}-b` })).toMatchObject({ code: 'rate_limited' });
      expect(events).toContainEqual(expect.objectContaining({ security: 'rate_limited', action: 'join', user: alice.username }));
      await alice.close();
    } finally {
      t().server.deps.log = log;
    }
  });

  it('prunes buckets untouched for a day on the sweep', async () => {
    const old = new Date(Date.now() - 25 * 60 * 60 * 1000);
    await t().db.sql`insert into rate_budgets (key, tokens, updated_at) values ('join:user:0', 0, ${old})`;
    const deadline = Date.now() + 5000;
    let left = 1;
    while (left > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      [{ n: left }] = (await t().db.sql`select count(*)::int as n from rate_budgets where key = 'join:user:0'`) as unknown as [{ n: number }];
    }
    expect(left).toBe(0);
  });
});
