// An account erased by an administrator (moderation.ts, cli/admin.ts): its
// sockets are signed out and closed, and the users row is deleted, which takes
// with it (on delete cascade) its sessions, memberships, messages, reactions,
// files' rows, blocks, reports and suspension. Roommates hear it go offline.
//
// Merge note: account deletion (functions/core/deletion.ts) erases an account
// with everything that entails (room seqs, live `deleted` frames, stored files);
// once both exist, eraseAccount should call that one function, keeping this
// signature for its two callers.
import type { Broadcast } from './outcome.js';
import { onlinePresence } from './presence.js';
import type { Db } from './suspension.js';

export interface Erased {
  /** the account's connections, signed out: the caller closes them */
  closed: string[];
  broadcasts: Broadcast[];
}

/** Erases `username`'s account; undefined when there is none. */
export async function eraseAccount(db: Db, username: string): Promise<Erased | undefined> {
  const { sql } = db;
  const [user] = await sql<{ id: string; username: string }[]>`select id, username from users where username = ${username.toLowerCase()}`;
  if (!user) return undefined;
  const closed = await sql<{ id: string }[]>`
    update connections set user_id = null, session_id = null, authed_at = null where user_id = ${user.id} returning id`;
  const broadcasts: Broadcast[] = [];
  if (closed.length) broadcasts.push(...(await onlinePresence(sql, user.id, user.username, false)));
  await sql`delete from users where id = ${user.id}`;
  return { closed: closed.map((c) => c.id), broadcasts };
}
