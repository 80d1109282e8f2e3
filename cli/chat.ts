// A terminal client on the wire protocol: `npm run chat -- ws://host:8080/ws`.
// Interactive at a terminal; with piped input it runs one line at a time, each
// waiting for its reply, so it doubles as a scripting and smoke-test tool.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { parseRoom, roomDisplayName } from '../functions/core/names.js';
import { describeTimer } from '../functions/core/timers.js';
import { badge, ConversationView, describeNotices, parseCommand, parseSavedState, reactionSummary, safe, Typing, type Message, type SavedState } from './conversation.js';
import { after, ChainCursors, isPoint, isSeq, type Point } from './cursor.js';
import { searchLine, type SearchHit } from './search.js';
import { readUpload, saveDownload, sendBytes, type UploadTarget } from './files.js';
import { profileCommand } from './profile-commands.js';
import { Profiles } from './profile.js';
import { ACCOUNT_HELP, accountCommand } from './account.js';
import { secondStep, TWO_FACTOR_HELP, twoFactorCommand, type TwoFactorIo } from './two-factor.js';
import { ROOMS_HELP, ROOM_COMMANDS, directoryLines, roomCommandFrame, roomLine } from './rooms.js';
import { BlockList, describeSafetyReply, parseSafetyCommand } from './safety.js';

type Frame = { type: string; re?: string; [k: string]: any };

const url = process.argv[2] ?? process.env.CHAT_URL ?? 'ws://localhost:8080/ws';
const interactive = process.stdin.isTTY === true;
/** Output to a person's terminal (not a file or pipe): mentions highlighted, who is typing shown. */
const terminal = interactive && process.stdout.isTTY === true;
const configBase = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'wild-whispers', new URL(url).host.replace(/[^\w.-]/g, '_'));
const tokenFile = `${configBase}.token`;
/** The cursors of the last run, so the next one tells what happened in between. */
const stateFile = `${configBase}.state.json`;

const HELP = `Commands:
  /register USER EMAIL [INVITE]
                           sign up (asks for a password; and for the invite code
                           when the server is invite-only), then /verify CODE
  /verify CODE             the 6-digit code from the email
  /login USER              log in (asks for a password)
  /logout                  end this session everywhere it is used
  /join ROOM               join or create a channel and switch to it
  /dm USER                 talk to USER directly
  /rooms                   your rooms
  /history [N]             the last N messages of this room (default 20)
  /who                     members of this room and who is online (◐: away; in a big room, how many)
  /notifications           devices with push notifications on (turn them on in
                           the web app); /notifications off ID turns one off,
                           /notifications text on|off shows message text or not
  /leave [ROOM]            leave a channel
  /edit [N] TEXT           change message N (default: your last one)
  /delete [N]              delete your message N (default: your last one)
  /reply N TEXT            answer message N
  /react [N] EMOJI         react to message N (default: the last one)
  /unreact [N] EMOJI       take that reaction back
  /readreceipts on|off     whether people in your DMs see what you have read,
                           and you theirs
  /notify off|mentions|all email me about messages left unread: never, direct
                           messages and mentions (default), or every message
  /notify quote on|off     whether those emails quote the text
  /search QUERY            messages of all your rooms, newest first: words,
                           "a phrase", -word, from:@user, in:#room, in:@user,
                           before:2026-12-01, after:2026-11-01
  /more                    the next page of the last search
  /timer off|5m|1h|1d|1w   make new messages in this room disappear after that
                           long (in a DM; in a channel, its creator only)
${ROOMS_HELP}
  /upload PATH             share a file in this room (at most 25 MB)
  /download N [DIR]        save the files of message N (default: here)
  /profile                 your profile; /profile name TEXT, /profile status
                           [TEXT], /profile avatar PATH|none change it
  /whois USER              a person's display name and status
  /export PATH             save all your data (profile, rooms, messages) as JSON
  /deleteaccount keep|erase
                           delete your account for good (asks your password):
                           your messages stay under "deleted user" (keep) or
                           are deleted for everyone (erase)
${ACCOUNT_HELP}
${TWO_FACTOR_HELP}
  /block USER              no DMs between you; their channel messages hidden
                           here, their presence too (/unblock USER undoes it)
  /blocks                  the people you blocked
  /report N REASON         show message N to the server's administrators
  /quit                    exit
Messages are numbered per room ([N]); N is a number in the current room.
Anything else is sent to the current room.`;

let ws: WebSocket | undefined;
let me: string | undefined;
/** E19: whether my account has two-factor authentication on, from `authed` */
let twoFactorOn: boolean | undefined;
let room = 'general';
let pendingUser: string | undefined;
let seq = 0;
let attempt = 0;
let quitting = false;
/** My rooms, with what their badge says (`unread`, `mentions`) and their newest message. */
const myRooms = new Map<string, { unread?: number; mentions?: number; last: Point }>();
// Per room, the id up to which this client holds every message (docs/DELIVERY.md),
// and the change seq up to which it holds every edit, deletion and reaction.
const cursors = new ChainCursors();
const seqs = new ChainCursors();
/** false once the server has said it has no change feed (an older server) */
let changeFeed = true;
let readReceipts: boolean | undefined;
/** *(E24)* email notices, as the server last said */
let notices: { notify: unknown; quote: unknown } | undefined;
const waiting = new Map<string, (f: Frame) => void>();
/** *(E22)* the people I blocked */
const blocks = new BlockList();

const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
/** The question on screen while a secret is typed (readline's prompt is not in use then). */
let secretPrompt: string | undefined;
const out = (line: string) => {
  if (interactive) {
    process.stdout.write('\r\x1b[K' + line + '\n');
    // A message arriving mid-password must not take the question off the screen.
    if (secretPrompt !== undefined) process.stdout.write(secretPrompt);
    else rl.prompt(true);
  } else console.log(line);
};

/** `#general`, or `DM with erin` for `dm:bob:erin` when I am bob: never the internal id. */
function roomLabel(id: string): string {
  const parsed = parseRoom(id);
  if (parsed?.kind === 'dm') return `DM with ${safe(roomDisplayName(parsed, me ?? ''))}`;
  return `#${safe(parsed?.id ?? id)}`;
}

/**
 * The server's clock minus this one's (ms), from `authed.serverTime`:
 * disappearing messages go by the server's clock, whatever this machine's says.
 */
