// The one place that reads the environment. Read once, validated at start-up:
// a bad value fails with its name rather than surfacing later as odd behaviour.
import { accessSync, constants } from 'node:fs';
import type { ChatSettings } from '../core/ports.js';
import { PROFANITY_POLICIES } from '../core/profanity.js';
import { DEFAULT_FILE_MAX_BYTES, DEFAULT_REFUSED_TYPES } from '../core/file-types.js';
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
  /** certificate and key files: with them the local server speaks HTTPS and wss:// */
  tls?: { certFile: string; keyFile: string };
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
  /** Local server: the HTTP listener's and each socket's own bounds (docs in README) */
  limits: ServerLimits;
  mail: MailConfig;
  /** AWS: the database credentials' secret, the proxy host, the management API endpoint */
  aws: AwsConfig;
  sweep: { intervalSeconds: number; maxAgeSeconds: number; unauthenticatedSeconds: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  settings: ChatSettings;
  files: FilesConfig;
  push: PushConfig;
}

/** *(E25)* Web Push: the VAPID keys' place and the contact push services see. */
export interface PushConfig {
  /** false: no subscriptions and no pushes (PUSH_ENABLED=false) */
  enabled: boolean;
  /** mailto: or https: (PUSH_SUBJECT); unset: mailto: MAIL_FROM's address */
  subject?: string;
  /** AWS: the Secrets Manager secret that holds the VAPID keys (made on first use) */
  vapidSecretArn?: string;
  /** tests: a PEM file of certificates to trust for push services besides the system's */
  caFile?: string;
  timeoutMs: number;
}

/** Where shared files live: a directory (local server) or an S3 bucket (AWS). */
export interface FilesConfig {
  /** local server: DATA_DIR/files unless FILES_DIR says otherwise */
  dir: string;
  /** local server: the key that signs file URLs; without it, one is made and kept in `dir` */
  secret?: string;
  /** AWS: the bucket, and an endpoint only to point the SDK at a stand-in (tests) */
  bucket?: string;
  s3Endpoint?: string;
}

export interface ServerLimits {
  /** open TCP connections (pages and sockets) per address (IPv6: per /64); more are cut at once */
  tcpConnectionsPerAddress: number;
  /** open TCP connections in all: kept below the process's file descriptor limit */
  maxConnections: number;
  /** a request's headers must arrive within this, the whole request within requestTimeoutSeconds */
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  /** frames a socket may send at once, and per second after that (pings included) */
  framesBurst: number;
  framesPerSecond: number;
  /** sockets this process holds that have not logged in (yet); more get 503 at the handshake */
  anonymousSockets: number;
  /** each socket is pinged once in this period and cut if it did not answer the last ping */
  heartbeatSeconds: number;
}

export interface MailConfig {
  transport: 'outbox' | 'ses' | 'smtp';
  from: string;
  outboxDir: string;
  sesRegion?: string;
  sesEndpoint?: string;
  /** set when transport is 'smtp' */
  smtp?: SmtpConfig;
}

export interface SmtpConfig {
  host: string;
  port: number;
  /** implicit TLS from the first byte (smtps://, usually port 465); otherwise STARTTLS when offered */
  secure: boolean;
  /** refuse to send unless the server offers STARTTLS (no effect with `secure`) */
  requireTls: boolean;
  user?: string;
  password?: string;
  /** a PEM file of certificates to trust besides the system's (an internal CA) */
  caFile?: string;
}

