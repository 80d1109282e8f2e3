// A local stand-in for SQS and Lambda's SQS event source mapping (there is no
// local SQS in this project): a FanoutQueue whose messages are delivered to a
// worker function in batches of `batchSize`, at most `maxConcurrency`
// invocations at once, each on a "sandbox" that keeps its state between
// invocations as a warm Lambda does. Each delivery waits `receiveLatencyMs` (the
// poll and invoke), the first on a sandbox `coldStartMs` more. A record whose
// worker throws is received again after `visibilityMs`; past `maxReceiveCount`
// receives it goes to `dead`, as SQS's redrive does. Used by bench/fanout.ts and
// the delivery chaos tests.
import { type FanoutBatch, type FanoutQueue, decodeBatch, encodeBatch } from '../functions/core/fanout.js';

export interface StandInOptions<S> {
  batchSize: number;
  maxConcurrency: number;
  receiveLatencyMs?: number;
  coldStartMs?: number;
  visibilityMs?: number;
  maxReceiveCount?: number;
  /** makes a sandbox's state (its clients, its progress) on first use */
  sandbox: (index: number) => S;
  /** one record; throwing leaves it on the queue */
  worker: (batch: FanoutBatch, sandbox: S, receive: { messageId: string; receiveCount: number }) => Promise<void>;
}

interface Stored {
  messageId: string;
  body: string;
  receiveCount: number;
  visibleAt: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SqsStandIn<S> implements FanoutQueue {
  readonly messages: Stored[] = [];
  readonly dead: FanoutBatch[] = [];
  /** every record delivered, in order (chaos tests read it) */
  readonly received: Array<{ messageId: string; receiveCount: number }> = [];
  /** each record's worker run: when it started and ended (ms since the epoch) */
  readonly runs: Array<{ start: number; end: number }> = [];
  /** each worker invocation (its records side by side): when its handler started and ended, and its records */
  readonly invocations: Array<{ start: number; end: number; records: number }> = [];
  private readonly sandboxes: Array<{ state: S; busy: boolean; warm: boolean }> = [];
  private running = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];

  constructor(private readonly options: StandInOptions<S>) {}

  async enqueue(batches: readonly FanoutBatch[]): Promise<FanoutBatch[]> {
    for (const b of batches) this.messages.push({ messageId: `m-${++this.seq}`, body: encodeBatch(b), receiveCount: 0, visibleAt: 0 });
    this.pump();
    return [];
  }

  async deadLetter(batch: FanoutBatch): Promise<void> {
    this.dead.push(batch);
  }

  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void> {
    if (this.messages.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private pump(): void {
    const now = Date.now();
    while (this.running < this.options.maxConcurrency) {
      const ready = this.messages.filter((m) => m.visibleAt <= now).slice(0, this.options.batchSize);
      if (ready.length === 0) break;
      for (const m of ready) {
        m.visibleAt = Number.POSITIVE_INFINITY; // in flight
        m.receiveCount++;
      }
      this.running++;
      void this.invoke(ready).finally(() => {
        this.running--;
        this.pump();
      });
    }
    // Records waiting out their visibility timeout: look again when the first is due.
    const next = Math.min(...this.messages.filter((m) => m.visibleAt !== Number.POSITIVE_INFINITY).map((m) => m.visibleAt));
    if (this.timer) clearTimeout(this.timer);
    this.timer = Number.isFinite(next) ? setTimeout(() => this.pump(), Math.max(1, next - Date.now())) : undefined;
    if (this.messages.length === 0 && this.running === 0) for (const w of this.waiters.splice(0)) w();
  }

  private async invoke(records: Stored[]): Promise<void> {
    let sandbox = this.sandboxes.find((s) => !s.busy);
    if (!sandbox) this.sandboxes.push((sandbox = { state: this.options.sandbox(this.sandboxes.length), busy: false, warm: false }));
    sandbox.busy = true;
    const box = sandbox;
    try {
      await sleep((this.options.receiveLatencyMs ?? 0) + (box.warm ? 0 : (this.options.coldStartMs ?? 0)));
      box.warm = true;
      const started = Date.now();
      await Promise.all(
        records.map(async (m) => {
          this.received.push({ messageId: m.messageId, receiveCount: m.receiveCount });
          const start = Date.now();
          try {
            await this.options.worker(decodeBatch(m.body), box.state, { messageId: m.messageId, receiveCount: m.receiveCount });
            this.runs.push({ start, end: Date.now() });
            this.messages.splice(this.messages.indexOf(m), 1);
          } catch {
            if (m.receiveCount >= (this.options.maxReceiveCount ?? 3)) {
              this.messages.splice(this.messages.indexOf(m), 1);
              this.dead.push(decodeBatch(m.body));
            } else {
              m.visibleAt = Date.now() + (this.options.visibilityMs ?? 50);
            }
          }
        }),
      );
      this.invocations.push({ start: started, end: Date.now(), records: records.length });
    } finally {
      box.busy = false;
    }
  }
}
