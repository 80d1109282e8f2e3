// Floods of sign-ins and sign-ups over real sockets, from distinct source
// addresses on loopback (127.0.0.2 is the attacker, 127.0.0.3 a real person):
// the attacker is stopped by budgets before any hashing or mail, and the person
// still gets in.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashGate } from '../../functions/core/accounts.js';
import type { Logger } from '../../functions/core/ports.js';
import { TestClient, newAccount } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ATTACKER = { localAddress: '127.0.0.2' };
const PERSON = { localAddress: '127.0.0.3' };

let t: TestServer;
const events: Array<Record<string, unknown>> = [];
beforeAll(async () => {
  t = await startTestServer({
    AUTH_PER_IP_PER_MINUTE: '5',
    MAIL_PER_IP_PER_HOUR: '4',
    // a real cost, so that hashing on demand would show
    SCRYPT_N: '16384',
    // room for the forty sign-ups racing at once below (the gate has its own test)
    HASH_QUEUE: '100',
  });
  const recorder: Logger = { info() {}, error() {}, warn: (_m, fields = {}) => void events.push(fields) };
  t.server.deps.log = recorder;
});
afterAll(() => t?.close());

const connectMany = (count: number, from: { localAddress: string }) =>
  Promise.all(Array.from({ length: count }, () => TestClient.connect(t.wsUrl, {}, from)));

it('stops a flood of logins from one address before hashing, and a person elsewhere still logs in', async () => {
  const account = newAccount('real');
  const person = await TestClient.connect(t.wsUrl, {}, PERSON);
  expect((await person.request({ action: 'auth', op: 'register', ...account })).type).toBe('otp_sent');
  const code = await t.codeFor(account.email);
  expect((await person.request({ action: 'auth', op: 'verify', username: account.username, code })).type).toBe('authed');
  await person.close();
  const hashesBefore = hashGate(t.server.deps.settings).started;

  const hostile = await connectMany(20, ATTACKER);
  const flood = Promise.all(hostile.map((c, i) => c.request({ action: 'auth', op: 'login', username: `nobody${i}`, password: 'guess guess guess' }, 30_000)));
  const again = await TestClient.connect(t.wsUrl, {}, PERSON);
  const login = await again.request({ action: 'auth', op: 'login', username: account.username, password: account.password }, 30_000);
  const answers = await flood;

  expect(login.type).toBe('authed');
  const codes = answers.map((a) => a.code);
  expect(codes.filter((c) => c === 'unauthorized').length).toBeLessThanOrEqual(5);
  expect(codes.filter((c) => c === 'rate_limited').length).toBeGreaterThanOrEqual(15);
  // at most the attacker's five, the person's one, and the dummy hash made once
  expect(hashGate(t.server.deps.settings).started - hashesBefore).toBeLessThanOrEqual(7);
  // logged once for the minute, however many were refused (the rest are counted on the next line)
  expect(events.filter((e) => e.security === 'rate_limited' && e.limit === 'auth_per_ip' && e.ip === '127.0.0.2')).toHaveLength(1);
  await Promise.all([again.close(), ...hostile.map((c) => c.close())]);
}, 60_000);

it('limits the mail one address can cause, and never blocks another address from signing up', async () => {
  const victim = `victim${process.pid % 1000}@example.com`;
  const hostile = await connectMany(10, { localAddress: '127.0.0.4' });
  const replies = [];
  for (const [i, c] of hostile.entries()) {
    replies.push(await c.request({ action: 'auth', op: 'register', username: `spam${process.pid % 1000}_${i}`, email: i % 2 ? victim : `x${i}@example.com`, password: 'spam spam spam' }));
  }
  expect(replies.slice(0, 4).map((r) => r.type)).toEqual(['otp_sent', 'otp_sent', 'otp_sent', 'otp_sent']);
  expect(replies.slice(4).every((r) => r.code === 'rate_limited')).toBe(true);
  expect(t.mail.sent.filter((m) => /^x\d@/.test(m.to) || m.to === victim)).toHaveLength(4);

  // The owner of the address signs up from their own network.
  const owner = await TestClient.connect(t.wsUrl, {}, { localAddress: '127.0.0.5' });
  const mine = { username: `victim${process.pid % 1000}`, email: victim, password: 'my own password' };
  expect((await owner.request({ action: 'auth', op: 'register', ...mine })).type).toBe('otp_sent');
  const code = await t.codeFor(victim);
  expect((await owner.request({ action: 'auth', op: 'verify', username: mine.username, code })).type).toBe('authed');
  await Promise.all([owner.close(), ...hostile.map((c) => c.close())]);
});

it('gives one code to one of two sign-ups racing for a name, over real sockets', async () => {
  const names = Array.from({ length: 20 }, (_, i) => `duel${process.pid % 1000}_${i}`);
  const sockets = await Promise.all(names.flatMap((_, i) => [TestClient.connect(t.wsUrl, {}, { localAddress: `127.0.1.${i}` }), TestClient.connect(t.wsUrl, {}, { localAddress: `127.0.2.${i}` })]));
  const replies = await Promise.all(
    names.flatMap((name, i) => [
      sockets[2 * i]!.request({ action: 'auth', op: 'register', username: name, email: `${name}.a@example.com`, password: 'password of a' }, 30_000),
      sockets[2 * i + 1]!.request({ action: 'auth', op: 'register', username: name, email: `${name}.b@example.com`, password: 'password of b' }, 30_000),
    ]),
  );
  expect(replies.every((r) => r.type === 'otp_sent')).toBe(true); // the same answer for both
  for (const name of names) {
    const codes = [`${name}.a@example.com`, `${name}.b@example.com`].flatMap((to) => t.mail.to(to).filter((m) => /\b\d{6}\b/.test(m.subject)));
    expect(codes, name).toHaveLength(1);
  }
  await Promise.all(sockets.map((c) => c.close()));
}, 60_000);
