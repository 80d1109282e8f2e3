// The send path's budget: one SQL round trip before the fan-out, and the same for
// every change to a message (edit, delete, react). Every statement the server
// sends to the database is counted through postgres.js's `debug` hook on the
// server's own connection pool.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import type { Sql } from '../../functions/core/ports.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { signUp, type TestClient } from '../helpers/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

/**
 * The local server over a fresh test database whose pool reports each statement
 * it sends (the test database's own pool gives way to it: PGlite serves a single
 * connection), with alice and bob signed up.
 */
function countingServer() {
  const t = { statements: [] as string[], alice: undefined as unknown as TestClient, bob: undefined as unknown as TestClient, sql: undefined as unknown as Sql };
  let db: TestDatabase;
  let sql: Sql;
  let server: RunningServer;
  let dataDir: string;
  const mail = new RecordingMailer();
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.sql.end();
    sql = postgres(db.url, { max: db.real ? 5 : 1, onnotice: () => {}, debug: (_connection, query) => t.statements.push(query) });
    t.sql = sql;
    dataDir = await mkdtemp(join(tmpdir(), 'ww-queries-'));
    // No sweep tick may land inside a counted request.
    const config = loadConfig({ ...TEST_ENV, DATA_DIR: dataDir, SWEEP_INTERVAL_SECONDS: '3600' });
    server = await startServer({ config, sql, mailer: mail, webRoot: join(dataDir, 'web') });
    const target = { wsUrl: server.wsUrl, codeFor: (email: string) => mail.codeFor(email) };
    t.alice = await signUp(target);
    t.bob = await signUp(target);
  });
  afterAll(async () => {
    await t.alice?.close();
    await t.bob?.close();
    await server?.close();
    await sql?.end({ timeout: 1 });
    await db?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return t;
}

describe('send', () => {
  const t = countingServer();
  const { statements } = t;
  let alice: TestClient;
  let bob: TestClient;
  beforeAll(() => {
    ({ alice, bob } = t);
  });


  async function countSend(clientId: string): Promise<string[]> {
    // Presence and sign-up work settle first; then only the send runs.
    await bob.quiet('presence', 100);
    statements.length = 0;
    const sent = await alice.request({ action: 'send', room: 'general', text: 'counted', clientId });
    expect(sent.type).toBe('sent');
    await bob.next((f) => f.type === 'message' && (f.message as { clientId: string }).clientId === clientId);
    return [...statements];
  }

  it('takes one statement from frame to fan-out', async () => {
    const first = await countSend('q-1');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/insert into messages/);
    // a channel's send reads no blocks (E22): its statement is as it was
    expect(first[0]).not.toMatch(/blocks/);
    expect(await countSend('q-2')).toHaveLength(1);
  });

  it('takes one statement for a repeat of the same clientId too', async () => {
    const repeat = await countSend('q-1');
    expect(repeat).toHaveLength(1);
  });

  it('takes one statement for a reply that mentions people', async () => {
    const original = await alice.request({ action: 'send', room: 'general', text: 'original', clientId: 'q-o' });
    await bob.next((f) => f.type === 'message' && (f.message as { clientId: string }).clientId === 'q-o');
    await bob.quiet('presence', 100);
    statements.length = 0;
    const id = (original.message as { id: string }).id;
    const sent = await alice.request({ action: 'send', room: 'general', text: `@${bob.username} @here see`, clientId: 'q-r', replyTo: id });
    expect(sent.message).toMatchObject({ replyTo: { id }, mentions: [bob.username], mentionsHere: true });
    await bob.next((f) => f.type === 'message' && (f.message as { clientId: string }).clientId === 'q-r');
    expect(statements).toHaveLength(1);
  });
});

