// An account deleted by an administrator (administration.ts, cli/admin.ts): the
// same deletion as the person's own (deletion.ts), with their messages erased
// too, since an account an administrator deletes is usually the source of what
// was reported. Its sockets are signed out; the caller closes them.
import { type AccountDeps, removeAccount } from './deletion.js';
import type { Broadcast } from './outcome.js';

export interface Erased {
  /** the account's connections, signed out: the caller closes them */
  closed: string[];
  broadcasts: Broadcast[];
}

/** Deletes `username`'s account and erases its messages; undefined when there is none. */
export async function eraseAccount(deps: AccountDeps, username: string): Promise<Erased | undefined> {
  const [user] = await deps.sql<{ id: string; username: string }[]>`
    select id, username from users where username = ${username.toLowerCase()} and deleted_at is null`;
  if (!user) return undefined;
  const { broadcasts, close } = await removeAccount(deps, user.id, user.username, 'erase');
  return { closed: close, broadcasts };
}
