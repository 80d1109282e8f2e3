// The fan-out queue on AWS: SQS. Batches go out with SendMessageBatch, at most
// 10 entries and 256 KB a call (SQS's limits; each body is within 256 KB by
// fanout.ts's splitBatches). A hand-back of failed posts waits 2^attempt seconds
// before a worker sees it. Dead-lettered batches go to the dead-letter queue
// directly, where the alarm sees them.
import { type SQSClient, SendMessageBatchCommand, SendMessageCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { type FanoutBatch, type FanoutQueue, MAX_QUEUE_MESSAGE_BYTES, encodeBatch } from '../core/fanout.js';
import { type PresenceMessage, type PresenceQueue, encodePresence } from '../core/presence-queue.js';

const ENTRIES_PER_CALL = 10;

/**
 * Queues `items` with SendMessageBatch: calls of at most 10 entries and 256 KB
 * of bodies, sent at once, each retried once for the entries it failed.
 * Resolves with the items still not queued (the caller decides what to do).
 */
async function sendAll<T>(client: SQSClient, queueUrl: string, items: readonly T[], body: (item: T) => string, delay?: (item: T) => number): Promise<T[]> {
  const calls: Array<Array<{ item: T; entry: SendMessageBatchRequestEntry }>> = [];
  let call: Array<{ item: T; entry: SendMessageBatchRequestEntry }> = [];
  let bytes = 0;
  items.forEach((item, i) => {
    const entry: SendMessageBatchRequestEntry = { Id: String(i), MessageBody: body(item), ...(delay ? { DelaySeconds: delay(item) } : {}) };
    const size = Buffer.byteLength(entry.MessageBody!);
    if (call.length && (call.length === ENTRIES_PER_CALL || bytes + size > MAX_QUEUE_MESSAGE_BYTES)) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push({ item, entry });
    bytes += size;
  });
  if (call.length) calls.push(call);
  const left = await Promise.all(
    calls.map(async (c) => {
      let pending = c;
      for (let attempt = 0; attempt < 2 && pending.length; attempt++) {
        try {
          const out = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending.map((p) => p.entry) }));
          const failed = new Set((out.Failed ?? []).map((f) => f.Id));
          pending = pending.filter((p) => failed.has(p.entry.Id));
        } catch (err) {
          if (attempt === 1) throw err;
        }
      }
      return pending.map((p) => p.item);
    }),
  );
  return left.flat();
}

export class SqsFanoutQueue implements FanoutQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly deadLetterUrl: string | undefined,
  ) {}

  enqueue(batches: readonly FanoutBatch[]): Promise<FanoutBatch[]> {
    return sendAll(this.client, this.queueUrl, batches, encodeBatch, delayOf);
  }

  async deadLetter(batch: FanoutBatch): Promise<void> {
    if (!this.deadLetterUrl) return;
    await this.client.send(new SendMessageCommand({ QueueUrl: this.deadLetterUrl, MessageBody: encodeBatch(batch) }));
  }
}

/** A hand-back of failed posts waits 2, 4, 8... seconds (SQS allows up to 900). */
export function delayOf(batch: FanoutBatch): number {
  return /\.r\d+$/.test(batch.key) ? Math.min(900, 2 ** batch.attempt) : 0;
}

/**
 * *(E23)* The presence queue: changes for watchers, which the worker reads in
 * batches gathered over the event source mapping's MaximumBatchingWindow and
 * merges per connection (presence-queue.ts). No delay and no dead-letter queue
 * of its own making: a change the worker cannot post is state the next change
 * replaces.
 */
export class SqsPresenceQueue implements PresenceQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  enqueue(messages: readonly PresenceMessage[]): Promise<PresenceMessage[]> {
    return sendAll(this.client, this.queueUrl, messages, encodePresence);
  }
}
