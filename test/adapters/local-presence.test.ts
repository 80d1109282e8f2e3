// The local server's presence coalescer (E23): one frame per connection per
// window, the last status per person winning, connections that get the same frame
// posted in one call, a bounded buffer per connection, and gone connections
// handed on to be dropped.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalPresenceBatcher } from '../../functions/adapters/local-presence.js';
import type { Frame } from '../../functions/core/ports.js';

describe('LocalPresenceBatcher', () => {
  afterEach(() => vi.useRealTimers());

  function make(perConnectionMax = 3, goneIds: string[] = []) {
    const posts: Array<{ to: string[]; frame: Frame }> = [];
    const gone: string[][] = [];
    const b = new LocalPresenceBatcher({
      windowMs: 1000,
      perConnectionMax,
      post: async (to, frame) => {
        posts.push({ to: [...to], frame });
        return to.filter((id) => goneIds.includes(id));
      },
      onGone: async (ids) => void gone.push(ids),
    });
    return { b, posts, gone };
  }

  it('holds changes for the window, then sends one frame per connection, last status winning', async () => {
    vi.useFakeTimers();
    const { b, posts } = make();
    await b.add(['c1', 'c2'], { bob: 'online' });
    await b.add(['c1'], { carol: 'online' });
    await b.add(['c1', 'c2'], { bob: 'offline' });
    expect(posts).toEqual([]);
    expect(b.size).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(posts).toEqual([
      { to: ['c1'], frame: { type: 'presence_batch', presence: { carol: 'online', bob: 'offline' } } },
      { to: ['c2'], frame: { type: 'presence_batch', presence: { bob: 'offline' } } },
    ]);
    expect(b.size).toBe(0);
  });

  it('posts a frame shared by many connections in one call', async () => {
    vi.useFakeTimers();
    const { b, posts } = make();
    await b.add(['c1', 'c2', 'c3'], { bob: 'online' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(posts).toEqual([{ to: ['c1', 'c2', 'c3'], frame: { type: 'presence_batch', presence: { bob: 'online' } } }]);
  });

  it('never holds more than the cap of people for one connection: past it, what it holds goes at once', async () => {
    vi.useFakeTimers();
    const { b, posts } = make(2);
    await b.add(['c1'], { a1: 'online' });
    await b.add(['c1'], { a2: 'online' });
    await b.add(['c1'], { a2: 'offline' }); // a repeat takes no room
    expect(posts).toEqual([]);
    await b.add(['c1'], { a3: 'online' });
    expect(posts).toEqual([{ to: ['c1'], frame: { type: 'presence_batch', presence: { a1: 'online', a2: 'offline' } } }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(posts.at(-1)).toEqual({ to: ['c1'], frame: { type: 'presence_batch', presence: { a3: 'online' } } });
  });

  it('hands on connections found gone, forgets closed ones, and stops on close', async () => {
    vi.useFakeTimers();
    const { b, posts, gone } = make(3, ['c2']);
    await b.add(['c1', 'c2', 'c3'], { bob: 'online' });
    b.forget('c3');
    await vi.advanceTimersByTimeAsync(1000);
    expect(posts).toEqual([{ to: ['c1', 'c2'], frame: { type: 'presence_batch', presence: { bob: 'online' } } }]);
    expect(gone).toEqual([['c2']]);
    b.close();
    await b.add(['c1'], { bob: 'offline' });
    await vi.advanceTimersByTimeAsync(2000);
    expect(posts).toHaveLength(1);
  });
});
