// Repeated sends (the same clientId) cannot be used to amplify: a repeat is
// re-broadcast to the room at most once, and only soon after the original; every
// repeat costs a token from its sender's budget; and the idempotency key is the
// room as well as the sender and clientId.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import type { Message } from '../../functions/core/protocol.js';
import { newAccount, signUp, type TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { emptyDatabase, insertUser, migrateBefore } from '../helpers/migrations.js';

const BIG = '🦊'.repeat(4000); // the longest text: 4000 code points, 16,000 bytes

function messagesIn(c: TestClient, clientId: string): Array<{ prev?: unknown }> {
  return c.all((f) => f.type === 'message' && (f.message as Message).clientId === clientId) as Array<{ prev?: unknown }>;
}

describe('repeats of one send', () => {
  let t: TestServer;
  beforeAll(async () => {
    // Plenty of budget: the fan-out of repeats is under test here, not the limits.
    t = await startTestServer({ MESSAGE_BURST: '5', USER_MESSAGE_BURST: '500', USER_MESSAGES_PER_MINUTE: '6000' });
  });
  afterAll(() => t?.close());

  it('re-broadcasts a repeat at most once: a burst of repeats reaches members twice, not once each', async () => {
    const [alice, bob] = await Promise.all([signUp(t, newAccount('amp')), signUp(t, newAccount('amp'))]);
    const send = (clientId: string) => alice.request({ action: 'send', room: 'general', text: BIG, clientId });
    // The connection's burst is spent first, as in the attack.
    for (let i = 0; i < 4; i++) expect((await send(`spend-${i}`)).type).toBe('sent');
    const original = await send('amp');
    expect(original.type).toBe('sent');

    // In flights of 50 (the local server holds up to 64 frames per socket).
    const repeats = [];
    for (let flight = 0; flight < 2; flight++) repeats.push(...(await Promise.all(Array.from({ length: 50 }, () => send('amp')))));

    // Every repeat is still answered to its sender with the stored message...
    for (const r of repeats) expect(r).toMatchObject({ type: 'sent', message: original.message });
    // ...but bob gets the original and one re-broadcast, however many repeats came.
    await bob.quiet('message', 300);
    const copies = messagesIn(bob, 'amp');
    expect(copies).toHaveLength(2);
    expect(copies.filter((f) => 'prev' in f)).toHaveLength(1); // the fresh one carries prev, the re-broadcast none
    await Promise.all([alice.close(), bob.close()]);
  });

  it('answers a repeat that comes long after the original to its sender only', async () => {
    const [alice, bob] = await Promise.all([signUp(t, newAccount('late')), signUp(t, newAccount('late'))]);
    const first = await alice.request({ action: 'send', room: 'general', text: 'an old one', clientId: 'late-1' });
    expect(first.type).toBe('sent');
    await bob.next((f) => f.type === 'message' && (f.message as Message).clientId === 'late-1');
    // The original is older than the re-broadcast window (60 s by default).
    await t.db.sql`update messages set created_at = created_at - interval '10 minutes' where id = ${(first.message as Message).id}`;

    const again = await alice.request({ action: 'send', room: 'general', text: 'an old one', clientId: 'late-1' });

    expect(again).toMatchObject({ type: 'sent', message: { id: (first.message as Message).id } });
    expect(await bob.quiet((f) => f.type === 'message' && (f.message as Message).clientId === 'late-1', 300)).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('repeats against the budget', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ MESSAGE_BURST: '5', USER_MESSAGE_BURST: '8', USER_MESSAGES_PER_MINUTE: '60' });
  });
  afterAll(() => t?.close());

  it('charges every repeat to the sender: a flood of repeats is refused with rate_limited', async () => {
    const alice = await signUp(t, newAccount('flood'));
    const send = (clientId: string) => alice.request({ action: 'send', room: 'general', text: 'again and again', clientId });
    expect((await send('f-1')).type).toBe('sent');
    const replies = [];
    for (let i = 0; i < 20; i++) replies.push(await send('f-1'));
    const refused = replies.filter((r) => r.type === 'error');

    expect(replies.slice(0, 7).map((r) => r.type)).toEqual(Array(7).fill('sent'));
    expect(refused.length).toBeGreaterThanOrEqual(12);
    expect(refused[0]).toMatchObject({ code: 'rate_limited' });
    expect(String(refused[0]!.message)).toMatch(/Try again in \d+ s/);
    await alice.close();
  });
});

describe('the idempotency key', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());

  it('includes the room: the same clientId in another room is a new message there', async () => {
    const alice = await signUp(t, newAccount('keyed'));
    const room = `keyed-${process.pid % 1000}`;
    expect((await alice.request({ action: 'join', room })).type).toBe('joined');
    const inGeneral = await alice.request({ action: 'send', room: 'general', text: 'for general', clientId: 'k-1' });

    const inRoom = await alice.request({ action: 'send', room, text: `for ${room}`, clientId: 'k-1' });

    expect(inRoom).toMatchObject({ type: 'sent', message: { room, text: `for ${room}`, clientId: 'k-1' } });
    expect((inRoom.message as Message).id).not.toBe((inGeneral.message as Message).id);
    const page = await alice.request({ action: 'history', room });
    expect((page.messages as Message[]).map((m) => m.text)).toEqual([`for ${room}`]);
    // and each is still idempotent in its own room
    const again = await alice.request({ action: 'send', room, text: `for ${room}`, clientId: 'k-1' });
    expect((again.message as Message).id).toBe((inRoom.message as Message).id);
    await alice.close();
  });
});

describe('the migration to a per-room key', () => {
  const db = emptyDatabase();

  it('upgrades a database that holds messages, keeping them', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '006');
    const user = await insertUser(sql, 'old');
    await sql`insert into rooms (id, kind) values ('other', 'channel')`;
    await sql`insert into messages (room_id, sender_id, client_id, body) values ('general', ${user}, 'c1', 'one'), ('other', ${user}, 'c2', 'two')`;

    await migrate(sql, all);

    const rows = await sql`select room_id, client_id, body from messages order by id`;
    expect(rows).toEqual([
      { room_id: 'general', client_id: 'c1', body: 'one' },
      { room_id: 'other', client_id: 'c2', body: 'two' },
    ]);
    // the same clientId may now be used once per room
    await sql`insert into messages (room_id, sender_id, client_id, body) values ('other', ${user}, 'c1', 'three')`;
    await expect(sql`insert into messages (room_id, sender_id, client_id, body) values ('other', ${user}, 'c1', 'four')`).rejects.toThrow(
      /unique|duplicate/,
    );
  });
});
