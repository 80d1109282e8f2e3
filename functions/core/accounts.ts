// Accounts: sign-up with an emailed one-time code, log in, resume, log out.
// Registration and login answer the same way whether an account exists or not.
//
// Everything expensive has a cheap check in front of it. Each unauthenticated op
// first pays per connection, per source network and server-wide (one statement
// each); scrypt then runs behind a per-process gate; and every email pays per
// source network and server-wide before the hash, then per recipient (and per
// account for codes) in the same transaction that records what it sends.
import { timingSafeEqual } from 'node:crypto';
import { securityEvent } from './audit.js';
import { commitWithoutFlush, perWindow, takeBudget, takeBudgetPair, type Budget } from './budgets.js';
import { Conflict, Forbidden, InvalidCode, RateLimited, Unauthorized } from './errors.js';
import { findCaller } from './identity.js';
import { GENERAL, maskEmail, networkOf } from './names.js';
import type { Outcome } from './outcome.js';
import type { ChatSettings, Deps, Queryable, Sql } from './ports.js';
import { admitSignIn } from './connections.js';
import { isServerAdmin } from './admins.js';
import { lockUnlessSuspended, suspendedError } from './suspension.js';
import { awayPresence, countUserConnections, onlinePresence } from './presence.js';
import { hasActiveConnection } from './push.js';
import type { NotifyLevel } from './notices.js';
import type { AuthOp } from './protocol.js';
import { startReadMark } from './reads.js';
import { userRoomsPage } from './rooms.js';
import { REPLY_BUDGET_BYTES } from './sizes.js';
import { allowedTimers } from './timers.js';
import { claimHeldName } from './held-names.js';
import { forgotPassword, resetPassword } from './recovery.js';
import { bindToSession } from './sessions.js';
import { finishSecondFactor, startSecondFactor, twoFactorOn } from './two-factor.js';
import {
  HashGate,
  burnPasswordCheck,
  codeMatches,
  hashCode,
  hashPassword,
  hashToken,
  newOneTimeCode,
  newSessionToken,
  verifyPassword,
} from './secrets.js';

type Op<K extends AuthOp['op']> = Extract<AuthOp, { op: K }>;

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  email: string;
  password_hash: string;
  verified_at: Date | null;
}

/** Who is asking: the socket and the network it came from, for budgets and the log. */
export interface Source {
  connectionId: string;
  ip: string | null;
  /** the budget key of the address: an IPv4 address or an IPv6 /64 */
  net: string;
}

const HOUR = 60 * 60;

/**
 * A resume costs a tenth of a token: it hashes nothing and a token cannot be
 * guessed, and after a restart every socket behind one office's address resumes
 * at once. Register, verify and login cost a whole one.
 */
const RESUME_COST = 0.1;

export async function auth(deps: Deps, connectionId: string, op: AuthOp): Promise<Outcome> {
  if (op.op === 'logout') return logout(deps, connectionId);
  const { signedIn, ...source } = await countAuthAttempt(deps, connectionId);
  await spendAuthBudgets(deps, source, op.op === 'resume' ? RESUME_COST : 1);
  if (signedIn) throw new Conflict('This connection is already logged in; log out first.');
  switch (op.op) {
    case 'register':
      return register(deps, source, op);
    case 'verify':
      return verify(deps, source, op);
    case 'login':
      return login(deps, source, op);
    case 'resume':
      return resume(deps, source, op);
    case 'forgot':
      return forgotPassword(deps, source, op);
    case 'reset':
      return resetPassword(deps, source, op);
    case 'second_factor':
      return finishSecondFactor(deps, source, op, async (userId) => {
        const [user] = await deps.sql<UserRow[]>`
          select id, username, display_name, email, password_hash, verified_at from users where id = ${userId}`;
        if (!user) throw new Unauthorized('Wrong username or password.');
        return startSession(deps, source.connectionId, user);
      });
  }
}

/**
 * Each auth request but logout counts against the connection, before any work,
 * so one socket cannot grind through passwords, codes or tokens; a new socket
 * starts afresh but must log in within the unauthenticated grace period.
 */
