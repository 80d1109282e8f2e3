// Two-factor authentication with an authenticator app (TOTP, RFC 6238), E19.
//
// Enrolment: `two_factor_setup` hands out a fresh secret (as an otpauth:// URI and
// as text); it becomes the account's only when `two_factor_enable` brings a valid
// code made from it, and the answer carries ten one-use recovery codes, shown
// once. Login: after the right password an account with 2FA gets `second_factor`
// with a challenge bound to that login (its connection and account), and finishes
// with the `second_factor` auth op and a code. Turning it off needs the password
// and a code; new recovery codes need a code.
//
// Every code check goes through requireSecondFactor, so the same limits hold
// everywhere: each try is claimed against the account before the comparison (one
// statement, so parallel guesses cannot pass the limit), a TOTP code is accepted
// only for a time step later than the last one used (one conditional update, so a
// code cannot be replayed, even by two requests at once), and a recovery code is
// spent by the update that finds it.
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import * as v from 'valibot';
import { generateSecret, generateURI, verify } from 'otplib';
import { securityEvent } from './audit.js';
import { perWindow, takeBudget } from './budgets.js';
import { Conflict, InvalidCode, RateLimited, SecondFactorRequired, Unauthorized } from './errors.js';
import { requireCallerWithin } from './limits.js';
import type { Outcome } from './outcome.js';
import type { Deps, Queryable } from './ports.js';
import { requestId, secondFactorCode, type AuthOp } from './protocol.js';
import { mailNotice, requireCurrentPassword } from './recovery.js';
import { hashToken } from './secrets.js';

/** TOTP as every authenticator app reads it: SHA-1, 6 digits, 30-second steps. */
const PERIOD = 30;
/** A code of the step before or after the server's is accepted too: phone clocks drift. */
const TOLERANCE_SECONDS = PERIOD;
/** How long an enrolment waits for its first code, and a login for its second step. */
export const ENROLMENT_TTL_SECONDS = 10 * 60;
export const CHALLENGE_TTL_SECONDS = 5 * 60;
export const RECOVERY_CODE_COUNT = 10;
/**
 * Second-step tries per source network per hour, over every account: with the
 * per-account limit this keeps one network from guessing across many accounts
 * whose passwords it has.
 */
export const TRIES_PER_NETWORK_PER_HOUR = 30;

// --- frames -----------------------------------------------------------------

// The password, as a login checks it: a session left open somewhere must not be
// able to put the account behind a phone its owner does not have.
export const TwoFactorSetupFrame = v.object({
  action: v.literal('two_factor_setup'),
  id: requestId,
  password: v.pipe(v.string('password must be a string'), v.maxLength(1024)),
});
export type TwoFactorSetupFrame = v.InferOutput<typeof TwoFactorSetupFrame>;

export const TwoFactorEnableFrame = v.object({
  action: v.literal('two_factor_enable'),
  id: requestId,
  code: v.pipe(v.string('code must be a string'), v.trim(), v.regex(/^\d{6}$/, 'The code is the 6 digits the authenticator app shows.')),
});
export type TwoFactorEnableFrame = v.InferOutput<typeof TwoFactorEnableFrame>;

export const TwoFactorDisableFrame = v.object({
  action: v.literal('two_factor_disable'),
  id: requestId,
  password: v.pipe(v.string('password must be a string'), v.maxLength(1024)),
  code: v.optional(secondFactorCode),
});
export type TwoFactorDisableFrame = v.InferOutput<typeof TwoFactorDisableFrame>;

export const RecoveryCodesFrame = v.object({ action: v.literal('recovery_codes'), id: requestId, code: v.optional(secondFactorCode) });
export type RecoveryCodesFrame = v.InferOutput<typeof RecoveryCodesFrame>;

type SecondFactorOp = Extract<AuthOp, { op: 'second_factor' }>;

// --- codes ------------------------------------------------------------------

/** Unix seconds by the injected clock: every TOTP check goes by deps.clock. */
const epochOf = (deps: Pick<Deps, 'clock'>) => Math.floor(deps.clock.now().getTime() / 1000);

