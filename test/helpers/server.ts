// The real local server on port 0 over a fresh test database, with a recording
// mailer so tests can read the codes. One server per test file at a time: the
// handlers find their ports in one per-process slot, as on Lambda.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../functions/adapters/config.js';
import { OutboxMailer } from '../../functions/adapters/outbox-mailer.js';
import type { Logger, Mail, Mailer, Storage } from '../../functions/core/ports.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { RecordingMailer } from './fakes.js';

export interface TestServer {
  server: RunningServer;
  db: TestDatabase;
  mail: RecordingMailer;
  /** with `TEST_OUTBOX: '1'`, every mail is also written here as the local server's outbox writes it (one .eml file each) */
  outboxDir: string;
  config: Config;
  wsUrl: string;
  url: string;
  /** the code of the newest email to this address */
  codeFor(email: string): Promise<string>;
  /** stops the server but keeps the database (for restart tests) */
  stop(): Promise<void>;
  /** starts again over the same database, on the same port */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const TEST_ENV = {
  HOST: '127.0.0.1',
  PORT: '0',
  SCRYPT_N: '1024', // the cost is a parameter stored with each hash; tests need speed
  // Every test signs its users up from 127.0.0.1; the per-address budgets are
  // tested with their own settings (test/security/accounts-attacks.test.ts).
  AUTH_PER_IP_PER_MINUTE: '100000',
  MAIL_PER_IP_PER_HOUR: '100000',
  // Tests sign many users up at once from 127.0.0.1; the per-network share of the
  // hash queue is proven in test/security/accounts-attacks.test.ts.
  HASH_PER_NETWORK: '100000',
  LOG_LEVEL: 'silent',
  // Every test socket comes from 127.0.0.1, and suites open hundreds; the
  // per-address limits are proven in test/security/abuse-limits.test.ts.
  ANONYMOUS_CONNECTIONS_PER_ADDRESS: '100000',
  CONNECTIONS_PER_ADDRESS_PER_MINUTE: '100000',
  TCP_CONNECTIONS_PER_ADDRESS: '100000',
  ANONYMOUS_SOCKETS: '100000',
};

export async function startTestServer(env: Record<string, string> = {}, options: { log?: Logger; storage?: Storage } = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ww-server-'));
  const db = await createTestDatabase();
  const mail = new RecordingMailer();
  const config = loadConfig({ ...TEST_ENV, DATA_DIR: dataDir, ...env });
  const { log, storage } = options;
  const outboxDir = join(dataDir, 'outbox');
  // TEST_OUTBOX: the mail also lands in a real outbox, for tests of what it holds
  const outbox = env.TEST_OUTBOX === '1' ? new OutboxMailer(outboxDir, 'Wild Whispers <chat@localhost>', () => {}) : undefined;
  const mailer: Mailer = outbox ? { send: async (m: Mail) => void (await Promise.all([mail.send(m), outbox.send(m)])) } : mail;
  let server = await startServer({ config, sql: db.sql, mailer, log, storage, webRoot: join(dataDir, 'web') });
  const t: TestServer = {
    get server() {
      return server;
    },
    db,
    mail,
    outboxDir,
    config,
    get wsUrl() {
      return server.wsUrl;
    },
    get url() {
      return server.url;
    },
    codeFor: (email) => mail.codeFor(email),
    stop: () => server.close(),
    async restart() {
      await server.close();
      server = await startServer({ config: { ...config, port: server.port }, sql: db.sql, mailer, log, storage, webRoot: join(dataDir, 'web') });
    },
    async close() {
      await server.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
