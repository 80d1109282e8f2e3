// The client's state and what it does with the server: signals the components
// read, and the actions they call. Messages live in memory, per room, sorted by
// id; a reload resumes the session with the stored token and fetches them again.
import { batch, computed, effect, signal, type ReadonlySignal } from '@preact/signals';
import { CHANNEL as CHANNEL_NAME, USERNAME, dmRoomId } from '../../functions/core/names.js';
import { Connection } from './connection.js';
import { compareIds, countUnread, dropDeleted, lastId, mergeMessages, messagePreview, reconcileDeletions } from './messages.js';
import { session, storage } from './storage.js';
import { ConnectionLost, ServerError, type Member, type Message, type RoomInfo, type ServerFrame, type User } from './types.js';

export type Screen = 'loading' | 'welcome' | 'code' | 'chat';

/** `join` returns at most this many of the latest messages. */
const JOIN_PAGE = 50;
const HISTORY_PAGE = 100;
/** Catch-up pages after a reconnect before we give up on filling the gap and start from the latest. */
const MAX_CATCH_UP_PAGES = 5;

const LOGGED_OUT = 'You are logged out.';
const LOGGED_OUT_ELSEWHERE = 'You were logged out in another tab.';
const SESSION_ENDED = 'Your session has ended. Please log in again.';

// The protocol's names, from the server's own pure module.
export { CHANNEL as CHANNEL_NAME, USERNAME, dmRoomId } from '../../functions/core/names.js';

export interface PendingSend {
  clientId: string;
  room: string;
  text: string;
  state: 'sending' | 'failed';
  error?: string;
  /** automatic retries after `rate_limited` */
  attempts?: number;
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

export class RoomState {
  readonly messages = signal<Message[]>([]);
  readonly members = signal<string[]>([]);
  readonly pending = signal<PendingSend[]>([]);
  /** the newest message id this person has seen */
  readonly readThrough = signal<string | null>(null);
  /** older history exists on the server before the first loaded message */
  readonly hasOlder = signal(false);
  readonly loadingOlder = signal(false);
  readonly synced = signal(false);
  readonly unread: ReadonlySignal<number>;
  /**
   * The catch-up cursor: every message up to this id is here. Live frames carry
   * `prev` (the room's id before theirs), so when two fan-outs arrive out of order
   * the cursor waits at the gap instead of jumping over the missing message.
   */
  cursor: string | null = null;
  /** prev → id of live messages that arrived ahead of the cursor */
  readonly ahead = new Map<string, string>();
  gapTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly id: string,
    readonly kind: 'channel' | 'dm',
    /** a channel's name, or the other person's username */
    readonly name: string,
    me: string,
  ) {
    this.unread = computed(() => countUnread(this.messages.value, this.readThrough.value, me));
  }

  get label(): string {
    return this.kind === 'channel' ? `#${this.name}` : this.name;
  }

  /** Moves the cursor to `id` if that is further, then along any chain of early arrivals. */
  advanceCursor(id: string | null): void {
    if (id !== null && (this.cursor === null || compareIds(id, this.cursor) > 0)) this.cursor = id;
    if (this.cursor === null) return;
    for (let next = this.ahead.get(this.cursor); next !== undefined; next = this.ahead.get(this.cursor)) {
      this.ahead.delete(this.cursor);
      this.cursor = next;
    }
    for (const [prev, later] of this.ahead) if (compareIds(later, this.cursor) <= 0) this.ahead.delete(prev);
  }

