// Account recovery and changes (extension E18): a forgotten password reset with a
// mailed code, a password change, an email change confirmed by a code sent to the
// new address. The codes are sign-up's (secrets.ts: six digits, stored as a salted
// hash, living otpTtlSeconds, otpMaxAttempts tries each claimed before the
// comparison), paid for from sign-up's mail budgets (accounts.ts): per source
// network and server-wide before anything else, then per account and per
// recipient in the transaction that records the code.
//
// `forgot` answers the same whatever is asked: for an account or not, whether its
// mail budgets let a code go or not. A code is bound to the account it was sent
// for, and only the newest of each kind is live.
import * as v from 'valibot';
import {
  accountCodeBudget,
  claimLoginTry,
  hashing,
  resetLoginFailures,
  spend,
  spendMailBudgets,
  spendRecipientBudgets,
  type Source,
} from './accounts.js';
import { securityEvent } from './audit.js';
import { BadRequest, Conflict, Forbidden, InvalidCode, RateLimited } from './errors.js';
import { requireCallerWithin } from './limits.js';
import { maskEmail, networkOf } from './names.js';
import type { Outcome } from './outcome.js';
import type { Deps, Queryable, Sql } from './ports.js';
import { emailAddress, newPassword, requestId, type AuthOp } from './protocol.js';
import { codeMatches, hashCode, hashPassword, newOneTimeCode, verifyPassword } from './secrets.js';
import { endSessions } from './sessions.js';

type Op<K extends AuthOp['op']> = Extract<AuthOp, { op: K }>;
type Purpose = 'reset' | 'email';

interface Account {
  id: string;
  username: string;
  email: string;
  password_hash: string;
}

/**
 * The verified account a username or an address names. An address that several
 * accounts share (sign-up never refused that) names the oldest of them; the
 * others are reached by their usernames.
 */
async function findAccount(sql: Sql, login: string): Promise<Account | undefined> {
  const lower = login.toLowerCase();
  const [row] = login.includes('@')
    ? await sql<Account[]>`
        select id::text, username, email, password_hash from users
        where email_lower = ${lower} and verified_at is not null order by id limit 1`
    : await sql<Account[]>`
        select id::text, username, email, password_hash from users
        where username = ${lower} and verified_at is not null`;
  return row;
}

function expiry(deps: Deps): { now: Date; expiresAt: Date } {
  const now = deps.clock.now();
  return { now, expiresAt: new Date(now.getTime() + deps.settings.otpTtlSeconds * 1000) };
}

/** Records a new code of `purpose` for the account; every older live one of that purpose dies. */
async function insertCode(tx: Queryable, userId: string, purpose: Purpose, code: string, at: { now: Date; expiresAt: Date }, newEmail?: string) {
  await tx`update account_codes set used_at = ${at.now} where user_id = ${userId} and purpose = ${purpose} and used_at is null`;
  await tx`
    insert into account_codes (user_id, purpose, new_email, code_hash, expires_at, created_at)
    values (${userId}, ${purpose}, ${newEmail ?? null}, ${hashCode(code)}, ${at.expiresAt}, ${at.now})`;
}

/**
 * Claims one try of the account's newest live code of `purpose`, in one statement,
 * before comparing: parallel guesses cannot pass the limit. Undefined when there
 * is no live code or its tries are spent; else whether it matched.
 */
async function tryCode(deps: Deps, userId: string, purpose: Purpose, code: string) {
  const { sql, settings, clock } = deps;
  const [row] = await sql<{ id: string; code_hash: string; attempts: number; new_email: string | null }[]>`
    update account_codes set attempts = attempts + 1
    where id = (
      select id from account_codes
      where user_id = ${userId} and purpose = ${purpose} and used_at is null and expires_at > ${clock.now()}
      order by id desc limit 1
    ) and attempts < ${settings.otpMaxAttempts}
    returning id::text, code_hash, attempts, new_email`;
  if (!row) return { result: 'none' as const };
  if (!codeMatches(code, row.code_hash)) return { result: 'wrong' as const, burned: row.attempts >= settings.otpMaxAttempts };
  return { result: 'right' as const, id: row.id, newEmail: row.new_email };
}

