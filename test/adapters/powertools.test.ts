// Powertools on Lambda: the Logger port's lines keep what the stack's metric
// filters read (`level` in lower case, the `security` field) and gain the
// invocation's request id and cold start; Telemetry's metrics come out as one
// CloudWatch embedded-metrics line per invocation, in the stack's namespace.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Context } from 'aws-lambda';
import { createObservability } from '../../functions/adapters/powertools.js';
import { securityEvent } from '../../functions/core/audit.js';

function lambdaContext(requestId: string): Context {
  return {
    awsRequestId: requestId,
    functionName: 'WildWhispers-SendFunction',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:WildWhispers-SendFunction',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/send',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 10_000,
    done() {},
    fail() {},
    succeed() {},
  };
}

let lines: Array<Record<string, unknown>>;
beforeEach(() => {
  lines = [];
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.stubEnv('POWERTOOLS_DEV', '');
  const capture = (chunk: unknown) => {
    for (const line of String(chunk).split('\n')) if (line.trim().startsWith('{')) lines.push(JSON.parse(line));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
  vi.spyOn(console, 'log').mockImplementation((s) => void capture(s));
  vi.spyOn(console, 'info').mockImplementation((s) => void capture(s));
  vi.spyOn(console, 'warn').mockImplementation((s) => void capture(s));
  vi.spyOn(console, 'error').mockImplementation((s) => void capture(s));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('Powertools adapter', () => {
  it('logs JSON lines with a lower-case level, the request id and the cold start, and keeps a security event\'s field', async () => {
    const { log, telemetry } = createObservability('info');
    await telemetry.around(lambdaContext('req-1'), 'send', async () => {
      log.error('could not post to a connection', { connectionId: 'abc=' });
      securityEvent(log, 'reply_too_large', { bytes: 200_000 });
    });
    await telemetry.around(lambdaContext('req-2'), 'send', async () => log.info('second'));

    const error = lines.find((l) => l.message === 'could not post to a connection');
    expect(error).toMatchObject({ level: 'error', request_id: 'req-1', cold_start: expect.any(Boolean), connectionId: 'abc=', service: 'wild-whispers' });
    expect(typeof error!.time).toBe('string');
    expect(lines.find((l) => l.security === 'reply_too_large')).toMatchObject({ level: expect.stringMatching(/^(warn|info|error)$/), request_id: 'req-1' });
    expect(lines.find((l) => l.message === 'second')).toMatchObject({ level: 'info', request_id: 'req-2', cold_start: false });
  });

  it('publishes the invocation\'s metrics as one embedded-metrics line in the WildWhispers namespace', async () => {
    const { telemetry } = createObservability('silent');
    await telemetry.around(lambdaContext('req-3'), 'fanout', async () => {
      telemetry.metric('FanoutSize', 10_000, 'Count');
      telemetry.metric('TimeToLastDelivery', 850, 'Milliseconds');
      telemetry.metric('TimeToLastDelivery', 910, 'Milliseconds');
    });
    const emf = lines.filter((l) => '_aws' in l && JSON.stringify(l).includes('TimeToLastDelivery'));
    expect(emf).toHaveLength(1);
    const directive = (emf[0]!._aws as { CloudWatchMetrics: Array<{ Namespace: string; Metrics: Array<{ Name: string; Unit: string }> }> }).CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('WildWhispers');
    expect(directive.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'FanoutSize', Unit: 'Count' },
        { Name: 'TimeToLastDelivery', Unit: 'Milliseconds' },
      ]),
    );
    expect(emf[0]).toMatchObject({ service: 'wild-whispers', FanoutSize: 10_000, TimeToLastDelivery: [850, 910] });
  });
});
