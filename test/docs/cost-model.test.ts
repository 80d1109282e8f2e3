// docs/DEPLOY.md's cost tables are what scripts/cost-model.ts computes from the
// bench results committed in bench/results: regenerate them with
// `npm run cost -- --write` after a bench run or a change to the model.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ASSUMPTIONS,
  type Assumptions,
  type BenchInputs,
  DEPLOY_MD,
  apiGatewayMessagesCost,
  concurrentConnections,
  currentBlock,
  docBlock,
  interpolate,
  month,
  presencePerEventBefore,
  readBenchInputs,
  recipients,
  sqsRequestsPerBroadcast,
} from '../../scripts/cost-model.js';

describe('the cost model in docs/DEPLOY.md', () => {
  it('is what the script computes from the committed bench results', () => {
    const doc = readFileSync(DEPLOY_MD, 'utf8');
    const block = currentBlock(doc);
    expect(block, 'docs/DEPLOY.md has the cost-model markers').toBeDefined();
    expect(block).toBe(docBlock(readBenchInputs()));
  });
});

describe('the arithmetic', () => {
  /** Round figures, so every count below can be checked by hand. */
  const a: Assumptions = {
    ...ASSUMPTIONS[0]!,
    mau: 2_400,
    dailyActiveShare: 0.5,
    messagesPerPersonPerDay: 10,
    share: { general: 1, small: 0, dm: 0 },
    loginsPerPersonPerDay: 1,
    connectionsPerPerson: 1,
    connectionHoursPerDay: 2.4,
    dbInstance: 'db.t4g.micro',
  };
  const point = (size: number, ms: number) => ({ size, postsPerMessage: size, producerMsPerMessage: ms, batchesPerMessage: size / 100, workerInvocationsPerMessage: size / 200, workerMsPerMessage: size / 10 });
  const bench: BenchInputs = {
    // 5,000 online: a login heard by (5,000 − 1)/2 on average, exactly: reach 1
    v1: { file: 'ramp-test.json', online: 5000, framesPerLogin: 2499.5 },
    watch: null,
    fanout: { file: 'fanout-test.json', direct: [point(100, 100), point(1000, 1000)], queued: [point(1000, 50)] },
  };

  it('prices API Gateway messages with the tier past a billion', () => {
    expect(apiGatewayMessagesCost(2e6)).toBeCloseTo(2, 9);
    expect(apiGatewayMessagesCost(1.5e9)).toBeCloseTo(1000 + 400, 6);
  });

  it('counts SQS requests per queued broadcast', () => {
    // 10 batches: one SendMessageBatch, 5 receives and 5 deletes of 2 records
    expect(sqsRequestsPerBroadcast(10)).toBe(11);
    expect(sqsRequestsPerBroadcast(100)).toBe(10 + 50 + 50);
  });

  it('interpolates the bench between sizes, from 0, and in proportion past the largest', () => {
    expect(interpolate(bench.fanout.direct, 50, 'producerMsPerMessage')).toBe(50);
    expect(interpolate(bench.fanout.direct, 550, 'producerMsPerMessage')).toBe(550);
    expect(interpolate(bench.fanout.direct, 3000, 'producerMsPerMessage')).toBe(3000);
  });

  it('computes one month by hand', () => {
    // 2,400 × 50% = 1,200 active a day; online 2.4 h of 24 → 120 connections at a time
    expect(concurrentConnections(a)).toBeCloseTo(120, 9);
    // a member is online 5% of the time: a room of 11 reaches 1 + 10 × 0.05 connections
    expect(recipients(a, 11)).toBeCloseTo(1.5, 9);
    expect(presencePerEventBefore(a, bench)).toBeCloseTo(120, 9);
    const m = month(a, bench);
    const line = (variant: 'before' | 'after', start: string) => m.lines[variant].find((l) => l.item.startsWith(start))!;
    // 1,200 × 30 = 36,000 person-days: 360,000 messages, each to 120 + 1 (the `sent` reply);
    // 36,000 logins, each two presence broadcasts to 120 (before) or 20 watchers (after)
    const postsBefore = 360_000 * 121 + 72_000 * 120;
    const postsAfter = 360_000 * 121 + 72_000 * 20;
    expect(line('before', 'PostToConnection').quantity).toBe('52.2 M');
    expect(postsBefore).toBe(52_200_000);
    expect(line('after', 'PostToConnection').quantity).toBe('45 M');
    expect(postsAfter).toBe(45_000_000);
    // API Gateway bills every post and every request in (360,000 sends, 36,000 resumes)
    expect(line('before', 'API Gateway messages').dollars).toBeCloseTo((postsBefore + 396_000) / 1e6, 9);
    // 36,000 × 2.4 h × 60 = 5.184 M connection minutes at $0.25 a million
    expect(line('before', 'API Gateway connection minutes').dollars).toBeCloseTo(5.184 * 0.25, 9);
    // Lambda: 360,000 sends + 72,000 presence broadcasts + 43,800 sweeps; no room is over
    // FANOUT_DIRECT_MAX (121 connections), so no workers and no queue traffic beyond idle polling
    expect(line('after', 'Lambda invocations').quantity).toBe('476 k (workers 0)');
    expect(line('after', 'SQS requests').quantity).toBe('700 k');
    expect(line('before', 'SQS requests').quantity).toBe('0');
    // GB-seconds, before: sends 360,000 × (30 + 121 ms) × 0.5 GB, presence 72,000 × (60 + 120 ms) × 1 GB,
    // sweeps 43,800 × 200 ms × 0.5 GB
    const gbs = (360_000 * 151 * 0.5 + 72_000 * 180 * 1 + 43_800 * 200 * 0.5) / 1000;
    expect(line('before', 'Lambda GB-seconds').dollars).toBeCloseTo(gbs * 0.0000133334, 9);
    // NAT: 730 h × ($0.045 + $0.005), and 1,500 B a post at $0.045 a GB
    expect(line('before', 'NAT gateway: hours').dollars).toBeCloseTo(36.5, 9);
    expect(line('before', 'NAT gateway: data').dollars).toBeCloseTo(((postsBefore * 1500) / 1e9) * 0.045, 9);
    // RDS t4g.micro 730 × $0.016, the proxy 2 vCPU × 730 × $0.015, 20 GB × $0.115
    expect(line('before', 'RDS').dollars).toBeCloseTo(11.68 + 21.9 + 2.3, 9);
  });
});
