// What this device keeps of the chat in IndexedDB, so it opens offline: the
// logged-in person's rooms and their latest messages, and the outbox of messages
// written but not yet sent. One person's at a time: logging in as someone else,
// or logging out, wipes it all first (a shared computer shows nobody's messages
// to the next person). Where IndexedDB is refused (some private modes, Node in
// tests) every call does nothing and the chat works as before, online.
import { storage } from './storage.js';
import type { FileInfo, Message, User } from './types.js';

/** clientIds of cancelled messages (see cancelOutbox): the newest few hundred are plenty, a clientId is never reused */
const CANCELLED_KEY = 'outbox.cancelled';
const MAX_CANCELLED = 200;

function cancelledIds(): string[] {
  const ids = storage.getJson<unknown>(CANCELLED_KEY);
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

/** Messages kept per room: the newest ones. */
export const MESSAGES_PER_ROOM = 200;
/** Rooms kept: those with the newest messages. */
export const ROOMS_KEPT = 50;
/** Messages waiting in the outbox at most (per person): the composer refuses more. */
export const OUTBOX_MAX = 100;

const DB_NAME = 'wild-whispers';
const DB_VERSION = 1;

/** A room as it was last seen, enough to show it and to catch up from it. */
export interface CachedRoom {
  user: string;
  id: string;
  kind: 'channel' | 'dm';
  name: string;
  displayName: string;
  topic: string;
  isPrivate: boolean;
  messages: Message[];
  hasOlder: boolean;
  /** the newest message read here (unread counts offline) */
  readThrough: string | null;
  /** every message up to this id is in `messages` (the room's id cursor) */
  cursor: string | null;
  /** the room's change cursor (seq), for `changes` after it */
  changesAt: string | null;
}

/** Who the cache belongs to, and the rooms in the sidebar's order. */
export interface CachedSession {
  user: string;
  me: User;
  rooms: string[];
  savedAt: number;
}

/** A message waiting to be sent, with the clientId it keeps until the server has it. */
export interface OutboxEntry {
  clientId: string;
  user: string;
  room: string;
  text: string;
  replyTo?: Message;
  files?: FileInfo[];
  state: 'sending' | 'failed';
  error?: string;
  createdAt: number;
}

function done(req: IDBRequest): Promise<unknown>;
function done<T>(req: IDBRequest<T>): Promise<T>;
function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('aborted'));
  });
}

export class DeviceStore {
  private db: Promise<IDBDatabase | null> | undefined;

  /** False where there is no IndexedDB at all. */
  get available(): boolean {
    return typeof indexedDB !== 'undefined';
  }

