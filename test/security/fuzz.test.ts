// Protocol fuzzing in the suite (a short run; `npm run fuzz` runs long): every
// answer is a well-formed frame, every frame gets one, no socket is dropped, and
// the server still serves real requests afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { FuzzSocket, fuzzCases, newStats, reauthenticate, runCase } from './fuzz-harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ FRAMES_BURST: '100000', MESSAGE_BURST: '100000', AUTH_ATTEMPTS_PER_CONNECTION: '100000', LOGIN_FAILURES_PER_ACCOUNT: '100000', UNAUTHENTICATED_GRACE_SECONDS: '86400' });
});
afterAll(() => t?.close());

it('answers arbitrary JSON, protocol-shaped junk, text and bytes with well-formed frames', async () => {
  const alice = await signUp(t);
  const sockets = { authed: await FuzzSocket.open(t.wsUrl), anonymous: await FuzzSocket.open(t.wsUrl) };
  expect((await sockets.authed.request({ action: 'auth', op: 'resume', token: alice.token })).type).toBe('authed');
  const stats = newStats();

  await fc.assert(
    fc.asyncProperty(fc.array(fuzzCases, { minLength: 1, maxLength: 15 }), async (cases) => {
      for (const c of cases) {
        const failure = await runCase(sockets, c, stats);
        if (failure) throw new Error(failure);
        if (stats.loggedOut) {
          stats.loggedOut = false;
          sockets.authed.close();
          sockets.authed = await reauthenticate(t.wsUrl, alice.username, alice.password);
        }
      }
    }),
    { numRuns: 25, seed: Number(process.env.FUZZ_SEED ?? 20261124) },
  );

  expect(stats.malformed).toEqual([]);
  expect(stats.unexpectedCloses).toBe(0);
  // Still serving: a fresh sign-up, a send, history.
  const bob = await signUp(t);
  expect((await bob.request({ action: 'send', room: 'general', text: 'after the storm', clientId: 'calm' })).type).toBe('sent');
  expect((await bob.request({ action: 'history', room: 'general' })).type).toBe('history');
  sockets.authed.close();
  sockets.anonymous.close();
  await Promise.all([alice.close(), bob.close()]);
}, 60_000);

it('closes a text frame that is not UTF-8 (RFC 6455: 1007) and serves the next socket', async () => {
  const s = await FuzzSocket.open(t.wsUrl);
  const closed = new Promise<number>((resolve) => s.ws.once('close', (code) => resolve(code)));
  s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  expect(await closed).toBe(1007);
  const next = await FuzzSocket.open(t.wsUrl);
  expect((await next.request({ action: 'ping' })).type).toBe('pong');
  next.close();
});
