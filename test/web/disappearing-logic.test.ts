// Disappearing messages in the web client's logic, without a browser: the pure
// rules (which messages and quotes are gone at a time, when the next goes), and
// the client's state (web/src/chat.ts) in Node against the real server with the
// test-only 5-second timer, on a device whose clock is an hour slow: the message
// still goes at its expiry by the server's clock, with the connection cut.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropExpired, nextExpiry } from '../../web/src/messages.js';
import type { Message } from '../../web/src/types.js';
import { dmRoomId } from '../../functions/core/names.js';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { msg, stubBrowserGlobals, until } from '../helpers/webclient.js';

describe('the rules', () => {
  const soon = '2026-11-30T12:05:00.000Z';
  const later = '2026-11-30T13:00:00.000Z';
  const list = [
    msg('1'),
    msg('2', { expiresAt: soon }),
    msg('3', { expiresAt: later, replyTo: { id: '2', from: 'bob', text: 'm2', expiresAt: soon } }),
    msg('4', { replyTo: { id: '1', from: 'bob', text: 'm1' } }),
  ];

  it('keeps the list itself while nothing has expired, and says when the next goes', () => {
    expect(dropExpired(list, Date.parse(soon) - 1)).toBe(list);
    expect(nextExpiry(list)).toBe(Date.parse(soon));
    expect(nextExpiry([msg('1')])).toBeNull();
  });

  it('drops what expired at or before the time, and turns quotes of it into "expired"', () => {
    const kept = dropExpired(list, Date.parse(soon));
    expect(kept.map((m) => m.id)).toEqual(['1', '3', '4']);
    expect(kept[1]!.replyTo).toEqual({ id: '2', deleted: true, expired: true });
    expect(kept[2]).toBe(list[3]);
    expect(nextExpiry(kept)).toBe(Date.parse(later));
    expect(dropExpired(kept, Date.parse(later)).map((m) => m.id)).toEqual(['1', '4']);
  });
});

describe('the client', () => {
  let t: TestServer;
  const stored = new Map<string, string>();
  beforeAll(async () => {
    t = await startTestServer({ DISAPPEAR_TEST_SECONDS: '5' });
    stubBrowserGlobals(stored);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    await t?.close();
  });

  it('hides a message at its expiry by the server’s clock, offline, though its own clock is an hour slow', { timeout: 40_000 }, async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const room = dmRoomId(alice.username!, bob.username!);
    await bob.request({ action: 'send', room, text: 'before', clientId: 'b0' });
    await alice.close();
    // this device's clock runs an hour behind the server's
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 60 * 60 * 1000);

    stored.set('ww.token', alice.token!);
    const { Chat } = await import('../../web/src/chat.js');
    const chat = new Chat(t.wsUrl);
    chat.start();
    try {
      await until(() => chat.room(room)?.synced.value === true, 'the DM in sync', 15_000);
      const dm = chat.room(room)!;
      expect(chat.timers.value).toEqual([5, 300, 3600, 86400, 604800]);
      expect(chat.canSetTimer(dm)).toBe(true);
      expect(chat.canSetTimer(chat.room('general')!)).toBe(false); // no creator on record
      expect(Math.abs(chat.serverNow() - realNow())).toBeLessThan(2000);

      await chat.setTimer(dm, 5);
      expect(dm.disappearAfter.value).toBe(5);
      expect(dm.messages.value.at(-1)).toMatchObject({ timer: 5, from: alice.username });
      const sent = await bob.request({ action: 'send', room, text: 'gone in five', clientId: 'b1' });
      const id = (sent.message as Message).id;
      await until(() => dm.messages.value.some((m) => m.id === id), 'the message live', 15_000);
      const arrived = realNow();
      // offline from here: the server can tell this client nothing more
      chat.conn.stop();

      await until(() => !dm.messages.value.some((m) => m.id === id), 'the message gone', 10_000);
      const lasted = realNow() - arrived;
      expect(lasted).toBeGreaterThan(2500); // by the timer, not at once
      expect(dm.messages.value.map((m) => m.text)).toContain('before');
      expect(dm.disappearAfter.value).toBe(5);
    } finally {
      chat.conn.stop();
      await bob.close();
    }
  });
});
