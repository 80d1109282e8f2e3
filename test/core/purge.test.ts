// Delete my own chat history: `purge` removes the caller's messages for everyone
// and tells every member's open connection at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeAs, signUp, TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

async function say(client: TestClient, room: string, text: string) {
  const sent = await client.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return (sent.message as { id: string }).id;
}

describe('purge', () => {
  it('deletes only my messages, in every room, and tells every member connection', async () => {
    // prepare: two people talk in general and in a DM; alice has a second tab
    const alice = await signUp(server);
    const bob = await signUp(server);
    const aliceTab = await resumeAs(server, alice.token!);
    const dm = `dm:${[alice.username, bob.username].sort().join(':')}`;
    const a1 = await say(alice, 'general', 'hello from alice');
    const b1 = await say(bob, 'general', 'hello from bob');
    const a2 = await say(alice, dm, 'a secret');
    const a3 = await say(alice, 'general', 'alice again');

    // act
    const purged = await alice.request({ action: 'purge' });

    // assess: the reply counts per room, the rest of history is untouched
    expect(purged.type).toBe('purged');
    expect(purged.count).toBe(3);
    expect(purged.rooms).toEqual(
      expect.arrayContaining([
        { room: 'general', count: 2, through: a3 },
        { room: dm, count: 1, through: a2 },
      ]),
    );
    const bobSees = await bob.next((f) => f.type === 'deleted' && f.room === 'general');
    expect(bobSees).toEqual({ type: 'deleted', room: 'general', from: alice.username, through: a3, seq: expect.stringMatching(/^\d+$/) });
    await bob.next((f) => f.type === 'deleted' && f.room === dm);
    await aliceTab.next((f) => f.type === 'deleted' && f.room === 'general');
    const general = await bob.request({ action: 'history', room: 'general' });
    const ids = (general.messages as { id: string }[]).map((m) => m.id);
    expect(ids).toContain(b1);
    expect(ids).not.toContain(a1);
    expect(ids).not.toContain(a3);
    const secret = await bob.request({ action: 'history', room: dm });
    expect(secret.messages).toEqual([]);

    await Promise.all([alice.close(), bob.close(), aliceTab.close()]);
  });

  it('can be limited to one room', async () => {
    const alice = await signUp(server);
    await alice.request({ action: 'join', room: 'purge-one' });
    const kept = await say(alice, 'general', 'stays');
    const gone = await say(alice, 'purge-one', 'goes');

    const purged = await alice.request({ action: 'purge', room: 'purge-one' });

    expect(purged).toMatchObject({ type: 'purged', count: 1, rooms: [{ room: 'purge-one', count: 1, through: gone }] });
    const general = await alice.request({ action: 'history', room: 'general' });
    expect((general.messages as { id: string }[]).map((m) => m.id)).toContain(kept);
    await alice.close();
  });

  it('answers a purge with nothing to delete, refuses strangers and bad rooms', async () => {
    const carol = await signUp(server);
    expect(await carol.request({ action: 'purge' })).toMatchObject({ type: 'purged', count: 0, rooms: [] });
    expect(await carol.request({ action: 'purge', room: 'Not A Room!' })).toMatchObject({ type: 'error', code: 'bad_request' });
    const stranger = await TestClient.connect(server.wsUrl);
    expect(await stranger.request({ action: 'purge' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    await Promise.all([carol.close(), stranger.close()]);
  });
});
