// CloudFormation custom resource (through the CDK provider framework): applies
// schema/NNN_*.sql on every deploy that changes them, with the same runner as
// `npm start`, logged in as the master user. The SQL files are copied beside the
// bundle at synth time. Then, where APP_DB_SECRET_ARN names one, it creates or
// updates the app role the other functions log in as, and grants it the tables.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AppRoleRefused, ensureAppRole } from './adapters/app-role.js';
import { createProxySql, readDbCredentials } from './adapters/aws-db.js';
import { loadConfig } from './adapters/config.js';
import { loadMigrations, migrate, SCHEMA_DIR } from './adapters/migrate.js';

export interface MigrateResult {
  PhysicalResourceId: string;
  Data?: { applied: string; count: number; appRole?: string };
}

const PHYSICAL_ID = 'schema-migrations';

export interface MigrateOptions {
  /** a fresh proxy may not reach its target for a minute or two after creation */
  attempts?: number;
  delayMs?: number;
}

/** Errors in the SQL itself (syntax, data, constraints) will not heal by waiting. */
function isSqlMistake(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(42|22|23)/.test(code);
}

export async function handler(event: CloudFormationCustomResourceEvent, options: MigrateOptions = {}): Promise<MigrateResult> {
  // Dropping the stack drops the database; a schema is never rolled back.
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };

  const { aws } = loadConfig();
  if (!aws.dbSecretArn) throw new Error('DB_SECRET_ARN must name the database credentials secret');
  const secrets = new SecretsManagerClient({ region: aws.region, ...(aws.secretsEndpoint ? { endpoint: aws.secretsEndpoint } : {}) });
  const credentials = await readDbCredentials(secrets, aws.dbSecretArn);
  const appCredentials = aws.appDbSecretArn ? await readDbCredentials(secrets, aws.appDbSecretArn) : undefined;
  secrets.destroy();
  const migrations = await loadMigrations(aws.migrationsDir ?? SCHEMA_DIR);
  if (migrations.length === 0) throw new Error(`No migrations found in ${aws.migrationsDir ?? SCHEMA_DIR}`);

  const attempts = options.attempts ?? 10;
  const delayMs = options.delayMs ?? 10_000;
  for (let n = 1; ; n++) {
    const sql = createProxySql(aws, credentials);
    try {
      const applied = await migrate(sql, migrations);
      console.log(JSON.stringify({ level: 'info', message: 'migrations applied', applied }));
      // After the tables exist, so the grants reach the new ones too.
      const appRole = appCredentials ? await ensureAppRole(sql, appCredentials) : undefined;
      if (appRole) console.log(JSON.stringify({ level: 'info', message: `app role ${appRole}`, role: appCredentials!.username }));
      return { PhysicalResourceId: PHYSICAL_ID, Data: { applied: applied.join(','), count: applied.length, ...(appRole ? { appRole } : {}) } };
    } catch (err) {
      // migrate() is one transaction: a failed try leaves nothing half done.
      if (n >= attempts || isSqlMistake(err) || err instanceof AppRoleRefused) throw err;
      console.error(JSON.stringify({ level: 'warn', message: 'migration attempt failed, retrying', attempt: n, error: String(err) }));
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    } finally {
      await sql.end({ timeout: 5 });
    }
  }
}
