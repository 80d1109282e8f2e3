// The local server's side of the unsubscribe link in email notices (E24): GET
// shows a page with a button, POST (List-Unsubscribe=One-Click, RFC 8058) turns
// notices off. The rules are the core's (notices.ts); this only moves bytes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { networkOf } from '../functions/core/names.js';
import type { PageResponse, UnsubscribeRequest } from '../functions/core/notices.js';
import type { Deps } from '../functions/core/ports.js';

export const UNSUBSCRIBE_PATH = '/unsubscribe';
/** A one-click body is 26 bytes; anything much longer is not one. */
const MAX_BODY = 1024;

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        // Not kept: the rest is discarded as it comes (the request timeout bounds it).
        resolve(undefined);
        chunks.length = 0;
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function serveUnsubscribe(
  deps: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  handle: (deps: Deps, request: UnsubscribeRequest) => Promise<PageResponse>,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const body = req.method === 'POST' ? await readBody(req) : undefined;
  if (req.method === 'POST' && body === undefined) {
    res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Request too large.');
    return;
  }
  const page = await handle(deps, { method: req.method ?? 'GET', token: url.searchParams.get('token'), body, network: networkOf(req.socket.remoteAddress) });
  res.writeHead(page.status, page.headers).end(req.method === 'HEAD' ? undefined : page.body);
}