async function countAuthAttempt(deps: Deps, connectionId: string): Promise<Source & { signedIn: boolean }> {
  const limit = deps.settings.authAttemptsPerConnection;
  const [row] = await deps.sql<{ auth_attempts: number; source_ip: string | null; signed_in: boolean }[]>`
    update connections set auth_attempts = auth_attempts + 1 where id = ${connectionId}
    returning auth_attempts, source_ip, user_id is not null as signed_in, ${commitWithoutFlush(deps.sql)} as commit_mode`;
  const source = { connectionId, ip: row?.source_ip ?? null, net: networkOf(row?.source_ip ?? undefined), signedIn: row?.signed_in ?? false };
  if (row && row.auth_attempts > limit) {
    securityEvent(deps.log, 'rate_limited', { limit: 'auth_per_connection', connection: connectionId, ip: source.ip });
    throw new RateLimited(`Too many sign-in attempts on this connection (at most ${limit}); reconnect and try again.`);
  }
  return source;
}

/** "30 seconds", "4 minutes": how long to wait, for people. */
function waitText(seconds: number): string {
  return seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}

interface Limit {
  /** the budget's name in the security log */
  limit: string;
  key: string;
  budget: Budget;
  /** the sentence for people, given how long to wait */
  message: (wait: string) => string;
  cost?: number;
  /** more for the log: never a secret, never a whole email address */
  fields?: Record<string, unknown>;
}

/** Takes from a budget, or logs the refusal as a security event and throws rate_limited. */
export async function spend(deps: Deps, sql: Queryable, source: Source, l: Limit): Promise<void> {
  const wait = await takeBudget(sql, l.key, l.budget, deps.clock.now(), l.cost);
  if (wait > 0) refuse(deps, source, l, wait);
}

function refuse(deps: Deps, source: Source, l: Limit, wait: number): never {
  securityEvent(deps.log, 'rate_limited', { limit: l.limit, connection: source.connectionId, ip: source.ip, ...l.fields });
  throw new RateLimited(l.message(waitText(wait)), wait);
}

/**
 * Per source network, then server-wide: one network's flood stops at its own
 * budget (the server's is charged only when the network's was), in one statement.
 */
async function spendAuthBudgets(deps: Deps, source: Source, cost: number): Promise<void> {
  const { sql, settings } = deps;
  const network: Limit = {
    limit: 'auth_per_ip',
    key: `auth:ip:${source.net}`,
    budget: perWindow(settings.authPerIpPerMinute, 60),
    message: (wait) => `Too many sign-in requests from your network; try again in ${wait}.`,
  };
  const server: Limit = {
    limit: 'auth_global',
    key: 'auth:global',
    budget: perWindow(settings.authPerMinute, 60),
    message: (wait) => `Too many people are signing in right now; try again in ${wait}.`,
  };
  const short = await takeBudgetPair(sql, network, server, deps.clock.now(), cost);
  if (short) refuse(deps, source, short.short === 'first' ? network : server, short.wait);
}

// One gate per settings object, that is per process and configuration: the core
// keeps no other state, but a semaphore only means something within one process.
const gates = new WeakMap<ChatSettings, HashGate>();

/** The gate scrypt runs behind for these settings (exported for tests). */
export function hashGate(settings: ChatSettings): HashGate {
  let gate = gates.get(settings);
  if (!gate) gates.set(settings, (gate = new HashGate(settings.hashConcurrency, settings.hashQueue, settings.hashPerNetwork)));
  return gate;
}

/** Runs password work behind the gate; a full queue is logged and answered rate_limited. */
export async function hashing<T>(deps: Deps, source: Source, work: () => Promise<T>): Promise<T> {
  try {
    return await hashGate(deps.settings).run(work, source.net);
  } catch (err) {
    if (err instanceof RateLimited) {
      const limit = err.message.includes('your network') ? 'hash_per_network' : 'hash_queue';
      securityEvent(deps.log, 'rate_limited', { limit, connection: source.connectionId, ip: source.ip });
    }
    throw err;
  }
}