export interface AwsConfig {
  /** Secrets Manager secret holding {username, password} (RDS's generated JSON): the login this function uses */
  dbSecretArn?: string;
  /** the migration function only: the app role's secret, which it creates the role from */
  appDbSecretArn?: string;
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
  /** the fan-out queue (SQS) and its dead-letter queue; unset: every broadcast is posted by the function that makes it */
  fanoutQueueUrl?: string;
  fanoutDeadLetterUrl?: string;
  /** broadcasts to more connections than this go through the queue */
  fanoutDirectMax: number;
  /** connection ids per queue message */
  fanoutIdsPerBatch: number;
  /** hand-backs of a batch's failed posts before it is dead-lettered */
  fanoutMaxAttempts: number;
  /** *(E23)* the presence queue: changes for watchers, coalesced by the worker over the event source's batching window */
  presenceQueueUrl?: string;
  /** only to point the SDK at a stand-in (tests, the bench); unset on AWS */
  sqsEndpoint?: string;
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

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, not "${raw}"`);
}

/** A path to a file this process can read, or undefined when unset. */
function readableFile(env: Env, name: string): string | undefined {
  const path = env[name];
  if (!path) return undefined;
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new Error(`${name} names a file that cannot be read: "${path}"`);
  }
  return path;
}

function tlsConfig(env: Env): Config['tls'] {
  const certFile = readableFile(env, 'TLS_CERT');
  const keyFile = readableFile(env, 'TLS_KEY');
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new Error('TLS_CERT and TLS_KEY go together: set both (PEM files) or neither');
  return { certFile, keyFile };
}

/**
 * SMTP_URL (smtp://user@host:587 with the password after "user:", or smtps://…:465)
 * or the SMTP_HOST family. SMTP_USER and SMTP_PASSWORD fill in what the URL leaves
 * out, so the password can stay out of the URL. The error messages name the
 * variable but never repeat a value that may hold the password.
 */
/** A host on this machine: the one place mail may cross in clear. */
export function loopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\./.test(h);
}

/**
 * STARTTLS required unless SMTP_REQUIRE_TLS says otherwise: by default whenever a
 * password would be sent to another machine, which must never happen in clear
 * (a server that offers no STARTTLS, or a network that strips it).
 */
function withTlsDefault(env: Env, smtp: Omit<SmtpConfig, 'requireTls'>): SmtpConfig {
  const credentials = Boolean(smtp.user || smtp.password);
  return { ...smtp, requireTls: bool(env, 'SMTP_REQUIRE_TLS', credentials && !loopbackHost(smtp.host)) };
}

/** Said at start-up: a password that may cross the network in clear because SMTP_REQUIRE_TLS=false. */
export function smtpWarning(smtp: SmtpConfig | undefined): string | undefined {
  if (!smtp || smtp.secure || smtp.requireTls || !(smtp.user || smtp.password) || loopbackHost(smtp.host)) return undefined;
  return `SMTP_REQUIRE_TLS=false: the SMTP password is sent in clear to ${smtp.host} if it offers no STARTTLS`;
}

function smtpConfig(env: Env): SmtpConfig {
  const caFile = readableFile(env, 'SMTP_CA');
  if (env.SMTP_URL) {
    let url: URL;
    try {
      url = new URL(env.SMTP_URL);
    } catch {
      throw new Error('SMTP_URL must look like smtp://user@host:587 or smtps://user@host:465 (a password goes after "user:", percent-encoded)');
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error(`SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}//`);
    if (!url.hostname) throw new Error('SMTP_URL has no host');
    const secure = url.protocol === 'smtps:';
    return withTlsDefault(env, {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      user: url.username ? decodeURIComponent(url.username) : env.SMTP_USER || undefined,
      password: url.password ? decodeURIComponent(url.password) : env.SMTP_PASSWORD || undefined,
      caFile,
    });
  }
  if (!env.SMTP_HOST) throw new Error('MAIL_TRANSPORT=smtp needs SMTP_URL or SMTP_HOST');
  const secure = bool(env, 'SMTP_SECURE', false);
  const port = int(env, 'SMTP_PORT', secure ? 465 : 587, 1);
  if (port > 65535) throw new Error(`SMTP_PORT must be a port number (1 to 65535), not "${port}"`);
  if (env.SMTP_PASSWORD && !env.SMTP_USER) throw new Error('SMTP_PASSWORD is set without SMTP_USER');
  return withTlsDefault(env, {
    host: env.SMTP_HOST,
    port,
    secure,
    user: env.SMTP_USER || undefined,
    password: env.SMTP_PASSWORD || undefined,
    caFile,
  });
}

function mailConfig(env: Env, dataDir: string): MailConfig {
  // Setting an SMTP server is enough to use it; MAIL_TRANSPORT says so explicitly.
  const smtpGiven = Boolean(env.SMTP_URL || env.SMTP_HOST);
  const transport = oneOf(env, 'MAIL_TRANSPORT', ['outbox', 'ses', 'smtp'] as const, smtpGiven ? 'smtp' : 'outbox');
  return {
    transport,
    from: env.MAIL_FROM || 'Wild Whispers <no-reply@localhost>',
    outboxDir: env.OUTBOX_DIR || `${dataDir}/outbox`,
    sesRegion: env.SES_REGION || env.AWS_REGION || undefined,
    sesEndpoint: env.SES_ENDPOINT || undefined,
    smtp: transport === 'smtp' ? smtpConfig(env) : undefined,
  };
}

