// The Lambda wiring end to end with the real AWS SDK clients: createAwsDeps reads
// the database secret from Secrets Manager, posts through API Gateway's management
// API and mails through SES, each answered by a local stand-in that speaks AWS's
// wire format. The handlers are the deployed ones.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAwsDeps } from '../../functions/adapters/aws.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import type { Deps } from '../../functions/core/ports.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onSend } from '../../functions/send.js';
import { handler as onSweep } from '../../functions/sweep.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { awsEnv, dbSecret, wsEvent } from './events.js';
import { startFakeAws, type FakeAws } from './fake-aws.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf';

let db: TestDatabase;
let fake: FakeAws;
let deps: Deps;

beforeAll(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCALTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-test-secret');
  [db, fake] = await Promise.all([createTestDatabase(), startFakeAws('prod')]);
  fake.secrets.set(SECRET_ARN, dbSecret(db));
  // Only deps.sql touches the database: the embedded one takes a single connection.
  deps = await createAwsDeps(loadConfig(awsEnv(db, fake, SECRET_ARN)));
  installDeps(deps);
});

afterAll(async () => {
  installDeps(undefined);
  await deps?.sql.end({ timeout: 1 });
  await Promise.all([db?.close(), fake?.close()]);
  vi.unstubAllEnvs();
});

let n = 0;
/** Connects, registers, reads the code SES was asked to send, verifies. */
async function signUp(name: string): Promise<{ connectionId: string; username: string; code: string }> {
  const username = `${name}${process.pid % 1000}_${++n}`;
  const connectionId = `${username}-conn=`; // API Gateway ids end in '='; the SDK must encode them
  fake.open(connectionId);
  expect(await onConnect(wsEvent('$connect', connectionId))).toEqual({ statusCode: 200 });
  const email = `${username}@example.com`;
  await onAuth(wsEvent('auth', connectionId, { action: 'auth', id: 'r1', op: 'register', username, email, password: 'correct horse battery' }));
  expect(fake.framesTo(connectionId).at(-1)).toMatchObject({ type: 'otp_sent', re: 'r1' });
  const mail = fake.mail.filter((m) => m.to.includes(email)).at(-1);
  const code = /\b(\d{6})\b/.exec(mail?.subject ?? '')?.[1];
  expect(code, 'a six-digit code in the subject').toBeDefined();
  await onAuth(wsEvent('auth', connectionId, { action: 'auth', id: 'r2', op: 'verify', username, code }));
  expect(fake.framesTo(connectionId).at(-1)).toMatchObject({ type: 'authed', re: 'r2', user: { username } });
  return { connectionId, username, code: code! };
}

describe('createAwsDeps against local AWS endpoints', () => {
  it('mails the one-time code through SES from the configured sender, and that code verifies', async () => {
    const before = fake.mail.length;

    const alice = await signUp('alice');

    const mailed = fake.mail.slice(before);
    expect(mailed).toHaveLength(1);
    expect(mailed[0]).toMatchObject({ from: 'Wild Whispers <no-reply@chat.example.com>', to: [`${alice.username}@example.com`] });
    expect(mailed[0]!.text).toContain(alice.code);
  });

  it('a wrong code mailed to nobody does not verify', async () => {
    const username = `mallory${++n}`;
    const id = `${username}-conn`;
    fake.open(id);
    await onConnect(wsEvent('$connect', id));
    await onAuth(wsEvent('auth', id, { action: 'auth', op: 'register', username, email: `${username}@example.com`, password: 'correct horse battery' }));
    const real = /\b(\d{6})\b/.exec(fake.mail.at(-1)!.subject)![1]!;
    const wrong = String((Number(real) + 1) % 1_000_000).padStart(6, '0');

    await onAuth(wsEvent('auth', id, { action: 'auth', id: 'v', op: 'verify', username, code: wrong }));

    expect(fake.framesTo(id).at(-1)).toMatchObject({ type: 'error', re: 'v', code: 'invalid_code' });
  });

  it('a send reaches every live connection; a stale one answers 410 and its row is dropped', async () => {
    const alice = await signUp('alice');
    const bob = await signUp('bob');
    const carol = await signUp('carol');
    // Carol's client vanished without a $disconnect: her row stays, API Gateway says 410.
    fake.forget(carol.connectionId);
    for (const id of fake.connections.keys()) fake.connections.set(id, []);

    await onSend(wsEvent('send', alice.connectionId, { action: 'send', id: 's1', room: 'general', text: 'hello, room', clientId: 'c-1' }));

    const sent = fake.framesTo(alice.connectionId).find((f) => f.type === 'sent');
    expect(sent).toMatchObject({ re: 's1', clientId: 'c-1', message: { room: 'general', from: alice.username, text: 'hello, room' } });
    const message = fake.framesTo(bob.connectionId).find((f) => f.type === 'message');
    expect(message).toMatchObject({ type: 'message', message: (sent as { message: unknown }).message });
    const rows = await deps.sql<{ id: string }[]>`select id from connections where id = any(${[alice.connectionId, bob.connectionId, carol.connectionId]})`;
    expect(rows.map((r) => r.id).sort()).toEqual([alice.connectionId, bob.connectionId].sort());
    // Carol had no other connection: her roommates see her go offline.
    expect(fake.framesTo(bob.connectionId)).toContainEqual(expect.objectContaining({ type: 'presence', room: 'general', user: carol.username, online: false }));
  });

  it('the sweep deletes expired rows and closes those sockets through DeleteConnection', async () => {
    const fresh = 'sweep-fresh';
    const idle = 'sweep-idle';
    fake.open(fresh);
    fake.open(idle);
    await deps.sql`insert into connections (id, connected_at) values (${fresh}, now()), (${idle}, now() - interval '5 minutes')`;

    expect(await onSweep()).toMatchObject({ swept: expect.any(Number) });

    const left = await deps.sql<{ id: string }[]>`select id from connections where id in (${fresh}, ${idle})`;
    expect(left.map((r) => r.id)).toEqual([fresh]);
    expect(fake.deleted).toContain(idle);
    expect(fake.connections.has(fresh)).toBe(true);
  });
});
