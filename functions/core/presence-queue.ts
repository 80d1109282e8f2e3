// E23 on AWS: a Lambda cannot hold a timer, so presence for watchers goes through
// a queue whose event source mapping waits (MaximumBatchingWindow, about 1 s) and
// hands the worker many changes at once. The worker merges them per connection
// (the last status per person winning) and posts one `presence_batch` per
// connection per batch (docs/DEPLOY.md, "Presence").
//
// The worker posts STATE, not the queued event: it reads each person's status as
// it is now (connected or not). A batch delivered again after a worker died, a
// duplicate, or an older change arriving after a newer one (SQS standard queues
// do not keep order) all post the current state, which a client applies as is:
// applying it twice changes nothing.
import * as v from 'valibot';
import { dropConnections } from './connections.js';
import { CHUNK, MAX_QUEUE_MESSAGE_BYTES, fanOut } from './fanout.js';
import type { Deps } from './ports.js';
import { groupByFrame, mergePresence, presenceBatchFrame, type PresenceBatcher, type PresenceMap, type PresenceStatus } from './presence.js';

/** One queue message: presence changes for some connections. */
export interface PresenceMessage {
  kind: 'presence';
  key: string;
  to: string[];
  presence: PresenceMap;
  /** when the change was made (ms since the epoch): a batch is merged in this order */
  at: number;
  /** hand-backs of failed posts so far */
  attempt: number;
}

/** connection ids per presence message: ~128 bytes each stays far within SQS's 256 KB */
export const PRESENCE_IDS_PER_MESSAGE = 1000;

const STATUS = v.picklist(['online', 'away', 'offline']);

export const PresenceMessageSchema = v.object({
  kind: v.literal('presence'),
  key: v.pipe(v.string(), v.maxLength(200)),
  to: v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(128))), v.minLength(1), v.maxLength(PRESENCE_IDS_PER_MESSAGE)),
  presence: v.record(v.pipe(v.string(), v.maxLength(32)), STATUS),
  at: v.number(),
  attempt: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

export function encodePresence(message: PresenceMessage): string {
  return JSON.stringify(message);
}

/** A queue message's body as presence changes, or undefined when it is something else (a fan-out batch). */
export function decodePresence(body: string): PresenceMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { kind?: unknown }).kind !== 'presence') return undefined;
  return v.parse(PresenceMessageSchema, parsed) as PresenceMessage;
}

let keys = 0;

