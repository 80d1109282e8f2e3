// The local server's own bounds against one hostile client, over real sockets,
// each with its limit set low: open TCP connections per address, slow headers,
// a frame budget per socket, the frame size cap, the number of sockets not
// signed in, refused handshakes counted like admitted ones, and /healthz and
// /config.json answering only reads and naming the outbox only to our own host.
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, signUp } from '../helpers/client.js';
import { RecordingLogger } from '../helpers/fakes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A raw TCP connection that sends the start of a request and never finishes it. */
function partialRequest(port: number, localAddress = '127.0.0.1'): Promise<Socket & { ended: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      resolve(Object.assign(socket, { ended }));
    });
    const ended = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.on('error', () => {});
    socket.once('error', reject);
    socket.resume(); // read what comes (a 408), so that the close is seen
  });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(port: number, path: string, options: { method?: string; host?: string; localAddress?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...(options.host ? { host: options.host } : {}), ...options.headers };
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', localAddress: options.localAddress, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TCP connections', () => {
  it('cuts connections beyond the per-address cap at once; other addresses, and the same one later, are served', async () => {
    const log = new RecordingLogger();
    t = await startTestServer({ TCP_CONNECTIONS_PER_ADDRESS: '5' }, { log });
    const port = t.server.port;
    const held = await Promise.all(Array.from({ length: 5 }, () => partialRequest(port)));
    const extra = await Promise.all(Array.from({ length: 3 }, () => partialRequest(port)));
    // the excess is closed before any timeout, the first five are still open
    expect(await Promise.race([Promise.all(extra.map((s) => s.ended)).then(() => 'cut'), new Promise((r) => setTimeout(() => r('open'), 2000))])).toBe('cut');
    expect(held.every((s) => !s.destroyed && s.readyState === 'open')).toBe(true);
    // a WebSocket from that address is refused too; from another address all works
    await expect(TestClient.connect(t.wsUrl)).rejects.toThrow();
    expect((await http(port, '/healthz', { localAddress: '127.0.0.2' })).status).toBe(200);
    const other = await TestClient.connect(t.wsUrl, {}, { localAddress: '127.0.0.2' });
    expect((await other.request({ action: 'ping' })).type).toBe('pong');
    await other.close();
    // one refusal line for the address, however many were cut
    expect(log.events('connection_refused')).toEqual([expect.objectContaining({ address: '127.0.0.1', reason: 'tcp_connections_per_address' })]);
    // a closed connection frees its place
    held[0]!.destroy();
    await held[0]!.ended;
    expect((await http(port, '/healthz')).status).toBe(200);
    for (const s of held) s.destroy();
  }, 30_000);

  it('cuts a request whose headers do not arrive within HEADERS_TIMEOUT_SECONDS', async () => {
    t = await startTestServer({ HEADERS_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '2' });
    const slow = await partialRequest(t.server.port);
    // Node's default is a minute, checked every 30 s; here the cut comes in seconds
    const after = await Promise.race([slow.ended, new Promise<number>((r) => setTimeout(() => r(Infinity), 8000))]);
    expect(after).toBeLessThan(6000);
    slow.destroy();
  }, 20_000);
});

describe('frames', () => {
  it('answers frames past the budget with rate_limited (no handler runs), and closes a socket that keeps on', async () => {
    t = await startTestServer({ FRAMES_BURST: '5', FRAMES_PER_SECOND: '1' });
    const client = await TestClient.connect(t.wsUrl);
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => client.request({ action: i % 2 ? 'join' : 'ping', room: 'lobby' })));
    expect(replies.slice(0, 5).map((r) => r.type === 'pong' || r.code === 'unauthorized')).toEqual([true, true, true, true, true]);
    for (const r of replies.slice(5)) expect(r).toMatchObject({ type: 'error', code: 'rate_limited', retryAfter: 1 });
    // a join past the budget is refused before the database is asked
    const queries = { n: 0 };
    const sql = t.server.deps.sql;
    t.server.deps.sql = new Proxy(sql, { apply: (target, self, args) => (queries.n++, Reflect.apply(target, self, args)) });
    expect((await client.request({ action: 'join', room: 'lobby' })).code).toBe('rate_limited');
    t.server.deps.sql = sql;
    expect(queries.n).toBe(0);
    // flooding on regardless (3 times the burst, refused) closes the socket
    for (let i = 0; i < 20; i++) client.send({ action: 'ping' });
    expect((await client.closed).code).toBe(1008);
    // the budget refills: a new socket is served
    const next = await TestClient.connect(t.wsUrl);
    expect((await next.request({ action: 'ping' })).type).toBe('pong');
    await next.close();
  }, 30_000);

  it('answers a frame over 32 KiB with too_large, and closes the socket (1009) above 64 KiB', async () => {
    t = await startTestServer();
    const client = await TestClient.connect(t.wsUrl);
    // too large to be read, so it has no `re`
    client.send({ action: 'send', room: 'lobby', text: 'x'.repeat(40 * 1024) });
    expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'too_large' });
    client.send({ action: 'send', room: 'lobby', text: 'x'.repeat(65 * 1024) });
    expect((await client.closed).code).toBe(1009);
  }, 30_000);
});

