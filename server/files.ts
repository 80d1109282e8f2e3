// The local server's file endpoints (docs/PROTOCOL.md, E17): `PUT /files/<id>`
// takes the bytes of an upload grant, `GET /files/<id>` serves them, each only
// with a URL the server signed (functions/adapters/local-storage.ts) and before it
// expires. What the grant pinned holds: the exact size, the type, one upload
// only. Files are served so that nothing in them can run in the app's origin:
// safe images inline, all else as an attachment, never sniffed, sandboxed.
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { securityEvent } from '../functions/core/audit.js';
import { contentDisposition } from '../functions/core/files.js';
import type { Logger } from '../functions/core/ports.js';
import { verifySignedUrl } from '../functions/core/secrets.js';
import { FILES_PATH, type LocalStorage } from '../functions/adapters/local-storage.js';

/** Every file response: no sniffing, no script, no framing, no referrer. */
const FILE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function isFileRequest(url: string | undefined): boolean {
  return url?.startsWith(FILES_PATH) ?? false;
}

function refuse(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { ...FILE_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(text);
}

/**
 * Whether the file `id` still waits for its bytes: granted, not attached, not
 * deleted. A grant is signed for its whole life, but a file refused by a send,
 * deleted with its message or swept is gone from the database before the grant
 * expires; bytes PUT then would belong to no one (outside every quota, never
 * swept) and would answer the URLs handed out for what was deleted.
 */
export type UploadOpen = (id: string) => Promise<boolean>;

export async function serveFile(
  storage: LocalStorage,
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
  now = new Date(),
  uploadOpen?: UploadOpen,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (method !== 'GET' && method !== 'PUT') return refuse(res, 405, 'Files are read with GET and uploaded with PUT.', { allow: 'GET, HEAD, PUT' });
  const key = url.pathname.slice(1);
  const path = storage.pathOf(key);
  const params = path ? verifySignedUrl(storage.key, method, url.pathname, url.searchParams, now) : 'invalid';
  if (typeof params === 'string') {
    // A refused upload's body is not waited for: the connection closes, so a
    // bad URL with a large Content-Length cannot hold it open byte by byte.
    const close: Record<string, string> = method === 'PUT' ? { connection: 'close' } : {};
    if (method === 'PUT') req.resume();
    securityEvent(log, 'file_url_refused', { method, reason: params, address: req.socket.remoteAddress });
    return params === 'expired'
      ? refuse(res, 403, 'This link has expired: ask for a new one.', close)
      : refuse(res, 403, 'This link is not valid.', close);
  }
  if (method === 'PUT') return receive(path!, params, req, res, uploadOpen && (() => uploadOpen(fileIdOf(key))));
  const info = await stat(path!).catch(() => undefined);
  if (!info?.isFile()) return refuse(res, 404, 'This file is gone.');
  const seconds = Math.max(0, Number(params.e) - Math.floor(now.getTime() / 1000));
  res.writeHead(200, {
    ...FILE_HEADERS,
    'content-type': params.t!,
    'content-disposition': contentDisposition(params.d!, params.f!),
    'content-length': info.size,
    // The URL is good only until it expires, so no cache may keep the bytes longer.
    'cache-control': `private, max-age=${seconds}`,
  });
  if (req.method === 'HEAD') return void res.end();
  await pipeline(createReadStream(path!), res).catch(() => res.destroy());
}

/**
 * The bytes of one upload: exactly the granted size, of the granted type, into a
 * new file. A second upload with the same grant finds the file there and is
 * refused; a short or long body, or one cut off, leaves nothing behind.
 */
/** `files/<id>` or `files/<id>.preview` → `<id>` */
function fileIdOf(key: string): string {
  return key.slice('files/'.length).replace(/\.preview$/, '');
}

const GONE = 'This file was refused, sent or deleted; its grant uploads nothing more.';

async function receive(
  path: string,
  params: Record<string, string>,
  req: IncomingMessage,
  res: ServerResponse,
  open?: () => Promise<boolean>,
): Promise<void> {
  const size = Number(params.n);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const declared = req.headers['content-length'];
  const done = (status: number, text: string) => {
    req.resume();
    refuse(res, status, text, { connection: 'close' });
  };
  if (type !== params.t) return done(415, `This upload was granted for ${params.t}, not ${type || 'no type'}.`);
  if (declared !== undefined && Number(declared) !== size) {
    return done(Number(declared) > size ? 413 : 400, `This upload was granted for exactly ${size} bytes, not ${declared}.`);
  }
  if (open && !(await open())) return done(410, GONE);
  let received = 0;
  let tooLong = false;
  try {
    // 'wx': a grant uploads once, never over what is there (a replay, or a
    // parallel upload with the same grant, fails here rather than mixing bytes).
    // Until a send confirms it with its exact size, a file here is no one's.
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > size && !tooLong) {
        tooLong = true;
        req.unpipe(out);
        out.destroy(new Error('too long'));
      }
    });
    await pipeline(req, out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return done(409, 'This file was uploaded already; a grant is good for one upload.');
    await rm(path, { force: true });
    if (tooLong) return done(413, `This upload was granted for exactly ${size} bytes; more came.`);
    return void res.destroy();
  }
  if (received !== size) {
    await rm(path, { force: true });
    return done(400, `This upload was granted for exactly ${size} bytes; ${received} came.`);
  }
  // The file may have gone while its bytes came (a refused send, a delete):
  // then nothing is kept.
  if (open && !(await open())) {
    await rm(path, { force: true });
    return done(410, GONE);
  }
  res.writeHead(204, { ...FILE_HEADERS, 'cache-control': 'no-store' }).end();
}
