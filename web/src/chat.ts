// The client's state and what it does with the server: signals the components
// read, and the actions they call. Messages live in memory, per room, sorted by
// id; a reload resumes the session with the stored token and fetches them again.
import { batch, computed, effect, signal, untracked, type ReadonlySignal } from '@preact/signals';
import { CHANNEL as CHANNEL_NAME, MESSAGE_ID, USERNAME, dmRoomId } from '../../functions/core/names.js';
import { Connection } from './connection.js';
import {
  Chain,
  compareIds,
  countMentions,
  countUnread,
  dropDeleted,
  dropExpired,
  findById,
  inLoadedRange,
  lastId,
  mergeMessages,
  messagePreview,
  nextExpiry,
  reconcileDeletions,
} from './messages.js';
import { session, storage } from './storage.js';
import { DeviceStore, MESSAGES_PER_ROOM, OUTBOX_MAX, ROOMS_KEPT, type CachedRoom, type OutboxEntry } from './offline.js';
import { Profiles } from './profiles.js';
import type { Prepared, UploadTarget } from './files.js';
import { Safety } from './safety.js';
import { ActivityReporter } from './activity.js';
import { ConnectionLost, ServerError, type FileInfo, type Member, type Message, type NotifyLevel, type RoomInfo, type SearchPage, type SearchResult, type ServerFrame, type User } from './types.js';

export type Screen = 'loading' | 'welcome' | 'code' | 'second_factor' | 'chat';

/** `join` returns at most this many of the latest messages. */
const JOIN_PAGE = 50;
const HISTORY_PAGE = 100;
/** Catch-up pages after a reconnect before we give up on filling the gap and start from the latest. */
const MAX_CATCH_UP_PAGES = 5;
/** `changes` pages (of CHANGES_PAGE) after a reconnect before the room restarts from its latest page. */
const MAX_CHANGE_PAGES = 5;
const CHANGES_PAGE = 200;
/** Pages of history that a jump to an old message may load to join it to the loaded ones. */
const MAX_JUMP_PAGES = 10;
/** At most one `typing` per room this often (the server forwards no more). */
export const TYPING_EVERY_MS = 3000;
/** Someone is shown typing this long after their last `typing`. */
export const TYPING_SHOWN_MS = 6000;
/** `read` goes to the server at most this often per room; the badge clears at once. */
const READ_EVERY_MS = 1000;
/** A gap in a chain (ids or seqs) that does not close by itself within this is filled from the server. */
const GAP_WAIT_MS = 3000;
/**
 * How long a link (`#room=<id>`) waits for a room this tab has not heard of yet:
 * a notification of a first direct message can be clicked before the tab has
 * the conversation (a loaded machine, a slow network).
 */
const LINK_WAIT_MS = 5000;
/**
 * Disappearing messages are looked at again at least this often, whatever the
 * next expiry: a timer is late after the computer slept, and the clock offset
 * may have moved.
 */
const EXPIRY_CHECK_MS = 30_000;

const LOGGED_OUT = 'You are logged out.';
const LOGGED_OUT_ELSEWHERE = 'You were logged out in another tab.';
const SESSION_ENDED = 'Your session has ended. Please log in again.';

// The protocol's names, from the server's own pure module.
export { CHANNEL as CHANNEL_NAME, USERNAME, dmRoomId } from '../../functions/core/names.js';

export interface PendingSend {
  clientId: string;
  room: string;
  text: string;
  /** the message this one answers */
  replyTo?: Message;
  state: 'sending' | 'failed';
  error?: string;
  /** automatic retries after `rate_limited` */
  attempts?: number;
  /** uploaded files it carries (E17) */
  files?: FileInfo[];
  /** when it was written (ms): the outbox goes out in this order */
  createdAt?: number;
  /** kept in this device's outbox (IndexedDB): it survives a closed tab */
  saved?: boolean;
}

/** The outbox's copy of a pending message. */
function outboxEntry(user: string, p: PendingSend): OutboxEntry {
  return {
    clientId: p.clientId,
    user,
    room: p.room,
    text: p.text,
    state: p.state,
    createdAt: p.createdAt ?? Date.now(),
    ...(p.replyTo ? { replyTo: p.replyTo } : {}),
    ...(p.files ? { files: p.files } : {}),
    ...(p.error ? { error: p.error } : {}),
  };
}

function fromOutbox(e: OutboxEntry): PendingSend {
  return {
    clientId: e.clientId,
    room: e.room,
    text: e.text,
    state: e.state,
    createdAt: e.createdAt,
    saved: true,
    ...(e.replyTo ? { replyTo: e.replyTo } : {}),
    ...(e.files ? { files: e.files } : {}),
    ...(e.error ? { error: e.error } : {}),
  };
}

/** How long after the last change the rooms are saved to the device. */
const SAVE_AFTER_MS = 1000;

/** Download URLs of one file, good until `expires` (ms). */
interface FileUrls {
  url: string;
  preview?: string;
  expires: number;
}

export interface CodeStep {
  op: 'register' | 'login';
  username: string;
  /** kept in memory only, to ask for a new code */
  password: string;
  email?: string;
  invite?: string;
  maskedEmail: string;
  expiresIn: number;
}

/** *(E19)* a login waiting for its second factor: the challenge works on this connection only. */
export interface SecondFactorStep {
  username: string;
  challenge: string;
  expiresIn: number;
}

/** Unread and mention counts as the server counted them, up to `through` (the room's newest id then). */
export interface Counted {
  through: string | null;
  unread: number;
  mentions: number;
}

export class RoomState {
  readonly messages = signal<Message[]>([]);
  readonly members = signal<string[]>([]);
  readonly pending = signal<PendingSend[]>([]);
  /** the newest message id this person has read */
  readonly readThrough = signal<string | null>(null);
  /**
   * The server's counts (`authed`/`joined`: unread, mentions) for messages up to
   * their `through`; those after it are counted here. Null: everything is
   * counted here (an older server, or after a read moved the mark).
   */
  readonly counted = signal<Counted | null>(null);
  /** in a DM: the newest message id the other person has read (read receipts) */
  readonly seenThrough = signal<string | null>(null);
  /** who is typing here, and until when (ms since the epoch) */
  readonly typing = signal<ReadonlyMap<string, number>>(new Map());
  /** the message the composer answers */
  readonly replyTo = signal<Message | null>(null);
  /** the id of my message being edited in place */
  readonly editing = signal<string | null>(null);
  /** a message to bring into view and highlight (a reply's quote was clicked) */
  readonly highlight = signal<string | null>(null);
  /** disappearing messages: the room's timer in seconds (null: off) */
  readonly disappearAfter = signal<number | null>(null);
  /** a channel's creator, who alone may set its timer (null: unknown, or a DM) */
  readonly createdBy = signal<string | null>(null);
  /** E21: a channel's shown name (renamed), topic, privacy, and my role in it */
  readonly displayName: ReturnType<typeof signal<string>>;
  readonly topic = signal('');
  readonly isPrivate = signal(false);
  readonly role = signal<'owner' | 'moderator' | null>(null);
  /** the timer is as of this message id: an older announcement (catch-up) does not undo a newer state */
  timerAsOf: string | null = null;
  /** older history exists on the server before the first loaded message */
  readonly hasOlder = signal(false);
  readonly loadingOlder = signal(false);
  readonly synced = signal(false);
  readonly unread: ReadonlySignal<number>;
  readonly mentions: ReadonlySignal<number>;
  /**
   * The catch-up cursor over message ids: every message up to `ids.at` is here.
   * Live frames carry `prev` (the room's id before theirs), so when two fan-outs
   * arrive out of order the cursor waits at the gap instead of jumping over the
   * missing message.
   */
  readonly ids = new Chain();
  /**
   * The change cursor over the room's change sequence (`seq`): every new
   * message, edit, delete and reaction up to `changes.at` is applied here.
   * `message` and `changed` frames carry `prevSeq`; after a reconnect, `changes`
   * after the cursor brings what happened meanwhile. Null until the server
   * tells the room's seq (an older server never does).
   */
  readonly changes = new Chain();
  gapTimer: ReturnType<typeof setTimeout> | undefined;
  changeGapTimer: ReturnType<typeof setTimeout> | undefined;
  typingTimer: ReturnType<typeof setTimeout> | undefined;
  /** the list is scrolled to its newest message (MessageList keeps this): only then is the room read */
  atLatest = true;
  /** when this tab last told the room that we type */
  typingSentAt = 0;
  /** the read mark last sent to the server, and the timer of the next */
  readSent: string | null = null;
  readTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly id: string,
    readonly kind: 'channel' | 'dm',
    /** a channel's name, or the other person's username */
    readonly name: string,
    me: string,
  ) {
    this.displayName = signal(name);
    const count = (f: typeof countUnread, field: 'unread' | 'mentions') =>
      computed(() => {
        const messages = this.messages.value;
        const read = this.readThrough.value;
        const counted = this.counted.value;
        if (!counted || counted.through === null || (read !== null && compareIds(read, counted.through) >= 0)) {
          return f(messages, read, me);
        }
        return Math.min(999, counted[field] + f(messages, counted.through, me));
      });
    this.unread = count(countUnread, 'unread');
    this.mentions = count(countMentions, 'mentions');
  }

  get label(): string {
    return this.kind === 'channel' ? `#${this.displayName.value}` : this.name;
  }

  /** Every message up to this id is here. */
  get cursor(): string | null {
    return this.ids.at;
  }

  /** prev → id of live messages that arrived ahead of the cursor */
  get ahead(): Map<string, string> {
    return this.ids.ahead;
  }

  /** Moves the cursor to `id` if that is further, then along any chain of early arrivals. */
  advanceCursor(id: string | null): void {
    this.ids.advance(id);
  }

  /** A live message with its `prev`: returns true if it leaves a gap behind the cursor. */
  noteLive(id: string, prev: string | null): boolean {
    return this.ids.noteLive(id, prev);
  }

  /** The people typing now, in the order they started. */
  typingNow(now = Date.now()): string[] {
    return [...this.typing.value].filter(([, until]) => until > now).map(([name]) => name);
  }
}