/** The time step a six-digit code belongs to, or undefined when it matches none near now. */
async function totpStep(deps: Pick<Deps, 'clock'>, secret: string, code: string, afterStep = 0): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const result = await verify({
    secret,
    token: code,
    period: PERIOD,
    epoch: epochOf(deps),
    epochTolerance: TOLERANCE_SECONDS,
    afterTimeStep: afterStep,
  });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/** Recovery codes: 10 characters of a 31-letter alphabet without 0/o, 1/l/i: 49 bits each. */
const RECOVERY_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';

function newRecoveryCode(): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** As typed or as shown: case, spaces and dashes do not matter. */
function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/**
 * A recovery code's stored form: HMAC-SHA256 keyed with the account's random salt.
 * A fast hash is enough here, unlike for passwords: each code is ~49 random bits,
 * so even a leaked table cannot be searched (2^49 HMACs per code per account, and
 * the salt makes every account's search separate), while a slow hash would only
 * make each honest check, and each guess the limits already bound, cost the
 * server more. Equal codes of two accounts hash differently.
 */
function recoveryHash(salt: string, code: string): string {
  return createHmac('sha256', Buffer.from(salt, 'base64')).update(normaliseRecoveryCode(code)).digest('base64url');
}

/** Ten fresh codes replace the account's old ones (used or not); returns them as shown. */
async function replaceRecoveryCodes(tx: Queryable, userId: string, salt: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await tx`delete from two_factor_recovery_codes where user_id = ${userId}`;
  const rows = codes.map((code) => ({ user_id: userId, code_hash: recoveryHash(salt, code) }));
  await tx`insert into two_factor_recovery_codes ${tx(rows, 'user_id', 'code_hash')}`;
  return codes;
}

// --- the helper other features call --------------------------------------------

/** Whether the account has 2FA on (for `authed.user.twoFactor` and the login). */
export async function twoFactorOn(sql: Queryable, userId: string): Promise<boolean> {
  const [row] = await sql<{ on: boolean }[]>`select exists (select 1 from two_factor where user_id = ${userId}) as on`;
  return row?.on ?? false;
}

/**
 * Counts a second-factor try against the account before the code is compared, in
 * one statement (as login tries are counted, with the same limit and window), so
 * parallel guesses cannot pass the limit; a right code resets it. Returns the
 * account's 2FA row, 'off' when 2FA is off, or 'locked'.
 */
async function claimTry(deps: Deps, sql: Queryable, userId: string) {
  const { settings, clock } = deps;
  const now = clock.now();
  const windowStart = new Date(now.getTime() - settings.loginFailureWindowSeconds * 1000);
  const fresh = sql`(failures_since is null or failures_since <= ${windowStart})`;
  const [row] = await sql<{ secret: string; last_step: string; recovery_salt: string }[]>`
    update two_factor set
      failures = case when ${fresh} then 1 else failures + 1 end,
      failures_since = case when ${fresh} then ${now} else failures_since end
    where user_id = ${userId} and (${fresh} or failures < ${settings.loginFailuresPerAccount})
    returning secret, last_step::text, recovery_salt`;
  if (row) return row;
  return (await twoFactorOn(sql, userId)) ? ('locked' as const) : ('off' as const);
}

/** What a right code was: a TOTP code of a step not used before, or a recovery code (now spent). */
export type SecondFactorUsed = 'off' | 'totp' | 'recovery';

/**
 * requireSecondFactor(deps, tx, userId, code?): for features that must ask for the
 * second factor before acting (turning 2FA off, new recovery codes, and e.g.
 * changing the password or deleting the account). When the account has 2FA off it
 * returns 'off' and does nothing. Otherwise:
 * - no code: throws SecondFactorRequired (protocol code `second_factor_required`),
 *   so a client can ask the person for one and send the request again with it;
 * - too many wrong tries for the account: throws RateLimited;
 * - a wrong code, or a TOTP code of a time step already used: throws InvalidCode;
 * - a right TOTP code: records its time step as used and returns 'totp';
 * - a right recovery code: marks it used and returns 'recovery'.
 * Each try is counted against the account first, in one statement, with the login
 * limit (LOGIN_FAILURES_PER_ACCOUNT per LOGIN_FAILURE_WINDOW_SECONDS); a right code
 * resets the count. Pass `deps.sql` (each statement commits on its own, the
 * recommended way) or a transaction: inside a transaction that is rolled back,
 * the counted try and the spent code are rolled back too, so call it before the
 * action's own work, and never retry it in a loop. The caller's action must have
 * its own per-user budget in front (requireCallerWithin), which also bounds the
 * guesses one person can make through it.
 */
