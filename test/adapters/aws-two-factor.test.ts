// Two-factor authentication (E19) on the AWS hosting: the deployed handlers
// (`$default` for the settings, `auth` for the second step) with createAwsDeps
// against local AWS endpoints, frames posted through the management API.
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onDefault } from '../../functions/default.js';
import { useAwsHosting } from './aws-hosting.js';
import { wsEvent } from './events.js';

const PASSWORD = 'correct horse battery';

const aws = useAwsHosting();

async function open(id: string): Promise<void> {
  aws.fake.open(id);
  expect(await onConnect(wsEvent('$connect', id))).toEqual({ statusCode: 200 });
}
const last = (id: string) => aws.fake.framesTo(id).at(-1) as Record<string, unknown>;
const now = () => Math.floor(Date.now() / 1000);

describe('two-factor authentication on AWS', () => {
  it('enrols through $default, and a login finishes through auth with a code', async () => {
    const username = `tfa${process.pid % 1000}`;
    const laptop = `${username}-laptop=`;
    await open(laptop);
    await onAuth(wsEvent('auth', laptop, { action: 'auth', op: 'register', username, email: `${username}@example.com`, password: PASSWORD }));
    const code = /\b(\d{6})\b/.exec(aws.fake.mail.at(-1)!.subject)![1];
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
