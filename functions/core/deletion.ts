// Delete my account (E20 in docs/PROTOCOL.md). After the password (and the
// second factor, where the account has one), everything personal goes for
// good: the email, the password hash, sessions (open sockets are closed at
// once), codes, settings, read marks, budgets, files, reactions, memberships,
// and the rows of any table that refers to the account. The person chooses
// what happens to their messages: `erase` turns them into tombstones for
// everyone (as `purge` does), `keep` leaves them under a "deleted user". Either
// way the users row stays as an anonymous stub, so the messages' sender still
// exists: its username becomes '~<id>', every other column is emptied, and the
// old username is held for DELETED_NAME_HOLD_DAYS (held-names.ts).
import * as v from 'valibot';
import { hashGate, mailboxOf } from './accounts.js';
import { securityEvent } from './audit.js';
import { Unauthorized } from './errors.js';
import { deleteFilesOfDeletedMessages, deleteFilesOfUser } from './files.js';
import { holdName } from './held-names.js';
import { requireCallerWithin } from './limits.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { Deps, Queryable, Sql } from './ports.js';
import { DELETED_PREFIX } from './profile.js';
import { requestId, secondFactorCode } from './protocol.js';
import { requireSecondFactor } from './two-factor.js';
import { tombstoneMessagesOf } from './purge.js';
import { hashToken, verifyPassword } from './secrets.js';

/** `{"action":"delete_account","password","messages":"keep"|"erase","code"?}` */
export const DeleteAccountFrame = v.object({
  action: v.literal('delete_account'),
  id: requestId,
  password: v.pipe(v.string('password must be a string'), v.minLength(1, 'password is required.'), v.maxLength(1024)),
  messages: v.picklist(['keep', 'erase'], 'messages must be "keep" or "erase".'),
  /** the second factor's code, for accounts that have one (E19) */
  code: v.optional(secondFactorCode),
});
export type DeleteAccountFrame = v.InferOutput<typeof DeleteAccountFrame>;


/** A foreign key column that refers to users(id), and what deleting a user does to its rows. */
interface UserReference {
  table_name: string;
  column_name: string;
  /** c: cascade, n: set null, d: set default, a/r: no action, restrict */
  on_delete: string;
}

/**
 * Every column of every table that refers to users(id), read from the catalog
 * rather than listed here, so that a table added later is covered too.
 */
export function userReferences(sql: Queryable) {
  return sql<UserReference[]>`
    select cl.relname as table_name, a.attname as column_name, c.confdeltype::text as on_delete
    from pg_constraint c
    join pg_class cl on cl.oid = c.conrelid
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.confrelid = 'users'::regclass and cardinality(c.conkey) = 1
    order by cl.relname, a.attname`;
}

/** The one reference that survives a deletion: the messages a person chose to keep. */
const KEPT = new Set(['messages.sender_id']);

/**
 * The user's reactions go, and each message they were on gets a fresh seq under
 * its room's lock (rooms in id order, as purge locks them), so clients of the
 * change feed learn of it.
 */
function removeReactions(tx: Queryable, userId: string) {
  return tx`
    with hit as (
      select r.id from rooms r
      where r.id in (select m.room_id from reactions x join messages m on m.id = x.message_id where x.user_id = ${userId})
      order by r.id
      for update
    ), gone as (
      delete from reactions x where x.user_id = ${userId} returning x.message_id
    ), bumped as (
      update messages m set seq = nextval('message_seqs')
      where m.id in (select message_id from gone) and m.room_id in (select id from hit)
      returning m.room_id, m.seq
    ), per_room as (
      select room_id, max(seq) as seq from bumped group by room_id
    )
    update rooms r set prev_seq = r.last_seq, last_seq = p.seq from per_room p where r.id = p.room_id`;
}

/**
 * The users row becomes a stub: id kept (messages refer to it), username
 * '~<id>', deleted_at set, and every other column emptied, read from the catalog
 * so a column added later is emptied too: null where it may be, else its
 * default, else ''.
 */
async function stubUser(tx: Queryable, userId: string): Promise<void> {
  const columns = await tx<{ column_name: string; nullable: boolean; has_default: boolean }[]>`
    select column_name, is_nullable = 'YES' as nullable, column_default is not null as has_default
    from information_schema.columns
    where table_schema = current_schema() and table_name = 'users'
      and column_name not in ('id', 'username', 'deleted_at')
      and is_generated = 'NEVER' and is_identity = 'NO'`;
  const sets = columns.map((c) =>
    c.nullable ? tx`${tx(c.column_name)} = null` : c.has_default ? tx`${tx(c.column_name)} = default` : tx`${tx(c.column_name)} = ''`,
  );
  const all = sets.reduce((acc, s) => tx`${acc}, ${s}`, tx`username = ${DELETED_PREFIX} || id::text, deleted_at = now()`);
  await tx`update users set ${all} where id = ${userId}`;
}