/**
 * Counts a login try against the account before the password is checked, in one
 * statement, so parallel guesses cannot pass the limit. The window starts at the
 * first failure; a successful login resets it. False when no try is left.
 */
export async function claimLoginTry(deps: Deps, userId: string): Promise<boolean> {
  const { sql, settings, clock } = deps;
  const now = clock.now();
  const windowStart = new Date(now.getTime() - settings.loginFailureWindowSeconds * 1000);
  const fresh = sql`(login_failures_since is null or login_failures_since <= ${windowStart})`;
  const [row] = await sql`
    update users set
      login_failures = case when ${fresh} then 1 else login_failures + 1 end,
      login_failures_since = case when ${fresh} then ${now} else login_failures_since end
    where id = ${userId} and (${fresh} or login_failures < ${settings.loginFailuresPerAccount})
    returning id`;
  return Boolean(row);
}

export function resetLoginFailures(sql: Sql, userId: string) {
  return sql`update users set login_failures = 0, login_failures_since = null where id = ${userId}`;
}

function findUserByName(sql: Sql, username: string) {
  return sql<UserRow[]>`
    select id, username, display_name, email, password_hash, verified_at
    from users where username = ${username}`;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Invite tries pay per network and server-wide before the comparison, so guessing is slow and seen. */
async function checkInvite(deps: Deps, source: Source, invite: string | undefined, expected: string): Promise<void> {
  const { sql, settings } = deps;
  const message = (wait: string) => `Too many invite codes were tried; try again in ${wait}.`;
  await spend(deps, sql, source, {
    limit: 'invite_per_ip',
    key: `invite:ip:${source.net}`,
    budget: perWindow(settings.inviteTriesPerIpPerHour, HOUR),
    message,
  });
  await spend(deps, sql, source, { limit: 'invite_global', key: 'invite:global', budget: perWindow(settings.inviteTriesPerHour, HOUR), message });
  if (!sameSecret(invite ?? '', expected)) {
    securityEvent(deps.log, 'invite_refused', { connection: source.connectionId, ip: source.ip });
    throw new Forbidden('Signing up here needs a valid invite code.');
  }
}

/**
 * Every email an auth request may cause pays here first, before any hashing:
 * per source network (one client cannot mail the world) and server-wide (the
 * sending reputation and the bill). These are the caller's budgets, so they are
 * spent even if a later check refuses.
 */
export async function spendMailBudgets(deps: Deps, source: Source): Promise<void> {
  const { sql, settings } = deps;
  await spend(deps, sql, source, {
    limit: 'mail_per_ip',
    key: `mail:ip:${source.net}`,
    budget: perWindow(settings.mailPerIpPerHour, HOUR),
    message: (wait) => `Too many emails were asked for from your network; try again in ${wait}.`,
  });
  await spend(deps, sql, source, {
    limit: 'mail_global',
    key: 'mail:global',
    budget: perWindow(settings.mailPerHour, HOUR),
    message: (wait) => `We are sending too many emails right now; try again in ${wait}.`,
  });
}

/**
 * The recipient's budgets, spent inside the transaction that records the mail,
 * so that only mails actually sent count: a refusal rolls the whole transaction
 * back, this budget included.
 *
 * Why two: the limit exists so that nobody can mail-bomb an address through us,
 * but a plain per-address limit lets anyone lock the owner out of signing up, by
 * spending it from elsewhere, hour after hour. So the tight limit
 * (`otpSendsPerWindow`) is per address AND source network: an attacker fills only
 * their own, and the owner, signing up from their own network, is not refused.
 * The per-address total (`mailPerRecipientPerHour`) still bounds what the owner
 * receives; to hold it full an attacker needs several networks, each bounded by
 * its own mail budget, and must keep sending: the owner's refused tries spend
 * nothing, so the block ends as the attacker's last mails age out. And a refusal
 * never touches a code already sent: the owner can still verify with the last one.
 */
/**
 * What a mail is, for the per-recipient hourly budget: `unsolicited` mail is
 * what anyone can cause by naming the address (a sign-up's code, a notice of a
 * sign-up attempt, "no account uses this address"); `account` mail is a code for
 * an account that owns the address (a reset, a login to a pending sign-up, an
 * email change). Each has a budget of its own, so a stranger who spends the
 * address's unsolicited budget with sign-up attempts cannot stop its owner's
 * password reset; either way an address gets at most twice the setting an hour.
 */
export type MailKind = 'unsolicited' | 'account';

export async function spendRecipientBudgets(deps: Deps, tx: Queryable, source: Source, email: string, kind: MailKind = 'unsolicited'): Promise<void> {
  const { settings } = deps;
  // The address is kept in rate_budgets only as a hash.
  const recipient = hashToken(mailboxOf(email)).slice(0, 22);
  const pool = kind === 'account' ? ':account' : '';
  const message = (wait: string) => `Too many emails were sent to that address; wait ${wait} before asking for another.`;
  const fields = { email: maskEmail(email) };
  await spend(deps, tx, source, {
    limit: 'mail_per_recipient_and_ip',
    key: `mail:to:${recipient}:${source.net}`,
    budget: perWindow(settings.otpSendsPerWindow, settings.otpSendWindowSeconds),
    message,
    fields,
  });
  await spend(deps, tx, source, {
    limit: 'mail_per_recipient',
    key: `mail:to:${recipient}${pool}`,
    budget: perWindow(settings.mailPerRecipientPerHour, HOUR),
    message,
    fields,
  });
}

/**
 * The mailbox an address reaches, for the per-recipient budgets: lower-cased,
 * with any `+tag` dropped from the local part, since most providers deliver
 * `victim+1@…` and `victim+2@…` to the same inbox as `victim@…`.
 */
export function mailboxOf(email: string): string {
  const lower = email.toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at < 1) return lower;
  const local = lower.slice(0, at);
  const plus = local.indexOf('+');
  return (plus > 0 ? local.slice(0, plus) : local) + lower.slice(at);
}

