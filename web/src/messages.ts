// Pure functions over a room's messages. Ids are decimal strings of integers that
// grow within a room; the list is kept sorted by id with no id twice, whatever
// order frames arrive in (live, catch-up, a repeated send). A message that
// changes (edited, deleted, reacted to) carries the room's change sequence `seq`:
// of two copies of one message, the one with the higher seq is the newer state.
import type { Message, Reaction } from './types.js';

/** Numeric order of two decimal id strings without leading zeros. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * `existing` plus `incoming`, sorted by id, each id once (a later copy replaces an
 * earlier one, unless it is an older state: a lower `seq`, e.g. a history page
 * asked for before an edit landed). When every incoming message is already there
 * with the same content (a repeated send is delivered again, catch-up overlaps),
 * `existing` itself comes back: the signal holding it keeps its value and
 * nothing renders.
 */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return existing as Message[];
  const last = existing.at(-1);
  // The common case, one new message at the end, without a sort.
  if (incoming.length === 1 && (!last || compareIds(incoming[0]!.id, last.id) > 0)) return [...existing, incoming[0]!];
  if (incoming.every((m) => keeps(findById(existing, m.id), m))) return existing as Message[];
  const byId = new Map<string, Message>();
  for (const m of existing) byId.set(m.id, m);
  for (const m of incoming) if (!keeps(byId.get(m.id), m)) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
}

/** The copy held stays: the incoming one shows the same, or is an older state of it. */
function keeps(held: Message | undefined, incoming: Message): boolean {
  if (!held) return false;
  if (held.seq !== undefined && incoming.seq !== undefined && compareIds(incoming.seq, held.seq) < 0) return true;
  return sameMessage(held, incoming);
}

/**
 * Messages from the change feed (`changed`, `changes`) that belong in the list:
 * a change to one we hold, or a message newer than the first we hold. One older
 * than everything loaded stays out, or the list would have a hole before it (it
 * is fetched with its neighbours when someone scrolls up to it). With nothing
 * older on the server (`hasOlder` false), every message belongs.
 */
export function inLoadedRange(messages: readonly Message[], incoming: readonly Message[], hasOlder: boolean): Message[] {
  const first = messages[0];
  if (!hasOlder || !first) return incoming as Message[];
  return incoming.filter((m) => compareIds(m.id, first.id) >= 0);
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
    a !== undefined &&
    a.id === b.id &&
    a.room === b.room &&
    a.from === b.from &&
    a.text === b.text &&
    a.at === b.at &&
    a.clientId === b.clientId &&
    a.seq === b.seq &&
    a.editedAt === b.editedAt &&
    Boolean(a.deleted) === Boolean(b.deleted) &&
    // one seq is one state; without seqs (an older server) the reactions are compared
    (a.seq !== undefined || reactionsKey(a.reactions) === reactionsKey(b.reactions))
  );
}

function reactionsKey(reactions: readonly Reaction[] | undefined): string {
  return reactions?.length ? JSON.stringify(reactions) : '';
}

/** After a `deleted` event: every message from `from` with an id up to `through` goes. */
export function dropDeleted(messages: readonly Message[], from: string, through: string): Message[] {
  const kept = messages.filter((m) => m.from !== from || compareIds(m.id, through) > 0);
  return kept.length === messages.length ? (messages as Message[]) : kept;
}

/**
 * Disappearing messages: the list at `now` (ms since the epoch, by the server's
 * clock). A message whose `expiresAt` has come goes; a reply quoting one shows
 * it expired. `messages` itself when nothing changed.
 */
export function dropExpired(messages: readonly Message[], now: number): Message[] {
  const gone = (at: string | undefined) => at !== undefined && Date.parse(at) <= now;
  if (!messages.some((m) => gone(m.expiresAt) || (m.replyTo && !m.replyTo.deleted && gone(m.replyTo.expiresAt)))) {
    return messages as Message[];
  }
  return messages
    .filter((m) => !gone(m.expiresAt))
    .map((m) => (m.replyTo && !m.replyTo.deleted && gone(m.replyTo.expiresAt) ? { ...m, replyTo: { id: m.replyTo.id, deleted: true, expired: true } } : m));
}

/** When the next message or quote of the list expires (ms, the server's clock), or null. */
export function nextExpiry(messages: readonly Message[]): number | null {
  let next: number | null = null;
  for (const m of messages) {
    for (const at of [m.expiresAt, m.replyTo && !m.replyTo.deleted ? m.replyTo.expiresAt : undefined]) {
      if (at === undefined) continue;
      const t = Date.parse(at);
      if (next === null || t < next) next = t;
    }
  }
  return next;
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

/** Messages from others after `readThrough` (deleted ones do not count). */
export function countUnread(messages: readonly Message[], readThrough: string | null, me: string): number {
  let n = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (readThrough !== null && compareIds(m.id, readThrough) <= 0) break;
    if (m.from !== me && !m.deleted) n++;
  }
  return n;
}

