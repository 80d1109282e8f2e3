// Two-factor authentication (E19) on the AWS hosting: the deployed handlers
// (`$default` for the settings, `auth` for the second step) with createAwsDeps
// against local AWS endpoints, frames posted through the management API.
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAwsDeps } from '../../functions/adapters/aws.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import type { Deps } from '../../functions/core/ports.js';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onDefault } from '../../functions/default.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { awsEnv, dbSecret, wsEvent } from './events.js';
import { startFakeAws, type FakeAws } from './fake-aws.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-2fAbCd';
const PASSWORD = 'correct horse battery';

let db: TestDatabase;
let fake: FakeAws;
let deps: Deps;

beforeAll(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCALTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-test-secret');
  [db, fake] = await Promise.all([createTestDatabase(), startFakeAws('prod')]);
  fake.secrets.set(SECRET_ARN, dbSecret(db));
  deps = await createAwsDeps(loadConfig(awsEnv(db, fake, SECRET_ARN)));
  installDeps(deps);
});

afterAll(async () => {
  installDeps(undefined);
  await deps?.sql.end({ timeout: 1 });
  await Promise.all([db?.close(), fake?.close()]);
  vi.unstubAllEnvs();
});

async function open(id: string): Promise<void> {
  fake.open(id);
  expect(await onConnect(wsEvent('$connect', id))).toEqual({ statusCode: 200 });
}
const last = (id: string) => fake.framesTo(id).at(-1) as Record<string, unknown>;
const now = () => Math.floor(Date.now() / 1000);

describe('two-factor authentication on AWS', () => {
  it('enrols through $default, and a login finishes through auth with a code', async () => {
    const username = `tfa${process.pid % 1000}`;
    const laptop = `${username}-laptop=`;
    await open(laptop);
    await onAuth(wsEvent('auth', laptop, { action: 'auth', op: 'register', username, email: `${username}@example.com`, password: PASSWORD }));
    const code = /\b(\d{6})\b/.exec(fake.mail.at(-1)!.subject)![1];
    await onAuth(wsEvent('auth', laptop, { action: 'auth', op: 'verify', username, code }));
    expect(last(laptop)).toMatchObject({ type: 'authed', user: { twoFactor: false } });

    await onDefault(wsEvent('two_factor_setup', laptop, { action: 'two_factor_setup', id: 's', password: PASSWORD }));
    const setup = last(laptop);
    expect(setup).toMatchObject({ type: 'two_factor_setup', re: 's' });
    const secret = String(setup.secret);
    await onDefault(wsEvent('two_factor_enable', laptop, { action: 'two_factor_enable', id: 'e', code: await generate({ secret, epoch: now() }) }));
    expect(last(laptop)).toMatchObject({ type: 'two_factor_enabled', re: 'e' });

    const phone = `${username}-phone=`;
    await open(phone);
    await onAuth(wsEvent('auth', phone, { action: 'auth', id: 'l', op: 'login', username, password: PASSWORD }));
    const challenge = last(phone);
    expect(challenge).toMatchObject({ type: 'second_factor', re: 'l', username });
    await onAuth(
      wsEvent('auth', phone, {
        action: 'auth',
        id: 'f',
        op: 'second_factor',
        username,
        challenge: challenge.challenge,
        code: await generate({ secret, epoch: now() + 30 }),
      }),
    );
    expect(last(phone)).toMatchObject({ type: 'authed', re: 'f', user: { username, twoFactor: true } });
  });
});