describe('sockets not signed in', () => {
  it('refuses handshakes past ANONYMOUS_SOCKETS with 503, and admits again once one signs in', async () => {
    t = await startTestServer({ ANONYMOUS_SOCKETS: '2' });
    const person = await signUp(t); // signed in: not counted
    const a = await TestClient.connect(t.wsUrl);
    const b = await TestClient.connect(t.wsUrl);
    await expect(TestClient.connect(t.wsUrl)).rejects.toThrow(/503/);
    const authed = await a.request({ action: 'auth', op: 'resume', token: person.token });
    expect(authed.type).toBe('authed');
    const c = await TestClient.connect(t.wsUrl);
    await b.close();
    const d = await TestClient.connect(t.wsUrl);
    await Promise.all([person.close(), a.close(), c.close(), d.close()]);
  }, 30_000);
});

describe('refused handshakes', () => {
  it('counts foreign-Origin and wrong-path handshakes against the address budget: 429 once spent', async () => {
    const log = new RecordingLogger();
    t = await startTestServer({ CONNECTIONS_PER_ADDRESS_PER_MINUTE: '4' }, { log });
    const evil = { origin: 'http://evil.example' };
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(await TestClient.connect(t.wsUrl, evil, { localAddress: '127.0.0.3' }).then(() => 'open', (e: Error) => e.message));
    }
    expect(statuses).toEqual(['HTTP 403', 'HTTP 403', 'HTTP 403', 'HTTP 403', 'HTTP 429', 'HTTP 429']);
    // the wrong path too, from another address
    const wrong = t.wsUrl.replace(/\/ws$/, '/nope');
    const paths: string[] = [];
    for (let i = 0; i < 6; i++) paths.push(await TestClient.connect(wrong, {}, { localAddress: '127.0.0.4' }).then(() => 'open', (e: Error) => e.message));
    expect(paths).toEqual(['HTTP 404', 'HTTP 404', 'HTTP 404', 'HTTP 404', 'HTTP 429', 'HTTP 429']);
    // aggregated: one origin_refused line for the address in the minute
    expect(log.events('origin_refused')).toHaveLength(1);
    // an honest client elsewhere still connects
    const ok = await TestClient.connect(t.wsUrl, {}, { localAddress: '127.0.0.5' });
    await ok.close();
  }, 30_000);
});

describe('/healthz and /config.json', () => {
  it('answer only GET and HEAD (405 with Allow otherwise)', async () => {
    t = await startTestServer();
    const port = t.server.port;
    for (const path of ['/healthz', '/config.json']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'TRACE', 'PATCH']) {
        const res = await http(port, path, { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.allow).toBe('GET, HEAD');
      }
      expect((await http(port, path, { method: 'HEAD' })).status).toBe(200);
      expect((await http(port, path)).status).toBe(200);
    }
  });

  it('name the outbox only to our own loopback host, never to a rebound name', async () => {
    t = await startTestServer();
    const port = t.server.port;
    const outbox = async (host: string) => JSON.parse((await http(port, '/config.json', { host })).body).outboxDir;
    expect(await outbox(`localhost:${port}`)).toEqual(expect.any(String));
    expect(await outbox(`127.0.0.1:${port}`)).toEqual(expect.any(String));
    expect(await outbox('evil.com')).toBeUndefined();
    expect(await outbox(`evil.com:${port}`)).toBeUndefined();
    expect(await outbox(`localhost:${port + 1}`)).toBeUndefined();
  });
});
