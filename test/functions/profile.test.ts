// Profiles, account deletion and export through the Lambda handlers as API
// Gateway calls them (the AWS hosting): a profile change is one post per
// connection of the people who share a room; a deletion posts the reply, then
// the fan-out, then disconnects every socket of the account; an export pages.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onDefault } from '../../functions/default.js';
import { handler as onJoin } from '../../functions/join.js';
import { handler as onSend } from '../../functions/send.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import type { Deps, Frame } from '../../functions/core/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectEvent, messageEvent } from '../helpers/events.js';
import { RecordingGateway, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let deps: Deps;
const gateway = new RecordingGateway();
const mailer = new RecordingMailer();

beforeAll(async () => {
  db = await createTestDatabase();
  deps = {
    sql: db.sql,
    gateway,
    mailer,
    clock: { now: () => new Date() },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    settings: loadConfig({ ...TEST_ENV }).settings,
  };
  installDeps(deps);
});
afterAll(async () => {
  installDeps(undefined);
  await db?.close();
});
beforeEach(() => gateway.clear());

let n = 0;
interface User {
  cid: string;
  name: string;
}
async function user(): Promise<User> {
  const name = `pf${++n}_${process.pid % 1000}`;
  const cid = `conn-${name}`;
  await onConnect(connectEvent(cid));
  await onAuth(messageEvent(cid, { action: 'auth', op: 'register', username: name, email: `${name}@example.com`, password: 'long enough pw' }));
  const code = await mailer.codeFor(`${name}@example.com`);
  await onAuth(messageEvent(cid, { action: 'auth', op: 'verify', username: name, code, id: 'v' }));
  return { cid, name };
}

async function call(u: User, frame: Record<string, unknown>): Promise<Frame> {
  const id = `q${++n}`;
  const event = messageEvent(u.cid, { ...frame, id });
  if (frame.action === 'send') await onSend(event);
  else if (frame.action === 'join') await onJoin(event);
  else await onDefault(event);
  const reply = gateway.framesTo(u.cid).find((f) => f.re === id);
  if (!reply) throw new Error(`no reply to ${JSON.stringify(frame)}`);
  return reply;
}

describe('E20 on the Lambda handlers', () => {
  it('set_profile: one post per connection of everyone sharing a room, however many rooms', async () => {
    const alice = await user();
    const bob = await user();
    const room = `pf-room-${n}`;
    for (const u of [alice, bob]) expect((await call(u, { action: 'join', room })).type).toBe('joined');
    gateway.clear();

    const saved = await call(alice, { action: 'set_profile', displayName: 'Alice A' });

    expect(saved).toMatchObject({ type: 'profile_saved', profile: { username: alice.name, displayName: 'Alice A' } });
    const toBob = gateway.framesTo(bob.cid).filter((f) => f.type === 'profile');
    expect(toBob).toEqual([{ type: 'profile', username: alice.name, displayName: 'Alice A' }]);
    expect(gateway.framesTo(alice.cid).filter((f) => f.type === 'profile')).toEqual([]);
    const members = await call(bob, { action: 'members', room });
    expect(members.members).toContainEqual({ username: alice.name, displayName: 'Alice A', online: true });
  });

  it('delete_account: the reply, then the fan-out, then every socket of the account is disconnected', async () => {
    const carol = await user();
    const dan = await user();
    const second = `conn-${carol.name}-2`;
    await onConnect(connectEvent(second));
    const token = gateway.framesTo(carol.cid).find((f) => f.type === 'authed')!.token;
    await onAuth(messageEvent(second, { action: 'auth', op: 'resume', token, id: 'r' }));
    await call(carol, { action: 'send', room: 'general', text: 'bye', clientId: 'c-bye' });
    gateway.clear();

    const done = await call(carol, { action: 'delete_account', password: 'long enough pw', messages: 'erase' });

    expect(done).toMatchObject({ type: 'account_deleted', messages: 'erase', erased: 1 });
    expect(gateway.disconnected.sort()).toEqual([carol.cid, second].sort());
    const toDan = gateway.framesTo(dan.cid);
    expect(toDan).toContainEqual({ type: 'profile', username: carol.name, deleted: true });
    expect(toDan).toContainEqual(expect.objectContaining({ type: 'deleted', room: 'general', from: carol.name }));
    expect(toDan).toContainEqual({ type: 'presence', room: 'general', user: carol.name, member: false });
    expect(await db.sql`select 1 from connections where id in (${carol.cid}, ${second})`).toHaveLength(0);
    expect(await db.sql`select 1 from sessions s join users u on u.id = s.user_id where u.username = ${carol.name}`).toHaveLength(0);
  });

  it('export_data: the first page has the profile, the rooms, then the messages', async () => {
    const erin = await user();
    await call(erin, { action: 'send', room: 'general', text: 'mine', clientId: 'e1' });
    const first = await call(erin, { action: 'export_data' });
    expect(first).toMatchObject({ type: 'export_page', format: 1, profile: { username: erin.name }, rooms: [{ id: 'general', kind: 'channel' }], next: 'm:0' });
    const second = await call(erin, { action: 'export_data', after: first.next });
    expect(second).toMatchObject({ type: 'export_page', messages: [{ room: 'general', text: 'mine' }] });
    expect(second.next).toBeUndefined();
  });
});
