// Sharing files as a client does: ask for a grant over the socket, send the
// bytes to the URL it names (the local server's signed PUT), attach the file to
// a message, fetch download URLs.
import type { Frame } from '../../functions/core/ports.js';
import type { TestClient } from './client.js';

/** Smallest valid images, by their first bytes. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
export const WEBP = Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');
export const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

export interface Upload {
  name: string;
  type: string;
  bytes: Buffer;
  preview?: Buffer;
  width?: number;
  height?: number;
}

export interface Grant extends Frame {
  file: string;
  upload: { method: 'PUT'; url: string; headers: Record<string, string> };
  preview?: { method: 'PUT'; url: string; headers: Record<string, string> };
}

export function askGrant(client: TestClient, room: string, file: Upload, size = file.bytes.length): Promise<Frame> {
  return client.request({
    action: 'upload',
    room,
    name: file.name,
    size,
    type: file.type,
    ...(file.width ? { width: file.width, height: file.height } : {}),
    ...(file.preview ? { previewSize: file.preview.length } : {}),
  });
}

export function put(base: string, target: Grant['upload'], body: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL(target.url, base), { method: 'PUT', headers: { ...target.headers, ...headers }, body: new Uint8Array(body) });
}

/** A grant, and the bytes (and preview) uploaded with it; throws unless both were taken. */
export async function upload(base: string, client: TestClient, room: string, file: Upload): Promise<Grant> {
  const grant = (await askGrant(client, room, file)) as Grant;
  if (grant.type !== 'upload_grant') throw new Error(`no grant: ${JSON.stringify(grant)}`);
  const res = await put(base, grant.upload, file.bytes);
  if (res.status !== 204) throw new Error(`upload refused: ${res.status} ${await res.text()}`);
  if (grant.preview) {
    const p = await put(base, grant.preview, file.preview!);
    if (p.status !== 204) throw new Error(`preview refused: ${p.status} ${await p.text()}`);
  }
  return grant;
}

export function sendFiles(client: TestClient, room: string, files: string[], text = ''): Promise<Frame> {
  return client.request({ action: 'send', room, text, files, clientId: crypto.randomUUID() });
}

export interface Urls extends Frame {
  files: { id: string; url: string; preview?: string }[];
  missing?: string[];
}

export async function urlsOf(client: TestClient, files: string[]): Promise<Urls> {
  return (await client.request({ action: 'download', files })) as Urls;
}
