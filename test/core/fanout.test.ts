// The fan-out core without a database: how broadcasts are cut into queue
// messages, which path a broadcast takes, and what a worker hands back.
import { describe, expect, it } from 'vitest';
import {
  type Fanout,
  type FanoutBatch,
  FanoutProgress,
  MAX_QUEUE_MESSAGE_BYTES,
  decodeBatch,
  deliverBatch,
  encodeBatch,
  fanOut,
  splitBatches,
} from '../../functions/core/fanout.js';
import type { Deps, Frame, Gateway } from '../../functions/core/ports.js';

const ids = (n: number, len = 16) => Array.from({ length: n }, (_, i) => `c${String(i).padStart(len - 2, '0')}=`);
const silent = { info() {}, warn() {}, error() {} };

function fakeDeps(gateway: Gateway, fanout?: Fanout): Deps {
  return { sql: undefined as never, gateway, mailer: { send: async () => {} }, clock: { now: () => new Date() }, log: silent, settings: {} as never, fanout };
}

function recordingGateway(fail: (id: string) => boolean = () => false) {
  const posted: string[] = [];
  const gateway: Gateway = {
    post: async (to) => {
      posted.push(...to);
      return [];
    },
    disconnect: async () => {},
    postEach: async (to) => {
      const failed = to.filter(fail);
      posted.push(...to.filter((id) => !fail(id)));
      return { gone: [], failed };
    },
  };
  return { gateway, posted };
}

function memoryQueue() {
  const queued: FanoutBatch[] = [];
  const dead: FanoutBatch[] = [];
  return { queued, dead, queue: { enqueue: async (b: readonly FanoutBatch[]) => (queued.push(...b), []), deadLetter: async (b: FanoutBatch) => void dead.push(b) } };
}

describe('splitBatches', () => {
  it('cuts ids into batches of at most idsPerBatch, each id once, in order', () => {
    const to = ids(1005);
    const batches = splitBatches({ type: 'message' }, to, 100, 0, 'k')!;
    expect(batches).toHaveLength(11);
    expect(batches.every((b) => b.to.length <= 100)).toBe(true);
    expect(batches.flatMap((b) => b.to)).toEqual(to);
    expect(new Set(batches.map((b) => b.key)).size).toBe(11);
  });

  it('keeps every body within SQS\'s 256 KB, even with a 128 KB frame and the longest ids', () => {
    const frame: Frame = { type: 'message', message: { text: 'x'.repeat(128 * 1024 - 100) } };
    const batches = splitBatches(frame, ids(5000, 128), 5000, Date.now())!;
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(Buffer.byteLength(encodeBatch(b))).toBeLessThanOrEqual(MAX_QUEUE_MESSAGE_BYTES);
    expect(batches.flatMap((b) => b.to)).toHaveLength(5000);
  });

  it('gives up on a frame that leaves no room for one id', () => {
    expect(splitBatches({ type: 'x', pad: 'y'.repeat(MAX_QUEUE_MESSAGE_BYTES) }, ['a'], 10, 0)).toBeUndefined();
  });

  it('round-trips a batch, and refuses a body that is not one', () => {
    const [b] = splitBatches({ type: 'message' }, ['a=', 'b='], 10, 5, 'k')!;
    expect(decodeBatch(encodeBatch(b!))).toEqual(b);
    expect(() => decodeBatch('{"key":"k","to":[],"frame":{"type":"x"},"attempt":0,"sentAt":0}')).toThrow();
    expect(() => decodeBatch('not json')).toThrow();
  });
});

describe('fanOut', () => {
  it('posts up to directMax connections itself and queues larger broadcasts', async () => {
    const { gateway, posted } = recordingGateway();
    const q = memoryQueue();
    const deps = fakeDeps(gateway, { queue: q.queue, directMax: 3, idsPerBatch: 2, maxAttempts: 3 });
    await fanOut(deps, ids(3), { type: 'message' });
    expect(posted).toHaveLength(3);
    expect(q.queued).toHaveLength(0);
    await fanOut(deps, ids(5), { type: 'message' });
    expect(posted).toHaveLength(3);
    expect(q.queued.map((b) => b.to.length)).toEqual([2, 2, 1]);
  });

  it('posts what the queue refuses, so a committed message still goes out', async () => {
    const { gateway, posted } = recordingGateway();
    const deps = fakeDeps(gateway, {
      queue: { enqueue: async (b) => b.slice(1), deadLetter: async () => {} },
      directMax: 0,
      idsPerBatch: 2,
      maxAttempts: 3,
    });
    await fanOut(deps, ids(6), { type: 'message' });
    expect(posted).toEqual(ids(6).slice(2));
  });
});

describe('deliverBatch', () => {
  const batch = (to: string[], attempt = 0): FanoutBatch => ({ key: 'm/0', frame: { type: 'message' }, to, attempt, sentAt: Date.now() });

  it('hands back only the ids whose posts failed, one attempt later; past maxAttempts it dead-letters them', async () => {
    const { gateway, posted } = recordingGateway((id) => id.endsWith('3=') || id.endsWith('7='));
    const q = memoryQueue();
    const deps = fakeDeps(gateway, { queue: q.queue, directMax: 0, idsPerBatch: 10, maxAttempts: 1 });
    const to = ids(10);
    const out = await deliverBatch(deps, batch(to));
    expect(out.delivered).toBe(8);
    expect(posted).toHaveLength(8);
    expect(q.queued).toEqual([expect.objectContaining({ to: [to[3], to[7]], attempt: 1, key: 'm/0.r1' })]);

    await deliverBatch(deps, q.queued[0]!);
    expect(q.dead).toEqual([expect.objectContaining({ to: [to[3], to[7]], attempt: 2 })]);
  });

  it('skips the ids a redelivered batch reached before in this worker', async () => {
    const { gateway, posted } = recordingGateway();
    const progress = new FanoutProgress();
    const deps = fakeDeps(gateway, { ...memoryQueue(), directMax: 0, idsPerBatch: 10, maxAttempts: 3 });
    await deliverBatch(deps, batch(ids(5)), { progress });
    await deliverBatch(deps, batch(ids(5)), { progress });
    expect(posted).toEqual(ids(5));
  });

  it('hands back the ids not started when the deadline nears, without spending an attempt', async () => {
    const { gateway, posted } = recordingGateway();
    const q = memoryQueue();
    const deps = fakeDeps(gateway, { queue: q.queue, directMax: 0, idsPerBatch: 1000, maxAttempts: 3 });
    let left = 9_000;
    // Each chunk of 256 takes "4 s"; 2 s are kept in reserve.
    const to = ids(600);
    const slow: Gateway = { ...gateway, postEach: async (chunk, f) => ((left -= 4000), gateway.postEach!(chunk, f)) };
    await deliverBatch({ ...deps, gateway: slow }, batch(to), { timeLeftMs: () => left, reserveMs: 2000 });
    expect(posted).toEqual(to.slice(0, 512));
    expect(q.queued).toEqual([expect.objectContaining({ to: to.slice(512), attempt: 0 })]);
  });
});
