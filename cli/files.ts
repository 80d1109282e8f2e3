// Files from the terminal (E17): `/upload PATH` asks for a grant and sends the
// bytes straight to the URL it names; `/download N [DIR]` saves a message's
// files. The server's checks are done here first, so a refusal comes at once.
import { open, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import {
  DEFAULT_FILE_MAX_BYTES,
  DEFAULT_REFUSED_TYPES,
  describeBytes,
  refusedType,
} from '../functions/core/file-types.js';

/** Media types by extension, for what a terminal cannot sniff; the rest is octet-stream. */
const TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.zip': 'application/zip',
  '.svg': 'image/svg+xml',
  '.html': 'text/html',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
};

export function typeOf(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export interface LocalFile {
  name: string;
  type: string;
  size: number;
  bytes: Buffer;
}

/** The file at `path`, or why it cannot be shared. */
export async function readUpload(path: string): Promise<LocalFile | { error: string }> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return { error: `${path} is not a file.` };
  const name = basename(path);
  const type = typeOf(path);
  if (info.size === 0) return { error: `${name} is empty.` };
  if (info.size > DEFAULT_FILE_MAX_BYTES) return { error: `${name} is ${describeBytes(info.size)}; a file is at most ${describeBytes(DEFAULT_FILE_MAX_BYTES)}.` };
  const refused = refusedType(DEFAULT_REFUSED_TYPES, name, type);
  if (refused) return { error: `Files of type ${refused} cannot be shared here: they could run as programs.` };
  const handle = await open(path, 'r');
  try {
    return { name, type, size: info.size, bytes: await handle.readFile() };
  } finally {
    await handle.close();
  }
}

export type UploadTarget =
  | { method: 'POST'; url: string; fields: Record<string, string> }
  | { method: 'PUT'; url: string; headers: Record<string, string> };

/** Sends the bytes to a grant's target; `base` resolves a URL relative to the server. */
export async function sendBytes(target: UploadTarget, file: LocalFile, base: string): Promise<void> {
  const url = new URL(target.url, base);
  let res: Response;
  if (target.method === 'PUT') {
    res = await fetch(url, { method: 'PUT', headers: target.headers, body: new Uint8Array(file.bytes) });
  } else {
    const form = new FormData();
    for (const [k, v] of Object.entries(target.fields)) form.append(k, v);
    form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.type }));
    res = await fetch(url, { method: 'POST', body: form });
  }
  if (!res.ok) throw new Error(`the upload was refused (${res.status}): ${(await res.text()).slice(0, 200)}`);
}

/**
 * A name for a downloaded file in `dir`: the shared name reduced to one safe
 * path segment (another person chose it), and never an existing file.
 */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[\u0000-\u001f\u007f/\\:]/g, '_').replace(/^\.+/, '_').trim();
  return cleaned.slice(0, 200) || 'file';
}

/** Saves `url` to `dir` under the shared name (`name (2).pdf` when taken); returns the path. */
export async function saveDownload(url: string, name: string, dir: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`the download was refused (${res.status})`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const safe = safeFileName(name);
  const ext = extname(safe);
  const stem = safe.slice(0, safe.length - ext.length);
  for (let i = 1; ; i++) {
    const path = join(dir, i === 1 ? safe : `${stem} (${i})${ext}`);
    // 'wx': never overwrite what is there
    const handle = await open(path, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return undefined;
      throw err;
    });
    if (!handle) continue;
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    return path;
  }
}