/** Everything of the account, in one transaction; returns who was signed in. */
async function eraseAccount(deps: AccountDeps, tx: Queryable, userId: string, username: string): Promise<void> {
  const [user] = await tx<{ email: string }[]>`select email from users where id = ${userId} for update`;
  await removeReactions(tx, userId);
  for (const ref of await userReferences(tx)) {
    if (ref.table_name === 'users' || KEPT.has(`${ref.table_name}.${ref.column_name}`)) continue;
    const table = tx(ref.table_name);
    const column = tx(ref.column_name);
    if (ref.on_delete === 'n') await tx`update ${table} set ${column} = null where ${column} = ${userId}`;
    else await tx`delete from ${table} where ${column} = ${userId}`;
  }
  // Budgets are kept by key: the user's ('join:user:42'), and the hashed address's.
  await tx`delete from rate_budgets where key like ${'%:user:' + userId}`;
  if (user?.email) await tx`delete from rate_budgets where key like ${`mail:to:${hashToken(mailboxOf(user.email)).slice(0, 22)}%`}`;
  await holdName(tx, username, deps.settings.deletedNameHoldDays, deps.clock.now());
  await stubUser(tx, userId);
}

/** Per room, the connections of its other members; and all of them, each once. */
async function roommateConnections(sql: Sql, userId: string) {
  const rows = await sql<{ room_id: string; ids: string[] }[]>`
    select m.room_id, array_agg(c.id) as ids
    from memberships mine
    join memberships m on m.room_id = mine.room_id and m.user_id <> mine.user_id
    join connections c on c.user_id = m.user_id
    where mine.user_id = ${userId}
    group by m.room_id`;
  return { perRoom: rows, all: [...new Set(rows.flatMap((r) => r.ids))] };
}

export async function deleteAccount(deps: Deps, connectionId: string, frame: DeleteAccountFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  // The budget first: the password check is a whole scrypt.
  const caller = await requireCallerWithin(deps, connectionId, 'delete_account');
  const [user] = await sql<{ password_hash: string }[]>`select password_hash from users where id = ${caller.userId}`;
  const right =
    Boolean(user?.password_hash) &&
    (await hashGate(settings).run(() => verifyPassword(frame.password, user!.password_hash), `user:${caller.userId}`));
  if (!right) {
    securityEvent(deps.log, 'account_delete_refused', { user: caller.username, connection: connectionId, reason: 'password' });
    throw new Unauthorized('That password is not right; your account was not deleted.');
  }
  // Then the second factor, where the account has one: its own statements, each
  // committed, so a wrong code counts even though nothing is deleted.
  await requireSecondFactor(deps, sql, caller.userId, frame.code);
  const { erased, broadcasts, close } = await removeAccount(deps, caller.userId, caller.username, frame.messages);
  securityEvent(deps.log, 'account_deleted', { user: caller.username, connection: connectionId, messages: frame.messages });
  return {
    reply: { type: 'account_deleted', messages: frame.messages, erased },
    broadcasts,
    close,
  };
}

/** What deleting an account needs: no gateway, so the admin CLI can too. */
export type AccountDeps = Pick<Deps, 'sql' | 'storage' | 'settings' | 'clock'>;

/**
 * Deletes an account for good, whoever asked (the person here; an
 * administrator may call it too): files, then everything personal in one
 * transaction, then, for `erase`, the tombstones. Returns how many messages
 * were erased, what to tell the people who shared a room, and every socket of
 * the account, to close.
 */
export async function removeAccount(
  deps: AccountDeps,
  userId: string,
  username: string,
  messages: 'keep' | 'erase',
): Promise<{ erased: number; broadcasts: Broadcast[]; close: string[] }> {
  const { sql } = deps;
  // Files first: their bytes are in storage, which the transaction cannot undo.
  await deleteFilesOfUser(deps, userId);
  const [{ perRoom, all }, own] = await Promise.all([
    roommateConnections(sql, userId),
    sql<{ id: string }[]>`select id from connections where user_id = ${userId}`,
  ]);
  await sql.begin((tx) => eraseAccount(deps, tx, userId, username));

  // No socket of the account is signed in any more, so no send can slip in
  // between: the tombstones are the last of its messages.
  let erased = 0;
  const broadcasts: Broadcast[] = [];
  if (messages === 'erase') {
    const rows = await tombstoneMessagesOf(sql, userId, undefined);
    await deleteFilesOfDeletedMessages(deps, userId);
    erased = rows.reduce((n, r) => n + r.count, 0);
    for (const r of rows) {
      if (r.recipients.length) {
        broadcasts.push({ to: r.recipients, frame: { type: 'deleted', room: r.room_id, from: username, through: r.through, seq: r.seq } });
      }
    }
  }
  for (const r of perRoom) broadcasts.push({ to: r.ids, frame: { type: 'presence', room: r.room_id, user: username, member: false } });
  if (all.length) broadcasts.push({ to: all, frame: { type: 'profile', username, deleted: true } });
  return { erased, broadcasts, close: own.map((c) => c.id) };
}
