// The local server's HTTP side against a hostile page or request: the WebSocket
// handshake admits only the server's own origins and the configured ones (scheme
// included), so DNS rebinding gets nowhere; the Host header is never copied into
// a header or into /config.json; every response carries the security headers;
// source maps stay private.
import { request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { originAllowed } from '../../functions/core/connections.js';
import { TestClient } from '../helpers/client.js';
import { RecordingLogger } from '../helpers/fakes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const log = new RecordingLogger();
let t: TestServer;
let port: number;

beforeAll(async () => {
  t = await startTestServer({ ALLOWED_ORIGINS: 'https://app.example.org' }, { log });
  port = t.server.port;
  // A built client, with the source map esbuild writes beside the bundle.
  const web = join(t.config.dataDir, 'web');
  await mkdir(web, { recursive: true });
  await writeFile(join(web, 'index.html'), '<!doctype html><title>chat</title><script src="/app.js"></script>');
  await writeFile(join(web, 'app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map\n');
  await writeFile(join(web, 'app.js.map'), JSON.stringify({ version: 3, sources: ['../src/secret-path.ts'], mappings: '' }));
});
afterAll(() => t?.close());

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET with whatever Host header a hostile page's browser would send. */
function get(path: string, host?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SECURITY_HEADERS = ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options'];

describe('the WebSocket origin check', () => {
  it('refuses a rebound name: Origin and Host both evil.example on our port', async () => {
    const evil = `evil.example:${port}`;
    await expect(TestClient.connect(t.wsUrl, { origin: `http://${evil}`, host: evil })).rejects.toThrow(/403/);
    expect(log.events('origin_refused').at(-1)).toMatchObject({ origin: `http://${evil}` });
  });

  it('compares the scheme too', async () => {
    await expect(TestClient.connect(t.wsUrl, { origin: `https://localhost:${port}` })).rejects.toThrow(/403/);
    await expect(TestClient.connect(t.wsUrl, { origin: 'http://app.example.org' })).rejects.toThrow(/403/);
  });

  it("admits the server's own origins, the configured ones, and clients without an Origin", async () => {
    const admitted = await Promise.all([
      TestClient.connect(t.wsUrl, { origin: `http://localhost:${port}` }),
      TestClient.connect(t.wsUrl, { origin: `http://127.0.0.1:${port}` }),
      TestClient.connect(t.wsUrl, { origin: 'https://app.example.org' }),
      TestClient.connect(t.wsUrl),
    ]);
    for (const c of admitted) expect((await c.request({ action: 'ping' })).type).toBe('pong');
    await Promise.all(admitted.map((c) => c.close()));
  });

  it('takes the list of public origins, so https origins can join it', () => {
    const origins = ['http://localhost:8080', 'https://chat.example.org'];
    expect(originAllowed(undefined, origins)).toBe(true);
    expect(originAllowed('https://chat.example.org', origins)).toBe(true);
    expect(originAllowed('http://chat.example.org', origins)).toBe(false);
    expect(originAllowed('https://localhost:8080', origins)).toBe(false);
    expect(originAllowed('null', origins)).toBe(false);
    expect(originAllowed('https://evil.example', ['*'])).toBe(true);
  });

  it('refuses a malformed origin setting at start-up, with its name', () => {
    expect(() => loadConfig({ PUBLIC_ORIGIN: 'chat.example.org' })).toThrow(/PUBLIC_ORIGIN/);
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'ftp://x.example' })).toThrow(/ALLOWED_ORIGINS/);
    expect(loadConfig({ PUBLIC_ORIGIN: 'https://Chat.Example.org/' }).publicOrigins).toEqual(['https://chat.example.org']);
  });
});

describe('the Host header', () => {
  const hostile = 'evil.example:1234';

  it('is not copied into /config.json', async () => {
    const res = await get('/config.json', hostile);
    expect(res.status).toBe(200);
    expect(res.body).not.toContain('evil');
    expect(JSON.parse(res.body).websocketUrl).toBe(`ws://localhost:${port}/ws`);
  });

  it('is not copied into any header, the CSP included', async () => {
    for (const path of ['/', '/config.json', '/healthz', '/missing.js']) {
      const res = await get(path, hostile);
      expect(JSON.stringify(res.headers), path).not.toContain('evil');
    }
  });

  it('names the socket on the address the page came from, when it is one of ours', async () => {
    const res = await get('/config.json', `127.0.0.1:${port}`);
    expect(JSON.parse(res.body).websocketUrl).toBe(`ws://127.0.0.1:${port}/ws`);
    expect(res.headers['content-security-policy']).toContain(`ws://127.0.0.1:${port}`);
  });
});

describe('security headers', () => {
  it('are on every response: the page, /config.json, /healthz and a 404', async () => {
    for (const path of ['/', '/config.json', '/healthz', '/nothing-here.css']) {
      const res = await get(path);
      for (const h of SECURITY_HEADERS) expect(res.headers[h], `${h} on ${path}`).toBeTruthy();
    }
  });
});

describe('source maps', () => {
  it('are not served by default', async () => {
    expect((await get('/app.js')).status).toBe(200);
    const map = await get('/app.js.map');
    expect(map.status).toBe(404);
    expect(map.body).not.toContain('secret-path');
  });

  it('are served only when asked for (development)', () => {
    expect(loadConfig({}).serveSourceMaps).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development' }).serveSourceMaps).toBe(true);
    expect(loadConfig({ SERVE_SOURCE_MAPS: 'true' }).serveSourceMaps).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', SERVE_SOURCE_MAPS: 'false' }).serveSourceMaps).toBe(false);
  });
});
