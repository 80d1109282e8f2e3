// Where a process stood still, and when: garbage collections (from the runtime's
// own `gc` entries) and event-loop stalls (a 10 ms timer that came late). A tail
// latency over a few hundred messages is set by two or three of them; this says
// whether a load generator or the server was paused at that moment.
import { PerformanceObserver, performance } from 'node:perf_hooks';

export interface Pause {
  /** when it began, ms since the epoch */
  atMs: number;
  ms: number;
  kind: 'gc-major' | 'gc-minor' | 'gc-other' | 'stall';
}

const TICK_MS = 10;
/** shorter pauses are not kept: noise, and too many of them */
const KEEP_MS = 20;
const MAX_KEPT = 5_000;

export function recordPauses(): { since(ms: number): Pause[]; clear(): void } {
  const kept: Pause[] = [];
  const keep = (p: Pause) => {
    if (p.ms >= KEEP_MS && kept.length < MAX_KEPT) kept.push(p);
  };
  const epoch = (t: number) => Math.round(performance.timeOrigin + t);
  const kinds: Record<number, Pause['kind']> = { 1: 'gc-minor', 2: 'gc-major', 4: 'gc-other', 8: 'gc-other', 16: 'gc-other' };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 4] ?? 'gc-other';
      keep({ atMs: epoch(e.startTime), ms: Math.round(e.duration), kind });
    }
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    const late = now - last - TICK_MS;
    if (late >= KEEP_MS) keep({ atMs: epoch(last + TICK_MS), ms: Math.round(late), kind: 'stall' });
    last = now;
  }, TICK_MS).unref();
  return {
    since: (ms) => kept.filter((p) => p.atMs >= ms),
    clear: () => void kept.splice(0),
  };
}
