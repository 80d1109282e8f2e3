// Account recovery and devices (E18) through the local server: the device comes
// from the handshake's User-Agent, ending a session closes its socket at once and
// its token no longer resumes, a password change closes the other devices'
// sockets, and forgot/reset over the wire with the code from the outbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccount, signUp, TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const PHONE = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

async function loginOn(userAgent: string, username: string, password: string) {
  const c = await TestClient.connect(t.wsUrl, { 'user-agent': userAgent });
  const r = await c.request({ action: 'auth', op: 'login', username, password });
  expect(r.type).toBe('authed');
  c.token = r.token as string;
  return c;
}

describe('devices over the wire', () => {
  it('lists both devices by their User-Agent; ending the phone closes its socket and its token is refused', async () => {
    const alice = await signUp(t, newAccount('alice'));
    const phone = await loginOn(PHONE, alice.username, alice.password);
    const desk = await loginOn(FIREFOX, alice.username, alice.password);
    const list = await desk.request({ action: 'sessions' });
    expect(list.type).toBe('sessions');
    const sessions = list.sessions as Array<{ id: string; device: string; current?: boolean; ip: string }>;
    expect(sessions[0]).toMatchObject({ device: 'Firefox on Linux', current: true });
    const phoneSession = sessions.find((s) => s.device === 'Chrome on Android')!;
    expect(phoneSession.ip).toMatch(/127\.0\.0\.1/);

    const r = await desk.request({ action: 'revoke_session', session: phoneSession.id });
    expect(r).toMatchObject({ type: 'sessions_revoked', sessions: 1, connections: 1 });
    await phone.closed; // at once, not at the next sweep
    const again = await TestClient.connect(t.wsUrl, { 'user-agent': PHONE });
    expect(await again.request({ action: 'auth', op: 'resume', token: phone.token! })).toMatchObject({ type: 'error', code: 'unauthorized' });
    // the desk is untouched
    expect(await desk.request({ action: 'sessions' })).toMatchObject({ type: 'sessions' });
    await Promise.all([desk.close(), again.close(), alice.close()]);
  });

  it('a password change closes every other device at once and keeps this one', async () => {
    const bob = await signUp(t, newAccount('bob'));
    const desk = await loginOn(FIREFOX, bob.username, bob.password);
    const r = await desk.request({ action: 'change_password', current: bob.password, password: 'a brand new password' });
    expect(r).toMatchObject({ type: 'password_changed', sessions: 1 });
    await bob.closed;
    expect(await desk.request({ action: 'sessions' })).toMatchObject({ type: 'sessions' });
    await desk.close();
  });
});

describe('forgot password over the wire', () => {
  it('mails a code; reset with it closes the logged-in sockets, and the new password logs in', async () => {
    const carol = await signUp(t, newAccount('carol'));
    const anon = await TestClient.connect(t.wsUrl);
    const known = await anon.request({ action: 'auth', op: 'forgot', login: carol.email });
    const unknown = await anon.request({ action: 'auth', op: 'forgot', login: 'nobody-here@example.com' });
    expect({ ...known, re: undefined }).toEqual({ ...unknown, re: undefined });
    await t.mail.codeFor(carol.email); // the sign-up's code is older; wait for the reset mail
    const code = t.mail.to(carol.email).flatMap((m) => (/reset the password/.test(m.text) ? [/\b(\d{6})\b/.exec(m.subject)![1]!] : [])).at(-1)!;
    const reset = await anon.request({ action: 'auth', op: 'reset', login: carol.username, code, password: 'carol new password' });
    expect(reset).toMatchObject({ type: 'password_reset' });
    await carol.closed;
    expect(await anon.request({ action: 'auth', op: 'login', username: carol.username, password: 'carol new password' })).toMatchObject({
      type: 'authed',
    });
    await anon.close();
  });
});
