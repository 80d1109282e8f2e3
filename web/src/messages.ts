// Pure functions over a room's messages. Ids are decimal strings of integers that
// grow within a room; the list is kept sorted by id with no id twice, whatever
// order frames arrive in (live, catch-up, a repeated send).
import type { Message } from './types.js';

/** Numeric order of two decimal id strings without leading zeros. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * `existing` plus `incoming`, sorted by id, each id once (a later copy replaces an
 * earlier one). When every incoming message is already there with the same
 * content (a repeated send is delivered again, catch-up overlaps), `existing`
 * itself comes back: the signal holding it keeps its value and nothing renders.
 */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return existing as Message[];
  const last = existing.at(-1);
  // The common case, one new message at the end, without a sort.
  if (incoming.length === 1 && (!last || compareIds(incoming[0]!.id, last.id) > 0)) return [...existing, incoming[0]!];
  if (incoming.every((m) => sameMessage(findById(existing, m.id), m))) return existing as Message[];
  const byId = new Map<string, Message>();
  for (const m of existing) byId.set(m.id, m);
  for (const m of incoming) if (!sameMessage(byId.get(m.id), m)) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
}

/** Binary search in a list sorted by id. */
export function findById(messages: readonly Message[], id: string): Message | undefined {
  let lo = 0;
  let hi = messages.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareIds(messages[mid]!.id, id);
    if (c === 0) return messages[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** Two copies of one message that show the same. */
export function sameMessage(a: Message | undefined, b: Message): boolean {
  return (
    a !== undefined && a.id === b.id && a.room === b.room && a.from === b.from && a.text === b.text && a.at === b.at && a.clientId === b.clientId
  );
}

/** After a `deleted` event: every message from `from` with an id up to `through` goes. */
export function dropDeleted(messages: readonly Message[], from: string, through: string): Message[] {
  const kept = messages.filter((m) => m.from !== from || compareIds(m.id, through) > 0);
  return kept.length === messages.length ? (messages as Message[]) : kept;
}

/**
 * After a reconnect: `latest` is the server's newest page (at most `pageSize`),
 * and `knownThrough` the highest id this client had before it asked. Within the
 * range the page covers, a message the server no longer has was deleted while we
 * were away. Messages above `knownThrough` arrived since and are kept.
 */
export function reconcileDeletions(
  messages: readonly Message[],
  latest: readonly Message[],
  pageSize: number,
  knownThrough: string | null,
): Message[] {
  if (knownThrough === null) return messages as Message[];
  const present = new Set(latest.map((m) => m.id));
  const from = latest.length >= pageSize ? latest[0]!.id : null; // a full page: older ones are out of view
  const kept = messages.filter(
    (m) => present.has(m.id) || compareIds(m.id, knownThrough) > 0 || (from !== null && compareIds(m.id, from) < 0),
  );
  return kept.length === messages.length ? (messages as Message[]) : kept;
}

export function lastId(messages: readonly Message[]): string | null {
  return messages.at(-1)?.id ?? null;
}

/** Messages from others after `readThrough`. */
export function countUnread(messages: readonly Message[], readThrough: string | null, me: string): number {
  let n = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (readThrough !== null && compareIds(m.id, readThrough) <= 0) break;
    if (m.from !== me) n++;
  }
  return n;
}

/** The start of a message, for a screen reader's announcement: a 4,000-character message is not read out whole. */
export function messagePreview(text: string, max = 200): string {
  if (text.length <= max) return text;
  let end = max;
  if (/[\uD800-\uDBFF]/.test(text[end - 1]!)) end--; // not half of a character
  return `${text.slice(0, end)}…`;
}
