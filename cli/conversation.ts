// What the terminal client shows of conversations, and what its commands mean,
// without any input or output: messages numbered per room ([3]) so that commands
// can name them, edits, deletions and reactions told as they happen, replies
// under a line quoting the original, mentions of me marked, who is typing,
// timer changes announced, and disappearing messages marked gone at their time.
// cli/chat.ts feeds it frames and prints what it returns; test/cli/conversation
// drives it with frames from docs/PROTOCOL.md alone.
import { announcement } from '../functions/core/timers.js';
import { describeBytes } from '../functions/core/file-types.js';
import { after, type Point } from './cursor.js';

export interface Reaction {
  emoji: string;
  count: number;
  users?: string[];
}

export interface Message {
  id: string;
  room: string;
  from: string;
  text: string;
  at: string;
  clientId?: string;
  seq?: string;
  editedAt?: string;
  deleted?: boolean;
  /** E21: removed by a moderator, not deleted by its author */
  removedBy?: string;
  replyTo?: { id: string; from?: string; text?: string; deleted?: boolean; expired?: boolean; expiresAt?: string };
  reactions?: Reaction[];
  mentions?: string[];
  mentionsHere?: boolean;
  /** disappearing messages: when it goes, by the server's clock */
  expiresAt?: string;
  /** an announcement of the room's timer: the new one in seconds, 0 for off */
  timer?: number;
  files?: { id: string; name: string; type: string; size: number }[];
}

/** What the view needs to know of the client around it. */
export interface Surroundings {
  /** stdout is a terminal: mentions in bold reverse video; otherwise marked `@you` */
  tty: boolean;
  me(): string | undefined;
  /** the room commands refer to */
  current(): string;
  /** `#general`, `DM with bob` */
  label(room: string): string;
  /** local time of day for an ISO time */
  time?(iso: string): string;
  /** now by the server's clock (ms since the epoch), for disappearing messages */
  now?(): number;
  /** *(E20)* a sender as shown: `Alice Liddell (alice)`, `deleted user`; already safe to print */
  name?(username: string): string;
}

// Control characters from other people must not drive this terminal.
export const safe = (s: string) => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '�');
const localTime = (iso: string) => new Date(iso).toTimeString().slice(0, 5);

/** Messages remembered per room (for their numbers and to tell what changed). */
export const KEEP_PER_ROOM = 5000;

class RoomLog {
  next = 1;
  /** id -> number; insertion order is number order, so the oldest go first */
  readonly numbers = new Map<string, number>();
  readonly ids = new Map<number, string>();
  /** id -> the state last shown */
  readonly latest = new Map<string, Message>();
  /** recent purges: their tombstones need no line each */
  readonly purges: Array<{ from: string; through: string }> = [];

  number(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) {
      n = this.next++;
      this.numbers.set(id, n);
      this.ids.set(n, id);
      if (this.numbers.size > KEEP_PER_ROOM) {
        const [oldId, oldN] = this.numbers.entries().next().value as [string, number];
        this.numbers.delete(oldId);
        this.ids.delete(oldN);
        this.latest.delete(oldId);
      }
    }
    return n;
  }
}

const BOLD_REVERSE = '\x1b[1;7m';
const PLAIN = '\x1b[0m';

/** `👍 2 ❤️ 1` */
export function reactionSummary(reactions: Reaction[] | undefined): string {
  if (!reactions?.length) return 'none';
  return reactions.map((r) => `${safe(r.emoji)} ${r.count}`).join(' ');
}

const reactionsKey = (m: Message) => JSON.stringify((m.reactions ?? []).map((r) => [r.emoji, r.count, r.users ?? []]));

export type Resolved = { id: string; n: number } | { error: string };

export class ConversationView {
  private readonly logs = new Map<string, RoomLog>();
  /** The latest server time seen: tells an edit made while away from an old one. */
  watermark = '';

  constructor(private readonly s: Surroundings) {}

  private log(room: string): RoomLog {
    let l = this.logs.get(room);
    if (!l) this.logs.set(room, (l = new RoomLog()));
    return l;
  }

