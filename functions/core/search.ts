// `search` (docs/PROTOCOL.md, E15): the messages of every room the caller is a
// member of that match a query (search-query.ts), newest first, a page at a time
// by a cursor on the message id. The words are looked up in the full-text index
// of schema/011_search.sql; which messages a search may show at all is said once,
// by searchableMessage.
import type { Fragment } from 'postgres';
import * as v from 'valibot';
import { BadRequest, Forbidden } from './errors.js';
import { notExpired } from './expiry.js';
import { requireCallerWithin } from './limits.js';
import { type MessageRow, messageColumns, toMessage } from './messages.js';
import { dmRoomId, hasForbiddenControls } from './names.js';
import type { Outcome } from './outcome.js';
import type { Deps, Queryable } from './ports.js';
import { type Message, pageLimit, requestId, requiredMessageId } from './protocol.js';
import { isMember } from './rooms.js';
import { MAX_QUERY, type SearchQuery, highlightRanges, parseSearchQuery } from './search-query.js';
import { REPLY_BUDGET_BYTES, fitPrefix } from './sizes.js';

/** Results a page holds by default, and at most. */
export const SEARCH_PAGE = 20;
export const MAX_SEARCH_PAGE = 50;

/** `{"action":"search","id"?,"query","before"?,"limit"?}`: `before` is the previous page's `next`. */
export const SearchFrame = v.object({
  action: v.literal('search'),
  id: requestId,
  query: v.pipe(
    v.string('query must be a string'),
    // A cheap bound before any parsing; parseSearchQuery counts characters.
    v.maxLength(MAX_QUERY * 2, `A search is at most ${MAX_QUERY} characters.`),
    // no lone surrogates or control characters (a NUL cannot even reach PostgreSQL)
    v.check((s) => s.isWellFormed() && !hasForbiddenControls(s), 'The search contains characters that cannot be searched for.'),
  ),
  before: v.optional(requiredMessageId('before')),
  limit: pageLimit(MAX_SEARCH_PAGE),
});
export type SearchFrame = v.InferOutput<typeof SearchFrame>;

/** One result: the message's whole state, and where its text matches ([start, end) in UTF-16 units). */
export interface SearchResult {
  message: Message;
  highlights: [number, number][];
}

/**
 * The messages rows a search may show, for the row in scope as `m`: not deleted
 * (a tombstone keeps no text) and not expired (a disappearing message is gone
 * from every read at its time, before the sweep deletes the row). Every search
 * reads through this one fragment, so a new reason to hide a message is one line
 * here.
 */
export function searchableMessage(sql: Queryable): Fragment {
  return sql`m.deleted_at is null and ${notExpired(sql, 'm')}`;
}

/**
 * The query's words as one tsquery, or undefined when it has none (a filter
 * alone). Words and phrases go through phraseto_tsquery, so a code-like word
 * (ERR_42) is its parts in a row, as the index split it; the word being typed
 * gets `:*` on its last part. The texts are parameters; only PostgreSQL's own
 * tsquery output is ever read back as tsquery syntax.
 */
function matchQuery(sql: Queryable, query: SearchQuery): Fragment | undefined {
  const words = (text: string) => sql`phraseto_tsquery('simple'::regconfig, search_fold(${text}::text))`;
  const parts = [
    ...query.include.map(words),
    ...(query.prefix !== undefined ? [sql`(nullif(${words(query.prefix)}::text, '') || ':*')::tsquery`] : []),
    ...query.exclude.map((text) => sql`!! ${words(text)}`),
  ];
  if (!parts.length) return undefined;
  return parts.slice(1).reduce((all, part) => sql`(${all}) && (${part})`, parts[0]!);
}

/** The sender a search is narrowed to: an id (from:me), or a username. */
export type Sender = { id: string } | { username: string };

/** The ids of the rooms `userId` is a member of. */
export async function memberRooms(sql: Queryable, userId: string): Promise<string[]> {
  const rows = await sql<{ room_id: string }[]>`select room_id from memberships where user_id = ${userId}`;
  return rows.map((r) => r.room_id);
}