/** Of those, the ones that mention `me` (by name, or @here). */
export function countMentions(messages: readonly Message[], readThrough: string | null, me: string): number {
  let n = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (readThrough !== null && compareIds(m.id, readThrough) <= 0) break;
    if (m.from !== me && !m.deleted && mentionsMe(m, me)) n++;
  }
  return n;
}

export function mentionsMe(m: Message, me: string): boolean {
  return Boolean(m.mentionsHere) || (m.mentions?.includes(me) ?? false);
}

/**
 * A gap-free cursor over a chain of ids: `message` frames carry `prev` (the
 * room's id before theirs) and `changed` frames `prevSeq`. When two fan-outs
 * arrive out of order, the cursor waits at the gap instead of jumping over what
 * is missing; `at` is the point up to which everything is here.
 */
export class Chain {
  at: string | null = null;
  /** prev → id of frames that arrived ahead of the cursor */
  readonly ahead = new Map<string, string>();

  /** Moves to `id` if that is further, then along any chain of early arrivals. */
  advance(id: string | null): void {
    if (id !== null && (this.at === null || compareIds(id, this.at) > 0)) this.at = id;
    if (this.at === null) return;
    for (let next = this.ahead.get(this.at); next !== undefined; next = this.ahead.get(this.at)) {
      this.ahead.delete(this.at);
      this.at = next;
    }
    for (const [prev, later] of this.ahead) if (compareIds(later, this.at) <= 0) this.ahead.delete(prev);
  }

  /** A live frame with its predecessor: returns true if it leaves a gap behind the cursor. */
  noteLive(id: string, prev: string | null): boolean {
    if (this.at !== null && compareIds(id, this.at) <= 0) return false;
    if (prev === this.at || (prev !== null && this.at !== null && compareIds(prev, this.at) < 0)) {
      this.advance(id);
      return false;
    }
    if (prev !== null) this.ahead.set(prev, id);
    return this.ahead.size > 0;
  }

  reset(): void {
    this.at = null;
    this.ahead.clear();
  }
}

/** The newest message of mine that can still be edited (Up in an empty message box). */
export function lastEditable(messages: readonly Message[], me: string): Message | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.from === me && !m.deleted) return m;
  }
  return undefined;
}

/**
 * In a DM, the message to show "Seen" under: the newest one the other person
 * has read, when it is mine (if theirs came after mine, their answer says it).
 */
export function seenMessageId(messages: readonly Message[], seenThrough: string | null, me: string): string | null {
  if (seenThrough === null) return null;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.deleted || compareIds(m.id, seenThrough) > 0) continue;
    return m.from === me ? m.id : null;
  }
  return null;
}

/** "alice is typing…", "alice and bob are typing…", "several people are typing…", or "". */
export function typingText(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'several people are typing…';
}

/** A reaction's accessible name and tooltip: "👍 2: alice, bob" (and how many more the server did not name). */
export function reactionLabel(r: Reaction): string {
  const more = r.count - r.users.length;
  return `${r.emoji} ${r.count}: ${r.users.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The `@name` being typed just before the caret: where it starts and what is typed so far. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  // only the current word: look back at most a username's length
  let i = caret;
  while (i > 0 && caret - i <= 33 && /[a-z0-9_.-]/i.test(text[i - 1]!)) i--;
  if (i === 0 || text[i - 1] !== '@') return null;
  const at = i - 1;
  // an @ at the start or after a space or punctuation; not inside an email address
  if (at > 0 && /[\p{L}\p{N}_.-]/u.test(text[at - 1]!)) return null;
  return { start: at, query: text.slice(i, caret).toLowerCase() };
}

/** Members whose name starts with `query` (then those that contain it), without me; `here` in channels. */
export function mentionCandidates(members: readonly string[], query: string, me: string, channel: boolean, max = 8): string[] {
  const q = query.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const u of members) {
    if (u === me) continue;
    if (u.startsWith(q)) starts.push(u);
    else if (q && u.includes(q)) contains.push(u);
  }
  const out = [...starts.sort(), ...contains.sort()];
  if (channel && 'here'.startsWith(q)) out.push('here');
  return out.slice(0, max);
}

/** The start of a message, for a screen reader's announcement: a 4,000-character message is not read out whole. */
export function messagePreview(text: string, max = 200): string {
  if (text.length <= max) return text;
  let end = max;
  if (/[\uD800-\uDBFF]/.test(text[end - 1]!)) end--; // not half of a character
  return `${text.slice(0, end)}…`;
}
