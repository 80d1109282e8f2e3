// The pause recorder the login ramp reports with (bench/pauses.ts): a stall of the
// event loop is found, with when it began; a quiet loop leaves nothing.
import { describe, expect, it } from 'vitest';
import { recordPauses } from '../../bench/pauses.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('recordPauses', () => {
  it('records an event-loop stall with when it began, and forgets it when cleared', async () => {
    const pauses = recordPauses();
    await sleep(50);
    pauses.clear();
    const before = Date.now();
    const until = before + 120;
    while (Date.now() < until) {
      /* the event loop is held */
    }
    await sleep(50);
    const stalls = pauses.since(0).filter((p) => p.kind === 'stall');
    expect(stalls.length).toBeGreaterThanOrEqual(1);
    const longest = stalls.reduce((a, b) => (b.ms > a.ms ? b : a));
    expect(longest.ms).toBeGreaterThanOrEqual(100);
    expect(longest.atMs).toBeGreaterThanOrEqual(before - 20);
    expect(longest.atMs).toBeLessThanOrEqual(before + 20);
    expect(pauses.since(until + 1000)).toEqual([]);
    pauses.clear();
    expect(pauses.since(0)).toEqual([]);
  });
});
