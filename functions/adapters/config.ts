// The one place that reads the environment. Read once, validated at start-up:
// a bad value fails with its name rather than surfacing later as odd behaviour.
import type { ChatSettings } from '../core/ports.js';
import { PROFANITY_POLICIES } from '../core/profanity.js';
import { OWASP_SCRYPT_N } from '../core/secrets.js';

export interface Config {
  /** local server */
  port: number;
  host: string;
  /** a real PostgreSQL; without it the local server embeds one under dataDir */
  databaseUrl?: string;
  dataDir: string;
  /** browser origins allowed to open a socket, besides the server's own ('*': any) */
  allowedOrigins: string[];
  /**
   * Local server: origins people reach it at besides its listening addresses
   * (http://localhost:PORT, http://127.0.0.1:PORT, the machine's network
   * addresses), e.g. a name or a proxy in front; scheme included.
   */
  publicOrigins: string[];
  /** Local server: serve the web client's *.map files (development only) */
  serveSourceMaps: boolean;
  /**
   * Local server: unsent bytes a socket may hold. Past a quarter of it the server
   * stops reading that socket's requests until it catches up; past all of it the
   * socket is closed (1008).
   */
  maxBufferedBytes: number;
  mail: { transport: 'outbox' | 'ses'; from: string; outboxDir: string; sesRegion?: string; sesEndpoint?: string };
  /** AWS: the database credentials' secret, the proxy host, the management API endpoint */
  aws: AwsConfig;
  sweep: { intervalSeconds: number; maxAgeSeconds: number; unauthenticatedSeconds: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  settings: ChatSettings;
}

export interface AwsConfig {
  /** Secrets Manager secret holding {username, password} (RDS's generated JSON) */
  dbSecretArn?: string;
  /** the RDS Proxy endpoint; the secret's own host (the instance) is not used */
  dbHost?: string;
  dbPort: number;
  dbName: string;
  /** verify-full: RDS Proxy presents a publicly trusted (ACM) certificate */
  dbSsl: 'verify-full' | 'require' | 'disable';
  /** https://{api}.execute-api.{region}.amazonaws.com/{stage} */
  gatewayEndpoint?: string;
  /** PostToConnection calls in flight at once, per invocation */
  postConcurrency: number;
  region?: string;
  /** only to point the SDK at a stand-in (tests); unset on AWS */
  secretsEndpoint?: string;
  /** where the migration runner finds schema/*.sql: beside the bundle on Lambda */
  migrationsDir?: string;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number of at least ${min}, not "${raw}"`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new Error(`${name} must be true or false, not "${raw}"`);
}

/**
 * A comma-separated list of web origins (`http(s)://host[:port]`), each as a
 * browser writes it in the Origin header: lower-case, no default port, no path.
 */
function origins(env: Env, name: string, allowAny: boolean): string[] {
  const out: string[] = [];
  for (const item of (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (allowAny && item === '*') {
      out.push(item);
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash || url.pathname !== '/') {
      throw new Error(`${name} must be origins like https://chat.example.org, comma-separated, not "${item}"`);
    }
    out.push(url.origin);
  }
  return out;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!allowed.includes(raw as T)) throw new Error(`${name} must be one of ${allowed.join(', ')}, not "${raw}"`);
  return raw as T;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = env.DATA_DIR || '.data';
  return {
    port: int(env, 'PORT', 8080),
    host: env.HOST || '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    allowedOrigins: origins(env, 'ALLOWED_ORIGINS', true),
    publicOrigins: origins(env, 'PUBLIC_ORIGIN', false),
    serveSourceMaps: bool(env, 'SERVE_SOURCE_MAPS', env.NODE_ENV === 'development'),
    // A few MB: dozens of the largest replies (128 KB), yet a few hundred slow
    // clients cannot take more than a fraction of a small machine's memory.
    maxBufferedBytes: int(env, 'MAX_BUFFERED_BYTES', 4 * 1024 * 1024, 256 * 1024),
    mail: {
      transport: oneOf(env, 'MAIL_TRANSPORT', ['outbox', 'ses'] as const, 'outbox'),
      from: env.MAIL_FROM || 'Wild Whispers <no-reply@localhost>',
      outboxDir: env.OUTBOX_DIR || `${dataDir}/outbox`,
      sesRegion: env.SES_REGION || env.AWS_REGION || undefined,
      sesEndpoint: env.SES_ENDPOINT || undefined,
    },
    aws: {
      dbSecretArn: env.DB_SECRET_ARN || undefined,
      dbHost: env.DB_HOST || undefined,
      dbPort: int(env, 'DB_PORT', 5432, 1),
      dbName: env.DB_NAME || 'postgres',
      dbSsl: oneOf(env, 'DB_SSL', ['verify-full', 'require', 'disable'] as const, 'verify-full'),
      gatewayEndpoint: env.GATEWAY_ENDPOINT || undefined,
      postConcurrency: int(env, 'POST_CONCURRENCY', 32, 1),
      region: env.AWS_REGION || undefined,
      secretsEndpoint: env.SECRETS_ENDPOINT || undefined,
      migrationsDir: env.MIGRATIONS_DIR || (env.LAMBDA_TASK_ROOT ? `${env.LAMBDA_TASK_ROOT}/schema` : undefined),
    },
    sweep: {
      intervalSeconds: int(env, 'SWEEP_INTERVAL_SECONDS', 15, 1),
      maxAgeSeconds: int(env, 'CONNECTION_MAX_AGE_SECONDS', 2 * 60 * 60, 1),
      unauthenticatedSeconds: int(env, 'UNAUTHENTICATED_GRACE_SECONDS', 30, 1),
    },
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
    settings: {
      inviteCode: env.INVITE_CODE || undefined,
      appName: env.APP_NAME || 'Wild Whispers',
      sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', 30 * 24 * 60 * 60, 60),
      otpTtlSeconds: int(env, 'OTP_TTL_SECONDS', 10 * 60, 60),
      otpMaxAttempts: int(env, 'OTP_MAX_ATTEMPTS', 5, 1),
      otpSendsPerWindow: int(env, 'OTP_SENDS_PER_HOUR', 5, 1),
      otpSendWindowSeconds: 60 * 60,
      scryptN: int(env, 'SCRYPT_N', OWASP_SCRYPT_N, 1024),
      // A person rarely sends more than one line a second for long; a paste of a
      // few lines at once fits the burst.
      messageBurst: int(env, 'MESSAGE_BURST', 20, 1),
      messagesPerMinute: int(env, 'MESSAGES_PER_MINUTE', 60, 1),
      authAttemptsPerConnection: int(env, 'AUTH_ATTEMPTS_PER_CONNECTION', 10, 1),
      loginFailuresPerAccount: int(env, 'LOGIN_FAILURES_PER_ACCOUNT', 10, 1),
      loginFailureWindowSeconds: int(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 15 * 60, 1),
      profanityFilter: oneOf(env, 'PROFANITY_FILTER', PROFANITY_POLICIES, 'mask'),
    },
  };
}
