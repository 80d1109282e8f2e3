// Fan-out: one frame to many connections. A broadcast to at most `directMax`
// connections is posted here and now (the local server always posts here: its
// sockets are in this process). A larger one is cut into batches of connection
// ids and handed to a queue; workers post each batch (deliverBatch), drop the
// connections found gone, and hand back to the queue only the ids not reached, so
// a retry never posts again to a connection that got the frame. The guarantee is
// in docs/DELIVERY.md ("Fan-out workers").
import * as v from 'valibot';
import { dropConnections } from './connections.js';
import type { Deps, Frame } from './ports.js';
import { PRESENCE_BATCH, type PresenceMap } from './presence.js';

/** One queue message: a frame and the connections a worker posts it to. */
export interface FanoutBatch {
  /** the broadcast's key and this batch's place in it: `<key>/<index>`, with `.r<n>` per hand-back */
  key: string;
  frame: Frame;
  to: string[];
  /** hand-backs of failed posts so far (0: the first delivery) */
  attempt: number;
  /** when the broadcast was handed over (ms since the epoch): time to last delivery counts from here */
  sentAt: number;
}

export interface FanoutQueue {
  /** Queues the batches; resolves with those that could not be queued (none: all are). */
  enqueue(batches: readonly FanoutBatch[]): Promise<FanoutBatch[]>;
  /** Sets a batch aside for people to look at (the dead-letter queue): its posts failed every attempt. */
  deadLetter(batch: FanoutBatch): Promise<void>;
}

export interface Fanout {
  queue: FanoutQueue;
  /** broadcasts to more connections than this go through the queue */
  directMax: number;
  /** connection ids per queue message */
  idsPerBatch: number;
  /** hand-backs of a batch's failed posts before it is dead-lettered */
  maxAttempts: number;
}

/** SQS's largest message; a batch's body stays within it (frame + ids). */
export const MAX_QUEUE_MESSAGE_BYTES = 256 * 1024;
/** ids posted between two looks at the clock, in a worker */
export const CHUNK = 256;

export const FanoutBatchSchema = v.object({
  key: v.pipe(v.string(), v.maxLength(200)),
  frame: v.looseObject({ type: v.string() }),
  to: v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(128))), v.minLength(1)),
  attempt: v.pipe(v.number(), v.integer(), v.minValue(0)),
  sentAt: v.number(),
});

export function encodeBatch(batch: FanoutBatch): string {
  return JSON.stringify(batch);
}

/** A queue message's body as a batch; throws on anything else. */
export function decodeBatch(body: string): FanoutBatch {
  return v.parse(FanoutBatchSchema, JSON.parse(body)) as FanoutBatch;
}