  private open(): Promise<IDBDatabase | null> {
    this.db ??= new Promise<IDBDatabase | null>((resolve) => {
      if (!this.available) return resolve(null);
      let req: IDBOpenDBRequest;
      try {
        req = indexedDB.open(DB_NAME, DB_VERSION);
      } catch {
        return resolve(null);
      }
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore('session');
        db.createObjectStore('rooms', { keyPath: ['user', 'id'] });
        db.createObjectStore('outbox', { keyPath: 'clientId' }).createIndex('user', 'user');
      };
      req.onsuccess = () => {
        const db = req.result;
        // another tab of a newer build wants to upgrade: let it
        db.onversionchange = () => db.close();
        resolve(db);
      };
      req.onerror = () => resolve(null);
      req.onblocked = () => resolve(null);
    });
    return this.db;
  }

  /** Runs `fn` in one transaction over `stores`; null when there is no database or it failed. */
  private async tx<T>(stores: string[], mode: IDBTransactionMode, fn: (tx: IDBTransaction) => Promise<T>): Promise<T | null> {
    const db = await this.open();
    if (!db) return null;
    try {
      const tx = db.transaction(stores, mode);
      const end = finished(tx);
      const result = await fn(tx);
      await end;
      return result;
    } catch {
      return null;
    }
  }

  /** The cached session, if any (whoever it belongs to: the caller checks). */
  session(): Promise<CachedSession | null> {
    return this.tx(['session'], 'readonly', async (tx) => ((await done(tx.objectStore('session').get('current'))) as CachedSession | undefined) ?? null);
  }

  /**
   * `me` is logged in here: if the cache is someone else's, it is wiped first,
   * their outbox too (their unsent messages are not this person's to send).
   */
  async claim(me: User): Promise<void> {
    await this.tx(['session', 'rooms', 'outbox'], 'readwrite', async (tx) => {
      const held = (await done(tx.objectStore('session').get('current'))) as CachedSession | undefined;
      if (held && held.user !== me.username) {
        tx.objectStore('rooms').clear();
        tx.objectStore('outbox').clear();
      }
      tx.objectStore('session').put({ user: me.username, me, rooms: held?.user === me.username ? held.rooms : [], savedAt: Date.now() }, 'current');
    });
  }

  /** Everything, everyone's: logout. */
  async forget(): Promise<void> {
    await this.tx(['session', 'rooms', 'outbox'], 'readwrite', async (tx) => {
      for (const s of ['session', 'rooms', 'outbox']) tx.objectStore(s).clear();
    });
  }

  async rooms(user: string): Promise<CachedRoom[]> {
    return (
      (await this.tx(['rooms'], 'readonly', async (tx) => {
        const range = IDBKeyRange.bound([user, ''], [user, '\uffff']);
        return (await done(tx.objectStore('rooms').getAll(range))) as CachedRoom[];
      })) ?? []
    );
  }

  /**
   * Saves the room list (in order) and the rooms that changed; rooms not in
   * `order` go. Nothing if the cache now belongs to someone else (a logout or
   * another login raced this save).
   */
  async saveRooms(me: User, order: string[], changed: CachedRoom[]): Promise<void> {
    await this.tx(['session', 'rooms'], 'readwrite', async (tx) => {
      const held = (await done(tx.objectStore('session').get('current'))) as CachedSession | undefined;
      if (!held || held.user !== me.username) return;
      tx.objectStore('session').put({ user: me.username, me, rooms: order, savedAt: Date.now() } satisfies CachedSession, 'current');
      const rooms = tx.objectStore('rooms');
      const keep = new Set(order);
      const keys = (await done(rooms.getAllKeys(IDBKeyRange.bound([me.username, ''], [me.username, '\uffff'])))) as [string, string][];
      for (const key of keys) if (!keep.has(key[1])) rooms.delete(key);
      for (const room of changed) rooms.put(room);
    });
  }

  async outbox(user: string): Promise<OutboxEntry[]> {
    const all = await this.tx(['outbox'], 'readonly', async (tx) => (await done(tx.objectStore('outbox').index('user').getAll(user))) as OutboxEntry[]);
    const cancelled = new Set(cancelledIds());
    const waiting: OutboxEntry[] = [];
    for (const e of all ?? []) {
      if (cancelled.has(e.clientId)) await this.removeOutbox(e.clientId);
      else waiting.push(e);
    }
    return waiting.sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * A message the person cancelled: never sent, whatever IndexedDB still holds.
   * The page may reload (or the tab close) before the delete commits, or before
   * the message's own put does; so the cancel is also noted at once, in
   * localStorage, and the outbox skips and refuses what it names.
   */
  async cancelOutbox(clientId: string): Promise<void> {
    storage.setJson(CANCELLED_KEY, [...cancelledIds().filter((id) => id !== clientId), clientId].slice(-MAX_CANCELLED));
    await this.removeOutbox(clientId);
  }

  /** Keeps (or updates) a message in the outbox; false when it could not (no database, the cache is someone else's). */
  async putOutbox(entry: OutboxEntry): Promise<boolean> {
    if (cancelledIds().includes(entry.clientId)) return false;
    const ok = await this.tx(['session', 'outbox'], 'readwrite', async (tx) => {
      const held = (await done(tx.objectStore('session').get('current'))) as CachedSession | undefined;
      if (held?.user !== entry.user) return false;
      tx.objectStore('outbox').put(entry);
      return true;
    });
    return ok === true;
  }

  /** Whether the message is still waiting (another tab may have sent it, or it was cancelled). True without a database. */
  async inOutbox(clientId: string): Promise<boolean> {
    if (cancelledIds().includes(clientId)) return false;
    const found = await this.tx(['outbox'], 'readonly', async (tx) => (await done(tx.objectStore('outbox').getKey(clientId))) !== undefined);
    return found ?? true;
  }

  async removeOutbox(clientId: string): Promise<void> {
    await this.tx(['outbox'], 'readwrite', async (tx) => {
      tx.objectStore('outbox').delete(clientId);
    });
  }
}
