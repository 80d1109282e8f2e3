// Attacks on two-factor authentication (E19), against the core on a real database
// with a clock the test moves: replaying a TOTP code or a recovery code, guessing
// codes in parallel past the limits (per challenge, per account, per network), a
// challenge of one login used for another account or from another socket, turning
// 2FA off without the password or a code, and a second step with no first step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../../functions/core/accounts.js';
import { Conflict, Forbidden, InvalidCode, RateLimited, Unauthorized } from '../../functions/core/errors.js';
import { TRIES_PER_NETWORK_PER_HOUR, disableTwoFactor, regenerateRecoveryCodes, setupTwoFactor } from '../../functions/core/two-factor.js';
import type { RecordingMailer } from '../helpers/fakes.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { PASSWORD, act, codeAt, enrol, firstStep, person, socket, twoFactorWorld } from '../helpers/two-factor.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

const world = () => twoFactorWorld(db.sql);
const settle = <T>(ps: Promise<T>[]) => Promise.allSettled(ps);
const reasons = (rs: PromiseSettledResult<unknown>[]) => rs.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));

describe('replays', () => {
  it('a TOTP code seen once (shoulder-surfed, phished, logged) cannot log in again within its window', async () => {
    const { deps, advance } = world();
    const ann = await person(deps);
    const { secret } = await enrol(deps, ann.conn);
    advance(60);
    const code = await codeAt(deps, secret);
    const victim = await socket(deps);
    const v1 = await firstStep(deps, victim, ann.name);
    expect((await auth(deps, victim, { op: 'second_factor', username: ann.name, challenge: v1.challenge, code })).reply).toMatchObject({
      type: 'authed',
    });
    // the attacker has the password and the code, seconds later, in the same 30 s step
    advance(5);
    const attacker = await socket(deps);
    const a1 = await firstStep(deps, attacker, ann.name);
    await expect(auth(deps, attacker, { op: 'second_factor', username: ann.name, challenge: a1.challenge, code })).rejects.toBeInstanceOf(
      InvalidCode,
    );
    expect(await db.sql`select 1 from connections where id = ${attacker} and user_id is not null`).toHaveLength(0);
  });

  it('the same TOTP code sent by two logins at once makes one session, not two', async () => {
    const { deps, advance } = world();
    const ben = await person(deps);
    const { secret } = await enrol(deps, ben.conn);
    advance(60);
    const code = await codeAt(deps, secret);
    const conns = await Promise.all([socket(deps), socket(deps), socket(deps), socket(deps)]);
    const challenges: string[] = [];
    for (const c of conns) challenges.push((await firstStep(deps, c, ben.name)).challenge);
    const results = await settle(conns.map((c, i) => auth(deps, c, { op: 'second_factor', username: ben.name, challenge: challenges[i]!, code })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const err of reasons(results)) expect(err).toBeInstanceOf(InvalidCode);
  });

  it('a recovery code works once, even when sent twice at once', async () => {
    const { deps } = world();
    const cat = await person(deps);
    const { recoveryCodes } = await enrol(deps, cat.conn);
    const conns = [await socket(deps), await socket(deps)];
    const challenges: string[] = [];
    for (const c of conns) challenges.push((await firstStep(deps, c, cat.name)).challenge);
    const results = await settle(
      conns.map((c, i) => auth(deps, c, { op: 'second_factor', username: cat.name, challenge: challenges[i]!, code: recoveryCodes[0]! })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const later = await socket(deps);
    const { challenge } = await firstStep(deps, later, cat.name);
    await expect(auth(deps, later, { op: 'second_factor', username: cat.name, challenge, code: recoveryCodes[0]! })).rejects.toBeInstanceOf(
      InvalidCode,
    );
    // and regenerating with a spent code is refused too
    await expect(regenerateRecoveryCodes(deps, cat.conn, { action: 'recovery_codes', code: recoveryCodes[0] })).rejects.toBeInstanceOf(
      InvalidCode,
    );
  });
});

describe('guessing', () => {
  it('one challenge takes at most five tries, however many arrive at once', async () => {
    const { deps } = world();
    const dan = await person(deps);
    await enrol(deps, dan.conn);
    const conn = await socket(deps);
    const { challenge } = await firstStep(deps, conn, dan.name);
    const guesses = Array.from({ length: 20 }, (_, i) => String(100000 + i * 7919));
    const errors = reasons(await settle(guesses.map((code) => auth(deps, conn, { op: 'second_factor', username: dan.name, challenge, code }))));
    expect(errors).toHaveLength(20);
    const compared = errors.filter((e) => e instanceof InvalidCode).length;
    expect(compared).toBe(deps.settings.otpMaxAttempts);
    // the rest: the spent challenge (unauthorized) or the connection's own auth limit
    for (const e of errors.filter((e) => !(e instanceof InvalidCode))) expect(e instanceof Unauthorized || e instanceof RateLimited).toBe(true);
    expect(errors.filter((e) => e instanceof Unauthorized).length).toBeGreaterThan(0);
    const [row] = await db.sql<{ attempts: number }[]>`select attempts from two_factor_challenges where connection_id = ${conn}`;
    expect(row!.attempts).toBe(deps.settings.otpMaxAttempts);
  });

  it('fresh challenges (the attacker has the password) do not buy more tries: the account stops at its limit, in parallel', async () => {
    const { deps, advance, log } = world();
    const eve = await person(deps);
    const { secret } = await enrol(deps, eve.conn);
    const limit = deps.settings.loginFailuresPerAccount;
    const conns = await Promise.all(Array.from({ length: 6 }, () => socket(deps)));
    const challenges: string[] = [];
    for (const c of conns) challenges.push((await firstStep(deps, c, eve.name)).challenge);
    const tries = conns.flatMap((c, i) =>
      Array.from({ length: 5 }, (_, j) => auth(deps, c, { op: 'second_factor', username: eve.name, challenge: challenges[i]!, code: String(200000 + i * 10 + j) })),
    );
    const errors = reasons(await settle(tries));
    expect(errors).toHaveLength(30);
    expect(errors.filter((e) => e instanceof InvalidCode).length).toBe(limit);
    expect(errors.filter((e) => e instanceof RateLimited).length).toBe(30 - limit);
    expect(log.lines.some((l) => l.fields.security === 'second_factor_locked')).toBe(true);
    // locked: even the right code is refused until the window passes
    const conn = await socket(deps);
    const locked = await firstStep(deps, conn, eve.name);
    await expect(
      auth(deps, conn, { op: 'second_factor', username: eve.name, challenge: locked.challenge, code: await codeAt(deps, secret) }),
    ).rejects.toBeInstanceOf(RateLimited);
    advance(deps.settings.loginFailureWindowSeconds + 1);
    const later = await socket(deps);
    const { challenge } = await firstStep(deps, later, eve.name);
    expect((await auth(deps, later, { op: 'second_factor', username: eve.name, challenge, code: await codeAt(deps, secret) })).reply).toMatchObject({
      type: 'authed',
    });
  });

  it('one network cannot spread its guesses over many accounts past its own budget', async () => {
    const { deps } = world();
    const ip = '192.0.2.77';
    const people = [];
    for (let i = 0; i < 8; i++) {
      const p = await person(deps);
      await enrol(deps, p.conn);
      people.push(p);
    }
    let refused = 0;
    let tried = 0;
    for (const p of people) {
      for (let k = 0; k < 2; k++) {
        const conn = await socket(deps, ip);
        const { challenge } = await firstStep(deps, conn, p.name);
        const guesses = ['111111', '222222', '333333'].map((code) => auth(deps, conn, { op: 'second_factor', username: p.name, challenge, code }));
        for (const e of reasons(await settle(guesses))) {
          tried++;
          if (e instanceof RateLimited && /your network/.test(e.message)) refused++;
        }
      }
    }
    expect(tried).toBe(48);
    expect(refused).toBe(48 - TRIES_PER_NETWORK_PER_HOUR);
  });
});

describe('challenges belong to one login', () => {
  it("a challenge of one account's login cannot finish another account's, and the code is checked against the challenge's account", async () => {
    const { deps, advance } = world();
    const victim = await person(deps);
    const mallory = await person(deps);
    const v = await enrol(deps, victim.conn);
    const m = await enrol(deps, mallory.conn);
    advance(60);
    const conn = await socket(deps);
    const mine = await firstStep(deps, conn, mallory.name);
    // Mallory's own challenge and own valid code, but the victim's name
    await expect(
      auth(deps, conn, { op: 'second_factor', username: victim.name, challenge: mine.challenge, code: await codeAt(deps, m.secret) }),
    ).rejects.toBeInstanceOf(Unauthorized);
    // Mallory's challenge with the victim's code (stolen) is checked against Mallory's secret
    await expect(
      auth(deps, conn, { op: 'second_factor', username: mallory.name, challenge: mine.challenge, code: await codeAt(deps, v.secret) }),
    ).rejects.toBeInstanceOf(InvalidCode);
    expect(await db.sql`select user_id from connections where id = ${conn} and user_id is not null`).toHaveLength(0);
  });

  it('a challenge (leaked from the victim’s screen or log) is useless from another socket', async () => {
    const { deps, advance } = world();
    const fay = await person(deps);
    const { secret } = await enrol(deps, fay.conn);
    advance(60);
    const victimConn = await socket(deps);
    const { challenge } = await firstStep(deps, victimConn, fay.name);
    const attacker = await socket(deps);
    await expect(
      auth(deps, attacker, { op: 'second_factor', username: fay.name, challenge, code: await codeAt(deps, secret) }),
    ).rejects.toBeInstanceOf(Unauthorized);
    // the victim's own second step still works: the attacker spent nothing of it
    expect((await auth(deps, victimConn, { op: 'second_factor', username: fay.name, challenge, code: await codeAt(deps, secret, 30) })).reply).toMatchObject({
      type: 'authed',
    });
  });

  it('a second step without a first step: made-up challenges, a session token, or an already logged-in socket', async () => {
    const { deps } = world();
    const gus = await person(deps);
    const { secret } = await enrol(deps, gus.conn);
    const conn = await socket(deps);
    const code = await codeAt(deps, secret);
    await expect(auth(deps, conn, { op: 'second_factor', username: gus.name, challenge: 'x'.repeat(43), code })).rejects.toBeInstanceOf(
      Unauthorized,
    );
    await expect(auth(deps, conn, { op: 'second_factor', username: gus.name, challenge: gus.token, code })).rejects.toBeInstanceOf(
      Unauthorized,
    );
    await expect(auth(deps, gus.conn, { op: 'second_factor', username: gus.name, challenge: 'y', code })).rejects.toBeInstanceOf(Conflict);
    // an account without 2FA never has a challenge either
    const hal = await person(deps);
    const out = await auth(deps, await socket(deps), { op: 'login', username: hal.name, password: PASSWORD });
    expect(out.reply).toMatchObject({ type: 'authed' });
    expect(await db.sql`select 1 from two_factor_challenges where user_id = ${hal.id}`).toHaveLength(0);
  });
});

describe('turning 2FA off', () => {
  it('needs the password and a current code: a stolen session alone, or the password alone, cannot', async () => {
    const { deps, advance } = world();
    const ivy = await person(deps);
    const { secret } = await enrol(deps, ivy.conn);
    advance(60);
    // through the real handler, as a client sends it
    const noPassword = await act(deps, ivy.conn, { action: 'two_factor_disable', code: await codeAt(deps, secret) });
    expect(noPassword).toMatchObject({ type: 'error', code: 'bad_request' });
    await expect(
      disableTwoFactor(deps, ivy.conn, { action: 'two_factor_disable', password: 'not the password', code: await codeAt(deps, secret) }),
    ).rejects.toBeInstanceOf(Forbidden);
    const noCode = await act(deps, ivy.conn, { action: 'two_factor_disable', password: PASSWORD });
    expect(noCode).toMatchObject({ type: 'error', code: 'second_factor_required' });
    await expect(disableTwoFactor(deps, ivy.conn, { action: 'two_factor_disable', password: PASSWORD, code: '999999' })).rejects.toBeInstanceOf(
      InvalidCode,
    );
    await expect(
      disableTwoFactor(deps, ivy.conn, { action: 'two_factor_disable', password: PASSWORD, code: 'aaaaa-bbbbb' }),
    ).rejects.toBeInstanceOf(InvalidCode);
    expect(await db.sql`select 1 from two_factor where user_id = ${ivy.id}`).toHaveLength(1);
    // an anonymous socket cannot even ask
    expect(await act(deps, await socket(deps), { action: 'two_factor_disable', password: PASSWORD, code: '123456' })).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
  });

  it('password guesses through turning off count as failed logins: a stolen session cannot test passwords there', async () => {
    const { deps } = world();
    const jon = await person(deps);
    await enrol(deps, jon.conn);
    let wrong = 0;
    let locked = 0;
    for (let i = 0; i < 12; i++) {
      try {
        await disableTwoFactor(deps, jon.conn, { action: 'two_factor_disable', password: `guess number ${i}`, code: '000000' });
      } catch (e) {
        if (e instanceof Forbidden) wrong++;
        else if (e instanceof RateLimited) locked++;
        else throw e;
      }
    }
    expect([wrong, locked]).toEqual([deps.settings.loginFailuresPerAccount, 12 - deps.settings.loginFailuresPerAccount]);
    // the right password is refused too now, here and at the login
    await expect(disableTwoFactor(deps, jon.conn, { action: 'two_factor_disable', password: PASSWORD })).rejects.toBeInstanceOf(RateLimited);
    await expect(auth(deps, await socket(deps), { op: 'login', username: jon.name, password: PASSWORD })).rejects.toBeInstanceOf(RateLimited);
  });
});

describe('turning 2FA on', () => {
  it('needs the password: a stolen session cannot put the account behind its own phone; the owner is told', async () => {
    const { deps } = world();
    const kit = await person(deps);
    expect(await act(deps, kit.conn, { action: 'two_factor_setup' })).toMatchObject({ type: 'error', code: 'bad_request' });
    await expect(setupTwoFactor(deps, kit.conn, { action: 'two_factor_setup', password: 'a stolen session guesses' })).rejects.toBeInstanceOf(
      Forbidden,
    );
    expect(await db.sql`select 1 from two_factor_enrolments where user_id = ${kit.id}`).toHaveLength(0);

    const mails = (deps.mailer as RecordingMailer).sent;
    const before = mails.length;
    await enrol(deps, kit.conn);
    expect(mails.slice(before)).toEqual([expect.objectContaining({ to: `${kit.name}@example.com`, subject: 'Two-factor authentication was turned on' })]);
  });
});

describe('deleting an account with 2FA on (E20)', () => {
  it('takes the password and a code: without the code, or with a used one, the account stays', async () => {
    const { deps, advance } = world();
    const kim = await person(deps);
    const { secret } = await enrol(deps, kim.conn);
    const alive = async () => (await deps.sql`select 1 from users where id = ${kim.id} and deleted_at is null`).length === 1;

    expect(await act(deps, kim.conn, { action: 'delete_account', password: PASSWORD, messages: 'keep' })).toMatchObject({
      type: 'error',
      code: 'second_factor_required',
    });
    advance(60);
    const code = await codeAt(deps, secret);
    // a code already used (here, to log in on another socket) is refused
    const other = await socket(deps);
    const first = await firstStep(deps, other, kim.name);
    await auth(deps, other, { op: 'second_factor', username: kim.name, challenge: first.challenge, code });
    expect(await act(deps, kim.conn, { action: 'delete_account', password: PASSWORD, messages: 'keep', code })).toMatchObject({
      type: 'error',
      code: 'invalid_code',
    });
    expect(await alive()).toBe(true);

    advance(30);
    expect(await act(deps, kim.conn, { action: 'delete_account', password: PASSWORD, messages: 'keep', code: await codeAt(deps, secret) })).toMatchObject({
      type: 'account_deleted',
    });
    expect(await alive()).toBe(false);
  });
});