/** The budgets per account and recipient, spent with the code's record; a refusal undoes both. */
async function withMailBudgets<T>(deps: Deps, source: Source, user: { id: string; username: string }, to: string, work: (tx: Queryable) => Promise<T>) {
  return deps.sql.begin(async (tx) => {
    await spend(deps, tx, source, {
      limit: 'mail_per_account',
      key: `mail:user:${user.id}`,
      budget: accountCodeBudget(deps.settings),
      message: (wait) => `Too many codes were sent for this account; wait ${wait} before asking for another.`,
      fields: { user: user.username },
    });
    await spendRecipientBudgets(deps, tx, source, to, 'account');
    return work(tx);
  });
}

// ---- forgot and reset (auth ops: the connection is not logged in) ----

/**
 * `forgot`: mails a reset code to the account's address. The answer is the same
 * for an unknown name or address, a pending sign-up, and an account whose
 * per-account or per-recipient budget is spent (that mail is skipped and logged):
 * only the per-network and server-wide budgets, which do not depend on the
 * account, refuse. An unknown address is told that no account uses it, so that
 * both cases send one mail.
 */
export async function forgotPassword(deps: Deps, source: Source, op: Op<'forgot'>): Promise<Outcome> {
  await spendMailBudgets(deps, source);
  const user = await findAccount(deps.sql, op.login);
  const code = await newOneTimeCode();
  const at = expiry(deps);
  const event = { connection: source.connectionId, ip: source.ip };
  const quietly = async (work: () => Promise<void>, fields: Record<string, unknown>) => {
    try {
      await work();
    } catch (err) {
      if (!(err instanceof RateLimited)) throw err;
      securityEvent(deps.log, 'reset_skipped', { ...fields, ...event }); // the budget logged why
    }
  };
  if (user) {
    await quietly(async () => {
      await withMailBudgets(deps, source, user, user.email, (tx) => insertCode(tx, user.id, 'reset', code, at));
      securityEvent(deps.log, 'reset_requested', { user: user.username, ...event });
      await mailResetCode(deps, user, code);
    }, { user: user.username });
  } else if (op.login.includes('@')) {
    await quietly(async () => {
      await deps.sql.begin((tx) => spendRecipientBudgets(deps, tx, source, op.login));
      securityEvent(deps.log, 'reset_unknown', { email: maskEmail(op.login), ...event });
      await mailNoAccount(deps, op.login);
    }, { email: maskEmail(op.login) });
  } else {
    // Nothing to mail; the code is made and hashed all the same.
    hashCode(code);
    securityEvent(deps.log, 'reset_unknown', { user: op.login.toLowerCase(), ...event });
  }
  return { reply: { type: 'reset_sent', expiresIn: deps.settings.otpTtlSeconds } };
}

/**
 * `reset`: the code from `forgot` and a new password. The code is checked first
 * (a try claimed per guess), then the password hashed; the password is set, every
 * session of the account revoked and every socket of it closed. The connection
 * stays logged out: it logs in with the new password like anyone else.
 */
