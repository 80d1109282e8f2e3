// Profiles in the browser (E20 in docs/PROTOCOL.md): display names, statuses
// and avatars, kept from `authed`, the members of `joined` and `members`, and
// `profile` events; messages never carry them, so the UI maps `from` here.
// Avatar URLs are asked for in batches (`avatars`) and kept until they expire.
import { signal } from '@preact/signals';
import type { Connection } from './connection.js';
import type { ServerFrame } from './types.js';

export interface Profile {
  username: string;
  displayName?: string;
  status?: string;
  /** the avatar's file id */
  avatar?: string;
}

/** A deleted account's name on the wire: '~' and a number. */
export const isDeletedName = (username: string) => username.startsWith('~');
export const DELETED_LABEL = 'deleted user';

interface AvatarUrl {
  file: string;
  url: string;
  expires: number;
}

/** Stops asking for a URL this long before it expires. */
const URL_MARGIN_MS = 60_000;

export class Profiles {
  /** by username */
  readonly all = signal<ReadonlyMap<string, Profile>>(new Map());
  /** usernames whose accounts were deleted while this page was open */
  readonly deleted = signal<ReadonlySet<string>>(new Set());
  /** avatar URLs by username */
  readonly urls = signal<ReadonlyMap<string, AvatarUrl>>(new Map());
  private wanted = new Set<string>();
  private asking = false;
  private conn: Connection | undefined;

  attach(conn: Connection): void {
    this.conn = conn;
  }

  /** Profiles from a reply (a member list, `authed.user`, `profiles`). */
  note(list: readonly unknown[]): void {
    const next = new Map(this.all.peek());
    let changed = false;
    for (const raw of list) {
      const p = parse(raw);
      if (!p) continue;
      const before = next.get(p.username);
      if (before && same(before, p)) continue;
      next.set(p.username, p);
      changed = true;
    }
    if (changed) this.all.value = next;
  }

  /** A `profile` event: the whole profile, or the account is gone. */
  onEvent(frame: ServerFrame): void {
    const username = typeof frame.username === 'string' ? frame.username : undefined;
    if (!username) return;
    if (frame.deleted === true) {
      this.deleted.value = new Set([...this.deleted.peek(), username]);
      const next = new Map(this.all.peek());
      next.delete(username);
      this.all.value = next;
      return;
    }
    this.note([frame]);
  }

  get(username: string): Profile | undefined {
    return this.all.value.get(username);
  }

  isDeleted(username: string): boolean {
    return isDeletedName(username) || this.deleted.value.has(username);
  }

  /** The display name when it says more than the username; undefined otherwise. */
  displayName(username: string): string | undefined {
    const name = this.get(username)?.displayName;
    return name && name.toLowerCase() !== username ? name : undefined;
  }

  /** One string for a person, as PersonName shows it: `Alice Liddell @alice`, `alice`, `deleted user`. */
  label(username: string): string {
    if (this.isDeleted(username)) return DELETED_LABEL;
    const name = this.displayName(username);
    return name ? `${name} @${username}` : username;
  }

  /** The avatar's URL when there is one and it is known; asks for it otherwise. */
  avatarUrl(username: string): string | undefined {
    const file = this.get(username)?.avatar;
    if (!file || this.isDeleted(username)) return undefined;
    const known = this.urls.value.get(username);
    if (known && known.file === file && known.expires - URL_MARGIN_MS > Date.now()) return known.url || undefined;
    this.want(username);
    return known?.file === file ? known.url || undefined : undefined;
  }

  /** Batches the usernames asked for in one tick into one `avatars` request. */
  private want(username: string): void {
    this.wanted.add(username);
    if (this.asking) return;
    this.asking = true;
    queueMicrotask(() => void this.fetchUrls());
  }

  private async fetchUrls(): Promise<void> {
    const batch = [...this.wanted].slice(0, 100);
    for (const u of batch) this.wanted.delete(u);
    const fresh = (u: string) => {
      const k = this.urls.peek().get(u);
      return k !== undefined && k.file === this.all.peek().get(u)?.avatar && k.expires - URL_MARGIN_MS > Date.now();
    };
    const users = batch.filter((u) => !fresh(u));
    // Who gets no URL is not asked again for a while (initials show meanwhile).
    const next = new Map(this.urls.peek());
    const later = Date.now() + 5 * URL_MARGIN_MS;
    for (const u of users) next.set(u, { file: this.all.peek().get(u)?.avatar ?? '', url: '', expires: later });
    try {
      if (!this.conn || !users.length) return;
      const reply = await this.conn.request({ action: 'avatars', users });
      const expires = Date.parse(String(reply.expiresAt));
      for (const a of (reply.avatars as { user: string; file: string; url: string }[]) ?? []) {
        next.set(a.user, { file: a.file, url: new URL(a.url, location.href).href, expires });
      }
    } catch {
      // offline, or a server without avatars: initials stay
    } finally {
      this.urls.value = next;
      this.asking = false;
      if (this.wanted.size) this.want([...this.wanted][0]!);
    }
  }
}

function parse(raw: unknown): Profile | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.username !== 'string') return undefined;
  return {
    username: r.username,
    ...(typeof r.displayName === 'string' ? { displayName: r.displayName } : {}),
    ...(typeof r.status === 'string' ? { status: r.status } : {}),
    ...(typeof r.avatar === 'string' ? { avatar: r.avatar } : {}),
  };
}

const same = (a: Profile, b: Profile) => a.displayName === b.displayName && a.status === b.status && a.avatar === b.avatar;

/** Up to two initials of a name: `Alice Liddell` → `AL`, `bob` → `B`. */
export function initials(name: string): string {
  const words = name.split(/[\s._-]+/).filter(Boolean);
  const letters = (words.length > 1 ? [words[0]!, words.at(-1)!] : words.slice(0, 1)).map((w) => [...w][0] ?? '');
  return letters.join('').toUpperCase() || '?';
}

export interface ExportPage {
  format?: number;
  exportedAt?: string;
  profile?: unknown;
  rooms?: unknown[];
  messages?: unknown[];
  next?: string;
}

/** Every page of `export_data`, put together as the file a person keeps. */
export async function exportAll(conn: Connection, onPage?: (pages: number) => void) {
  const pages: ExportPage[] = [];
  let after: string | undefined;
  do {
    const page = (await conn.request({ action: 'export_data', ...(after ? { after } : {}) })) as ExportPage & ServerFrame;
    pages.push(page);
    onPage?.(pages.length);
    after = page.next;
  } while (after);
  return {
    format: pages[0]?.format ?? 1,
    exportedAt: pages[0]?.exportedAt,
    profile: pages[0]?.profile,
    rooms: pages.flatMap((p) => p.rooms ?? []),
    messages: pages.flatMap((p) => p.messages ?? []),
  };
}
