// The API Gateway gateway with the real management API client against a local
// endpoint: bounded fan-out, 410 as "gone", throttling retried with backoff.
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiGatewayGateway } from '../../functions/adapters/aws-gateway.js';
import type { Logger } from '../../functions/core/ports.js';
import { startFakeAws, type FakeAws } from './fake-aws.js';

let fake: FakeAws;
let client: ApiGatewayManagementApiClient;

beforeAll(async () => {
  fake = await startFakeAws('prod');
  client = new ApiGatewayManagementApiClient({
    endpoint: fake.gatewayEndpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await fake?.close();
});

beforeEach(() => {
  fake.connections.clear();
  fake.throttle.clear();
  fake.deleted.length = 0;
  fake.latencyMs = 0;
  fake.maxPayloadBytes = 128 * 1024;
  fake.maxInFlight = 0;
  fake.postCount = 0;
});

function recordingLog(): Logger & { errors: string[]; warnings: Array<Record<string, unknown>> } {
  const errors: string[] = [];
  const warnings: Array<Record<string, unknown>> = [];
  return { errors, warnings, info: () => {}, warn: (message, fields) => void warnings.push({ message, ...fields }), error: (m) => void errors.push(m) };
}

describe('ApiGatewayGateway', () => {
  it('the SDK raises GoneException, by name and status, for an unknown connection', async () => {
    const err = await client.send(new PostToConnectionCommand({ ConnectionId: 'nobody', Data: Buffer.from('{}') })).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
  });

  it('posts the same bytes to every connection, never more than `concurrency` at once', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `conn-${i}/+=`);
    ids.forEach((id) => fake.open(id));
    fake.latencyMs = 5;
    const gateway = new ApiGatewayGateway(client, { concurrency: 8 });

    const gone = await gateway.post(ids, { type: 'message', text: 'héllo' });

    expect(gone).toEqual([]);
    for (const id of ids) expect(fake.framesTo(id)).toEqual([{ type: 'message', text: 'héllo' }]);
    expect(fake.maxInFlight).toBeLessThanOrEqual(8);
    expect(fake.maxInFlight).toBeGreaterThan(1);
  });

  it('returns the ids that answered 410 and still delivers to the rest', async () => {
    fake.open('live');
    const gateway = new ApiGatewayGateway(client);

    const gone = await gateway.post(['live', 'stale-1', 'stale-2'], { type: 'presence' });

    expect(gone.sort()).toEqual(['stale-1', 'stale-2']);
    expect(fake.framesTo('live')).toEqual([{ type: 'presence' }]);
  });

  it('retries a throttled call with backoff until it goes through', async () => {
    fake.open('busy');
    fake.throttle.set('busy', 3);
    const delays: number[] = [];
    const gateway = new ApiGatewayGateway(client, { baseDelayMs: 10, sleep: async (ms) => void delays.push(ms) });

    const gone = await gateway.post(['busy'], { type: 'message' });

    expect(gone).toEqual([]);
    expect(fake.framesTo('busy')).toHaveLength(1);
    expect(fake.postCount).toBe(4);
    // full jitter under a doubling cap: 10, 20, 40
    expect(delays).toHaveLength(3);
    delays.forEach((d, i) => expect(d).toBeLessThanOrEqual(10 * 2 ** i));
  });

  it('gives up after maxAttempts, logs, and does not call a throttled connection gone', async () => {
    fake.open('swamped');
    fake.throttle.set('swamped', 100);
    const log = recordingLog();
    const gateway = new ApiGatewayGateway(client, { maxAttempts: 3, baseDelayMs: 1, log });

    const gone = await gateway.post(['swamped'], { type: 'message' });

    expect(gone).toEqual([]);
    expect(fake.postCount).toBe(3);
    expect(log.errors).toEqual(['could not post to a connection']);
  });

  it('the SDK raises PayloadTooLargeException, by name and status, for a frame over 128 KB', async () => {
    fake.open('reader');
    const err = await client.send(new PostToConnectionCommand({ ConnectionId: 'reader', Data: Buffer.alloc(128 * 1024 + 1, 'x') })).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'PayloadTooLargeException', $metadata: { httpStatusCode: 413 } });
  });

  it('a reply refused as too large (413) is one security event with its size; the readers are not gone and the rest are spared', async () => {
    const ids = ['big-1', 'big-2', 'big-3', 'big-4'];
    ids.forEach((id) => fake.open(id));
    const log = recordingLog();
    const gateway = new ApiGatewayGateway(client, { concurrency: 1, baseDelayMs: 1, log });
    const frame = { type: 'history', messages: ['y'.repeat(140 * 1024)] };
    const bytes = Buffer.byteLength(JSON.stringify(frame));

    const gone = await gateway.post(ids, frame);

    expect(gone).toEqual([]);
    expect(fake.postCount).toBe(1); // not retried, and the same bytes are not offered to the others
    expect(log.warnings).toEqual([
      expect.objectContaining({ security: 'reply_too_large', frame: 'history', bytes, connections: 4, connectionId: 'big-1' }),
    ]);
    expect(log.errors).toEqual([]);
    for (const id of ids) expect(fake.connections.has(id), id).toBe(true);
  });

  it('disconnect deletes the connection, and a gone one is not an error', async () => {
    fake.open('closing');
    const log = recordingLog();
    const gateway = new ApiGatewayGateway(client, { log });

    await gateway.disconnect('closing');
    await gateway.disconnect('already-gone');

    expect(fake.deleted).toEqual(['closing']);
    expect(log.errors).toEqual([]);
  });
});
