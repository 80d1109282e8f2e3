// Two-factor authentication (E19) in the core, on a real database with a clock the
// test moves: enrolment that stores the secret only after a first code, ten
// recovery codes kept hashed, the login's second step, the one-step tolerance and
// the replay rule of the time window, requireSecondFactor for other features,
// turning it off, new recovery codes, and sessions from `resume` left alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../../functions/core/accounts.js';
import { Conflict, Forbidden, InvalidCode, SecondFactorRequired, Unauthorized } from '../../functions/core/errors.js';
import {
  CHALLENGE_TTL_SECONDS,
  ENROLMENT_TTL_SECONDS,
  disableTwoFactor,
  enableTwoFactor,
  regenerateRecoveryCodes,
  requireSecondFactor,
  setupTwoFactor,
  sweepTwoFactor,
} from '../../functions/core/two-factor.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { PASSWORD, codeAt, enrol, firstStep, person, socket, twoFactorWorld } from '../helpers/two-factor.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

const world = () => twoFactorWorld(db.sql);

describe('enrolment', () => {
  it('hands out a secret as an otpauth URI and text, and keeps it only after a first valid code', async () => {
    const { deps } = world();
    const ann = await person(deps);
    const setup = (await setupTwoFactor(deps, ann.conn, { action: 'two_factor_setup', password: PASSWORD })).reply as Record<string, unknown>;
    expect(setup).toMatchObject({ type: 'two_factor_setup', expiresIn: 600 });
    const secret = setup.secret as string;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 20 bytes, base32
    const uri = new URL(setup.uri as string);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(decodeURIComponent(uri.pathname)).toContain(ann.name);

    // not on yet: the login still makes a session with the password alone
    expect(await db.sql`select 1 from two_factor where user_id = ${ann.id}`).toHaveLength(0);
    expect((await auth(deps, await socket(deps), { op: 'login', username: ann.name, password: PASSWORD })).reply).toMatchObject({
      type: 'authed',
      user: { twoFactor: false },
    });

    // a wrong code (the one of ten minutes ago) does not turn it on
    await expect(
      enableTwoFactor(deps, ann.conn, { action: 'two_factor_enable', code: await codeAt(deps, secret, -600) }),
    ).rejects.toBeInstanceOf(InvalidCode);
    expect(await db.sql`select 1 from two_factor where user_id = ${ann.id}`).toHaveLength(0);

    const enabled = (await enableTwoFactor(deps, ann.conn, { action: 'two_factor_enable', code: await codeAt(deps, secret) }))
      .reply as { type: string; recoveryCodes: string[] };
    expect(enabled.type).toBe('two_factor_enabled');
    expect(enabled.recoveryCodes).toHaveLength(10);
    expect(new Set(enabled.recoveryCodes).size).toBe(10);
    for (const c of enabled.recoveryCodes) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);

    // stored: the secret, and the recovery codes only as keyed hashes
    const [row] = await db.sql<{ secret: string }[]>`select secret from two_factor where user_id = ${ann.id}`;
    expect(row!.secret).toBe(secret);
    const hashes = await db.sql<{ code_hash: string }[]>`select code_hash from two_factor_recovery_codes where user_id = ${ann.id}`;
    expect(hashes).toHaveLength(10);
    for (const { code_hash } of hashes) {
      for (const c of enabled.recoveryCodes) {
        expect(code_hash).not.toContain(c);
        expect(code_hash).not.toContain(c.replace('-', ''));
      }
    }
    expect(await db.sql`select 1 from two_factor_enrolments where user_id = ${ann.id}`).toHaveLength(0);

    // a second setup is refused while it is on
    await expect(setupTwoFactor(deps, ann.conn, { action: 'two_factor_setup', password: PASSWORD })).rejects.toBeInstanceOf(Conflict);
  });

  it('an enrolment lapses after ten minutes and takes at most five tries', async () => {
    const { deps, advance } = world();
    const ben = await person(deps);
    const { secret } = (await setupTwoFactor(deps, ben.conn, { action: 'two_factor_setup', password: PASSWORD })).reply as unknown as { secret: string };
    advance(601);
    await expect(enableTwoFactor(deps, ben.conn, { action: 'two_factor_enable', code: await codeAt(deps, secret) })).rejects.toThrow(
      /expired/,
    );

    const again = (await setupTwoFactor(deps, ben.conn, { action: 'two_factor_setup', password: PASSWORD })).reply as unknown as { secret: string };
    for (let i = 0; i < 5; i++) {
      await expect(enableTwoFactor(deps, ben.conn, { action: 'two_factor_enable', code: '000000' })).rejects.toBeInstanceOf(InvalidCode);
    }
    // the sixth try, even with the right code, finds no enrolment left
    await expect(enableTwoFactor(deps, ben.conn, { action: 'two_factor_enable', code: await codeAt(deps, again.secret) })).rejects.toThrow(
      /too many wrong codes/,
    );
    expect(await db.sql`select 1 from two_factor where user_id = ${ben.id}`).toHaveLength(0);
  });
});

