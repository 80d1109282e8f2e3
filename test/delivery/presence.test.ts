// Presence never shows someone online whose connections are all gone: not after
// sockets drop, not when a row outlives its socket, not after a hard kill.
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ServerProcess } from './process.js';

type Member = { username: string; online: boolean };

async function membersOf(c: TestClient, room = 'general'): Promise<Map<string, boolean>> {
  const joined = await c.request({ action: 'join', room });
  expect(joined.type).toBe('joined');
  return new Map((joined.members as Member[]).map((m) => [m.username, m.online]));
}

describe('in one process', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());

  it('goes offline only when the last of several connections drops, without a closing handshake', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const bob2 = await resumeAs(t, bob.token!);
    expect((await membersOf(alice)).get(bob.username)).toBe(true);

    bob.ws.terminate();
    await bob.closed;
    expect((await membersOf(alice)).get(bob.username)).toBe(true);
    expect(alice.all((f) => f.type === 'presence' && f.user === bob.username && f.online === false)).toHaveLength(0);

    bob2.ws.terminate();
    const offline = await alice.next((f) => f.type === 'presence' && f.user === bob.username && f.online === false);
    expect(offline.room).toBe('general');
    expect((await membersOf(alice)).get(bob.username)).toBe(false);
    await alice.close();
  });

  it('goes offline when all of a user\'s connections close at the same moment', async () => {
    // Each close checks for the user's other connections; done before the other
    // closes have committed, every one of them would see another still open.
    const alice = await signUp(t);
    for (let round = 0; round < 8; round++) {
      const bob = await signUp(t);
      const others = await Promise.all([resumeAs(t, bob.token!), resumeAs(t, bob.token!)]);
      await alice.next((f) => f.type === 'presence' && f.user === bob.username && f.online === true);
      for (const c of [bob, ...others]) c.ws.terminate();
      await alice.next((f) => f.type === 'presence' && f.user === bob.username && f.online === false);
      expect((await membersOf(alice)).get(bob.username)).toBe(false);
    }
    await alice.close();
  });

  it('drops a row whose socket is gone the first time a frame cannot reach it', async () => {
    const alice = await signUp(t);
    const carol = await signUp(t);
    const [row] = await t.db.sql<{ user_id: string }[]>`select user_id from connections where user_id = (select id from users where username = ${carol.username})`;
    await carol.close();
    await alice.next((f) => f.type === 'presence' && f.user === carol.username && f.online === false);
    // A row left behind, as after a lost $disconnect: carol looks online.
    await t.db.sql`insert into connections (id, user_id, authed_at) values ('ghost-of-carol', ${row!.user_id}, now())`;
    expect((await membersOf(alice)).get(carol.username)).toBe(true);

    // The next fan-out finds no socket for it: the row goes, and so does "online".
    await alice.request({ action: 'send', room: 'general', text: 'anyone there?', clientId: 'ghost-1' });
    await alice.next((f) => f.type === 'presence' && f.user === carol.username && f.online === false);
    expect((await membersOf(alice)).get(carol.username)).toBe(false);
    const [left] = await t.db.sql`select count(*)::int as n from connections where id = 'ghost-of-carol'`;
    expect(left!.n).toBe(0);
    await alice.close();
  });
});

describe('across a hard kill', () => {
  let dataDir: string;
  let server: ServerProcess;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ww-presence-'));
    server = new ServerProcess({ DATA_DIR: dataDir, SCRYPT_N: '1024', LOG_LEVEL: 'error' });
    await server.start();
  }, 60_000);
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  async function register(username: string): Promise<{ client: TestClient; token: string }> {
    const client = await signUp(server, { username, email: `${username}@example.com`, password: 'presence password' });
    return { client, token: client.token! };
  }

  it('shows nobody online after SIGKILL and a restart until they reconnect', async () => {
    const dora = await register('dora');
    const erin = await register('erin');
    expect((await membersOf(dora.client)).get('erin')).toBe(true);

    await server.stop('SIGKILL'); // no $disconnect ran: the rows are still there
    await Promise.all([dora.client.closed, erin.client.closed]);
    await server.start();

    const dora2 = await TestClient.connect(server.wsUrl);
    expect((await dora2.request({ action: 'auth', op: 'resume', token: dora.token })).type).toBe('authed');
    const members = await membersOf(dora2);
    expect(members.get('erin')).toBe(false);
    expect(members.get('dora')).toBe(true);

    const erin2 = await TestClient.connect(server.wsUrl);
    await erin2.request({ action: 'auth', op: 'resume', token: erin.token });
    await dora2.next((f) => f.type === 'presence' && f.user === 'erin' && f.online === true);
    await Promise.all([dora2.close(), erin2.close()]);
  }, 60_000);
});