  private time(iso: string): string {
    return (this.s.time ?? localTime)(iso);
  }

  private now(): number {
    return this.s.now?.() ?? Date.now();
  }

  /** A disappearing message whose time has come by `now` (ms). */
  private gone(expiresAt: string | undefined, now = this.now()): boolean {
    return expiresAt !== undefined && Date.parse(expiresAt) <= now;
  }

  private see(iso: string | undefined) {
    if (iso && iso > this.watermark) this.watermark = iso;
  }

  /** The number a message has here, if it has been shown. */
  numberOf(room: string, id: string): number | undefined {
    return this.logs.get(room)?.numbers.get(id);
  }

  known(room: string, id: string): Message | undefined {
    return this.logs.get(room)?.latest.get(id);
  }

  mentionsMe(m: Message): boolean {
    const me = this.s.me();
    if (!me || m.from === me) return false;
    return m.mentionsHere === true || (Array.isArray(m.mentions) && m.mentions.includes(me));
  }

  /**
   * A message to show: live, the reply to my send, a page of history, or new
   * in a catch-up. Undefined when it was shown already (unless `again`, for
   * /history) or is a tombstone. A copy newer than the one remembered replaces it
   * quietly: telling what changed is `change`'s job.
   */
  message(m: Message, again = false): string | undefined {
    this.see(m.at);
    this.see(m.editedAt);
    const log = this.log(m.room);
    const before = log.latest.get(m.id);
    if (before && !again) {
      if (m.seq && (!before.seq || after(m.seq, before.seq))) log.latest.set(m.id, m);
      return undefined;
    }
    if (m.deleted) {
      if (before) log.latest.set(m.id, m);
      return undefined;
    }
    // its time came before it arrived (the server's clock runs ahead of the message)
    if (this.gone(m.expiresAt)) return undefined;
    const shown = before && before.seq && m.seq && after(before.seq, m.seq) ? before : m;
    const n = log.number(m.id);
    log.latest.set(m.id, shown);
    return this.format(shown, n);
  }

  /** The whole message as a block of lines: the quoted original, the message, its reactions. */
  format(m: Message, n: number): string {
    const where = m.room === this.s.current() ? '' : `[${this.s.label(m.room)}] `;
    const from = this.s.name ? this.s.name(m.from) : safe(m.from);
    if (m.timer !== undefined) return `[${n}] ${where}${this.time(m.at)} * ${from}${announcement(m.timer || null)}`;
    const mine = this.mentionsMe(m);
    const head = `[${n}] ${mine && !this.s.tty ? '@you ' : ''}${where}${this.time(m.at)} ${from}:`;
    const indent = ' '.repeat(head.length + 1);
    // Continuation lines start under the first line's text, so they read as the
    // same message rather than as lines of their own.
    const [first, ...rest] = safe(m.text).split('\n');
    const lines = [`${mine && this.s.tty ? BOLD_REVERSE + head + PLAIN : head} ${first}`, ...rest.map((l) => indent + l)];
    if (m.editedAt) lines[lines.length - 1] += ' (edited)';
    if (m.expiresAt) lines[lines.length - 1] += ` (disappears at ${this.time(m.expiresAt)})`;
    if (m.replyTo) lines.unshift(`  ↪ ${this.quote(m.room, m.replyTo)}`);
    for (const f of m.files ?? []) lines.push(`${indent}[file] ${safe(f.name)} · ${safe(f.type)} · ${describeBytes(f.size)}`);
    if (m.reactions?.length) lines.push(indent + reactionSummary(m.reactions));
    return lines.join('\n');
  }

  private quote(room: string, ref: NonNullable<Message['replyTo']>): string {
    const n = this.numberOf(room, ref.id);
    const tag = n === undefined ? '' : `[${n}] `;
    if ((ref.deleted && ref.expired) || (!ref.deleted && this.gone(ref.expiresAt))) return `${tag}(a message that disappeared)`;
    if (ref.deleted) return `${tag}(a deleted message)`;
    const first = safe(ref.text ?? '').split('\n')[0]!;
    return `${tag}${ref.from && this.s.name ? this.s.name(ref.from) : safe(ref.from ?? '')}: ${first}`;
  }

