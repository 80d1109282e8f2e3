// The web client's pure parts: ordering and de-duplication, deletions, the
// catch-up cursor, links, and the reconnect backoff. No browser needed.
import { describe, expect, it } from 'vitest';
import { dmRoomId, normalizeChannel, RoomState } from '../../web/src/chat.js';
import { backoffDelay } from '../../web/src/connection.js';
import { linkify, safeHref } from '../../web/src/linkify.js';
import { compareIds, countUnread, dropDeleted, mergeMessages, reconcileDeletions } from '../../web/src/messages.js';
import type { Message } from '../../web/src/types.js';

const msg = (id: string, from = 'bob', text = `m${id}`): Message => ({
  id,
  room: 'general',
  from,
  text,
  at: '2026-11-24T12:00:00.000Z',
  clientId: `c${id}`,
});
const ids = (ms: Message[]) => ms.map((m) => m.id);

describe('message ordering', () => {
  it('compares ids as numbers', () => {
    expect(compareIds('9', '10')).toBeLessThan(0);
    expect(compareIds('100', '99')).toBeGreaterThan(0);
    expect(compareIds('42', '42')).toBe(0);
  });

  it('merges live, repeated and caught-up messages into one sorted list, each once', () => {
    let list = mergeMessages([], [msg('10')]);
    list = mergeMessages(list, [msg('12')]);
    list = mergeMessages(list, [msg('11')]); // a late fan-out
    list = mergeMessages(list, [msg('12')]); // a repeat
    list = mergeMessages(list, [msg('9'), msg('10'), msg('11'), msg('13')]); // catch-up overlapping
    expect(ids(list)).toEqual(['9', '10', '11', '12', '13']);
  });

  it('drops a purged user’s messages up to `through`, keeping later ones', () => {
    const list = [msg('1', 'alice'), msg('2', 'bob'), msg('3', 'alice'), msg('4', 'alice')];
    expect(ids(dropDeleted(list, 'alice', '3'))).toEqual(['2', '4']);
  });

  it('finds messages deleted while away by comparing with the latest page', () => {
    const local = [msg('1'), msg('2'), msg('3'), msg('4'), msg('5')];
    // the server's whole room now: 2 and 4 were deleted; 6 arrived live meanwhile
    const latest = [msg('1'), msg('3'), msg('5')];
    expect(ids(reconcileDeletions([...local, msg('6')], latest, 50, '5'))).toEqual(['1', '3', '5', '6']);
    // a full page only speaks for the ids it covers
    expect(ids(reconcileDeletions(local, [msg('3'), msg('5')], 2, '5'))).toEqual(['1', '2', '3', '5']);
  });

  it('counts unread messages from others after the read mark', () => {
    const list = [msg('1'), msg('2', 'me'), msg('3'), msg('4')];
    expect(countUnread(list, '2', 'me')).toBe(2);
    expect(countUnread(list, '4', 'me')).toBe(0);
    expect(countUnread(list, null, 'me')).toBe(3);
  });
});

describe('catch-up cursor', () => {
  it('waits at a gap when fan-outs arrive out of order, then closes it', () => {
    const room = new RoomState('general', 'channel', 'general', 'me');
    room.advanceCursor('10');
    expect(room.noteLive('12', '11')).toBe(true); // 11 not here yet
    expect(room.cursor).toBe('10');
    expect(room.noteLive('11', '10')).toBe(false);
    expect(room.cursor).toBe('12');
    expect(room.ahead.size).toBe(0);
  });

  it('starts an empty room from its first message and ignores old repeats', () => {
    const room = new RoomState('dm:a:b', 'dm', 'b', 'a');
    expect(room.noteLive('5', null)).toBe(false);
    expect(room.cursor).toBe('5');
    expect(room.noteLive('5', null)).toBe(false);
    expect(room.cursor).toBe('5');
  });

  it('jumps along early arrivals when a page fills the gap', () => {
    const room = new RoomState('general', 'channel', 'general', 'me');
    room.advanceCursor('1');
    room.noteLive('4', '3');
    room.noteLive('5', '4');
    room.advanceCursor('3'); // a history page brought 2 and 3
    expect(room.cursor).toBe('5');
  });
});

describe('links', () => {
  it('finds http(s) and www links and leaves sentence punctuation out', () => {
    expect(linkify('see https://example.com/a?b=1, and www.example.org.')).toEqual([
      { text: 'see ' },
      { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { text: ', and ' },
      { text: 'www.example.org', href: 'https://www.example.org/' },
      { text: '.' },
    ]);
    expect(linkify('(https://en.wikipedia.org/wiki/Fox_(disambiguation))')[1]).toEqual({
      text: 'https://en.wikipedia.org/wiki/Fox_(disambiguation)',
      href: 'https://en.wikipedia.org/wiki/Fox_(disambiguation)',
    });
  });

  it('never makes a link of anything but http(s)', () => {
    expect(linkify('javascript:alert(1) data:text/html,<b>x</b>')).toEqual([{ text: 'javascript:alert(1) data:text/html,<b>x</b>' }]);
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(linkify('<img src=x onerror=alert(1)>')).toEqual([{ text: '<img src=x onerror=alert(1)>' }]);
  });
});

describe('names and backoff', () => {
  it('normalizes channel names and DM room ids as the server does', () => {
    expect(normalizeChannel(' #Book Club ')).toBe('book-club');
    expect(dmRoomId('zoe', 'adam')).toBe('dm:adam:zoe');
  });

  it('backs off exponentially with jitter, capped at 30 s', () => {
    expect(backoffDelay(0, () => 0)).toBe(500);
    expect(backoffDelay(0, () => 1)).toBe(1000);
    expect(backoffDelay(3, () => 0.5)).toBe(6000);
    expect(backoffDelay(20, () => 1)).toBe(30_000);
    expect(backoffDelay(20, () => 0)).toBe(15_000);
  });
});
