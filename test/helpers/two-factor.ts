// Two-factor tests (E19): people made straight in the database, sockets, and codes
// computed with otplib as an authenticator app would, at the test's clock.
import { generate } from 'otplib';
import { loadConfig } from '../../functions/adapters/config.js';
import { auth } from '../../functions/core/accounts.js';
import { openConnection } from '../../functions/core/connections.js';
import type { Outcome } from '../../functions/core/outcome.js';
import type { Deps, Sql } from '../../functions/core/ports.js';
import { hashPassword } from '../../functions/core/secrets.js';
import { handler as onDefault } from '../../functions/default.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import { messageEvent } from './events.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from './fakes.js';
import { TEST_ENV } from './server.js';

export const PASSWORD = 'correct horse battery';

/** A clock the test moves, and ports around it. */
export function twoFactorWorld(sql: Sql, env: Record<string, string> = {}) {
  const clock = { at: new Date('2026-05-01T10:00:00Z'), now: () => clock.at };
  const log = new RecordingLogger();
  const deps: Deps = {
    sql,
    gateway: new RecordingGateway(),
    mailer: new RecordingMailer(),
    clock,
    log,
    settings: loadConfig({ ...TEST_ENV, ...env }).settings,
  };
  const advance = (seconds: number) => (clock.at = new Date(clock.at.getTime() + seconds * 1000));
  return { deps, clock, log, advance };
}

let n = 0;
let ipN = 0;

/** A new socket from an address of its own (or the one given). */
export async function socket(deps: Deps, ip = `203.0.${Math.floor(++ipN / 250) % 250}.${ipN % 250}`): Promise<string> {
  const id = `tf-${process.pid}-${++n}`;
  await openConnection(deps.sql, id, deps.clock.now(), ip);
  return id;
}

/** A verified person with PASSWORD, logged in on a socket of their own. */
export async function person(deps: Deps, prefix = 'tf'): Promise<{ id: string; name: string; conn: string; token: string }> {
  const name = `${prefix}${process.pid % 1000}_${++n}`;
  const hash = await hashPassword(PASSWORD, deps.settings.scryptN);
  await deps.sql`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values (${name}, ${name}, ${`${name}@example.com`}, ${`${name}@example.com`}, ${hash}, now())`;
  const [row] = await deps.sql<{ id: string }[]>`select id from users where username = ${name}`;
  await deps.sql`insert into memberships (room_id, user_id) values ('general', ${row!.id}) on conflict do nothing`;
  const conn = await socket(deps);
  const authed = await auth(deps, conn, { op: 'login', username: name, password: PASSWORD });
  return { id: row!.id, name, conn, token: (authed.reply as unknown as { token: string }).token };
}

/** The code an authenticator app shows at the test's clock (or `offset` seconds from it). */
export function codeAt(deps: Deps, secret: string, offset = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(deps.clock.now().getTime() / 1000) + offset });
}

/** A `$default` action through the real handler, as a client sends it: the reply or error frame. */
export async function act(deps: Deps, conn: string, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  installDeps(deps);
  const gateway = deps.gateway as RecordingGateway;
  const before = gateway.posts.length;
  await onDefault(messageEvent(conn, frame));
  const posted = gateway.posts.slice(before).filter((p) => p.to === conn).at(-1);
  return (posted?.frame ?? {}) as Record<string, unknown>;
}

/** Turns 2FA on for the person's socket; returns the secret and the recovery codes. */
export async function enrol(deps: Deps, conn: string): Promise<{ secret: string; uri: string; recoveryCodes: string[] }> {
  const { setupTwoFactor, enableTwoFactor } = await import('../../functions/core/two-factor.js');
  const setup = (await setupTwoFactor(deps, conn, { action: 'two_factor_setup', password: PASSWORD })).reply as unknown as { secret: string; uri: string };
  const enabled = await enableTwoFactor(deps, conn, { action: 'two_factor_enable', code: await codeAt(deps, setup.secret) });
  return { ...setup, recoveryCodes: (enabled.reply as unknown as { recoveryCodes: string[] }).recoveryCodes };
}

/** Password then challenge: the `second_factor` reply of a fresh login on `conn`. */
export async function firstStep(deps: Deps, conn: string, username: string): Promise<{ challenge: string; username: string }> {
  const out: Outcome = await auth(deps, conn, { op: 'login', username, password: PASSWORD });
  return out.reply as unknown as { challenge: string; username: string };
}
