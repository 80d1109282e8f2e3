// The channel directory (E21): public channels by shown name, with their topic
// and member count, searched by a piece of the name or the topic, a page at a
// time. Private channels are never listed; DMs are not channels.
import * as v from 'valibot';
import { requireCallerWithin } from './limits.js';
import { CHANNEL, hasForbiddenControls } from './names.js';
import type { Outcome } from './outcome.js';
import type { Deps, Sql } from './ports.js';
import { pageLimit, requestId } from './protocol.js';
import { REPLY_BUDGET_BYTES, fitPrefix } from './sizes.js';

export const DirectoryFrame = v.object({
  action: v.literal('directory'),
  id: requestId,
  query: v.optional(
    v.pipe(
      v.string('query must be a string'),
      v.trim(),
      v.maxLength(64, 'A directory search is at most 64 characters.'),
      v.check((s) => s.isWellFormed() && !hasForbiddenControls(s), 'The search contains characters that cannot be searched for.'),
    ),
  ),
  // the shown name of the last channel of the page before
  after: v.optional(v.pipe(v.string('after must be a channel name'), v.regex(CHANNEL, 'after must be a channel name'))),
  limit: pageLimit(100),
});
export type DirectoryFrame = v.InferOutput<typeof DirectoryFrame>;

/** A channel as the directory lists it. */
export interface DirectoryEntry {
  id: string;
  name: string;
  topic?: string;
  memberCount: number;
  /** the caller is in it */
  joined?: true;
}

/**
 * A page of public channels whose shown name or topic contains `query` (case
 * does not matter), by shown name after `after`. A substring search, not a
 * pattern: the query's % and _ are plain characters.
 */
export async function listDirectory(sql: Sql, userId: string, query: string, after: string | undefined, limit: number) {
  const rows = await sql<{ id: string; name: string; topic: string; member_count: number; joined: boolean }[]>`
    select r.id, coalesce(r.name, r.id) as name, r.topic,
      (select count(*)::int from memberships m where m.room_id = r.id) as member_count,
      exists (select 1 from memberships m where m.room_id = r.id and m.user_id = ${userId}) as joined
    from rooms r
    where r.kind = 'channel' and not r.private
      ${after ? sql`and coalesce(r.name, r.id) > ${after}` : sql``}
      ${query ? sql`and (strpos(coalesce(r.name, r.id), lower(${query})) > 0 or strpos(lower(r.topic), lower(${query})) > 0)` : sql``}
    order by coalesce(r.name, r.id)
    limit ${limit + 1}`;
  const entries: DirectoryEntry[] = rows.slice(0, limit).map((r) => ({
    id: r.id,
    name: r.name,
    ...(r.topic ? { topic: r.topic } : {}),
    memberCount: r.member_count,
    ...(r.joined ? { joined: true as const } : {}),
  }));
  // bounded by bytes too, whatever the topics hold (a reply stays under 128 KB)
  const { taken } = fitPrefix(entries, REPLY_BUDGET_BYTES, 1);
  return { channels: taken, hasMore: rows.length > taken.length };
}

/** `directory`: a page of the channel directory; costs a read. */
export async function directory(deps: Deps, connectionId: string, frame: DirectoryFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  const page = await listDirectory(deps.sql, caller.userId, frame.query ?? '', frame.after, frame.limit ?? 50);
  return { reply: { type: 'directory', query: frame.query ?? '', ...page } };
}