let clockOffset = 0;
const serverNow = () => Date.now() + clockOffset;

/** *(E20)* display names, statuses, deleted accounts */
const profiles = new Profiles();
const view = new ConversationView({
  tty: process.stdout.isTTY === true,
  me: () => me,
  current: () => room,
  label: roomLabel,
  now: serverNow,
  name: (u) => profiles.label(u),
});

/** When the next message shown disappears (server's clock, ms). */
let nextExpiry: number | undefined;

/** Marks the messages whose time has come (`through`: those that expired by then, in `roomId`). */
function expire(through = serverNow(), roomId?: string) {
  for (const line of view.expire(through, roomId)) out(line);
  nextExpiry = view.nextExpiry();
}
// Checked every second: a timer set for the next expiry would be late after the machine slept.
setInterval(() => nextExpiry !== undefined && serverNow() >= nextExpiry && expire(), 1000).unref();

/** A room's timer as a line: `* messages in #ops disappear after 1 day`. */
function describeRoomTimer(roomId: string, seconds: unknown): string {
  return typeof seconds === 'number'
    ? `* messages in ${roomLabel(roomId)} disappear after ${describeTimer(seconds)}`
    : `* messages in ${roomLabel(roomId)} do not disappear`;
}

/** Prints a message unless it was shown already (`again`: /history shows it anew). */
function show(m: Message, again = false) {
  const text = view.message(blocks.mask(m), again);
  if (text === undefined) return;
  typing.stopped(m.room, m.from);
  out(text);
  printed(m.room, m.id);
  if (m.expiresAt) {
    const at = Date.parse(m.expiresAt);
    if (nextExpiry === undefined || at < nextExpiry) nextExpiry = at;
  }
}

// ---- read state: what is printed counts as read ----

/** At most one `read` per room this often; the latest one is sent at the end of the wait. */
const READ_EVERY_MS = 2000;
const reads = new Map<string, { sent: Point; pending?: string; timer?: ReturnType<typeof setTimeout> }>();

/** A message of `roomId` is on screen: the server hears (soon) that it was read. */
function printed(roomId: string, id: string) {
  const info = myRooms.get(roomId);
  if (info && after(id, info.last)) info.last = id;
  // Shown here means read: the badge clears now, the server hears it within READ_EVERY_MS.
  if (info && !after(info.last, id)) info.unread = info.mentions = 0;
  if (!me) return;
  let r = reads.get(roomId);
  if (!r) reads.set(roomId, (r = { sent: null }));
  if (!after(id, r.pending ?? r.sent)) return;
  r.pending = id;
  // Not at once: a page of messages printed together is one mark, for its newest.
  if (!r.timer) (r.timer = setTimeout(() => flushRead(roomId), 0)).unref();
}

function flushRead(roomId: string) {
  const r = reads.get(roomId)!;
  if (r.pending && after(r.pending, r.sent)) {
    notify({ action: 'read', room: roomId, through: r.pending });
    r.sent = r.pending;
  }
  r.pending = undefined;
  r.timer = setTimeout(() => {
    r.timer = undefined;
    if (r.pending) flushRead(roomId);
  }, READ_EVERY_MS);
  r.timer.unref();
}

/** Before exit: the reads still waiting out their throttle, answered (so they are stored). */
async function flushReads() {
  const last: Promise<Frame>[] = [];
  for (const [roomId, r] of reads) {
    clearTimeout(r.timer);
    if (r.pending && after(r.pending, r.sent) && !unsupported.has('read')) last.push(request({ action: 'read', room: roomId, through: r.pending }));
  }
  await Promise.race([Promise.all(last), sleep(2000)]);
}

// ---- who is typing (at a terminal only) ----

const typing = new Typing();
/** Typing frames go out at most this often per room (the server forwards no more). */
const TYPING_EVERY_MS = 3000;
const typingSent = new Map<string, number>();
let typingTimer: ReturnType<typeof setTimeout> | undefined;

/** The prompt says who is typing, and stops saying it after Typing.SHOWN_MS. */
function drawTyping() {
  if (!terminal) return;
  const now = Date.now();
  const status = typing.status(now, room, roomLabel);
  const prompt = status ? `(${status}) > ` : '> ';
  if (prompt !== rl.getPrompt()) {
    rl.setPrompt(prompt);
    if (secretPrompt === undefined) rl.prompt(true);
  }
  clearTimeout(typingTimer);
  const next = typing.nextExpiry(now);
  if (next !== undefined) (typingTimer = setTimeout(drawTyping, next - now + 10)).unref();
}

if (terminal)
  process.stdin.on('keypress', () => {
    // After readline's own listener: rl.line is the line as it now stands.
    // Not while a question is answered (a password, "delete [2]? (y/N)"): that is not a message.
    if (!me || secretPrompt !== undefined || questionOpen || !rl.line.trim() || rl.line.startsWith('/')) return;
    const now = Date.now();
    if (now - (typingSent.get(room) ?? 0) < TYPING_EVERY_MS) return;
    typingSent.set(room, now);
    notify({ action: 'typing', room });
  });

// ---- catching up ----

async function historyPage(roomId: string, cursor: { after?: string; before?: string }) {
  const page = await request({ action: 'history', room: roomId, limit: 100, ...cursor });
  return page.type === 'history' ? { messages: page.messages as Message[], hasMore: page.hasMore as boolean, seq: page.seq as unknown } : undefined;
}

/** After a reconnect (or a restart, `limit` changes at most): what happened in the room meanwhile. */
async function catchUp(roomId: string, limit = Infinity) {
  if (seqs.has(roomId) && changeFeed && (await catchUpChanges(roomId, limit))) return;
  const from = cursors.get(roomId);
  const got: Message[] = [];
  let seqNow: unknown;
  if (from) {
    // forward from the cursor
    for (let page = await historyPage(roomId, { after: from }); page; ) {
      got.push(...page.messages);
      seqNow = page.seq;
      const last = page.messages.at(-1);
      page = page.hasMore && last ? await historyPage(roomId, { after: last.id }) : undefined;
    }
  } else {
    // the room was empty when we came: everything, read backwards from the end
    for (let page = await historyPage(roomId, {}); page; ) {
      got.unshift(...page.messages);
      seqNow ??= page.seq;
      const first = page.messages[0];
      page = page.hasMore && first ? await historyPage(roomId, { before: first.id }) : undefined;
    }
  }
  for (const m of got) show(m);
  const last = got.at(-1);
  if (last) cursors.set(roomId, last.id);
  // Changes from here on are caught up by the feed (the edits before it are lost to us).
  if (isSeq(seqNow) && !seqs.has(roomId)) seqs.set(roomId, seqNow);
}

