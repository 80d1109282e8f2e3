// Attacks on account recovery and devices (E18), against the core on a real
// database: reset codes guessed in parallel, a code used for another account,
// telling accounts apart by the forgot answer, mail floods through forgot, a
// revoked session's open socket, and bad input that must change nothing.
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../../functions/core/accounts.js';
import { InvalidCode, RateLimited, Unauthorized } from '../../functions/core/errors.js';
import { AuthOp, describeIssues } from '../../functions/core/protocol.js';
import { ChangeEmailFrame, ConfirmEmailFrame, changeEmail, confirmEmail } from '../../functions/core/recovery.js';
import { RevokeSessionFrame, SessionsFrame, listSessions, revokeSession, type SessionInfo } from '../../functions/core/sessions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { recoveryWorld } from '../helpers/recovery.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

const op = (frame: unknown) => v.parse(AuthOp, frame);

/** Every code a guesser could try that is not `code`. */
const wrongCodes = (code: string, n: number) =>
  Array.from({ length: n }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));

describe('reset codes', () => {
  it('guessed in parallel, no more tries land than the limit, and the right code then fails too', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: alice.username }));
    const code = w.codeFor(alice.email)!;
    const guesses = wrongCodes(code, 30);
    const results = await Promise.allSettled(
      guesses.map(async (guess) => auth(w.deps, await w.socket(), op({ op: 'reset', login: alice.username, code: guess, password: 'attacker password' }))),
    );
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof InvalidCode)).toBe(true);
    const [row] = await db.sql<{ attempts: number }[]>`
      select attempts from account_codes a join users u on u.id = a.user_id
      where u.username = ${alice.username} and purpose = 'reset' order by a.id desc limit 1`;
    expect(row!.attempts).toBe(w.deps.settings.otpMaxAttempts); // never more, however many raced
    expect(w.log.events('code_burned')).toHaveLength(1);
    // burned: even the right code no longer works
    await expect(
      auth(w.deps, await w.socket(), op({ op: 'reset', login: alice.username, code, password: 'attacker password' })),
    ).rejects.toBeInstanceOf(InvalidCode);
    expect((await w.login(alice.username, alice.password)).outcome.reply).toMatchObject({ type: 'authed' });
  });

  it("a code is bound to its account: my own code does not reset someone else's", async () => {
    const w = recoveryWorld(db);
    const mallory = await w.account('mallory');
    const victim = await w.account('victim');
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: victim.username })); // the victim's code goes to the victim
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: mallory.email }));
    const mine = w.codeFor(mallory.email)!;
    for (const login of [victim.username, victim.email]) {
      await expect(
        auth(w.deps, await w.socket(), op({ op: 'reset', login, code: mine, password: 'taken over!!' })),
      ).rejects.toBeInstanceOf(InvalidCode);
    }
    expect((await w.login(victim.username, victim.password)).outcome.reply).toMatchObject({ type: 'authed' });
    await expect(w.login(victim.username, 'taken over!!')).rejects.toBeInstanceOf(Unauthorized);
    // and an email-change code is not a reset code
    await changeEmail(w.deps, mallory.connection, v.parse(ChangeEmailFrame, { action: 'change_email', password: mallory.password, email: `${mallory.username}@evil.example` }));
    const emailCode = w.codeFor(`${mallory.username}@evil.example`)!;
    await expect(
      auth(w.deps, await w.socket(), op({ op: 'reset', login: mallory.username, code: emailCode, password: 'whatever123' })),
    ).rejects.toBeInstanceOf(InvalidCode);
  });

  it('an email-change code works only on the account that asked for it', async () => {
    const w = recoveryWorld(db);
    const mallory = await w.account('mallory');
    const victim = await w.account('victim');
    const target = `${mallory.username}@evil.example`;
    await changeEmail(w.deps, mallory.connection, v.parse(ChangeEmailFrame, { action: 'change_email', password: mallory.password, email: target }));
    await expect(
      confirmEmail(w.deps, victim.connection, v.parse(ConfirmEmailFrame, { action: 'confirm_email', code: w.codeFor(target)! })),
    ).rejects.toBeInstanceOf(InvalidCode);
    const [row] = await db.sql`select email from users where username = ${victim.username}`;
    expect(row!.email).toBe(victim.email);
  });
});

