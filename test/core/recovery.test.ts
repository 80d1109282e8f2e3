// Account recovery and devices (E18) in the core, on PGlite or PostgreSQL: a
// forgotten password reset by a mailed code, password and email changes, and the
// list of one's sessions with the devices they were started on.
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../../functions/core/accounts.js';
import { describeDevice } from '../../functions/core/devices.js';
import { BadRequest, Forbidden, InvalidCode, NotFound, Unauthorized } from '../../functions/core/errors.js';
import { AuthOp } from '../../functions/core/protocol.js';
import {
  ChangeEmailFrame,
  ChangePasswordFrame,
  ConfirmEmailFrame,
  changeEmail,
  changePassword,
  confirmEmail,
} from '../../functions/core/recovery.js';
import { RevokeSessionFrame, SessionsFrame, listSessions, revokeSession, type SessionInfo } from '../../functions/core/sessions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { recoveryWorld } from '../helpers/recovery.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

const op = (frame: unknown) => v.parse(AuthOp, frame);
const sessionsOf = async (w: ReturnType<typeof recoveryWorld>, connection: string) =>
  (await listSessions(w.deps, connection, v.parse(SessionsFrame, { action: 'sessions' }))).reply!.sessions as SessionInfo[];

describe('devices', () => {
  it('labels a session by the browser and system of its User-Agent, and only with known names', () => {
    expect(describeDevice('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')).toBe('Firefox on Linux');
    expect(
      describeDevice('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36'),
    ).toBe('Chrome on Android');
    expect(
      describeDevice('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'),
    ).toBe('Safari on iPhone');
    expect(describeDevice('WildWhispersCLI/1 (linux)')).toBe('Wild Whispers CLI on Linux');
    expect(describeDevice('<script>alert(1)</script>')).toBe('Unknown device');
    expect(describeDevice(undefined)).toBeUndefined();
    expect(describeDevice('')).toBeUndefined();
  });
});

describe('sessions', () => {
  it('lists my sessions with device, address and last use, the current one first and marked', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice', 'alice password', 'Chrome on Android');
    w.advance(60);
    const desk = await w.login(alice.username, 'alice password', 'Firefox on Linux', '192.0.2.7');
    const list = await sessionsOf(w, desk.connection);
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ device: 'Firefox on Linux', ip: '192.0.2.7', lastIp: '192.0.2.7', current: true });
    expect(list[1]).toMatchObject({ device: 'Chrome on Android' });
    expect(list[1]!.current).toBeUndefined();
    expect(Date.parse(list[0]!.lastUsedAt)).toBe(w.now().getTime());

    // A resume moves lastUsedAt and lastIp; the device stays the one it started on.
    w.advance(600);
    const again = await w.socket('192.0.2.99', 'Safari on iPhone');
    await auth(w.deps, again, op({ op: 'resume', token: alice.token }));
    const after = await sessionsOf(w, desk.connection);
    const phone = after.find((s) => s.id === list[1]!.id)!;
    expect(phone).toMatchObject({ device: 'Chrome on Android', lastIp: '192.0.2.99', lastUsedAt: w.now().toISOString() });
  });

  it('ending one session revokes its token and closes its sockets at once; others are kept', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const desk = await w.login(alice.username, alice.password, 'Firefox on Linux');
    const phoneSession = (await sessionsOf(w, desk.connection)).find((s) => !s.current)!;

    const out = await revokeSession(w.deps, desk.connection, v.parse(RevokeSessionFrame, { action: 'revoke_session', session: phoneSession.id }));
    expect(out.reply).toEqual({ type: 'sessions_revoked', sessions: 1, connections: 1 });
    expect(out.close).toEqual([alice.connection]);
    const [row] = await db.sql`select user_id from connections where id = ${alice.connection}`;
    expect(row!.user_id).toBeNull(); // signed out before the close lands
    await expect(auth(w.deps, await w.socket(), op({ op: 'resume', token: alice.token }))).rejects.toBeInstanceOf(Unauthorized);
    expect(await sessionsOf(w, desk.connection)).toHaveLength(1);
    // gone already, or never mine
    await expect(
      revokeSession(w.deps, desk.connection, v.parse(RevokeSessionFrame, { action: 'revoke_session', session: phoneSession.id })),
    ).rejects.toBeInstanceOf(NotFound);
  });

  it('ends every other session, never the current one', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const b = await w.login(alice.username, alice.password, 'Chrome on Windows');
    const c = await w.login(alice.username, alice.password, 'Safari on macOS');
    const current = (await sessionsOf(w, c.connection)).find((s) => s.current)!;
    await expect(
      revokeSession(w.deps, c.connection, v.parse(RevokeSessionFrame, { action: 'revoke_session', session: current.id })),
    ).rejects.toBeInstanceOf(BadRequest);
    const out = await revokeSession(w.deps, c.connection, v.parse(RevokeSessionFrame, { action: 'revoke_session', others: true }));
    expect(out.reply).toMatchObject({ sessions: 2, connections: 2 });
    expect(new Set(out.close)).toEqual(new Set([alice.connection, b.connection]));
    expect((await sessionsOf(w, c.connection)).map((s) => s.id)).toEqual([current.id]);
  });
});

