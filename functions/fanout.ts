// The fan-out worker: SQS delivers batches of a broadcast (fanout.ts' splitBatches),
// each a frame and up to FANOUT_BATCH_IDS connection ids; each record is posted
// by the same core code as every broadcast (deliverBatch). A record that fails is
// named in the partial batch response, so SQS delivers it again (and after
// maxReceiveCount, to the dead-letter queue) while the others are deleted.
// *(E23)* The same worker reads the presence queue: its records (changes for
// watchers, gathered over the event source's batching window) are merged per
// connection and posted as one `presence_batch` each (core/presence-queue.ts).
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { getDeps } from './adapters/runtime.js';
import { FanoutProgress, decodeBatch, deliverBatch } from './core/fanout.js';
import { type PresenceMessage, QueuedPresence, decodePresence, deliverPresence } from './core/presence-queue.js';
import { observed } from './route.js';

/** Lambda's deadline less this: posts stop, and the ids not started are handed back. */
const RESERVE_MS = 2000;
/** ids each batch reached, kept for the life of the sandbox: a redelivery skips them */
const progress = new FanoutProgress();

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const deps = await getDeps();
  return observed(deps, context, 'fanout', async () => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    // E23: records from the presence queue are merged per connection and posted together.
    const presence: Array<{ messageId: string; message: PresenceMessage }> = [];
    const batches: typeof event.Records = [];
    for (const record of event.Records) {
      try {
        const message = decodePresence(record.body);
        if (message) presence.push({ messageId: record.messageId, message });
        else batches.push(record);
      } catch (err) {
        deps.log.error('presence record is malformed; the queue delivers it again', { messageId: record.messageId, error: String(err) });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    const presenceDone = presence.length
      ? deliverPresence(
          deps,
          presence.map((p) => p.message),
          deps.presence instanceof QueuedPresence ? deps.presence.queue : undefined,
          deps.fanout?.maxAttempts ?? 0,
        ).catch((err) => {
          // Posted again on redelivery: state, so a connection that got it already sees no change.
          deps.log.error('presence batch failed; the queue delivers it again', { records: presence.length, error: String(err) });
          for (const p of presence) failures.push({ itemIdentifier: p.messageId });
        })
      : undefined;
    // The records of one invocation are posted side by side.
    await Promise.all([
      presenceDone,
      ...batches.map(async (record) => {
        try {
          const batch = decodeBatch(record.body);
          await deliverBatch(deps, batch, { progress, reserveMs: RESERVE_MS, timeLeftMs: context ? () => context.getRemainingTimeInMillis() : undefined });
        } catch (err) {
          deps.log.error('fan-out batch failed; the queue delivers it again', { messageId: record.messageId, error: String(err) });
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    ]);
    return { batchItemFailures: failures };
  });
}
