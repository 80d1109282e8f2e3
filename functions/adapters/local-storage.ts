// Shared files on the local hosting: bytes under DATA_DIR/files (0700, files
// 0600), reached only through URLs this process signs (HMAC-SHA256 with a key
// kept beside them, or FILES_SECRET) that expire. The HTTP side, which checks
// those URLs and moves the bytes, is server/files.ts.
import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat as fileStat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HEAD_BYTES } from '../core/files.js';
import type { DownloadHeaders, Storage, UploadTarget } from '../core/ports.js';
import { signUrl } from '../core/secrets.js';

/** The URL path files are served under: `/files/<id>` and `/files/<id>.preview`. */
export const FILES_PATH = '/files/';
/** A stored file's name: a file id, and `.preview` for its preview. */
export const STORED_NAME = /^[A-Za-z0-9_-]{22}(\.preview)?$/;

export class LocalStorage implements Storage {
  constructor(
    /** DATA_DIR/files, made private by the server */
    readonly dir: string,
    readonly key: Buffer,
  ) {}

  /** The path of the bytes of `key` (`files/<name>`), or undefined for a key that is not a file's. */
  pathOf(key: string): string | undefined {
    const name = key.startsWith('files/') ? key.slice('files/'.length) : '';
    return STORED_NAME.test(name) ? join(this.dir, name) : undefined;
  }

  async uploadTarget(key: string, size: number, contentType: string, expiresAt: Date): Promise<UploadTarget> {
    const url = signUrl(this.key, 'PUT', `/${key}`, { n: String(size), t: contentType }, expiresAt);
    return { method: 'PUT', url, headers: { 'content-type': contentType } };
  }

  async downloadUrl(key: string, headers: DownloadHeaders, expiresAt: Date): Promise<string> {
    return signUrl(this.key, 'GET', `/${key}`, { t: headers.contentType, d: headers.disposition, f: headers.filename }, expiresAt);
  }

  async stat(key: string): Promise<{ size: number; head: Buffer } | undefined> {
    const path = this.pathOf(key);
    if (!path) return undefined;
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return undefined;
    try {
      const { size } = await handle.stat();
      const head = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
      return { size, head: head.subarray(0, bytesRead) };
    } finally {
      await handle.close();
    }
  }

  /**
   * A grant here uploads once and never over what is there (server/files.ts), so
   * the bytes are already out of its reach; and nothing expires by itself (the
   * sweep in files.ts deletes unattached uploads).
   */
  async seal(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    return path !== undefined && (await fileStat(path).then((s) => s.isFile(), () => false));
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const path = this.pathOf(key);
      if (path) await rm(path, { force: true });
    }
  }
}

/**
 * The signing key: FILES_SECRET, or 32 random bytes made on first start and kept
 * in `dir` (0600), so URLs survive a restart. Whoever reads it can sign URLs, as
 * whoever reads the database can read the messages: both are this user's alone.
 */
export async function fileSigningKey(dir: string, secret: string | undefined): Promise<Buffer> {
  if (secret) return Buffer.from(secret);
  const path = join(dir, 'signing.key');
  const existing = await readFile(path).catch(() => undefined);
  if (existing?.length === 32) return existing;
  const key = randomBytes(32);
  await writeFile(path, key, { mode: 0o600 });
  return key;
}