describe('login with a second factor', () => {
  it('the password alone answers second_factor; the code then gives the session, and authed says 2FA is on', async () => {
    const { deps, advance } = world();
    const cat = await person(deps);
    const { secret } = await enrol(deps, cat.conn);
    advance(30);

    const phone = await socket(deps);
    const first = (await auth(deps, phone, { op: 'login', username: cat.name, password: PASSWORD })).reply as Record<string, unknown>;
    expect(first).toMatchObject({ type: 'second_factor', username: cat.name, expiresIn: CHALLENGE_TTL_SECONDS });
    expect(first).not.toHaveProperty('token');
    expect(await db.sql`select 1 from connections where id = ${phone} and user_id is not null`).toHaveLength(0);

    const authed = await auth(deps, phone, {
      op: 'second_factor',
      username: cat.name,
      challenge: first.challenge as string,
      code: await codeAt(deps, secret),
    });
    expect(authed.reply).toMatchObject({ type: 'authed', user: { username: cat.name, twoFactor: true } });

    // the challenge was for one use
    await expect(
      auth(deps, await socket(deps), { op: 'second_factor', username: cat.name, challenge: first.challenge as string, code: await codeAt(deps, secret, 30) }),
    ).rejects.toBeInstanceOf(Unauthorized);
  });

  it('a session from resume needs no code', async () => {
    const { deps } = world();
    const dan = await person(deps);
    await enrol(deps, dan.conn);
    // dan.token was made before 2FA went on; a session made with 2FA resumes the same way
    const out = await auth(deps, await socket(deps), { op: 'resume', token: dan.token });
    expect(out.reply).toMatchObject({ type: 'authed', user: { username: dan.name, twoFactor: true } });
  });

  it('accepts the code of the step before or after (clock drift), but not two steps away, and never one twice', async () => {
    const { deps, advance } = world();
    const eve = await person(deps);
    const { secret } = await enrol(deps, eve.conn);
    const finish = async (code: string) => {
      const conn = await socket(deps);
      const { challenge } = await firstStep(deps, conn, eve.name);
      return auth(deps, conn, { op: 'second_factor', username: eve.name, challenge, code });
    };
    advance(120);
    await expect(finish(await codeAt(deps, secret, -60))).rejects.toBeInstanceOf(InvalidCode); // two steps old
    await expect(finish(await codeAt(deps, secret, 60))).rejects.toBeInstanceOf(InvalidCode); // two steps ahead
    const previous = await codeAt(deps, secret, -30);
    expect((await finish(previous)).reply).toMatchObject({ type: 'authed' });
    // the same code again, still within its window: refused
    await expect(finish(previous)).rejects.toBeInstanceOf(InvalidCode);
    // the current step is later than the one used: accepted, then it too is spent
    const current = await codeAt(deps, secret);
    expect((await finish(current)).reply).toMatchObject({ type: 'authed' });
    await expect(finish(current)).rejects.toBeInstanceOf(InvalidCode);
    // and a code of an earlier step than the last used is refused even if unused
    await expect(finish(await codeAt(deps, secret, -30))).rejects.toBeInstanceOf(InvalidCode);
    advance(30);
    expect((await finish(await codeAt(deps, secret))).reply).toMatchObject({ type: 'authed' });
  });

  it('a recovery code works in place of the app, once, in any case and with or without its dash', async () => {
    const { deps } = world();
    const fay = await person(deps);
    const { recoveryCodes } = await enrol(deps, fay.conn);
    const conn = await socket(deps);
    const { challenge } = await firstStep(deps, conn, fay.name);
    const typed = recoveryCodes[3]!.toUpperCase().replace('-', ' ');
    expect((await auth(deps, conn, { op: 'second_factor', username: fay.name, challenge, code: typed })).reply).toMatchObject({
      type: 'authed',
    });
    const again = await socket(deps);
    const second = await firstStep(deps, again, fay.name);
    await expect(
      auth(deps, again, { op: 'second_factor', username: fay.name, challenge: second.challenge, code: recoveryCodes[3]! }),
    ).rejects.toBeInstanceOf(InvalidCode);
    const [left] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from two_factor_recovery_codes where user_id = ${fay.id} and used_at is null`;
    expect(left!.n).toBe(9);
  });

  it('a challenge lapses after five minutes', async () => {
    const { deps, advance } = world();
    const gus = await person(deps);
    const { secret } = await enrol(deps, gus.conn);
    const conn = await socket(deps);
    const { challenge } = await firstStep(deps, conn, gus.name);
    advance(CHALLENGE_TTL_SECONDS + 1);
    await expect(
      auth(deps, conn, { op: 'second_factor', username: gus.name, challenge, code: await codeAt(deps, secret) }),
    ).rejects.toThrow(/expired/);
  });
});

describe('the sweep', () => {
  it('deletes spent and lapsed challenges and unconfirmed enrolments, and leaves live ones', async () => {
    const { deps, advance } = world();
    const kim = await person(deps);
    await enrol(deps, kim.conn);
    const lee = await person(deps);
    await setupTwoFactor(deps, lee.conn, { action: 'two_factor_setup', password: PASSWORD });
    await firstStep(deps, await socket(deps), kim.name);
    const count = async () =>
      (await db.sql<{ n: number }[]>`
        select (select count(*) from two_factor_challenges where user_id = ${kim.id})
             + (select count(*) from two_factor_enrolments where user_id = ${lee.id}) as n`)[0]!.n;
    await sweepTwoFactor(deps);
    expect(Number(await count())).toBe(2);
    advance(ENROLMENT_TTL_SECONDS + 1);
    expect(await sweepTwoFactor(deps)).toBeGreaterThanOrEqual(2);
    expect(Number(await count())).toBe(0);
    expect(await db.sql`select 1 from two_factor where user_id = ${kim.id}`).toHaveLength(1);
  });
});

describe('requireSecondFactor, for other features', () => {
  it("does nothing for an account without 2FA, and asks for, checks and spends codes for one with it", async () => {
    const { deps, advance } = world();
    const hal = await person(deps);
    expect(await requireSecondFactor(deps, db.sql, hal.id)).toBe('off');
    const { secret, recoveryCodes } = await enrol(deps, hal.conn);
    await expect(requireSecondFactor(deps, db.sql, hal.id)).rejects.toBeInstanceOf(SecondFactorRequired);
    await expect(requireSecondFactor(deps, db.sql, hal.id, '  ')).rejects.toMatchObject({ code: 'second_factor_required' });
    await expect(requireSecondFactor(deps, db.sql, hal.id, '123456x')).rejects.toBeInstanceOf(InvalidCode);
    advance(30);
    const code = await codeAt(deps, secret);
    expect(await requireSecondFactor(deps, db.sql, hal.id, code)).toBe('totp');
    await expect(requireSecondFactor(deps, db.sql, hal.id, code)).rejects.toBeInstanceOf(InvalidCode);
    expect(await requireSecondFactor(deps, db.sql, hal.id, recoveryCodes[0])).toBe('recovery');
    await expect(requireSecondFactor(deps, db.sql, hal.id, recoveryCodes[0])).rejects.toBeInstanceOf(InvalidCode);
    // inside a transaction that rolls back, the code is not spent
    await db.sql
      .begin(async (tx) => {
        expect(await requireSecondFactor(deps, tx, hal.id, recoveryCodes[1])).toBe('recovery');
        throw new Error('the action failed');
      })
      .catch(() => {});
    expect(await requireSecondFactor(deps, db.sql, hal.id, recoveryCodes[1])).toBe('recovery');
  });
});

describe('turning it off and new recovery codes', () => {
  it('turning off needs the password and a current code; then the password alone logs in again', async () => {
    const { deps, advance } = world();
    const ivy = await person(deps);
    const { secret } = await enrol(deps, ivy.conn);
    advance(30);
    await expect(disableTwoFactor(deps, ivy.conn, { action: 'two_factor_disable', password: 'wrong password!', code: await codeAt(deps, secret) })).rejects.toBeInstanceOf(Forbidden);
    await expect(disableTwoFactor(deps, ivy.conn, { action: 'two_factor_disable', password: PASSWORD })).rejects.toBeInstanceOf(
      SecondFactorRequired,
    );
    await expect(disableTwoFactor(deps, ivy.conn, { action: 'two_factor_disable', password: PASSWORD, code: '000000' })).rejects.toBeInstanceOf(
      InvalidCode,
    );
    expect(await db.sql`select 1 from two_factor where user_id = ${ivy.id}`).toHaveLength(1);
    const out = await disableTwoFactor(deps, ivy.conn, { action: 'two_factor_disable', password: PASSWORD, code: await codeAt(deps, secret) });
    expect(out.reply).toEqual({ type: 'two_factor_disabled' });
    expect(await db.sql`select 1 from two_factor_recovery_codes where user_id = ${ivy.id}`).toHaveLength(0);
    const login = await auth(deps, await socket(deps), { op: 'login', username: ivy.name, password: PASSWORD });
    expect(login.reply).toMatchObject({ type: 'authed', user: { twoFactor: false } });
  });

  it('new recovery codes need a code, and the old ones stop working', async () => {
    const { deps } = world();
    const jon = await person(deps);
    const { recoveryCodes } = await enrol(deps, jon.conn);
    await expect(regenerateRecoveryCodes(deps, jon.conn, { action: 'recovery_codes' })).rejects.toBeInstanceOf(SecondFactorRequired);
    const fresh = ((await regenerateRecoveryCodes(deps, jon.conn, { action: 'recovery_codes', code: recoveryCodes[0] })).reply as unknown as {
      recoveryCodes: string[];
    }).recoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => recoveryCodes.includes(c))).toBe(false);
    await expect(requireSecondFactor(deps, db.sql, jon.id, recoveryCodes[5])).rejects.toBeInstanceOf(InvalidCode);
    expect(await requireSecondFactor(deps, db.sql, jon.id, fresh[5])).toBe('recovery');
  });
});
