// Blocks (docs/PROTOCOL.md, E22): a person blocks another. Between them no direct
// message is delivered, in either direction (the send statement checks it,
// messages.ts), nor does anything else reach the other through their DM: edit and
// react (conversations.ts), set_timer (disappearing.ts), upload (files.ts), a
// join that would open it (rooms.ts), each refused in its own statement, and
// neither may invite the other into a channel (moderation.ts); the blocked person's presence is hidden from the blocker
// (presence.ts, rooms.ts listMembers); clients collapse the blocked person's
// channel messages. Blocks are one person's own list: the blocked person is never
// told, and it reaches every device of the blocker (`authed.blocks`, the `blocks`
// event).
import * as v from 'valibot';
import { BadRequest, NotFound } from './errors.js';
import type { Caller } from './identity.js';
import { requireCallerWithin } from './limits.js';
import { USERNAME } from './names.js';
import type { Outcome } from './outcome.js';
import type { Deps, Queryable } from './ports.js';
import { requestId } from './protocol.js';

/** People one person may block: `authed` carries them all, so the list is bounded. */
export const MAX_BLOCKS = 500;

export const blockTarget = v.pipe(
  v.string('user must be a username'),
  v.toLowerCase(),
  v.regex(USERNAME, 'user must be a username: 3 to 32 characters of a-z, 0-9, _ . and -.'),
);

export const BlockFrame = v.object({ action: v.literal('block'), id: requestId, user: blockTarget });
export type BlockFrame = v.InferOutput<typeof BlockFrame>;
export const UnblockFrame = v.object({ action: v.literal('unblock'), id: requestId, user: blockTarget });
export type UnblockFrame = v.InferOutput<typeof UnblockFrame>;
export const BlocksFrame = v.object({ action: v.literal('blocks'), id: requestId });
export type BlocksFrame = v.InferOutput<typeof BlocksFrame>;

/** The usernames a person has blocked, by name. */
export async function blockedNames(sql: Queryable, userId: string): Promise<string[]> {
  const rows = await sql<{ username: string }[]>`
    select u.username from blocks b join users u on u.id = b.blocked_id
    where b.blocker_id = ${userId} order by u.username`;
  return rows.map((r) => r.username);
}

/** The caller's list as the reply, and as the `blocks` event to their other connections. */
async function blocksOutcome(deps: Deps, caller: Caller): Promise<Outcome> {
  const { sql } = deps;
  const [blocks, others] = await Promise.all([
    blockedNames(sql, caller.userId),
    sql<{ id: string }[]>`select id from connections where user_id = ${caller.userId} and id <> ${caller.connectionId}`,
  ]);
  const frame = { type: 'blocks', blocks };
  return { reply: frame, broadcasts: others.length ? [{ to: others.map((o) => o.id), frame }] : [] };
}

/** `block`: adds a person to the caller's blocks (blocking them again changes nothing). */
export async function block(deps: Deps, connectionId: string, frame: BlockFrame): Promise<Outcome> {
  const { sql } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'block');
  if (frame.user === caller.username) throw new BadRequest('You cannot block yourself.');
  const [row] = await sql<{ found: boolean; added: boolean; already: boolean; count: number }[]>`
    with target as (
      select id from users where username = ${frame.user} and verified_at is not null
    ), mine as (
      select count(*)::int as n from blocks where blocker_id = ${caller.userId}
    ), added as (
      insert into blocks (blocker_id, blocked_id)
      select ${caller.userId}, t.id from target t, mine where mine.n < ${MAX_BLOCKS}
      on conflict do nothing
      returning blocked_id
    )
    select exists (select 1 from target) as found, exists (select 1 from added) as added, (select n from mine) as count,
      exists (select 1 from blocks b join target t on b.blocked_id = t.id where b.blocker_id = ${caller.userId}) as already`;
  if (!row?.found) throw new NotFound(`There is nobody called ${frame.user}.`);
  if (!row.added && !row.already) throw new BadRequest(`You have blocked ${MAX_BLOCKS} people, the most allowed; unblock someone first.`);
  return blocksOutcome(deps, caller);
}

/** `unblock`: takes a person off the caller's blocks (unblocking someone not blocked changes nothing). */
export async function unblock(deps: Deps, connectionId: string, frame: UnblockFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'block');
  // *(E24)* The unblocked person's messages now count for email notices again,
  // and the notice sweep reads only new messages: the caller becomes its candidate.
  await deps.sql`
    with gone as (
      delete from blocks b using users u
      where b.blocker_id = ${caller.userId} and b.blocked_id = u.id and u.username = ${frame.user}
      returning b.blocker_id
    )
    insert into notice_candidates (user_id)
    select u.id from users u where u.id in (select blocker_id from gone) and u.notify <> 'off'
    on conflict (user_id) do nothing`;
  return blocksOutcome(deps, caller);
}

/** `blocks`: the caller's list, the same reply as `block` and `unblock` give. */
export async function listBlocks(deps: Deps, connectionId: string, _frame: BlocksFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  const blocks = await blockedNames(deps.sql, caller.userId);
  return { reply: { type: 'blocks', blocks } };
}

/**
 * SQL: whether a block stands between the sender `s` (a CTE row with `user_id`)
 * and the other person of a direct-message room, and which way: 'mine' when the
 * sender blocked them, 'theirs' when they blocked the sender (null: no block).
 * By name, so it answers before the room exists.
 */
export function dmBlockSql(sql: Queryable, users: readonly [string, string] | readonly string[]) {
  return sql`(
    select case when b.blocker_id = s.user_id then 'mine' else 'theirs' end
    from users o join blocks b on (b.blocker_id = s.user_id and b.blocked_id = o.id) or (b.blocker_id = o.id and b.blocked_id = s.user_id)
    where o.username = any(${users as string[]}::text[]) and o.id <> s.user_id
    order by b.blocker_id = s.user_id desc
    limit 1)`;
}
