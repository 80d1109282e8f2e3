// Passwords, one-time codes and session tokens: everything secret is stored only
// as a hash, and compared in constant time.
import { createHash, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { generate, generateSecret } from 'otplib';
import { RateLimited } from './errors.js';

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFKC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const KEY_LENGTH = 32;

/** OWASP's scrypt row: N=2^17, r=8, p=1. The parameters travel with the hash. */
export const OWASP_SCRYPT_N = 2 ** 17;

export async function hashPassword(password: string, N = OWASP_SCRYPT_N): Promise<string> {
  const salt = randomBytes(16);
  const r = 8;
  const p = 1;
  const key = await scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return false;
  const N = Number(n);
  const expected = Buffer.from(key, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N,
    r: Number(r),
    p: Number(p),
    maxmem: 256 * N * Number(r),
  });
  return timingSafeEqual(actual, expected);
}

/**
 * A semaphore around scrypt: at most `concurrency` hashes run at once (each holds
 * a libuv thread and 128 MiB at N=2^17), and at most `queueLength` wait; past that
 * the request is refused with rate_limited at once instead of queueing without
 * bound behind a flood. Each source network may hold at most `perNetwork` places
 * (running or waiting): the per-address auth budget still lets one network ask
 * for dozens of hashes a minute, which would otherwise fill the queue and refuse
 * everyone else; with a fair share, other networks always find room. Per
 * process: on Lambda each sandbox serves one request at a time anyway, the local
 * server shares one gate between all its sockets.
 */
export class HashGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** places (running or waiting) held per network; absent means none */
  private readonly held = new Map<string, number>();
  /** hashes let through so far (tests read it to prove a refusal came first) */
  started = 0;

  constructor(
    readonly concurrency: number,
    readonly queueLength: number,
    readonly perNetwork = Infinity,
  ) {}

  async run<T>(work: () => Promise<T>, network = 'unknown'): Promise<T> {
    const mine = this.held.get(network) ?? 0;
    if (mine >= this.perNetwork) {
      throw new RateLimited('Too many sign-ins from your network are being checked; try again in a few seconds.', 5);
    }
    if (this.running < this.concurrency) {
      this.running++;
      this.held.set(network, mine + 1);
    } else if (this.waiting.length < this.queueLength) {
      this.held.set(network, mine + 1); // the place is held while waiting, too
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else throw new RateLimited('The server is busy signing people in; try again in a few seconds.', 5);
    // A slot is ours: taken above, or handed over by the one that finished.
    this.started++;
    try {
      return await work();
    } finally {
      this.release(network);
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private release(network: string): void {
    const left = (this.held.get(network) ?? 1) - 1;
    if (left > 0) this.held.set(network, left);
    else this.held.delete(network);
  }
}

// A login for an unknown user still pays for one scrypt, so timing does not tell
// which usernames exist. Computed once per process, lazily, per cost.
const dummyHashes = new Map<number, Promise<string>>();
export async function burnPasswordCheck(password: string, N: number): Promise<void> {
  let dummy = dummyHashes.get(N);
  if (!dummy) dummyHashes.set(N, (dummy = hashPassword('not-a-real-password', N)));
  await verifyPassword(password, await dummy);
}

/**
 * A fresh six-digit code: HOTP over a new random secret for every challenge, so
 * no two users or challenges share a code and nothing in the code base predicts one.
 */
export async function newOneTimeCode(): Promise<string> {
  return generate({ secret: generateSecret(), strategy: 'hotp', counter: 0, digits: 6 });
}

/** `salt$hmac`: the code itself is never stored. */
export function hashCode(code: string): string {
  const salt = randomBytes(16);
  return `${salt.toString('base64')}$${createHmac('sha256', salt).update(code).digest('base64')}`;
}

export function codeMatches(code: string, stored: string): boolean {
  const [salt, mac] = stored.split('$');
  if (!salt || !mac) return false;
  const actual = createHmac('sha256', Buffer.from(salt, 'base64')).update(code).digest();
  const expected = Buffer.from(mac, 'base64');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** 256 random bits, URL-safe. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * A signed URL's query (`e` the expiry in Unix seconds, `s` the signature):
 * HMAC-SHA256 over the method, the path and every other parameter, so nothing
 * in it can be changed, and nothing works after `e`.
 */
export function signUrl(key: Buffer, method: string, path: string, params: Record<string, string>, expiresAt: Date): string {
  const query = new URLSearchParams({ ...params, e: String(Math.floor(expiresAt.getTime() / 1000)) });
  query.sort();
  query.set('s', urlMac(key, method, path, query));
  return `${path}?${query}`;
}

/** The parameters of a URL signed by signUrl, or why it opens nothing. */
export function verifySignedUrl(
  key: Buffer,
  method: string,
  path: string,
  search: URLSearchParams,
  now: Date,
): Record<string, string> | 'invalid' | 'expired' {
  const query = new URLSearchParams(search);
  const given = Buffer.from(query.get('s') ?? '', 'base64url');
  query.delete('s');
  query.sort();
  const expected = Buffer.from(urlMac(key, method, path, query), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  const expires = Number(query.get('e'));
  if (!Number.isInteger(expires) || expires * 1000 <= now.getTime()) return 'expired';
  return Object.fromEntries(query);
}

function urlMac(key: Buffer, method: string, path: string, query: URLSearchParams): string {
  return createHmac('sha256', key).update(`${method}\n${path}\n${query}`).digest('base64url');
}
