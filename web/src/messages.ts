// Pure functions over a room's messages. Ids are decimal strings of integers that
// grow within a room; the list is kept sorted by id with no id twice, whatever
// order frames arrive in (live, catch-up, a repeated send).
import type { Message } from './types.js';

/** Numeric order of two decimal id strings without leading zeros. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** `existing` plus `incoming`, sorted by id, each id once (a later copy replaces an earlier one). */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return existing as Message[];
  const last = existing.at(-1);
  // The common case, one new message at the end, without a sort.
  if (incoming.length === 1 && (!last || compareIds(incoming[0]!.id, last.id) > 0)) return [...existing, incoming[0]!];
  const byId = new Map<string, Message>();
  for (const m of existing) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
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