/** A channel name as people type it ("#Book Club") in the server's form ("book-club"). */
export function normalizeChannel(raw: string): string {
  return raw.trim().replace(/^#/, '').trim().toLowerCase().replace(/\s+/g, '-');
}

/** A random id that works outside secure contexts too (plain http on a LAN address). */
function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Whether older messages exist than `joined` holds: its `hasMore` (a server that
 * pages the reply by bytes may send fewer than 50 with more behind), or unknown.
 */
function olderOnServer(joined: ServerFrame): boolean | undefined {
  return typeof joined.hasMore === 'boolean' ? joined.hasMore : undefined;
}

function roomFrom(info: Pick<RoomInfo, 'id' | 'kind' | 'name'>, me: string): RoomState {
  return new RoomState(info.id, info.kind, info.name, me);
}

/** A channel in the directory (E21). */
export interface DirectoryChannel {
  id: string;
  name: string;
  topic?: string;
  memberCount: number;
  joined?: boolean;
}

/** A ROOM's E21 fields: shown name, topic, privacy and my role. */
function noteRoomFields(room: RoomState, info: RoomInfo): void {
  if (room.kind !== 'channel') return;
  room.displayName.value = info.name || room.id;
  room.topic.value = info.topic ?? '';
  room.isPrivate.value = info.private === true;
  room.role.value = info.role ?? null;
}

function roomFromId(id: string, me: string): RoomState {
  if (!id.startsWith('dm:')) return new RoomState(id, 'channel', id, me);
  const [, a, b] = id.split(':');
  return new RoomState(id, 'dm', a === me ? b! : a!, me);
}

/** A live frame's place in the room's change sequence. */
interface Seqs {
  seq: string;
  prevSeq: string | null;
}

function seqs(frame: ServerFrame): Seqs | undefined {
  if (typeof frame.seq !== 'string') return undefined;
  return { seq: frame.seq, prevSeq: typeof frame.prevSeq === 'string' ? frame.prevSeq : null };
}

function sortRooms(rooms: RoomState[]): RoomState[] {
  return [...rooms].sort((x, y) => {
    if (x.kind !== y.kind) return x.kind === 'channel' ? -1 : 1;
    if (x.id === 'general') return -1;
    if (y.id === 'general') return 1;
    return x.name.localeCompare(y.name);
  });
}

/** *(E23)* people one connection may watch (the server's PRESENCE_WATCH_MAX default) */
const WATCH_CAP = 200;
/** the watch list waits this long after the last change of whom the tab shows */
const WATCH_DEBOUNCE_MS = 500;
/** how often an open channel's online count is asked again */
const ONLINE_COUNT_EVERY_MS = 30_000;

export class Chat {
  readonly screen = signal<Screen>('loading');
  readonly me = signal<User | null>(null);
  readonly rooms = signal<RoomState[]>([]);
  readonly activeId = signal('general');
  readonly online = signal<ReadonlySet<string>>(new Set());
  /** *(E25)* of those online, the people with every tab idle or hidden */
  readonly away = signal<ReadonlySet<string>>(new Set());
  /** *(E25)* whether pushes carry the message's text (null: not known yet) */
  readonly pushText = signal<boolean | null>(null);
  /**
   * False while offline and until the catch-up after a reconnect is done: `online`
   * is then out of date (nobody hears of people who left meanwhile), so the UI
   * shows presence as unknown instead of a stale green.
   */
  readonly presenceKnown = signal(false);
  /** *(E23)* room id → members online, from `online_count` (the header of a room whose members we do not all watch) */
  readonly onlineCounts = signal<ReadonlyMap<string, number>>(new Map());
  readonly codeStep = signal<CodeStep | null>(null);
  /** *(E19)* the login's second step, after the right password */
  readonly secondFactorStep = signal<SecondFactorStep | null>(null);
  /** *(E19)* the Account dialog */
  readonly accountOpen = signal(false);
  /** why the person is back at the welcome screen (logged out, here or in another tab; session over) */
  readonly sessionNote = signal<string | null>(null);
  /** for screen readers, via an aria-live region */
  readonly announcement = signal('');
  /** when the message the announcer is reading out disappears (server clock), if it does */
  private announcedExpiry: number | null = null;
  /** a short message shown for a few seconds */
  readonly toast = signal<{ text: string; error?: boolean } | null>(null);
  readonly helpOpen = signal(false);
  /** read receipts on; null when the server has no read state */
  readonly readReceipts = signal<boolean | null>(null);
  /** *(E24)* email notices: what they are about, and whether they quote the text (null: a server without them) */
  readonly notices = signal<{ notify: NotifyLevel; quote: boolean } | null>(null);
  readonly guideOpen = signal(false);
  /** the disappearing-message timers the server takes, in seconds (`authed.timers`; empty: none) */
  readonly timers = signal<number[]>([]);
  readonly conn: Connection;
  /** *(E20)* display names, statuses and avatars of the people shown */
  readonly profiles = new Profiles();
  /** *(E22)* blocks, reports and administration (safety.ts) */
  readonly safety: Safety;
  /** where a local server without mail writes the code emails (its config.json says, to this machine only) */
  readonly outboxDir: string | null;
  /** what this device keeps for offline use: rooms, recent messages, the outbox (offline.ts) */
  readonly device: DeviceStore;
  /** the rooms were shown from the device's cache, not yet brought up to date by the server */
  readonly fromCache = signal(false);

  readonly activeRoom = computed(() => this.rooms.value.find((r) => r.id === this.activeId.value) ?? this.rooms.value[0]);
  readonly totalUnread = computed(() => this.rooms.value.reduce((n, r) => n + r.unread.value, 0));
  /** everyone in #general (which is everyone), online first */
  readonly people = computed(() => {
    const general = this.rooms.value.find((r) => r.id === 'general');
    const online = this.online.value;
    const me = this.me.value?.username;
    return (general?.members.value ?? [])
      .filter((u) => u !== me)
      .sort((a, b) => Number(online.has(b)) - Number(online.has(a)) || a.localeCompare(b));
  });

  /**
   * *(E23)* the people this tab shows, whose presence it watches: DM partners,
   * then the open room's members, then the people list, at most WATCH_CAP.
   */
  readonly watched = computed(() => {
    const me = this.me.value?.username;
    const out = new Set<string>();
    const add = (u: string) => out.size < WATCH_CAP && u !== me && out.add(u);
    for (const r of this.rooms.value) if (r.kind === 'dm') add(r.name);
    const active = this.activeRoom.value;
    if (active) for (const u of active.members.value) add(u);
    for (const u of this.people.value) add(u);
    return [...out].sort();
  });
  /** the list last sent with `watch` on this connection (null: none yet, v1 presence) */
  private watchSent: string | null = null;
  private watchTimer: ReturnType<typeof setTimeout> | undefined;

  private authed = false;
  /** the server keeps read marks and counts (extension E-conv); otherwise they live in localStorage */
  private serverReads = false;
  /** the token this tab's session uses */
  private token: string | null = null;
  /** false where localStorage refuses to keep it: the token then lives in memory only */
  private tokenStored = false;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * The server's clock minus this one's (ms), from `serverTime` in `authed` and
   * `pong`: disappearing messages go by the server's clock, so a device whose
   * clock is off still hides them when everyone else does.
   */
  private clockOffset = 0;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** *(E25)* tells the server whether this tab is looked at */
  private readonly activity = new ActivityReporter((state) =>
    this.authed ? this.conn.request({ action: 'activity', state }) : Promise.reject(new Error('not signed in')),
  );

  constructor(websocketUrl: string, options: { outboxDir?: string; device?: DeviceStore } = {}) {
    this.outboxDir = options.outboxDir ?? null;
    this.device = options.device ?? new DeviceStore();
    // *(E24)* a notice's link opens its room: at sign-in, or at once in a tab already open
    if (typeof window !== 'undefined' && typeof location !== 'undefined') {
      this.linkedRoom = linkedRoom(location);
      window.addEventListener('hashchange', () => {
        this.linkedRoom = linkedRoom(location);
        if (this.authed && this.linkedRoom) this.openLinkedRoom();
      });
    }
    this.conn = new Connection(websocketUrl, {
      onOpen: () => void this.onOpen(),
      onFrame: (f) => this.onFrame(f),
      onClose: () => this.onClose(),
      onPong: (pong, sentAt) => this.noteServerTime(pong.serverTime, sentAt),
    });
    this.profiles.attach(this.conn);
    this.safety = new Safety(this.conn, (user) => {
      if (!this.online.peek().has(user)) return;
      const online = new Set(this.online.peek());
      online.delete(user);
      this.online.value = online;
    });
    // E23: watch whom this tab shows, once presence is known, again (debounced) when that changes.
    effect(() => {
      const list = this.watched.value;
      if (!this.presenceKnown.value) return;
      const key = list.join(',');
      if (key === this.watchSent) return;
      clearTimeout(this.watchTimer);
      this.watchTimer = setTimeout(() => void this.sendWatch(list, key), WATCH_DEBOUNCE_MS);
    });
    // E23: the open channel's online count, when it opens and now and then while open.
    effect(() => {
      const room = this.activeRoom.value;
      if (!this.presenceKnown.value || !room || room.kind !== 'channel') return;
      void this.refreshOnlineCount(room.id);
      const timer = setInterval(() => void this.refreshOnlineCount(room.id), ONLINE_COUNT_EVERY_MS);
      return () => clearInterval(timer);
    });
    // Disappearing messages go at their expiry, without a word from the server:
    // one timer for the soonest in any room, set again whenever messages change.
    effect(() => this.scheduleExpiry());
    // What the device keeps for offline use follows the rooms, a second after they change.
    effect(() => {
      if (!this.me.value) return;
      for (const room of this.rooms.value) {
        void room.messages.value;
        void room.readThrough.value;
        void room.displayName.value;
        void room.topic.value;
        void room.disappearAfter.value;
      }
      this.scheduleSave();
    });
    // Another tab of ours wrote or cancelled a message: its outbox is ours too.
    if (typeof BroadcastChannel === 'function') {
      this.outboxChannel = new BroadcastChannel('ww-outbox');
      this.outboxChannel.onmessage = (e: MessageEvent) => void this.onOutboxNews(e.data);
      // Node (the tests) has BroadcastChannel too: it must not keep the process alive
      (this.outboxChannel as BroadcastChannel & { unref?: () => void }).unref?.();
    }
    // A link that came before its room: opened as the room arrives.
    effect(() => {
      const rooms = this.rooms.value;
      const waiting = this.linkWait;
      if (waiting && rooms.some((r) => r.id === waiting.id)) {
        this.cancelLinkWait();
        untracked(() => this.open(waiting.id));
      }
    });
    // The open room survives a reload (per tab: two tabs may look at two rooms).
    effect(() => {
      const me = this.me.value;
      // Read before the check below, on purpose: the effect must depend on activeId even
      // while it skips the write, or it would never run again once the awaited room opens.
      const active = this.activeId.value;
      if (me && !this.roomAwaited) session.set(`room.${me.username}`, active);
    });
  }

  start(): void {
    // Logging out in one tab forgets the shared token: every other tab of ours ends too.
    storage.watch('token', (token) => {
      if (token === null && this.me.peek() && this.tokenStored) this.loggedOutElsewhere();
    });
    this.conn.start();
    void this.restore();
    if (typeof window === 'undefined') return; // the logic tests run in Node
    this.activity.start();
    // *(E25)* a notification's click opens its room: by the URL (`#room=ID`, as
    // a notice's link does) or, in a tab already open, by the service worker's message
    navigator.serviceWorker?.addEventListener('message', (e: MessageEvent) => {
      const data = e.data as { type?: string; room?: unknown } | null;
      if (data?.type === 'open-room' && typeof data.room === 'string') this.open(data.room);
    });
  }

  // ---- offline: the device's cache and outbox (offline.ts) --------------------

  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** what each room looked like when it was last saved */
  private readonly saved = new WeakMap<RoomState, unknown[]>();
  private outboxChannel: BroadcastChannel | undefined;
  /** an outbox pass is running in this tab; `flushAgain`: another was asked for meanwhile */
  private flushing = false;
  private flushAgain = false;

  /**
   * With a stored token, before the server answers (or when it cannot be
   * reached): the rooms, messages and outbox this device kept for that session,
   * shown at once. The server's `authed` then brings them up to date from the
   * kept cursors, as after a reconnect; a refused token ends the session.
   */
  private async restore(): Promise<void> {
    if (!storage.get('token')) return;
    const cached = await this.device.session();
    if (!cached || this.screen.peek() !== 'loading' || this.me.peek()) return;
    const [rooms, outbox] = await Promise.all([this.device.rooms(cached.user), this.device.outbox(cached.user)]);
    if (this.screen.peek() !== 'loading' || this.me.peek() || !storage.get('token')) return;
    const user = cached.me.username;
    const byId = new Map(rooms.map((r) => [r.id, r]));
    const states = cached.rooms.flatMap((id) => (byId.has(id) ? [this.roomFromCache(byId.get(id)!, user)] : []));
    if (states.length === 0) return;
    const wanted = session.get(`room.${user}`);
    // A room joined just before the reload may be missing from the cache (it is
    // saved a second after a change): the server's list will have it.
    if (wanted && !states.some((r) => r.id === wanted)) this.roomAwaited = wanted;
    // the session shown is this token's: a logout before the server answers forgets it
    this.token = storage.get('token');
    batch(() => {
      this.me.value = cached.me;
      this.profiles.note([cached.me]);
      this.rooms.value = states;
      this.activeId.value = wanted && states.some((r) => r.id === wanted) ? wanted : 'general';
      this.fromCache.value = true;
      this.screen.value = 'chat';
    });
    this.adoptOutbox(outbox);
  }

  private roomFromCache(c: CachedRoom, me: string): RoomState {
    const room = new RoomState(c.id, c.kind, c.name, me);
    room.displayName.value = c.displayName;
    room.topic.value = c.topic;
    room.isPrivate.value = c.isPrivate;
    room.messages.value = c.messages;
    room.hasOlder.value = c.hasOlder;
    room.readThrough.value = c.readThrough;
    room.ids.advance(c.cursor);
    room.changes.advance(c.changesAt);
    return room;
  }

  private scheduleSave(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.saveCache(), SAVE_AFTER_MS);
  }

  /**
   * Saves the rooms that changed: the newest MESSAGES_PER_ROOM messages of the
   * ROOMS_KEPT rooms with the newest messages, and the cursors to catch up from.
   * A room with disappearing messages keeps none on the device.
   */
  private async saveCache(): Promise<void> {
    const me = this.me.peek();
    if (!me || !this.device.available) return;
    const rooms = this.rooms.peek();
    const newest = (r: RoomState) => r.messages.peek().at(-1)?.at ?? '';
    const kept = new Set([...rooms].sort((a, b) => (newest(a) < newest(b) ? 1 : newest(a) > newest(b) ? -1 : 0)).slice(0, ROOMS_KEPT));
    const changed: CachedRoom[] = [];
    for (const room of rooms) {
      const all = room.messages.peek();
      const ephemeral = room.disappearAfter.peek() !== null || all.some((m) => m.expiresAt !== undefined || (m.replyTo !== undefined && !m.replyTo.deleted && m.replyTo.expiresAt !== undefined));
      const keep = kept.has(room) && !ephemeral;
      const key = [all, keep, room.readThrough.peek(), room.displayName.peek(), room.topic.peek(), room.isPrivate.peek(), room.hasOlder.peek(), room.ids.at, room.changes.at];
      const before = this.saved.get(room);
      if (before && before.every((v, i) => v === key[i])) continue;
      this.saved.set(room, key);
      const messages = keep ? all.slice(-MESSAGES_PER_ROOM) : [];
      changed.push({
        user: me.username,
        id: room.id,
        kind: room.kind,
        name: room.name,
        displayName: room.displayName.peek() ?? room.name,
        topic: room.topic.peek(),
        isPrivate: room.isPrivate.peek(),
        messages,
        hasOlder: keep && (room.hasOlder.peek() || messages.length < all.length),
        readThrough: room.readThrough.peek(),
        // without its messages, a room starts afresh from the server
        cursor: keep ? room.ids.at : null,
        changesAt: keep ? room.changes.at : null,
      });
    }
    await this.device.saveRooms(me, rooms.map((r) => r.id), changed);
  }

  /** Messages of the outbox not shown yet (written in another tab, or before the tab closed) join their rooms. */
  private adoptOutbox(entries: readonly OutboxEntry[]): void {
    batch(() => {
      for (const e of entries) {
        const room = this.room(e.room);
        if (!room || room.pending.peek().some((p) => p.clientId === e.clientId)) continue;
        // sent meanwhile (its copy came back): the outbox entry is stale
        if (room.messages.peek().some((m) => m.clientId === e.clientId && m.from === this.me.peek()?.username)) continue;
        room.pending.value = [...room.pending.peek(), fromOutbox(e)];
      }
    });
  }

  /** News from another tab of ours: its outbox changed (written, cancelled, sent). */
  private async onOutboxNews(data: unknown): Promise<void> {
    const me = this.me.peek()?.username;
    const news = data as { user?: string; cancelled?: string } | null;
    if (!me || news?.user !== me) return;
    if (typeof news.cancelled === 'string') {
      for (const room of this.rooms.peek()) room.pending.value = room.pending.peek().filter((p) => p.clientId !== news.cancelled);
      return;
    }
    this.adoptOutbox(await this.device.outbox(me));
  }

  private tellOtherTabs(news: { cancelled?: string } = {}): void {
    const me = this.me.peek()?.username;
    if (me) this.outboxChannel?.postMessage({ user: me, ...news });
  }

  /** Replaces a pending message's fields (by clientId) wherever it is shown. */
  private updatePending(roomId: string, clientId: string, change: Partial<PendingSend>): PendingSend | undefined {
    const room = this.room(roomId);
    const held = room?.pending.peek().find((p) => p.clientId === clientId);
    if (!room || !held) return undefined;
    const next = { ...held, ...change };
    room.pending.value = room.pending.peek().map((p) => (p.clientId === clientId ? next : p));
    return next;
  }

  private findPending(clientId: string): PendingSend | undefined {
    for (const room of this.rooms.peek()) {
      const p = room.pending.peek().find((x) => x.clientId === clientId);
      if (p) return p;
    }
    return undefined;
  }

  /**
   * Sends what waits, oldest first, one at a time, in ONE tab of this person
   * at a time (a Web Lock; where there is none, e.g. plain http on a LAN, two
   * tabs may both send, and the clientId makes the second harmless). Each
   * message is looked up in the outbox right before it goes: another tab may
   * have sent it, or it was cancelled.
   */
  private flushOutbox(): void {
    const me = this.me.peek()?.username;
    if (!me || !this.authed) return;
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    const locks = typeof navigator !== 'undefined' ? (navigator as Navigator & { locks?: LockManager }).locks : undefined;
    const pass = () => this.drainOutbox(me);
    void (locks ? locks.request(`ww-outbox:${me}`, pass) : pass())
      .catch(() => {})
      .finally(() => {
        this.flushing = false;
        if (this.flushAgain) {
          this.flushAgain = false;
          this.flushOutbox();
        }
      });
  }

  private async drainOutbox(me: string): Promise<void> {
    const stored = await this.device.outbox(me);
    this.adoptOutbox(stored);
    // messages of rooms I am no longer in cannot go, and those whose copy came back have gone: they leave the outbox
    for (const e of stored) {
      const room = this.room(e.room);
      if (!room || room.messages.peek().some((m) => m.clientId === e.clientId && m.from === me)) await this.device.removeOutbox(e.clientId);
    }
    const queue = this.rooms
      .peek()
      .flatMap((r) => r.pending.peek())
      .filter((p) => p.state === 'sending')
      .sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
    for (const queued of queue) {
      if (!this.authed || this.me.peek()?.username !== me) return;
      const p = this.findPending(queued.clientId);
      if (!p || p.state !== 'sending') continue; // cancelled, or failed meanwhile
      if (p.saved && !(await this.device.inOutbox(p.clientId))) continue; // another tab sent or cancelled it
      if ((await this.deliver(p)) === 'lost') return;
    }
  }

  /** Cancels a message that has not gone yet: it never will. */
  cancel(p: PendingSend): void {
    this.discard(p);
  }

  room(id: string): RoomState | undefined {
    return this.rooms.peek().find((r) => r.id === id);
  }

  /** Now by the server's clock (ms since the epoch). */
  serverNow(): number {
    return Date.now() + this.clockOffset;
  }

  /**
   * `serverTime` from a reply to a request sent at `sentAt` (ms, this clock):
   * the server read its clock about halfway through the round trip.
   */
  private noteServerTime(serverTime: unknown, sentAt: number): void {
    if (typeof serverTime !== 'string') return;
    const at = Date.parse(serverTime);
    if (Number.isNaN(at)) return;
    this.clockOffset = at - (sentAt + Date.now()) / 2;
    this.dropExpired();
  }

  private scheduleExpiry(): void {
    let next: number | null = null;
    for (const room of this.rooms.value) {
      const at = nextExpiry(room.messages.value);
      if (at !== null && (next === null || at < next)) next = at;
    }
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (next === null) return;
    const wait = Math.min(Math.max(0, next - this.serverNow()), EXPIRY_CHECK_MS);
    this.expiryTimer = setTimeout(() => {
      this.dropExpired();
      this.scheduleExpiry();
    }, wait);
  }

  /** Every message whose time has come goes from every room (and from the composer's reply or edit). */
  private dropExpired(): void {
    const now = this.serverNow();
    batch(() => {
      // the screen reader's live region keeps its last sentence in the page: not a disappeared message's text
      if (this.announcedExpiry !== null && this.announcedExpiry <= now) {
        this.announcedExpiry = null;
        this.announcement.value = '';
      }
      for (const room of this.rooms.peek()) {
        const held = room.messages.peek();
        const kept = dropExpired(held, now);
        if (kept === held) continue;
        room.messages.value = kept;
        const replying = room.replyTo.peek();
        if (replying && !findById(kept, replying.id)) room.replyTo.value = null;
        const editing = room.editing.peek();
        if (editing && !findById(kept, editing)) room.editing.value = null;
      }
    });
  }

  /**
   * `expired` (live) or a `changes` page's `expiredThrough`: the server deleted
   * every message of the room that expired by `through`. This client has most
   * likely hidden them already, by its own clock.
   */
  private onExpired(room: RoomState, through: string): void {
    const at = Date.parse(through);
    if (Number.isNaN(at)) return;
    const kept = dropExpired(room.messages.peek(), at);
    if (kept !== room.messages.peek()) room.messages.value = kept;
  }

  /** A ROOM (`authed`, `joined`): the room's timer, and who may set it. */
  private noteRoomTimer(room: RoomState, info: RoomInfo): void {
    batch(() => {
      room.disappearAfter.value = info.disappearAfter ?? null;
      room.createdBy.value = info.createdBy ?? null;
      noteRoomFields(room, info);
    });
    room.timerAsOf = info.lastMessageId ?? room.timerAsOf;
  }

  /** An announcement of a timer change: the room's timer from now on, unless a newer state is known. */
  private noteAnnouncement(room: RoomState, message: Message): void {
    if (message.timer === undefined) return;
    if (room.timerAsOf !== null && compareIds(message.id, room.timerAsOf) < 0) return;
    room.timerAsOf = message.id;
    room.disappearAfter.value = message.timer || null;
  }

  /** Whether I may set the room's timer: either person of a DM, a channel's creator. */
  canSetTimer(room: RoomState): boolean {
    if (this.timers.value.length === 0) return false;
    return room.kind === 'dm' || room.createdBy.value === this.me.value?.username;
  }

  /** Sets the room's disappearing-message timer (null: off); the announcement comes back as a message. */
  async setTimer(room: RoomState, seconds: number | null): Promise<void> {
    const reply = await this.conn.request({ action: 'set_timer', room: room.id, seconds });
    if (reply.message) this.onMessage(reply.message as Message, undefined, undefined);
    else room.disappearAfter.value = typeof reply.disappearAfter === 'number' ? reply.disappearAfter : null;
  }

  // ---- connection lifecycle -------------------------------------------------

  private async onOpen(): Promise<void> {
    const token = this.tokenStored || !this.token ? storage.get('token') : this.token;
    if (!token) {
      // Logged in, but the token is gone: another tab logged out while this one
      // was away (a missed storage event); staying here would look connected and send nothing.
      if (this.me.peek()) this.endSession(LOGGED_OUT_ELSEWHERE, true);
      else if (this.screen.peek() === 'loading') this.screen.value = 'welcome';
      else if (this.secondFactorStep.peek()) {
        // E19: a login's challenge works only on the connection that gave the password
        batch(() => {
          this.secondFactorStep.value = null;
          this.sessionNote.value = 'The connection dropped before the sign-in was finished; log in again.';
          this.screen.value = 'welcome';
        });
      }
      return;
    }
    this.token = token;
    try {
      const sentAt = Date.now();
      const authed = await this.conn.request({ action: 'auth', op: 'resume', token });
      await this.onAuthed(authed, sentAt);
    } catch (err) {
      if (err instanceof ServerError && err.code === 'unauthorized') {
        this.endSession(SESSION_ENDED);
      } else if (err instanceof ServerError && err.code === 'suspended') {
        this.endSession(err.message);
      } else if (err instanceof ServerError) {
        // the server is struggling (internal, rate_limited): keep the token and try again
        if (this.screen.peek() === 'chat') this.showToast(err.message, true);
        setTimeout(() => this.conn.isOpen && !this.authed && void this.onOpen(), 5000);
      }
      // ConnectionLost: the next connection tries again.
    }
  }

  /** *(E23)* Sends the watch list; the reply's statuses are the news. */
  private async sendWatch(list: string[], key: string): Promise<void> {
    if (!this.authed || key === this.watchSent) return;
    try {
      const reply = await this.conn.request({ action: 'watch', users: list });
      this.watchSent = key;
      this.applyPresence((reply.presence ?? {}) as Record<string, string>);
    } catch {
      // Lost connection: the next one sends it. Refused (a limit): the next change tries again.
    }
  }

  /** *(E23)* `watching` and `presence_batch`: each person's status as the server says now (*(E25)* "away" is online too). */
  private applyPresence(presence: Record<string, string>): void {
    const online = new Set(this.online.peek());
    const away = new Set(this.away.peek());
    for (const [user, status] of Object.entries(presence)) {
      if (status === 'offline') online.delete(user);
      else online.add(user);
      if (status === 'away') away.add(user);
      else away.delete(user);
    }
    batch(() => {
      this.online.value = online;
      this.away.value = away;
    });
  }

  private async refreshOnlineCount(roomId: string): Promise<void> {
    if (!this.authed) return;
    try {
      const reply = await this.conn.request({ action: 'online_count', room: roomId });
      if (typeof reply.online !== 'number') return;
      const counts = new Map(this.onlineCounts.peek());
      counts.set(roomId, reply.online);
      this.onlineCounts.value = counts;
    } catch {
      // the header falls back to counting the members it knows are online
    }
  }

  private onClose(): void {
    this.authed = false;
    // a new connection is an old client until it sends `watch`
    this.watchSent = null;
    this.presenceKnown.value = false;
    // nobody tells an offline client that someone stopped typing
    for (const room of this.rooms.peek()) room.typing.value = new Map();
    if (this.screen.peek() === 'chat') this.announce('Connection lost. Reconnecting…');
  }

  /** Another tab logged out: if it could not tell the server, this one does, then ends too. */
  private loggedOutElsewhere(): void {
    if (this.authed) void this.conn.request({ action: 'auth', op: 'logout' }).catch(() => {});
    this.endSession(LOGGED_OUT_ELSEWHERE, true);
  }

  /**
   * Back to the welcome screen with `note` saying why. `forget`: the person logged
   * out, so this tab's drafts and open room go too (a shared computer).
   */
  private endSession(note: string, forget = false): void {
    // only our own token: another tab may have logged in since
    if (this.token !== null && storage.get('token') === this.token) storage.remove('token');
    this.token = null;
    this.roomAwaited = null;
    this.cancelLinkWait();
    const me = this.me.peek()?.username;
    if (forget && me) {
      session.remove(`drafts.${me}`);
      session.remove(`room.${me}`);
      // the read marks waiting to be told name the person's conversations
      storage.remove(`read.${me}`);
    }
    // Whatever ended the session (a logout here or in another tab, a logout of
    // this device from another one, expiry, suspension), nothing of it stays on
    // the device: rooms, messages, unsent messages. They were only ever shown
    // with a live session's token.
    clearTimeout(this.saveTimer);
    void this.device.forget();
    this.authed = false;
    this.watchSent = null;
    this.safety.reset();
    batch(() => {
      this.me.value = null;
      this.rooms.value = [];
      this.online.value = new Set();
      this.away.value = new Set();
      this.pushText.value = null;
      this.presenceKnown.value = false;
      this.activeId.value = 'general';
      this.codeStep.value = null;
      this.sessionNote.value = note;
      this.fromCache.value = false;
      this.screen.value = 'welcome';
    });
  }

  /** `sentAt`: when the request it answers went out (ms), for the clock offset; a login's is about now (scrypt took most of it). */
  private async onAuthed(frame: ServerFrame, sentAt = Date.now()): Promise<void> {
    const user = frame.user as User;
    this.profiles.note([user]);
    const wasChat = this.screen.peek() === 'chat';
    const sameUser = this.me.peek()?.username === user.username;
    if (!sameUser) this.rooms.value = [];
    this.token = String(frame.token);
    storage.set('token', this.token);
    this.tokenStored = storage.get('token') === this.token;
    this.authed = true;
    // the device's cache is this person's from now on (someone else's is wiped first)
    await this.device.claim(user);
    // after a reload or a new login: the room this tab had open
    const linked = this.takeLinkedRoom();
    const wanted = linked ?? this.roomAwaited ?? (sameUser ? this.activeId.peek() : session.get(`room.${user.username}`));
    this.roomAwaited = null;
    this.noteServerTime(frame.serverTime, sentAt);
    this.safety.onAuthed(frame);
    const infos = await this.allRooms(frame);
    const reads = storage.getJson<Record<string, string>>(`read.${user.username}`) ?? {};
    batch(() => {
      this.me.value = user;
      this.readReceipts.value = typeof user.readReceipts === 'boolean' ? user.readReceipts : null;
      this.noteNotices(user);
      this.timers.value = Array.isArray(frame.timers) ? (frame.timers as number[]) : [];
      const existing = new Map(this.rooms.peek().map((r) => [r.id, r]));
      const rooms = infos.map((info) => {
        const room = existing.get(info.id) ?? roomFrom(info, user.username);
        if (info.readThrough !== undefined) this.noteReadState(room, info);
        else if (room.readThrough.peek() === null && reads[info.id]) room.readThrough.value = reads[info.id]!;
        this.noteRoomTimer(room, info);
        return room;
      });
      this.rooms.value = sortRooms(rooms);
      this.activeId.value = wanted && rooms.some((r) => r.id === wanted) ? wanted : 'general';
      if (linked && !rooms.some((r) => r.id === linked)) this.waitForLinkedRoom(linked);
      this.codeStep.value = null;
      this.sessionNote.value = null;
      this.screen.value = 'chat';
    });
    // The tour, once per account: the server remembers (user.tourSeen); a mark made
    // here while the server could not hear of it is passed on now.
    const seenHere = storage.get(`tour.${user.username}`) !== null;
    if (user.tourSeen === false && seenHere) void this.tellTourSeen();
    if (!user.tourSeen && !seenHere) this.guideOpen.value = true;
    if (wasChat) this.announce('Reconnected.');
    await Promise.all(this.rooms.peek().map((r) => this.syncRoom(r).catch((err) => this.reportSyncError(r, err))));
    if (!this.authed) return;
    // every room's members are fresh: who is online is known again, and the cache is replaced
    this.presenceKnown.value = true;
    this.fromCache.value = false;
    if (typeof document !== 'undefined') this.activity.signedIn();
    this.conn.markHealthy();
    // the outbox: this tab's and what the device kept (a closed tab's, another tab's)
    this.flushOutbox();
  }

  /** `authed`'s rooms, and the rest of them when the reply held only the first part (`roomsMore`). */
  private async allRooms(authed: ServerFrame): Promise<RoomInfo[]> {
    const rooms = [...(authed.rooms as RoomInfo[])];
    for (let more = authed.roomsMore === true; more && rooms.length > 0; ) {
      const page = await this.conn.request({ action: 'rooms', after: rooms.at(-1)!.id });
      const got = page.rooms as RoomInfo[];
      rooms.push(...got);
      more = page.hasMore === true && got.length > 0;
    }
    return rooms;
  }

  /** `joined`'s members, and the rest of them when the reply held only the first part (`membersMore`). */
  private async allMembers(roomId: string, joined: ServerFrame): Promise<Member[]> {
    const members = [...(joined.members as Member[])];
    for (let more = joined.membersMore === true; more && members.length > 0; ) {
      const page = await this.conn.request({ action: 'members', room: roomId, after: members.at(-1)!.username });
      const got = page.members as Member[];
      members.push(...got);
      more = page.hasMore === true && got.length > 0;
    }
    return members;
  }

  private reportSyncError(room: RoomState, err: unknown): void {
    if (err instanceof ServerError) this.showToast(`Could not load ${room.label}: ${err.message}`, true);
  }

  /**
   * Brings one room up to date. With a change cursor (a server with the change
   * feed): the latest page and the members (`join`), then every change after
   * the cursor (`changes`), which brings new messages, edits, deletions and
   * reactions alike. Without one: what was sent while we were away (history
   * after our last id), then the latest page, deletions found by comparing pages.
   * `join` may be repeated by a member: it changes nothing, and costs one read
   * of the user's budget.
   */
  private async syncRoom(room: RoomState): Promise<void> {
    if (room.changes.at !== null) return this.syncRoomByChanges(room);
    const knownThrough = lastId(room.messages.peek());
    let missed: Message[] = [];
    let gap = false;
    if (room.cursor !== null) {
      let after = room.cursor;
      for (let page = 0; ; page++) {
        if (page === MAX_CATCH_UP_PAGES) {
          gap = true; // too much to page through: start again from the latest
          break;
        }
        const h = await this.conn.request({ action: 'history', room: room.id, after, limit: HISTORY_PAGE });
        const messages = h.messages as Message[];
        missed = missed.concat(messages);
        if (!h.hasMore || messages.length === 0) break;
        after = messages.at(-1)!.id;
      }
    }
    const joined = await this.conn.request({ action: 'join', room: room.id });
    const latest = joined.messages as Message[];
    this.noteMembers(room, await this.allMembers(room.id, joined));
    const older = olderOnServer(joined);
    batch(() => {
      let messages = gap ? [] : mergeMessages(room.messages.peek(), missed);
      // The page is the room's latest; with nothing older on the server, it is all of it.
      const pageSize = older === undefined ? JOIN_PAGE : older ? latest.length : Infinity;
      messages = reconcileDeletions(messages, latest, pageSize, gap ? null : knownThrough);
      room.messages.value = mergeMessages(messages, latest);
      if (gap) room.ids.reset();
      // history after the cursor and then the latest page: together, gap-free
      room.advanceCursor(lastId(missed));
      room.advanceCursor(lastId(latest));
      // the change feed starts here (a server that has one says the room's seq)
      if (typeof joined.seq === 'string') room.changes.advance(joined.seq);
      if (!knownThrough || gap) room.hasOlder.value = older ?? latest.length >= JOIN_PAGE;
      this.noteJoinedRoom(room, joined);
      room.synced.value = true;
    });
    if (this.isWatching(room)) this.markRead(room);
  }

  private async syncRoomByChanges(room: RoomState): Promise<void> {
    const joined = await this.conn.request({ action: 'join', room: room.id });
    this.noteMembers(room, await this.allMembers(room.id, joined));
    const caughtUp = await this.fetchChanges(room, room.changes.at!);
    if (!caughtUp) {
      // too much happened: start again from the latest page, as a new room does
      const fresh = await this.conn.request({ action: 'join', room: room.id });
      const latest = fresh.messages as Message[];
      batch(() => {
        room.messages.value = mergeMessages([], latest);
        room.ids.reset();
        room.ids.advance(lastId(latest));
        room.changes.reset();
        if (typeof fresh.seq === 'string') room.changes.advance(fresh.seq);
        room.hasOlder.value = olderOnServer(fresh) ?? latest.length >= JOIN_PAGE;
        this.noteJoinedRoom(room, fresh);
      });
    } else {
      batch(() => {
        // the latest page is as of the join; the changes since are newer still (merge keeps the higher seq)
        room.messages.value = mergeMessages(room.messages.peek(), joined.messages as Message[]);
        room.ids.advance(lastId(room.messages.peek()));
        this.noteJoinedRoom(room, joined);
      });
    }
    room.synced.value = true;
    if (this.isWatching(room)) this.markRead(room);
  }

  /**
   * Applies `changes` after `after`, page by page, and moves the change cursor to
   * where the server says every change is here (`through`). False when there was
   * more than MAX_CHANGE_PAGES to page through.
   */
  private async fetchChanges(room: RoomState, after: string): Promise<boolean> {
    for (let page = 0; page < MAX_CHANGE_PAGES; page++) {
      const c = await this.conn.request({ action: 'changes', room: room.id, after, limit: CHANGES_PAGE });
      const messages = c.messages as Message[];
      batch(() => {
        if (typeof c.expiredThrough === 'string') this.onExpired(room, c.expiredThrough);
        this.applyChanged(room, messages);
        if (typeof c.through === 'string') room.changes.advance(c.through);
      });
      if (!c.hasMore || messages.length === 0 || typeof c.through !== 'string') return true;
      after = c.through;
    }
    return false;
  }

  /** Messages in their latest state (`changed`, `changes`) into the room's list. */
  private applyChanged(room: RoomState, messages: readonly Message[]): void {
    const held = room.messages.peek();
    room.messages.value = mergeMessages(held, inLoadedRange(held, messages, room.hasOlder.peek()));
    for (const m of messages) this.noteAnnouncement(room, m);
    // an edited message that is being edited here ends the editor if it is gone
    const editing = room.editing.peek();
    if (editing && findById(room.messages.peek(), editing)?.deleted) room.editing.value = null;
    const replying = room.replyTo.peek();
    if (replying && findById(room.messages.peek(), replying.id)?.deleted) room.replyTo.value = null;
  }

  /** The read state in a ROOM object (`authed`, `joined`): the server's counts and marks. */
  private noteReadState(room: RoomState, info: RoomInfo): void {
    this.serverReads = true;
    const read = info.readThrough ?? null;
    const mine = room.readThrough.peek();
    if (read !== null && (mine === null || compareIds(read, mine) > 0)) room.readThrough.value = read;
    // the server's counts are for messages up to its newest; later ones are counted here
    room.counted.value = { through: info.lastMessageId ?? null, unread: info.unread ?? 0, mentions: info.mentions ?? 0 };
    if (info.seenThrough !== undefined) room.seenThrough.value = info.seenThrough;
  }

  private noteJoinedRoom(room: RoomState, joined: ServerFrame): void {
    const info = joined.room as RoomInfo | undefined;
    if (info) this.noteRoomTimer(room, info);
    if (info && info.readThrough !== undefined) this.noteReadState(room, info);
    // Without server read state, a room seen for the first time starts read: no
    // wall of old "unread" messages. With it, the server's counts say what is new.
    else if (room.readThrough.peek() === null) this.markRead(room);
  }

  private noteMembers(room: RoomState, members: Member[]): void {
    this.profiles.note(members);
    batch(() => {
      room.members.value = members.map((m) => m.username);
      const online = new Set(this.online.peek());
      const away = new Set(this.away.peek());
      for (const m of members) {
        if (m.online) online.add(m.username);
        else online.delete(m.username);
        if (m.online && m.away) away.add(m.username);
        else away.delete(m.username);
      }
      this.online.value = online;
      this.away.value = away;
    });
  }

  // ---- server events --------------------------------------------------------

  private onFrame(frame: ServerFrame): void {
    if (!this.authed) return;
    switch (frame.type) {
      case 'message':
        return this.onMessage(frame.message as Message, frame.prev as string | null | undefined, seqs(frame));
      case 'changed':
        return this.onChanged(String(frame.room), frame.message as Message, seqs(frame));
      case 'presence_batch':
        return this.applyPresence((frame.presence ?? {}) as Record<string, string>);
      case 'presence':
        return this.onPresence(frame as ServerFrame & { room: string; user: string; online?: boolean; away?: boolean; member?: boolean });
      case 'deleted':
        return this.onDeleted(String(frame.room), String(frame.from), String(frame.through), typeof frame.seq === 'string');
      case 'typing':
        return this.onTyping(String(frame.room), String(frame.from));
      case 'read':
        return this.onRead(String(frame.room), String(frame.through));
      case 'seen':
        return this.onSeen(String(frame.room), String(frame.through));
      case 'settings':
        if (typeof frame.readReceipts === 'boolean') this.noteReceipts(frame.readReceipts);
        this.noteNotices(frame);
        if (typeof frame.pushText === 'boolean') this.pushText.value = frame.pushText;
        return;
      case 'room_updated':
      case 'role_changed':
      case 'removed_from_room':
      case 'added_to_room':
        return this.onRoomEvent(frame);
      case 'profile':
        this.profiles.onEvent(frame);
        if (frame.username === this.me.peek()?.username && typeof frame.displayName === 'string') this.me.value = { ...this.me.peek()!, displayName: frame.displayName };
        return;
      case 'blocks':
      case 'report':
        this.safety.onFrame(frame);
        return;
      case 'suspended':
        // the server closes this socket next; resuming would be refused
        return this.endSession(String(frame.message));
      case 'expired': {
        const room = this.room(String(frame.room));
        if (!room) return;
        this.onExpired(room, String(frame.through));
        const seq = seqs(frame);
        if (seq) this.noteChange(room, seq);
        return;
      }
    }
  }

  private onMessage(message: Message, prev: string | null | undefined, seq: Seqs | undefined): void {
    const me = this.me.peek()!.username;
    let room = this.room(message.room);
    // someone opened a DM with us, or another tab of ours joined a channel
    room ??= this.adoptRoom(message.room, message.from !== me);
    const before = room.messages.peek();
    room.messages.value = mergeMessages(before, [message]);
    this.noteAnnouncement(room, message);
    // a copy of a message already shown (a repeated send is delivered again, at no
    // cost to its sender): nothing changed, nothing to announce
    const known = room.messages.peek() === before;
    // a repeat (no prev) is a message we were sent before
    if (prev !== undefined && room.noteLive(message.id, prev) && room.synced.peek()) this.scheduleGapFill(room);
    if (seq) this.noteChange(room, seq);
    // their message landed: they are no longer typing it
    if (room.typing.peek().has(message.from)) this.setTyping(room, message.from, 0);
    // A sender is a member: news of someone who joined (signed up) since we did.
    // Big rooms and watching tabs (E23) hear no v1 online frame that would tell us.
    if (!message.from.startsWith('~') && message.from !== me && !room.members.peek().includes(message.from)) {
      room.members.value = [...room.members.peek(), message.from].sort();
    }
    if (message.from === me) {
      room.pending.value = room.pending.peek().filter((p) => p.clientId !== message.clientId);
    } else if (known) {
      // announced when it first came
    } else if (this.isWatching(room)) {
      // a screen reader reads all of it: the start of a long message is enough
      this.announce(`${message.from}: ${messagePreview(message.text)}`, message.expiresAt);
    } else {
      this.announce(room.kind === 'dm' ? `New direct message from ${message.from}` : `New message in ${room.label} from ${message.from}`);
    }
    if (this.isWatching(room)) this.markRead(room);
  }

  /** A `changed` frame: a message's latest state (edited, deleted, reacted to). */
  private onChanged(roomId: string, message: Message, seq: Seqs | undefined): void {
    const room = this.room(roomId);
    if (!room || !message) return;
    this.applyChanged(room, [message]);
    if (seq) this.noteChange(room, seq);
  }

  /** Moves the change cursor along, or waits at a gap and fills it if it does not close by itself. */
  private noteChange(room: RoomState, { seq, prevSeq }: Seqs): void {
    // before the room's first sync there is no cursor yet: the sync sets it
    if (room.changes.at === null) return;
    if (room.changes.noteLive(seq, prevSeq) && room.synced.peek()) this.scheduleChangeGapFill(room);
  }

  private scheduleChangeGapFill(room: RoomState, wait = GAP_WAIT_MS): void {
    if (room.changeGapTimer) return;
    room.changeGapTimer = setTimeout(async () => {
      room.changeGapTimer = undefined;
      if (room.changes.at === null || !this.authed) return;
      try {
        if (!(await this.fetchChanges(room, room.changes.at))) this.scheduleChangeGapFill(room);
      } catch {
        // a reconnect catches up from the cursor anyway
      }
    }, wait);
  }

  /** A gap that does not close by itself within a few seconds is filled from history. */
  private scheduleGapFill(room: RoomState): void {
    if (room.gapTimer) return;
    room.gapTimer = setTimeout(async () => {
      room.gapTimer = undefined;
      if (room.ahead.size === 0 || !this.authed) return;
      try {
        // without a cursor (the room looked empty), the latest page is the place to start
        const after = room.cursor === null ? {} : { after: room.cursor };
        const h = await this.conn.request({ action: 'history', room: room.id, ...after, limit: HISTORY_PAGE });
        const messages = h.messages as Message[];
        room.messages.value = mergeMessages(room.messages.peek(), messages);
        room.advanceCursor(lastId(messages));
        if (room.ahead.size > 0) this.scheduleGapFill(room);
      } catch {
        // a reconnect catches up from the cursor anyway
      }
    }, 3000);
  }

  private onPresence(p: { room: string; user: string; online?: boolean; away?: boolean; member?: boolean }): void {
    const me = this.me.peek()!.username;
    let room = this.room(p.room);
    if (p.online !== undefined) {
      // *(E25)* away only while online; an older server says nothing of it
      const away = new Set(this.away.peek());
      if (p.online && p.away) away.add(p.user);
      else if (!p.online || p.away === false) away.delete(p.user);
      if (away.size !== this.away.peek().size) this.away.value = away;
      const online = new Set(this.online.peek());
      if (p.online) online.add(p.user);
      else online.delete(p.user);
      this.online.value = online;
      // presence in a room is news of a member: someone who signed up since we joined
      if (room && !room.members.peek().includes(p.user)) room.members.value = [...room.members.peek(), p.user].sort();
    }
    if (p.member === undefined) return;
    if (p.user === me) {
      // another tab of ours joined or left
      if (p.member && !room) this.adoptRoom(p.room, false);
      else if (!p.member && room) this.removeRoom(room.id);
      return;
    }
    if (!room) {
      if (p.member && p.room.startsWith('dm:')) this.adoptRoom(p.room, true);
      return;
    }
    const members = room.members.peek().filter((u) => u !== p.user);
    room.members.value = p.member ? [...members, p.user].sort() : members;
  }

  /**
   * `deleted`: someone deleted all their messages (purge). They go at once; with
   * the change feed (the event carries `seq`), the feed is asked what changed,
   * which also moves the change cursor past the purge's seqs.
   */
  private onDeleted(roomId: string, from: string, through: string, feed = false): void {
    const room = this.room(roomId);
    if (!room) return;
    room.messages.value = dropDeleted(room.messages.peek(), from, through);
    if (feed && room.changes.at !== null) this.scheduleChangeGapFill(room, 0);
  }

  private onTyping(roomId: string, from: string): void {
    const room = this.room(roomId);
    if (!room || from === this.me.peek()?.username) return;
    this.setTyping(room, from, Date.now() + TYPING_SHOWN_MS);
  }

  /** Shows `name` typing until `until` (0: stops now); one timer per room expires the oldest. */
  private setTyping(room: RoomState, name: string, until: number): void {
    const now = Date.now();
    const typing = new Map([...room.typing.peek()].filter(([n, t]) => n !== name && t > now));
    if (until > now) typing.set(name, until);
    room.typing.value = typing;
    clearTimeout(room.typingTimer);
    room.typingTimer = undefined;
    if (typing.size === 0) return;
    const next = Math.min(...typing.values());
    room.typingTimer = setTimeout(() => this.setTyping(room, '', 0), next - now + 10);
  }

  /** `read`: my read mark moved (here or on another device of mine): the badge clears at once. */
  private onRead(roomId: string, through: string): void {
    const room = this.room(roomId);
    if (!room || !MESSAGE_ID.test(through)) return;
    const mine = room.readThrough.peek();
    if (mine !== null && compareIds(through, mine) <= 0) return;
    batch(() => {
      room.readThrough.value = through;
      room.counted.value = null;
    });
    if (compareIds(through, room.readSent ?? '0') > 0) room.readSent = through;
  }

  /** `seen`: in a DM, how far the other person has read. */
  private onSeen(roomId: string, through: string): void {
    const room = this.room(roomId);
    if (!room || !MESSAGE_ID.test(through)) return;
    const seen = room.seenThrough.peek();
    if (seen === null || compareIds(through, seen) > 0) room.seenThrough.value = through;
  }

  private noteReceipts(on: boolean): void {
    batch(() => {
      this.readReceipts.value = on;
      // off hides mine and shows me none
      if (!on) for (const room of this.rooms.peek()) room.seenThrough.value = null;
    });
  }

  // ---- rooms ----------------------------------------------------------------

  /**
   * A room we learn of from a live frame: added and synced. One someone else
   * opened with us starts unread (its first message is news); one our other tab
   * joined starts read.
   */
  private adoptRoom(id: string, unread: boolean): RoomState {
    const existing = this.room(id);
    if (existing) return existing;
    const room = this.addRoom(roomFromId(id, this.me.peek()!.username));
    if (unread) room.readThrough.value = '0';
    void this.syncRoom(room).catch((err) => this.reportSyncError(room, err));
    return room;
  }

  private addRoom(room: RoomState): RoomState {
    const existing = this.room(room.id);
    if (existing) return existing;
    this.rooms.value = sortRooms([...this.rooms.peek(), room]);
    return room;
  }

  private removeRoom(id: string): void {
    batch(() => {
      this.rooms.value = this.rooms.peek().filter((r) => r.id !== id);
      if (this.activeId.peek() === id) this.activeId.value = 'general';
    });
  }

  /** The person is looking at this room right now. */
  private isWatching(room: RoomState): boolean {
    return this.activeId.peek() === room.id && document.visibilityState === 'visible' && room.atLatest;
  }

  open(id: string): void {
    const room = this.room(id);
    if (!room) return;
    this.roomAwaited = null; // the person chose another room meanwhile
    this.cancelLinkWait();
    this.activeId.value = id;
    this.markRead(room);
  }

  /**
   * The newest message is in view: the room is read through it. The badge
   * clears at once; the server hears of it at most once a second per room (my
   * other devices clear theirs, and in a DM the other person may see "Seen").
   */
  markRead(room: RoomState): void {
    const last = lastId(room.messages.peek());
    if (last === null || (room.readThrough.peek() !== null && compareIds(last, room.readThrough.peek()!) <= 0)) return;
    batch(() => {
      room.readThrough.value = last;
      room.counted.value = null;
    });
    const me = this.me.peek()?.username;
    if (!me) return;
    if (this.serverReads) return this.sendRead(room);
    const reads = storage.getJson<Record<string, string>>(`read.${me}`) ?? {};
    reads[room.id] = last;
    storage.setJson(`read.${me}`, reads);
  }

  private sendRead(room: RoomState): void {
    if (room.readTimer) return; // a send is due; it takes the newest mark then
    const through = room.readThrough.peek();
    if (through === null || (room.readSent !== null && compareIds(through, room.readSent) <= 0) || !this.authed) return;
    room.readSent = through;
    this.conn.request({ action: 'read', room: room.id, through }).catch(() => {
      // offline or refused: the next markRead tells it again
      if (room.readSent === through) room.readSent = null;
    });
    // quiet for a while; then whatever is newer goes
    room.readTimer = setTimeout(() => {
      room.readTimer = undefined;
      this.sendRead(room);
    }, READ_EVERY_MS);
  }

  /** Joins (or creates) a channel and opens it. Throws ServerError / ConnectionLost for the form to show. */
  async joinChannel(raw: string): Promise<void> {
    const name = normalizeChannel(raw);
    if (!CHANNEL_NAME.test(name)) {
      throw new ServerError('bad_request', 'A channel name is 1 to 32 characters: letters, digits, - and _.');
    }
    await this.joinAndOpen(name);
  }

  /** Opens the direct-message room with `raw` (a username). */
  async openDm(raw: string): Promise<void> {
    const me = this.me.peek()!.username;
    const other = raw.trim().replace(/^@/, '').toLowerCase();
    if (!USERNAME.test(other)) throw new ServerError('bad_request', 'A username is 3 to 32 characters: letters, digits, _ . and -.');
    if (other === me) throw new ServerError('bad_request', 'That is you! Pick someone else to write to.');
    const id = dmRoomId(me, other);
    if (this.room(id)) return this.open(id);
    await this.joinAndOpen(id);
  }

  private async joinAndOpen(id: string, create = true): Promise<void> {
    const joined = await this.conn.request({ action: 'join', room: id, ...(create ? {} : { create: false }) });
    const info = joined.room as RoomInfo;
    const room = this.addRoom(roomFrom(info, this.me.peek()!.username));
    const messages = joined.messages as Message[];
    const members = await this.allMembers(id, joined);
    batch(() => {
      this.noteMembers(room, members);
      room.messages.value = mergeMessages(room.messages.peek(), messages);
      room.hasOlder.value = olderOnServer(joined) ?? messages.length >= JOIN_PAGE;
      room.advanceCursor(lastId(messages));
      if (typeof joined.seq === 'string' && room.changes.at === null) room.changes.advance(joined.seq);
      this.noteJoinedRoom(room, joined);
      room.synced.value = true;
      this.open(room.id);
    });
  }

  // ---- channel directory and moderation (E21) -------------------------------

  /** `room_updated`, `role_changed`, `removed_from_room`, `added_to_room`. */
  private onRoomEvent(frame: ServerFrame): void {
    const me = this.me.peek()!.username;
    if (frame.type === 'added_to_room') {
      const info = frame.room as RoomInfo;
      if (this.room(info.id)) return;
      const room = this.adoptRoom(info.id, false);
      noteRoomFields(room, info);
      this.showToast(`${String(frame.by)} added you to ${room.label}.`);
      return;
    }
    if (frame.type === 'room_updated') {
      const info = frame.room as RoomInfo & { topic: string; private: boolean };
      const room = this.room(info.id);
      if (room) noteRoomFields(room, { ...info, role: room.role.peek() ?? undefined } as RoomInfo);
      return;
    }
    const room = this.room(String(frame.room));
    if (!room) return;
    if (frame.type === 'role_changed') {
      if (frame.user === me && room.role.peek() !== 'owner') room.role.value = frame.role === 'moderator' ? 'moderator' : null;
      return;
    }
    // removed_from_room: nothing more of it reaches this tab
    this.removeRoom(room.id);
    const why = frame.reason === 'banned' ? 'banned you from' : 'removed you from';
    this.showToast(`${String(frame.by)} ${why} ${room.label}.`, true);
    this.announce(`${String(frame.by)} ${why} ${room.label}.`);
  }

  /** Whether I moderate this channel (owner, moderator; the server decides for administrators). */
  canModerate(room: RoomState): boolean {
    // The server's administrators (E22) moderate every channel, `general` included.
    return room.kind === 'channel' && (room.role.value !== null || this.safety.admin.value);
  }

  /** A page of the channel directory. */
  async directory(query: string, after?: string): Promise<{ channels: DirectoryChannel[]; hasMore: boolean }> {
    const r = await this.conn.request({ action: 'directory', ...(query ? { query } : {}), ...(after ? { after } : {}) });
    return { channels: r.channels as DirectoryChannel[], hasMore: r.hasMore === true };
  }

  /** Joins a channel listed in the directory (never creating one) and opens it. */
  async joinListed(id: string): Promise<void> {
    if (this.room(id)) return this.open(id);
    await this.joinAndOpen(id, false);
  }

  /** `update_room`: topic, name or privacy; the change comes back to every member as `room_updated`. */
  async updateRoom(room: RoomState, change: { topic?: string; name?: string; private?: boolean }): Promise<void> {
    const r = await this.conn.request({ action: 'update_room', room: room.id, ...change });
    noteRoomFields(room, { ...(r.room as RoomInfo), role: room.role.peek() ?? undefined } as RoomInfo);
  }

  /** `invite`, `kick`, `ban`, `unban`, or `set_role` of one person. */
  async moderate(room: RoomState, action: 'invite' | 'kick' | 'ban' | 'unban' | 'moderator' | 'member', user: string): Promise<void> {
    const name = user.trim().replace(/^@/, '').toLowerCase();
    const frame = action === 'moderator' || action === 'member' ? { action: 'set_role', role: action } : { action };
    await this.conn.request({ ...frame, room: room.id, user: name });
    if (action === 'kick' || action === 'ban') room.members.value = room.members.peek().filter((u) => u !== name);
    if (action === 'invite' && !room.members.peek().includes(name)) room.members.value = [...room.members.peek(), name].sort();
  }

  /** Who is banned from the channel (the first page). */
  async bans(room: RoomState): Promise<{ user: string; by?: string }[]> {
    const r = await this.conn.request({ action: 'bans', room: room.id });
    return r.bans as { user: string; by?: string }[];
  }

  /** A moderator removes someone's message: "removed by a moderator" shows in its place. */
  async removeMessage(room: RoomState, id: string): Promise<void> {
    await this.conn.request({ action: 'remove_message', room: room.id, message: id });
    this.announce('Message removed.');
  }

  async leave(id: string): Promise<void> {
    const room = this.room(id);
    await this.conn.request({ action: 'leave', room: id });
    this.removeRoom(id);
    if (room) this.showToast(`You left ${room.label}.`);
  }

  async loadOlder(room: RoomState): Promise<void> {
    const first = room.messages.peek()[0];
    if (!first || room.loadingOlder.peek()) return;
    room.loadingOlder.value = true;
    try {
      const h = await this.conn.request({ action: 'history', room: room.id, before: first.id, limit: JOIN_PAGE });
      batch(() => {
        room.messages.value = mergeMessages(room.messages.peek(), h.messages as Message[]);
        room.hasOlder.value = Boolean(h.hasMore);
      });
    } catch (err) {
      this.showToast(err instanceof Error ? err.message : 'Could not load earlier messages.', true);
    } finally {
      room.loadingOlder.value = false;
    }
  }

  // ---- sending --------------------------------------------------------------

  /** Sends `text` (a caption, with `files`), as an answer to the message the composer replies to, if any. */
  send(roomId: string, text: string, files: FileInfo[] = []): boolean {
    const room = this.room(roomId);
    if (!room || (!text.trim() && !files.length)) return false;
    if (this.rooms.peek().reduce((n, r) => n + r.pending.peek().length, 0) >= OUTBOX_MAX) {
      this.showToast(`${OUTBOX_MAX} messages are waiting to be sent already: wait until they have gone.`, true);
      return false;
    }
    const replyTo = room.replyTo.peek() ?? undefined;
    const pending: PendingSend = {
      clientId: newClientId(),
      room: roomId,
      text,
      state: 'sending',
      createdAt: Date.now(),
      ...(replyTo ? { replyTo } : {}),
      ...(files.length ? { files } : {}),
    };
    batch(() => {
      room.pending.value = [...room.pending.peek(), pending];
      room.replyTo.value = null;
    });
    void this.enqueue(pending);
    return true;
  }

  /** Into the device's outbox (it survives a closed tab), then out when connected. */
  private async enqueue(p: PendingSend): Promise<void> {
    const me = this.me.peek()?.username;
    if (!me) return;
    if (await this.device.putOutbox(outboxEntry(me, p))) {
      this.updatePending(p.room, p.clientId, { saved: true });
      this.tellOtherTabs();
    }
    if (!this.authed) this.announce('Not sent yet: it will be sent when you are back online.');
    this.flushOutbox();
  }

  /**
   * Sends (or re-sends, after a reconnect) one message. The clientId makes a
   * repeat harmless: the server stores it once and answers with the same message.
   */
  private async deliver(p: PendingSend): Promise<'sent' | 'lost' | 'failed'> {
    const room = this.room(p.room);
    if (!room || !this.authed) return 'lost'; // goes out after the next resume
    try {
      const reply = p.replyTo ? { replyTo: p.replyTo.id } : {};
      const files = p.files ? { files: p.files.map((f) => f.id) } : {};
      const sent = await this.conn.request({ action: 'send', room: p.room, text: p.text, clientId: p.clientId, ...reply, ...files });
      batch(() => {
        room.messages.value = mergeMessages(room.messages.peek(), [sent.message as Message]);
        room.pending.value = room.pending.peek().filter((x) => x.clientId !== p.clientId);
        if (this.activeId.peek() === room.id) this.markRead(room);
      });
      await this.device.removeOutbox(p.clientId);
      this.tellOtherTabs({ cancelled: p.clientId });
      return 'sent';
    } catch (err) {
      if (err instanceof ConnectionLost) return 'lost'; // still pending; re-sent on reconnect
      if (err instanceof ServerError && err.code === 'rate_limited' && (p.attempts ?? 0) < 3) {
        // many messages at once (a backlog after a reconnect): slow down, then go on
        const again = this.updatePending(p.room, p.clientId, { attempts: (p.attempts ?? 0) + 1 });
        if (!again) return 'failed'; // cancelled meanwhile
        await new Promise((r) => setTimeout(r, 2000 * again.attempts!));
        const now = this.findPending(p.clientId);
        return now ? this.deliver(now) : 'failed';
      }
      const message = err instanceof Error ? err.message : 'Not sent.';
      const failed = this.updatePending(p.room, p.clientId, { state: 'failed', error: message });
      const me = this.me.peek()?.username;
      if (failed && me && failed.saved) await this.device.putOutbox(outboxEntry(me, failed));
      this.announce(`Not sent: ${message}`);
      return 'failed';
    }
  }

  retry(p: PendingSend): void {
    const again = this.updatePending(p.room, p.clientId, { state: 'sending', error: undefined, attempts: 0 });
    if (again) void this.enqueue(again);
  }

  /** Takes a message back before it is sent (or after it failed): it leaves the outbox, here and in every tab. */
  discard(p: PendingSend): void {
    const room = this.room(p.room);
    if (room) room.pending.value = room.pending.peek().filter((x) => x.clientId !== p.clientId);
    void this.device.cancelOutbox(p.clientId);
    this.tellOtherTabs({ cancelled: p.clientId });
  }

  // ---- files (E17) ------------------------------------------------------------

  private readonly fileUrlCache = new Map<string, FileUrls>();

  /** A grant to upload one prepared file to a room: where its bytes (and preview) go. */
  async grantUpload(roomId: string, file: Prepared): Promise<{ info: FileInfo; upload: UploadTarget; preview?: UploadTarget }> {
    const grant = await this.conn.request({
      action: 'upload',
      room: roomId,
      name: file.name,
      size: file.blob.size,
      type: file.type,
      ...(file.width ? { width: file.width, height: file.height } : {}),
      ...(file.preview ? { previewSize: file.preview.size } : {}),
    });
    const info: FileInfo = {
      id: grant.file as string,
      name: file.name,
      type: file.type,
      size: file.blob.size,
      ...(file.width ? { width: file.width, height: file.height } : {}),
      ...(file.preview ? { preview: true as const } : {}),
    };
    return { info, upload: grant.upload as UploadTarget, ...(grant.preview ? { preview: grant.preview as UploadTarget } : {}) };
  }

  /**
   * Download URLs for files, from the cache while they have a minute left, the
   * rest asked for in batches of 10. Files one may not read are left out.
   */
  async fileUrls(ids: readonly string[]): Promise<Map<string, FileUrls>> {
    const now = Date.now();
    const missing = ids.filter((id) => (this.fileUrlCache.get(id)?.expires ?? 0) - 60_000 < now);
    for (let i = 0; i < missing.length; i += 10) {
      const reply = await this.conn.request({ action: 'download', files: missing.slice(i, i + 10) });
      const expires = Date.parse(reply.expiresAt as string);
      for (const f of reply.files as { id: string; url: string; preview?: string }[]) {
        this.fileUrlCache.set(f.id, { url: f.url, ...(f.preview ? { preview: f.preview } : {}), expires });
      }
    }
    return new Map(ids.flatMap((id) => (this.fileUrlCache.has(id) ? [[id, this.fileUrlCache.get(id)!] as const] : [])));
  }

  // ---- conversations: edit, delete, react, reply, typing, read receipts -----

  /** Replaces the text of one of my messages. Throws ServerError / ConnectionLost for the editor to show. */
  async edit(room: RoomState, id: string, text: string): Promise<void> {
    const edited = await this.conn.request({ action: 'edit', room: room.id, message: id, text });
    batch(() => {
      this.applyChanged(room, [edited.message as Message]);
      if (room.editing.peek() === id) room.editing.value = null;
    });
  }

  /** Deletes one of my messages for everyone: a "message deleted" placeholder stays. */
  async deleteMessage(room: RoomState, id: string): Promise<void> {
    const done = await this.conn.request({ action: 'delete', room: room.id, message: id });
    const held = findById(room.messages.peek(), id);
    if (!held) return;
    const seq = typeof done.seq === 'string' ? { seq: done.seq } : {};
    const { reactions: _r, replyTo: _q, mentions: _m, editedAt: _e, ...rest } = held;
    this.applyChanged(room, [{ ...rest, ...seq, text: '', deleted: true }]);
    this.announce('Message deleted.');
  }

  /** Adds (on) or takes back (off) my reaction `emoji` to a message. */
  async react(room: RoomState, id: string, emoji: string, on: boolean): Promise<void> {
    try {
      const reacted = await this.conn.request({ action: 'react', room: room.id, message: id, emoji, on });
      this.applyChanged(room, [reacted.message as Message]);
    } catch (err) {
      this.showToast(err instanceof Error ? err.message : 'Could not react.', true);
    }
  }

  /**
   * Tells the room that I am typing: at most once per TYPING_EVERY_MS per room
   * (the server forwards no more anyway). No reply; nothing if offline.
   */
  typing(room: RoomState, now = Date.now()): void {
    if (!this.authed || now - room.typingSentAt < TYPING_EVERY_MS) return;
    if (this.conn.send({ action: 'typing', room: room.id })) room.typingSentAt = now;
  }

  /**
   * Brings message `id` into view and highlights it (a reply's quote was
   * clicked). Not loaded yet: the page around it (`history` `around`), joined to
   * the loaded messages by the pages between, so the list has no hole.
   */
  async jumpTo(room: RoomState, id: string): Promise<void> {
    if (!findById(room.messages.peek(), id)) {
      try {
        await this.loadAround(room, id);
      } catch (err) {
        this.showToast(err instanceof Error ? err.message : 'Could not load that message.', true);
        return;
      }
      const found = findById(room.messages.peek(), id);
      if (!found) {
        this.showToast('That message is too far back to show here.', true);
        return;
      }
    }
    room.highlight.value = null;
    room.highlight.value = id;
  }

  private async loadAround(room: RoomState, id: string): Promise<void> {
    const h = await this.conn.request({ action: 'history', room: room.id, around: id, limit: JOIN_PAGE });
    let page = h.messages as Message[];
    const first = room.messages.peek()[0];
    // fill the span between the page and the first loaded message
    let after = lastId(page);
    let newer = h.hasNewer === true;
    for (let n = 0; first && after && newer && compareIds(after, first.id) < 0; n++) {
      if (n === MAX_JUMP_PAGES) return; // too far back: leave the list as it is
      const more = await this.conn.request({ action: 'history', room: room.id, after, limit: HISTORY_PAGE });
      const got = more.messages as Message[];
      if (got.length === 0) break;
      page = page.concat(got);
      after = lastId(got);
      newer = more.hasMore === true;
    }
    if (!page.some((m) => m.id === id)) return;
    batch(() => {
      const before = room.messages.peek()[0];
      room.messages.value = mergeMessages(room.messages.peek(), page);
      // older than everything loaded: what the page says about history before it counts now
      if (!before || compareIds(page[0]!.id, before.id) < 0) room.hasOlder.value = Boolean(h.hasMore);
    });
  }

  /** A page of messages matching `query` in my rooms, newest first (`search`); `before`: the last page's `next`. */
  async search(query: string, before?: string | null): Promise<SearchPage> {
    const reply = await this.conn.request({ action: 'search', query, ...(before ? { before } : {}) });
    return { results: reply.results as SearchResult[], next: typeof reply.next === 'string' ? reply.next : null };
  }

  /** Opens a search result: its room, scrolled to the message and highlighted. */
  async openMessage(roomId: string, id: string): Promise<void> {
    const room = this.room(roomId);
    if (!room) {
      this.showToast('You are no longer in that room.', true);
      return;
    }
    this.open(roomId);
    await this.jumpTo(room, id);
  }

  /** The room this tab had open before a reload, not in the device's cache: opened once the server's list comes. */
  private roomAwaited: string | null = null;

  /** *(E24)* the room a link (`#room=<id>`) asked for, until it is opened */
  private linkedRoom: string | null = null;

  /** The linked room, once; the address loses it so a reload does not force it again. */
  private takeLinkedRoom(): string | null {
    const room = this.linkedRoom;
    this.linkedRoom = null;
    if (room && typeof history !== 'undefined') history.replaceState(null, '', location.pathname + withoutRoom(location.search));
    return room;
  }

  private openLinkedRoom(): void {
    const id = this.takeLinkedRoom();
    if (!id) return;
    if (this.room(id)) return this.open(id);
    this.waitForLinkedRoom(id);
  }

  /** *(E24)* a linked room this tab has not heard of: opened if it arrives within LINK_WAIT_MS, else a toast */
  private linkWait: { id: string; timer: ReturnType<typeof setTimeout> } | null = null;

  private waitForLinkedRoom(id: string): void {
    this.cancelLinkWait();
    const timer = setTimeout(() => {
      this.linkWait = null;
      this.showToast('You are not in the room that link opens.', true);
    }, LINK_WAIT_MS);
    this.linkWait = { id, timer };
  }

  private cancelLinkWait(): void {
    if (this.linkWait) clearTimeout(this.linkWait.timer);
    this.linkWait = null;
  }

  /** *(E24)* the notice choices a `settings` reply or `authed.user` carries. */
  private noteNotices(frame: object): void {
    const from = frame as { notify?: unknown; notifyQuote?: unknown };
    if (from.notify === 'off' || from.notify === 'mentions' || from.notify === 'all') {
      this.notices.value = { notify: from.notify, quote: from.notifyQuote === true };
    }
  }

  /** *(E24)* email notices: off, direct messages and mentions, or everything; quotes on or off. */
  async setNotices(change: { notify?: NotifyLevel; quote?: boolean }): Promise<void> {
    const frame: Record<string, unknown> = { action: 'settings' };
    if (change.notify) frame.notify = change.notify;
    if (change.quote !== undefined) frame.notifyQuote = change.quote;
    this.noteNotices(await this.conn.request(frame));
  }

  /** *(E25)* Whether pushes to my devices may carry the message's text. */
  async setPushText(on: boolean): Promise<void> {
    const reply = await this.conn.request({ action: 'settings', pushText: on });
    if (typeof reply.pushText === 'boolean') this.pushText.value = reply.pushText;
  }

  /** *(E25)* A request of the push actions (the Notifications section), answered by its reply. */
  pushRequest(frame: Record<string, unknown>): Promise<ServerFrame> {
    return this.conn.request(frame);
  }

  /** Read receipts on or off (`settings`): off hides mine and shows me none. */
  async setReadReceipts(on: boolean): Promise<void> {
    const reply = await this.conn.request({ action: 'settings', readReceipts: on });
    this.noteReceipts(reply.readReceipts === true);
  }

  /** Deletes every message this person sent, for everyone. Resolves with the count. */
  async deleteMyMessages(): Promise<number> {
    const purged = await this.conn.request({ action: 'purge' });
    const me = this.me.peek()!.username;
    for (const r of purged.rooms as { room: string; through: string }[]) this.onDeleted(r.room, me, r.through);
    const count = Number(purged.count);
    this.showToast(count === 1 ? 'Deleted your 1 message.' : `Deleted your ${count} messages.`);
    return count;
  }

  // ---- accounts -------------------------------------------------------------

  async register(form: { username: string; email: string; password: string; invite?: string }): Promise<void> {
    const { username, email, password, invite } = form;
    const sent = await this.conn.request({ action: 'auth', op: 'register', username, email, password, ...(invite ? { invite } : {}) });
    this.toCodeStep({ op: 'register', ...form }, sent);
  }

  async login(form: { username: string; password: string }): Promise<void> {
    const reply = await this.conn.request({ action: 'auth', op: 'login', ...form });
    if (reply.type === 'otp_sent') return this.toCodeStep({ op: 'login', ...form }, reply);
    if (reply.type === 'second_factor') {
      const step = { username: String(reply.username), challenge: String(reply.challenge), expiresIn: Number(reply.expiresIn) };
      batch(() => {
        this.secondFactorStep.value = step;
        this.screen.value = 'second_factor';
      });
      return;
    }
    await this.onAuthed(reply);
  }

  /** *(E19)* finishes a login with a code from the authenticator app or a recovery code. */
  async finishSecondFactor(code: string): Promise<void> {
    const step = this.secondFactorStep.peek();
    if (!step) return;
    const authed = await this.conn.request({ action: 'auth', op: 'second_factor', username: step.username, challenge: step.challenge, code });
    this.secondFactorStep.value = null;
    await this.onAuthed(authed);
  }

  /** *(E19)* after 2FA was turned on or off here: `authed` says so on other devices. */
  noteTwoFactor(on: boolean): void {
    const me = this.me.peek();
    if (me) this.me.value = { ...me, twoFactor: on };
  }

  private toCodeStep(step: Omit<CodeStep, 'maskedEmail' | 'expiresIn'>, sent: ServerFrame): void {
    batch(() => {
      this.codeStep.value = { ...step, maskedEmail: String(sent.email), expiresIn: Number(sent.expiresIn) };
      this.screen.value = 'code';
    });
  }

  async verify(code: string): Promise<void> {
    const step = this.codeStep.peek();
    if (!step) return;
    const authed = await this.conn.request({ action: 'auth', op: 'verify', username: step.username, code });
    await this.onAuthed(authed);
  }

  /** Asks for a new code by repeating the step that sent the first one. */
  async resendCode(): Promise<void> {
    const step = this.codeStep.peek();
    if (!step) return;
    const { op, username, password, email, invite } = step;
    const frame = op === 'register' ? { op, username, password, email, ...(invite ? { invite } : {}) } : { op, username, password };
    const sent = await this.conn.request({ action: 'auth', ...frame });
    this.toCodeStep(step, sent);
  }

  backToWelcome(): void {
    batch(() => {
      this.codeStep.value = null;
      this.secondFactorStep.value = null;
      this.screen.value = 'welcome';
    });
  }

  /** *(E20)* this account is gone: back to the welcome screen, forgetting this tab's traces of it. */
  accountDeleted(text: string): void {
    this.endSession(text, true);
    this.announce(text);
  }

  async logout(): Promise<void> {
    try {
      await this.conn.request({ action: 'auth', op: 'logout' });
    } catch {
      // Offline: the token is forgotten here all the same (another tab of ours that
      // is online revokes it); otherwise it expires on the server.
    }
    this.endSession(LOGGED_OUT, true);
    this.announce(LOGGED_OUT);
  }

  finishGuide(): void {
    this.guideOpen.value = false;
    const me = this.me.peek()?.username;
    if (!me) return;
    storage.set(`tour.${me}`, '1');
    void this.tellTourSeen();
  }

  /** `tour_seen` (docs/PROTOCOL.md): a new browser does not show the tour again. */
  private async tellTourSeen(): Promise<void> {
    try {
      await this.conn.request({ action: 'tour_seen' });
    } catch {
      // offline, or an older server: the mark kept here is passed on at the next login
    }
  }

  // ---- drafts ---------------------------------------------------------------

  /** The unsent text of a room, kept per tab and per person across reloads. */
  draft(roomId: string): string {
    const me = this.me.peek()?.username;
    return (me && session.getJson<Record<string, string>>(`drafts.${me}`)?.[roomId]) || '';
  }

  saveDraft(roomId: string, text: string): void {
    const me = this.me.peek()?.username;
    if (!me) return;
    const drafts = session.getJson<Record<string, string>>(`drafts.${me}`) ?? {};
    if (text) drafts[roomId] = text;
    else delete drafts[roomId];
    session.setJson(`drafts.${me}`, drafts);
  }

  // ---- feedback -------------------------------------------------------------

  announce(text: string, expiresAt?: string): void {
    // cleared first so the same sentence twice is announced twice
    this.announcement.value = '';
    const expiry = expiresAt ? Date.parse(expiresAt) : Number.NaN;
    this.announcedExpiry = Number.isNaN(expiry) ? null : expiry;
    queueMicrotask(() => (this.announcement.value = text));
  }

  showToast(text: string, error = false): void {
    clearTimeout(this.toastTimer);
    this.toast.value = { text, error };
    this.toastTimer = setTimeout(() => (this.toast.value = null), 5000);
  }
}

/** *(E24)* The room a link names: `#room=<id>` (email notices) or `?room=<id>`. */
export function linkedRoom(place: { hash: string; search: string }): string | null {
  const fromHash = new URLSearchParams(place.hash.replace(/^#/, '')).get('room');
  const id = fromHash ?? new URLSearchParams(place.search).get('room');
  return id && id.length <= 200 ? id : null;
}

function withoutRoom(search: string): string {
  const params = new URLSearchParams(search);
  params.delete('room');
  const rest = params.toString();
  return rest ? `?${rest}` : '';
}
