// The app role on AWS, on a real PostgreSQL: the migration custom resource (as the
// master login) creates it from the app secret; the deployed handlers, logged in
// as it through createAwsDeps, do the whole chat; and it can change no schema.
// Roles belong to the whole server, not one database, so this needs the real
// server (TEST_DATABASE_URL); PGlite has one login and skips it.
import { randomBytes } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppRoleRefused, ensureAppRole, scramSha256Verifier } from '../../functions/adapters/app-role.js';
import { createAwsDeps } from '../../functions/adapters/aws.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { SCHEMA_DIR } from '../../functions/adapters/migrate.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import type { Deps } from '../../functions/core/ports.js';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onDefault } from '../../functions/default.js';
import { handler as onDisconnect } from '../../functions/disconnect.js';
import { handler as onHistory } from '../../functions/history.js';
import { handler as onJoin } from '../../functions/join.js';
import { handler as onLeave } from '../../functions/leave.js';
import { handler as onMigrate } from '../../functions/migrate.js';
import { handler as onSend } from '../../functions/send.js';
import { handler as onSweep } from '../../functions/sweep.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { awsEnv, dbSecret, wsEvent } from './events.js';
import { startFakeAws, type FakeAws } from './fake-aws.js';

const MASTER_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:master-AbCdEf';
const APP_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app-GhIjKl';
const suffix = randomBytes(5).toString('hex');
const ROLE = `ww_app_${suffix}`;
// Like Secrets Manager's: printable ASCII, RDS's excluded characters left out.
const PASSWORD = `Pw-${randomBytes(18).toString('base64url')}.9`;
const extraRoles: string[] = [];

let db: TestDatabase;
let fake: FakeAws;
let deps: Deps;
/** the server's superuser, for the checks only it may make */
let admin: postgres.Sql;