describe('a direct message', () => {
  const t = countingServer();
  const { statements } = t;

  // The block check (E22) is part of the one statement, not a query of its own.
  it('takes one statement, with the block check inside it', async () => {
    const { alice, bob } = t;
    const room = [alice.username!, bob.username!].sort().join(':');
    const first = await alice.request({ action: 'send', room: `dm:${room}`, text: 'opens it', clientId: 'd-0' });
    expect(first.type).toBe('sent');
    await bob.next((f) => f.type === 'message' && (f.message as { clientId: string }).clientId === 'd-0');
    await bob.quiet('presence', 100);
    statements.length = 0;
    const sent = await alice.request({ action: 'send', room: `dm:${room}`, text: 'counted', clientId: 'd-1' });
    expect(sent.type).toBe('sent');
    await bob.next((f) => f.type === 'message' && (f.message as { clientId: string }).clientId === 'd-1');
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/from users o join blocks b/);
    // refused across a block: still one statement, and nothing stored
    await bob.request({ action: 'block', user: alice.username });
    statements.length = 0;
    const refused = await alice.request({ action: 'send', room: `dm:${room}`, text: 'refused', clientId: 'd-2' });
    expect(refused).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(statements).toHaveLength(1);
    await bob.request({ action: 'unblock', user: alice.username });
  });

  // *(E25)* to a person with a push subscription and no active tab: the same one
  // statement up to the fan-out (it says whether a push is wanted), and the
  // selection of the devices to push to only after it (route.ts, Outcome.after).
  it('takes one statement before the fan-out when the other person gets a push', async () => {
    const { alice, bob } = t;
    const room = `dm:${[alice.username!, bob.username!].sort().join(':')}`;
    await t.sql`insert into push_subscriptions (user_id, endpoint, p256dh, auth)
      select id, 'https://push.invalid/bench', 'k', 'a' from users where username = ${bob.username!}`;
    expect(await bob.request({ action: 'activity', state: 'hidden' })).toMatchObject({ away: true });
    await alice.quiet('presence', 100);
    statements.length = 0;
    const sent = await alice.request({ action: 'send', room, text: 'pushed', clientId: 'd-3' });
    expect(sent.type).toBe('sent');
    await bob.next((f) => f.type === 'message' && (f.message as { clientId: string }).clientId === 'd-3');
    expect(statements[0]).toMatch(/insert into messages/);
    expect(statements[0]).toMatch(/push_wanted/);
    for (let i = 0; i < 40 && statements.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(statements.slice(1).every((s) => /push_subscriptions/.test(s))).toBe(true);
    expect(statements.some((s) => /set last_used_at/.test(s))).toBe(true);
  });
});

describe('changes to a message', () => {
  const t = countingServer();
  const { statements } = t;
  let alice: TestClient;
  let bob: TestClient;
  let id: string;

  beforeAll(async () => {
    ({ alice, bob } = t);
    const sent = await alice.request({ action: 'send', room: 'general', text: 'to be changed', clientId: 'c-1' });
    id = (sent.message as { id: string }).id;
  });


  /** The statements from the frame to bob's copy of the change. */
  async function count(who: TestClient, frame: Record<string, unknown>, reply: string): Promise<string[]> {
    await bob.quiet('presence', 100);
    statements.length = 0;
    const answer = await who.request(frame);
    expect(answer.type).toBe(reply);
    await bob.next((f) => f.type === 'changed');
    return [...statements];
  }

  it('takes one statement to edit', async () => {
    const edit = await count(alice, { action: 'edit', room: 'general', message: id, text: 'changed' }, 'edited');
    expect(edit).toHaveLength(1);
    expect(edit[0]).toMatch(/update messages/);
  });

  it('takes one statement to add a reaction, and one to remove it', async () => {
    expect(await count(bob, { action: 'react', room: 'general', message: id, emoji: '👍' }, 'reacted')).toHaveLength(1);
    expect(await count(bob, { action: 'react', room: 'general', message: id, emoji: '👍', on: false }, 'reacted')).toHaveLength(1);
  });

  it('takes one statement to delete', async () => {
    const deleted = await count(alice, { action: 'delete', room: 'general', message: id }, 'deleted_message');
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatch(/deleted_at = now\(\)/);
  });
});
