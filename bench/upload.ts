// Upload speed of the local server (E17): 100 files of 1 MB and 5 of 25 MB, each
// a grant over the socket and a PUT of the bytes to the signed URL, against a
// plain HTTP server on the same machine in the same run that only writes each
// PUT's body to a file. The ratio of the two throughputs is the cost of the
// grant, the signature check and the exact-size bookkeeping (target ≥ 0.8).
//   npm run bench:upload            (embedded PGlite; DATABASE_URL for PostgreSQL)
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import WebSocket from 'ws';
import { loadConfig } from '../functions/adapters/config.js';
import type { Mail, Mailer } from '../functions/core/ports.js';
import { startServer } from '../server/server.js';

const MB = 1024 * 1024;
const WORKLOAD = [
  { count: 100, size: 1 * MB },
  { count: 5, size: 25 * MB },
];
const TARGET = 0.8;
/**
 * A connection per upload, both ways: with keep-alive, a server closing an idle
 * socket as the next PUT starts on it (a race under load) resets that upload.
 */
const FRESH = { connection: 'close' };

/** Keeps the one-time codes in memory: the bench signs one person up. */
class CodeMailer implements Mailer {
  readonly codes = new Map<string, string>();
  async send(mail: Mail): Promise<void> {
    const code = /^(\d{6}) /.exec(mail.subject)?.[1];
    if (code) this.codes.set(mail.to, code);
  }
}

/** One socket, one request at a time: enough for a bench that waits on each reply. */
async function socket(url: string) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let n = 0;
  const request = (frame: Record<string, unknown>) =>
    new Promise<Record<string, any>>((resolve) => {
      const id = `b${++n}`;
      const onMessage = (data: WebSocket.RawData) => {
        const reply = JSON.parse(data.toString());
        if (reply.re !== id) return;
        ws.off('message', onMessage);
        resolve(reply);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ ...frame, id }));
    });
  return { request, close: () => ws.close() };
}