describe('forgot password', () => {
  it('mails a code for a username or an address; the code sets a new password and ends every session', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice', 'old password!');
    for (const login of [alice.username, alice.email.toUpperCase()]) {
      const out = await auth(w.deps, await w.socket(), op({ op: 'forgot', login }));
      expect(out.reply).toEqual({ type: 'reset_sent', expiresIn: w.deps.settings.otpTtlSeconds });
    }
    const code = w.codeFor(alice.email)!;
    const resetSocket = await w.socket();
    const out = await auth(w.deps, resetSocket, op({ op: 'reset', login: alice.username, code, password: 'brand new password' }));
    expect(out.reply).toEqual({ type: 'password_reset' });
    expect(out.close).toEqual([alice.connection]);
    expect(w.mailer.to(alice.email).at(-1)!.subject).toMatch(/password was changed/i);

    await expect(auth(w.deps, await w.socket(), op({ op: 'resume', token: alice.token }))).rejects.toBeInstanceOf(Unauthorized);
    await expect(w.login(alice.username, 'old password!')).rejects.toBeInstanceOf(Unauthorized);
    expect((await w.login(alice.username, 'brand new password')).outcome.reply).toMatchObject({ type: 'authed' });
    // used once
    await expect(
      auth(w.deps, await w.socket(), op({ op: 'reset', login: alice.username, code, password: 'another new password' })),
    ).rejects.toBeInstanceOf(InvalidCode);
  });

  it('only the newest code is live, and a sign-up code is not a reset code', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const signUpCode = w.codeFor(alice.email)!;
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: alice.username }));
    const first = w.codeFor(alice.email)!;
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: alice.username }));
    const second = w.codeFor(alice.email)!;
    for (const code of [signUpCode, first].filter((c) => c !== second)) {
      await expect(
        auth(w.deps, await w.socket(), op({ op: 'reset', login: alice.username, code, password: 'new password 123' })),
      ).rejects.toBeInstanceOf(InvalidCode);
    }
    w.advance(w.deps.settings.otpTtlSeconds + 1);
    await expect(
      auth(w.deps, await w.socket(), op({ op: 'reset', login: alice.username, code: second, password: 'new password 123' })),
    ).rejects.toBeInstanceOf(InvalidCode);
    expect((await w.login(alice.username, alice.password)).outcome.reply).toMatchObject({ type: 'authed' });
  });
});

