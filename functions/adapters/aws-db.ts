// The database on AWS: RDS Proxy, credentials from the Secrets Manager secret
// that RDS generated. One connection per Lambda sandbox (a sandbox runs one
// invocation at a time; the proxy does the pooling).
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Sql } from '../core/ports.js';
import type { AwsConfig } from './config.js';
import { createSql } from './db.js';

export interface DbCredentials {
  username: string;
  password: string;
}

/** Reads RDS's generated secret: a JSON object with at least username and password. */
export async function readDbCredentials(client: SecretsManagerClient, secretArn: string): Promise<DbCredentials> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(out.SecretString ?? '');
  } catch {
    throw new Error(`The secret ${secretArn} is not JSON`);
  }
  const { username, password } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new Error(`The secret ${secretArn} has no username and password`);
  }
  return { username, password };
}

export function createProxySql(aws: AwsConfig, credentials: DbCredentials): Sql {
  if (!aws.dbHost) throw new Error('DB_HOST must name the database (RDS Proxy) endpoint');
  return createSql(undefined, {
    host: aws.dbHost,
    port: aws.dbPort,
    database: aws.dbName,
    ...credentials,
    ssl: aws.dbSsl === 'disable' ? false : aws.dbSsl,
    max: 1,
    prepare: false, // a named statement would pin the proxy session
    maxLifetimeSeconds: 30 * 60,
  });
}
