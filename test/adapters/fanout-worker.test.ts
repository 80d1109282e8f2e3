// The fan-out path on AWS end to end with the real SDK clients: the send function
// queues a large broadcast on SQS (SendMessageBatch), and the worker, given those
// messages as SQS events, posts through API Gateway's management API. Both are
// answered by local stand-ins that speak AWS's wire format (fake-aws.ts).
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsDeps } from '../../functions/adapters/aws.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import { decodeBatch } from '../../functions/core/fanout.js';
import type { Deps } from '../../functions/core/ports.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onFanout } from '../../functions/fanout.js';
import { handler as onSend } from '../../functions/send.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { awsEnv, dbSecret, wsEvent } from './events.js';
import { startFakeAws, type FakeAws, type FakeSqsMessage } from './fake-aws.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf';

let db: TestDatabase;
let fake: FakeAws;
let deps: Deps;
let queueUrl: string;
let deadLetterUrl: string;

beforeAll(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCALTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-test-secret');
  [db, fake] = await Promise.all([createTestDatabase(), startFakeAws('prod')]);
  fake.secrets.set(SECRET_ARN, dbSecret(db));
  queueUrl = `${fake.url}/111111111111/fanout`;
  deadLetterUrl = `${fake.url}/111111111111/fanout-dlq`;
  deps = await createAwsDeps(
    loadConfig({
      ...awsEnv(db, fake, SECRET_ARN),
      FANOUT_QUEUE_URL: queueUrl,
      FANOUT_DLQ_URL: deadLetterUrl,
      SQS_ENDPOINT: fake.url,
      FANOUT_DIRECT_MAX: '2',
      FANOUT_BATCH_IDS: '2',
      FANOUT_MAX_ATTEMPTS: '1',
      POWERTOOLS_METRICS_DISABLED: 'true',
    }),
  );
  installDeps(deps);
});

afterAll(async () => {
  installDeps(undefined);
  await deps?.sql.end({ timeout: 1 });
  await Promise.all([db?.close(), fake?.close()]);
  vi.unstubAllEnvs();
});

let n = 0;
async function signUp(name: string): Promise<{ connectionId: string; username: string }> {
  const username = `${name}${process.pid % 1000}_${++n}`;
  const connectionId = `${username}-conn=`;
  fake.open(connectionId);
  await onConnect(wsEvent('$connect', connectionId));
  await onAuth(wsEvent('auth', connectionId, { action: 'auth', id: 'r1', op: 'register', username, email: `${username}@example.com`, password: 'correct horse battery' }));
  const code = /\b(\d{6})\b/.exec(fake.mail.filter((m) => m.to.includes(`${username}@example.com`)).at(-1)?.subject ?? '')?.[1];
  await onAuth(wsEvent('auth', connectionId, { action: 'auth', id: 'r2', op: 'verify', username, code }));
  expect(fake.framesTo(connectionId).at(-1)).toMatchObject({ type: 'authed' });
  return { connectionId, username };
}

/** Takes every message off a queue of the stand-in. */
function drain(url: string): FakeSqsMessage[] {
  const q = fake.queues.get(url) ?? [];
  return q.splice(0, q.length);
}

function sqsEvent(messages: FakeSqsMessage[]): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.messageId,
      receiptHandle: `rh-${m.messageId}`,
      body: m.body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'AIDA', ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:fanout',
      awsRegion: 'eu-west-1',
    })),
  };
}

const messagesTo = (id: string, messageId: string) => fake.framesTo(id).filter((f) => f.type === 'message' && (f.message as { id: string }).id === messageId);

let people: Array<{ connectionId: string; username: string }>;
beforeAll(async () => {
  people = [];
  for (const name of ['ann', 'ben', 'cat', 'dan', 'eve']) people.push(await signUp(name));
});
beforeEach(() => {
  for (const id of fake.connections.keys()) fake.connections.set(id, []);
  drain(queueUrl);
  drain(deadLetterUrl);
});

async function sendFromFirst(text: string, clientId: string): Promise<string> {
  const [ann] = people;
  await onSend(wsEvent('send', ann!.connectionId, { action: 'send', id: 's', room: 'general', text, clientId }));
  const sent = fake.framesTo(ann!.connectionId).find((f) => f.type === 'sent') as { message: { id: string } } | undefined;
  expect(sent, 'the sender is answered at once').toBeDefined();
  return sent!.message.id;
}