export async function resetPassword(deps: Deps, source: Source, op: Op<'reset'>): Promise<Outcome> {
  const { sql, settings } = deps;
  const wrong = new InvalidCode('That code is not valid. Check the email, or ask for a new code.');
  const failed = (reason: string, user: string) =>
    securityEvent(deps.log, 'reset_failed', { user, reason, connection: source.connectionId, ip: source.ip });
  const user = await findAccount(sql, op.login);
  if (!user) {
    failed('no such account', op.login.includes('@') ? maskEmail(op.login) : op.login.toLowerCase());
    throw wrong;
  }
  const tried = await tryCode(deps, user.id, 'reset', op.code);
  if (tried.result !== 'right') {
    failed(tried.result === 'none' ? 'no live code' : 'wrong code', user.username);
    if (tried.result === 'wrong' && tried.burned) securityEvent(deps.log, 'code_burned', { user: user.username, purpose: 'reset', ip: source.ip });
    throw wrong;
  }
  const passwordHash = await hashing(deps, source, () => hashPassword(op.password, settings.scryptN));
  const now = deps.clock.now();
  const done = await sql.begin(async (tx) => {
    const [used] = await tx`update account_codes set used_at = ${now} where id = ${tried.id} and used_at is null returning id`;
    if (!used) return false; // spent by a parallel reset
    await tx`
      update users set password_hash = ${passwordHash}, login_failures = 0, login_failures_since = null
      where id = ${user.id}`;
    await tx`update account_codes set used_at = ${now} where user_id = ${user.id} and purpose = 'reset' and used_at is null`;
    return true;
  });
  if (!done) {
    failed('code already used', user.username);
    throw wrong;
  }
  const ended = await endSessions(deps, user.id, user.username, { everySocket: true });
  securityEvent(deps.log, 'password_reset', { user: user.username, sessions: ended.sessions, connection: source.connectionId, ip: source.ip });
  await mailNotice(deps, user.email, 'Your password was changed', [
    `The password of your ${settings.appName} account ${user.username} was reset with a code sent to this address.`,
    `Every device that was logged in has been logged out.`,
    `If it was not you, ask for a new code with "Forgot password?" and choose a new password at once.`,
  ]);
  return { reply: { type: 'password_reset' }, broadcasts: ended.broadcasts, close: ended.close };
}

// ---- password and email changes ($default actions: the caller is logged in) ----

export const ChangePasswordFrame = v.object({
  action: v.literal('change_password'),
  id: requestId,
  current: v.pipe(v.string('current must be a string'), v.maxLength(1024, 'That is not your current password.')),
  password: newPassword,
});
export type ChangePasswordFrame = v.InferOutput<typeof ChangePasswordFrame>;

export const ChangeEmailFrame = v.object({
  action: v.literal('change_email'),
  id: requestId,
  password: v.pipe(v.string('password must be a string'), v.maxLength(1024, 'That is not your password.')),
  email: emailAddress,
});
export type ChangeEmailFrame = v.InferOutput<typeof ChangeEmailFrame>;

export const ConfirmEmailFrame = v.object({
  action: v.literal('confirm_email'),
  id: requestId,
  code: v.pipe(v.string('code must be a string'), v.regex(/^\d{6}$/, 'The code is the 6 digits from the email.')),
});
export type ConfirmEmailFrame = v.InferOutput<typeof ConfirmEmailFrame>;

async function sourceOf(sql: Sql, connectionId: string): Promise<Source> {
  const [row] = await sql<{ source_ip: string | null }[]>`select source_ip from connections where id = ${connectionId}`;
  const ip = row?.source_ip ?? null;
  return { connectionId, ip, net: networkOf(ip ?? undefined) };
}

async function accountOf(sql: Sql, userId: string): Promise<Account> {
  const [row] = await sql<Account[]>`select id::text, username, email, password_hash from users where id = ${userId}`;
  return row!;
}

/**
 * The account's password, checked as a login checks it: behind the hash gate,
 * with a try claimed against the account's failed-login limit first, so a
 * session left open somewhere cannot be used to guess the password.
 */
async function requirePassword(deps: Deps, source: Source, user: Account, password: string): Promise<void> {
  const result = await hashing(deps, source, async () => {
    if (!(await claimLoginTry(deps, user.id))) return 'locked' as const;
    return (await verifyPassword(password, user.password_hash)) ? ('right' as const) : ('wrong' as const);
  });
  if (result === 'locked') {
    securityEvent(deps.log, 'login_locked', { user: user.username, connection: source.connectionId, ip: source.ip });
    const minutes = Math.ceil(deps.settings.loginFailureWindowSeconds / 60);
    throw new RateLimited(`Too many wrong passwords for this account; try again within ${minutes} minutes.`, deps.settings.loginFailureWindowSeconds);
  }
  if (result === 'wrong') {
    securityEvent(deps.log, 'password_check_failed', { user: user.username, connection: source.connectionId, ip: source.ip });
    throw new Forbidden('That is not your current password.');
  }
  await resetLoginFailures(deps.sql, user.id);
}

