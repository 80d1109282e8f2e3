// The administrators' tool (npm run admin): reports, suspensions and accounts,
// straight against the database, for when nobody is signed in as an
// administrator, or on a server nobody can reach. It runs the same core
// functions as the protocol's actions (moderation.ts, suspension.ts, reports.ts).
//
//   npm run admin -- [--database URL] COMMAND [ARGS]
//
// The database: --database URL, else DATABASE_URL, else the local server's
// embedded PGlite under DATA_DIR (default .data). PGlite is one process's
// database: stop the local server first (the tool refuses while the server's
// database socket answers). On AWS, pass the connection string of a tunnel to the
// database (docs/DEPLOY.md).
//
// Without the server, nobody is told live: a suspended person's connections are
// signed out in the database, so their next frame is refused and the server's
// sweep closes them; a deleted message reaches clients through the change feed.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../functions/adapters/config.js';
import { createSql } from '../functions/adapters/db.js';
import { eraseAccount } from '../functions/core/erase-account.js';
import { removeMessageAsAdmin } from '../functions/core/administration.js';
import type { Sql } from '../functions/core/ports.js';
import { closeReports, findReport, openReports } from '../functions/core/reports.js';
import { describeUntil, liftSuspension, parseDuration, suspendAccount } from '../functions/core/suspension.js';
import type { AccountDeps } from '../functions/core/deletion.js';
import { LocalStorage, fileSigningKey } from '../functions/adapters/local-storage.js';
import { createS3Storage } from '../functions/adapters/s3-storage.js';

export const USAGE = `Usage: npm run admin -- [--database URL] COMMAND [ARGS]

Commands:
  reports                   the open reports, oldest first
  dismiss ID                close report ID without action
  delete-message ID         delete message ID for everyone (closes its reports)
  suspend USER [--for 7d]   suspend USER for 30m, 12h, 7d, 2w... or for good (default)
  unsuspend USER            lift USER's suspension
  delete-user USER          delete USER's account for good
  users [QUERY]             accounts whose name contains QUERY (at most 100)

The database: --database URL, else DATABASE_URL, else the local server's embedded
database under DATA_DIR (stop the local server first).`;

/** A failure the person can act on: printed as it is, exit code 2 (1: the database failed). */
export class AdminError extends Error {}

/** Who the records name as having acted: the operator's login name. */
const OPERATOR = `cli:${process.env.USER ?? process.env.USERNAME ?? 'admin'}`;

function need(value: string | undefined, usage: string): string {
  if (!value) throw new AdminError(`usage: npm run admin -- ${usage}`);
  return value;
}

const ID = /^[1-9][0-9]{0,17}$/;

/** Runs one command; returns what to print. */
export async function run(db: AccountDeps, args: string[]): Promise<string> {
  const { sql } = db;
  const [cmd, ...rest] = args;
  await requireSchema(sql);
  switch (cmd) {
    case 'reports': {
      const lines: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await openReports(sql, after);
        for (const r of page.reports) {
          lines.push(
            `#${r.id}  ${r.at.slice(0, 16).replace('T', ' ')}  ${r.by} reported message ${r.message} by ${r.from} in ${r.room}${r.messageDeleted ? ' (deleted since)' : ''}`,
            `    reason:  ${oneLine(r.reason)}`,
            `    message: ${oneLine(r.text)}`,
          );
        }
        if (!page.more) break;
        after = page.reports.at(-1)!.id;
      }
      return lines.length ? lines.join('\n') : 'No open reports.';
    }
    case 'dismiss': {
      const id = need(rest[0], 'dismiss ID');
      if (!ID.test(id)) throw new AdminError(`"${id}" is not a report id.`);
      const closed = await closeReports(sql, { id }, 'dismissed', OPERATOR, db.clock.now());
      if (!closed.length) throw new AdminError(`There is no open report #${id}.`);
      return `Report #${id} dismissed.`;
    }
    case 'delete-message': {
      const id = need(rest[0], 'delete-message ID');
      if (!ID.test(id)) throw new AdminError(`"${id}" is not a message id.`);
      const removed = await removeMessageAsAdmin(db, id, OPERATOR);
      if (!removed) throw new AdminError(`There is no message ${id}, or it is deleted or gone already.`);
      return `Message ${id} in ${removed.room} deleted${removed.closed.length ? `; reports closed: ${removed.closed.map((r) => `#${r}`).join(', ')}` : ''}.`;
    }
    case 'suspend': {
      const user = need(rest[0], 'suspend USER [--for 7d]');
      let seconds: number | null = null;
      if (rest.length > 1) {
        if (rest[1] !== '--for' || rest.length !== 3) throw new AdminError('usage: npm run admin -- suspend USER [--for 7d]');
        const parsed = parseDuration(rest[2]!);
        if (parsed === undefined) throw new AdminError(`"${rest[2]}" is not a length: say 30m, 12h, 7d, 2w (a minute to ten years) or forever.`);
        seconds = parsed;
      }
      refuseAdmin(user);
      const until = seconds === null ? null : new Date(db.clock.now().getTime() + seconds * 1000);
      const result = await suspendAccount(db, user, until, OPERATOR);
      if (!result) throw new AdminError(`There is nobody called ${user}.`);
      return `${result.user} is suspended ${describeUntil(until)}${result.closed.length ? `; ${result.closed.length} connection(s) signed out` : ''}.`;
    }
    case 'unsuspend': {
      const user = need(rest[0], 'unsuspend USER');
      if (!(await liftSuspension(db, user))) throw new AdminError(`${user} is not suspended.`);
      return `${user.toLowerCase()} may log in again.`;
    }
    case 'delete-user': {
      const user = need(rest[0], 'delete-user USER');
      refuseAdmin(user);
      const erased = await eraseAccount(db, user);
      if (!erased) throw new AdminError(`There is nobody called ${user}.`);
      return `${user.toLowerCase()}'s account is deleted.`;
    }
    case 'users': {
      const query = (rest[0] ?? '').toLowerCase();
      const rows = await sql<{ username: string; verified: boolean; created_at: Date; until: Date | null; suspended: boolean }[]>`
        select u.username, u.verified_at is not null as verified, u.created_at, s.until,
          s.user_id is not null and (s.until is null or s.until > ${db.clock.now()}) as suspended
        from users u left join suspensions s on s.user_id = u.id
        where strpos(u.username, ${query}) > 0
        order by u.username limit 100`;
      if (!rows.length) return query ? `Nobody's name contains "${query}".` : 'No accounts yet.';
      return rows
        .map((r) => `${r.username.padEnd(32)} ${r.verified ? 'verified' : 'pending '}  since ${r.created_at.toISOString().slice(0, 10)}${r.suspended ? `  suspended ${describeUntil(r.until)}` : ''}`)
        .join('\n');
    }
    case undefined:
    case 'help':
    case '--help':
      return USAGE;
    default:
      throw new AdminError(`Unknown command "${cmd}".\n\n${USAGE}`);
  }
}