  /**
   * A message in its latest state after a change (a `changed` event, the reply to
   * my edit or reaction, a page of `changes`): lines that tell what changed since
   * it was last shown, nothing when nothing did. `heldThrough` is the message id up
   * to which this client held every message before the change arrived: a message
   * past it is new (it came while away) and is shown whole.
   */
  change(m: Message, heldThrough?: Point): string[] {
    const log = this.log(m.room);
    const before = log.latest.get(m.id);
    const watermark = this.watermark;
    this.see(m.at);
    this.see(m.editedAt);
    if (before?.seq && m.seq && !after(m.seq, before.seq)) return []; // stale: a later state is here already
    const where = m.room === this.s.current() ? '' : `[${this.s.label(m.room)}] `;
    const who = safe(m.from ?? 'someone');

    if (!before) {
      if (heldThrough !== undefined && after(m.id, heldThrough)) {
        const shown = this.message(m);
        return shown ? [shown] : [];
      }
      if (m.deleted) return this.purgedAlready(m) ? [] : [`* ${where}${who} deleted a message of ${m.at ? this.time(m.at) : 'earlier'}`];
      // An older message never shown here: it gets a number now.
      const n = log.number(m.id);
      log.latest.set(m.id, m);
      if (m.editedAt && m.editedAt > watermark) return [this.edited(where, who, n, m)];
      return [this.format(m, n)];
    }

    log.latest.set(m.id, m);
    if (before.deleted) return [];
    const n = log.number(m.id);
    if (m.deleted) return [m.removedBy ? `* ${where}[${n}] by ${who} was removed by a moderator` : `* ${where}${who} deleted [${n}]`];
    const lines: string[] = [];
    if (m.text !== before.text || (m.editedAt ?? '') !== (before.editedAt ?? '')) lines.push(this.edited(where, who, n, m));
    if (reactionsKey(m) !== reactionsKey(before)) lines.push(`* ${where}[${n}] reactions: ${reactionSummary(m.reactions)}`);
    return lines;
  }

  /**
   * A page of `changes`, each told as by `change`, except that deletions of
   * messages never shown here are summed up per person: a purge while away is one
   * line, not one per message.
   */
  page(ms: Message[], heldThrough?: Point): string[] {
    const lines: string[] = [];
    const unseen = new Map<string, Message[]>(); // room + author -> tombstones
    for (const m of ms) {
      const isNew = heldThrough !== undefined && after(m.id, heldThrough);
      if (m.deleted && !isNew && !this.known(m.room, m.id) && !this.purgedAlready(m)) {
        const key = `${m.room}\n${m.from}`;
        unseen.set(key, [...(unseen.get(key) ?? []), m]);
      } else lines.push(...this.change(m, heldThrough));
    }
    for (const gone of unseen.values()) {
      if (gone.length === 1) lines.push(...this.change(gone[0]!, heldThrough));
      else {
        const m = gone[0]!;
        const where = m.room === this.s.current() ? '' : `[${this.s.label(m.room)}] `;
        lines.push(`* ${where}${safe(m.from ?? 'someone')} deleted ${gone.length} earlier messages`);
      }
    }
    return lines;
  }

  private edited(where: string, who: string, n: number, m: Message): string {
    const head = `* ${where}${who} edited [${n}]:`;
    const [first, ...rest] = safe(m.text).split('\n');
    return [`${head} ${first}`, ...rest.map((l) => ' '.repeat(head.length + 1) + l)].join('\n');
  }

  private purgedAlready(m: Message): boolean {
    return this.logs.get(m.room)?.purges.some((p) => p.from === m.from && !after(m.id, p.through)) === true;
  }