describe('a login racing a reset', () => {
  // The reset's write is held open here, as a reset between a login's password
  // check and its session would be; PGlite has one connection, so only PostgreSQL
  // can hold it.
  it.skipIf(!process.env.TEST_DATABASE_URL)('a login that proved the old password while a reset commits gets no session', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('racer');
    const sessionsOf = async () =>
      (await db.sql<{ n: number }[]>`select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.username = ${alice.username}`)[0]!.n;
    const before = await sessionsOf();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const reset = db.sql.begin(async (tx) => {
      await tx`update users set password_hash = 'a new hash' where username = ${alice.username}`;
      locked();
      await held;
    });
    await isLocked;
    const login = w.login(alice.username, alice.password);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the login proves the old password meanwhile
    release();
    await reset;
    await expect(login).rejects.toBeInstanceOf(Unauthorized);
    expect(await sessionsOf()).toBe(before);
  });
});

describe('forgot tells nothing about accounts', () => {
  it('answers an unknown name, an unknown address, a pending sign-up and a real account identically', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const pending = w.unique('pending');
    await auth(w.deps, await w.socket(), op({ op: 'register', username: pending, email: `${pending}@example.com`, password: 'pending password' }));
    const replies = [];
    for (const login of [alice.username, alice.email, w.unique('nobody'), `${w.unique('nobody')}@example.com`, pending]) {
      const out = await auth(w.deps, await w.socket(), op({ op: 'forgot', login }));
      replies.push(JSON.stringify(out));
    }
    expect(new Set(replies).size).toBe(1);
    // the pending account's address never got a reset code
    expect(w.mailer.to(`${pending}@example.com`).filter((m) => /reset/i.test(m.text))).toHaveLength(0);
  });

  it('answers the same when an account has used up its own mail budget', async () => {
    const w = recoveryWorld(db, { OTP_SENDS_PER_HOUR: '2' });
    const alice = await w.account('alice'); // the sign-up code took one
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await auth(w.deps, await w.socket(), op({ op: 'forgot', login: alice.username }))).reply);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(w.mailer.to(alice.email).filter((m) => /reset the password/.test(m.text))).toHaveLength(1);
    expect(w.log.events('reset_skipped').length).toBeGreaterThan(0);
  });

  it('does the same hashing for a known and an unknown account (no scrypt on either side)', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const { hashGate } = await import('../../functions/core/accounts.js');
    const gate = hashGate(w.deps.settings);
    const before = gate.started;
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: alice.username }));
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: w.unique('ghost') }));
    expect(gate.started).toBe(before);
    // wrong codes are refused before any hashing, known account or not
    await expect(auth(w.deps, await w.socket(), op({ op: 'reset', login: alice.username, code: '000000', password: 'new password 1' }))).rejects.toBeInstanceOf(InvalidCode);
    await expect(auth(w.deps, await w.socket(), op({ op: 'reset', login: w.unique('ghost'), code: '000000', password: 'new password 1' }))).rejects.toBeInstanceOf(InvalidCode);
    expect(gate.started).toBe(before);
  });
});

describe('forgot cannot be used to flood mail', () => {
  it('is refused per source address once its mail budget is spent, for any account or none', async () => {
    const w = recoveryWorld(db, { MAIL_PER_IP_PER_HOUR: '3' });
    const alice = await w.account('alice');
    const ip = w.newIp();
    for (let i = 0; i < 3; i++) await auth(w.deps, await w.socket(ip), op({ op: 'forgot', login: `${w.unique('x')}@example.com` }));
    const sent = w.mailer.sent.length;
    for (const login of [alice.username, `${w.unique('y')}@example.com`, w.unique('z')]) {
      await expect(auth(w.deps, await w.socket(ip), op({ op: 'forgot', login }))).rejects.toBeInstanceOf(RateLimited);
    }
    expect(w.mailer.sent.length).toBe(sent);
    // another network is not refused
    expect((await auth(w.deps, await w.socket(), op({ op: 'forgot', login: alice.username }))).reply).toMatchObject({ type: 'reset_sent' });
  });

  it('bounds what one address receives from many networks', async () => {
    const w = recoveryWorld(db, { MAIL_PER_RECIPIENT_PER_HOUR: '3' });
    const victim = `${w.unique('inbox')}@example.com`;
    for (let i = 0; i < 8; i++) await auth(w.deps, await w.socket(), op({ op: 'forgot', login: victim }));
    expect(w.mailer.to(victim)).toHaveLength(3);
  });

  it("sign-up attempts from many networks do not hold back the owner's reset", async () => {
    const w = recoveryWorld(db, { MAIL_PER_RECIPIENT_PER_HOUR: '3' });
    const alice = await w.account('alice');
    // a stranger names alice's name and address in sign-ups, each from a fresh network
    for (let i = 0; i < 6; i++) {
      await auth(w.deps, await w.socket(), op({ op: 'register', username: alice.username, email: alice.email, password: 'not alices password' })).catch(() => {});
    }
    const before = w.mailer.to(alice.email).length;
    expect(before).toBeLessThanOrEqual(3 + 1); // her own sign-up code counted in the same hour
    expect((await auth(w.deps, await w.socket(), op({ op: 'forgot', login: alice.username }))).reply).toMatchObject({ type: 'reset_sent' });
    const after = w.mailer.to(alice.email);
    expect(after).toHaveLength(before + 1);
    expect(w.codeFor(alice.email)).toMatch(/^\d{6}$/);
  });
});

