// *(E25)* The VAPID keys on AWS: the real SDK against the Secrets Manager
// stand-in. The stack's placeholder is replaced by fresh keys on first use; the
// keys found there are used from then on; two functions generating at once end
// up with the same keys (one ClientRequestToken, the second write refused).
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsVapidKeys } from '../../functions/adapters/aws-vapid.js';
import { validKeys } from '../../functions/adapters/push-keys.js';
import { startFakeAws, type FakeAws } from './fake-aws.js';

let fake: FakeAws;
let client: SecretsManagerClient;
beforeAll(async () => {
  fake = await startFakeAws();
  client = new SecretsManagerClient({ region: 'eu-west-1', endpoint: fake.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(async () => {
  client?.destroy();
  await fake?.close();
});

describe('awsVapidKeys', () => {
  it('fills the placeholder with fresh keys once, and reads them afterwards', async () => {
    fake.secrets.set('vapid-1', JSON.stringify({ pending: true, placeholder: 'abc' }));
    const first = await awsVapidKeys(client, 'vapid-1');
    expect(validKeys(first)).toBe(true);
    expect(JSON.parse(fake.secrets.get('vapid-1')!)).toEqual(first);
    expect(await awsVapidKeys(client, 'vapid-1')).toEqual(first);
  });

  it('gives two functions that generate at once the same keys', async () => {
    fake.secrets.set('vapid-2', JSON.stringify({ pending: true, placeholder: 'abc' }));
    const [a, b, c] = await Promise.all([awsVapidKeys(client, 'vapid-2'), awsVapidKeys(client, 'vapid-2'), awsVapidKeys(client, 'vapid-2')]);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(JSON.parse(fake.secrets.get('vapid-2')!)).toEqual(a);
  });
});
