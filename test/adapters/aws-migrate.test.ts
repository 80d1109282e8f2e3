// The migrations custom resource: the same runner as `npm start`, reading the SQL
// files from a folder beside the bundle (MIGRATIONS_DIR stands in for /var/task/schema).
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SCHEMA_DIR } from '../../functions/adapters/migrate.js';
import { handler } from '../../functions/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { awsEnv, dbSecret } from './events.js';
import { startFakeAws, type FakeAws } from './fake-aws.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf';

let db: TestDatabase;
let fake: FakeAws;
let bundleDir: string;

function cfnEvent(RequestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  return {
    RequestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/',
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/WildWhispers/1',
    RequestId: 'req-1',
    LogicalResourceId: 'Migrations',
    ResourceType: 'Custom::Migrations',
    ResourceProperties: { ServiceToken: 'x', migrations: 'hash' },
    ...(RequestType === 'Create' ? {} : { PhysicalResourceId: 'schema-migrations', OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}

beforeAll(async () => {
  [db, fake] = await Promise.all([createTestDatabase(), startFakeAws()]);
  fake.secrets.set(SECRET_ARN, dbSecret(db));
  bundleDir = await mkdtemp(join(tmpdir(), 'ww-bundle-'));
  await cp(SCHEMA_DIR, join(bundleDir, 'schema'), { recursive: true });
  for (const [k, v] of Object.entries(awsEnv(db, fake, SECRET_ARN))) vi.stubEnv(k, v);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCALTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-test-secret');
  vi.stubEnv('LAMBDA_TASK_ROOT', bundleDir);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([db?.close(), fake?.close()]);
  if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
});

describe('migrations custom resource', () => {
  it('applies a new migration once, then has nothing left to do', async () => {
    await writeFile(join(bundleDir, 'schema', '999_probe.sql'), 'create table deploy_probe (id integer primary key);\n');

    const first = await handler(cfnEvent('Create'));
    const second = await handler(cfnEvent('Update'));

    expect(first).toEqual({ PhysicalResourceId: 'schema-migrations', Data: { applied: '999_probe', count: 1 } });
    expect(second).toEqual({ PhysicalResourceId: 'schema-migrations', Data: { applied: '', count: 0 } });
  });

  it('fails the deploy on a broken migration without retrying, and leaves nothing half applied', async () => {
    await writeFile(join(bundleDir, 'schema', '998_a.sql'), 'create table half_done (id integer);\n');
    await writeFile(join(bundleDir, 'schema', '999_z_broken.sql'), 'create tabel oops (id integer);\n');

    await expect(handler(cfnEvent('Update'), { attempts: 3, delayMs: 60_000 })).rejects.toMatchObject({ code: '42601' });

    const u = new URL(db.url);
    const check = postgres({ host: u.hostname, port: Number(u.port), database: u.pathname.slice(1), username: u.username || 'postgres', password: u.password, max: 1 });
    try {
      expect(await check`select to_regclass('half_done') as t`).toEqual([{ t: null }]);
    } finally {
      await check.end();
    }
  });

  it('a Delete leaves the schema alone', async () => {
    expect(await handler(cfnEvent('Delete'))).toEqual({ PhysicalResourceId: 'schema-migrations' });
  });
});
