// HTTPS and wss:// on the local server, given TLS_CERT and TLS_KEY: a certificate
// the test makes, a client that trusts only it (the TLS check stays on), the
// page's headers and the socket URL it hands the web client. HSTS only on HTTPS.
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { get as httpsGet } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { makeServerCert, writePem, type Pem } from '../helpers/certs.js';
import { newAccount, TestClient } from '../helpers/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GET over http or https; for https, `ca` is the only certificate trusted. */
function fetchUrl(url: string, ca?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    };
    const req = url.startsWith('https:') ? httpsGet(url, { ca }, onResponse) : httpGet(url, onResponse);
    req.on('error', reject);
  });
}

let dir: string;
let db: TestDatabase;
let pem: Pem;
let files: { certFile: string; keyFile: string };
const mail = new RecordingMailer();

async function boot(env: Record<string, string>): Promise<RunningServer> {
  const config = loadConfig({ ...TEST_ENV, DATA_DIR: dir, ...env });
  return startServer({ config, sql: db.sql, mailer: mail, webRoot: join(dir, 'web') });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ww-https-'));
  db = await createTestDatabase();
  pem = await makeServerCert({ dns: ['localhost'], ips: ['127.0.0.1'] });
  files = await writePem(dir, pem);
});
afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('with TLS_CERT and TLS_KEY', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await boot({ TLS_CERT: files.certFile, TLS_KEY: files.keyFile });
  });
  afterAll(() => server?.close());

  it('serves HTTPS with HSTS, and hands the web client a wss:// socket URL', async () => {
    expect(server.scheme).toBe('https');
    expect(server.url).toMatch(/^https:\/\//);
    expect(server.wsUrl).toMatch(/^wss:\/\//);
    const health = await fetchUrl(`https://127.0.0.1:${server.port}/healthz`, pem.cert);
    expect(health).toMatchObject({ status: 200, body: 'ok' });
    expect(health.headers['strict-transport-security']).toBe('max-age=63072000');
    const config = await fetchUrl(`https://127.0.0.1:${server.port}/config.json`, pem.cert);
    expect(JSON.parse(config.body)).toMatchObject({ websocketUrl: `wss://127.0.0.1:${server.port}/ws` });
    expect(config.headers['strict-transport-security']).toBeDefined();
  });

  it('signs up and talks over wss://, the certificate verified', async () => {
    const url = `wss://127.0.0.1:${server.port}/ws`;
    const client = await TestClient.connect(url, {}, { ca: pem.cert });
    const account = newAccount('tls');
    expect(await client.request({ action: 'auth', op: 'register', ...account })).toMatchObject({ type: 'otp_sent' });
    const code = await mail.codeFor(account.email);
    expect(await client.request({ action: 'auth', op: 'verify', username: account.username, code })).toMatchObject({ type: 'authed' });
    const sent = await client.request({ action: 'send', room: 'general', text: 'over TLS', clientId: 'tls-1' });
    expect(sent).toMatchObject({ type: 'sent', message: { text: 'over TLS' } });
    await client.close();
  });

  it('is not reachable in plain text, nor by a client that does not trust the certificate', async () => {
    await expect(fetchUrl(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
    await expect(TestClient.connect(`wss://127.0.0.1:${server.port}/ws`)).rejects.toThrow(/self-signed|certificate/i);
  });
});

describe('without a certificate', () => {
  it('serves plain HTTP and ws:// with no HSTS header (it would be a lie)', async () => {
    const server = await boot({});
    try {
      expect(server.scheme).toBe('http');
      const health = await fetchUrl(`http://127.0.0.1:${server.port}/healthz`);
      expect(health.status).toBe(200);
      expect(health.headers['strict-transport-security']).toBeUndefined();
      const config = await fetchUrl(`http://127.0.0.1:${server.port}/config.json`);
      expect(JSON.parse(config.body)).toMatchObject({ websocketUrl: `ws://127.0.0.1:${server.port}/ws` });
    } finally {
      await server.close();
    }
  });
});

describe('TLS settings', () => {
  it('wants both files, and readable ones, naming the variable', () => {
    expect(() => loadConfig({ TLS_CERT: files.certFile })).toThrow(/TLS_CERT and TLS_KEY go together/);
    expect(() => loadConfig({ TLS_KEY: files.keyFile })).toThrow(/TLS_CERT and TLS_KEY go together/);
    expect(() => loadConfig({ TLS_CERT: join(dir, 'nope.pem'), TLS_KEY: files.keyFile })).toThrow(/^TLS_CERT names a file that cannot be read/);
    expect(loadConfig({ TLS_CERT: files.certFile, TLS_KEY: files.keyFile }).tls).toEqual(files);
  });
});