  /** A live message with its `prev`: returns true if it leaves a gap behind the cursor. */
  noteLive(id: string, prev: string | null): boolean {
    if (this.cursor !== null && compareIds(id, this.cursor) <= 0) return false;
    if (prev === this.cursor || (prev !== null && this.cursor !== null && compareIds(prev, this.cursor) < 0)) {
      this.advanceCursor(id);
      return false;
    }
    if (prev !== null) this.ahead.set(prev, id);
    return this.ahead.size > 0;
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

function roomFromId(id: string, me: string): RoomState {
  if (!id.startsWith('dm:')) return new RoomState(id, 'channel', id, me);
  const [, a, b] = id.split(':');
  return new RoomState(id, 'dm', a === me ? b! : a!, me);
}

function sortRooms(rooms: RoomState[]): RoomState[] {
  return [...rooms].sort((x, y) => {
    if (x.kind !== y.kind) return x.kind === 'channel' ? -1 : 1;
    if (x.id === 'general') return -1;
    if (y.id === 'general') return 1;
    return x.name.localeCompare(y.name);
  });
}

export class Chat {
  readonly screen = signal<Screen>('loading');
  readonly me = signal<User | null>(null);
  readonly rooms = signal<RoomState[]>([]);
  readonly activeId = signal('general');
  readonly online = signal<ReadonlySet<string>>(new Set());
  /**
   * False while offline and until the catch-up after a reconnect is done: `online`
   * is then out of date (nobody hears of people who left meanwhile), so the UI
   * shows presence as unknown instead of a stale green.
   */
  readonly presenceKnown = signal(false);
  readonly codeStep = signal<CodeStep | null>(null);
  /** why the person is back at the welcome screen (logged out, here or in another tab; session over) */
  readonly sessionNote = signal<string | null>(null);
  /** for screen readers, via an aria-live region */
  readonly announcement = signal('');
  /** a short message shown for a few seconds */
  readonly toast = signal<{ text: string; error?: boolean } | null>(null);
  readonly helpOpen = signal(false);
  readonly guideOpen = signal(false);
  readonly conn: Connection;
  /** where a local server without mail writes the code emails (its config.json says, to this machine only) */
  readonly outboxDir: string | null;

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

  private authed = false;
  /** the token this tab's session uses */
  private token: string | null = null;
  /** false where localStorage refuses to keep it: the token then lives in memory only */
  private tokenStored = false;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(websocketUrl: string, options: { outboxDir?: string } = {}) {
    this.outboxDir = options.outboxDir ?? null;
    this.conn = new Connection(websocketUrl, {
      onOpen: () => void this.onOpen(),
      onFrame: (f) => this.onFrame(f),
      onClose: () => this.onClose(),
    });
    // The open room survives a reload (per tab: two tabs may look at two rooms).
    effect(() => {
      const me = this.me.value;
      if (me) session.set(`room.${me.username}`, this.activeId.value);
    });
  }

  start(): void {
    // Logging out in one tab forgets the shared token: every other tab of ours ends too.
    storage.watch('token', (token) => {
      if (token === null && this.me.peek() && this.tokenStored) this.loggedOutElsewhere();
    });
    this.conn.start();
  }

  room(id: string): RoomState | undefined {
    return this.rooms.peek().find((r) => r.id === id);
  }

  // ---- connection lifecycle -------------------------------------------------

  private async onOpen(): Promise<void> {
    const token = this.tokenStored || !this.token ? storage.get('token') : this.token;
    if (!token) {
      // Logged in, but the token is gone: another tab logged out while this one
      // was away (a missed storage event); staying here would look connected and send nothing.
      if (this.me.peek()) this.endSession(LOGGED_OUT_ELSEWHERE, true);
      else if (this.screen.peek() === 'loading') this.screen.value = 'welcome';
      return;
    }
    this.token = token;
    try {
      const authed = await this.conn.request({ action: 'auth', op: 'resume', token });
      await this.onAuthed(authed);
    } catch (err) {
      if (err instanceof ServerError && err.code === 'unauthorized') {
        this.endSession(SESSION_ENDED);
      } else if (err instanceof ServerError) {
        // the server is struggling (internal, rate_limited): keep the token and try again
        if (this.screen.peek() === 'chat') this.showToast(err.message, true);
        setTimeout(() => this.conn.isOpen && !this.authed && void this.onOpen(), 5000);
      }
      // ConnectionLost: the next connection tries again.
    }
  }

  private onClose(): void {
    this.authed = false;
    this.presenceKnown.value = false;
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
    const me = this.me.peek()?.username;
    if (forget && me) {
      session.remove(`drafts.${me}`);
      session.remove(`room.${me}`);
    }
    this.authed = false;
    batch(() => {
      this.me.value = null;
      this.rooms.value = [];
      this.online.value = new Set();
      this.presenceKnown.value = false;
      this.activeId.value = 'general';
      this.codeStep.value = null;
      this.sessionNote.value = note;
      this.screen.value = 'welcome';
    });
  }

  private async onAuthed(frame: ServerFrame): Promise<void> {
    const user = frame.user as User;
    const wasChat = this.screen.peek() === 'chat';
    const sameUser = this.me.peek()?.username === user.username;
    if (!sameUser) this.rooms.value = [];
    this.token = String(frame.token);
    storage.set('token', this.token);
    this.tokenStored = storage.get('token') === this.token;
    this.authed = true;
    // after a reload or a new login: the room this tab had open
    const wanted = sameUser ? this.activeId.peek() : session.get(`room.${user.username}`);
    const infos = await this.allRooms(frame);
    const reads = storage.getJson<Record<string, string>>(`read.${user.username}`) ?? {};
    batch(() => {
      this.me.value = user;
      const existing = new Map(this.rooms.peek().map((r) => [r.id, r]));
      const rooms = infos.map((info) => {
        const room = existing.get(info.id) ?? roomFrom(info, user.username);
        if (room.readThrough.peek() === null && reads[info.id]) room.readThrough.value = reads[info.id]!;
        return room;
      });
      this.rooms.value = sortRooms(rooms);
      this.activeId.value = wanted && rooms.some((r) => r.id === wanted) ? wanted : 'general';
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
    // every room's members are fresh: who is online is known again
    this.presenceKnown.value = true;
    this.conn.markHealthy();
    for (const room of this.rooms.peek()) for (const p of room.pending.peek()) if (p.state === 'sending') void this.deliver(p);
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
   * Brings one room up to date: what was sent while we were away (history after
   * our last id), then the latest page and the members (join, which a member may
   * repeat: it changes nothing, and costs one read of the user's budget).
   * Deletions made while away are found by comparing pages.
   */
  private async syncRoom(room: RoomState): Promise<void> {
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
      if (gap) {
        room.cursor = null;
        room.ahead.clear();
      }
      // history after the cursor and then the latest page: together, gap-free
      room.advanceCursor(lastId(missed));
      room.advanceCursor(lastId(latest));
      if (!knownThrough || gap) room.hasOlder.value = older ?? latest.length >= JOIN_PAGE;
      // a room seen for the first time starts read: no wall of old "unread" messages
      if (room.readThrough.peek() === null) this.markRead(room);
      room.synced.value = true;
    });
    if (this.isWatching(room)) this.markRead(room);
  }

  private noteMembers(room: RoomState, members: Member[]): void {
    batch(() => {
      room.members.value = members.map((m) => m.username);
      const online = new Set(this.online.peek());
      for (const m of members) {
        if (m.online) online.add(m.username);
        else online.delete(m.username);
      }
      this.online.value = online;
    });
  }

  // ---- server events --------------------------------------------------------

  private onFrame(frame: ServerFrame): void {
    if (!this.authed) return;
    switch (frame.type) {
      case 'message':
        return this.onMessage(frame.message as Message, frame.prev as string | null | undefined);
      case 'presence':
        return this.onPresence(frame as ServerFrame & { room: string; user: string; online?: boolean; member?: boolean });
      case 'deleted':
        return this.onDeleted(String(frame.room), String(frame.from), String(frame.through));
    }
  }

  private onMessage(message: Message, prev: string | null | undefined): void {
    const me = this.me.peek()!.username;
    let room = this.room(message.room);
    // someone opened a DM with us, or another tab of ours joined a channel
    room ??= this.adoptRoom(message.room, message.from !== me);
    const before = room.messages.peek();
    room.messages.value = mergeMessages(before, [message]);
    // a copy of a message already shown (a repeated send is delivered again, at no
    // cost to its sender): nothing changed, nothing to announce
    const known = room.messages.peek() === before;
    // a repeat (no prev) is a message we were sent before
    if (prev !== undefined && room.noteLive(message.id, prev) && room.synced.peek()) this.scheduleGapFill(room);
    if (message.from === me) {
      room.pending.value = room.pending.peek().filter((p) => p.clientId !== message.clientId);
    } else if (known) {
      // announced when it first came
    } else if (this.isWatching(room)) {
      // a screen reader reads all of it: the start of a long message is enough
      this.announce(`${message.from}: ${messagePreview(message.text)}`);
    } else {
      this.announce(room.kind === 'dm' ? `New direct message from ${message.from}` : `New message in ${room.label} from ${message.from}`);
    }
    if (this.isWatching(room)) this.markRead(room);
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

  private onPresence(p: { room: string; user: string; online?: boolean; member?: boolean }): void {
    const me = this.me.peek()!.username;
    let room = this.room(p.room);
    if (p.online !== undefined) {
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

  private onDeleted(roomId: string, from: string, through: string): void {
    const room = this.room(roomId);
    if (room) room.messages.value = dropDeleted(room.messages.peek(), from, through);
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
    return this.activeId.peek() === room.id && document.visibilityState === 'visible';
  }

  open(id: string): void {
    const room = this.room(id);
    if (!room) return;
    this.activeId.value = id;
    this.markRead(room);
  }

  markRead(room: RoomState): void {
    const last = lastId(room.messages.peek());
    if (last === null || (room.readThrough.peek() !== null && compareIds(last, room.readThrough.peek()!) <= 0)) return;
    room.readThrough.value = last;
    const me = this.me.peek()?.username;
    if (!me) return;
    const reads = storage.getJson<Record<string, string>>(`read.${me}`) ?? {};
    reads[room.id] = last;
    storage.setJson(`read.${me}`, reads);
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

  private async joinAndOpen(id: string): Promise<void> {
    const joined = await this.conn.request({ action: 'join', room: id });
    const info = joined.room as RoomInfo;
    const room = this.addRoom(roomFrom(info, this.me.peek()!.username));
    const messages = joined.messages as Message[];
    const members = await this.allMembers(id, joined);
    batch(() => {
      this.noteMembers(room, members);
      room.messages.value = mergeMessages(room.messages.peek(), messages);
      room.hasOlder.value = olderOnServer(joined) ?? messages.length >= JOIN_PAGE;
      room.advanceCursor(lastId(messages));
      room.synced.value = true;
      this.open(room.id);
    });
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

  send(roomId: string, text: string): void {
    const room = this.room(roomId);
    if (!room || !text.trim()) return;
    const pending: PendingSend = { clientId: newClientId(), room: roomId, text, state: 'sending' };
    room.pending.value = [...room.pending.peek(), pending];
    void this.deliver(pending);
  }

  /**
   * Sends (or re-sends, after a reconnect) one message. The clientId makes a
   * repeat harmless: the server stores it once and answers with the same message.
   */
  private async deliver(p: PendingSend): Promise<void> {
    const room = this.room(p.room);
    if (!room || !this.authed) return; // goes out after the next resume
    try {
      const sent = await this.conn.request({ action: 'send', room: p.room, text: p.text, clientId: p.clientId });
      batch(() => {
        room.messages.value = mergeMessages(room.messages.peek(), [sent.message as Message]);
        room.pending.value = room.pending.peek().filter((x) => x.clientId !== p.clientId);
        if (this.activeId.peek() === room.id) this.markRead(room);
      });
    } catch (err) {
      if (err instanceof ConnectionLost) return; // still pending; re-sent on reconnect
      if (err instanceof ServerError && err.code === 'rate_limited' && (p.attempts ?? 0) < 3) {
        // many messages at once (a backlog after a reconnect): slow down, then go on
        const again = { ...p, attempts: (p.attempts ?? 0) + 1 };
        room.pending.value = room.pending.peek().map((x) => (x.clientId === p.clientId ? again : x));
        setTimeout(() => void this.deliver(again), 2000 * again.attempts);
        return;
      }
      const message = err instanceof Error ? err.message : 'Not sent.';
      room.pending.value = room.pending.peek().map((x) => (x.clientId === p.clientId ? { ...x, state: 'failed', error: message } : x));
      this.announce(`Not sent: ${message}`);
    }
  }

  retry(p: PendingSend): void {
    const room = this.room(p.room);
    if (!room) return;
    const again: PendingSend = { ...p, state: 'sending', error: undefined, attempts: 0 };
    room.pending.value = room.pending.peek().map((x) => (x.clientId === p.clientId ? again : x));
    void this.deliver(again);
  }

  discard(p: PendingSend): void {
    const room = this.room(p.room);
    if (room) room.pending.value = room.pending.peek().filter((x) => x.clientId !== p.clientId);
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
    await this.onAuthed(reply);
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
      this.screen.value = 'welcome';
    });
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

  announce(text: string): void {
    // cleared first so the same sentence twice is announced twice
    this.announcement.value = '';
    queueMicrotask(() => (this.announcement.value = text));
  }

  showToast(text: string, error = false): void {
    clearTimeout(this.toastTimer);
    this.toast.value = { text, error };
    this.toastTimer = setTimeout(() => (this.toast.value = null), 5000);
  }
}
