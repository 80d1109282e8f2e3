// *(E25)* The VAPID keys and what goes with them, without the `web-push`
// package: only the `send` function (and the local server) bundles that (see
// aws-push.ts); the others need the public key and the SSRF guard's resolver.
import { createECDH } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface VapidKeys {
  /** the uncompressed P-256 public key (65 bytes), base64url */
  publicKey: string;
  /** the private scalar (32 bytes), base64url */
  privateKey: string;
}

/** Fresh VAPID keys: a P-256 key pair, base64url, as `web-push` makes them. */
export function generateVapidKeys(): VapidKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const priv = ecdh.getPrivateKey();
  // always 32 bytes: a short scalar is padded, as web-push does
  const privateKey = Buffer.concat([Buffer.alloc(32 - priv.length), priv]);
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: privateKey.toString('base64url') };
}

export function validKeys(value: unknown): value is VapidKeys {
  const k = value as VapidKeys | undefined;
  return (
    typeof k?.publicKey === 'string' &&
    typeof k.privateKey === 'string' &&
    Buffer.from(k.publicKey, 'base64url').length === 65 &&
    Buffer.from(k.privateKey, 'base64url').length === 32
  );
}

/** Every address of a name, for the SSRF guard. */
export async function resolveHost(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true })).map((a) => a.address);
}

/**
 * The local server's VAPID keys: `vapid.json` under `dir` (DATA_DIR), made on
 * first start, file mode 0600. Subscriptions are bound to the public key, so it
 * must outlive restarts: losing it means every device subscribes again.
 */
export async function localVapidKeys(dir: string): Promise<VapidKeys> {
  const path = join(dir, 'vapid.json');
  const existing = await readFile(path, 'utf8').then(
    (text) => JSON.parse(text) as unknown,
    () => undefined,
  );
  if (validKeys(existing)) return { publicKey: existing.publicKey, privateKey: existing.privateKey };
  const keys = generateVapidKeys();
  // 'wx': two processes starting at once cannot both write; the loser reads the winner's.
  try {
    await writeFile(path, JSON.stringify(keys), { mode: 0o600, flag: existing === undefined ? 'wx' : 'w' });
  } catch {
    const again = JSON.parse(await readFile(path, 'utf8')) as unknown;
    if (validKeys(again)) return again;
    throw new Error(`${path} holds no VAPID keys and could not be written`);
  }
  return keys;
}

/** Where `web-push` wants the subject: mailto: or https:. From MAIL_FROM's address unless PUSH_SUBJECT says. */
export function pushSubject(subject: string | undefined, mailFrom: string): string {
  if (subject) return subject;
  const address = /<([^>]+)>/.exec(mailFrom)?.[1] ?? mailFrom.trim();
  return `mailto:${address}`;
}
