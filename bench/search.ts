// Search at scale: 1,000,000 messages in 1,000 rooms, searched by a member of
// 200 of them through the `search` core function (functions/core/search.ts), each
// typical query timed against a naive ILIKE '%word%' over the same rooms, and
// against the same ILIKE served by a pg_trgm trigram index (the alternative to
// full-text search), in the same run. Also: the migration's index build over the
// stored messages, the indexes' sizes, and what the index adds to one insert.
//
//   npm run bench:search -- --db=postgres   (PostgreSQL: database ww_search_bench)
//   npm run bench:search -- --db=pglite     (PGlite in this process)
//
// Options: --messages=N (default 1000000), --runs=N (timed runs per query, default
// 40 on PostgreSQL, 15 on PGlite), --pg=URL (admin URL, default
// postgres://postgres@127.0.0.1:5432/test), --no-trgm, --out=FILE (JSON).
import { writeFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import postgres from 'postgres';
import { loadConfig } from '../functions/adapters/config.js';
import { createSql } from '../functions/adapters/db.js';
import { loadMigrations, migrate } from '../functions/adapters/migrate.js';
import { messageColumns } from '../functions/core/messages.js';
import type { Deps, Sql } from '../functions/core/ports.js';
import { findMessages, memberRooms, search } from '../functions/core/search.js';
import { parseSearchQuery } from '../functions/core/search-query.js';
import { loadavg } from 'node:os';

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/=.*/, ''), a.includes('=') ? a.slice(a.indexOf('=') + 1) : 'true']));
const DB = args.get('--db') ?? 'postgres';
const MESSAGES = Number(args.get('--messages') ?? 1_000_000);
const ROOMS = 1000;
const MEMBER_EVERY = 5; // the searcher is in every fifth room: 200 of 1,000
const RUNS = Number(args.get('--runs') ?? (DB === 'pglite' ? 15 : 40));
const TRGM = !args.has('--no-trgm');
const PG_ADMIN = args.get('--pg') ?? 'postgres://postgres@127.0.0.1:5432/test';

const log = (...a: unknown[]) => console.log(new Date().toISOString().slice(11, 19), ...a);

