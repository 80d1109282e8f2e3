// `prev` on live message frames chains a room's messages (docs/DELIVERY.md).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

it('gives each fresh message the id of the one before it in its room, and a repeat none', async () => {
  const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
  const room = `chain-${process.pid % 1000}`;
  await alice.request({ action: 'join', room });
  await bob.request({ action: 'join', room });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const sent = await alice.request({ action: 'send', room, text: `m${i}`, clientId: `chain-${i}` });
    ids.push((sent.message as { id: string }).id);
    // A message in another room in between does not break this room's chain.
    await bob.request({ action: 'send', room: 'general', text: `elsewhere ${i}`, clientId: `other-${i}` });
  }
  const live = [];
  for (let i = 0; i < 3; i++) live.push(await bob.next((f) => f.type === 'message' && (f.message as { room: string }).room === room));
  expect(live.map((f) => f.prev)).toEqual([null, ids[0], ids[1]]);

  await alice.request({ action: 'send', room, text: 'm0', clientId: 'chain-0' });
  const again = await bob.next((f) => f.type === 'message' && (f.message as { room: string }).room === room);
  expect((again.message as { id: string }).id).toBe(ids[0]);
  expect('prev' in again).toBe(false);
  await Promise.all([alice.close(), bob.close()]);
});