/** The baseline: PUT /NAME writes the body to DIR/NAME, nothing else. */
async function plainServer(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    pipeline(req, createWriteStream(join(dir, req.url!.slice(1).replace(/[^\w.-]/g, '_')), { mode: 0o600 }))
      .then(() => res.writeHead(204).end())
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Run {
  files: number;
  bytes: number;
  seconds: number;
  mbPerSecond: number;
}

/**
 * Both ways, file by file in turn, each timed on its own: a machine shared with
 * other work drifts, and the drift lands on both alike.
 */
async function alternating(files: Buffer[], ways: Record<'plain' | 'chat', (body: Buffer, i: number) => Promise<void>>): Promise<Record<'plain' | 'chat', Run>> {
  const seconds = { plain: 0, chat: 0 };
  for (let i = 0; i < files.length; i++) {
    // each goes first every other time, so neither always follows the other's garbage
    for (const way of i % 2 ? (['chat', 'plain'] as const) : (['plain', 'chat'] as const)) {
      const t0 = performance.now();
      await ways[way](files[i]!, i);
      seconds[way] += (performance.now() - t0) / 1000;
    }
  }
  const bytes = files.reduce((n, f) => n + f.length, 0);
  const run = (s: number): Run => ({ files: files.length, bytes, seconds: s, mbPerSecond: bytes / MB / s });
  return { plain: run(seconds.plain), chat: run(seconds.chat) };
}

const dir = await mkdtemp(join(tmpdir(), 'ww-bench-upload-'));
const plainDir = join(dir, 'plain');
await mkdir(plainDir);
const mailer = new CodeMailer();
const config = loadConfig({
  ...process.env,
  HOST: '127.0.0.1',
  PORT: '0',
  DATA_DIR: join(dir, 'data'),
  LOG_LEVEL: 'warn',
  SCRYPT_N: '1024',
  FILE_UPLOADS_PER_HOUR: '100000',
  FILE_QUOTA_BYTES: String(10 * 1024 * MB),
  // a 25 MB body on a loaded machine may take longer than the default 30 s
  REQUEST_TIMEOUT_SECONDS: '300',
});
const chat = await startServer({ config, mailer, webRoot: join(dir, 'no-web') });
const plain = await plainServer(plainDir);
const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`;

try {
  const client = await socket(chat.wsUrl);
  const email = 'bench@bench.example';
  // A throwaway account on a throwaway database: a fresh random password each run.
  const password = randomBytes(18).toString('base64url');
  await client.request({ action: 'auth', op: 'register', username: 'bench', email, password });
  const authed = await client.request({ action: 'auth', op: 'verify', username: 'bench', code: mailer.codes.get(email) });
  if (authed.type !== 'authed') throw new Error(`could not sign up: ${JSON.stringify(authed)}`);
  await client.request({ action: 'join', room: 'bench-files' });

  const results: Record<string, { chat: Run; plain: Run; ratio: number; grantMs: number }> = {};
  for (const { count, size } of WORKLOAD) {
    const files = Array.from({ length: count }, () => randomBytes(size));
    let grantSeconds = 0;
    const { plain: viaPlain, chat: viaChat } = await alternating(files, {
      plain: async (body, i) => {
        const res = await fetch(`${plainUrl}${size}-${i}.bin`, { method: 'PUT', headers: FRESH, body: new Uint8Array(body) });
        if (res.status !== 204) throw new Error(`plain PUT: ${res.status}`);
      },
      chat: async (body, i) => {
        const t0 = performance.now();
        const grant = await client.request({ action: 'upload', room: 'bench-files', name: `${size}-${i}.bin`, size: body.length, type: 'application/octet-stream' });
        if (grant.type !== 'upload_grant') throw new Error(`grant: ${JSON.stringify(grant)}`);
        grantSeconds += (performance.now() - t0) / 1000;
        const res = await fetch(new URL(grant.upload.url, chat.url), { method: 'PUT', headers: { ...grant.upload.headers, ...FRESH }, body: new Uint8Array(body) });
        if (res.status !== 204) throw new Error(`upload: ${res.status} ${await res.text()}`);
      },
    });
    const label = `${count} × ${size / MB} MB`;
    const grantMs = (grantSeconds * 1000) / count;
    results[label] = { chat: viaChat, plain: viaPlain, ratio: viaChat.mbPerSecond / viaPlain.mbPerSecond, grantMs };
    console.log(
      `${label.padEnd(12)} chat ${viaChat.mbPerSecond.toFixed(1).padStart(7)} MB/s   plain PUT ${viaPlain.mbPerSecond.toFixed(1).padStart(7)} MB/s   ratio ${results[label]!.ratio.toFixed(2)}   (grant ${grantMs.toFixed(1)} ms a file)`,
    );
  }
  const all = Object.values(results);
  const total = (k: 'chat' | 'plain') => all.reduce((n, r) => n + r[k].bytes, 0) / MB / all.reduce((n, r) => n + r[k].seconds, 0);
  const ratio = total('chat') / total('plain');
  console.log(`overall      chat ${total('chat').toFixed(1).padStart(7)} MB/s   plain PUT ${total('plain').toFixed(1).padStart(7)} MB/s   ratio ${ratio.toFixed(2)} (target ≥ ${TARGET})`);
  const stamp = new Date().toISOString().slice(0, 16).replace(/[T:]/g, '-');
  await writeFile(
    new URL(`results/${stamp}-upload.json`, import.meta.url),
    JSON.stringify({ at: new Date().toISOString(), database: config.databaseUrl ? 'postgresql' : 'pglite', results, ratio, target: TARGET }, null, 2) + '\n',
  );
  client.close();
  if (ratio < TARGET) process.exitCode = 1;
} finally {
  plain.close();
  await chat.close();
  await rm(dir, { recursive: true, force: true });
}