/**
 * Every change after the room's seq cursor, page by page: new messages shown,
 * edits, deletions and reactions told. False when the server has no change feed.
 */
async function catchUpChanges(roomId: string, limit: number): Promise<boolean> {
  for (let told = 0; ; ) {
    const r = await request({ action: 'changes', room: roomId, after: seqs.get(roomId) ?? '0', limit: 100 });
    if (r.type !== 'changes') {
      if (r.code === 'bad_request' && /^Unknown action/.test(String(r.message))) return (changeFeed = false);
      if (r.code === 'forbidden' || r.code === 'not_found') {
        seqs.delete(roomId);
        cursors.delete(roomId);
      }
      return true; // offline, or too fast: the next reconnect tries again from the same cursor
    }
    const messages = (Array.isArray(r.messages) ? r.messages : []) as Message[];
    // messages that disappeared while away, of those shown before
    if (typeof r.expiredThrough === 'string') expire(Date.parse(r.expiredThrough), roomId);
    for (const line of view.page(messages, cursors.get(roomId))) out(line);
    if (messages.some((m) => m.expiresAt)) nextExpiry = view.nextExpiry();
    let newest: string | undefined;
    for (const m of messages) {
      if (!newest || after(m.id, newest)) newest = m.id;
      if (!m.deleted) typing.stopped(m.room, m.from);
    }
    // Every message made up to `through` is now held: ids and seqs are handed out in
    // the same order under the room's lock.
    if (newest) {
      cursors.raise(roomId, newest);
      printed(roomId, newest);
    }
    if (isPoint(r.through)) seqs.raise(roomId, r.through);
    told += messages.length;
    if (r.hasMore !== true || messages.length === 0) return true;
    if (told >= limit) {
      const open = parseRoom(roomId)?.kind === 'dm' ? `/dm ${roomDisplayName(parseRoom(roomId)!, me ?? '')}` : `/join ${roomId}`;
      out(`* more happened in ${roomLabel(roomId)} while you were away than is shown here; ${safe(open)} shows the latest`);
      const h = await request({ action: 'history', room: roomId, limit: 1 });
      if (h.type === 'history' && isSeq(h.seq)) seqs.set(roomId, h.seq);
      const last = h.messages?.at?.(-1)?.id;
      if (isPoint(last)) cursors.raise(roomId, last);
      return true;
    }
  }
}

/** Rooms not caught up on a restart this many changes at most, each. */
const RESTART_CATCH_UP = 200;
/** Rooms whose change cursor is fetched at login (the rest get one when opened). */
const PRIME_ROOMS = 100;

/**
 * A change cursor for rooms that have none (a first run here, new rooms): the
 * room's current seq from a one-message `history` page, a few at a time, so
 * that a later reconnect can ask what changed.
 */
