// Transactions through the pool wrapper (healing-sql.ts) under load: postgres.js
// 3.4.9's own sql.begin can write BEGIN to a connection without reserving it when
// that connection's pipeline is full or its socket is busy (porsager/postgres
// issues 823 and 1189): the caller gets UNSAFE_TRANSACTION, and other queries can
// run inside the open transaction. The wrapper reserves an idle connection first.
// The load here is the issue's own reproduction: every connection busy, plain
// queries and transactions queued behind them at once, over and over. Needs the
// real server (the embedded database runs one connection, where the race cannot happen).
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { healingSql } from '../../functions/adapters/healing-sql.js';
import type { Sql } from '../../functions/core/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  db = await createTestDatabase({ empty: true });
  // The pool on the real server; the embedded database serves one connection.
  sql = db.real
    ? healingSql((onclose) => postgres(db.url, { max: 3, max_pipeline: 2, onnotice: () => {}, onclose } as postgres.Options<{}>) as unknown as Sql)
    : db.sql;
  await sql`create table tally (id int primary key, n int not null)`;
  await sql`insert into tally values (1, 0)`;
});
afterAll(async () => {
  if (db?.real) await sql?.end({ timeout: 1 });
  await db?.close();
});

it.runIf(process.env.TEST_DATABASE_URL)('keeps each transaction on a connection of its own when every connection is busy', { timeout: 60_000 }, async () => {
  const failures: string[] = [];
  let committed = 0;
  for (let round = 0; round < 20; round++) {
    // Sent now, not on the next tick as queries are by default: the transactions
    // below then find every connection busy and their pipelines filling.
    const busy = [1, 2, 3].map(() => sql`select pg_sleep(0.05)`.execute());
    const plain = Array.from({ length: 6 }, (_, i) => sql`select ${i}::int as i`.execute());
    const transactions = Array.from({ length: 5 }, () =>
      sql.begin(async (tx) => {
        // Inside a transaction of its own, the row lock is held and the status says so.
        const [row] = await tx<{ status: string }[]>`select current_setting('transaction_isolation') as status, txid_current_if_assigned() is null as fresh`;
        await tx`update tally set n = n + 1 where id = 1`;
        await tx`select pg_sleep(0.005)`;
        return row;
      }),
    );
    const settled = await Promise.allSettled([...busy, ...plain, ...transactions]);
    for (const s of settled) if (s.status === 'rejected') failures.push(String((s.reason as Error).message ?? s.reason));
    committed += transactions.length;
  }
  expect(failures).toEqual([]);
  const [tally] = await sql<{ n: number }[]>`select n from tally where id = 1`;
  expect(tally!.n).toBe(committed);
  // No connection was left inside a transaction.
  const open = await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`;
  expect(open[0]!.n).toBe(0);
});

it('rolls back when the callback throws, and the connection serves others afterwards', async () => {
  await expect(
    sql.begin(async (tx) => {
      await tx`update tally set n = -1000 where id = 1`;
      throw new Error('changed my mind');
    }),
  ).rejects.toThrow('changed my mind');
  const [tally] = await sql<{ n: number }[]>`select n from tally where id = 1`;
  expect(tally!.n).not.toBe(-1000);
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => sql.begin(async (tx) => (await tx<{ i: number }[]>`select ${i}::int as i`)[0]!.i)));
  expect(results).toEqual([...Array(10).keys()]);
});
