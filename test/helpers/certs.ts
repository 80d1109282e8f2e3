// Certificates made by the test, the way a team makes them for a LAN: a private
// CA, and a server certificate it signs for the address people type. Written to
// files because the server takes TLS_CERT and TLS_KEY as paths.
import { createHash, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface Pem {
  cert: string;
  key: string;
}

const DAY = 24 * 60 * 60 * 1000;
const validity = () => ({ notBeforeDate: new Date(Date.now() - DAY), notAfterDate: new Date(Date.now() + 30 * DAY) });

/** A certificate authority: signs certificates, serves none. */
export async function makeCa(name = 'Wild Whispers test CA'): Promise<Pem> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * A server certificate for these names and addresses, signed by `ca`, or
 * self-signed without one. `cert` holds the chain (the server's, then the CA's),
 * as a server should present it.
 */
export async function makeServerCert(names: { dns?: string[]; ips?: string[] }, ca?: Pem): Promise<Pem> {
  const altNames = [...(names.dns ?? []).map((value) => ({ type: 2 as const, value })), ...(names.ips ?? []).map((ip) => ({ type: 7 as const, ip }))];
  const pems = await generate([{ name: 'commonName', value: names.dns?.[0] ?? names.ips?.[0] ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(),
    ...(ca ? { ca: { cert: ca.cert, key: ca.key } } : {}),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: ca ? `${pems.cert.trim()}\n${ca.cert.trim()}\n` : pems.cert, key: pems.private };
}

/** Writes cert.pem and key.pem into `dir`; returns their paths. */
export async function writePem(dir: string, pem: Pem, prefix = ''): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, `${prefix}cert.pem`);
  const keyFile = join(dir, `${prefix}key.pem`);
  await writeFile(certFile, pem.cert);
  await writeFile(keyFile, pem.key, { mode: 0o600 });
  return { certFile, keyFile };
}

/** base64 SHA-256 of the certificate's SubjectPublicKeyInfo: what Chromium's SPKI lists take. */
export function spkiHash(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}
