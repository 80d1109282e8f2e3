// The web client reads a new message out to screen readers through a live
// region (App.tsx), a node that keeps its last sentence in the page. When that
// message disappears, the sentence must go with it: the text of a disappeared
// message must not stay readable in the page.
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Message } from '../../web/src/types.js';
import { dmRoomId } from '../../functions/core/names.js';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
const stored = new Map<string, string>();
beforeAll(async () => {
  t = await startTestServer({ DISAPPEAR_TEST_SECONDS: '5' });
  vi.stubGlobal('WebSocket', WebSocket);
  vi.stubGlobal('localStorage', {
    getItem: (k: string) => stored.get(k) ?? null,
    setItem: (k: string, v: string) => void stored.set(k, v),
    removeItem: (k: string) => void stored.delete(k),
  });
  vi.stubGlobal('document', { visibilityState: 'visible' });
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await t?.close();
});

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('the screen-reader announcement of a disappearing message goes when the message does', { timeout: 40_000 }, async () => {
  const alice = await signUp(t);
  const bob = await signUp(t);
  const room = dmRoomId(alice.username!, bob.username!);
  await bob.request({ action: 'send', room, text: 'before', clientId: 'b0' });
  await alice.close();
  stored.set('ww.token', alice.token!);
  const { Chat } = await import('../../web/src/chat.js');
  const chat = new Chat(t.wsUrl);
  chat.start();
  try {
    await until(() => chat.room(room)?.synced.value === true, 'the DM in sync');
    const dm = chat.room(room)!;
    chat.open(room);
    await chat.setTimer(dm, 5);
    const sent = await bob.request({ action: 'send', room, text: 'the vault code is 4711', clientId: 'b1' });
    const id = (sent.message as Message).id;
    await until(() => chat.announcement.value.includes('4711'), 'the message read out');
    await until(() => !dm.messages.value.some((m) => m.id === id), 'the message gone', 10_000);
    expect(chat.announcement.value).not.toContain('4711');
    // a later message that does not disappear is read out, and stays
    await chat.setTimer(dm, null);
    await bob.request({ action: 'send', room, text: 'lunch at noon', clientId: 'b2' });
    await until(() => chat.announcement.value.includes('lunch'), 'the next message read out');
  } finally {
    chat.conn.stop();
    await bob.close();
  }
});
