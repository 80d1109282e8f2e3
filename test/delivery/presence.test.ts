// Presence never shows someone online whose connections are all gone: not after
// sockets drop, not when a row outlives its socket, not after a hard kill.
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
