// The long protocol fuzz run: `npm run fuzz` (FUZZ_SECONDS, default 60; FUZZ_SEED).
// The same cases as the suite's fuzz test, against the real server over a fresh
// database (PGlite, or TEST_DATABASE_URL), then a check that it still serves.
// Exits non-zero on any malformed answer, missing answer or dropped socket.
import fc from 'fast-check';
import { signUp } from '../test/helpers/client.js';
import { startTestServer } from '../test/helpers/server.js';
import { FuzzSocket, fuzzCases, newStats, reauthenticate, runCase, type FuzzCase } from '../test/security/fuzz-harness.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

// Rate limits would answer most frames with rate_limited, and the grace period
// would close the anonymous socket; both are tested on their own.
const t = await startTestServer({
  MESSAGE_BURST: '1000000',
  AUTH_ATTEMPTS_PER_CONNECTION: '1000000',
  LOGIN_FAILURES_PER_ACCOUNT: '1000000',
  UNAUTHENTICATED_GRACE_SECONDS: '86400',
});
const alice = await signUp(t);
const sockets: Record<FuzzCase['socket'], FuzzSocket> = { authed: await FuzzSocket.open(t.wsUrl), anonymous: await FuzzSocket.open(t.wsUrl) };
await sockets.authed.request({ action: 'auth', op: 'resume', token: alice.token });

const stats = newStats();
const started = Date.now();
let failure: string | undefined;
let batch = 0;
while (!failure && Date.now() - started < seconds * 1000) {
  const cases: FuzzCase[] = fc.sample(fuzzCases, { numRuns: 200, seed: seed + batch++ });
  for (const c of cases) {
    failure = await runCase(sockets, c, stats);
    if (failure) break;
    if (stats.loggedOut) {
      stats.loggedOut = false;
      sockets.authed.close();
      sockets.authed = await reauthenticate(t.wsUrl, alice.username, alice.password);
    }
  }
}
const elapsed = (Date.now() - started) / 1000;

// Still serving after all of it?
let serving = false;
try {
  const bob = await signUp(t);
  const sent = await bob.request({ action: 'send', room: 'general', text: 'still here', clientId: 'after-fuzz' });
  const page = await bob.request({ action: 'history', room: 'general', limit: 5 });
  serving = sent.type === 'sent' && page.type === 'history';
  await bob.close();
} catch (err) {
  failure ??= `server no longer serves: ${(err as Error).message}`;
}
sockets.authed.close();
sockets.anonymous.close();
await alice.close();
await t.close();

const sorted = (o: Record<string, number>) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
console.log(`fuzz: seed ${seed}, ${elapsed.toFixed(1)} s, ${stats.frames} frames (${Math.round(stats.frames / elapsed)}/s), ${stats.answers} answers`);
console.log(`  answers by type: ${sorted(stats.byType)}`);
console.log(`  errors by code:  ${sorted(stats.byCode)}`);
console.log(`  malformed answers ${stats.malformed.length}, sockets dropped ${stats.unexpectedCloses}, still serving: ${serving ? 'yes' : 'no'}`);
if (failure || !serving) {
  console.error(`FAILED: ${failure ?? 'not serving'}`);
  process.exit(1);
}
process.exit(0);
