// Chaos on the fan-out workers' path: the real server, with every broadcast to
// more than one connection handed to the queue (a local stand-in for SQS and
// its event source, bench/sqs-standin.ts) and posted by the worker's core code
// (deliverBatch). Generated runs of sends meet workers that die mid-batch (after
// posting some of its ids, their memory lost with the sandbox), batches the
// queue delivers twice, and a member whose connection goes during the fan-out.
// Afterwards every member still connected has every message once when it drops
// duplicates by message id (docs/DELIVERY.md), nothing is dead-lettered, and a
// frame reached a connection twice only where a worker died or a batch delivered
// twice went to two worker sandboxes.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FanoutProgress, type FanoutBatch, deliverBatch } from '../../functions/core/fanout.js';
import type { Deps, Frame, Gateway } from '../../functions/core/ports.js';
import { SqsStandIn } from '../../bench/sqs-standin.js';
import { type TestClient, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let deps: Deps;
/** four members who stay; each run may add one who leaves */
let members: TestClient[];
beforeAll(async () => {
  t = await startTestServer({ MESSAGE_BURST: '100000', USER_MESSAGE_BURST: '100000' });
  deps = t.server.deps;
  members = [];
  for (let i = 0; i < 4; i++) members.push(await signUp(t));
}, 60_000);
afterAll(async () => {
  if (deps) deps.fanout = undefined;
  await t?.close();
});

/** A small deterministic PRNG, so fast-check's seed decides every fault. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

class WorkerDied extends Error {}

interface Sandbox {
  progress: FanoutProgress;
}

const messageIds = (c: TestClient) => c.frames.filter((f) => f.type === 'message').map((f) => (f.message as { id: string }).id);

it('workers dying mid-batch, batches delivered twice, a connection gone: nothing lost, nothing shown twice', async () => {
  // Each run's clientIds are its own: fast-check draws the same seed in two runs
  // now and then, and a clientId sent again is a repeat, which the server
  // rebroadcasts; a client would then hold the earlier run's copy and this one.
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        senders: fc.array(fc.nat(3), { minLength: 1, maxLength: 5 }),
        crashRate: fc.double({ min: 0, max: 0.6, noNaN: true }),
        duplicateRate: fc.double({ min: 0, max: 0.6, noNaN: true }),
        leaves: fc.boolean(),
        seed: fc.integer(),
        idsPerBatch: fc.integer({ min: 1, max: 3 }),
        /** one warm worker sandbox (its memory sees every redelivery), or three */
        oneWorker: fc.boolean(),
      }),
      async ({ senders, crashRate, duplicateRate, leaves, seed, idsPerBatch, oneWorker }) => {
        const random = prng(seed);
        const thisRun = ++run;
        const victim = leaves ? await signUp(t) : undefined;
        const clients = victim ? [...members, victim] : members;
        const crashes = { count: 0 };
        let duplicates = 0;
        let victimGone = false;

        /** The worker's gateway: the local one, but a worker may die after posting part of a chunk. */
        const dying = (receiveCount: number): Gateway => ({
          post: (ids, frame) => deps.gateway.post(ids, frame),
          disconnect: (id) => deps.gateway.disconnect(id),
          async postEach(ids: readonly string[], frame: Frame) {
            if (receiveCount === 1 && random() < crashRate) {
              const k = Math.floor(random() * ids.length);
              await deps.gateway.post(ids.slice(0, k), frame);
              crashes.count++;
              throw new WorkerDied(`died after ${k} of ${ids.length}`);
            }
            return { gone: await deps.gateway.post(ids, frame), failed: [] };
          },
        });

        const queue: SqsStandIn<Sandbox> = new SqsStandIn<Sandbox>({
          batchSize: 2,
          maxConcurrency: oneWorker ? 1 : 3,
          visibilityMs: 20,
          maxReceiveCount: 3,
          sandbox: () => ({ progress: new FanoutProgress() }),
          worker: async (batch: FanoutBatch, box, receive) => {
            // A member closes their socket while the room's fan-out is under way.
            if (victim && !victimGone) {
              victimGone = true;
              victim.close();
              await victim.closed;
            }
            // SQS delivers at least once: now and then the same batch twice.
            if (receive.receiveCount === 1 && random() < duplicateRate) {
              duplicates++;
              await queue.enqueue([batch]);
            }
            try {
              await deliverBatch({ ...deps, gateway: dying(receive.receiveCount) }, batch, { progress: box.progress });
            } catch (err) {
              // The sandbox died with the process: its memory of progress goes too.
              if (err instanceof WorkerDied) box.progress = new FanoutProgress();
              throw err;
            }
          },
        });
        deps.fanout = { queue, directMax: 1, idsPerBatch, maxAttempts: 3 };
        try {
          const sent: string[] = [];
          for (const [n, i] of senders.entries()) {
            const reply = await clients[i]!.request({ action: 'send', room: 'general', text: `m${n}`, clientId: `c${n}-${thisRun}-${seed}` });
            expect(reply.type).toBe('sent');
            sent.push((reply.message as { id: string }).id);
          }
          await queue.idle();
          // Presence of the one who left goes through the queue too; give the sockets a moment.
          await new Promise((r) => setTimeout(r, 50));

          expect(queue.dead).toEqual([]);
          for (const c of clients.filter((c) => c !== victim)) {
            const raw = messageIds(c).filter((id) => sent.includes(id));
            const shown = [...new Set(raw)];
            // Nothing lost. (Batches are not ordered with each other: a client orders by seq, docs/DELIVERY.md.)
            expect([...shown].sort()).toEqual([...sent].sort());
            // Twice on the wire only where a worker died mid-batch, or where a batch
            // delivered twice met two sandboxes; a sandbox never posts a batch's id twice.
            if (crashes.count === 0 && (duplicates === 0 || oneWorker)) expect(raw).toHaveLength(sent.length);
          }
          if (victim) {
            const rows = await t.server.deps.sql`select 1 from connections c join users u on u.id = c.user_id where u.username = ${victim.username}`;
            expect(rows).toHaveLength(0);
          }
        } finally {
          deps.fanout = undefined;
        }
      },
    ),
    { numRuns: Number(process.env.FANOUT_CHAOS_RUNS ?? 12), endOnFailure: true },
  );
}, 120_000);