/**
 * One page of matches in `rooms`, newest first: ids first (the index lookup or a
 * walk back from the newest message, the filters, cut at `limit` + 1), then the
 * whole state of those rows only. The rooms come as a list of values rather
 * than a subquery, so that the planner knows how many messages they hold.
 */
export function findMessages(sql: Queryable, query: SearchQuery, rooms: string[], from: Sender | undefined, before: string | undefined, limit: number) {
  const match = matchQuery(sql, query);
  return sql<MessageRow[]>`
    select ${messageColumns(sql)} from (
      select m.id from messages m
      where m.room_id = any(${rooms}::text[])
        and ${searchableMessage(sql)}
        ${match ? sql`and search_document(m.body) @@ (${match})` : sql``}
        ${query.symbols.reduce((all, s) => sql`${all} and strpos(m.body, ${s}::text) > 0`, sql``)}
        ${query.excludedSymbols.reduce((all, s) => sql`${all} and strpos(m.body, ${s}::text) = 0`, sql``)}
        ${from && 'id' in from ? sql`and m.sender_id = ${from.id}` : sql``}
        ${from && 'username' in from ? sql`and m.sender_id = (select u.id from users u where u.username = ${from.username})` : sql``}
        ${query.before ? sql`and m.created_at < ${query.before}` : sql``}
        ${query.after ? sql`and m.created_at >= ${query.after}` : sql``}
        ${before !== undefined ? sql`and m.id < ${before}` : sql``}
      order by m.id desc
      limit ${limit + 1}
    ) page join messages m on m.id = page.id
    order by m.id desc`;
}

/** PostgreSQL's code for a statement stopped by statement_timeout. */
const QUERY_CANCELED = '57014';
export const TOO_BROAD = 'That search took too long: add a word, or narrow it with in:, from: or after:.';

export async function search(deps: Deps, connectionId: string, frame: SearchFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  // The query is read before anything is charged or looked up: a mistake costs nothing.
  const query = parseSearchQuery(frame.query);
  const caller = await requireCallerWithin(deps, connectionId, 'search');
  let roomId: string | undefined;
  if (query.in) {
    const where = query.in;
    roomId = where.kind === 'channel' ? where.id : where.kind === 'dm' ? dmRoomId(caller.username, where.with) : where.room.id;
    // The same sentence whether or not the room exists: a search tells nothing
    // about rooms one is not in.
    if (!(await isMember(sql, roomId, caller.userId))) {
      throw new Forbidden(
        where.kind === 'dm' ? `You have no conversation with @${where.with} to search.` : `You are not a member of ${where.kind === 'channel' ? `#${roomId}` : 'that conversation'}, so it cannot be searched.`,
      );
    }
  }
  const from = query.from === 'me' ? { id: caller.userId } : query.from !== undefined ? { username: query.from } : undefined;
  const limit = frame.limit ?? SEARCH_PAGE;
  const rows: MessageRow[] = await sql.begin(async (tx) => {
    // Planned for these very words and rooms: whether to walk back from the
    // newest message (a common word) or look the words up in the index (a rare
    // one) depends on them, and a generic plan (the embedded database keeps one
    // per statement) would take one way for every query. Parallel workers only
    // slow a query that stops after a page. A statement that runs past
    // SEARCH_TIMEOUT_MS is stopped (PostgreSQL; PGlite has no timer).
    await tx`select set_config('plan_cache_mode', 'force_custom_plan', true), set_config('max_parallel_workers_per_gather', '0', true),
      set_config('statement_timeout', ${String(settings.searchTimeoutMs)}, true)`;
    const rooms = roomId !== undefined ? [roomId] : await memberRooms(tx, caller.userId);
    return rooms.length ? [...(await findMessages(tx, query, rooms, from, frame.before, limit))] : [];
  }).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === QUERY_CANCELED) throw new BadRequest(TOO_BROAD);
    throw err;
  });
  const results: SearchResult[] = rows.slice(0, limit).map((row) => {
    const message = toMessage(row);
    return { message, highlights: highlightRanges(message.text, query) };
  });
  const { taken } = fitPrefix(results, REPLY_BUDGET_BYTES, 1);
  const more = rows.length > taken.length;
  return {
    reply: { type: 'search_results', query: frame.query, results: taken, next: more ? taken.at(-1)!.message.id : null },
  };
}