  /** My delete went through (`deleted_message` carries no message): the tombstone as a change. */
  deletedOne(room: string, id: string, seq?: string): string[] {
    const before = this.known(room, id);
    if (!before) return [];
    return this.change({ ...before, text: '', deleted: true, reactions: [], ...(seq ? { seq } : {}) });
  }

  /** A purge (`deleted` event): everything of `from` up to `through` goes, quietly (one line says it). */
  purged(room: string, from: string, through: string): void {
    const log = this.log(room);
    // Its tombstones come again by `changes`: they were told already, in one line.
    log.purges.push({ from, through });
    if (log.purges.length > 20) log.purges.shift();
    for (const [id, m] of log.latest) if (m.from === from && !after(id, through)) log.latest.set(id, { ...m, text: '', deleted: true, reactions: [] });
  }

  /**
   * Disappearing messages: every one shown here whose time has come by `now`
   * (ms, the server's clock) is marked gone, in `room` or in every room.
   * Printed lines cannot be taken back, so one line per room names the
   * messages that disappeared, and commands no longer name them.
   */
  expire(now: number, room?: string): string[] {
    const lines: string[] = [];
    for (const [roomId, log] of this.logs) {
      if (room !== undefined && roomId !== room) continue;
      const numbers: number[] = [];
      for (const [id, m] of log.latest) {
        if (m.deleted || !this.gone(m.expiresAt, now)) continue;
        log.latest.set(id, { ...m, text: '', deleted: true, reactions: [] });
        numbers.push(log.numbers.get(id)!);
      }
      if (!numbers.length) continue;
      const where = roomId === this.s.current() ? '' : `[${this.s.label(roomId)}] `;
      lines.push(`* ${where}${numbers.map((n) => `[${n}]`).join(' ')} disappeared`);
    }
    return lines;
  }

  /** When the next message shown here disappears (ms, the server's clock), or undefined. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const log of this.logs.values()) {
      for (const m of log.latest.values()) {
        if (m.deleted || m.expiresAt === undefined) continue;
        const t = Date.parse(m.expiresAt);
        if (next === undefined || t < next) next = t;
      }
    }
    return next;
  }

  /** `3`, `[3]` or nothing (then `fallback`): the message it names in `room`. */
  resolve(room: string, token: string | undefined, fallback: 'mine' | 'any'): Resolved {
    const log = this.logs.get(room);
    const label = this.s.label(room);
    if (token !== undefined) {
      const n = Number(/^\[?(\d{1,9})\]?$/.exec(token)?.[1]);
      const id = Number.isInteger(n) ? log?.ids.get(n) : undefined;
      if (id === undefined) return { error: `There is no message [${token.replace(/^\[|\]$/g, '')}] in ${label}; numbers are per room.` };
      const held = log!.latest.get(id);
      if (held?.deleted) return { error: `Message [${n}] in ${label} ${held.expiresAt ? 'disappeared' : 'was deleted'}.` };
      return { id, n };
    }
    const me = this.s.me();
    // Newest first: the highest id, not the latest shown (history can show old ones late).
    let best: Message | undefined;
    for (const m of log?.latest.values() ?? []) {
      if (m.deleted || (fallback === 'mine' && m.from !== me)) continue;
      if (!best || after(m.id, best.id)) best = m;
    }
    if (!best) return { error: fallback === 'mine' ? `You have not sent a message in ${label} here yet.` : `There is no message in ${label} yet.` };
    return { id: best.id, n: log!.numbers.get(best.id)! };
  }
}

/** `/timer`'s words; the server refuses `5s` unless it has the test-only timer. */
const TIMER_WORDS: Record<string, number | null> = { off: null, '5s': 5, '5m': 5 * 60, '1h': 60 * 60, '1d': 24 * 60 * 60, '1w': 7 * 24 * 60 * 60 };

/** A message number as typed: `3` or `[3]`. */
const NUMBER = /^\[?\d{1,9}\]?$/;

export type Parsed =
  | { frame: Record<string, unknown>; n?: number; confirm?: string }
  | { error: string }
  | { usage: string };