/**
 * The caller's current password, checked as a login checks it (requirePassword):
 * for other account actions that must not be open to a session left open
 * somewhere (turning two-factor authentication on or off). Returns the account.
 */
export async function requireCurrentPassword(deps: Deps, connectionId: string, userId: string, password: string): Promise<Account> {
  const user = await accountOf(deps.sql, userId);
  await requirePassword(deps, await sourceOf(deps.sql, connectionId), user, password);
  return user;
}

/** `change_password`: the current password and a new one; every other session ends. */
export async function changePassword(deps: Deps, connectionId: string, frame: ChangePasswordFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'account');
  const source = await sourceOf(sql, connectionId);
  const user = await accountOf(sql, caller.userId);
  await requirePassword(deps, source, user, frame.current);
  const passwordHash = await hashing(deps, source, () => hashPassword(frame.password, settings.scryptN));
  // Only over the hash just checked: a parallel change or reset wins, this one is refused.
  const [changed] = await sql`
    update users set password_hash = ${passwordHash} where id = ${user.id} and password_hash = ${user.password_hash} returning id`;
  if (!changed) throw new Conflict('Your password was changed meanwhile; log in again with the new one.');
  const ended = await endSessions(deps, user.id, user.username, { keep: caller.sessionId ?? undefined });
  securityEvent(deps.log, 'password_changed', { user: user.username, sessions: ended.sessions, connection: connectionId, ip: source.ip });
  await mailNotice(deps, user.email, 'Your password was changed', [
    `The password of your ${settings.appName} account ${user.username} was changed.`,
    ended.sessions > 0 ? `Every other device that was logged in has been logged out.` : `No other device was logged in.`,
    `If it was not you, use "Forgot password?" at once to choose a new password.`,
  ]);
  return {
    reply: { type: 'password_changed', sessions: ended.sessions },
    broadcasts: ended.broadcasts,
    close: ended.close,
  };
}

/**
 * `change_email`: the password and a new address, which gets a code; nothing
 * changes until `confirm_email`. An address another account already uses gets a
 * notice instead of a code, and the answer is the same, so the change cannot be
 * used to learn who has signed up with an address.
 */
export async function changeEmail(deps: Deps, connectionId: string, frame: ChangeEmailFrame): Promise<Outcome> {
  const { sql } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'account');
  const source = await sourceOf(sql, connectionId);
  await spendMailBudgets(deps, source);
  const user = await accountOf(sql, caller.userId);
  await requirePassword(deps, source, user, frame.password);
  const lower = frame.email.toLowerCase();
  if (lower === user.email.toLowerCase()) throw new BadRequest('That is already your email address.');
  const code = await newOneTimeCode();
  const at = expiry(deps);
  const taken = await withMailBudgets(deps, source, user, frame.email, async (tx) => {
    if (await addressTaken(tx, lower, user.id)) return true;
    await insertCode(tx, user.id, 'email', code, at, frame.email);
    return false;
  });
  securityEvent(deps.log, 'email_change_requested', { user: user.username, email: maskEmail(frame.email), taken, ip: source.ip });
  if (taken) {
    await mailNotice(deps, frame.email, `Email change at ${deps.settings.appName}`, [
      `Someone, perhaps you, asked to move a ${deps.settings.appName} account to this address.`,
      `This address already belongs to an account, so nothing was changed.`,
      `If it was not you, ignore this email.`,
    ]);
  } else {
    await mailCodeFor(deps, frame.email, code, `Confirm your new email address for ${deps.settings.appName} with this code.`);
  }
  return { reply: { type: 'email_code_sent', email: maskEmail(frame.email), expiresIn: deps.settings.otpTtlSeconds } };
}