describe('a revoked session', () => {
  it('has its open socket signed out and closed at once, and its token no longer resumes', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const desk = await w.login(alice.username, alice.password, 'Firefox on Linux');
    const list = (await listSessions(w.deps, desk.connection, v.parse(SessionsFrame, { action: 'sessions' }))).reply!.sessions as SessionInfo[];
    const phone = list.find((s) => !s.current)!;
    const out = await revokeSession(w.deps, desk.connection, v.parse(RevokeSessionFrame, { action: 'revoke_session', session: phone.id }));
    expect(out.close).toEqual([alice.connection]);
    // the revoked socket can do nothing while its close is on its way
    await expect(listSessions(w.deps, alice.connection, v.parse(SessionsFrame, { action: 'sessions' }))).rejects.toBeInstanceOf(Unauthorized);
    await expect(auth(w.deps, await w.socket(), op({ op: 'resume', token: alice.token }))).rejects.toBeInstanceOf(Unauthorized);
  });

  it("cannot be someone else's: ending bob's session id from alice's account does nothing", async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const bob = await w.account('bob');
    const bobs = (await listSessions(w.deps, bob.connection, v.parse(SessionsFrame, { action: 'sessions' }))).reply!.sessions as SessionInfo[];
    await expect(
      revokeSession(w.deps, alice.connection, v.parse(RevokeSessionFrame, { action: 'revoke_session', session: bobs[0]!.id })),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect((await auth(w.deps, await w.socket(), op({ op: 'resume', token: bob.token }))).reply).toMatchObject({ type: 'authed' });
  });

  it('a reset closes the sockets of every session, so a thief with a session is out', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const thief = await w.login(alice.username, alice.password, 'curl');
    await auth(w.deps, await w.socket(), op({ op: 'forgot', login: alice.username }));
    const out = await auth(w.deps, await w.socket(), op({ op: 'reset', login: alice.username, code: w.codeFor(alice.email)!, password: 'only alice knows' }));
    expect(new Set(out.close)).toEqual(new Set([alice.connection, thief.connection]));
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.username = ${alice.username} and s.revoked_at is null`;
    expect(row!.n).toBe(0);
  });
});

describe('bad input', () => {
  it('is refused with a sentence and changes nothing', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    const cases: Array<[unknown, RegExp]> = [
      [{ op: 'forgot' }, /login is required/],
      [{ op: 'forgot', login: 'a' }, /username or your email/],
      [{ op: 'forgot', login: 'not an @ address' }, /username or your email/],
      [{ op: 'forgot', login: 'x'.repeat(300) }, /too long/],
      [{ op: 'reset', login: alice.username, code: '12345', password: 'new password 1' }, /6 digits/],
      [{ op: 'reset', login: alice.username, code: '123456', password: 'short' }, /8 to 256/],
      [{ op: 'reset', login: alice.username, code: '123456', password: '        \u200b\u200b' }, /visible characters/],
      [{ op: 'reset', login: alice.username, code: 123456, password: 'new password 1' }, /code must be a string/],
    ];
    for (const [frame, message] of cases) {
      const parsed = v.safeParse(AuthOp, frame);
      expect(parsed.success, JSON.stringify(frame)).toBe(false);
      expect(describeIssues(parsed.issues!)).toMatch(message);
    }
    for (const frame of [
      { action: 'revoke_session' },
      { action: 'revoke_session', session: '1', others: true },
      { action: 'revoke_session', session: 'abc' },
    ]) {
      expect(v.safeParse(RevokeSessionFrame, frame).success, JSON.stringify(frame)).toBe(false);
    }
    expect(v.safeParse(ChangeEmailFrame, { action: 'change_email', password: 'p', email: 'nope' }).success).toBe(false);
    const [row] = await db.sql`select email, password_hash from users where username = ${alice.username}`;
    expect((await w.login(alice.username, alice.password)).outcome.reply).toMatchObject({ type: 'authed' });
    expect(row!.email).toBe(alice.email);
  });

  it('a logged-in connection cannot use forgot or reset', async () => {
    const w = recoveryWorld(db);
    const alice = await w.account('alice');
    await expect(auth(w.deps, alice.connection, op({ op: 'forgot', login: alice.username }))).rejects.toMatchObject({ code: 'conflict' });
  });
});
