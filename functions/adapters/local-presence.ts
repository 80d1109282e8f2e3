// E23 on the local server: `presence_batch` changes wait here for the window
// (PRESENCE_BATCH_MS) and leave as one frame per connection, the last status per
// person winning. One timer for all connections: the first change after a flush
// starts it, so a change waits at most one window and a connection gets at most
// one frame per window.
//
// Bounded: a connection's buffer holds at most `perConnectionMax` people (the
// watch cap, as only watched people's changes reach it); a change of one more
// person (possible just after the connection replaced its list) sends what the
// buffer holds at once rather than grow it. Nothing is dropped but a person's
// older status in the same window.
import { emptyPresence, groupByFrame, mergePresence, presenceBatchFrame, type PresenceBatcher, type PresenceMap } from '../core/presence.js';

export interface LocalPresenceOptions {
  windowMs: number;
  perConnectionMax: number;
  /** posts one frame to many connections; resolves with those found gone */
  post: (to: readonly string[], frame: ReturnType<typeof presenceBatchFrame>) => Promise<string[]>;
  /** told of connections found gone, to drop them as any fan-out does */
  onGone: (ids: string[]) => Promise<void>;
  onError?: (err: unknown) => void;
  /**
   * Rewrites each status to the person's state now, just before the frames go
   * (presence-queue.ts toCurrentState): two changes of one person made side by
   * side can reach the buffer in the other order than they were committed.
   */
  current?: (merged: Map<string, PresenceMap[]>) => Promise<void>;
}

export class LocalPresenceBatcher implements PresenceBatcher {
  private pending = new Map<string, PresenceMap>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: LocalPresenceOptions) {}

  async add(to: readonly string[], presence: PresenceMap): Promise<readonly string[]> {
    if (this.closed) return [];
    const overflow: Array<{ to: string[]; presence: PresenceMap }> = [];
    const people = Object.entries(presence);
    for (const id of to) {
      let buffer = this.pending.get(id);
      if (!buffer) this.pending.set(id, (buffer = emptyPresence()));
      for (const [user, status] of people) {
        if (!Object.hasOwn(buffer, user) && Object.keys(buffer).length >= this.options.perConnectionMax) {
          overflow.push({ to: [id], presence: buffer });
          this.pending.set(id, (buffer = emptyPresence()));
        }
        delete buffer[user];
        buffer[user] = status;
      }
    }
    if (!this.timer && this.pending.size) {
      this.timer = setTimeout(() => void this.flush(), this.options.windowMs);
      this.timer.unref?.();
    }
    if (overflow.length) await this.send(overflow);
    return [];
  }

  /** Posts everything waiting now: one frame per connection, one post per distinct frame. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const waiting = this.pending;
    this.pending = new Map();
    await this.send([...waiting].map(([id, presence]) => ({ to: [id], presence })));
  }

  /** A connection that closed: nothing more to send it. */
  forget(connectionId: string): void {
    this.pending.delete(connectionId);
  }

  /** Stops the timer; what waits is not sent (the server is going down). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  /** connections with a change waiting (tests look at the bound) */
  get size(): number {
    return this.pending.size;
  }

  private async send(items: Array<{ to: string[]; presence: PresenceMap }>): Promise<void> {
    try {
      const gone: string[] = [];
      const merged = mergePresence(items);
      await this.options.current?.(merged);
      for (const g of groupByFrame(merged)) gone.push(...(await this.options.post(g.to, presenceBatchFrame(g.presence))));
      if (gone.length) await this.options.onGone([...new Set(gone)]);
    } catch (err) {
      this.options.onError?.(err);
    }
  }
}
