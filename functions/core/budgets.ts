// Budgets: a token bucket per key, in one statement, shared by every process.
// Keys name the action and who pays: 'join:user:42', 'auth:ip:203.0.113.9',
// 'mail:global'. A bucket holds `burst` tokens and refills at `perSecond`.
import { RateLimited } from './errors.js';
import type { Queryable, Sql } from './ports.js';

export interface Budget {
  burst: number;
  perSecond: number;
}

/** A budget of `count` per `seconds`, all of it usable at once. */
export function perWindow(count: number, seconds: number): Budget {
  return { burst: count, perSecond: count / seconds };
}

/**
 * Takes `cost` tokens from the bucket at `key`, or none when fewer are left.
 * Returns 0 when taken, else the seconds until enough have refilled.
 */
export async function takeBudget(sql: Queryable, key: string, budget: Budget, now: Date, cost = 1): Promise<number> {
  const [row] = await sql<{ taken: boolean; tokens: number }[]>`
    with taken as (${chargeBucket(sql, sql`select ${key}::text as key`, budget, now, cost)})
    select true as taken, tokens from taken
    union all
    select false, ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = ${key} and not exists (select 1 from taken)`;
  if (row?.taken) return 0;
  // No row: not taken, and the bucket is not in this statement's snapshot. Its
  // first charge, made by a parallel statement, committed after this one began;
  // the upsert then saw that row and found it short.
  return waitFor(row?.tokens ?? 0, budget, cost);
}

/**
 * SQL: a scalar that makes the transaction it runs in (a statement's own, or
 * the one it is part of) commit without waiting for its WAL to reach the disk
 * (`synchronous_commit = off`, for that transaction only). Only where a
 * transaction writes nothing but budget counters and connection state
 * (connections, presence_watches, a session's last use): a database crash loses
 * at most the last fraction of a second of those, which costs nothing (a bucket
 * a little fuller; a socket that signs in again, as every socket does when the
 * database goes away). Messages and accounts keep the full flush. What it buys:
 * a budget row shared by many (a network's, the server's) is locked by each
 * charge until its commit, so with a flush in every commit the sign-ins of a
 * whole server take turns behind the slowest flush, and one that stalls for a
 * moment stalls them all; and a sign-in costs the disk nothing.
 */
export function commitWithoutFlush(sql: Queryable) {
  return sql`(select set_config('synchronous_commit', 'off', true))`;
}

/**
 * Takes `cost` from the bucket `first` and, only if that was taken, from
 * `second`, in one statement (two budgets that guard one step, a network's and
 * the server's, cost one round trip). Returns which was short and the seconds
 * until it has `cost` again, or undefined when both were taken. On the pool,
 * not in a transaction: it commits without waiting for the disk
 * (commitWithoutFlush), which would hold for everything else in one.
 */
export async function takeBudgetPair(
  sql: Sql,
  first: { key: string; budget: Budget },
  second: { key: string; budget: Budget },
  now: Date,
  cost = 1,
): Promise<{ short: 'first' | 'second'; wait: number } | undefined> {
  const [row] = await sql<{ first_taken: boolean; second_taken: boolean; first_tokens: number | null; second_tokens: number | null }[]>`
    with first_taken as (${chargeBucket(sql, sql`select ${first.key}::text as key`, first.budget, now, cost)}),
    second_taken as (${chargeBucket(sql, sql`select ${second.key}::text as key where exists (select 1 from first_taken)`, second.budget, now, cost)})
    select exists (select 1 from first_taken) as first_taken, exists (select 1 from second_taken) as second_taken,
      (select ${refilledTokens(sql, first.budget, now)} from rate_budgets b where b.key = ${first.key}) as first_tokens,
      (select ${refilledTokens(sql, second.budget, now)} from rate_budgets b where b.key = ${second.key}) as second_tokens,
      ${commitWithoutFlush(sql)} as commit_mode`;
  // one row always: the select has no FROM
  if (row!.second_taken) return undefined;
  return row!.first_taken
    ? { short: 'second', wait: waitFor(row!.second_tokens ?? 0, second.budget, cost) }
    : { short: 'first', wait: waitFor(row!.first_tokens ?? 0, first.budget, cost) };
}

/** Seconds until a bucket holding `tokens` has `cost` again. */
export function waitFor(tokens: number, budget: Budget, cost = 1): number {
  return Math.max(1, Math.ceil((cost - Math.max(0, tokens)) / budget.perSecond));
}

/**
 * SQL for the tokens in the bucket row `b` at `now`: what was left at its last
 * update plus the refill since, capped at the burst.
 */
export function refilledTokens(sql: Queryable, budget: Budget, now: Date) {
  return sql`least(${budget.burst}::float8,
    b.tokens + ${budget.perSecond}::float8 * greatest(0, extract(epoch from (${now}::timestamptz - b.updated_at)))::float8)`;
}

/**
 * SQL that takes `cost` tokens from the buckets whose keys `keys` selects (a
 * query with a `key` column; no row, no charge), for use as a CTE inside a larger
 * statement, so that a budget check costs no round trip of its own. Returns a row
 * (`key`, `tokens` left) per bucket charged; a bucket short of tokens is left as
 * it is and returns nothing. The upsert's row lock makes parallel charges of one
 * key take turns, each seeing the tokens the last one left.
 */
export function chargeBucket(sql: Queryable, keys: ReturnType<Queryable>, budget: Budget, now: Date, cost = 1) {
  const refilled = refilledTokens(sql, budget, now);
  return sql`
    insert into rate_budgets as b (key, tokens, updated_at)
    select k.key, ${budget.burst - cost}::float8, ${now}::timestamptz from (${keys}) k
    on conflict (key) do update set tokens = ${refilled} - ${cost}::float8, updated_at = ${now}
      where ${refilled} >= ${cost}::float8
    returning b.key, b.tokens`;
}

/** Takes from the budget or throws `rate_limited` with `message` and the wait. */
export async function spendBudget(
  sql: Queryable,
  key: string,
  budget: Budget,
  now: Date,
  message: (waitSeconds: number) => string,
  cost = 1,
): Promise<void> {
  const wait = await takeBudget(sql, key, budget, now, cost);
  if (wait > 0) throw new RateLimited(message(wait), wait);
}

/**
 * Deletes buckets untouched for a day: they are full again, the same as absent.
 * It reads the whole table: updated_at has no index, so that charging a bucket
 * rewrites the row alone (schema/014_budget_writes.sql).
 */
export async function pruneBudgets(sql: Sql, now: Date): Promise<void> {
  await sql`delete from rate_budgets where updated_at < ${new Date(now.getTime() - 24 * 60 * 60 * 1000)}`;
}
