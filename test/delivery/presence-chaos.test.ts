// Chaos on the presence queue's path (E23, the AWS way) against the real server:
// every presence change for watchers is queued (an in-test queue standing in for
// SQS and its batching window) and posted by the worker's core code
// (deliverPresence). Generated runs of people coming and going meet a worker that
// dies mid-batch (after posting to some connections; the queue delivers the whole
// batch again), batches delivered twice, batches taken out of order, and a
// watcher whose connection goes during the posts. Afterwards every watcher still
// connected shows each person it watches as they are (the frames carry state, so
// a repeat is harmless), saw only people it watches, and nothing is left queued.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Deps, Frame, Gateway } from '../../functions/core/ports.js';
import { type PresenceMessage, type PresenceQueue, QueuedPresence, deliverPresence } from '../../functions/core/presence-queue.js';
import { type TestClient, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let deps: Deps;
let watchers: TestClient[];
let subjects: Array<TestClient & { token?: string }>;
beforeAll(async () => {
  t = await startTestServer({ WATCHES_PER_MINUTE: '100000', LOGINS_PER_USER_PER_HOUR: '100000' });
  deps = t.server.deps;
  watchers = [];
  subjects = [];
  for (let i = 0; i < 3; i++) watchers.push(await signUp(t));
  for (let i = 0; i < 3; i++) subjects.push(await signUp(t));
  for (const w of watchers) await w.request({ action: 'watch', users: subjects.map((s) => s.username!) });
}, 60_000);
afterAll(() => t?.close());

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Messages waiting, as SQS holds them: taken in batches, put back when the worker fails. */
class ChaosQueue implements PresenceQueue {
  readonly messages: PresenceMessage[] = [];
  /** messages ever queued by the server (not the worker's hand-backs or redeliveries) */
  received = 0;
  async enqueue(messages: readonly PresenceMessage[]): Promise<PresenceMessage[]> {
    this.received += messages.length;
    this.messages.push(...messages);
    return [];
  }
}

/** What a client shows: each batch applied in the order it came, the last status winning. */
function shown(c: TestClient): Map<string, string> {
  const state = new Map<string, string>();
  for (const f of c.frames) {
    if (f.type === 'watching' || f.type === 'presence_batch') for (const [u, s] of Object.entries(f.presence as Record<string, string>)) state.set(u, s);
  }
  return state;
}

it('workers dying mid-batch, duplicates, reordering, a watcher gone: every watcher ends showing the truth', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        steps: fc.array(fc.record({ who: fc.nat(2), deliver: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        crashRate: fc.double({ min: 0, max: 0.6, noNaN: true }),
        duplicateRate: fc.double({ min: 0, max: 0.6, noNaN: true }),
        batchSize: fc.integer({ min: 1, max: 5 }),
        leaves: fc.boolean(),
        seed: fc.integer(),
      }),
      async ({ steps, crashRate, duplicateRate, batchSize, leaves, seed }) => {
        const random = prng(seed);
        const queue = new ChaosQueue();
        deps.presence = new QueuedPresence(queue, () => Date.now());
        // Once the steps are done the chaos stops after a while: with both rates
        // near their top a batch comes back more often than it goes (a crash and a
        // duplicate each put it back), and the queue would never drain.
        let calm = false;
        const victim = leaves ? await signUp(t) : undefined;
        if (victim) await victim.request({ action: 'watch', users: subjects.map((s) => s.username!) });
        let victimGone = false;

        const dying: Gateway = {
          post: (ids, frame) => deps.gateway.post(ids, frame),
          disconnect: (id) => deps.gateway.disconnect(id),
          async postEach(ids: readonly string[], frame: Frame) {
            if (!calm && random() < crashRate) {
              const k = Math.floor(random() * ids.length);
              await deps.gateway.post(ids.slice(0, k), frame);
              throw new WorkerDied(`died after ${k} of ${ids.length}`);
            }
            return { gone: await deps.gateway.post(ids, frame), failed: [] };
          },
        };

        /** One worker invocation: a batch taken from anywhere in the queue (SQS keeps no order). */
        const work = async () => {
          if (queue.messages.length === 0) return;
          const batch: PresenceMessage[] = [];
          while (batch.length < batchSize && queue.messages.length) batch.push(queue.messages.splice(Math.floor(random() * queue.messages.length), 1)[0]!);
          if (victim && !victimGone) {
            victimGone = true;
            victim.close();
            await victim.closed;
          }
          // at least once: now and then the same batch stays in the queue too
          if (!calm && random() < duplicateRate) queue.messages.push(...batch);
          try {
            await deliverPresence({ ...deps, gateway: dying }, batch, queue, 3);
          } catch (err) {
            if (!(err instanceof WorkerDied)) throw err;
            queue.messages.push(...batch); // not deleted: visible again
          }
        };

        const online = new Map<number, TestClient | undefined>(subjects.map((s, i) => [i, s]));
        for (const step of steps) {
          const current = online.get(step.who);
          const before = queue.received;
          if (current) {
            await current.close();
            online.set(step.who, undefined);
            // the server's $disconnect runs after the socket closes: wait for its row to go
            while ((await deps.sql`select 1 from connections c join users u on u.id = c.user_id where u.username = ${subjects[step.who]!.username!}`).length) await sleep(10);
          } else {
            online.set(step.who, await resumeAs(t, subjects[step.who]!.token!));
          }
          // the change reaches the queue after the reply (or the close): wait for it
          for (let i = 0; i < 200 && queue.received === before; i++) await sleep(10);
          expect(queue.received).toBeGreaterThan(before);
          if (step.deliver) await work();
        }
        for (let rounds = 0; queue.messages.length && rounds < 1000; rounds++) {
          if (rounds === 100) calm = true;
          await work();
        }
        expect(queue.messages).toEqual([]);
        await new Promise((r) => setTimeout(r, 100));

        for (const w of watchers) {
          const state = shown(w);
          for (const [i, s] of subjects.entries()) {
            const truth = online.get(i) ? 'online' : 'offline';
            // A person never changed in this run may show their state from an earlier run: still the truth.
            expect(state.get(s.username!), `${w.username} sees ${s.username}`).toBe(truth);
          }
          // only people it watches
          for (const f of w.frames.filter((f) => f.type === 'presence_batch')) {
            expect(Object.keys(f.presence as object).every((u) => subjects.some((s) => s.username === u))).toBe(true);
          }
        }
        if (victim) {
          const rows = await deps.sql`select 1 from connections c join users u on u.id = c.user_id where u.username = ${victim.username}`;
          expect(rows).toHaveLength(0);
        }
        // Leave every subject online for the next run, its changes delivered at once.
        deps.presence = undefined;
        for (const [i] of subjects.entries()) {
          if (!online.get(i)) subjects[i] = Object.assign(await resumeAs(t, subjects[i]!.token!), { username: subjects[i]!.username });
          else subjects[i] = Object.assign(online.get(i)!, { username: subjects[i]!.username });
        }
        await new Promise((r) => setTimeout(r, 50));
      },
    ),
    { numRuns: Number(process.env.PRESENCE_CHAOS_RUNS ?? 10), endOnFailure: true },
  );
}, 180_000);
