// Accounts: sign-up with an emailed one-time code, log in, resume, log out.
// Registration and login answer the same way whether an account exists or not.
import { timingSafeEqual } from 'node:crypto';
import { Conflict, Forbidden, InvalidCode, RateLimited, Unauthorized } from './errors.js';
import { findCaller } from './identity.js';
import { GENERAL, maskEmail } from './names.js';
import type { Outcome } from './outcome.js';
import type { Deps, Sql } from './ports.js';
import { countUserConnections, onlinePresence } from './presence.js';
import type { AuthOp } from './protocol.js';
import { userRoomsPage } from './rooms.js';
import { REPLY_BUDGET_BYTES } from './sizes.js';
import {
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

export async function auth(deps: Deps, connectionId: string, op: AuthOp): Promise<Outcome> {
  if (op.op === 'logout') return logout(deps, connectionId);
  await countAuthAttempt(deps, connectionId);
  if (await findCaller(deps.sql, connectionId)) throw new Conflict('This connection is already logged in; log out first.');
  switch (op.op) {
    case 'register':
      return register(deps, op);
    case 'verify':
      return verify(deps, connectionId, op);
    case 'login':
      return login(deps, connectionId, op);
    case 'resume':
      return resume(deps, connectionId, op);
  }
}

/**
 * Each auth request but logout counts against the connection, before any work,
 * so one socket cannot grind through passwords, codes or tokens; a new socket
 * starts afresh but must log in within the unauthenticated grace period.
 */
async function countAuthAttempt(deps: Deps, connectionId: string): Promise<void> {
  const limit = deps.settings.authAttemptsPerConnection;
  const [row] = await deps.sql<{ auth_attempts: number }[]>`
    update connections set auth_attempts = auth_attempts + 1 where id = ${connectionId} returning auth_attempts`;
  if (row && row.auth_attempts > limit) {
    throw new RateLimited(`Too many sign-in attempts on this connection (at most ${limit}); reconnect and try again.`);
  }
}

/**
 * Counts a login try against the account before the password is checked, in one
 * statement, so parallel guesses cannot pass the limit. The window starts at the
 * first failure; a successful login resets it. False when no try is left.
 */
async function claimLoginTry(deps: Deps, userId: string): Promise<boolean> {
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

function resetLoginFailures(sql: Sql, userId: string) {
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

async function register(deps: Deps, op: Op<'register'>): Promise<Outcome> {
  const { sql, settings, clock } = deps;
  if (settings.inviteCode && !sameSecret(op.invite ?? '', settings.inviteCode)) {
    throw new Forbidden('Signing up here needs a valid invite code.');
  }
  const passwordHash = await hashPassword(op.password, settings.scryptN);
  const displayName = op.username;
  op = { ...op, username: op.username.toLowerCase() };
  const emailLower = op.email.toLowerCase();
  await assertCodeSendAllowed(deps, undefined, emailLower);

  const [created] = await sql<{ id: string }[]>`
    insert into users (username, display_name, email, email_lower, password_hash)
    values (${op.username}, ${displayName}, ${op.email}, ${emailLower}, ${passwordHash})
    on conflict (username) do nothing
    returning id`;
  if (created) {
    await sendCode(deps, created.id, op.email);
    return otpSent(deps, op.email);
  }

  // The name exists. An unverified account whose code has lapsed never proved its
  // address, so a new sign-up may take the name over; otherwise the address owner
  // is told by email (and nobody else learns whether the name exists).
  const [taken] = await sql<{ id: string }[]>`
    update users u
    set email = ${op.email}, email_lower = ${emailLower}, password_hash = ${passwordHash}
    where u.username = ${op.username} and u.verified_at is null
      and (u.email_lower = ${emailLower} or not exists (
        select 1 from otp_challenges o
        where o.user_id = u.id and o.used_at is null and o.expires_at > ${clock.now()}
      ))
    returning id`;
  if (taken) {
    await sendCode(deps, taken.id, op.email);
  } else {
    await recordCodeSend(sql, undefined, emailLower, clock.now());
    await deps.mailer.send({
      to: op.email,
      subject: `Sign-up attempt at ${settings.appName}`,
      text:
        `Someone, perhaps you, tried to sign up at ${settings.appName} as "${op.username}" with this address.\n` +
        `That username is already taken. If it is yours, log in; otherwise choose another name.\n`,
    });
  }
  return otpSent(deps, op.email);
}

function otpSent(deps: Deps, email: string): Outcome {
  return { reply: { type: 'otp_sent', email: maskEmail(email), expiresIn: deps.settings.otpTtlSeconds } };
}

async function assertCodeSendAllowed(deps: Deps, userId: string | undefined, emailLower: string): Promise<void> {
  const { sql, settings, clock } = deps;
  const since = new Date(clock.now().getTime() - settings.otpSendWindowSeconds * 1000);
  const [row] = await sql<{ by_user: number; by_address: number }[]>`
    select
      count(*) filter (where user_id = ${userId ?? null})::int as by_user,
      count(*) filter (where email_lower = ${emailLower})::int as by_address
    from otp_challenges
    where created_at > ${since} and (user_id = ${userId ?? null} or email_lower = ${emailLower})`;
  if (row && Math.max(row.by_user, row.by_address) >= settings.otpSendsPerWindow) {
    throw new RateLimited('Too many codes were sent; wait a while before asking for another.', settings.otpSendWindowSeconds);
  }
}

/** A burned placeholder so refused or "name taken" sends still count against the address. */
async function recordCodeSend(sql: Sql, userId: string | undefined, emailLower: string, now: Date): Promise<void> {
  await sql`
    insert into otp_challenges (user_id, email_lower, code_hash, expires_at, used_at, created_at)
    values (${userId ?? null}, ${emailLower}, '', ${now}, ${now}, ${now})`;
}

async function sendCode(deps: Deps, userId: string, email: string): Promise<void> {
  const { sql, settings, clock, mailer } = deps;
  await assertCodeSendAllowed(deps, userId, email.toLowerCase());
  const code = await newOneTimeCode();
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + settings.otpTtlSeconds * 1000);
  await sql.begin(async (tx) => {
    // Only the newest code is valid.
    await tx`update otp_challenges set used_at = ${now} where user_id = ${userId} and used_at is null`;
    await tx`
      insert into otp_challenges (user_id, email_lower, code_hash, expires_at, created_at)
      values (${userId}, ${email.toLowerCase()}, ${hashCode(code)}, ${expiresAt}, ${now})`;
  });
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

async function verify(deps: Deps, connectionId: string, op: Op<'verify'>): Promise<Outcome> {
  const { sql, settings, clock } = deps;
  const now = clock.now();
  const wrong = new InvalidCode('That code is not valid. Check the email, or log in to get a new code.');
  const [user] = await findUserByName(sql, op.username);
  if (!user) throw wrong;
  // Count the try before comparing, atomically, so parallel guesses cannot exceed the limit.
  const [challenge] = await sql<{ id: string; code_hash: string }[]>`
    update otp_challenges set attempts = attempts + 1
    where id = (
      select id from otp_challenges
      where user_id = ${user.id} and used_at is null and expires_at > ${now}
      order by id desc limit 1
    ) and attempts < ${settings.otpMaxAttempts}
    returning id, code_hash`;
  if (!challenge || !codeMatches(op.code, challenge.code_hash)) throw wrong;
  const [used] = await sql`
    update otp_challenges set used_at = ${now} where id = ${challenge.id} and used_at is null returning id`;
  if (!used) throw wrong; // spent by a parallel verify
  await sql.begin(async (tx) => {
    await tx`update users set verified_at = coalesce(verified_at, ${now}) where id = ${user.id}`;
    await tx`insert into memberships (room_id, user_id) values (${GENERAL}, ${user.id}) on conflict do nothing`;
  });
  return startSession(deps, connectionId, user);
}

async function login(deps: Deps, connectionId: string, op: Op<'login'>): Promise<Outcome> {
  const { sql, settings } = deps;
  const refused = new Unauthorized('Wrong username or password.');
  const [user] = await findUserByName(sql, op.username);
  if (!user) {
    await burnPasswordCheck(op.password, settings.scryptN);
    throw refused;
  }
  if (!(await claimLoginTry(deps, user.id))) {
    const minutes = Math.ceil(settings.loginFailureWindowSeconds / 60);
    throw new RateLimited(`Too many failed logins for this account; try again within ${minutes} minutes.`, settings.loginFailureWindowSeconds);
  }
  if (!(await verifyPassword(op.password, user.password_hash))) throw refused;
  await resetLoginFailures(sql, user.id);
  if (!user.verified_at) {
    await sendCode(deps, user.id, user.email);
    return otpSent(deps, user.email);
  }
  return startSession(deps, connectionId, user);
}

async function resume(deps: Deps, connectionId: string, op: Op<'resume'>): Promise<Outcome> {
  const { sql, clock } = deps;
  const [row] = await sql<(UserRow & { session_id: string; expires_at: Date })[]>`
    select u.id, u.username, u.display_name, u.email, u.password_hash, u.verified_at,
           s.id as session_id, s.expires_at
    from sessions s join users u on u.id = s.user_id
    where s.token_hash = ${hashToken(op.token)} and s.revoked_at is null and s.expires_at > ${clock.now()}`;
  if (!row) throw new Unauthorized('That session has ended; log in again.');
  return bindConnection(deps, connectionId, row, { id: row.session_id, token: op.token, expiresAt: row.expires_at });
}

async function startSession(deps: Deps, connectionId: string, user: UserRow): Promise<Outcome> {
  const { sql, settings, clock } = deps;
  const token = newSessionToken();
  const expiresAt = new Date(clock.now().getTime() + settings.sessionTtlSeconds * 1000);
  const [session] = await sql<{ id: string }[]>`
    insert into sessions (user_id, token_hash, expires_at)
    values (${user.id}, ${hashToken(token)}, ${expiresAt})
    returning id`;
  return bindConnection(deps, connectionId, user, { id: session!.id, token, expiresAt });
}

async function bindConnection(
  deps: Deps,
  connectionId: string,
  user: UserRow,
  session: { id: string; token: string; expiresAt: Date },
): Promise<Outcome> {
  const { sql, clock } = deps;
  await sql`
    update connections set user_id = ${user.id}, session_id = ${session.id}, authed_at = ${clock.now()}
    where id = ${connectionId}`;
  // Bounded by bytes whatever is stored; `roomsMore` says `rooms` has the rest.
  const { rooms, more } = await userRoomsPage(sql, user.id, user.username, REPLY_BUDGET_BYTES);
  const firstConnection = (await countUserConnections(sql, user.id)) === 1;
  return {
    reply: {
      type: 'authed',
      user: { username: user.username, displayName: user.display_name },
      token: session.token,
      expiresAt: session.expiresAt.toISOString(),
      rooms,
      roomsMore: more,
    },
    broadcasts: firstConnection ? await onlinePresence(sql, user.id, user.username, true) : [],
  };
}

async function logout(deps: Deps, connectionId: string): Promise<Outcome> {
  const { sql, clock } = deps;
  const caller = await findCaller(sql, connectionId);
  if (!caller) throw new Unauthorized('This connection is not logged in.');
  // Revoke the session and sign out every socket that was using it.
  const others = caller.sessionId
    ? await sql<{ id: string }[]>`
        with revoked as (
          update sessions set revoked_at = ${clock.now()} where id = ${caller.sessionId} and revoked_at is null
        )
        select id from connections where session_id = ${caller.sessionId} and id <> ${connectionId}`
    : [];
  await sql`
    update connections set user_id = null, session_id = null, authed_at = null,
      -- a fresh grace period to log in again before the sweep closes the socket
      connected_at = case when id = ${connectionId} then ${clock.now()} else connected_at end
    where id = ${connectionId} or session_id = ${caller.sessionId}`;
  const lastConnection = (await countUserConnections(sql, caller.userId)) === 0;
  return {
    reply: { type: 'logged_out' },
    broadcasts: lastConnection ? await onlinePresence(sql, caller.userId, caller.username, false) : [],
    close: others.map((o) => o.id),
  };
}