/** Cuts one change for many connections into queue messages. */
export function splitPresence(to: readonly string[], presence: PresenceMap, at: number, attempt = 0): PresenceMessage[] {
  const key = `presence:${at.toString(36)}.${(keys++).toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
  const out: PresenceMessage[] = [];
  for (let i = 0; i < to.length; i += PRESENCE_IDS_PER_MESSAGE) {
    out.push({ kind: 'presence', key: `${key}/${out.length}`, to: to.slice(i, i + PRESENCE_IDS_PER_MESSAGE), presence, at, attempt });
  }
  // Sanity: a message is ids and a few usernames, far below the limit.
  for (const m of out) if (Buffer.byteLength(encodePresence(m)) > MAX_QUEUE_MESSAGE_BYTES) throw new Error('a presence message is over SQS\'s limit');
  return out;
}

/** Where presence messages go (the SQS presence queue on AWS). */
export interface PresenceQueue {
  /** Queues the messages; resolves with those that could not be queued. */
  enqueue(messages: readonly PresenceMessage[]): Promise<PresenceMessage[]>;
}

export interface PresenceOutcome {
  /** frames posted (one per connection and distinct frame) */
  posted: number;
  gone: string[];
  handedBack: PresenceMessage[];
  /** connections whose posts failed every attempt: their next change or `watch` reply brings them up to date */
  abandoned: number;
}

/**
 * A worker's delivery of a batch of presence messages: merged per connection in
 * the order the changes were made, each person's status read as it is now, one
 * frame per connection (and per distinct frame, one post call for all who get
 * it). Gone connections are dropped (their roommates hear presence, through
 * fanOut); failed posts are handed back as new messages until `maxAttempts`,
 * then left (presence is state: the next change corrects it).
 */
export async function deliverPresence(deps: Deps, messages: readonly PresenceMessage[], queue: PresenceQueue | undefined, maxAttempts: number): Promise<PresenceOutcome> {
  const ordered = [...messages].sort((a, b) => a.at - b.at);
  const merged = mergePresence(ordered);
  const attemptOf = new Map<string, number>();
  for (const m of ordered) for (const id of m.to) attemptOf.set(id, Math.max(attemptOf.get(id) ?? 0, m.attempt));

  const names = [...new Set(ordered.flatMap((m) => Object.keys(m.presence)))];
  const rows = names.length
    ? await deps.sql<{ username: string; online: boolean }[]>`
        select u.username, exists (select 1 from connections c where c.user_id = u.id) as online
        from users u where u.username = any(${names})`
    : [];
  const online = new Set(rows.filter((r) => r.online).map((r) => r.username));
  // The state now: offline unless connected; "away" kept only while connected.
  const now = (user: string, queued: PresenceStatus): PresenceStatus => (online.has(user) ? (queued === 'away' ? 'away' : 'online') : 'offline');
  for (const maps of merged.values()) {
    for (const map of maps) for (const [user, status] of Object.entries(map)) map[user] = now(user, status);
  }

  const gone: string[] = [];
  const failed = new Map<string, PresenceMap>();
  let posted = 0;
  for (const group of groupByFrame(merged)) {
    const frame = presenceBatchFrame(group.presence);
    for (let i = 0; i < group.to.length; i += CHUNK) {
      const chunk = group.to.slice(i, i + CHUNK);
      const result = deps.gateway.postEach ? await deps.gateway.postEach(chunk, frame) : { gone: await deps.gateway.post(chunk, frame), failed: [] };
      const failedHere = new Set(result.failed);
      posted += chunk.length - failedHere.size;
      gone.push(...result.gone);
      for (const id of result.failed) failed.set(id, { ...failed.get(id), ...group.presence });
    }
  }

  const handedBack: PresenceMessage[] = [];
  let abandoned = 0;
  const at = deps.clock.now().getTime();
  for (const [id, presence] of failed) {
    const attempt = (attemptOf.get(id) ?? 0) + 1;
    if (attempt > maxAttempts || !queue) abandoned++;
    else handedBack.push(...splitPresence([id], presence, at, attempt));
  }
  if (handedBack.length) {
    const refused = await queue!.enqueue(handedBack);
    if (refused.length) throw new Error(`could not hand back ${refused.length} presence message(s) to the queue`);
    deps.telemetry?.metric('PresenceHandBacks', handedBack.length, 'Count');
  }
  if (abandoned) deps.log.warn('presence posts failed every attempt', { connections: abandoned });

  if (gone.length) {
    deps.telemetry?.metric('GoneConnections', gone.length, 'Count');
    try {
      const presence = await dropConnections(deps.sql, [...new Set(gone)], deps.settings);
      for (const b of presence) {
        const more = await fanOut(deps, b.to, b.frame);
        if (more.length) await dropConnections(deps.sql, more, deps.settings);
      }
    } catch (err) {
      deps.log.error('could not drop gone connections after presence', { connections: gone.length, error: String(err) });
    }
  }
  deps.telemetry?.metric('PresencePosts', posted, 'Count');
  return { posted, gone, handedBack, abandoned };
}

/** The AWS hosting's PresenceBatcher: each change is queued, the worker coalesces. */
export class QueuedPresence implements PresenceBatcher {
  constructor(
    /** the worker hands failed posts back here */
    readonly queue: PresenceQueue,
    private readonly now: () => number,
  ) {}

  /** Resolves with the connections whose messages could not be queued (the caller posts to them itself). */
  async add(to: readonly string[], presence: PresenceMap): Promise<string[]> {
    const refused = await this.queue.enqueue(splitPresence(to, presence, this.now()));
    return refused.flatMap((m) => m.to);
  }
}
