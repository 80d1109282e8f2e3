// Token buckets in PostgreSQL, with a clock the test moves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitWithoutFlush, perWindow, pruneBudgets, spendBudget, takeBudget, takeBudgetPair } from '../../functions/core/budgets.js';
import { RateLimited } from '../../functions/core/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

const t0 = new Date('2026-01-01T12:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('takeBudgetPair', () => {
  it('charges the second only when the first was taken, and says which was short', async () => {
    const network = { key: 'pair:net', budget: perWindow(2, 60) }; // a token every 30 s
    const server = { key: 'pair:server', budget: perWindow(3, 60) }; // every 20 s
    expect(await takeBudgetPair(db.sql, network, server, t0)).toBeUndefined();
    expect(await takeBudgetPair(db.sql, network, server, t0)).toBeUndefined();
    // the network's is empty: refused, and the server's keeps its last token
    expect(await takeBudgetPair(db.sql, network, server, t0)).toEqual({ short: 'first', wait: 30 });
    expect(await takeBudget(db.sql, server.key, server.budget, t0)).toBe(0);
    // another network's is full, the server's is empty: that network pays, the server refuses
    const other = { key: 'pair:other', budget: perWindow(2, 60) };
    expect(await takeBudgetPair(db.sql, other, server, t0)).toEqual({ short: 'second', wait: 20 });
    expect(await takeBudget(db.sql, other.key, other.budget, t0)).toBe(0);
    expect(await takeBudget(db.sql, other.key, other.budget, t0)).toBe(30);
  });

  it('commits without a disk flush for its own statement only: the connection keeps its setting', async () => {
    const connection = await db.sql.reserve();
    try {
      const before = await connection<{ synchronous_commit: string }[]>`show synchronous_commit`;
      const [inside] = await connection<{ mode: string }[]>`select ${commitWithoutFlush(connection)} as set, current_setting('synchronous_commit') as mode`;
      expect(inside!.mode).toBe('off');
      expect(await takeBudgetPair(connection, { key: 'flush:a', budget: perWindow(5, 60) }, { key: 'flush:b', budget: perWindow(5, 60) }, t0)).toBeUndefined();
      const after = await connection<{ synchronous_commit: string }[]>`show synchronous_commit`;
      expect(after[0]!.synchronous_commit).toBe(before[0]!.synchronous_commit);
    } finally {
      connection.release();
    }
  });

  it("holds under parallel spending: the server's burst is never passed", async () => {
    const server = { key: 'pair:race', budget: perWindow(5, 3600) };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => takeBudgetPair(db.sql, { key: `pair:race:${i}`, budget: perWindow(10, 60) }, server, t0)),
    );
    expect(results.filter((r) => r === undefined)).toHaveLength(5);
    expect(results.filter((r) => r?.short === 'second')).toHaveLength(15);
  });
});

describe('takeBudget', () => {
  it('gives the burst, then refuses with the wait, then refills at the rate', async () => {
    const budget = perWindow(3, 60); // 3 a minute: one token every 20 s
    for (let i = 0; i < 3; i++) expect(await takeBudget(db.sql, 'k1', budget, t0)).toBe(0);
    expect(await takeBudget(db.sql, 'k1', budget, t0)).toBe(20);
    expect(await takeBudget(db.sql, 'k1', budget, at(10))).toBe(10);
    expect(await takeBudget(db.sql, 'k1', budget, at(20))).toBe(0);
    expect(await takeBudget(db.sql, 'k1', budget, at(21))).toBeGreaterThan(0);
    // a long pause refills only up to the burst
    for (let i = 0; i < 3; i++) expect(await takeBudget(db.sql, 'k1', budget, at(3600))).toBe(0);
    expect(await takeBudget(db.sql, 'k1', budget, at(3600))).toBeGreaterThan(0);
  });

  it('keeps keys apart and charges a cost', async () => {
    const budget = perWindow(10, 10);
    expect(await takeBudget(db.sql, 'a', budget, t0, 10)).toBe(0);
    expect(await takeBudget(db.sql, 'a', budget, t0, 1)).toBe(1);
    expect(await takeBudget(db.sql, 'b', budget, t0, 1)).toBe(0);
  });

  it('holds under parallel spending: never more than the burst', async () => {
    const budget = perWindow(5, 3600);
    const results = await Promise.all(Array.from({ length: 20 }, () => takeBudget(db.sql, 'race', budget, t0)));
    expect(results.filter((w) => w === 0)).toHaveLength(5);
  });

  it('spendBudget throws rate_limited with the wait', async () => {
    const budget = perWindow(1, 60);
    await spendBudget(db.sql, 'spend', budget, t0, () => 'no');
    const err = await spendBudget(db.sql, 'spend', budget, t0, (s) => `wait ${s} s`).catch((e) => e);
    expect(err).toBeInstanceOf(RateLimited);
    expect(err.message).toBe('wait 60 s');
    expect(err.retryAfter).toBe(60);
  });

  it('prunes buckets untouched for a day', async () => {
    await takeBudget(db.sql, 'old', perWindow(2, 60), t0);
    await pruneBudgets(db.sql, at(2 * 24 * 3600));
    const rows = await db.sql`select key from rate_budgets where key = 'old'`;
    expect(rows).toHaveLength(0);
  });
});
