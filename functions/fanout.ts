// The fan-out worker: SQS delivers batches of a broadcast (fanout.ts' splitBatches),
// each a frame and up to FANOUT_BATCH_IDS connection ids; each record is posted
// by the same core code as every broadcast (deliverBatch). A record that fails is
// named in the partial batch response, so SQS delivers it again (and after
// maxReceiveCount, to the dead-letter queue) while the others are deleted.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { getDeps } from './adapters/runtime.js';
import { FanoutProgress, decodeBatch, deliverBatch } from './core/fanout.js';
import { observed } from './route.js';

/** Lambda's deadline less this: posts stop, and the ids not started are handed back. */
const RESERVE_MS = 2000;
/** ids each batch reached, kept for the life of the sandbox: a redelivery skips them */
const progress = new FanoutProgress();

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const deps = await getDeps();
  return observed(deps, context, 'fanout', async () => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    // The records of one invocation are posted side by side.
    await Promise.all(
      event.Records.map(async (record) => {
        try {
          const batch = decodeBatch(record.body);
          await deliverBatch(deps, batch, { progress, reserveMs: RESERVE_MS, timeLeftMs: context ? () => context.getRemainingTimeInMillis() : undefined });
        } catch (err) {
          deps.log.error('fan-out batch failed; the queue delivers it again', { messageId: record.messageId, error: String(err) });
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    );
    return { batchItemFailures: failures };
  });
}