export function accountCodeBudget(settings: ChatSettings): Budget {
  return perWindow(settings.otpSendsPerWindow, settings.otpSendWindowSeconds);
}

function insertChallenge(
  tx: Queryable,
  challenge: { userId: string; email: string; code: string; passwordHash: string; now: Date; expiresAt: Date },
) {
  return tx`
    insert into otp_challenges (user_id, email_lower, code_hash, password_hash, expires_at, created_at)
    values (${challenge.userId}, ${challenge.email.toLowerCase()}, ${hashCode(challenge.code)}, ${challenge.passwordHash},
            ${challenge.expiresAt}, ${challenge.now})`;
}

async function hasLiveChallenge(tx: Queryable, userId: string, now: Date): Promise<boolean> {
  const [row] = await tx<{ live: boolean }[]>`
    select exists (
      select 1 from otp_challenges where user_id = ${userId} and used_at is null and expires_at > ${now}
    ) as live`;
  return Boolean(row?.live);
}

async function register(deps: Deps, source: Source, op: Op<'register'>): Promise<Outcome> {
  const { sql, settings, clock } = deps;
  if (settings.inviteCode) await checkInvite(deps, source, op.invite, settings.inviteCode);
  // E20: a deleted account's name is held for a while (held-names.ts)
  await claimHeldName(deps, op.username.toLowerCase(), clock.now());
  await spendMailBudgets(deps, source);
  const passwordHash = await hashing(deps, source, () => hashPassword(op.password, settings.scryptN));
  const username = op.username.toLowerCase();
  const emailLower = op.email.toLowerCase();
  const code = await newOneTimeCode();
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + settings.otpTtlSeconds * 1000);

  // One transaction decides, under the name's row lock, whether this sign-up gets
  // a code: two sign-ups for one name at once serialise here, and the second sees
  // the first one's live code. Every branch sends exactly one email.
  const outcome = await sql.begin(async (tx) => {
    await spendRecipientBudgets(deps, tx, source, op.email);
    const [created] = await tx<{ id: string }[]>`
      insert into users (username, display_name, email, email_lower, password_hash)
      values (${username}, ${op.username}, ${op.email}, ${emailLower}, ${passwordHash})
      on conflict (username) do nothing
      returning id`;
    let userId = created?.id;
    if (!userId) {
      const [user] = await tx<{ id: string; verified_at: Date | null }[]>`
        select id, verified_at from users where username = ${username} for update`;
      // A verified name, or a pending sign-up whose code is still live: this
      // sign-up changes nothing, so that code keeps activating its own password.
      if (!user || user.verified_at || (await hasLiveChallenge(tx, user.id, now))) return 'taken' as const;
      // A pending sign-up whose codes have all lapsed never proved its address:
      // this one may take the name over, with its own password and address.
      await tx`
        update users set display_name = ${op.username}, email = ${op.email}, email_lower = ${emailLower}, password_hash = ${passwordHash}
        where id = ${user.id}`;
      await tx`update otp_challenges set used_at = ${now} where user_id = ${user.id} and used_at is null`;
      userId = user.id;
    }
    // The sign-up's code counts against the account's budget for later resends,
    // but never refuses here: a refusal would tell that the name exists.
    await takeBudget(tx, `mail:user:${userId}`, accountCodeBudget(settings), now);
    await insertChallenge(tx, { userId, email: op.email, code, passwordHash, now, expiresAt });
    return 'code' as const;
  });

  if (outcome === 'code') {
    await mailCode(deps, op.email, code);
  } else {
    securityEvent(deps.log, 'signup_conflict', { username, connection: source.connectionId, ip: source.ip, email: maskEmail(op.email) });
    await mailNameTaken(deps, op.email);
  }
  return otpSent(deps, op.email);
}

