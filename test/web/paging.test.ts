// The web client's state (web/src/chat.ts) against the real server, in Node:
// when a reply holds only the first part of a list (rooms at login, members of
// a crowded room) or fewer messages than a page because they are long, the
// client asks for the rest and knows older messages exist.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { stubBrowserGlobals, until } from '../helpers/webclient.js';

let t: TestServer;
const stored = new Map<string, string>();

beforeAll(async () => {
  t = await startTestServer({ MESSAGE_BURST: '1000', MESSAGES_PER_MINUTE: '100000', USER_MESSAGE_BURST: '1000', USER_MESSAGES_PER_MINUTE: '100000' });
  stubBrowserGlobals(stored);
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await t?.close();
});

it('gets every member of a crowded room, and knows older long messages exist', { timeout: 60_000 }, async () => {
  const author = await signUp(t);
  await author.request({ action: 'join', room: 'long-lines' });
  for (let i = 0; i < 12; i++) {
    await author.request({ action: 'send', room: 'long-lines', text: '🦊'.repeat(4000), clientId: `l${i}` });
  }
  const reader = await signUp(t);
  await reader.request({ action: 'join', room: 'long-lines' });
  await t.db.sql`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    select 'web_crowd_' || lpad(n::text, 4, '0'), 'x', 'w' || n || '@example.com', 'w' || n || '@example.com', 'x', now()
    from generate_series(1, 2500) n`;
  await t.db.sql`insert into memberships (room_id, user_id) select 'general', id from users where username like 'web\\_crowd\\_%'`;
  await reader.close();

  stored.set('ww.token', reader.token!);
  const { Chat } = await import('../../web/src/chat.js');
  const chat = new Chat(t.wsUrl);
  chat.start();
  try {
    await until(() => chat.rooms.value.length === 2 && chat.rooms.value.every((r) => r.synced.value), 'both rooms in sync');
    const general = chat.room('general')!;
    const [count] = await t.db.sql<{ n: number }[]>`select count(*)::int as n from memberships where room_id = 'general'`;
    expect(general.members.value).toHaveLength(count!.n);
    expect(general.members.value).toContain('web_crowd_2500');

    const long = chat.room('long-lines')!;
    expect(long.messages.value.length).toBeGreaterThan(0);
    expect(long.messages.value.length).toBeLessThan(12);
    expect(long.hasOlder.value).toBe(true);
    await chat.loadOlder(long);
    expect(long.messages.value.length).toBeGreaterThan(5);
  } finally {
    chat.conn.stop();
  }
});
