// What the tests of the web client's logic in Node share: a message to build
// lists from, the browser's globals the client needs, and a wait on its state.
import WebSocket from 'ws';
import { vi } from 'vitest';
import type { Message } from '../../web/src/types.js';

/** A message from bob in #general whose seq is its id; `extra` sets the rest. */
export const msg = (id: string, extra: Partial<Message> = {}): Message => ({
  id,
  room: 'general',
  from: 'bob',
  text: `m${id}`,
  at: '2026-11-30T12:00:00.000Z',
  clientId: `c${id}`,
  seq: id,
  ...extra,
});

/** What the browser gives the client: a WebSocket, storage (kept in `stored`) and a hidden document. Undo with vi.unstubAllGlobals. */
export function stubBrowserGlobals(stored: Map<string, string>): void {
  vi.stubGlobal('WebSocket', WebSocket);
  vi.stubGlobal('localStorage', {
    getItem: (k: string) => stored.get(k) ?? null,
    setItem: (k: string, v: string) => void stored.set(k, v),
    removeItem: (k: string) => void stored.delete(k),
  });
  vi.stubGlobal('document', { visibilityState: 'hidden' });
}

/** Waits until `check` holds, by the monotonic clock (a test may move Date.now). */
export async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