function cfnEvent(RequestType: 'Create' | 'Update'): CloudFormationCustomResourceEvent {
  return {
    RequestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/',
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/WildWhispers/1',
    RequestId: 'req-1',
    LogicalResourceId: 'Migrations',
    ResourceType: 'Custom::SchemaMigrations',
    ResourceProperties: { ServiceToken: 'x' },
    ...(RequestType === 'Create' ? {} : { PhysicalResourceId: 'schema-migrations', OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}

describe.runIf(process.env.TEST_DATABASE_URL)('the app role (real PostgreSQL)', () => {
  beforeAll(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCALTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-test-secret');
    [db, fake] = await Promise.all([createTestDatabase(), startFakeAws('prod')]);
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    fake.secrets.set(MASTER_ARN, dbSecret(db));
    fake.secrets.set(APP_ARN, JSON.stringify({ username: ROLE, password: PASSWORD, dbname: 'chat' }));
    // The migration function's environment: the master secret, and the app secret to create the role from.
    for (const [k, v] of Object.entries(awsEnv(db, fake, MASTER_ARN))) vi.stubEnv(k, v);
    vi.stubEnv('APP_DB_SECRET_ARN', APP_ARN);
    vi.stubEnv('MIGRATIONS_DIR', SCHEMA_DIR);
  });

  afterAll(async () => {
    installDeps(undefined);
    await deps?.sql.end({ timeout: 1 });
    await admin?.end();
    await fake?.close();
    // Dropping the database drops the role's grants in it; the role itself is the server's.
    await db?.close();
    const server = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    for (const role of [ROLE, ...extraRoles]) await server.unsafe(`drop role if exists "${role}"`);
    await server.end();
    vi.unstubAllEnvs();
  });

  it('the migration custom resource creates the role after migrating, and updates it on the next deploy', async () => {
    const first = await onMigrate(cfnEvent('Create'));
    const second = await onMigrate(cfnEvent('Update'));

    expect(first.Data).toMatchObject({ appRole: 'created' });
    expect(second.Data).toMatchObject({ appRole: 'updated', count: 0 });
    const [role] = await admin`select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls from pg_roles where rolname = ${ROLE}`;
    expect(role).toEqual({ rolcanlogin: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false });
  });

  it('stores the secret password as a SCRAM verifier PostgreSQL would make, never as sent text', async () => {
    const { rolpassword } = (await admin<{ rolpassword: string }[]>`select rolpassword from pg_authid where rolname = ${ROLE}`)[0]!;
    const parsed = /^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(rolpassword);
    expect(parsed, rolpassword).not.toBeNull();
    expect(rolpassword).toBe(scramSha256Verifier(PASSWORD, Buffer.from(parsed![1]!, 'base64')));

    // The same computation as the server's own, checked on a role whose password the server hashed.
    const probe = `ww_probe_${suffix}`;
    extraRoles.push(probe);
    await admin.unsafe(`set password_encryption = 'scram-sha-256'; create role "${probe}" password 'correct horse battery'`);
    const theirs = (await admin<{ rolpassword: string }[]>`select rolpassword from pg_authid where rolname = ${probe}`)[0]!.rolpassword;
    const salt = Buffer.from(/^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(theirs)![1]!, 'base64');
    expect(scramSha256Verifier('correct horse battery', salt)).toBe(theirs);
  });

  it('does the chat as the app role: sign up, log in, join, send, history, purge, leave, disconnect, sweep', async () => {
    deps = await createAwsDeps(loadConfig(awsEnv(db, fake, APP_ARN)));
    installDeps(deps);
    expect(await deps.sql`select current_user as me`).toEqual([{ me: ROLE }]);

    const id = 'app-role-conn=';
    fake.open(id);
    expect(await onConnect(wsEvent('$connect', id))).toEqual({ statusCode: 200 });
    const username = `ann${suffix}`;
    await onAuth(wsEvent('auth', id, { action: 'auth', id: 'r', op: 'register', username, email: `${username}@example.com`, password: 'correct horse battery' }));
    const code = /\b(\d{6})\b/.exec(fake.mail.at(-1)!.subject)![1];
    await onAuth(wsEvent('auth', id, { action: 'auth', id: 'v', op: 'verify', username, code }));
    const second = 'app-role-second=';
    fake.open(second);
    await onConnect(wsEvent('$connect', second));
    await onAuth(wsEvent('auth', second, { action: 'auth', id: 'l', op: 'login', username, password: 'correct horse battery' }));
    await onJoin(wsEvent('join', id, { action: 'join', id: 'j', room: 'ops' }));
    await onSend(wsEvent('send', id, { action: 'send', id: 's', room: 'ops', text: 'deploy finished', clientId: 'c-1' }));
    await onHistory(wsEvent('history', id, { action: 'history', id: 'h', room: 'ops' }));
    await onDefault(wsEvent('$default', id, { action: 'purge', id: 'p', room: 'ops' }));
    await onLeave(wsEvent('leave', id, { action: 'leave', id: 'x', room: 'ops' }));
    await onDisconnect(wsEvent('$disconnect', second));

    const frames = fake.framesTo(id);
    expect(frames.filter((f) => f.type === 'error')).toEqual([]);
    expect(frames.map((f) => f.re ?? f.type)).toEqual(expect.arrayContaining(['r', 'v', 'j', 's', 'h', 'p', 'x']));
    expect(frames.find((f) => f.re === 'h')).toMatchObject({ type: 'history', messages: [expect.objectContaining({ text: 'deploy finished' })] });
    expect(frames.find((f) => f.re === 'x')).toMatchObject({ type: 'left' });
    expect(fake.framesTo(second).find((f) => f.re === 'l')).toMatchObject({ type: 'authed' });

    await deps.sql`update connections set connected_at = now() - interval '3 hours' where id = ${id}`;
    await onSweep();
    expect(fake.deleted).toContain(id); // swept and closed
    expect(await admin`select count(*)::int as n from connections`).toEqual([{ n: 0 }]);
  });

  it('cannot create, alter, drop or empty tables, make temporary ones, or touch the migration ledger', async () => {
    const refused = async (statement: string) => {
      const err = await deps.sql.unsafe(statement).then(
        () => undefined,
        (e: unknown) => e,
      );
      return (err as { code?: string } | undefined)?.code;
    };
    for (const statement of [
      'create table intruder (id integer)',
      'drop table messages',
      'alter table users add column admin boolean',
      'create index on messages (body)',
      'truncate messages',
      'create temporary table scratch (id integer)',
      'create schema elsewhere',
      'create role helper',
      'delete from schema_migrations',
      "insert into schema_migrations (version) values ('999_fake')",
      'select * from schema_migrations',
    ]) {
      expect(await refused(statement), statement).toBe('42501'); // insufficient_privilege
    }
    // and the schema is as the migrations left it
    expect(await admin`select count(*)::int as n from pg_tables where schemaname = 'public' and tablename = 'messages'`).toEqual([{ n: 1 }]);
  });

  it('refuses to take over a role with more rights, or the migrating login itself', async () => {
    const powerful = `ww_power_${suffix}`;
    extraRoles.push(powerful);
    await admin.unsafe(`create role "${powerful}" login createdb`);

    await expect(ensureAppRole(db.sql, { username: powerful, password: PASSWORD })).rejects.toBeInstanceOf(AppRoleRefused);
    const { me } = (await admin<{ me: string }[]>`select current_user as me`)[0]!;
    await expect(ensureAppRole(db.sql, { username: me, password: PASSWORD })).rejects.toThrow(/must not be the login that runs the migrations/);
    await expect(ensureAppRole(db.sql, { username: 'App; drop table users', password: PASSWORD })).rejects.toBeInstanceOf(AppRoleRefused);
  });
});
