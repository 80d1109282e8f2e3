// The Lambda handlers as API Gateway calls them: events in, frames out through
// the gateway port (a recording one here), rows in PostgreSQL.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onDefault } from '../../functions/default.js';
import { handler as onDisconnect } from '../../functions/disconnect.js';
import { handler as onJoin } from '../../functions/join.js';
import { handler as onSend } from '../../functions/send.js';
import { handler as onSweep } from '../../functions/sweep.js';
import { apiGatewayEvent } from '../../server/events.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import type { Deps } from '../../functions/core/ports.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectEvent, disconnectEvent, messageEvent } from '../helpers/events.js';
import { RecordingGateway, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let deps: Deps;
const gateway = new RecordingGateway();
const mailer = new RecordingMailer();
const logged: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  deps = {
    sql: db.sql,
    gateway,
    mailer,
    clock: { now: () => new Date() },
    log: { info: () => {}, warn: () => {}, error: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`) },
    settings: loadConfig(TEST_ENV).settings,
  };
  installDeps(deps);
});
afterAll(async () => {
  installDeps(undefined);
  await db?.close();
});
beforeEach(() => gateway.clear());

let n = 0;
/** Connects and signs up a user through the handlers; returns its connection id. */
async function user(name = `h${++n}_${Date.now() % 10000}`): Promise<string> {
  const cid = `conn-${name}`;
  expect(await onConnect(connectEvent(cid))).toEqual({ statusCode: 200 });
  await onAuth(messageEvent(cid, { action: 'auth', op: 'register', username: name, email: `${name}@example.com`, password: 'long enough pw' }));
  const code = await mailer.codeFor(`${name}@example.com`);
  await onAuth(messageEvent(cid, { action: 'auth', op: 'verify', username: name, code, id: 'v' }));
  expect(gateway.framesTo(cid).at(-1)).toMatchObject({ type: 'authed', re: 'v' });
  return cid;
}

describe('$connect', () => {
  it('records an anonymous connection', async () => {
    await onConnect(connectEvent('c-anon', { Origin: 'https://test.execute-api.local', Host: 'test.execute-api.local' }));
    const [row] = await db.sql`select user_id from connections where id = 'c-anon'`;
    expect(row).toEqual({ user_id: null });
  });

  it('refuses a browser from another origin and records nothing', async () => {
    const res = await onConnect(connectEvent('c-evil', { Origin: 'https://evil.example', Host: 'test.execute-api.local' }));
    expect(res).toEqual({ statusCode: 403 });
    expect(await db.sql`select 1 from connections where id = 'c-evil'`).toHaveLength(0);
  });

  it('refuses with 429 an address over its limit of anonymous sockets, and records nothing', async () => {
    installDeps({ ...deps, settings: { ...deps.settings, anonymousConnectionsPerAddress: 2 } });
    const from = (id: string) => apiGatewayEvent('$connect', id, { host: 'test.execute-api.local', sourceIp: '198.51.100.7' });
    try {
      expect(await onConnect(from('c-ip-1'))).toEqual({ statusCode: 200 });
      expect(await onConnect(from('c-ip-2'))).toEqual({ statusCode: 200 });
      expect(await onConnect(from('c-ip-3'))).toEqual({ statusCode: 429 });
    } finally {
      installDeps(deps);
    }
    expect(await db.sql`select 1 from connections where id = 'c-ip-3'`).toHaveLength(0);
    await db.sql`delete from connections where id in ('c-ip-1', 'c-ip-2')`;
  });
});

describe('sweep', () => {
  it('deletes budget buckets idle for more than a day', async () => {
    const old = new Date(Date.now() - 25 * 60 * 60 * 1000);
    await db.sql`insert into rate_budgets (key, tokens, updated_at) values ('join:user:old', 0, ${old}), ('join:user:new', 0, now())`;
    await onSweep();
    expect((await db.sql`select key from rate_budgets where key like 'join:user:%'`).map((r) => r.key)).toEqual(['join:user:new']);
  });

  it('deletes expired disappearing messages for good and tells the room (AWS: the scheduled sweep)', async () => {
    const a = await user();
    const b = await user();
    const [names] = await db.sql<{ a: string; b: string }[]>`
      select (select u.username from connections c join users u on u.id = c.user_id where c.id = ${a}) as a,
             (select u.username from connections c join users u on u.id = c.user_id where c.id = ${b}) as b`;
    const room = `dm:${[names!.a, names!.b].sort().join(':')}`;
    await onSend(messageEvent(a, { action: 'send', room, text: 'open', clientId: 'x0' }));
    await onDefault(messageEvent(a, { action: 'set_timer', room, seconds: 300 }));
    await onSend(messageEvent(a, { action: 'send', room, text: 'short-lived', clientId: 'x1' }));
    const [row] = await db.sql<{ id: string }[]>`select id::text from messages where room_id = ${room} and body = 'short-lived'`;
    await db.sql`update messages set expires_at = now() - interval '1 second' where id = ${row!.id}`; // five minutes pass
    gateway.clear();

    await onSweep();

    expect(await db.sql`select 1 from messages where id = ${row!.id}`).toHaveLength(0);
    const told = { type: 'expired', room, through: expect.any(String), seq: expect.any(String), prevSeq: expect.any(String) };
    expect(gateway.framesTo(a)).toEqual([told]);
    expect(gateway.framesTo(b)).toEqual([told]);
    expect(await db.sql`select body from messages where room_id = ${room} order by id`).toEqual([
      { body: 'open' },
      { body: `${names!.a} set messages to disappear after 5 minutes` },
    ]);
  });
});

describe('the shared wrapper', () => {
  it('replies with re, then fans out; a gone connection loses its row and roommates hear it', async () => {
    const a = await user();
    const b = await user();
    gateway.clear();
    gateway.gone.add(b);
    await onSend(messageEvent(a, { action: 'send', id: 's1', room: 'general', text: 'hi', clientId: 'w1' }));
    const [first] = gateway.posts;
    expect(first).toMatchObject({ to: a, frame: { type: 'sent', re: 's1' } });
    expect(gateway.framesTo(a).map((f) => f.type)).toEqual(['sent', 'message', 'presence']);
    expect(gateway.framesTo(a).at(-1)).toMatchObject({ type: 'presence', online: false });
    expect(await db.sql`select 1 from connections where id = ${b}`).toHaveLength(0);
    gateway.gone.clear();
  });

  it('turns an unexpected failure into `internal`, logs it, and tells the client nothing more', async () => {
    const a = await user();
    // every query fails, with a message that must stay on the server
    installDeps({ ...deps, sql: new Proxy(deps.sql, { apply: () => Promise.reject(new Error('relation "secret_table" does not exist')) }) });
    try {
      await onJoin(messageEvent(a, { action: 'join', id: 'j', room: 'general' }));
    } finally {
      installDeps(deps);
    }
    const reply = gateway.framesTo(a).at(-1)!;
    expect(reply).toEqual({ type: 'error', re: 'j', code: 'internal', message: 'Something went wrong on our side. Please try again.' });
    expect(logged.at(-1)).toContain('secret_table');
  });

  it('answers ping with pong and an unknown action with bad_request', async () => {
    await onDefault(messageEvent('c-anon', { action: 'ping', id: 'p' }));
    await onDefault(messageEvent('c-anon', { action: 'teleport', id: 't' }));
    await onDefault(messageEvent('c-anon', '{"broken'));
    expect(gateway.framesTo('c-anon')).toEqual([
      { type: 'pong', re: 'p', serverTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { type: 'error', re: 't', code: 'bad_request', message: 'Unknown action "teleport".' },
      { type: 'error', code: 'bad_request', message: 'A frame must be a JSON object.' },
    ]);
  });
});

describe('$disconnect', () => {
  it('deletes the row and tells roommates when the last connection goes', async () => {
    const a = await user();
    const b = await user();
    gateway.clear();
    await onDisconnect(disconnectEvent(b));
    expect(await db.sql`select 1 from connections where id = ${b}`).toHaveLength(0);
    expect(gateway.framesTo(a)).toContainEqual({ type: 'presence', room: 'general', user: expect.any(String), online: false });
  });
});