function serverLimits(env: Env): ServerLimits {
  const headersTimeoutSeconds = int(env, 'HEADERS_TIMEOUT_SECONDS', 10, 1);
  return {
    // Above what one address's sockets may legitimately hold (anonymous ones and
    // a few people's signed-in ones behind one NAT), far below the fd limit.
    tcpConnectionsPerAddress: int(env, 'TCP_CONNECTIONS_PER_ADDRESS', 256, 1),
    // The usual fd limit is 20,000 or more; the rest is for the database, files and logs.
    maxConnections: int(env, 'MAX_CONNECTIONS', 16_000, 1),
    headersTimeoutSeconds,
    requestTimeoutSeconds: Math.max(headersTimeoutSeconds, int(env, 'REQUEST_TIMEOUT_SECONDS', 30, 1)),
    // A client signing in sends a join and a history per room, up to 64 in flight:
    // the burst lets that through; a flood is refused before any database query.
    framesBurst: int(env, 'FRAMES_BURST', 120, 1),
    framesPerSecond: int(env, 'FRAMES_PER_SECOND', 20, 1),
    anonymousSockets: int(env, 'ANONYMOUS_SOCKETS', 2000, 1),
    heartbeatSeconds: int(env, 'HEARTBEAT_SECONDS', 30, 2),
  };
}

/** FILES_SECRET: a key for HMAC-SHA256, long enough not to be guessed. */
function filesSecret(env: Env): string | undefined {
  const secret = env.FILES_SECRET || undefined;
  if (secret !== undefined && secret.length < 32) throw new Error('FILES_SECRET must be at least 32 characters (a random string, e.g. openssl rand -base64 32)');
  return secret;
}