async function primeSeqs(roomIds: string[]) {
  const todo = roomIds.filter((r) => !seqs.has(r)).slice(0, PRIME_ROOMS);
  const worker = async () => {
    for (let r = todo.shift(); r !== undefined; r = todo.shift()) {
      const h = await request({ action: 'history', room: r, limit: 1 });
      if (h.type !== 'history') {
        if (h.code === 'offline') return;
        continue;
      }
      if (!isSeq(h.seq)) return; // an older server: no change feed to prime
      if (!seqs.has(r)) seqs.set(r, h.seq);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// ---- the state kept between runs ----

let savedText = '';

function currentState(): SavedState | undefined {
  if (!me) return undefined;
  const rooms: SavedState['rooms'] = {};
  for (const r of seqs.rooms()) {
    const s = seqs.get(r);
    const id = cursors.get(r);
    if (s !== undefined && id !== undefined && myRooms.has(r)) rooms[r] = { id, seq: s };
  }
  return { user: me, watermark: view.watermark, rooms };
}

async function saveState() {
  const state = currentState();
  if (!state) return;
  const text = JSON.stringify(state);
  if (text === savedText) return;
  savedText = text;
  await mkdir(join(stateFile, '..'), { recursive: true, mode: 0o700 });
  await writeFile(stateFile, text, { mode: 0o600 }).catch(() => {});
}
setInterval(() => void saveState(), 5000).unref();

async function loadState(user: string): Promise<SavedState | undefined> {
  const text = await readFile(stateFile, 'utf8').catch(() => '');
  return text ? parseSavedState(text, user) : undefined;
}

/** Actions an older server said it does not know (`read`, `typing`). */
const unsupported = new Set<string>();

/** *(E23)* people one connection may watch (the server's PRESENCE_WATCH_MAX default) */
const WATCH_CAP = 200;
/** *(E23)* rooms with more members than this get no v1 online frames: `/who` adds the server's count */
const BIG_ROOM = 100;
/** the current room's members as its last `join` listed them: watched for presence */
let listedMembers: string[] = [];
let lastWatch = '';

/**
 * *(E23)* Watches the people this terminal shows: DM partners and the current
 * room's listed members. Their changes come as `presence_batch`; nobody else's
 * online/offline is printed any more (joins and leaves still are).
 */
function watchPeople() {
  const people = new Set<string>();
  for (const id of myRooms.keys()) {
    if (!id.startsWith('dm:')) continue;
    const other = id.slice(3).split(':').find((u) => u !== me);
    if (other) people.add(other);
  }
  for (const u of listedMembers) if (people.size < WATCH_CAP && u !== me) people.add(u);
  const users = [...people].slice(0, WATCH_CAP).sort();
  const key = users.join(',');
  if (key === lastWatch) return;
  lastWatch = key;
  notify({ action: 'watch', users });
}

/** A frame whose reply nobody waits for (`read`, `typing`); errors about it are not shown. */
function notify(frame: Record<string, unknown>) {
  if (ws?.readyState === WebSocket.OPEN && !unsupported.has(frame.action as string)) ws.send(JSON.stringify({ ...frame, id: `q${++seq}` }));
}

function request(frame: Record<string, unknown>): Promise<Frame> {
  const id = `c${++seq}`;
  return new Promise((resolve) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return resolve({ type: 'error', code: 'offline', message: 'Not connected.' });
    waiting.set(id, resolve);
    ws.send(JSON.stringify({ ...frame, id }));
  });
}

function describeError(f: Frame): string {
  return `! ${f.message} (${f.code})`;
}

/**
 * Seconds to wait after a `rate_limited` error: the frame's `retryAfter`
 * (docs/PROTOCOL.md), else the "in N s" of the sentence from a server
 * without it, else a few seconds.
 */
function retryAfterSeconds(f: Frame): number {
  if (typeof f.retryAfter === 'number' && Number.isFinite(f.retryAfter) && f.retryAfter > 0) return f.retryAfter;
  const said = /\bin (\d+) s\b/.exec(String(f.message ?? ''));
  return said ? Number(said[1]) : 5;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function saveToken(token: string | undefined) {
  if (token) {
    await mkdir(join(tokenFile, '..'), { recursive: true, mode: 0o700 });
    await writeFile(tokenFile, token, { mode: 0o600 });
  } else await rm(tokenFile, { force: true });
}

/** The rest of a list a reply could not hold: pages of `rooms` or `members` after the last item. */
async function rest<T>(first: T[], more: unknown, next: (last: T) => Record<string, unknown>, items: (page: Frame) => T[]): Promise<T[]> {
  const all = [...first];
  while (more === true && all.length > 0) {
    const page = await request(next(all.at(-1)!));
    if (page.type === 'error') break;
    all.push(...items(page));
    more = page.hasMore === true && items(page).length > 0;
  }
  return all;
}

type Room = { id: string; lastMessageId: Point; readThrough?: Point; unread?: number; mentions?: number; seq?: unknown };

/** What a ROOM object says of the room's badge and my read mark. */
function noteRoom(r: Room) {
  const unread = typeof r.unread === 'number' ? r.unread : undefined;
  const mentions = typeof r.mentions === 'number' ? r.mentions : undefined;
  const known = myRooms.get(r.id);
  myRooms.set(r.id, { unread, mentions, last: known && after(known.last, r.lastMessageId) ? known.last : r.lastMessageId });
  if (isPoint(r.readThrough)) {
    const mark = reads.get(r.id);
    if (!mark) reads.set(r.id, { sent: r.readThrough });
    else if (after(r.readThrough, mark.sent)) mark.sent = r.readThrough;
  }
}

/** The person logged in now, whose saved cursors are in use (a restart catches up once per person). */
let restoredFor: string | undefined;

async function onAuthed(f: Frame) {
  me = f.user.username;
  twoFactorOn = f.user.twoFactor === true;
  profiles.note(f.user);
  blocks.set(f.blocks);
  if (typeof f.user.readReceipts === 'boolean') readReceipts = f.user.readReceipts;
  if (typeof f.user.notify === 'string') notices = { notify: f.user.notify, quote: f.user.notifyQuote };
  const serverTime = typeof f.serverTime === 'string' ? Date.parse(f.serverTime) : NaN;
  if (!Number.isNaN(serverTime)) clockOffset = serverTime - Date.now();
  await saveToken(f.token);
  // *(E25)* a terminal in use is looked at: active (the server's default, said once)
  notify({ action: 'activity', state: 'active' });
  const all = await rest<Room>(f.rooms, f.roomsMore, (last) => ({ action: 'rooms', after: last.id }), (p) => p.rooms);
  const rooms = all.map((r) => r.id);
  for (const r of all) noteRoom(r);
  out(`* logged in as ${me}; rooms: ${rooms.map(roomLabel).join(', ')}`);
  const unread = all.filter((r) => r.unread || r.mentions);
  if (unread.length) out(`* unread: ${unread.slice(0, 10).map((r) => roomLabel(r.id) + badge(r.unread, r.mentions)).join(', ')}${unread.length > 10 ? ` and ${unread.length - 10} more rooms` : ''}`);

  let known = cursors.rooms();
  let limit = Infinity;
  if (restoredFor !== me) {
    // The first login of this run: pick up where the last run on this machine left off.
    restoredFor = me;
    const saved = await loadState(me!);
    if (saved) view.watermark = saved.watermark;
    for (const r of all) {
      const s = saved?.rooms[r.id];
      if (!s || cursors.has(r.id)) continue;
      cursors.set(r.id, s.id);
      seqs.set(r.id, s.seq);
    }
    known = rooms.filter((r) => saved?.rooms[r]);
    limit = RESTART_CATCH_UP;
  }
  for (const r of all) if (!cursors.has(r.id)) cursors.set(r.id, r.lastMessageId);
  for (const r of all) if (isSeq(r.seq) && !seqs.has(r.id)) seqs.set(r.id, r.seq);
  // After a reconnect (or a restart), everything that happened while away, in order, once.
  for (const r of known) if (myRooms.has(r)) await catchUp(r, limit);
  void saveState();
  // The current room first: that is where edits matter most.
  void primeSeqs([room, ...rooms.filter((r) => r !== room)]);
  // A new connection is an old client until it watches (E23).
  lastWatch = '\u0000';
  watchPeople();
}

function onFrame(f: Frame) {
  if (f.re && waiting.has(f.re)) {
    waiting.get(f.re)!(f);
    waiting.delete(f.re);
    return;
  }
  // The answer to a `read` or `typing` nobody waits for: a refusal is not worth a
  // line, but a server without the action is not asked again.
  if (typeof f.re === 'string' && f.re.startsWith('q') && f.type === 'error') {
    const unknown = /^Unknown action "(\w+)"/.exec(String(f.message))?.[1];
    if (unknown) unsupported.add(unknown);
    return;
  }
  switch (f.type) {
    case 'message': {
      const m = f.message as Message;
      if (f.prev !== undefined) cursors.advance(m.room, f.prev, m.id);
      if (isPoint(f.seq) && f.prevSeq !== undefined) seqs.advance(m.room, f.prevSeq, f.seq);
      if (!myRooms.has(m.room)) myRooms.set(m.room, { last: null });
      show(m);
      return drawTyping();
    }
    case 'changed':
      if (isPoint(f.seq) && f.prevSeq !== undefined) seqs.advance(f.room, f.prevSeq, f.seq);
      for (const line of view.change(f.message as Message)) out(line);
      if ((f.message as Message).expiresAt) nextExpiry = view.nextExpiry();
      return;
    case 'typing':
      if (!terminal || f.from === me) return;
      typing.typing(f.room, f.from, Date.now());
      return drawTyping();
    case 'read': {
      // Read here or on another device: the badge goes when it covers the newest message.
      const info = myRooms.get(f.room);
      if (info && isPoint(f.through) && !after(info.last, f.through)) info.unread = info.mentions = 0;
      const mark = reads.get(f.room);
      if (mark && isPoint(f.through) && after(f.through, mark.sent)) mark.sent = f.through;
      return;
    }
    case 'seen':
      return seen(f);
    case 'settings':
      if (typeof f.readReceipts === 'boolean') readReceipts = f.readReceipts;
      if (typeof f.notify === 'string') notices = { notify: f.notify, quote: f.notifyQuote };
      return;
    case 'blocks':
    case 'suspended':
      return out(describeSafetyReply(f, blocks)!);
    case 'report':
      return out(`* new report #${f.report?.id}: ${safe(String(f.report?.by))} reported a message of ${safe(String(f.report?.from))} in ${roomLabel(String(f.report?.room))}`);
    case 'presence_batch':
      // *(E23)* the people we watch, as they are now
      for (const [user, status] of Object.entries((f.presence ?? {}) as Record<string, string>)) {
        if (!blocks.has(user)) out(`* ${user} is ${status}`);
      }
      return;
    case 'watching':
      return; // the statuses at the moment we asked: /who shows them
    case 'presence':
      if (f.online !== undefined && blocks.has(f.user)) return;
      // *(E25)* away: online, every tab idle or hidden
      if (f.online === true && f.away !== undefined) out(`* ${f.user} is ${f.away ? 'away' : 'back'}`);
      else if (f.online !== undefined) out(`* ${f.user} is ${f.online ? 'online' : 'offline'}`);
      if (f.member !== undefined && f.user === me) f.member ? myRooms.set(f.room, myRooms.get(f.room) ?? { last: null }) : myRooms.delete(f.room);
      if (f.member !== undefined) out(`* ${f.user} ${f.member ? 'joined' : 'left'} ${roomLabel(f.room)}`);
      return;
    case 'profile':
      profiles.note(f);
      if (f.deleted) out(`* ${safe(String(f.username))} deleted their account`);
      return;
    case 'expired':
      // the server deleted them; this client has most likely marked them already
      if (typeof f.through === 'string') expire(Date.parse(f.through), f.room);
      if (isPoint(f.seq) && f.prevSeq !== undefined) seqs.advance(f.room, f.prevSeq, f.seq);
      return;
    case 'deleted':
      if (f.from && isPoint(f.through)) view.purged(f.room, f.from, f.through);
      out(`* ${f.user ?? f.from ?? 'someone'} deleted ${f.ids?.length ?? 'their'} messages in ${roomLabel(f.room)}`);
      // The purge's tombstones break the change chain: read past them at once.
      if (isPoint(f.seq) && seqs.has(f.room) && changeFeed) void catchUpChanges(f.room, Infinity);
      return;
    case 'error':
      return out(describeError(f));
    case 'room_updated':
    case 'role_changed':
    case 'added_to_room':
      if (f.type === 'added_to_room') noteRoom(f.room);
      return out(roomLine(f, me, roomLabel)!);
    case 'removed_from_room':
      myRooms.delete(f.room);
      seqs.delete(f.room);
      if (f.room === room) room = 'general';
      return out(`${roomLine(f, me, roomLabel)}; now in ${roomLabel(room)}`);
  }
}

/** The room commands of cli/rooms.ts, and `/remove N` (a moderator removes a message). */
async function roomCommand(cmd: string, restOfLine: string) {
  if (cmd === '/remove') {
    const target = view.resolve(room, restOfLine.trim().split(/\s+/)[0] || undefined, 'any');
    if ('error' in target) return out(`! ${target.error}`);
    const r = await request({ action: 'remove_message', room, message: target.id });
    return out(r.type === 'removed_message' ? `* removed [${target.n}]` : describeError(r));
  }
  const parsed = roomCommandFrame(cmd, restOfLine, room);
  if ('usage' in parsed) return out(parsed.usage);
  const r = await request(parsed.frame);
  if (r.type === 'directory') return out(directoryLines(r.channels, parsed.frame.query ?? '', r.hasMore));
  return out(roomLine(r, me, roomLabel) ?? describeError(r));
}

/** The newest of my messages each DM partner is known to have read, so each is told once. */
const seenTold = new Map<string, string>();

/** `seen` in a DM: told once per message of mine, when the other person has read my latest. */
function seen(f: Frame) {
  if (!isPoint(f.through)) return;
  const mine = view.resolve(f.room, undefined, 'mine');
  if ('error' in mine || after(mine.id, f.through) || seenTold.get(f.room) === mine.id) return;
  seenTold.set(f.room, mine.id);
  out(`* ${safe(String(f.from))} has read ${f.room === room ? '' : `${roomLabel(f.room)} up to `}[${mine.n}]`);
}

function connect(): Promise<void> {
  return new Promise((resolve) => {
    // The server shows the sessions' devices from this (E18).
    const socket = new WebSocket(url, { headers: { 'user-agent': `WildWhispersCLI/1 (${process.platform})` } });
    ws = socket;
    socket.on('message', (data) => {
      try {
        onFrame(JSON.parse(data.toString()));
      } catch {
        /* not a frame: ignore */
      }
    });
    socket.on('open', async () => {
      attempt = 0;
      out(`* connected to ${url}`);
      const token = await readFile(tokenFile, 'utf8').catch(() => undefined);
      if (token) {
        const r = await request({ action: 'auth', op: 'resume', token: token.trim() });
        if (r.type === 'authed') await onAuthed(r);
        else {
          await saveToken(undefined);
          out('* session ended: /login USER or /register USER EMAIL (/forgot USER if you forgot your password)');
        }
      } else out('* /register USER EMAIL to sign up, /login USER to log in, /forgot USER if you forgot your password, /help for more');
      resolve();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const [, fn] of waiting) fn({ type: 'error', code: 'offline', message: 'Connection lost.' });
      waiting.clear();
      if (quitting) return;
      // Reconnect with exponential backoff and jitter, so a restarted server is not stampeded.
      const delay = Math.min(30_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
      out(`* disconnected; retrying in ${(delay / 1000).toFixed(1)} s`);
      setTimeout(() => connect().then(resolve), delay);
    });
  });
}

const lines = rl[Symbol.asyncIterator]();
async function nextLine(): Promise<string> {
  return ((await lines.next()).value as string | undefined) ?? '';
}

/** A question answered in plain sight (piped: the next line). */
let questionOpen = false;
async function ask(question: string): Promise<string> {
  if (!interactive) return nextLine();
  questionOpen = true;
  return new Promise<string>((resolve) => rl.question(question, resolve)).finally(() => (questionOpen = false));
}

/**
 * A question whose answer is not shown: the question stays on screen, the typing
 * does not (not even as stars). Readline is set aside meanwhile: its keypress
 * listener is detached, so it neither echoes nor redraws (a redraw would wipe the
 * question), and put back after Enter. Resolves undefined on Ctrl-C or Ctrl-D.
 */
async function askSecret(question: string): Promise<string | undefined> {
  if (!interactive) return nextLine();
  const input = process.stdin;
  const readlineKeys = input.listeners('keypress') as Array<(...args: unknown[]) => void>;
  for (const l of readlineKeys) input.removeListener('keypress', l);
  secretPrompt = question;
  process.stdout.write('\r\x1b[K' + question);
  return new Promise((resolve) => {
    let typed = '';
    const done = (answer: string | undefined, echo: string) => {
      input.removeListener('keypress', onKey);
      for (const l of readlineKeys) input.on('keypress', l);
      secretPrompt = undefined;
      process.stdout.write(echo + '\r\n');
      resolve(answer);
    };
    const onKey = (s: string | undefined, key: { name?: string; ctrl?: boolean; meta?: boolean; sequence?: string } = {}) => {
      if (key.name === 'return' || key.name === 'enter') return done(typed, '');
      if (key.ctrl && (key.name === 'c' || (key.name === 'd' && typed === ''))) return done(undefined, '^C');
      if (key.name === 'backspace') typed = [...typed].slice(0, -1).join('');
      else if (key.ctrl && key.name === 'u') typed = '';
      // Printable text only: arrows, function keys and other escapes are not part of a password.
      else if (s && !key.ctrl && !key.meta && !/[\u0000-\u001f\u007f]/.test(s)) typed += s;
    };
    input.on('keypress', onKey);
  });
}

/** Sends a line to the current room; one refused as too fast is sent again after the wait. */
async function say(text: string, extra: Record<string, unknown> = {}) {
  // One clientId for every try: the server stores the line once however
  // often it is sent, and a line refused for speed is sent again, never dropped.
  const clientId = `cli-${Date.now()}-${seq}`;
  for (;;) {
    const r = await request({ action: 'send', room, text, clientId, ...extra });
    if (r.type === 'sent') return show(r.message);
    if (r.code !== 'rate_limited') return out(describeError(r));
    const wait = retryAfterSeconds(r);
    if (interactive) out(`* sending too fast; this line goes out in ${wait} s`);
    await sleep(wait * 1000);
  }
}

/** `/edit`, `/delete`, `/reply`, `/react`, `/unreact`, `/readreceipts`, `/notify`, `/timer`. */
async function conversationCommand(cmd: string, restOfLine: string) {
  if (cmd === '/readreceipts' && !restOfLine.trim())
    return out(readReceipts === undefined ? 'usage: /readreceipts on|off' : `* read receipts are ${readReceipts ? 'on' : 'off'}; /readreceipts ${readReceipts ? 'off' : 'on'} to change`);
  if (cmd === '/notify' && !restOfLine.trim())
    return out(notices ? `${describeNotices(notices.notify, notices.quote)}; /notify off|mentions|all, /notify quote on|off to change` : 'usage: /notify off|mentions|all, or /notify quote on|off');
  const parsed = parseCommand(view, room, cmd, restOfLine)!;
  if ('usage' in parsed) return out(parsed.usage);
  if ('error' in parsed) return out(`! ${parsed.error}`);
  const { frame } = parsed;
  if (frame.action === 'send') return say(frame.text as string, { replyTo: frame.replyTo });
  if (parsed.confirm && interactive) {
    const answer = await ask(parsed.confirm);
    if (!/^y(es)?$/i.test(answer.trim())) return out('* not deleted');
  }
  const r = await request(frame);
  switch (r.type) {
    case 'edited':
    case 'reacted': {
      const lines = view.change(r.message as Message);
      if (lines.length) return out(lines.join('\n'));
      // Nothing new to tell (an echo was faster, or it was so already): say where it stands.
      return out(r.type === 'reacted' ? `* [${parsed.n}] reactions: ${reactionSummary(r.message?.reactions)}` : `* [${parsed.n}] is as you wrote it`);
    }
    case 'timer':
      // the announcement, as everyone in the room sees it; or, unchanged, where it stands
      return r.message ? show(r.message as Message) : out(describeRoomTimer(r.room, r.disappearAfter));
    case 'deleted_message':
      return out(view.deletedOne(r.room ?? room, String(r.message ?? frame.message), isPoint(r.seq) ? r.seq : undefined).join('\n') || `* deleted [${parsed.n}]`);
    case 'settings':
      if (typeof r.notify === 'string') notices = { notify: r.notify, quote: r.notifyQuote };
      if (cmd === '/notify') return out(describeNotices(r.notify, r.notifyQuote));
      readReceipts = r.readReceipts === true;
      return out(
        readReceipts
          ? '* read receipts on: people in your DMs see what you have read, and you theirs'
          : '* read receipts off: nobody sees what you have read, and you see nobody’s',
      );
    default:
      return out(describeError(r));
  }
}

/** `/block`, `/unblock`, `/blocks`, `/report` (cli/safety.ts). */
async function safetyCommand(cmd: string, restOfLine: string) {
  const parsed = parseSafetyCommand(view, room, cmd, restOfLine)!;
  if ('usage' in parsed) return out(parsed.usage);
  if ('error' in parsed) return out(`! ${parsed.error}`);
  const r = await request(parsed.frame);
  out(describeSafetyReply(r, blocks, parsed.n) ?? describeError(r));
}

/** The last search, for /more: its query, the next page's cursor, how many were shown. */
let lastSearch: { query: string; next: string | null; shown: number } | undefined;

/** `/search QUERY` (a new search) and `/more` (its next page). */
async function searchCommand(query: string, before?: string) {
  const r = await request({ action: 'search', query, ...(before ? { before } : {}) });
  if (r.type !== 'search_results') return out(describeError(r));
  const hits = r.results as SearchHit[];
  const shown = before && lastSearch ? lastSearch.shown : 0;
  if (!hits.length && !shown) {
    lastSearch = undefined;
    return out(`* no messages match "${safe(query)}"; try fewer words, the start of a word, or fewer filters`);
  }
  out(hits.map((hit, i) => searchLine(shown + i + 1, hit, roomLabel(hit.message.room), terminal)).join('\n'));
  lastSearch = { query, next: r.next ?? null, shown: shown + hits.length };
  out(r.next ? '* /more for the next page' : `* ${lastSearch.shown} ${lastSearch.shown === 1 ? 'result' : 'results'} in all`);
}

/** The server's http(s) origin, for URLs in grants that are relative to it. */
const httpBase = new URL(url.replace(/^ws/, 'http')).origin;

/** `/upload PATH`: a grant, the bytes straight to storage, then the message that carries the file. */
async function upload(path: string) {
  if (!path) return out('usage: /upload PATH');
  const file = await readUpload(path);
  if ('error' in file) return out(`! ${file.error}`);
  const grant = await request({ action: 'upload', room, name: file.name, size: file.size, type: file.type });
  if (grant.type !== 'upload_grant') return out(describeError(grant));
  if (interactive) out(`* uploading ${file.name}…`);
  try {
    await sendBytes(grant.upload as UploadTarget, file, httpBase);
  } catch (err) {
    return out(`! ${file.name}: ${(err as Error).message}`);
  }
  return say('', { files: [grant.file] });
}

/** `/download N [DIR]`: every file of message N, saved under its name (never over a file). */
async function download(token: string | undefined, dir = '.') {
  if (!token) return out('usage: /download N [DIR]');
  const target = view.resolve(room, token, 'any');
  if ('error' in target) return out(`! ${target.error}`);
  const files = view.known(room, target.id)?.files ?? [];
  if (!files.length) return out(`! Message [${target.n}] has no files.`);
  const r = await request({ action: 'download', files: files.map((f) => f.id) });
  if (r.type !== 'download_urls') return out(describeError(r));
  for (const f of files) {
    const got = (r.files as { id: string; url: string }[]).find((x) => x.id === f.id);
    if (!got) {
      out(`! ${safe(f.name)} is no longer there`);
      continue;
    }
    try {
      out(`* saved ${safe(await saveDownload(new URL(got.url, httpBase).href, f.name, dir))}`);
    } catch (err) {
      out(`! ${safe(f.name)}: ${(err as Error).message}`);
    }
  }
}

/** What the two-factor commands (two-factor.ts) need of this client. */
function twoFactorIo(): TwoFactorIo {
  return { request, out, ask, askSecret, describeError, tty: interactive };
}

async function command(line: string) {
  const [cmd, ...args] = line.trim().split(/\s+/);
  switch (cmd) {
    case '/edit':
    case '/delete':
    case '/reply':
    case '/react':
    case '/unreact':
    case '/readreceipts':
    case '/notify':
    case '/timer':
      return conversationCommand(cmd, line.replace(/^\s*\S+/, ''));
    case '/remove':
      return roomCommand(cmd, line.replace(/^\s*\S+/, ''));
    case '/block':
    case '/unblock':
    case '/blocks':
    case '/report':
      return safetyCommand(cmd, line.replace(/^\s*\S+/, ''));
    case '/upload':
      return upload(line.replace(/^\s*\S+\s*/, '').trim());
    case '/download':
      return download(args[0], args[1]);
    case '/profile':
    case '/whois':
    case '/export':
    case '/deleteaccount': {
      const done = await profileCommand(cmd, args, line.replace(/^\s*\S+\s?/, ''), { request, out, describeError, askSecret, ask, interactive, profiles, me: () => me, httpBase });
      if (done === 'deleted') {
        await saveToken(undefined);
        me = undefined;
        quitting = true;
        rl.close();
      }
      return;
    }
    case '/help':
      return out(HELP);
    case '/forgot':
    case '/password':
    case '/email':
    case '/devices':
    case '/logout-device':
    case '/logout-others':
      return accountCommand({ request, ask, askSecret, out, safe }, cmd, args);
    case '/2fa':
      twoFactorOn = await twoFactorCommand(twoFactorIo(), args, me === undefined ? undefined : twoFactorOn);
      return;
    case '/search': {
      const query = line.replace(/^\s*\S+\s?/, '');
      if (!query.trim()) return out('usage: /search QUERY (words, "a phrase", -word, from:@user, in:#room, before:/after:YYYY-MM-DD)');
      return searchCommand(query);
    }
    case '/more':
      if (!lastSearch?.next) return out('* nothing more: /search QUERY first');
      return searchCommand(lastSearch.query, lastSearch.next);
    case '/quit':
    case '/exit':
      // The socket closes after the last reads are stored (at the end of the input loop).
      quitting = true;
      rl.close();
      return;
    case '/register': {
      const [username, email, invite] = args;
      if (!username || !email) return out('usage: /register USER EMAIL [INVITE]');
      const password = await askSecret('password (8 or more characters): ');
      if (password === undefined) return out('* cancelled');
      const register = (code?: string) => request({ action: 'auth', op: 'register', username, email, password, ...(code ? { invite: code } : {}) });
      let r = await register(invite);
      // On registration `forbidden` means one thing: this server wants an invite
      // code (the web client reads it the same way).
      if (r.type === 'error' && r.code === 'forbidden' && interactive) {
        const code = (await ask(invite ? 'that invite code is not valid; invite code: ' : 'this server is invite-only; invite code: ')).trim();
        if (!code) return out('* cancelled');
        r = await register(code);
      }
      if (r.type === 'error' && r.code === 'forbidden') return out(`${describeError(r)}\n  usage: /register ${username} ${email} INVITE`);
      if (r.type !== 'otp_sent') return out(describeError(r));
      pendingUser = username;
      return out(`* a code was mailed to ${r.email}; type /verify CODE within ${Math.round(r.expiresIn / 60)} minutes`);
    }
    case '/verify': {
      const [code, username = pendingUser] = args;
      if (!code || !username) return out('usage: /verify CODE [USER]');
      const r = await request({ action: 'auth', op: 'verify', username, code });
      return r.type === 'authed' ? onAuthed(r) : out(describeError(r));
    }
    case '/login': {
      const [username] = args;
      if (!username) return out('usage: /login USER');
      const password = await askSecret('password: ');
      if (password === undefined) return out('* cancelled');
      let r = await request({ action: 'auth', op: 'login', username, password });
      if (r.type === 'second_factor') r = await secondStep(twoFactorIo(), r);
      if (r.type === 'otp_sent') {
        pendingUser = username;
        return out(`* confirm your email first: a code was mailed to ${r.email}; /verify CODE`);
      }
      return r.type === 'authed' ? onAuthed(r) : out(describeError(r));
    }
    case '/logout': {
      const r = await request({ action: 'auth', op: 'logout' });
      if (r.type !== 'logged_out') return out(describeError(r));
      await saveState();
      me = undefined;
      restoredFor = undefined;
      cursors.rooms().forEach((r) => cursors.delete(r));
      seqs.rooms().forEach((r) => seqs.delete(r));
      await saveToken(undefined);
      return out('* logged out');
    }
    case '/join':
    case '/dm': {
      const target = args[0];
      if (!target) return out(`usage: ${cmd} ${cmd === '/dm' ? 'USER' : 'ROOM'}`);
      const name = cmd === '/dm' ? `dm:${[me ?? '', target.toLowerCase()].sort().join(':')}` : target;
      const r = await request({ action: 'join', room: name });
      if (r.type !== 'joined') return out(describeError(r));
      room = r.room.id;
      noteRoom(r.room);
      if (!cursors.has(room)) cursors.set(room, r.room.lastMessageId);
      if (isSeq(r.seq) && !seqs.has(room)) seqs.set(room, r.seq);
      for (const m of r.members) profiles.note(m);
      listedMembers = r.members.map((m: { username: string }) => m.username);
      watchPeople();
      const count: number = r.memberCount ?? r.members.length;
      out(`* now in ${roomLabel(room)} (${count} ${count === 1 ? 'member' : 'members'})`);
      if (typeof r.room.disappearAfter === 'number') out(describeRoomTimer(room, r.room.disappearAfter));
      for (const m of r.messages) show(m);
      return drawTyping();
    }
    case '/rooms':
      return out(`* rooms: ${[...myRooms].map(([id, b]) => roomLabel(id) + badge(b.unread, b.mentions)).join(', ')}; current: ${roomLabel(room)}`);
    case '/history': {
      const limit = Math.min(100, Math.max(1, Number(args[0] ?? 20) || 20));
      const r = await request({ action: 'history', room, limit });
      if (r.type !== 'history') return out(describeError(r));
      for (const m of r.messages) show(m, true); // shown again on request
      return;
    }
    case '/who': {
      const r = await request({ action: 'join', room });
      if (r.type !== 'joined') return out(describeError(r));
      type Member = { username: string; online: boolean; away?: boolean };
      const members = await rest<Member>(r.members, r.membersMore, (last) => ({ action: 'members', room, after: last.username }), (p) => p.members);
      for (const m of members) profiles.note(m);
      const mark = (m: Member) => (m.online && m.away ? '◐' : m.online ? '●' : '○');
      out(members.map((m) => `${mark(m)} ${profiles.member(m.username)}${m.online && m.away ? ' (away)' : ''}${blocks.has(m.username) ? ' (blocked)' : ''}`).join('\n'));
      // *(E23)* a big room's count from the server: nobody's online changes are heard there
      if (members.length > BIG_ROOM) {
        const c = await request({ action: 'online_count', room });
        if (c.type === 'online_count') out(`* ${c.online} of ${c.members} members online`);
      }
      return;
    }
    case '/notifications': {
      // *(E25)* push subscriptions are made by a browser; here they are listed and removed
      if (args[0] === 'off' && args[1]) {
        const r = await request({ action: 'push_unsubscribe', subscription: args[1] });
        return out(r.type === 'push_unsubscribed' ? `* notifications off for device ${args[1]}` : describeError(r));
      }
      if (args[0] === 'text' && (args[1] === 'on' || args[1] === 'off')) {
        const r = await request({ action: 'settings', pushText: args[1] === 'on' });
        return out(r.type === 'settings' ? `* notifications ${r.pushText ? 'show' : 'do not show'} message text` : describeError(r));
      }
      if (args.length) return out('! Use /notifications, /notifications off ID or /notifications text on|off.');
      const r = await request({ action: 'push_subscriptions' });
      if (r.type !== 'push_subscriptions') return out(describeError(r));
      type Sub = { id: string; device: string | null; createdAt: string; lastUsedAt: string | null };
      const subs = r.subscriptions as Sub[];
      const lines = subs.map((d) => `  ${d.id}  ${safe(d.device ?? 'a device')}, since ${d.createdAt.slice(0, 10)}, last used ${d.lastUsedAt?.slice(0, 10) ?? 'never'}`);
      return out(
        [`* notifications ${r.pushText ? 'show' : 'do not show'} message text; devices with notifications on: ${subs.length ? '' : 'none'}`, ...lines].join('\n'),
      );
    }
    case '/leave': {
      const target = args[0] ?? room;
      const r = await request({ action: 'leave', room: target });
      if (r.type !== 'left') return out(describeError(r));
      myRooms.delete(r.room);
      seqs.delete(r.room);
      if (r.room === room) room = 'general';
      return out(`* left ${roomLabel(r.room)}; now in ${roomLabel(room)}`);
    }
    default:
      if (ROOM_COMMANDS.includes(cmd!)) return roomCommand(cmd!, line.replace(/^\s*\S+/, ''));
      if (line.startsWith('/')) return out(`unknown command ${cmd}; /help lists them`);
      if (!line.trim()) return;
      return say(line);
  }
}

await connect();
rl.setPrompt('> ');
if (interactive) rl.prompt();
for (;;) {
  const { value, done } = await lines.next();
  if (done) break;
  await command(value as string);
  if (quitting) break;
  if (interactive) rl.prompt();
}
quitting = true;
await flushReads();
await saveState();
ws?.close();
process.exit(0);