describe('fan-out through SQS', () => {
  it('the send function queues batches of at most FANOUT_BATCH_IDS ids and posts none itself; the worker posts each once', async () => {
    const id = await sendFromFirst('to everyone', 'c-1');
    const queued = drain(queueUrl);
    const batches = queued.map((m) => decodeBatch(m.body));
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches.every((b) => b.to.length <= 2 && b.frame.type === 'message')).toBe(true);
    const ids = batches.flatMap((b) => b.to);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of people) expect(ids).toContain(p.connectionId);
    for (const p of people) expect(messagesTo(p.connectionId, id)).toHaveLength(0);

    expect(await onFanout(sqsEvent(queued))).toEqual({ batchItemFailures: [] });

    for (const p of people) expect(messagesTo(p.connectionId, id)).toHaveLength(1);
  });

  it('a batch delivered twice is posted once (the worker remembers the ids it reached)', async () => {
    const id = await sendFromFirst('once only', 'c-2');
    const queued = drain(queueUrl);
    await onFanout(sqsEvent(queued));
    const posts = fake.postCount;
    // SQS delivers at least once: the same messages again.
    expect(await onFanout(sqsEvent(queued))).toEqual({ batchItemFailures: [] });
    expect(fake.postCount).toBe(posts);
    for (const p of people) expect(messagesTo(p.connectionId, id)).toHaveLength(1);
  });

  it('a connection gone during fan-out answers 410: its row is dropped and the others get the message', async () => {
    const gone = await signUp('gus');
    const id = await sendFromFirst('someone left', 'c-3');
    fake.forget(gone.connectionId);
    await onFanout(sqsEvent(drain(queueUrl)));
    const rows = await deps.sql`select 1 from connections where id = ${gone.connectionId}`;
    expect(rows).toHaveLength(0);
    for (const p of people) expect(messagesTo(p.connectionId, id)).toHaveLength(1);
    // The roommates hear that gus went offline (posted directly or queued again).
    await onFanout(sqsEvent(drain(queueUrl)));
    expect(fake.framesTo(people[1]!.connectionId)).toContainEqual(expect.objectContaining({ type: 'presence', user: gone.username, online: false }));
  });

  it('posts throttled past every retry are handed back as a new message, for those ids only, and dead-lettered after FANOUT_MAX_ATTEMPTS', async () => {
    const id = await sendFromFirst('slow reader', 'c-4');
    const dan = people[3]!;
    fake.throttle.set(dan.connectionId, 5); // the gateway's 5 attempts all throttled
    expect(await onFanout(sqsEvent(drain(queueUrl)))).toEqual({ batchItemFailures: [] });
    expect(messagesTo(dan.connectionId, id)).toHaveLength(0);
    const [handBack, ...more] = drain(queueUrl);
    expect(more).toHaveLength(0);
    expect(handBack!.delaySeconds).toBeGreaterThan(0);
    expect(decodeBatch(handBack!.body)).toMatchObject({ to: [dan.connectionId], attempt: 1 });

    // Throttled again on the hand-back: past FANOUT_MAX_ATTEMPTS (1), set aside.
    fake.throttle.set(dan.connectionId, 5);
    await onFanout(sqsEvent([handBack!]));
    expect(drain(queueUrl)).toHaveLength(0);
    const dead = drain(deadLetterUrl);
    expect(dead.map((m) => decodeBatch(m.body).to)).toEqual([[dan.connectionId]]);
    for (const p of people.filter((p) => p !== dan)) expect(messagesTo(p.connectionId, id)).toHaveLength(1);
  });

  it('a record that is not a batch is named in the partial batch response; the others are posted', async () => {
    const id = await sendFromFirst('with a bad neighbour', 'c-5');
    const queued = drain(queueUrl);
    const bad: FakeSqsMessage = { messageId: 'bad-1', body: '{"not":"a batch"}', delaySeconds: 0 };
    expect(await onFanout(sqsEvent([bad, ...queued]))).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-1' }] });
    for (const p of people) expect(messagesTo(p.connectionId, id)).toHaveLength(1);
  });

  it('entries SQS refuses are sent again; what it still refuses is posted by the send function itself', async () => {
    fake.sqsFailEntries = 1;
    const id = await sendFromFirst('retried entry', 'c-6');
    await onFanout(sqsEvent(drain(queueUrl)));
    for (const p of people) expect(messagesTo(p.connectionId, id)).toHaveLength(1);

    fake.sqsFailEntries = 1000;
    const id2 = await sendFromFirst('queue down', 'c-7');
    fake.sqsFailEntries = 0;
    expect(drain(queueUrl)).toHaveLength(0);
    for (const p of people) expect(messagesTo(p.connectionId, id2)).toHaveLength(1);
  });
});
