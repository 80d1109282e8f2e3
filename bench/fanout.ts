// The AWS fan-out path, simulated: `npm run bench:fanout [-- --sizes=100,1000,10000 --runs=N --cold=MS]`.
// The real fan-out code (functions/core/fanout.ts: fanOut, splitBatches,
// deliverBatch) and the real gateway (ApiGatewayGateway over the real
// @aws-sdk/client-apigatewaymanagementapi client) post to a local management
// endpoint (bench/fanout-endpoint.ts, its own process: 20-50 ms a call, 429
// TooManyRequests past 10,000 calls a second with a burst of 5,000). SQS and
// Lambda's event source are a local stand-in (bench/sqs-standin.ts): there is no
// local SQS here. Measured: from the moment `sent` is posted to the sender to the
// last frame's arrival at the endpoint, for rooms of each size:
//   direct  — today's path: the send function posts to everyone (32 in flight);
//   after   — FANOUT_DIRECT_MAX=500: rooms over it go through the queue;
//   queued  — every room through the queue (FANOUT_DIRECT_MAX=0), to find where it pays.
import { type ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { ApiGatewayGateway } from '../functions/adapters/aws-gateway.js';
import { FANOUT } from '../infra/fanout.js';
import { FanoutProgress, deliverBatch, fanOut } from '../functions/core/fanout.js';
import type { Deps, Frame } from '../functions/core/ports.js';
import { SqsStandIn } from './sqs-standin.js';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SIZES = arg('sizes', '100,500,1000,10000').split(',').map(Number);
const MODES = arg('modes', 'direct,after,queued').split(',') as Array<'direct' | 'after' | 'queued'>;
const RUNS = Number(arg('runs', '0')); // 0: by size
const COLD_MS = Number(arg('cold', '0'));
const RECEIVE_MS = Number(arg('receive', '20'));
const IDS_PER_BATCH = Number(arg('ids', String(FANOUT.idsPerBatch)));
const runsFor = (size: number) => RUNS || (size <= 100 ? 10 : size <= 1000 ? 5 : 3);
/** Lambda model: batches delivered one at a time, their measured durations scheduled on the workers afterwards */
const ISOLATED = process.argv.includes('--isolated');
/** API Gateway's PostToConnection budget (the endpoint's): the last of n posts arrives no sooner than this */
const RATE = 10_000;
const BURST = 5_000;

/**
 * When the last batch ends if each ran on its own worker: batches become visible
 * when queued, a worker takes up to batchSize of them (receive latency, cold
 * start once per worker), at most maxConcurrency workers at once; each batch takes
 * the time it took alone. Not sooner than API Gateway's rate allows.
 */
function scheduled(queuedAt: number, sent: number, durations: number[], size: number): number {
  const free: number[] = Array.from({ length: FANOUT.maxConcurrency }, () => queuedAt);
  const warm: boolean[] = free.map(() => false);
  let last = queuedAt;
  for (let i = 0; i < durations.length; i += FANOUT.batchSize) {
    const w = free.indexOf(Math.min(...free));
    const start = free[w]! + RECEIVE_MS + (warm[w] ? 0 : COLD_MS);
    warm[w] = true;
    // the records of one invocation run side by side
    const end = start + Math.max(...durations.slice(i, i + FANOUT.batchSize));
    free[w] = end;
    last = Math.max(last, end);
  }
  return Math.max(last - sent, ((size - BURST) / RATE) * 1000);
}

/**
 * Per message, averaged over a row's runs (scripts/cost-model.ts prices these):
 * PostToConnection calls; how long fanOut took in the sending function (the
 * direct path's posting, or handing the batches to the queue); queue messages;
 * worker invocations (records side by side, FANOUT.batchSize each) and their
 * handlers' time in all, ms (in --isolated runs, each alone on the CPU).
 */
interface PerMessage {
  postsPerMessage: number;
  producerMsPerMessage: number;
  batchesPerMessage: number;
  workerInvocationsPerMessage: number;
  workerMsPerMessage: number;
}

process.env.AWS_ACCESS_KEY_ID ??= 'AKIDBENCH';
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';

const silent = { info() {}, warn() {}, error() {} };
const noSql = new Proxy({}, { get: () => { throw new Error('the bench has no gone connections and no database'); } }) as never;

function client(port: number): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({ region: 'eu-west-1', endpoint: `http://127.0.0.1:${port}/prod`, maxAttempts: 1 });
}

function deps(port: number, concurrency: number, extra: Partial<Deps> = {}): Deps {
  return {
    sql: noSql,
    gateway: new ApiGatewayGateway(client(port), { concurrency, log: silent }),
    mailer: { send: async () => {} },
    clock: { now: () => new Date() },
    log: silent,
    settings: {} as Deps['settings'],
    ...extra,
  };
}

