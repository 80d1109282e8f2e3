// The AWS hosting for one test file: a fresh database, the local AWS endpoints
// (fake-aws.ts) with the database's secret in them, and the deployed functions'
// dependencies (createAwsDeps) built from the environment a deployed function
// sees, installed for the handlers. Called at a test file's top level.
import { afterAll, beforeAll, vi } from 'vitest';
import { createAwsDeps } from '../../functions/adapters/aws.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import type { Deps } from '../../functions/core/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { awsEnv, dbSecret } from './events.js';
import { startFakeAws, type FakeAws } from './fake-aws.js';

export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf';

export interface AwsHosting {
  readonly db: TestDatabase;
  readonly fake: FakeAws;
  readonly deps: Deps;
}

/** `env`: settings over the deployed defaults, given the local endpoints. */
export function useAwsHosting(env: (fake: FakeAws) => Record<string, string> = () => ({})): AwsHosting {
  let db: TestDatabase | undefined;
  let fake: FakeAws | undefined;
  let deps: Deps | undefined;
  beforeAll(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCALTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-test-secret');
    [db, fake] = await Promise.all([createTestDatabase(), startFakeAws('prod')]);
    fake.secrets.set(SECRET_ARN, dbSecret(db));
    deps = await createAwsDeps(loadConfig({ ...awsEnv(db, fake, SECRET_ARN), ...env(fake) }));
    installDeps(deps);
  });
  afterAll(async () => {
    installDeps(undefined);
    await deps?.sql.end({ timeout: 1 });
    await Promise.all([db?.close(), fake?.close()]);
    vi.unstubAllEnvs();
  });
  return {
    get db() {
      return db!;
    },
    get fake() {
      return fake!;
    },
    get deps() {
      return deps!;
    },
  };
}