function otpSent(deps: Deps, email: string): Outcome {
  return { reply: { type: 'otp_sent', email: maskEmail(email), expiresIn: deps.settings.otpTtlSeconds } };
}

async function mailCode(deps: Deps, email: string, code: string): Promise<void> {
  const { settings, mailer } = deps;
  const minutes = Math.round(settings.otpTtlSeconds / 60);
  await mailer.send({
    to: email,
    subject: `${code} is your ${settings.appName} code`,
    text:
      `Your ${settings.appName} code is ${code}\n\n` +
      `It is valid for ${minutes} minutes and can be used once.\n` +
      `If you did not ask for it, ignore this email.\n`,
  });
}

/**
 * The answer to a sign-up for a name that is taken or has a sign-up waiting for
 * its code, told only to the address given. Nothing in it comes from the request
 * (not even the username), so nobody can send their own words through us.
 */
async function mailNameTaken(deps: Deps, email: string): Promise<void> {
  const { settings, mailer } = deps;
  await mailer.send({
    to: email,
    subject: `Sign-up attempt at ${settings.appName}`,
    text:
      `Someone, perhaps you, tried to sign up at ${settings.appName} with this address.\n` +
      `The username they chose is taken, or a sign-up for it is waiting for its code.\n\n` +
      `If you signed up a moment ago, use the code from the earlier email.\n` +
      `If you already have an account, log in. Otherwise, choose another username.\n` +
      `If it was not you, ignore this email.\n`,
  });
}