// E23, model-based: random runs of people coming and going while watchers change
// their lists, against the real server with a short window. A watcher's view is
// its `watching` replies and `presence_batch` frames applied in order, the last
// status winning; once things settle it must equal the model for everyone it
// watches, and it must never have heard v1 online frames.
describe('presence subscriptions against a model', () => {
  const WINDOW = 60;
  let t: TestServer;
  let watchers: TestClient[];
  let subjects: Array<{ username: string; token: string }>;
  beforeAll(async () => {
    t = await startTestServer({ PRESENCE_BATCH_MS: String(WINDOW), WATCHES_PER_MINUTE: '100000', LOGINS_PER_USER_PER_HOUR: '100000' });
    watchers = [await signUp(t), await signUp(t)];
    // opted in from the start: no v1 online frame may ever reach them
    for (const w of watchers) await w.request({ action: 'watch', users: [] });
    subjects = [];
    for (let i = 0; i < 3; i++) {
      const s = await signUp(t);
      subjects.push({ username: s.username, token: s.token! });
      await s.close();
    }
  }, 60_000);
  afterAll(() => t?.close());

  it('each watcher ends showing the model for everyone it watches', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const live = new Map<number, TestClient>();
    const view = (c: TestClient) => {
      const state = new Map<string, string>();
      for (const f of c.frames) if (f.type === 'watching' || f.type === 'presence_batch') for (const [u, s] of Object.entries(f.presence as Record<string, string>)) state.set(u, s);
      return state;
    };
    const watching = new Map<TestClient, number[]>(watchers.map((w) => [w, []]));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('toggle' as const), who: fc.nat(2) }),
      fc.record({ kind: fc.constant('watch' as const), watcher: fc.nat(1), list: fc.subarray([0, 1, 2]) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 2 * WINDOW }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
        for (const o of ops) {
          if (o.kind === 'toggle') {
            const c = live.get(o.who);
            if (c) {
              live.delete(o.who);
              await c.close();
            } else live.set(o.who, await resumeAs(t, subjects[o.who]!.token));
          } else if (o.kind === 'watch') {
            const w = watchers[o.watcher]!;
            watching.set(w, o.list);
            expect((await w.request({ action: 'watch', users: o.list.map((i) => subjects[i]!.username) })).type).toBe('watching');
          } else await sleep(o.ms);
        }
        // settled: every close processed, every window flushed
        for (let i = 0; i < 100; i++) {
          const n = await t.db.sql`select count(*)::int as n from connections c join users u on u.id = c.user_id where u.username = any(${subjects.map((s) => s.username)})`;
          if (n[0]!.n === live.size) break;
          await sleep(20);
        }
        await sleep(4 * WINDOW);
        for (const w of watchers) {
          const state = view(w);
          for (const i of watching.get(w)!) expect(state.get(subjects[i]!.username), `${w.username} sees ${subjects[i]!.username}`).toBe(live.has(i) ? 'online' : 'offline');
          expect(w.all((f) => f.type === 'presence' && 'online' in f && subjects.some((s) => s.username === f.user)).length).toBe(0);
        }
      }),
      { numRuns: Number(process.env.PRESENCE_MODEL_RUNS ?? 15), endOnFailure: true },
    );
    for (const c of live.values()) await c.close();
  }, 120_000);
});
