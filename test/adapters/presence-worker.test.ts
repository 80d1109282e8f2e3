// E23 on AWS end to end with the real SDK clients: a sign-in's presence for its
// watchers is queued on the presence queue (SendMessageBatch), nothing posted by
// the function that made it; the worker, given those messages as one SQS event
// (what the batching window gathers), merges them per connection and posts one
// `presence_batch` each, as the state is now. Redelivery, duplicates, reordering,
// a connection gone during the posts, and throttled posts.
import type { SQSEvent } from 'aws-lambda';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodePresence } from '../../functions/core/presence-queue.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onDefault } from '../../functions/default.js';
import { handler as onDisconnect } from '../../functions/disconnect.js';
import { handler as onFanout } from '../../functions/fanout.js';
import { useAwsHosting } from './aws-hosting.js';
import { wsEvent } from './events.js';
import type { FakeSqsMessage } from './fake-aws.js';

const aws = useAwsHosting((fake) => ({
  FANOUT_QUEUE_URL: `${aws.fake.url}/111111111111/fanout`,
  PRESENCE_QUEUE_URL: `${aws.fake.url}/111111111111/presence`,
  SQS_ENDPOINT: aws.fake.url,
  FANOUT_MAX_ATTEMPTS: '1',
  POWERTOOLS_METRICS_DISABLED: 'true',
}));
const presenceUrl = () => `${aws.fake.url}/111111111111/presence`;
const fanoutUrl = () => `${aws.fake.url}/111111111111/fanout`;

interface Person {
  connectionId: string;
  username: string;
  token: string;
}

let n = 0;
let conn = 0;
async function signUp(name: string): Promise<Person> {
  const username = `${name}${process.pid % 1000}_${++n}`;
  const connectionId = `${username}-conn${++conn}=`;
  aws.fake.open(connectionId);
  await onConnect(wsEvent('$connect', connectionId));
  await onAuth(wsEvent('auth', connectionId, { action: 'auth', id: 'r1', op: 'register', username, email: `${username}@example.com`, password: 'correct horse battery' }));
  const code = /\b(\d{6})\b/.exec(aws.fake.mail.filter((m) => m.to.includes(`${username}@example.com`)).at(-1)?.subject ?? '')?.[1];
  await onAuth(wsEvent('auth', connectionId, { action: 'auth', id: 'r2', op: 'verify', username, code }));
  const authed = aws.fake.framesTo(connectionId).at(-1)!;
  expect(authed).toMatchObject({ type: 'authed' });
  return { connectionId, username, token: authed.token as string };
}

async function connect(p: Person): Promise<string> {
  const connectionId = `${p.username}-conn${++conn}=`;
  aws.fake.open(connectionId);
  await onConnect(wsEvent('$connect', connectionId));
  await onAuth(wsEvent('auth', connectionId, { action: 'auth', id: 'r', op: 'resume', token: p.token }));
  return connectionId;
}

async function disconnect(connectionId: string): Promise<void> {
  aws.fake.forget(connectionId);
  await onDisconnect(wsEvent('$disconnect', connectionId));
}

async function watch(connectionId: string, users: string[]) {
  await onDefault(wsEvent('$default', connectionId, { action: 'watch', id: 'w', users }));
  return aws.fake.framesTo(connectionId).at(-1)!;
}

function drain(url: string): FakeSqsMessage[] {
  const q = aws.fake.queues.get(url) ?? [];
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
      eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:presence',
      awsRegion: 'eu-west-1',
    })),
  };
}

const batchesTo = (id: string) => aws.fake.framesTo(id).filter((f) => f.type === 'presence_batch');

let ann: Person;
let ben: Person;
let cat: Person;
beforeAll(async () => {
  ann = await signUp('ann');
  ben = await signUp('ben');
  cat = await signUp('cat');
});
beforeEach(() => {
  for (const id of aws.fake.connections.keys()) aws.fake.connections.set(id, []);
  drain(presenceUrl());
  drain(fanoutUrl());
});