async function verify(deps: Deps, source: Source, op: Op<'verify'>): Promise<Outcome> {
  const { sql, settings, clock } = deps;
  const now = clock.now();
  const wrong = new InvalidCode('That code is not valid. Check the email, or ask for a new code.');
  const failed = (reason: string) =>
    securityEvent(deps.log, 'code_failed', { user: op.username, reason, connection: source.connectionId, ip: source.ip });
  const [user] = await findUserByName(sql, op.username);
  if (!user) {
    failed('no such user');
    throw wrong;
  }
  // Count the try before comparing, atomically, so parallel guesses cannot exceed the limit.
  const [challenge] = await sql<{ id: string; code_hash: string; attempts: number }[]>`
    update otp_challenges set attempts = attempts + 1
    where id = (
      select id from otp_challenges
      where user_id = ${user.id} and used_at is null and expires_at > ${now}
      order by id desc limit 1
    ) and attempts < ${settings.otpMaxAttempts}
    returning id, code_hash, attempts`;
  if (!challenge) {
    failed('no live code');
    throw wrong;
  }
  if (!codeMatches(op.code, challenge.code_hash)) {
    failed('wrong code');
    if (challenge.attempts >= settings.otpMaxAttempts) {
      securityEvent(deps.log, 'code_burned', { user: user.username, connection: source.connectionId, ip: source.ip });
    }
    throw wrong;
  }
  const activated = await sql.begin(async (tx) => {
    const [used] = await tx<{ password_hash: string | null }[]>`
      update otp_challenges set used_at = ${now} where id = ${challenge.id} and used_at is null returning password_hash`;
    if (!used) return undefined; // spent by a parallel verify
    // The code activates the password given with the request that produced it,
    // whatever else was written meanwhile; any other live code for the account dies.
    const [row] = await tx<UserRow[]>`
      update users set verified_at = coalesce(verified_at, ${now}), password_hash = coalesce(${used.password_hash}, password_hash)
      where id = ${user.id}
      returning id, username, display_name, email, password_hash, verified_at`;
    await tx`update otp_challenges set used_at = ${now} where user_id = ${user.id} and used_at is null`;
    await tx`insert into memberships (room_id, user_id) values (${GENERAL}, ${user.id}) on conflict do nothing`;
    await startReadMark(tx, GENERAL, user.id);
    return row;
  });
  if (!activated) {
    failed('code already used');
    throw wrong;
  }
  return startSession(deps, source.connectionId, activated);
}

async function login(deps: Deps, source: Source, op: Op<'login'>): Promise<Outcome> {
  const { sql, settings } = deps;
  const refused = new Unauthorized('Wrong username or password.');
  const event = { connection: source.connectionId, ip: source.ip };
  const [user] = await findUserByName(sql, op.username);
  if (!user) {
    // Still one scrypt, behind the same gate, so that timing does not tell.
    await hashing(deps, source, () => burnPasswordCheck(op.password, settings.scryptN));
    securityEvent(deps.log, 'login_failed', { user: op.username, known: false, ...event });
    throw refused;
  }
  // The try is claimed once the gate has let us in, so that a full queue (which
  // says nothing about the password) never counts towards the account's lockout.
  const result = await hashing(deps, source, async () => {
    if (!(await claimLoginTry(deps, user.id))) return 'locked' as const;
    return (await verifyPassword(op.password, user.password_hash)) ? ('right' as const) : ('wrong' as const);
  });
  if (result === 'locked') {
    securityEvent(deps.log, 'login_locked', { user: user.username, ...event });
    const minutes = Math.ceil(settings.loginFailureWindowSeconds / 60);
    throw new RateLimited(`Too many failed logins for this account; try again within ${minutes} minutes.`, settings.loginFailureWindowSeconds);
  }
  if (result === 'wrong') {
    securityEvent(deps.log, 'login_failed', { user: user.username, known: true, ...event });
    throw refused;
  }
  await resetLoginFailures(sql, user.id);
  if (!user.verified_at) return resendCode(deps, source, user);
  // E19: the password alone does not make a session for an account with 2FA on.
  if (await twoFactorOn(sql, user.id)) return startSecondFactor(deps, source, user);
  return startSession(deps, source.connectionId, user);
}

/** A login to a pending account: a new code for the password just proved. */
async function resendCode(deps: Deps, source: Source, user: UserRow): Promise<Outcome> {
  const { sql, settings, clock } = deps;
  await spendMailBudgets(deps, source);
  const code = await newOneTimeCode();
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + settings.otpTtlSeconds * 1000);
  const outcome = await sql.begin(async (tx) => {
    const [row] = await tx<UserRow[]>`
      select id, username, display_name, email, password_hash, verified_at from users where id = ${user.id} for update`;
    // A sign-up that took the lapsed name over since the check has its own password.
    if (!row || row.password_hash !== user.password_hash) return { kind: 'changed' as const };
    if (row.verified_at) return { kind: 'verified' as const, row }; // a parallel verify
    await spend(deps, tx, source, {
      limit: 'mail_per_account',
      key: `mail:user:${user.id}`,
      budget: accountCodeBudget(settings),
      message: (wait) => `Too many codes were sent for this account; wait ${wait} before asking for another.`,
      fields: { user: user.username },
    });
    await spendRecipientBudgets(deps, tx, source, row.email, 'account');
    // Only the newest code is valid.
    await tx`update otp_challenges set used_at = ${now} where user_id = ${user.id} and used_at is null`;
    await insertChallenge(tx, { userId: user.id, email: row.email, code, passwordHash: row.password_hash, now, expiresAt });
    return { kind: 'sent' as const, email: row.email };
  });
  if (outcome.kind === 'changed') throw new Unauthorized('Wrong username or password.');
  if (outcome.kind === 'verified') return startSession(deps, source.connectionId, outcome.row);
  await mailCode(deps, outcome.email, code);
  return otpSent(deps, outcome.email);
}