/**
 * The conversation commands: `/edit [N] TEXT`, `/delete [N]`, `/reply N TEXT`,
 * `/react [N] EMOJI`, `/unreact [N] EMOJI`, `/readreceipts on|off`, `/notify
 * off|mentions|all` and `/notify quote on|off` (E24),
 * `/timer off|5m|1h|1d|1w` (and `5s`, on a server with the test timer). `rest` is the
 * line after the command word, as typed (the text keeps its spaces). Returns the
 * frame to send, a local error, or the usage line. Undefined for other commands.
 */
export function parseCommand(view: ConversationView, room: string, cmd: string, rest: string): Parsed | undefined {
  const words = rest.trim().split(/\s+/).filter(Boolean);
  // A leading number names the message; the text is the rest, spaces kept.
  const numbered = words.length > 0 && NUMBER.test(words[0]!);
  const afterNumber = numbered ? rest.replace(/^\s*\S+\s?/, '') : rest.replace(/^\s/, '');
  switch (cmd) {
    case '/edit': {
      if (!afterNumber.trim()) return { usage: 'usage: /edit [N] TEXT' };
      const target = view.resolve(room, numbered ? words[0] : undefined, 'mine');
      if ('error' in target) return target;
      return { frame: { action: 'edit', room, message: target.id, text: afterNumber }, n: target.n };
    }
    case '/delete': {
      if (words.length > 1 || (words.length === 1 && !numbered)) return { usage: 'usage: /delete [N]' };
      const target = view.resolve(room, words[0], 'mine');
      if ('error' in target) return target;
      const text = view.known(room, target.id)?.text ?? '';
      const first = safe(text.split('\n')[0]!);
      return {
        frame: { action: 'delete', room, message: target.id },
        n: target.n,
        confirm: `delete [${target.n}] "${first.length > 40 ? first.slice(0, 39) + '…' : first}"? (y/N) `,
      };
    }
    case '/reply': {
      if (!numbered || !afterNumber.trim()) return { usage: 'usage: /reply N TEXT' };
      const target = view.resolve(room, words[0], 'any');
      if ('error' in target) return target;
      return { frame: { action: 'send', room, text: afterNumber, replyTo: target.id }, n: target.n };
    }
    case '/react':
    case '/unreact': {
      // Whatever follows goes to the server, which alone knows what an emoji is.
      const emoji = afterNumber.trim();
      if (!emoji) return { usage: `usage: ${cmd} [N] EMOJI` };
      const target = view.resolve(room, numbered ? words[0] : undefined, 'any');
      if ('error' in target) return target;
      return { frame: { action: 'react', room, message: target.id, emoji, on: cmd === '/react' }, n: target.n };
    }
    case '/readreceipts': {
      if (words.length !== 1 || !['on', 'off'].includes(words[0]!.toLowerCase())) return { usage: 'usage: /readreceipts on|off' };
      return { frame: { action: 'settings', readReceipts: words[0]!.toLowerCase() === 'on' } };
    }
    case '/notify': {
      // E24: email notices: `/notify off|mentions|all`, `/notify quote on|off`
      const usage = { usage: 'usage: /notify off|mentions|all, or /notify quote on|off' };
      const lower = words.map((w) => w.toLowerCase());
      if (lower.length === 1 && ['off', 'mentions', 'all'].includes(lower[0]!)) return { frame: { action: 'settings', notify: lower[0] } };
      if (lower.length === 2 && lower[0] === 'quote' && ['on', 'off'].includes(lower[1]!)) {
        return { frame: { action: 'settings', notifyQuote: lower[1] === 'on' } };
      }
      return usage;
    }
    case '/timer': {
      const word = words.length === 1 ? words[0]!.toLowerCase() : '';
      if (!Object.hasOwn(TIMER_WORDS, word)) return { usage: 'usage: /timer off|5m|1h|1d|1w' };
      return { frame: { action: 'set_timer', room, seconds: TIMER_WORDS[word]! } };
    }
  }
  return undefined;
}

