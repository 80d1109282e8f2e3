// *(E25)* The VAPID keys on AWS: a Secrets Manager secret the stack creates with
// a placeholder, filled by the first function that needs the keys (docs/DEPLOY.md
// says why a first-use generator rather than a custom resource). Every writer
// uses the same ClientRequestToken, which Secrets Manager keeps per version: the
// first write wins, a concurrent one with other keys is refused
// (ResourceExistsException) and reads the winner's. So every function signs with
// the keys browsers subscribed with.
import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { generateVapidKeys, validKeys, type VapidKeys } from './push-keys.js';

/** The one version id the generated keys are written under (32 to 64 characters). */
export const VAPID_VERSION_TOKEN = 'wild-whispers-vapid-keys-generated-0001';

function keysOf(secretString: string | undefined): VapidKeys | undefined {
  try {
    const k = JSON.parse(secretString ?? '') as unknown;
    if (validKeys(k)) return { publicKey: k.publicKey, privateKey: k.privateKey };
  } catch {
    // a placeholder that is not JSON: no keys yet
  }
  return undefined;
}

export async function awsVapidKeys(client: SecretsManagerClient, secretArn: string): Promise<VapidKeys> {
  const read = async () => keysOf((await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString);
  const found = await read();
  if (found) return found;
  const keys = generateVapidKeys();
  try {
    await client.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify(keys), ClientRequestToken: VAPID_VERSION_TOKEN }));
    return keys;
  } catch {
    const theirs = await read();
    if (theirs) return theirs;
    throw new Error(`The VAPID secret ${secretArn} holds no keys and could not be written`);
  }
}