describe('password change', () => {
  it('needs the current password; logs out every other session and keeps this one', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice', 'first password');
    const desk = await w.login(alice.username, 'first password', 'Firefox on Linux');
    const frame = (current: string) => v.parse(ChangePasswordFrame, { action: 'change_password', current, password: 'second password' });

    await expect(changePassword(w.deps, desk.connection, frame('not my password'))).rejects.toBeInstanceOf(Forbidden);
    expect((await w.login(alice.username, 'first password')).outcome.reply).toMatchObject({ type: 'authed' });

    const out = await changePassword(w.deps, desk.connection, frame('first password'));
    expect(out.reply).toEqual({ type: 'password_changed', sessions: 2 });
    expect(out.close).toContain(alice.connection);
    expect(out.close).not.toContain(desk.connection);
    expect(await sessionsOf(w, desk.connection)).toHaveLength(1);
    expect(w.mailer.to(alice.email).at(-1)!.subject).toMatch(/password was changed/i);
    await expect(w.login(alice.username, 'first password')).rejects.toBeInstanceOf(Unauthorized);
    expect((await w.login(alice.username, 'second password')).outcome.reply).toMatchObject({ type: 'authed' });
  });

  it('refuses a weak new password with a clear sentence', () => {
    const parsed = v.safeParse(ChangePasswordFrame, { action: 'change_password', current: 'x', password: 'short' });
    expect(parsed.success).toBe(false);
    expect(parsed.issues![0].message).toMatch(/8 to 256 characters/);
  });
});

describe('email change', () => {
  it('mails a code to the new address, changes it only when confirmed, and tells the old one', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice', 'alice password');
    const newEmail = `${alice.username}.new@example.org`;
    const change = v.parse(ChangeEmailFrame, { action: 'change_email', password: 'alice password', email: newEmail });
    const out = await changeEmail(w.deps, alice.connection, change);
    expect(out.reply).toMatchObject({ type: 'email_code_sent', expiresIn: w.deps.settings.otpTtlSeconds });
    const [before] = await db.sql`select email from users where username = ${alice.username}`;
    expect(before!.email).toBe(alice.email); // not yet

    await expect(
      confirmEmail(w.deps, alice.connection, v.parse(ConfirmEmailFrame, { action: 'confirm_email', code: w.codeFor(alice.email)! })),
    ).rejects.toBeInstanceOf(InvalidCode);
    const done = await confirmEmail(w.deps, alice.connection, v.parse(ConfirmEmailFrame, { action: 'confirm_email', code: w.codeFor(newEmail)! }));
    expect(done.reply).toEqual({ type: 'email_changed', email: newEmail });
    const [after] = await db.sql`select email, email_lower from users where username = ${alice.username}`;
    expect(after).toMatchObject({ email: newEmail, email_lower: newEmail.toLowerCase() });
    expect(w.mailer.to(alice.email).at(-1)!.subject).toMatch(/email address was changed/i);

    // the reset now goes to the new address
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: newEmail }));
    expect(w.mailer.to(newEmail).at(-1)!.text).toMatch(/reset the password/);
  });

  it('needs the password, and keeps addresses unique without telling who has one', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice', 'alice password');
    const bob = await w.account('bob', 'bob password');
    await expect(
      changeEmail(w.deps, alice.connection, v.parse(ChangeEmailFrame, { action: 'change_email', password: 'wrong one', email: 'x@example.org' })),
    ).rejects.toBeInstanceOf(Forbidden);
    const out = await changeEmail(
      w.deps,
      alice.connection,
      v.parse(ChangeEmailFrame, { action: 'change_email', password: 'alice password', email: bob.email }),
    );
    expect(out.reply).toMatchObject({ type: 'email_code_sent' }); // the same answer
    expect(w.mailer.to(bob.email).at(-1)!.text).toMatch(/already belongs to an account/);
    expect(w.mailer.to(bob.email).at(-1)!.subject).not.toMatch(/\d{6}/); // no code
    const [row] = await db.sql`select email from users where username = ${alice.username}`;
    expect(row!.email).toBe(alice.email);
  });
});