const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]+/g, ' ');

/** Administrators are named by ADMIN_USERS, which this tool reads as the server does. */
function refuseAdmin(user: string): void {
  const admins = (process.env.ADMIN_USERS ?? '').split(',').map((s) => s.trim().toLowerCase());
  if (admins.includes(user.toLowerCase())) throw new AdminError(`${user} is one of the server's administrators (ADMIN_USERS); take them off it first.`);
}

async function requireSchema(sql: Sql): Promise<void> {
  const [row] = await sql<{ ready: boolean }[]>`select to_regclass('public.suspensions') is not null as ready`;
  if (!row?.ready) throw new AdminError('This database has no reports or suspensions yet: start the server once, which brings its schema up to date.');
}

/** Whether something answers on the local server's database socket (it is running). */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The database the arguments and environment name, and the arguments left. */
async function openDatabase(args: string[]): Promise<{ sql: Sql; close: () => Promise<void>; args: string[] }> {
  let url = process.env.DATABASE_URL || undefined;
  const i = args.indexOf('--database');
  if (i !== -1) {
    url = args[i + 1];
    if (!url) throw new AdminError('--database needs a connection string (postgres://user@host:5432/db, with the password in PGPASSWORD).');
    args = [...args.slice(0, i), ...args.slice(i + 2)];
  }
  if (url) {
    const sql = createSql(url, { max: 1 });
    return { sql, close: () => sql.end({ timeout: 1 }), args };
  }
  const config = loadConfig(process.env);
  const socket = join(config.dataDir, 'run', '.s.PGSQL.5432');
  if (await socketAnswers(socket)) {
    throw new AdminError(
      `The local server is running on ${config.dataDir} (its database socket answers): its embedded database serves one process. Stop the server, run this again, then start it.`,
    );
  }
  const { startEmbeddedPostgres } = await import('../server/embedded-db.js');
  const embedded = await startEmbeddedPostgres({ dataDir: join(config.dataDir, 'pgdata') });
  const sql = createSql(embedded.url, { max: 1, path: embedded.path });
  return {
    sql,
    close: async () => {
      await sql.end({ timeout: 1 });
      await embedded.stop();
    },
    args,
  };
}

/**
 * Where the server keeps files, so a deleted account's go too: the S3 bucket
 * (FILES_BUCKET), or the local server's directory when there is one.
 */
async function openStorage(config: ReturnType<typeof loadConfig>) {
  if (config.files.bucket) return createS3Storage(config.files.bucket, { region: process.env.AWS_REGION, endpoint: config.files.s3Endpoint });
  if (!existsSync(config.files.dir)) return undefined;
  return new LocalStorage(config.files.dir, await fileSigningKey(config.files.dir, config.files.secret));
}

async function main(): Promise<number> {
  let args = process.argv.slice(2);
  if (!args.length || args[0] === 'help' || args[0] === '--help') {
    console.log(USAGE);
    return args.length ? 0 : 2;
  }
  let db: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    db = await openDatabase(args);
    args = db.args;
    const config = loadConfig(process.env);
    console.log(await run({ sql: db.sql, clock: { now: () => new Date() }, settings: config.settings, storage: await openStorage(config) }, args));
    return 0;
  } catch (err) {
    if (err instanceof AdminError) {
      console.error(err.message);
      return 2;
    }
    console.error(`The database failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await db?.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main();
