// The login the route functions use on AWS: a role that may read and write the
// app's rows and use its sequences, and nothing else: no DDL, no TRUNCATE, no
// temporary tables, no say in schema_migrations. The migration function creates
// or updates it (as the master user, after migrating) from the app secret, so a
// stolen function credential or an injected statement cannot change the schema.
// The local server keeps its single login: it runs no such split.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Sql } from '../core/ports.js';
import type { DbCredentials } from './aws-db.js';

const LOCK_KEY = 727_274_002; // distinct from the migration runner's lock
/** PostgreSQL's own iteration count for scram-sha-256 (scram_iterations' default) */
const SCRAM_ITERATIONS = 4096;

/** A setting that waiting will not fix (a bad name, a role with too many rights): no retry. */
export class AppRoleRefused extends Error {
  override name = 'AppRoleRefused';
}

/**
 * The password as PostgreSQL stores it for SCRAM-SHA-256 (RFC 5802/7677):
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. Handing the server
 * this verifier instead of the password keeps the password itself out of the
 * statement, and so out of any log that records statements or failed ones.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  // SASLprep leaves printable ASCII as it is; generated passwords are that.
  if (!/^[\x20-\x7e]+$/.test(password)) throw new AppRoleRefused('The app role password must be printable ASCII');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Creates the role, or sets its password again, and grants it exactly the app's
 * rights on the current database, revoking anything more first. Idempotent; runs
 * after every migration so new tables are granted. Returns what it did.
 */
export async function ensureAppRole(sql: Sql, credentials: DbCredentials): Promise<'created' | 'updated'> {
  const role = credentials.username;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role) || /^(pg_|rds)/.test(role)) {
    throw new AppRoleRefused(`The app role name "${role}" must be a plain lower-case identifier, not a reserved one`);
  }
  const verifier = scramSha256Verifier(credentials.password);
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    const [self] = await tx<{ user: string; db: string }[]>`select current_user as user, current_database() as db`;
    if (self!.user === role) throw new AppRoleRefused('The app role must not be the login that runs the migrations');
    // Utility statements take no parameters: the server quotes the names and the
    // verifier itself (format's %I and %L), so nothing is spliced in here.
    const run = async (pattern: string, ...args: string[]) => {
      const [row] = await tx.unsafe<{ statement: string }[]>(
        `select format($1${args.map((_, i) => `, $${i + 2}::text`).join('')}) as statement`,
        [pattern, ...args],
      );
      await tx.unsafe(row!.statement);
    };

    const [existing] = await tx<{ powerful: boolean }[]>`
      select r.rolsuper or r.rolcreatedb or r.rolcreaterole or r.rolreplication or r.rolbypassrls
             or exists (select 1 from pg_auth_members m where m.member = r.oid) as powerful
      from pg_roles r where r.rolname = ${role}`;
    if (existing?.powerful) throw new AppRoleRefused(`The role "${role}" exists with more rights than the app needs; drop it or name another in the app secret`);
    await run(existing ? 'alter role %I with login password %L' : 'create role %I with login password %L', role, verifier);

    // Start from nothing on this database, then grant the app's work.
    await run('revoke all on database %I from %I', self!.db, role);
    await run('revoke all on schema public from %I', role);
    await run('revoke all on all tables in schema public from %I', role);
    await run('revoke all on all sequences in schema public from %I', role);
    // PUBLIC's defaults would hand every login temporary tables, and schema public's
    // CREATE before PostgreSQL 15; neither is the app's.
    await run('revoke temporary on database %I from public', self!.db);
    await tx`revoke create on schema public from public`;

    await run('grant connect on database %I to %I', self!.db, role);
    await run('grant usage on schema public to %I', role);
    await run('grant select, insert, update, delete on all tables in schema public to %I', role);
    // The migration ledger is the runner's alone.
    await run('revoke all on table schema_migrations from %I', role);
    // nextval for the identity columns and message ids
    await run('grant usage on all sequences in schema public to %I', role);
    return existing ? 'updated' : 'created';
  });
}
