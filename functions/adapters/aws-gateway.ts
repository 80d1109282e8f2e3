// The gateway port on AWS: API Gateway's management API (PostToConnection,
// DeleteConnection). A room's fan-out is one call per connection, so calls run
// a bounded number at a time; a 410 names a connection that is gone (its row is
// then dropped by the caller), and throttling is retried with backoff. A 413
// (a frame over API Gateway's 128 KB) is the reply's fault, not the reader's: it
// is logged as a security event with its size, and the connection stays.
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { securityEvent } from '../core/audit.js';
import type { Frame, Gateway, Logger, Telemetry } from '../core/ports.js';

export interface ApiGatewayGatewayOptions {
  /** calls in flight at once; the account's PostToConnection budget is 10,000/s */
  concurrency?: number;
  /** attempts per call when throttled or on a transient failure */
  maxAttempts?: number;
  /** first backoff in ms; doubles each retry, with full jitter */
  baseDelayMs?: number;
  maxDelayMs?: number;
  log?: Logger;
  /** counts throttled calls and failed posts */
  telemetry?: Telemetry;
  sleep?: (ms: number) => Promise<void>;
}

type Classified = 'gone' | 'too_large' | 'retry' | 'fail';

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** SDK v3 errors carry `name` and `$metadata.httpStatusCode` (there is no `statusCode`). */
export function classify(err: unknown): Classified {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'GoneException' || status === 410) return 'gone';
  // The same bytes would be refused again: no retry, and the connection is alive.
  if (e.name === 'PayloadTooLargeException' || status === 413) return 'too_large';
  if (e.name === 'LimitExceededException' || e.name === 'ThrottlingException' || e.name === 'TooManyRequestsException') return 'retry';
  if (status === 429 || (status !== undefined && status >= 500)) return 'retry';
  // No HTTP answer at all (reset socket, timeout): worth another try.
  if (status === undefined && e.$retryable !== false) return 'retry';
  return 'fail';
}

/** API Gateway's answer to a caller over its PostToConnection rate. */
function isThrottle(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  return e.$metadata?.httpStatusCode === 429 || e.name === 'LimitExceededException' || e.name === 'ThrottlingException' || e.name === 'TooManyRequestsException';
}

type CallOutcome = { kind: 'ok' } | { kind: 'gone' } | { kind: 'too_large' } | { kind: 'error'; error: unknown };

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `work` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export class ApiGatewayGateway implements Gateway {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: ApiGatewayManagementApiClient,
    private readonly options: ApiGatewayGatewayOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 32;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 2000;
    this.sleep = options.sleep ?? realSleep;
  }

  async post(connectionIds: readonly string[], frame: Frame): Promise<string[]> {
    return (await this.postEach(connectionIds, frame)).gone;
  }

  async postEach(connectionIds: readonly string[], frame: Frame): Promise<{ gone: string[]; failed: string[] }> {
    if (connectionIds.length === 0) return { gone: [], failed: [] };
    // Encode once; every call sends the same bytes.
    const data = Buffer.from(JSON.stringify(frame));
    const gone: string[] = [];
    const refused: string[] = [];
    const failed: string[] = [];
    await eachLimited(connectionIds, this.concurrency, async (id) => {
      // Every call carries the same bytes: once one is refused as too large, the rest would be too.
      if (refused.length) return void refused.push(id);
      const outcome = await this.call(() => this.client.send(new PostToConnectionCommand({ ConnectionId: id, Data: data })));
      if (outcome.kind === 'gone') gone.push(id);
      else if (outcome.kind === 'too_large') refused.push(id);
      else if (outcome.kind === 'error') {
        // The message is committed already; one unreachable reader must not fail the send.
        failed.push(id);
        this.options.log?.error('could not post to a connection', { connectionId: id, frame: frame.type, error: String(outcome.error) });
      }
    });
    // A reply the server built too big, or input that made one: one line per frame,
    // however many readers, counted and alarmed on AWS (infra/stack.ts).
    if (refused.length && this.options.log) {
      securityEvent(this.options.log, 'reply_too_large', { frame: frame.type, bytes: data.length, connections: refused.length, connectionId: refused[0] });
    }
    if (failed.length) this.options.telemetry?.metric('PostFailures', failed.length, 'Count');
    return { gone, failed };
  }

  async disconnect(connectionId: string): Promise<void> {
    const outcome = await this.call(() => this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId })));
    // Already gone is what we wanted.
    if (outcome.kind === 'error') {
      this.options.log?.error('could not close a connection', { connectionId, error: String(outcome.error) });
    }
  }

  /** Retries throttling and transient failures; a final error is returned, not thrown. */
  private async call(attempt: () => Promise<unknown>): Promise<CallOutcome> {
    for (let n = 1; ; n++) {
      try {
        await attempt();
        return { kind: 'ok' };
      } catch (err) {
        const kind = classify(err);
        if (kind === 'retry' && isThrottle(err)) this.options.telemetry?.metric('Throttles', 1, 'Count');
        if (kind === 'gone' || kind === 'too_large') return { kind };
        if (kind === 'fail' || n >= this.maxAttempts) return { kind: 'error', error: err };
        const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1));
        await this.sleep(Math.random() * cap);
      }
    }
  }
}
