// A push service for tests, the way a browser's (FCM, Mozilla's autopush) takes
// a push: an HTTPS server (certificate from a test CA the server is told to
// trust) that records each POST, and a subscriber holding what a browser holds:
// a P-256 key pair and an auth secret, to decrypt what arrives (RFC 8291,
// aes128gcm) and check its VAPID signature (RFC 8292). Nothing of the server is
// mocked: it encrypts and signs with the real `web-push`, over a real socket.
import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import ece from 'http_ece';
import { makeCa, makeServerCert } from './certs.js';

export interface ReceivedPush {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface PushService {
  /** https://127.0.0.1:PORT */
  origin: string;
  /** the CA's certificate file, for PUSH_CA_FILE */
  caFile: string;
  received: ReceivedPush[];
  /** path -> the status to answer (default 201) */
  status: Map<string, number>;
  /** waits for the next push to `path` not yet taken */
  next(path: string, timeoutMs?: number): Promise<ReceivedPush>;
  close(): Promise<void>;
}

export async function startPushService(dir: string): Promise<PushService> {
  const ca = await makeCa('Push service test CA');
  const cert = await makeServerCert({ dns: ['localhost'], ips: ['127.0.0.1'] }, ca);
  const caFile = join(dir, 'push-ca.pem');
  await writeFile(caFile, ca.cert);
  const received: ReceivedPush[] = [];
  const taken = new Set<ReceivedPush>();
  const status = new Map<string, number>();
  const server: Server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(status.get(path) ?? 201);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    caFile,
    received,
    status,
    async next(path, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find((r) => r.path === path && !taken.has(r));
        if (found) {
          taken.add(found);
          return found;
        }
        if (Date.now() > deadline) throw new Error(`no push to ${path} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a browser keeps for one subscription. */
export interface Subscriber {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  decrypt(body: Buffer): string;
}

export function makeSubscriber(endpoint: string): Subscriber {
  const ecdh: ECDH = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    endpoint,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    decrypt: (body) => ece.decrypt(body, { version: 'aes128gcm', privateKey: ecdh, authSecret: auth }).toString('utf8'),
  };
}

export interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
}

/**
 * The claims of a push's `Authorization: vapid t=JWT, k=KEY` after checking the
 * JWT's ES256 signature with KEY (the server's public key); throws if it fails.
 */
export function verifyVapid(authorization: string | undefined): { claims: VapidClaims; publicKey: string } {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!m) throw new Error(`not a VAPID Authorization header: ${authorization}`);
  const [jwt, k] = [m[1]!, m[2]!];
  const [header, payload, signature] = jwt.split('.');
  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 key');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  const ok = verify('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature!, 'base64url'));
  if (!ok) throw new Error('the VAPID JWT signature does not verify');
  const head = JSON.parse(Buffer.from(header!, 'base64url').toString()) as { alg?: string; typ?: string };
  if (head.alg !== 'ES256' || head.typ !== 'JWT') throw new Error(`the VAPID JWT header is ${JSON.stringify(head)}`);
  return { claims: JSON.parse(Buffer.from(payload!, 'base64url').toString()) as VapidClaims, publicKey: k };
}
