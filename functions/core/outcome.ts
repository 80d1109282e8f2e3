import type { Frame } from './ports.js';

/** Frames to fan out after the reply: one frame to many connections. */
export interface Broadcast {
  to: readonly string[];
  frame: Frame;
}

/**
 * What a core action decides. The handler wrapper posts `reply` to the caller
 * first (so the caller's latency does not grow with the room), then the broadcasts,
 * then closes `close`.
 */
export interface Outcome {
  reply?: Frame;
  broadcasts?: Broadcast[];
  close?: string[];
  /**
   * Work after the fan-out (E25: Web Push for a fresh message), so it adds
   * nothing to the caller's latency or the room's. Its failure is logged, never
   * the caller's error: the action has happened.
   */
  after?: () => Promise<void>;
}