/** FILE_REFUSED_TYPES: comma-separated extensions (.exe) and MIME types; empty refuses none. */
function refusedTypes(env: Env): string[] {
  const raw = env.FILE_REFUSED_TYPES;
  if (raw === undefined) return [...DEFAULT_REFUSED_TYPES];
  const items = raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const item of items) {
    if (!/^\.[a-z0-9]{1,16}$/.test(item) && !/^[a-z0-9][a-z0-9.+-]*\/[a-z0-9][a-z0-9.+-]*$/.test(item)) {
      throw new Error(`FILE_REFUSED_TYPES must be extensions like .exe and MIME types like application/x-msdownload, not "${item}"`);
    }
  }
  return items;
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
    limits: serverLimits(env),
    tls: tlsConfig(env),
    mail: mailConfig(env, dataDir),
    aws: {
      dbSecretArn: env.DB_SECRET_ARN || undefined,
      appDbSecretArn: env.APP_DB_SECRET_ARN || undefined,
      dbHost: env.DB_HOST || undefined,
      dbPort: int(env, 'DB_PORT', 5432, 1),
      dbName: env.DB_NAME || 'postgres',
      dbSsl: oneOf(env, 'DB_SSL', ['verify-full', 'require', 'disable'] as const, 'verify-full'),
      gatewayEndpoint: env.GATEWAY_ENDPOINT || undefined,
      postConcurrency: int(env, 'POST_CONCURRENCY', 32, 1),
      fanoutQueueUrl: env.FANOUT_QUEUE_URL || undefined,
      fanoutDeadLetterUrl: env.FANOUT_DLQ_URL || undefined,
      fanoutDirectMax: int(env, 'FANOUT_DIRECT_MAX', 500, 1),
      fanoutIdsPerBatch: int(env, 'FANOUT_BATCH_IDS', 100, 1),
      fanoutMaxAttempts: int(env, 'FANOUT_MAX_ATTEMPTS', 3, 0),
      presenceQueueUrl: env.PRESENCE_QUEUE_URL || undefined,
      sqsEndpoint: env.SQS_ENDPOINT || undefined,
      region: env.AWS_REGION || undefined,
      secretsEndpoint: env.SECRETS_ENDPOINT || undefined,
      migrationsDir: env.MIGRATIONS_DIR || (env.LAMBDA_TASK_ROOT ? `${env.LAMBDA_TASK_ROOT}/schema` : undefined),
    },
    sweep: {
      intervalSeconds: int(env, 'SWEEP_INTERVAL_SECONDS', 15, 1),
      maxAgeSeconds: int(env, 'CONNECTION_MAX_AGE_SECONDS', 2 * 60 * 60, 1),
      unauthenticatedSeconds: int(env, 'UNAUTHENTICATED_GRACE_SECONDS', 30, 1),
    },
    files: {
      dir: env.FILES_DIR || `${dataDir}/files`,
      secret: filesSecret(env),
      bucket: env.FILES_BUCKET || undefined,
      s3Endpoint: env.S3_ENDPOINT || undefined,
    },
    push: {
      enabled: bool(env, 'PUSH_ENABLED', true),
      subject: pushSubjectSetting(env),
      vapidSecretArn: env.VAPID_SECRET_ARN || undefined,
      caFile: readableFile(env, 'PUSH_CA_FILE'),
      timeoutMs: int(env, 'PUSH_TIMEOUT_MS', 10_000, 100),
    },
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
    settings: {
      inviteCode: env.INVITE_CODE || undefined,
      adminUsers: usernames(env.ADMIN_USERS),
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
      // Per user, over all their sockets: a person types in one place at a time, so
      // this is the connection's budget with room for a second tab or device.
      userMessageBurst: int(env, 'USER_MESSAGE_BURST', 30, 1),
      userMessagesPerMinute: int(env, 'USER_MESSAGES_PER_MINUTE', 90, 1),
      // Retries after a lost acknowledgement come within seconds; later, members
      // catch up by `prev` and history instead.
      rebroadcastSeconds: int(env, 'REBROADCAST_SECONDS', 60, 0),
      joinsPerMinute: int(env, 'JOINS_PER_MINUTE', 30, 1),
      leavesPerMinute: int(env, 'LEAVES_PER_MINUTE', 30, 1),
      purgesPerHour: int(env, 'PURGES_PER_HOUR', 10, 1),
      // Clients send `typing` at most once per 3 s per room, so an honest one
      // stays far below 2 a second even while switching rooms; each forwarded
      // frame is a post per connection in the room (PostToConnection on AWS),
      // hence one per person and room per interval, and none in big rooms
      // (docs/PROTOCOL.md, `typing`).
      typingBurst: int(env, 'TYPING_BURST', 6, 1),
      typingPerMinute: int(env, 'TYPING_PER_MINUTE', 120, 1),
      typingIntervalSeconds: int(env, 'TYPING_INTERVAL_SECONDS', 3, 1),
      typingMaxMembers: int(env, 'TYPING_MAX_MEMBERS', 200, 0),
      // A client marks a room read when it shows new messages: a few a second at
      // most while messages stream in, and one per room on a reconnect's sync.
      readMarkBurst: int(env, 'READ_MARK_BURST', 60, 1),
      readMarksPerMinute: int(env, 'READ_MARKS_PER_MINUTE', 120, 1),
      settingsPerHour: int(env, 'SETTINGS_PER_HOUR', 60, 1),
      // Each change is announced to the whole room: a few an hour is plenty.
      timerChangesPerHour: int(env, 'TIMER_CHANGES_PER_HOUR', 20, 1),
      accountChangesPerHour: int(env, 'ACCOUNT_CHANGES_PER_HOUR', 10, 1),
      sessionActionsPerMinute: int(env, 'SESSION_ACTIONS_PER_MINUTE', 20, 1),
      // Moderation is announced to the room, an invitation to the invitee (E21):
      // a moderator clearing up after a flood needs a run of them, a script no more.
      moderationActionsPerMinute: int(env, 'MODERATION_ACTIONS_PER_MINUTE', 30, 1),
      invitesPerHour: int(env, 'INVITES_PER_HOUR', 60, 1),
      // Test only: lets a test watch a message disappear in seconds, not minutes.
      disappearTestSeconds: int(env, 'DISAPPEAR_TEST_SECONDS', 0, 0) || undefined,
      // A person fixes a typo or takes back a line now and then; reactions come in
      // quicker runs (a few on each of the last messages). Each one is a room-wide
      // fan-out, so a script cannot be allowed to toggle one without end.
      editsPerMinute: int(env, 'EDITS_PER_MINUTE', 30, 1),
      deletesPerMinute: int(env, 'DELETES_PER_MINUTE', 30, 1),
      reactionsPerMinute: int(env, 'REACTIONS_PER_MINUTE', 60, 1),
      // @here calls on everyone in a channel: a few an hour is plenty for a person.
      hereMentionsPerHour: int(env, 'HERE_MENTIONS_PER_HOUR', 10, 1),
      // A reconnecting client syncs every room (a join, and history after its
      // cursor): the burst covers that for a member of a few hundred rooms.
      readBurst: int(env, 'READ_BURST', 1000, 1),
      readsPerMinute: int(env, 'READS_PER_MINUTE', 300, 1),
      // A search box sends a query as a person types (debounced) and pages on:
      // a burst for a few refinements, then about one every two seconds.
      searchBurst: int(env, 'SEARCH_BURST', 30, 1),
      searchesPerMinute: int(env, 'SEARCHES_PER_MINUTE', 30, 1),
      // A query whose words match most of what one can read (the start of a
      // number, say) stops here on PostgreSQL rather than hold a backend.
      searchTimeoutMs: int(env, 'SEARCH_TIMEOUT_MS', 3000, 1),
      loginsPerUserPerHour: int(env, 'LOGINS_PER_USER_PER_HOUR', 60, 1),
      connectionsPerUser: int(env, 'CONNECTIONS_PER_USER', 20, 1),
      roomsCreatedPerDay: int(env, 'ROOMS_CREATED_PER_DAY', 50, 1),
      roomsPerUser: int(env, 'ROOMS_PER_USER', 500, 1),
      // Many people can share one address (an office, a campus, carrier NAT);
      // sockets stay anonymous only until they log in.
      anonymousConnectionsPerAddress: int(env, 'ANONYMOUS_CONNECTIONS_PER_ADDRESS', 50, 1),
      connectionsPerAddressPerMinute: int(env, 'CONNECTIONS_PER_ADDRESS_PER_MINUTE', 120, 1),
      authAttemptsPerConnection: int(env, 'AUTH_ATTEMPTS_PER_CONNECTION', 10, 1),
      loginFailuresPerAccount: int(env, 'LOGIN_FAILURES_PER_ACCOUNT', 10, 1),
      loginFailureWindowSeconds: int(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 15 * 60, 1),
      profanityFilter: oneOf(env, 'PROFANITY_FILTER', PROFANITY_POLICIES, 'mask'),
      // Unauthenticated auth per source network: enough for a household or an
      // office signing in (a resume costs a tenth, so a reconnect storm after a
      // restart passes), far too few to grind passwords or keep scrypt busy.
      authPerIpPerMinute: int(env, 'AUTH_PER_IP_PER_MINUTE', 30, 1),
      authPerMinute: int(env, 'AUTH_PER_MINUTE', 3000, 1),
      // Two scrypts at once leave the rest of libuv's four threads for the server;
      // sixteen waiting is a few seconds at OWASP's cost, then rate_limited.
      hashConcurrency: int(env, 'HASH_CONCURRENCY', 2, 1),
      hashQueue: int(env, 'HASH_QUEUE', 16, 0),
      // A fair share: one network's flood fills two places, never the queue.
      hashPerNetwork: int(env, 'HASH_PER_NETWORK', 2, 1),
      mailPerIpPerHour: int(env, 'MAIL_PER_IP_PER_HOUR', 20, 1),
      mailPerHour: int(env, 'MAIL_PER_HOUR', 500, 1),
      mailPerRecipientPerHour: int(env, 'MAIL_PER_RECIPIENT_PER_HOUR', 10, 1),
      inviteTriesPerIpPerHour: int(env, 'INVITE_TRIES_PER_IP_PER_HOUR', 10, 1),
      inviteTriesPerHour: int(env, 'INVITE_TRIES_PER_HOUR', 1000, 1),
      // A phone's video or a long PDF fits; each grant is short-lived, so a
      // person's hour is a few dozen screenshots, and the total bounds the disk.
      fileMaxBytes: int(env, 'FILE_MAX_BYTES', DEFAULT_FILE_MAX_BYTES, 1),
      fileUploadsPerHour: int(env, 'FILE_UPLOADS_PER_HOUR', 60, 1),
      blocksPerHour: int(env, 'BLOCKS_PER_HOUR', 60, 1),
      reportsPerDay: int(env, 'REPORTS_PER_DAY', 20, 1),
      // E23: a client watches the people it shows (a sidebar and a member list
      // fit in 200); one login then costs a post per watcher, and v1 presence
      // per room at most PRESENCE_V1_MAX_MEMBERS (docs/PROTOCOL.md, `presence`).
      presenceWatchMax: int(env, 'PRESENCE_WATCH_MAX', 200, 1),
      presenceBatchMs: int(env, 'PRESENCE_BATCH_MS', 1000, 10),
      presenceV1MaxMembers: int(env, 'PRESENCE_V1_MAX_MEMBERS', 100, 0),
      // A client re-sends its list when the people it shows change (debounced):
      // a room switch or a scroll, a few a minute; a script probing who is
      // online gets at most this many lists of PRESENCE_WATCH_MAX names.
      watchesPerMinute: int(env, 'WATCHES_PER_MINUTE', 30, 1),
      onlineCountsPerMinute: int(env, 'ONLINE_COUNTS_PER_MINUTE', 60, 1),
      // A client reports a change of visibility or idleness, debounced: a few a
      // minute while someone switches tabs; each may tell every roommate.
      activityPerMinute: int(env, 'ACTIVITY_PER_MINUTE', 30, 1),
      pushActionsPerHour: int(env, 'PUSH_ACTIONS_PER_HOUR', 60, 1),
      // Enough for a busy conversation while away; past it the phone stays quiet
      // (the messages are there when the person looks).
      pushesPerHour: int(env, 'PUSHES_PER_HOUR', 60, 1),
      pushAllowPrivate: bool(env, 'PUSH_ALLOW_INSECURE', false),
      fileQuotaBytes: int(env, 'FILE_QUOTA_BYTES', 1024 * 1024 * 1024, 1),
      fileRefusedTypes: refusedTypes(env),
      fileUploadTtlSeconds: int(env, 'FILE_UPLOAD_TTL_SECONDS', 15 * 60, 10),
      fileUrlTtlSeconds: int(env, 'FILE_URL_TTL_SECONDS', 10 * 60, 10),
      // Each profile change is one event to everyone who shares a room with the
      // person; an export reads every message they ever sent.
      profileChangesPerHour: int(env, 'PROFILE_CHANGES_PER_HOUR', 30, 1),
      exportsPerDay: int(env, 'EXPORTS_PER_DAY', 3, 1),
      accountDeletionsPerHour: int(env, 'ACCOUNT_DELETIONS_PER_HOUR', 5, 1),
      deletedNameHoldDays: int(env, 'DELETED_NAME_HOLD_DAYS', 30, 0),
      // E24: ten minutes is long enough that a person at the screen has read it,
      // short enough to still matter; one digest an hour at most is not a flood.
      noticeDelaySeconds: int(env, 'NOTICE_DELAY_SECONDS', 10 * 60, 0),
      noticeIntervalSeconds: int(env, 'NOTICE_INTERVAL_SECONDS', 60 * 60, 0),
      noticeMaxAttempts: int(env, 'NOTICE_MAX_ATTEMPTS', 5, 1),
      noticeBatch: int(env, 'NOTICE_BATCH', 200, 1),
      publicUrl: publicUrl(env, 'PUBLIC_URL') ?? origins(env, 'PUBLIC_ORIGIN', false)[0],
      unsubscribeUrl: publicUrl(env, 'UNSUBSCRIBE_URL'),
      unsubscribeLinkDays: int(env, 'UNSUBSCRIBE_LINK_DAYS', 60, 1),
      unsubscribesPerAddressPerHour: int(env, 'UNSUBSCRIBES_PER_ADDRESS_PER_HOUR', 30, 1),
    },
  };
}

/** An http(s) URL without query or fragment (a trailing slash is dropped), or undefined when unset. */
function publicUrl(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) {
    throw new Error(`${name} must be a URL like https://chat.example.org, not "${raw}"`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** PUSH_SUBJECT: the contact a push service may write to about this server's pushes. */
function pushSubjectSetting(env: Env): string | undefined {
  const raw = env.PUSH_SUBJECT;
  if (!raw) return undefined;
  if (!/^mailto:[^@\s]+@[^@\s]+$/.test(raw) && !/^https:\/\/[^\s]+$/.test(raw)) {
    throw new Error(`PUSH_SUBJECT must be mailto:someone@example.org or an https:// URL, not "${raw}"`);
  }
  return raw;
}

/** A comma-separated list of usernames, compared as names are: lower-cased. */
function usernames(value: string | undefined): string[] {
  return (value ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
}