describe('presence through the presence queue (E23)', () => {
  it('a sign-in queues its change for watchers only; the worker posts one merged frame per connection', async () => {
    expect(await watch(ann.connectionId, [ben.username, cat.username])).toMatchObject({ type: 'watching', presence: { [ben.username]: 'online', [cat.username]: 'online' } });
    await disconnect(ben.connectionId);
    await disconnect(cat.connectionId);
    ben.connectionId = await connect(ben);
    // Nothing posted by the functions themselves: all of it waits in the queue.
    expect(batchesTo(ann.connectionId)).toEqual([]);
    const queued = drain(presenceUrl());
    expect(queued.length).toBe(3);
    expect(queued.map((m) => decodePresence(m.body)!.to)).toEqual([[ann.connectionId], [ann.connectionId], [ann.connectionId]]);
    // Old clients: general here is under the line, so ben and cat still get v1 frames of each other, not batches.
    expect(batchesTo(ben.connectionId)).toEqual([]);

    expect(await onFanout(sqsEvent(queued))).toEqual({ batchItemFailures: [] });
    expect(batchesTo(ann.connectionId)).toEqual([{ type: 'presence_batch', presence: { [cat.username]: 'offline', [ben.username]: 'online' } }]);
    cat.connectionId = await connect(cat);
    drain(presenceUrl());
  });

  it('a batch delivered again (a worker died mid-batch, or a duplicate) posts the same state: the client ends where it should', async () => {
    await watch(ann.connectionId, [ben.username]);
    await disconnect(ben.connectionId);
    const queued = drain(presenceUrl());
    await onFanout(sqsEvent(queued));
    await onFanout(sqsEvent(queued));
    await onFanout(sqsEvent([...queued, ...queued]));
    const got = batchesTo(ann.connectionId);
    expect(got.length).toBe(3);
    for (const f of got) expect(f.presence).toEqual({ [ben.username]: 'offline' });
    ben.connectionId = await connect(ben);
    drain(presenceUrl());
  });

  it('an older change delivered late posts the state as it is now', async () => {
    await watch(ann.connectionId, [ben.username]);
    await disconnect(ben.connectionId);
    const offline = drain(presenceUrl());
    ben.connectionId = await connect(ben);
    const online = drain(presenceUrl());
    // Out of order, in two invocations: the last post still says online.
    await onFanout(sqsEvent(online));
    await onFanout(sqsEvent(offline));
    expect(batchesTo(ann.connectionId).map((f) => f.presence)).toEqual([{ [ben.username]: 'online' }, { [ben.username]: 'online' }]);
  });

  it('a watcher gone during the posts is dropped; the others get theirs', async () => {
    const dan = await signUp('dan');
    const eve = await signUp('eve');
    await watch(dan.connectionId, [ben.username]);
    await watch(eve.connectionId, [ben.username]);
    await disconnect(ben.connectionId);
    const queued = drain(presenceUrl());
    aws.fake.forget(dan.connectionId); // gone without API Gateway telling us
    expect(await onFanout(sqsEvent(queued))).toEqual({ batchItemFailures: [] });
    expect(await aws.deps.sql`select 1 from connections where id = ${dan.connectionId}`).toHaveLength(0);
    expect(batchesTo(eve.connectionId)).toEqual([{ type: 'presence_batch', presence: { [ben.username]: 'offline' } }]);
    ben.connectionId = await connect(ben);
    await disconnect(eve.connectionId);
    drain(presenceUrl());
    drain(fanoutUrl());
  });

  it('throttled posts are handed back once (FANOUT_MAX_ATTEMPTS), then left to the next change', async () => {
    await watch(ann.connectionId, [ben.username]);
    await disconnect(ben.connectionId);
    aws.fake.throttle.set(ann.connectionId, 5);
    expect(await onFanout(sqsEvent(drain(presenceUrl())))).toEqual({ batchItemFailures: [] });
    const [handBack, ...more] = drain(presenceUrl());
    expect(more).toEqual([]);
    expect(decodePresence(handBack!.body)).toMatchObject({ to: [ann.connectionId], attempt: 1, presence: { [ben.username]: 'offline' } });
    aws.fake.throttle.set(ann.connectionId, 5);
    await onFanout(sqsEvent([handBack!]));
    expect(drain(presenceUrl())).toEqual([]);
    expect(batchesTo(ann.connectionId)).toEqual([]);
    aws.fake.throttle.delete(ann.connectionId);
    ben.connectionId = await connect(ben);
    await onFanout(sqsEvent(drain(presenceUrl())));
    expect(batchesTo(ann.connectionId)).toEqual([{ type: 'presence_batch', presence: { [ben.username]: 'online' } }]);
  });

  it('a malformed presence record is named in the partial batch response; fan-out records beside it are posted', async () => {
    await watch(ann.connectionId, [ben.username]);
    await disconnect(ben.connectionId);
    const bad: FakeSqsMessage = { messageId: 'bad-p', body: '{"kind":"presence","to":"nope"}', delaySeconds: 0 };
    expect(await onFanout(sqsEvent([bad, ...drain(presenceUrl())]))).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-p' }] });
    expect(batchesTo(ann.connectionId)).toEqual([{ type: 'presence_batch', presence: { [ben.username]: 'offline' } }]);
    ben.connectionId = await connect(ben);
  });
});
