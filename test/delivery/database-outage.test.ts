// PostgreSQL goes away and comes back. A TCP proxy between the server and the
// database is cut (every open connection reset, then the port closed, as when
// the database host fails) and restored on the same port.
// In between, requests get `internal` and the server stays up; afterwards it
// serves again on the same sockets, without a restart, and nothing half-written
// is left: a send retried with its clientId is stored exactly once.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { createSql } from '../../functions/adapters/db.js';
import type { Sql } from '../../functions/core/ports.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { TestClient, newAccount } from '../helpers/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

/** A loopback TCP proxy that can be cut and restored. */
class CuttableProxy {
  private sockets = new Set<Socket>();
  private server: Server;
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Resets every connection and closes the port, like a database host that failed. */
  async goAway(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.resetAndDestroy();
    await closed;
  }

  comeBack(): Promise<void> {
    return this.start();
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.goAway();
  }
}

let db: TestDatabase;
let proxy: CuttableProxy;
let sql: Sql;
let server: RunningServer;
let dataDir: string;
const mail = new RecordingMailer();
const log = new RecordingLogger();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ww-outage-'));
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = new CuttableProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  target.host = `127.0.0.1:${proxy.port}`;
  // PGlite serves one connection; its own test handle must not hold it.
  if (!db.real) await db.sql.end();
  sql = createSql(target.toString(), { max: db.real ? 4 : 1, log });
  server = await startServer({ config: loadConfig({ ...TEST_ENV, DATA_DIR: dataDir, LOG_LEVEL: process.env.OUTAGE_LOG ?? 'silent' }), sql, mailer: mail, webRoot: join(dataDir, 'web') });
});

afterAll(async () => {
  await server?.close();
  await sql?.end({ timeout: 1 });
  await proxy?.close();
  if (db?.real) await db.close();
  else await db?.close().catch(() => {});
  await rm(dataDir, { recursive: true, force: true });
});

it('answers internal while the database is away, and serves again when it is back', async () => {
  const account = newAccount('outage');
  const alice = await TestClient.connect(server.wsUrl);
  await alice.request({ action: 'auth', op: 'register', ...account });
  expect((await alice.request({ action: 'auth', op: 'verify', username: account.username, code: await mail.codeFor(account.email) })).type).toBe('authed');
  const first = await alice.request({ action: 'send', room: 'general', text: 'before', clientId: 'o-1' });
  expect(first.type).toBe('sent');

  await proxy.goAway();
  // A send racing the cut may or may not have committed; the client cannot know.
  const during = await alice.request({ action: 'send', room: 'general', text: 'during', clientId: 'o-2' });
  expect(during).toMatchObject({ type: 'error', code: 'internal' });
  expect(String(during.message)).not.toMatch(/ECONN|postgres|select|insert/i);
  expect((await alice.request({ action: 'history', room: 'general' })).code).toBe('internal');
  expect((await alice.request({ action: 'join', room: 'elsewhere' })).code).toBe('internal');
  // The heartbeat needs no database, and a new socket is refused cleanly.
  expect((await alice.request({ action: 'ping' })).type).toBe('pong');
  await expect(TestClient.connect(server.wsUrl)).rejects.toThrow(/HTTP 500/);

  await proxy.comeBack();
  // Same socket, same server process: the pool reconnects on the next query.
  const retried = await alice.request({ action: 'send', room: 'general', text: 'during', clientId: 'o-2' });
  expect(retried.type).toBe('sent');
  const again = await alice.request({ action: 'send', room: 'general', text: 'during', clientId: 'o-2' });
  expect((again.message as { id: string }).id).toBe((retried.message as { id: string }).id);
  const after = await alice.request({ action: 'send', room: 'general', text: 'after', clientId: 'o-3' });
  expect(after.type).toBe('sent');
  // One security event for the outage, however many requests failed in it.
  expect(log.events('database_unavailable')).toHaveLength(1);

  const page = await alice.request({ action: 'history', room: 'general', limit: 100 });
  const mine = (page.messages as Array<{ from: string; clientId: string; text: string }>).filter((m) => m.from === account.username);
  expect(mine.map((m) => [m.clientId, m.text])).toEqual([
    ['o-1', 'before'],
    ['o-2', 'during'],
    ['o-3', 'after'],
  ]);
  const bob = await TestClient.connect(server.wsUrl);
  expect((await bob.request({ action: 'auth', op: 'resume', token: 'not-a-token' })).code).toBe('unauthorized');
  await Promise.all([alice.close(), bob.close()]);
});

it('survives an outage that starts in the middle of a burst of sends', async () => {
  const account = newAccount('burst');
  const c = await TestClient.connect(server.wsUrl);
  await c.request({ action: 'auth', op: 'register', ...account });
  await c.request({ action: 'auth', op: 'verify', username: account.username, code: await mail.codeFor(account.email) });
  for (let i = 0; i < 10; i++) c.send({ action: 'send', room: 'general', text: `m${i}`, clientId: `b-${i}`, id: `s${i}` });
  setTimeout(() => void proxy.goAway(), 5);
  const replies = await Promise.all([...Array(10).keys()].map((i) => c.next((f) => f.re === `s${i}`)));
  for (const r of replies) expect(['sent', 'error']).toContain(r.type);
  for (const r of replies) if (r.type === 'error') expect(r.code).toBe('internal');
  await proxy.comeBack();

  // Retrying every send, acknowledged or not, leaves each stored exactly once.
  for (let i = 0; i < 10; i++) {
    expect((await c.request({ action: 'send', room: 'general', text: `m${i}`, clientId: `b-${i}` })).type).toBe('sent');
  }
  const page = await c.request({ action: 'history', room: 'general', limit: 100 });
  const mine = (page.messages as Array<{ from: string; clientId: string }>).filter((m) => m.from === account.username);
  expect(mine.map((m) => m.clientId)).toEqual([...Array(10).keys()].map((i) => `b-${i}`));
  await c.close();
});