let keys = 0;
/** A key for one broadcast: unique in this process, told apart from other processes by time and randomness. */
export function broadcastKey(frame: Frame): string {
  const message = (frame as { message?: { id?: unknown } }).message;
  const id = typeof message?.id === 'string' ? message.id : '';
  return `${frame.type}:${id}:${Date.now().toString(36)}.${(keys++).toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Cuts a broadcast into batches of at most `idsPerBatch` ids, each body within
 * MAX_QUEUE_MESSAGE_BYTES. Undefined when even one id beside the frame would not
 * fit (a frame API Gateway would refuse anyway).
 */
export function splitBatches(frame: Frame, to: readonly string[], idsPerBatch: number, sentAt: number, key = broadcastKey(frame)): FanoutBatch[] | undefined {
  const frameBytes = Buffer.byteLength(JSON.stringify(frame));
  const longestId = to.reduce((n, id) => Math.max(n, Buffer.byteLength(id)), 0);
  // {"key":…,"frame":…,"to":[…],"attempt":…,"sentAt":…}: 3 bytes per id for quotes and comma.
  const room = MAX_QUEUE_MESSAGE_BYTES - frameBytes - key.length - 200;
  const fits = Math.floor(room / (longestId + 3));
  if (fits < 1) return undefined;
  const per = Math.max(1, Math.min(idsPerBatch, fits));
  const batches: FanoutBatch[] = [];
  for (let i = 0; i < to.length; i += per) {
    batches.push({ key: `${key}/${batches.length}`, frame, to: to.slice(i, i + per), attempt: 0, sentAt });
  }
  return batches;
}

/**
 * Sends one broadcast: posted here when small or when there is no queue, else
 * queued for workers. Resolves with the connections found gone here (the caller
 * drops them); workers drop the ones they find themselves.
 */
export async function fanOut(deps: Deps, to: readonly string[], frame: Frame): Promise<string[]> {
  if (to.length === 0) return [];
  // E23: presence for watchers waits in the hosting's window, merged per connection.
  if (frame.type === PRESENCE_BATCH && deps.presence) {
    let left: readonly string[];
    try {
      left = await deps.presence.add(to, frame.presence as PresenceMap);
    } catch (err) {
      left = to;
      deps.log.error('could not queue presence', { connections: to.length, error: String(err) });
    }
    // What the hosting could not take is posted here, uncoalesced but not lost.
    if (left.length === 0) return [];
    return postDirect(deps, left, frame, Date.now());
  }
  const { fanout, telemetry } = deps;
  telemetry?.metric('FanoutSize', to.length, 'Count');
  const started = Date.now();
  if (fanout && to.length > fanout.directMax) {
    const batches = splitBatches(frame, to, fanout.idsPerBatch, started);
    if (batches) {
      let left: FanoutBatch[];
      try {
        left = await fanout.queue.enqueue(batches);
      } catch (err) {
        left = batches;
        deps.log.error('could not queue a fan-out', { frame: frame.type, batches: batches.length, error: String(err) });
      }
      telemetry?.metric('FanoutBatchesQueued', batches.length - left.length, 'Count');
      if (left.length === 0) return [];
      // The message is committed: what the queue refused is posted here, slower but not lost.
      if (left.length !== batches.length) deps.log.error('could not queue part of a fan-out', { frame: frame.type, batches: left.length });
      telemetry?.metric('FanoutQueueFallbacks', left.length, 'Count');
      return postDirect(deps, left.flatMap((b) => b.to), frame, started);
    }
  }
  return postDirect(deps, to, frame, started);
}

async function postDirect(deps: Deps, to: readonly string[], frame: Frame, started: number): Promise<string[]> {
  const gone = await deps.gateway.post(to, frame);
  deps.telemetry?.metric('TimeToLastDelivery', Date.now() - started, 'Milliseconds');
  if (gone.length) deps.telemetry?.metric('GoneConnections', gone.length, 'Count');
  return gone;
}

/** A worker's memory of the ids each batch has reached, so a redelivered batch skips them (see deliverBatch). */
export class FanoutProgress {
  private readonly done = new Map<string, Set<string>>();
  constructor(private readonly capacity = 2000) {}

  get(key: string): ReadonlySet<string> | undefined {
    return this.done.get(key);
  }

  mark(key: string, ids: Iterable<string>): void {
    let set = this.done.get(key);
    if (!set) {
      // Oldest first: a Map iterates in insertion order.
      if (this.done.size >= this.capacity) this.done.delete(this.done.keys().next().value as string);
      this.done.set(key, (set = new Set()));
    }
    for (const id of ids) set.add(id);
  }
}

export interface DeliverOptions {
  /** ids reached by earlier deliveries of the same batch (in this worker) */
  progress?: FanoutProgress;
  /** ms the worker has left (Lambda's getRemainingTimeInMillis); none: no deadline */
  timeLeftMs?: () => number;
  /** stop starting posts when less than this is left, and hand the rest back */
  reserveMs?: number;
}

export interface BatchOutcome {
  /** posts that reached their connection (or found it gone) */
  delivered: number;
  gone: string[];
  /** ids handed back: failed posts (attempt + 1) and ids not started before the deadline */
  handedBack: FanoutBatch[];
  /** set aside after `maxAttempts` */
  deadLettered: FanoutBatch | undefined;
}

/**
 * A worker's delivery of one batch: posts the frame to each id of the batch not
 * reached before, drops the connections found gone (their users' roommates hear
 * presence, posted through fanOut), and queues what is left: failed posts as a
 * new batch (attempt + 1, dead-lettered after `maxAttempts`), and ids not started
 * before the deadline as another. Throws only when the leftovers could not be
 * queued: then the queue delivers this batch again, and `progress` skips the ids
 * reached (in this worker; another worker posts them again, and clients drop
 * the duplicate by message id).
 */
export async function deliverBatch(deps: Deps, batch: FanoutBatch, options: DeliverOptions = {}): Promise<BatchOutcome> {
  const { gateway, telemetry } = deps;
  const fanout = deps.fanout;
  const { progress, timeLeftMs, reserveMs = 3000 } = options;
  const reached = progress?.get(batch.key);
  const todo = reached ? batch.to.filter((id) => !reached.has(id)) : batch.to;
  if (reached && todo.length < batch.to.length) telemetry?.metric('FanoutDuplicatesSkipped', batch.to.length - todo.length, 'Count');
  const gone: string[] = [];
  const failed: string[] = [];
  let unstarted: string[] = [];
  let delivered = 0;
  for (let i = 0; i < todo.length; i += CHUNK) {
    if (timeLeftMs && timeLeftMs() < reserveMs) {
      unstarted = todo.slice(i);
      break;
    }
    const chunk = todo.slice(i, i + CHUNK);
    const result = gateway.postEach ? await gateway.postEach(chunk, batch.frame) : { gone: await gateway.post(chunk, batch.frame), failed: [] };
    const failedHere = new Set(result.failed);
    const ok = chunk.filter((id) => !failedHere.has(id));
    progress?.mark(batch.key, ok);
    delivered += ok.length;
    gone.push(...result.gone);
    failed.push(...result.failed);
  }

  const handedBack: FanoutBatch[] = [];
  let deadLettered: FanoutBatch | undefined;
  if (failed.length) {
    const retry: FanoutBatch = { ...batch, key: `${batch.key}.r${batch.attempt + 1}`, to: failed, attempt: batch.attempt + 1 };
    if (!fanout || retry.attempt > fanout.maxAttempts) deadLettered = retry;
    else handedBack.push(retry);
  }
  if (unstarted.length) handedBack.push({ ...batch, key: `${batch.key}.c${todo.length - unstarted.length}`, to: unstarted });
  if (handedBack.length) {
    if (!fanout) throw new Error('a fan-out batch has ids left and there is no queue to hand them back to');
    const refused = await fanout.queue.enqueue(handedBack);
    if (refused.length) throw new Error(`could not hand back ${refused.length} fan-out batch(es) to the queue`);
    telemetry?.metric('FanoutHandBacks', handedBack.length, 'Count');
  }
  if (deadLettered) {
    if (fanout) await fanout.queue.deadLetter(deadLettered);
    deps.log.error('fan-out posts failed every attempt', { key: batch.key, frame: batch.frame.type, connections: deadLettered.to.length });
    telemetry?.metric('FanoutDeadLettered', deadLettered.to.length, 'Count');
  }

  if (gone.length) {
    telemetry?.metric('GoneConnections', gone.length, 'Count');
    try {
      const presence = await dropConnections(deps.sql, [...new Set(gone)], deps.settings);
      for (const b of presence) {
        const more = await fanOut(deps, b.to, b.frame);
        if (more.length) await dropConnections(deps.sql, more, deps.settings);
      }
    } catch (err) {
      // The frame went out; the sweep deletes rows of connections API Gateway no longer holds.
      deps.log.error('could not drop gone connections after a fan-out', { connections: gone.length, error: String(err) });
    }
  }
  // Per batch: the largest over a broadcast's batches is its time to last delivery.
  if (!unstarted.length && !failed.length) telemetry?.metric('TimeToLastDelivery', Date.now() - batch.sentAt, 'Milliseconds');
  telemetry?.metric('FanoutPosts', delivered, 'Count');
  return { delivered, gone, handedBack, deadLettered };
}
