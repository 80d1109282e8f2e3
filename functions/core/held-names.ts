// A deleted account's username is held for DELETED_NAME_HOLD_DAYS (E20): a
// sign-up for it is refused until then, so nobody can take it at once and pass
// for the person who left. The first sign-up after the hold frees it, and the
// old direct conversations named after it go: a DM room's id is its two names,
// and the newcomer must never be let into the old one.
import { Conflict } from './errors.js';
import { deleteFiles } from './files.js';
import type { Deps, Queryable } from './ports.js';

/** Holds `username` until `days` from `now` (a hold of 0 days frees it at once). */
export async function holdName(tx: Queryable, username: string, days: number, now: Date): Promise<void> {
  const freeAt = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
  await tx`
    insert into held_names (username, free_at) values (${username}, ${freeAt})
    on conflict (username) do update set free_at = greatest(held_names.free_at, excluded.free_at)`;
}

/**
 * In front of a sign-up's hashing, cheap: refused while `username` is held. A
 * hold that is over is dropped here, with the direct conversations the deleted
 * account had under that name (their files first), before any new account can
 * take it.
 */
export async function claimHeldName(deps: Deps, username: string, now: Date): Promise<void> {
  const { sql } = deps;
  const [held] = await sql<{ free_at: Date }[]>`select free_at from held_names where username = ${username}`;
  if (!held) return;
  if (held.free_at > now) {
    const day = held.free_at.toISOString().slice(0, 10);
    throw new Conflict(`The username ${username} belonged to an account that was deleted; it can be registered again from ${day}.`);
  }
  const named = sql`kind = 'dm' and (split_part(id, ':', 2) = ${username} or split_part(id, ':', 3) = ${username})`;
  const files = await sql<{ id: string }[]>`select f.id from files f where f.room_id in (select id from rooms where ${named})`;
  if (files.length) await deleteFiles(deps, files.map((f) => f.id));
  await sql`delete from rooms where ${named}`;
  await sql`delete from held_names where username = ${username} and free_at <= ${now}`;
}