async function stats(port: number, key: string): Promise<{ count: number; last: number; throttledTotal: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/stats?key=${encodeURIComponent(key)}`);
  return (await res.json()) as { count: number; last: number; throttledTotal: number };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function main(): Promise<void> {
  const endpoint: ChildProcess = fork(new URL('./fanout-endpoint.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => endpoint.once('message', (m) => resolve((m as { port: number }).port)));
  const results: Array<{ mode: string; size: number; runs: number; p50: number; p99: number; max: number; throttled: number } & PerMessage> = [];
  try {
    for (const mode of MODES) {
      // One producer (the send function's sandbox) and the workers' sandboxes, warm across runs as Lambda's are.
      const queue = new SqsStandIn({
        batchSize: FANOUT.batchSize,
        // isolated: one batch at a time, each with the process's CPU as a sandbox has its own; the schedule is computed after
        maxConcurrency: ISOLATED ? 1 : FANOUT.maxConcurrency,
        receiveLatencyMs: RECEIVE_MS,
        coldStartMs: COLD_MS,
        sandbox: () => ({ deps: deps(port, FANOUT.postConcurrency), progress: new FanoutProgress() }),
        worker: async (batch, box) => {
          await deliverBatch(box.deps, batch, { progress: box.progress });
        },
      });
      const producer = deps(port, 32, {
        fanout: mode === 'direct' ? undefined : { queue, directMax: mode === 'after' ? FANOUT.directMax : 0, idsPerBatch: IDS_PER_BATCH, maxAttempts: FANOUT.maxAttempts },
      });
      // Warm-up, not measured: the SDK's first calls, the sockets, the JIT.
      for (let i = 0; i < 3; i++) {
        const key = `warm-${mode}-${i}`;
        await fanOut(producer, Array.from({ length: 2000 }, (_, j) => `warm${j}=`), { type: 'message', key });
        await queue.idle();
        await stats(port, key);
      }
      for (const size of SIZES) {
        const ids = Array.from({ length: size }, (_, i) => `conn${String(i).padStart(6, '0')}AbC=`);
        const times: number[] = [];
        const counts = { producerMs: 0, batches: 0, invocations: 0, workerMs: 0 };
        let throttledBefore = (await stats(port, '-')).throttledTotal;
        let throttled = 0;
        for (let run = 0; run < runsFor(size); run++) {
          const key = `${mode}-${size}-${run}`;
          const frame: Frame = { type: 'message', key, message: { id: String(run), room: 'general', from: 'bench', text: 'x'.repeat(200), at: new Date().toISOString(), clientId: key, seq: String(run) } };
          queue.runs.length = 0;
          queue.invocations.length = 0;
          const sent = Date.now();
          await fanOut(producer, ids, frame);
          const queuedAt = Date.now();
          await queue.idle();
          const s = await stats(port, key);
          if (s.count !== size) throw new Error(`${key}: ${s.count} of ${size} frames arrived`);
          const viaQueue = queue.runs.length > 0;
          counts.producerMs += queuedAt - sent;
          counts.batches += queue.runs.length;
          counts.invocations += queue.invocations.length;
          counts.workerMs += queue.invocations.reduce((n, i) => n + (i.end - i.start), 0);
          times.push(ISOLATED && viaQueue ? scheduled(queuedAt, sent, queue.runs.map((r) => r.end - r.start), size) : s.last - sent);
          throttled += s.throttledTotal - throttledBefore;
          throttledBefore = s.throttledTotal;
          await new Promise((r) => setTimeout(r, 200)); // the token bucket refills between messages
        }
        const n = times.length;
        const row = {
          mode,
          size,
          runs: n,
          p50: pct(times, 50),
          p99: pct(times, 99),
          max: Math.max(...times),
          throttled,
          // per message, averaged over the runs: what scripts/cost-model.ts prices
          postsPerMessage: size,
          producerMsPerMessage: Math.round(counts.producerMs / n),
          batchesPerMessage: counts.batches / n,
          workerInvocationsPerMessage: counts.invocations / n,
          workerMsPerMessage: Math.round(counts.workerMs / n),
        };
        results.push(row);
        console.log(`${mode.padEnd(7)} ${String(size).padStart(6)} connections: time to last delivery p50 ${row.p50} ms, p99 ${row.p99} ms (${row.runs} runs), 429s ${throttled}`);
      }
    }
  } finally {
    endpoint.kill();
  }
  const out = { at: new Date().toISOString(), isolated: ISOLATED, node: process.version, cpus: cpus().length, loadavg: loadavg(), receiveLatencyMs: RECEIVE_MS, coldStartMs: COLD_MS, idsPerBatch: IDS_PER_BATCH, fanout: FANOUT, results };
  const file = arg('out', `bench/results/${out.at.slice(0, 16).replace(/[:T]/g, '-')}-fanout${ISOLATED ? '-isolated' : ''}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2));
  console.table(results);
  console.log(`written to ${file}`);
}

await main();
