// Two-factor authentication (E19) over real sockets against the local server:
// enrolment from one device, a second device's login that needs the code (on the
// same socket that gave the password), a device that was offline resuming its
// session without one and learning from `authed` that 2FA is on, and the frames
// exactly as PROTOCOL.md shows them (replies and errors, never a stack or SQL).
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

const now = () => Math.floor(Date.now() / 1000);

describe('two-factor authentication over the wire', () => {
  it('enrols on one device; another logs in with password then code; an offline one resumes and catches up', async () => {
    const laptop = await signUp(t);
    const tablet = await resumeAs(t, laptop.token!); // a session from before 2FA
    await tablet.close(); // offline meanwhile

    const setup = await laptop.request({ action: 'two_factor_setup', password: 'correct horse battery' });
    expect(setup).toMatchObject({ type: 'two_factor_setup', expiresIn: 600 });
    expect(String(setup.uri)).toMatch(/^otpauth:\/\/totp\//);
    const secret = String(setup.secret);
    expect(await laptop.request({ action: 'two_factor_enable', code: '12345' })).toMatchObject({
      type: 'error',
     
      code: 'bad_request',
      message: 'The code is the 6 digits the authenticator app shows.',
    });
    const enabled = await laptop.request({ action: 'two_factor_enable', code: await generate({ secret, epoch: now() }) });
    expect(enabled).toMatchObject({ type: 'two_factor_enabled' });
    const recovery = enabled.recoveryCodes as string[];
    expect(recovery).toHaveLength(10);

    // a new device: the password answers second_factor, not a session
    const phone = await TestClient.connect(t.wsUrl);
    const first = await phone.request({ action: 'auth', op: 'login', username: laptop.username, password: laptop.password });
    expect(first).toMatchObject({ type: 'second_factor', username: laptop.username, expiresIn: 300 });
    expect(first).not.toHaveProperty('token');
    expect(await phone.request({ action: 'join', room: 'general' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    // the challenge is for this socket only
    const thief = await TestClient.connect(t.wsUrl);
    expect(
      await thief.request({ action: 'auth', op: 'second_factor', username: laptop.username, challenge: first.challenge, code: recovery[0] }),
    ).toMatchObject({ type: 'error', code: 'unauthorized', message: 'That sign-in has expired or was not started on this connection; log in again.' });
    await thief.close();
    const wrong = await phone.request({ action: 'auth', op: 'second_factor', username: laptop.username, challenge: first.challenge, code: '000000' });
    expect(wrong).toEqual({
      re: wrong.re,
      type: 'error',
     
      code: 'invalid_code',
      message: 'That code is not valid. Enter the current code from the authenticator app, or an unused recovery code.',
    });
    const authed = await phone.request({
      action: 'auth',
      op: 'second_factor',
      username: laptop.username,
      challenge: first.challenge,
      code: await generate({ secret, epoch: now() + 30 }),
    });
    expect(authed).toMatchObject({ type: 'authed', user: { username: laptop.username, twoFactor: true } });
    expect(await phone.request({ action: 'join', room: 'general' })).toMatchObject({ type: 'joined' });

    // the tablet comes back: its session resumes without a code, and it learns 2FA is on
    const back = await TestClient.connect(t.wsUrl);
    expect(await back.request({ action: 'auth', op: 'resume', token: laptop.token })).toMatchObject({
      type: 'authed',
      user: { twoFactor: true },
    });

    // the second factor for new recovery codes, as PROTOCOL.md shows the error
    const required = await back.request({ action: 'recovery_codes' });
    expect(required).toEqual({
      re: required.re,
      type: 'error',
     
      code: 'second_factor_required',
      message: 'This account uses two-factor authentication: enter a code from the authenticator app, or a recovery code.',
    });
    expect(await back.request({ action: 'recovery_codes', code: recovery[1] })).toMatchObject({ type: 'recovery_codes' });
    expect(await back.request({ action: 'two_factor_disable', password: laptop.password, code: recovery[2] })).toMatchObject({
      type: 'error',
      code: 'invalid_code',
    });
    await Promise.all([laptop.close(), phone.close(), back.close()]);
  }, 60_000);
});