export async function requireSecondFactor(deps: Deps, tx: Queryable, userId: string, code?: string): Promise<SecondFactorUsed> {
  if (!(await twoFactorOn(tx, userId))) return 'off';
  const given = code?.trim();
  if (!given) {
    throw new SecondFactorRequired('This account uses two-factor authentication: enter a code from the authenticator app, or a recovery code.');
  }
  const row = await claimTry(deps, tx, userId);
  if (row === 'off') return 'off'; // turned off in between
  if (row === 'locked') {
    securityEvent(deps.log, 'second_factor_locked', { userId });
    const minutes = Math.ceil(deps.settings.loginFailureWindowSeconds / 60);
    throw new RateLimited(
      `Too many wrong two-factor codes for this account; try again within ${minutes} minutes.`,
      deps.settings.loginFailureWindowSeconds,
    );
  }
  const wrong = new InvalidCode('That code is not valid. Enter the current code from the authenticator app, or an unused recovery code.');
  if (/^\d{6}$/.test(given)) {
    // otplib refuses steps up to last_step; the update below refuses them again
    // atomically, for two requests that carry the same code at once.
    const step = await totpStep(deps, row.secret, given, Number(row.last_step));
    if (step === undefined) {
      securityEvent(deps.log, 'second_factor_failed', { userId, kind: 'totp' });
      throw wrong;
    }
    const [used] = await tx`
      update two_factor set last_step = ${step}, failures = 0, failures_since = null
      where user_id = ${userId} and last_step < ${step} returning user_id`;
    if (!used) {
      securityEvent(deps.log, 'second_factor_failed', { userId, kind: 'totp', reason: 'replayed' });
      throw wrong;
    }
    return 'totp';
  }
  const [spent] = await tx`
    update two_factor_recovery_codes set used_at = ${deps.clock.now()}
    where user_id = ${userId} and code_hash = ${recoveryHash(row.recovery_salt, given)} and used_at is null
    returning user_id`;
  if (!spent) {
    securityEvent(deps.log, 'second_factor_failed', { userId, kind: 'recovery' });
    throw wrong;
  }
  await tx`update two_factor set failures = 0, failures_since = null where user_id = ${userId}`;
  securityEvent(deps.log, 'recovery_code_used', { userId });
  return 'recovery';
}

// --- enrolment and settings ($default actions) ---------------------------------

/** `two_factor_setup`: a fresh secret for the caller, waiting for its first code. */
export async function setupTwoFactor(deps: Deps, connectionId: string, frame: TwoFactorSetupFrame): Promise<Outcome> {
  const { sql, clock, settings } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'two_factor');
  if (await twoFactorOn(sql, caller.userId)) throw new Conflict('Two-factor authentication is already on for this account.');
  await requireCurrentPassword(deps, connectionId, caller.userId, frame.password);
  const secret = generateSecret(); // 20 random bytes, base32: what authenticator apps expect
  const expiresAt = new Date(clock.now().getTime() + ENROLMENT_TTL_SECONDS * 1000);
  await sql`
    insert into two_factor_enrolments (user_id, secret, expires_at) values (${caller.userId}, ${secret}, ${expiresAt})
    on conflict (user_id) do update set secret = excluded.secret, attempts = 0, expires_at = excluded.expires_at`;
  const uri = generateURI({ issuer: settings.appName, label: caller.username, secret, period: PERIOD });
  return { reply: { type: 'two_factor_setup', secret, uri, expiresIn: ENROLMENT_TTL_SECONDS } };
}

