// The database on AWS: RDS Proxy, credentials from the Secrets Manager secret
// that RDS generated. One connection per Lambda sandbox (a sandbox runs one
// invocation at a time; the proxy does the pooling).
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import postgres from 'postgres';
import type { Sql } from '../core/ports.js';
import type { AwsConfig } from './config.js';
import { healingSql } from './healing-sql.js';

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
  const host = aws.dbHost;
  // A new pool after a connection failure: see healing-sql.ts (a reset mid-query
  // would otherwise strand the sandbox's later queries).
  return healingSql((onclose) => postgres({
    host,
    port: aws.dbPort,
    database: aws.dbName,
    username: credentials.username,
    password: credentials.password,
    ssl: aws.dbSsl === 'disable' ? false : aws.dbSsl,
    max: 1,
    // Unnamed statements only. postgres.js names and caches prepared statements by
    // default, and a named Parse pins the client's session to one database
    // connection in RDS Proxy, which would defeat the proxy's multiplexing.
    prepare: false,
    // A frozen sandbox's socket is long dead when it thaws; recycle idle ones.
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    connect_timeout: 10,
    onnotice: () => {},
    onclose,
  }));
}