/** The transient "alice is typing…": who, where, until when. */
export class Typing {
  static readonly SHOWN_MS = 6000;
  private readonly until = new Map<string, number>(); // `${room}\n${user}` -> expiry

  typing(room: string, user: string, now: number): void {
    this.until.delete(`${room}\n${user}`); // re-insert: the latest typist last
    this.until.set(`${room}\n${user}`, now + Typing.SHOWN_MS);
    // a bound: a crowd typing at once is summed up anyway
    if (this.until.size > 100) this.until.delete(this.until.keys().next().value as string);
  }

  /** Their message landed: they are done typing it. */
  stopped(room: string, user: string): void {
    this.until.delete(`${room}\n${user}`);
  }

  /** When the next indicator runs out (to redraw then), or undefined. */
  nextExpiry(now: number): number | undefined {
    let next: number | undefined;
    for (const t of this.until.values()) if (t > now && (next === undefined || t < next)) next = t;
    return next;
  }

  /** `alice is typing…`, `alice and bob are typing in #ops…`; undefined when nobody is. */
  status(now: number, current: string, label: (room: string) => string): string | undefined {
    const here: string[] = [];
    const elsewhere = new Map<string, string[]>();
    for (const [key, t] of this.until) {
      if (t <= now) {
        this.until.delete(key);
        continue;
      }
      const [room, user] = key.split('\n') as [string, string];
      if (room === current) here.push(safe(user));
      else elsewhere.set(room, [...(elsewhere.get(room) ?? []), safe(user)]);
    }
    const says = (users: string[]) =>
      users.length === 1 ? `${users[0]} is typing` : users.length <= 3 ? `${users.slice(0, -1).join(', ')} and ${users.at(-1)} are typing` : `${users.length} people are typing`;
    const parts = [...(here.length ? [says(here)] : []), ...[...elsewhere].map(([room, users]) => `${says(users)} in ${label(room)}`)];
    return parts.length ? parts.join('; ') + '…' : undefined;
  }
}

/** What a room's badge says in /rooms: `3 unread, 1 mention`, or nothing. */
export function badge(unread: number | undefined, mentions: number | undefined): string {
  const parts: string[] = [];
  const count = (n: number) => (n >= 999 ? '999+' : String(n));
  if (unread) parts.push(`${count(unread)} unread`);
  if (mentions) parts.push(`${count(mentions)} ${mentions === 1 ? 'mention' : 'mentions'}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * The cursors saved between runs, so a restarted client catches up with what
 * changed while it was not running. Read back with checks: the file is the
 * user's, but a damaged one must neither crash the client nor send junk.
 */
export interface SavedState {
  user: string;
  watermark: string;
  rooms: Record<string, { id: Point; seq: Point }>;
}

export const MAX_SAVED_ROOMS = 1000;

export function parseSavedState(text: string, user: string): SavedState | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.user !== user || typeof r.rooms !== 'object' || r.rooms === null) return undefined;
  const rooms: SavedState['rooms'] = {};
  const digits = (v: unknown): v is string => typeof v === 'string' && /^\d{1,20}$/.test(v);
  for (const [room, c] of Object.entries(r.rooms as Record<string, unknown>).slice(0, MAX_SAVED_ROOMS)) {
    const { id, seq } = (c ?? {}) as Record<string, unknown>;
    if (room.length <= 80 && (seq === null || digits(seq)) && (id === null || digits(id))) rooms[room] = { id, seq };
  }
  const watermark = typeof r.watermark === 'string' && r.watermark.length <= 40 ? r.watermark : '';
  return { user, watermark, rooms };
}

/** *(E24)* Where email notices stand, as `/notify` says it. */
export function describeNotices(notify: unknown, quote: unknown): string {
  const what =
    notify === 'off' ? 'off: no emails about unread messages' : notify === 'all' ? 'on for every message in your rooms' : 'on for direct messages and mentions';
  return `* email notices ${what}${notify === 'off' ? '' : quote === true ? ', quoting the text' : ', without quotes (who and where only)'}`;
}