/** `two_factor_enable`: the first code proves the app has the secret; 2FA goes on. */
export async function enableTwoFactor(deps: Deps, connectionId: string, frame: TwoFactorEnableFrame): Promise<Outcome> {
  const { sql, clock, settings } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'two_factor');
  const now = clock.now();
  // The try is counted before the comparison, in one statement.
  const [pending] = await sql<{ secret: string }[]>`
    update two_factor_enrolments set attempts = attempts + 1
    where user_id = ${caller.userId} and expires_at > ${now} and attempts < ${settings.otpMaxAttempts}
    returning secret`;
  if (!pending) {
    if (await twoFactorOn(sql, caller.userId)) throw new Conflict('Two-factor authentication is already on for this account.');
    throw new InvalidCode('That setup has expired or had too many wrong codes; start again.');
  }
  const step = await totpStep(deps, pending.secret, frame.code);
  if (step === undefined) {
    securityEvent(deps.log, 'second_factor_failed', { user: caller.username, kind: 'enrolment' });
    throw new InvalidCode('That code is not valid. Enter the 6 digits the authenticator app shows now.');
  }
  const codes = await sql.begin(async (tx) => {
    const [taken] = await tx`delete from two_factor_enrolments where user_id = ${caller.userId} and secret = ${pending.secret} returning user_id`;
    if (!taken) return undefined; // a parallel enable, or a new setup, got there first
    const salt = randomBytes(16).toString('base64');
    const [on] = await tx`
      insert into two_factor (user_id, secret, last_step, recovery_salt, enabled_at)
      values (${caller.userId}, ${pending.secret}, ${step}, ${salt}, ${now})
      on conflict (user_id) do nothing returning user_id`;
    if (!on) return undefined;
    return replaceRecoveryCodes(tx, caller.userId, salt);
  });
  if (!codes) throw new Conflict('Two-factor authentication was changed by another request; look again.');
  securityEvent(deps.log, 'two_factor_changed', { change: 'enabled', user: caller.username, connection: connectionId });
  await noticeTwoFactor(deps, caller.userId, 'on');
  return { reply: { type: 'two_factor_enabled', recoveryCodes: codes } };
}

/** The account's address is told whenever two-factor authentication goes on or off. */
async function noticeTwoFactor(deps: Deps, userId: string, state: 'on' | 'off'): Promise<void> {
  const [user] = await deps.sql<{ username: string; email: string | null }[]>`select username, email from users where id = ${userId}`;
  if (!user?.email) return;
  await mailNotice(deps, user.email, `Two-factor authentication was turned ${state}`, [
    `Two-factor authentication was turned ${state} for your ${deps.settings.appName} account ${user.username}.`,
    state === 'on'
      ? 'Logging in now asks for a code from the authenticator app after the password.'
      : 'Logging in now asks for the password alone.',
    'If it was not you, log out every other device (Account → Devices) and change your password at once.',
  ]);
}

/** `two_factor_disable`: the password and a current code (TOTP or recovery). */
export async function disableTwoFactor(deps: Deps, connectionId: string, frame: TwoFactorDisableFrame): Promise<Outcome> {
  const { sql } = deps;
  // The per-user budget is the cheap check in front of scrypt.
  const caller = await requireCallerWithin(deps, connectionId, 'two_factor');
  if (!(await twoFactorOn(sql, caller.userId))) throw new Conflict('Two-factor authentication is already off for this account.');
  // Counted as a login try: a stolen session cannot guess the password here either.
  await requireCurrentPassword(deps, connectionId, caller.userId, frame.password);
  await requireSecondFactor(deps, sql, caller.userId, frame.code);
  await sql.begin(async (tx) => {
    await tx`delete from two_factor_recovery_codes where user_id = ${caller.userId}`;
    await tx`delete from two_factor_challenges where user_id = ${caller.userId}`;
    await tx`delete from two_factor where user_id = ${caller.userId}`;
  });
  securityEvent(deps.log, 'two_factor_changed', { change: 'disabled', user: caller.username, connection: connectionId });
  await noticeTwoFactor(deps, caller.userId, 'off');
  return { reply: { type: 'two_factor_disabled' } };
}

/** `recovery_codes`: ten new codes for a current code; the old ones stop working. */
export async function regenerateRecoveryCodes(deps: Deps, connectionId: string, frame: RecoveryCodesFrame): Promise<Outcome> {
  const { sql } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'two_factor');
  if (!(await twoFactorOn(sql, caller.userId))) throw new Conflict('Two-factor authentication is off for this account: there are no recovery codes.');
  await requireSecondFactor(deps, sql, caller.userId, frame.code);
  const codes = await sql.begin(async (tx) => {
    const [row] = await tx<{ recovery_salt: string }[]>`select recovery_salt from two_factor where user_id = ${caller.userId} for update`;
    return row ? replaceRecoveryCodes(tx, caller.userId, row.recovery_salt) : undefined;
  });
  if (!codes) throw new Conflict('Two-factor authentication was turned off meanwhile.');
  securityEvent(deps.log, 'two_factor_changed', { change: 'recovery_codes', user: caller.username, connection: connectionId });
  return { reply: { type: 'recovery_codes', recoveryCodes: codes } };
}