async function resume(deps: Deps, source: Source, op: Op<'resume'>): Promise<Outcome> {
  const { sql, clock } = deps;
  const [row] = await sql<(UserRow & { session_id: string; expires_at: Date })[]>`
    select u.id, u.username, u.display_name, u.email, u.password_hash, u.verified_at,
           s.id as session_id, s.expires_at
    from sessions s join users u on u.id = s.user_id
    where s.token_hash = ${hashToken(op.token)} and s.revoked_at is null and s.expires_at > ${clock.now()}`;
  if (!row) {
    // Guessing tokens is hopeless, but seen: the connection and address, never the token.
    securityEvent(deps.log, 'resume_failed', { connection: source.connectionId, ip: source.ip });
    throw new Unauthorized('That session has ended; log in again.');
  }
  return bindConnection(deps, source.connectionId, row, { id: row.session_id, token: op.token, expiresAt: row.expires_at });
}

async function startSession(deps: Deps, connectionId: string, user: UserRow): Promise<Outcome> {
  const { sql, settings, clock } = deps;
  const token = newSessionToken();
  const expiresAt = new Date(clock.now().getTime() + settings.sessionTtlSeconds * 1000);
  // Only while the password is still the one just proved, under a share lock on
  // the user's row: a reset or change that commits first refuses this login, and
  // one that commits after sees this session and ends it (else a login that proved
  // the old password while a reset went through would keep a session).
  const [session] = await sql<{ id: string }[]>`
    with still as (
      select id from users where id = ${user.id} and password_hash = ${user.password_hash} for share
    )
    insert into sessions (user_id, token_hash, expires_at)
    select id, ${hashToken(token)}, ${expiresAt} from still
    returning id`;
  if (!session) throw new Unauthorized('Wrong username or password.');
  return bindConnection(deps, connectionId, user, { id: session.id, token, expiresAt });
}

