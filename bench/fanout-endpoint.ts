// A stand-in for API Gateway's management API, for bench/fanout.ts: its own
// process (the driver forks it, so it has a core of its own). POST
// /{stage}/@connections/{id} answers 200 after a delay drawn uniformly from
// [MIN_MS, MAX_MS], or at once 429 TooManyRequestsException when the account's
// token bucket (RATE a second, BURST deep) is empty, as API Gateway does past its
// PostToConnection rate. It records when each frame arrived, by the frame's
// `key` field: GET /stats?key=K answers {count, first, last} (ms since the epoch).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const MIN_MS = Number(process.env.MIN_MS ?? 20);
const MAX_MS = Number(process.env.MAX_MS ?? 50);
const RATE = Number(process.env.RATE ?? 10_000);
const BURST = Number(process.env.BURST ?? 5_000);

let tokens = BURST;
let refilledAt = performance.now();
function take(): boolean {
  const now = performance.now();
  tokens = Math.min(BURST, tokens + ((now - refilledAt) / 1000) * RATE);
  refilledAt = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

const arrivals = new Map<string, { count: number; first: number; last: number; throttled: number }>();
let throttledTotal = 0;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/stats') {
    const key = url.searchParams.get('key') ?? '';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...(arrivals.get(key) ?? { count: 0 }), throttledTotal }));
    arrivals.delete(key);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (!take()) {
      throttledTotal++;
      res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException' }).end('{"message":"Too Many Requests"}');
      return;
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const key = /"key":"([^"]+)"/.exec(body)?.[1] ?? '';
    setTimeout(() => {
      const at = Date.now();
      const a = arrivals.get(key) ?? { count: 0, first: at, last: at, throttled: 0 };
      a.count++;
      a.last = Math.max(a.last, at);
      arrivals.set(key, a);
      res.writeHead(200, { 'x-amzn-requestid': 'bench' }).end();
    }, MIN_MS + Math.random() * (MAX_MS - MIN_MS));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
