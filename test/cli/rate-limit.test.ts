// Piped input past the send limit: the server's `rate_limited` error carries the
// wait (`retryAfter`, seconds), and the terminal client waits that long and sends
// the same line again with the same clientId. Every line arrives, once, in order.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Frame } from '../../functions/core/ports.js';
import { startCli } from '../helpers/cli.js';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let home: string;
/** every rate_limited error the server sent */
const refusals: Frame[] = [];

beforeAll(async () => {
  // two at once, then one a second
  t = await startTestServer({ MESSAGE_BURST: '2', MESSAGES_PER_MINUTE: '60' });
  home = await mkdtemp(join(tmpdir(), 'ww-cli-rate-'));
  const gateway = t.server.deps.gateway;
  const post = gateway.post.bind(gateway);
  gateway.post = (ids, frame) => {
    if (frame.type === 'error' && frame.code === 'rate_limited') refusals.push(frame);
    return post(ids, frame);
  };
});
afterAll(async () => {
  await t?.close();
  await rm(home, { recursive: true, force: true });
});

it('rate_limited errors say how many seconds to wait, in the sentence and as retryAfter', async () => {
  const client = await signUp(t);
  const replies = [];
  for (let i = 0; i < 3; i++) replies.push(await client.request({ action: 'send', room: 'general', text: `quick ${i}`, clientId: `q${i}` }));
  const refused = replies[2]!;
  expect(refused).toMatchObject({ type: 'error', code: 'rate_limited', retryAfter: 1 });
  expect(refused.message).toMatch(/Try again in 1 s\./);
  await client.close();
});

it('a script past the limit waits as told and loses no line', async () => {
  const account = await signUp(t);
  await account.close();
  refusals.length = 0;
  const lines = Array.from({ length: 6 }, (_, i) => `deploy step ${i + 1}`);
  const cli = startCli(t.wsUrl, home);
  cli.write(`/login ${account.username}\n${account.password}\n${lines.join('\n')}\n`);
  await cli.waitFor(/deploy step 6/, 20_000);
  await cli.quit();

  expect(cli.output()).not.toMatch(/sending too fast|rate_limited/i);
  const stored = await t.db.sql<{ body: string; client_id: string }[]>`
    select m.body, m.client_id from messages m join users u on u.id = m.sender_id
    where u.username = ${account.username} order by m.id`;
  expect(stored.map((m) => m.body)).toEqual(lines);
  expect(new Set(stored.map((m) => m.client_id)).size).toBe(lines.length);
  // Waited each time rather than hammering: about one refusal per line past the burst.
  expect(refusals.length).toBeGreaterThanOrEqual(1);
  expect(refusals.length).toBeLessThanOrEqual(lines.length);
}, 30_000);