async function bindConnection(
  deps: Deps,
  connectionId: string,
  user: UserRow,
  session: { id: string; token: string; expiresAt: Date },
): Promise<Outcome> {
  const { sql, clock } = deps;
  // One short transaction: the user's row lock serialises this user's binds, so
  // the count in admitSignIn sees every earlier one and the cap is exact; the
  // bind happens only while the session is live, under a share lock on its row,
  // so a logout either revokes first (and the bind is refused) or waits for this
  // bind to commit (and its next statement finds and signs out this socket).
  const connections = await sql.begin(async (tx) => {
    // *(E22)* under the same lock a suspension takes (suspension.ts)
    const suspended = await lockUnlessSuspended(tx, user.id, clock.now());
    if (suspended !== undefined) {
      securityEvent(deps.log, 'suspended_refused', { user: user.username, connection: connectionId });
      return suspendedError(suspended);
    }
    if (!(await bindToSession(tx, connectionId, user.id, session.id, clock.now()))) {
      return new Unauthorized('That session has ended; log in again.');
    }
    return admitSignIn(deps, tx, connectionId, user); // or undoes the bind and returns the refusal
  });
  if (typeof connections !== 'number') throw connections;
  const own = await ownAccount(sql, user.id);
  // Bounded by bytes whatever is stored; `roomsMore` says `rooms` has the rest.
  // *(E22)* the blocks first: the rooms fill what they leave of the budget
  const { rooms, more } = await userRoomsPage(sql, user.id, user.username, REPLY_BUDGET_BYTES - JSON.stringify(own.blocks).length);
  const firstConnection = connections === 1;
  return {
    reply: {
      type: 'authed',
      user: {
        username: user.username,
        displayName: user.display_name,
        // E20: the rest of the profile (profile.ts)
        ...(own.status_text ? { status: own.status_text } : {}),
        ...(own.avatar_file_id ? { avatar: own.avatar_file_id } : {}),
        tourSeen: own.tour_seen,
        readReceipts: own.read_receipts,
        // *(E24)* email notices: notify ('off' | 'mentions' | 'all') and notifyQuote
        notify: own.notify,
        notifyQuote: own.notify_quote,
        twoFactor: own.two_factor,
        // *(E22)* present, true, for the server's administrators only
        ...(isServerAdmin(deps.settings, user.username) ? { admin: true } : {}),
      },
      blocks: own.blocks,
      token: session.token,
      expiresAt: session.expiresAt.toISOString(),
      // disappearing messages: the server's clock, by which clients hide them, and
      // the timers this server takes
      serverTime: clock.now().toISOString(),
      timers: allowedTimers(deps.settings),
      rooms,
      roomsMore: more,
    },
    broadcasts: firstConnection
      ? await onlinePresence(sql, deps.settings, user.id, user.username, true)
      : // *(E25)* a new connection is active: a person who was away is back
        (await hasActiveConnection(sql, user.id, connectionId))
        ? []
        : await awayPresence(sql, deps.settings, user.id, user.username, false),
  };
}

interface OwnAccount {
  status_text: string | null;
  avatar_file_id: string | null;
  tour_seen: boolean;
  read_receipts: boolean;
  notify: NotifyLevel;
  notify_quote: boolean;
  two_factor: boolean;
  /** *(E22)* the people this person has blocked, by name */
  blocks: string[];
}

/**
 * What `authed` tells a person of their own account (profile E20, tour, read
 * receipts E12, notices E24, two-factor E19, blocks E22), in one statement: a
 * sign-in's cost is mostly its round trips when thousands come online at once.
 */
async function ownAccount(sql: Queryable, userId: string): Promise<OwnAccount> {
  const [row] = await sql<OwnAccount[]>`
    select u.status_text, u.avatar_file_id, u.tour_seen_at is not null as tour_seen, u.read_receipts,
      u.notify, u.notify_quote,
      exists (select 1 from two_factor t where t.user_id = u.id) as two_factor,
      array(select b.username from blocks x join users b on b.id = x.blocked_id
            where x.blocker_id = u.id order by b.username) as blocks
    from users u where u.id = ${userId}`;
  if (!row) throw new Unauthorized('That account no longer exists; sign up again.');
  return row;
}

async function logout(deps: Deps, connectionId: string): Promise<Outcome> {
  const { sql, clock } = deps;
  const caller = await findCaller(sql, connectionId);
  if (!caller) throw new Unauthorized('This connection is not logged in.');
  // Revoke the session, then, in the NEXT statement, sign out every socket using
  // it: that statement's fresh snapshot sees every bind that committed before the
  // revoke got the session's row lock, and any later bind finds it revoked.
  if (caller.sessionId) {
    await sql`update sessions set revoked_at = ${clock.now()} where id = ${caller.sessionId} and revoked_at is null`;
  }
  const unbound = await sql<{ id: string }[]>`
    update connections set user_id = null, session_id = null, authed_at = null,
      -- a fresh grace period to log in again before the sweep closes the socket
      connected_at = case when id = ${connectionId} then ${clock.now()} else connected_at end
    where id = ${connectionId} or session_id = ${caller.sessionId}
    returning id`;
  const others = unbound.filter((o) => o.id !== connectionId);
  const lastConnection = (await countUserConnections(sql, caller.userId)) === 0;
  return {
    reply: { type: 'logged_out' },
    broadcasts: lastConnection ? await onlinePresence(sql, deps.settings, caller.userId, caller.username, false) : [],
    close: others.map((o) => o.id),
  };
}