async function addressTaken(tx: Queryable, lower: string, exceptUser: string): Promise<boolean> {
  const [row] = await tx<{ taken: boolean }[]>`
    select exists (select 1 from users where email_lower = ${lower} and id <> ${exceptUser} and verified_at is not null) as taken`;
  return Boolean(row?.taken);
}

/** `confirm_email`: the code sent to the new address; the old one is told. */
export async function confirmEmail(deps: Deps, connectionId: string, frame: ConfirmEmailFrame): Promise<Outcome> {
  const { sql, clock, settings } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'account');
  const tried = await tryCode(deps, caller.userId, 'email', frame.code);
  if (tried.result !== 'right') {
    securityEvent(deps.log, 'code_failed', { user: caller.username, purpose: 'email', reason: tried.result, connection: connectionId });
    throw new InvalidCode('That code is not valid. Check the email sent to the new address, or ask for a new code.');
  }
  const newEmail = tried.newEmail!;
  const lower = newEmail.toLowerCase();
  const now = clock.now();
  const outcome = await sql.begin(async (tx) => {
    // One address, one account: changes to one address serialise here.
    await tx`select pg_advisory_xact_lock(hashtext(${`email:${lower}`}))`;
    const [used] = await tx`update account_codes set used_at = ${now} where id = ${tried.id} and used_at is null returning id`;
    if (!used) return { kind: 'spent' as const };
    if (await addressTaken(tx, lower, caller.userId)) return { kind: 'taken' as const };
    const [old] = await tx<{ email: string }[]>`select email from users where id = ${caller.userId} for update`;
    await tx`update users set email = ${newEmail}, email_lower = ${lower} where id = ${caller.userId}`;
    await tx`update account_codes set used_at = ${now} where user_id = ${caller.userId} and purpose = 'email' and used_at is null`;
    return { kind: 'changed' as const, old: old!.email };
  });
  if (outcome.kind === 'spent') throw new InvalidCode('That code was used already.');
  if (outcome.kind === 'taken') throw new Conflict('That address now belongs to another account; choose another.');
  securityEvent(deps.log, 'email_changed', { user: caller.username, from: maskEmail(outcome.old), to: maskEmail(newEmail), connection: connectionId });
  await mailNotice(deps, outcome.old, `Your ${settings.appName} email address was changed`, [
    `The email address of your ${settings.appName} account ${caller.username} was changed to ${maskEmail(newEmail)}.`,
    `Mail for the account, password resets included, now goes there.`,
    `If it was not you, log in and change your password, or write to the server's administrators.`,
  ]);
  return { reply: { type: 'email_changed', email: newEmail } };
}

// ---- mail ----

async function mailCodeFor(deps: Deps, to: string, code: string, why: string): Promise<void> {
  const minutes = Math.round(deps.settings.otpTtlSeconds / 60);
  await deps.mailer.send({
    to,
    subject: `${code} is your ${deps.settings.appName} code`,
    text: `${why}\n\nYour code is ${code}\n\nIt is valid for ${minutes} minutes and can be used once.\nIf you did not ask for it, ignore this email.\n`,
  });
}

async function mailResetCode(deps: Deps, user: Account, code: string): Promise<void> {
  await mailCodeFor(deps, user.email, code, `Someone, perhaps you, asked to reset the password of the ${deps.settings.appName} account ${user.username}.`);
}

/** Nothing in it comes from the request, so nobody can send their own words through us. */
async function mailNoAccount(deps: Deps, to: string): Promise<void> {
  await mailNotice(deps, to, `Password reset at ${deps.settings.appName}`, [
    `Someone, perhaps you, asked to reset a ${deps.settings.appName} password for this address.`,
    `No account uses this address, so no code was sent. If you have an account, try your username instead.`,
    `If it was not you, ignore this email.`,
  ]);
}

export async function mailNotice(deps: Deps, to: string, subject: string, lines: string[]): Promise<void> {
  await deps.mailer.send({ to, subject, text: lines.join('\n') + '\n' });
}