// --- login -----------------------------------------------------------------

/** Who is asking, as accounts.ts tells it. */
export interface AuthSource {
  connectionId: string;
  ip: string | null;
  net: string;
}

/**
 * After the right password for an account with 2FA on: a challenge for this login
 * only (this account, this connection, a few minutes, one use). The token is 256
 * random bits; only its SHA-256 is kept. It is not a session and resumes nothing.
 */
export async function startSecondFactor(deps: Deps, source: AuthSource, user: { id: string; username: string }): Promise<Outcome> {
  const { sql, clock } = deps;
  const now = clock.now();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000);
  // The account's spent and lapsed challenges go as a new one comes: rows stay few.
  await sql`delete from two_factor_challenges where user_id = ${user.id} and (used_at is not null or expires_at <= ${now})`;
  await sql`
    insert into two_factor_challenges (user_id, connection_id, token_hash, expires_at, created_at)
    values (${user.id}, ${source.connectionId}, ${hashToken(token)}, ${expiresAt}, ${now})`;
  return { reply: { type: 'second_factor', username: user.username, challenge: token, expiresIn: CHALLENGE_TTL_SECONDS } };
}

/**
 * The `second_factor` auth op: the challenge must be live, unused, for this
 * username, and given on the connection that proved the password; the code is
 * checked by requireSecondFactor. On success the challenge is spent and
 * `startSession` (accounts.ts) makes the session.
 */
export async function finishSecondFactor(
  deps: Deps,
  source: AuthSource,
  op: SecondFactorOp,
  startSession: (userId: string) => Promise<Outcome>,
): Promise<Outcome> {
  const { sql, clock } = deps;
  const now = clock.now();
  const event = { connection: source.connectionId, ip: source.ip };
  const wait = await takeBudget(sql, `2fa:ip:${source.net}`, perWindow(TRIES_PER_NETWORK_PER_HOUR, 60 * 60), now);
  if (wait > 0) {
    securityEvent(deps.log, 'rate_limited', { limit: 'second_factor_per_ip', ...event });
    throw new RateLimited(`Too many two-factor codes were tried from your network; try again in ${Math.ceil(wait / 60)} minutes.`, wait);
  }
  // Claimed before the code is compared, in one statement: a challenge takes at
  // most otpMaxAttempts tries, however many arrive at once.
  const [challenge] = await sql<{ id: string; user_id: string; username: string }[]>`
    update two_factor_challenges c set attempts = attempts + 1
    from users u
    where c.token_hash = ${hashToken(op.challenge)} and u.id = c.user_id and u.username = ${op.username}
      and c.connection_id = ${source.connectionId} and c.used_at is null and c.expires_at > ${now}
      and c.attempts < ${deps.settings.otpMaxAttempts}
    returning c.id, c.user_id, u.username`;
  if (!challenge) {
    securityEvent(deps.log, 'second_factor_failed', { user: op.username, reason: 'no live challenge', ...event });
    throw new Unauthorized('That sign-in has expired or was not started on this connection; log in again.');
  }
  try {
    await requireSecondFactor(deps, sql, challenge.user_id, op.code);
  } catch (err) {
    if (err instanceof InvalidCode) securityEvent(deps.log, 'login_failed', { user: challenge.username, second_factor: true, ...event });
    throw err;
  }
  const [spent] = await sql`
    update two_factor_challenges set used_at = ${now} where id = ${challenge.id} and used_at is null returning id`;
  if (!spent) throw new Unauthorized('That sign-in was already finished; log in again.');
  return startSession(challenge.user_id);
}

/**
 * For the sweep: spent and lapsed challenges, and enrolments never confirmed, are
 * deleted (a new challenge also clears its own account's). Returns how many.
 */
export async function sweepTwoFactor(deps: Pick<Deps, 'sql' | 'clock'>): Promise<number> {
  const now = deps.clock.now();
  const challenges = await deps.sql`delete from two_factor_challenges where used_at is not null or expires_at <= ${now}`;
  const enrolments = await deps.sql`delete from two_factor_enrolments where expires_at <= ${now}`;
  return challenges.count + enrolments.count;
}
