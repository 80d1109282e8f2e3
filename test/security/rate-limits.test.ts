// Rate limits answer `rate_limited` and hold across connections where they must:
// sends per connection (burst, then the sustained rate), auth attempts per
// connection, failed logins per account, code emails per account and address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, newAccount, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({
    MESSAGE_BURST: '5',
    MESSAGES_PER_MINUTE: '60',
    AUTH_ATTEMPTS_PER_CONNECTION: '4',
    LOGIN_FAILURES_PER_ACCOUNT: '3',
    OTP_SENDS_PER_HOUR: '3',
  });
});
afterAll(() => t?.close());

const send = (c: TestClient, text: string, clientId: string) => c.request({ action: 'send', room: 'general', text, clientId });

describe('messages per connection', () => {
  it('lets a burst through, then refuses with rate_limited until tokens refill', async () => {
    const alice = await signUp(t, newAccount('burst'));
    for (let i = 0; i < 5; i++) expect((await send(alice, `m${i}`, `b${i}`)).type).toBe('sent');

    const refused = await send(alice, 'one too many', 'b5');

    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(String(refused.message)).toMatch(/too fast/);
    // A refused send stored nothing: the same clientId goes through once a token is back.
    await new Promise((r) => setTimeout(r, 1100));
    const later = await send(alice, 'one too many', 'b5');
    expect(later.type).toBe('sent');
    const page = await alice.request({ action: 'history', room: 'general', limit: 100 });
    const mine = (page.messages as Array<{ clientId: string; from: string }>).filter((m) => m.from === alice.username);
    expect(mine.map((m) => m.clientId)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    await alice.close();
  });

  it('does not charge repeats of an acknowledged send', async () => {
    const bob = await signUp(t, newAccount('repeat'));
    expect((await send(bob, 'once', 'r0')).type).toBe('sent');
    for (let i = 0; i < 10; i++) expect((await send(bob, 'once', 'r0')).type).toBe('sent');
    for (let i = 1; i < 5; i++) expect((await send(bob, `m${i}`, `r${i}`)).type).toBe('sent');
    await bob.close();
  });

  it('keeps a separate bucket per connection', async () => {
    const carol = await signUp(t, newAccount('conn'));
    for (let i = 0; i < 5; i++) await send(carol, `m${i}`, `c${i}`);
    expect((await send(carol, 'x', 'c5')).code).toBe('rate_limited');
    const other = await TestClient.connect(t.wsUrl);
    expect((await other.request({ action: 'auth', op: 'resume', token: carol.token })).type).toBe('authed');
    expect((await send(other, 'from another tab', 'c6')).type).toBe('sent');
    await Promise.all([carol.close(), other.close()]);
  });
});

describe('auth attempts', () => {
  it('limits auth requests per connection, whatever they are', async () => {
    const c = await TestClient.connect(t.wsUrl);
    for (let i = 0; i < 4; i++) {
      expect((await c.request({ action: 'auth', op: 'resume', token: `guess-${i}` })).code).toBe('unauthorized');
    }
    const fifth = await c.request({ action: 'auth', op: 'resume', token: 'guess-4' });
    expect(fifth).toMatchObject({ type: 'error', code: 'rate_limited' });
    await c.close();
  });

  it('locks logins to an account after repeated failures, from any connection, even with the right password', async () => {
    const account = newAccount('lock');
    const owner = await signUp(t, account);
    await owner.close();
    for (let i = 0; i < 3; i++) {
      const c = await TestClient.connect(t.wsUrl);
      expect((await c.request({ action: 'auth', op: 'login', username: account.username, password: `wrong ${i} password` })).code).toBe(
        'unauthorized',
      );
      await c.close();
    }

    const c = await TestClient.connect(t.wsUrl);
    const locked = await c.request({ action: 'auth', op: 'login', username: account.username, password: account.password });

    expect(locked).toMatchObject({ type: 'error', code: 'rate_limited' });
    await c.close();
  });

  it('resets the count on a successful login', async () => {
    const account = newAccount('reset');
    (await signUp(t, account)).close();
    const c = await TestClient.connect(t.wsUrl);
    for (let i = 0; i < 2; i++) await c.request({ action: 'auth', op: 'login', username: account.username, password: 'not the password' });
    expect((await c.request({ action: 'auth', op: 'login', username: account.username, password: account.password })).type).toBe('authed');
    await c.close();
    for (let i = 0; i < 2; i++) {
      const d = await TestClient.connect(t.wsUrl);
      expect((await d.request({ action: 'auth', op: 'login', username: account.username, password: 'still wrong' })).code).toBe('unauthorized');
      await d.close();
    }
    const e = await TestClient.connect(t.wsUrl);
    expect((await e.request({ action: 'auth', op: 'login', username: account.username, password: account.password })).type).toBe('authed');
    await e.close();
  });
});

describe('code emails', () => {
  it('limits codes per address, across usernames', async () => {
    const email = `sendlimit${process.pid}@example.com`;
    const replies = [];
    for (let i = 0; i < 4; i++) {
      const c = await TestClient.connect(t.wsUrl);
      replies.push(await c.request({ action: 'auth', op: 'register', username: `sendlimit${i}_${process.pid % 1000}`, email, password: 'long enough password' }));
      await c.close();
    }
    expect(replies.slice(0, 3).map((r) => r.type)).toEqual(['otp_sent', 'otp_sent', 'otp_sent']);
    expect(replies[3]).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(t.mail.to(email)).toHaveLength(3);
  });

  it('limits codes per account, however the login asks', async () => {
    const account = newAccount('codes');
    const c = await TestClient.connect(t.wsUrl);
    expect((await c.request({ action: 'auth', op: 'register', ...account })).type).toBe('otp_sent');
    await c.close();
    const replies = [];
    for (let i = 0; i < 3; i++) {
      const d = await TestClient.connect(t.wsUrl);
      replies.push((await d.request({ action: 'auth', op: 'login', username: account.username, password: account.password })).type);
      await d.close();
    }
    expect(replies).toEqual(['otp_sent', 'otp_sent', 'error']);
    expect(t.mail.to(account.email)).toHaveLength(3);
  });
});
