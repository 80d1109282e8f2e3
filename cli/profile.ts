// Profiles in the terminal (E20): who people are beside their usernames, kept
// from `authed`, the members of `joined` and `members`, and `profile` events;
// and the data export, assembled from its pages into one JSON file.
import { open } from 'node:fs/promises';
import { safe } from './conversation.js';

export interface Profile {
  username: string;
  displayName?: string;
  status?: string;
  avatar?: string;
  deleted?: boolean;
}

/** A deleted account's name on the wire: '~' and a number. */
export const isDeletedName = (username: string) => username.startsWith('~');

export class Profiles {
  private readonly known = new Map<string, Profile>();

  /** A profile from a reply or an event (a `profile` event is the whole profile). */
  note(p: { readonly [field: string]: unknown }): void {
    if (typeof p.username !== 'string') return;
    this.known.set(p.username, {
      username: p.username,
      ...(typeof p.displayName === 'string' ? { displayName: p.displayName } : {}),
      ...(typeof p.status === 'string' ? { status: p.status } : {}),
      ...(typeof p.avatar === 'string' ? { avatar: p.avatar } : {}),
      ...(p.deleted === true ? { deleted: true } : {}),
    });
  }

  get(username: string): Profile | undefined {
    return this.known.get(username);
  }

  /** `Alice Liddell (alice)`, `alice`, or `deleted user`: safe to print. */
  label(username: string): string {
    const p = this.known.get(username);
    if (isDeletedName(username) || p?.deleted) return 'deleted user';
    if (p?.displayName && p.displayName.toLowerCase() !== username) return `${safe(p.displayName)} (${safe(username)})`;
    return safe(username);
  }

  /** A member in /who's list, by username first: `alice (Alice Liddell) — on call`. */
  member(username: string): string {
    const p = this.known.get(username);
    const name = p?.displayName && p.displayName.toLowerCase() !== username ? ` (${safe(p.displayName)})` : '';
    return `${safe(username)}${name}${p?.status ? ` — ${safe(p.status)}` : ''}`;
  }

  /** One line about a person for /whois and /profile. */
  describe(username: string): string {
    const p = this.known.get(username);
    const parts = [this.label(username)];
    if (p?.status) parts.push(`— ${safe(p.status)}`);
    if (p?.avatar) parts.push('(has a picture)');
    return parts.join(' ');
  }
}

export interface ExportPage {
  format?: number;
  exportedAt?: string;
  profile?: unknown;
  rooms?: unknown[];
  messages?: unknown[];
  next?: string;
}

/** The pages of an export put together as the file people keep. */
export function assembleExport(pages: ExportPage[]) {
  return {
    format: pages[0]?.format ?? 1,
    exportedAt: pages[0]?.exportedAt,
    profile: pages[0]?.profile,
    rooms: pages.flatMap((p) => p.rooms ?? []),
    messages: pages.flatMap((p) => p.messages ?? []),
  };
}

/** Writes the export to `path` (a new file, readable by its owner only); never over an existing one. */
export async function writeExport(path: string, data: unknown): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(data, null, 2) + '\n');
  } finally {
    await handle.close();
  }
}