/** A database to fill: a fresh ww_search_bench on the server, or a PGlite (with pg_trgm) in this process. */
async function open(): Promise<{ sql: Sql; close(): Promise<void>; version: string }> {
  if (DB === 'pglite') {
    const db = await PGlite.create({ extensions: { pg_trgm } });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
    await server.start();
    const sql = createSql(`postgres://postgres@${server.getServerConn()}/postgres`, { max: 1 });
    const [v] = await sql<{ version: string }[]>`select version()`;
    return { sql, version: `PGlite 0.5.14 (${v!.version.split(' ').slice(0, 2).join(' ')})`, close: async () => (await sql.end(), await server.stop(), await db.close()) };
  }
  const admin = postgres(PG_ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe('drop database if exists ww_search_bench with (force)');
  await admin.unsafe('create database ww_search_bench');
  const url = new URL(PG_ADMIN);
  url.pathname = '/ww_search_bench';
  const sql = createSql(url.toString(), { max: 2 });
  const [v] = await sql<{ version: string }[]>`select version()`;
  return { sql, version: v!.version.split(' ').slice(0, 2).join(' '), close: async () => (await sql.end(), await admin.end()) };
}

// Words every message draws from (each about 3% of messages), a few with accents;
// `the` is in half of them.
const COMMON = `deploy deployment deployed server room build release merge review ticket alert metric
  latency error backup cluster node queue worker cache index table schema query login token session
  report budget meeting design sprint roadmap customer invoice payment refund email phone office lunch
  coffee weekend holiday monday friday morning evening update change issue question answer idea plan
  café déploiement naïve crème Łódź résumé`
  .split(/\s+/)
  .filter(Boolean);

async function fill(sql: Sql): Promise<{ indexBuildMs: number }> {
  const all = await loadMigrations();
  await migrate(sql, all.filter((m) => m.version < '011'));
  log('schema before 011; filling');
  await sql`insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    select 'u' || i, 'u' || i, 'u' || i || '@x', 'u' || i || '@x', 'x', now() from generate_series(1, 500) i`;
  await sql`insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values ('searcher', 'searcher', 's@x', 's@x', 'x', now())`;
  await sql`insert into rooms (id, kind) select 'r' || i, 'channel' from generate_series(1, ${ROOMS}) i`;
  await sql`insert into memberships (room_id, user_id)
    select 'r' || i, (select id from users where username = 'searcher') from generate_series(1, ${ROOMS}) i where i % ${MEMBER_EVERY} = 0`;
  // Senders: ten per room, so from: narrows to a few rooms.
  await sql`insert into memberships (room_id, user_id)
    select 'r' || r, u.id from generate_series(1, ${ROOMS}) r cross join generate_series(0, 9) k
    join users u on u.username = 'u' || (1 + (r * 7 + k) % 500) on conflict do nothing`;
  const users = await sql<{ min: string }[]>`select min(id)::text as min from users`;
  const firstUser = Number(users[0]!.min);
  // In chunks, so PGlite's single backend is not held by one huge statement.
  const chunk = 100_000;
  const started = Date.now();
  for (let from = 1; from <= MESSAGES; from += chunk) {
    const to = Math.min(MESSAGES, from + chunk - 1);
    await sql`select setseed(${from / (MESSAGES + 1)})`;
    await sql`
      insert into messages (room_id, sender_id, client_id, body, created_at)
      select 'r' || room, ${firstUser} + ((room * 7 + (i / ${ROOMS}) % 10) % 500), 'b' || i,
        concat_ws(' ',
          case when random() < 0.5 then 'the' end,
          w[1 + floor(random() * cardinality(w))::int], w[1 + floor(random() * cardinality(w))::int],
          w[1 + floor(random() * cardinality(w))::int], w[1 + floor(random() * cardinality(w))::int],
          'note' || floor(random() * 1000)::int,
          case when random() < 0.5 then 'zq' || floor(random() * 100000)::int end,
          case when random() < 0.05 then 'ERR_' || floor(random() * 100)::int end,
          case when random() < 0.03 then 'svc' || floor(random() * 50)::int || '.example.com' end,
          case when random() < 0.02 then '🚀' end),
        timestamptz '2026-11-30' - make_interval(secs => (${MESSAGES} - i) * 30)
      from (select i, 1 + (i::bigint * 7919) % ${ROOMS} as room from generate_series(${from}::int, ${to}::int) i) g,
        (select ${COMMON}::text[] as w) words`;
    log(`${to} messages (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  await sql`update rooms r set last_message_id = (select max(id) from messages m where m.room_id = r.id)`;
  log('migration 011: the index over the stored messages');
  const t0 = Date.now();
  await migrate(sql, all);
  const indexBuildMs = Date.now() - t0;
  log(`index built in ${(indexBuildMs / 1000).toFixed(1)} s`);
  await sql`vacuum analyze`;
  return { indexBuildMs };
}

interface Case {
  name: string;
  query: string;
  /** the same search as a naive ILIKE over the searcher's rooms */
  ilike: { patterns: string[]; from?: string; room?: string };
}

const CASES: Case[] = [
  { name: 'common word', query: 'deploy ', ilike: { patterns: ['%deploy%'] } },
  { name: 'very common word (the)', query: 'the ', ilike: { patterns: ['%the%'] } },
  { name: 'rare word', query: 'zq12345 ', ilike: { patterns: ['%zq12345%'] } },
  { name: 'prefix', query: 'deplo', ilike: { patterns: ['%deplo%'] } },
  { name: 'phrase', query: '"server room"', ilike: { patterns: ['%server room%'] } },
  { name: 'accent-folded word', query: 'cafe ', ilike: { patterns: ['%café%'] } },
  { name: 'code token', query: 'ERR_42 ', ilike: { patterns: ['%ERR_42%'] } },
  { name: 'word + from:', query: 'from:@u36 deploy ', ilike: { patterns: ['%deploy%'], from: 'u36' } },
  { name: 'word + in:', query: 'in:#r5 deploy ', ilike: { patterns: ['%deploy%'], room: 'r5' } },
  { name: 'from: alone', query: 'from:@u36', ilike: { patterns: [], from: 'u36' } },
];

/** The same page as search reads it (ids, then the messages' whole state) in the same rooms, found by ILIKE. */
function naive(sql: Sql, rooms: string[], c: Case['ilike']) {
  return sql`
    select ${messageColumns(sql)} from (select m.id from messages m
    where m.room_id = any(${c.room ? [c.room] : rooms}::text[])
      and m.deleted_at is null
      ${c.patterns.reduce((all, p) => sql`${all} and m.body ilike ${p}`, sql``)}
      ${c.from ? sql`and m.sender_id = (select id from users where username = ${c.from})` : sql``}
    order by m.id desc limit 21) page join messages m on m.id = page.id order by m.id desc`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function time(runs: number, work: () => Promise<unknown>): Promise<{ p50: number; p95: number; n: number }> {
  await work(); // warm: the first run reads pages into the cache
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await work();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: +percentile(ms, 50).toFixed(2), p95: +percentile(ms, 95).toFixed(2), n: runs };
}

/**
 * Microseconds per row of 20,000 stored bodies inserted into a copy of messages,
 * with and without an index: the work an index adds to each send, apart from the
 * round trip and the commit.
 */
async function insertCost(sql: Sql, index: 'none' | 'search' | 'trgm'): Promise<number> {
  await sql`drop table if exists insert_probe`;
  await sql`create table insert_probe (like messages including defaults)`;
  // as schema/011_search.sql defines it
  if (index === 'search') await sql`create index on insert_probe using gin (search_document(body)) with (fastupdate = off)`;
  if (index === 'trgm') await sql`create index on insert_probe using gin (body gin_trgm_ops)`;
  const n = 20_000;
  await sql`select body from messages order by id desc limit ${n}`; // into the cache first
  const t = performance.now();
  await sql`insert into insert_probe (id, room_id, sender_id, client_id, body, seq)
    select id, room_id, sender_id, client_id, body, seq from messages order by id desc limit ${n}`;
  const us = ((performance.now() - t) * 1000) / n;
  await sql`drop table insert_probe`;
  return +us.toFixed(1);
}

async function main() {
  const db = await open();
  const { sql } = db;
  log(`${DB}: ${db.version}, ${MESSAGES} messages`);
  const { indexBuildMs } = await fill(sql);
  const [searcher] = await sql<{ id: string }[]>`select id::text from users where username = 'searcher'`;
  await sql`insert into connections (id, user_id, authed_at) values ('bench', ${searcher!.id}, now())`;
  const settings = loadConfig({ LOG_LEVEL: 'silent', SEARCH_BURST: '1000000', SEARCHES_PER_MINUTE: '1000000' }).settings;
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const deps = { sql, settings, clock: { now: () => new Date() }, log: silent } as unknown as Deps;
  const sizes = async () =>
    sql<{ name: string; size: string; bytes: string }[]>`
      select c.relname as name, pg_size_pretty(pg_relation_size(c.oid)) as size, pg_relation_size(c.oid)::text as bytes
      from pg_class c where c.relname in ('messages', 'messages_search', 'messages_trgm', 'messages_pkey', 'messages_room_id') order by c.relname`;

  const rooms = await memberRooms(sql, searcher!.id);
  const rows: Record<string, unknown>[] = [];
  for (const c of CASES) {
    let count = 0;
    // the whole action: the budget's charge (a commit), the rooms, the page
    const action = await time(RUNS, async () => {
      const out = await search(deps, 'bench', { action: 'search', query: c.query });
      count = (out.reply as unknown as { results: unknown[] }).results.length;
    });
    // the page's statement alone, as the naive one below is timed
    const q = parseSearchQuery(c.query);
    const from = q.from ? { username: q.from } : undefined;
    const inRoom = q.in?.kind === 'channel' ? [q.in.id] : rooms;
    const fts = await time(RUNS, () =>
      sql.begin(async (tx) => {
        await tx`select set_config('plan_cache_mode', 'force_custom_plan', true), set_config('max_parallel_workers_per_gather', '0', true)`;
        return findMessages(tx, q, inRoom, from, undefined, 20);
      }),
    );
    const ilike = await time(Math.max(3, Math.round(RUNS / 4)), () => naive(sql, rooms, c.ilike));
    rows.push({ query: c.name, text: c.query.trim(), results: count, action, fts, ilike });
    log(c.name.padEnd(24), `action p50 ${action.p50} p95 ${action.p95} | fts query p50 ${fts.p50} p95 ${fts.p95} | ilike p50 ${ilike.p50} p95 ${ilike.p95} ms`, `(${count} results)`);
  }
  const insert = { none: await insertCost(sql, 'none'), search: await insertCost(sql, 'search') } as Record<string, number>;
  let trgmBuildMs: number | undefined;
  if (TRGM) {
    log('pg_trgm: building a trigram index for comparison');
    await sql`create extension if not exists pg_trgm`;
    const t0 = Date.now();
    await sql`create index messages_trgm on messages using gin (body gin_trgm_ops)`;
    trgmBuildMs = Date.now() - t0;
    await sql`analyze messages`;
    log(`trigram index built in ${(trgmBuildMs / 1000).toFixed(1)} s`);
    for (const [i, c] of CASES.entries()) {
      if (!c.ilike.patterns.length) continue;
      // few runs: a common word takes seconds this way
      const trgm = await time(3, () => naive(sql, rooms, c.ilike));
      rows[i]!.trgm = trgm;
      log(c.name.padEnd(24), `ilike + trigram index p50 ${trgm.p50} p95 ${trgm.p95} ms`);
    }
    insert.trgm = await insertCost(sql, 'trgm');
  }
  const indexSizes = await sizes();
  log('sizes', indexSizes.map((s) => `${s.name} ${s.size}`).join(', '));
  log('insert µs: no index', insert.none, '| search index', insert.search, '| trigram index', insert.trgm);
  const result = { db: DB, version: db.version, loadAverage: loadavg(), messages: MESSAGES, rooms: ROOMS, memberOf: ROOMS / MEMBER_EVERY, runs: RUNS, indexBuildMs, trgmBuildMs, sizes: indexSizes, insertMicros: insert, queries: rows };
  const out = args.get('--out') ?? `bench/results/search-${DB}-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}.json`;
  await writeFile(out, JSON.stringify(result, null, 2));
  log(`written ${out}`);
  await db.close();
}

await main();
