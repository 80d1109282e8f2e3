// The S3 adapter with the real AWS SDK against s3rver, a local S3-compatible
// server: presigned POSTs (policy pinning key, size, type and the pending tag)
// to an upload key, the seal that copies an upload out of its grant's reach,
// presigned GETs with the response's type and disposition fixed, the ranged
// stat, deletes. Then the whole flow through the local server with S3 as its
// storage: grant, POST, attach, members' URLs, a replayed grant, delete.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectTaggingCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENDING_TAG, S3Storage, uploadKey } from '../../functions/adapters/s3-storage.js';
import type { UploadTarget } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';
import { signUp } from '../helpers/client.js';
import { PDF, PNG, WEBP, askGrant, sendFiles, urlsOf } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const BUCKET = 'ww-files';
let dir: string;
let s3rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let client: S3Client;
let storage: S3Storage;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ww-s3-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
  const { port } = await s3rver.run();
  client = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  storage = new S3Storage(client, BUCKET);
});
afterAll(async () => {
  client?.destroy();
  await s3rver?.close();
  await rm(dir, { recursive: true, force: true });
});

const inAMinute = () => new Date(Date.now() + 60_000);

/** What a browser does with a POST target: the fields, then the file. */
async function post(target: UploadTarget, bytes: Buffer, type: string): Promise<Response> {
  if (target.method !== 'POST') throw new Error('expected a POST target');
  const form = new FormData();
  for (const [k, v] of Object.entries(target.fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(bytes)], { type }));
  return fetch(target.url, { method: 'POST', body: form });
}

describe('S3Storage', () => {
  it('presigns a POST to the upload key whose policy pins the key, the exact size, the type and the pending tag', async () => {
    const target = await storage.uploadTarget('files/AAAAAAAAAAAAAAAAAAAAAA', 1234, 'application/pdf', inAMinute());
    expect(target.method).toBe('POST');
    const fields = (target as { fields: Record<string, string> }).fields;
    expect(fields).toMatchObject({ key: 'files/uploads/AAAAAAAAAAAAAAAAAAAAAA', 'Content-Type': 'application/pdf' });
    const policy = JSON.parse(Buffer.from(fields.Policy!, 'base64').toString());
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 1234, 1234],
        { 'Content-Type': 'application/pdf' },
        { key: 'files/uploads/AAAAAAAAAAAAAAAAAAAAAA' },
        { tagging: expect.stringContaining(`<Key>${PENDING_TAG.key}</Key><Value>${PENDING_TAG.value}</Value>`) },
      ]),
    );
    expect(new Date(policy.expiration).getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
  });

  it('stores through the POST, seals it out of the grant\'s reach untagged, reads it, serves it with fixed headers, deletes', async () => {
    const key = 'files/BBBBBBBBBBBBBBBBBBBBBB';
    expect(await storage.seal(key)).toBe(false);
    const target = await storage.uploadTarget(key, PNG.length, 'image/png', inAMinute());
    expect((await post(target, PNG, 'image/png')).status).toBe(204);
    expect(await storage.stat(key)).toBeUndefined(); // not sealed yet: nothing a message could serve

    // The copy must not keep the upload's pending tag (S3 would copy it by default).
    const copies: unknown[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CopyObjectCommand') copies.push(args.input);
        return next(args);
      },
      { step: 'initialize', name: 'recordCopies' },
    );
    try {
      expect(await storage.seal(key)).toBe(true);
    } finally {
      client.middlewareStack.remove('recordCopies');
    }
    expect(copies).toEqual([expect.objectContaining({ Key: key, CopySource: `${BUCKET}/${uploadKey(key)}`, TaggingDirective: 'REPLACE' })]);
    const tags = await client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
    expect(tags.TagSet ?? []).toEqual([]);
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: uploadKey(key) }))).rejects.toThrow();
    expect(await storage.seal(key)).toBe(true); // again: an earlier seal counts

    const stat = await storage.stat(key);
    expect(stat).toMatchObject({ size: PNG.length, contentType: 'image/png' });
    expect(stat!.head).toEqual(PNG.subarray(0, 16));

    const url = await storage.downloadUrl(key, { contentType: 'application/octet-stream', disposition: 'attachment', filename: 'é "x".png' }, inAMinute());
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('content-disposition')).toBe(`attachment; filename="_ _x_.png"; filename*=UTF-8''%C3%A9%20%22x%22.png`);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(PNG);
    // (s3rver checks no presigned signature nor policy: S3 does; what S3 is
    // asked to enforce is asserted above, and sizes are checked again on attach)

    // The grant used again after the seal: its bytes land at the upload key alone.
    expect((await post(target, Buffer.alloc(PNG.length, 0x41), 'image/png')).status).toBe(204);
    expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(PNG);

    await storage.remove([key, 'files/not-there']);
    expect(await storage.stat(key)).toBeUndefined();
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: uploadKey(key) }))).rejects.toThrow();
  });
});

describe('the local server with S3 storage', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({}, { storage });
  });
  afterAll(() => t?.close());

  it('grants POSTs, attaches, gives members presigned URLs, and deletes the objects with the message', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const room = `s3-${crypto.randomUUID().slice(0, 8)}`;
    for (const c of [alice, bob]) await c.request({ action: 'join', room });
    const image = (await askGrant(alice, room, { name: 'a.png', type: 'image/png', bytes: PNG, preview: WEBP, width: 1, height: 1 })) as unknown as {
      file: string;
      upload: UploadTarget;
      preview: UploadTarget;
    };
    expect(image.upload.method).toBe('POST');
    expect((await post(image.upload, PNG, 'image/png')).status).toBe(204);
    expect((await post(image.preview, WEBP, 'image/webp')).status).toBe(204);
    const pdf = (await askGrant(alice, room, { name: 'r.pdf', type: 'application/pdf', bytes: PDF })) as unknown as { file: string; upload: UploadTarget };
    expect((await post(pdf.upload, PDF, 'application/pdf')).status).toBe(204);

    const sent = await sendFiles(alice, room, [image.file, pdf.file], 'both');
    expect(sent.type).toBe('sent');
    expect((sent.message as Message).files!.map((f) => f.id)).toEqual([image.file, pdf.file]);

    // A grant is good until it expires, attached or not: used again, it must not
    // replace what bob downloads.
    const HTML = Buffer.from('<script>alert(1)</script>'.padEnd(PDF.length, ' '));
    expect((await post(pdf.upload, HTML, 'application/pdf')).status).toBe(204);

    const urls = await urlsOf(bob, [image.file, pdf.file]);
    expect(urls.files).toHaveLength(2);
    for (const f of urls.files) expect((await fetch(f.url)).status).toBe(200);
    const pdfUrl = urls.files.find((f) => f.id === pdf.file)!.url;
    expect(Buffer.from(await (await fetch(pdfUrl)).arrayBuffer())).toEqual(PDF);
    expect((await urlsOf(carol, [image.file, pdf.file])).missing).toEqual([image.file, pdf.file]);

    await alice.request({ action: 'delete', room, message: (sent.message as Message).id });
    for (const key of [`files/${image.file}`, `files/${image.file}.preview`, `files/${pdf.file}`]) {
      expect(await storage.stat(key)).toBeUndefined();
      await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: uploadKey(key) }))).rejects.toThrow();
    }
    for (const f of urls.files) expect((await fetch(f.url)).status).toBe(404);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  it('refuses a size that lies, which s3rver does not check, when the file is attached', async () => {
    const alice = await signUp(t);
    const room = `s3-${crypto.randomUUID().slice(0, 8)}`;
    await alice.request({ action: 'join', room });
    const g = (await askGrant(alice, room, { name: 'r.pdf', type: 'application/pdf', bytes: PDF }, 10)) as unknown as { file: string; upload: UploadTarget };
    expect((await post(g.upload, PDF, 'application/pdf')).status).toBe(204);
    const refused = await sendFiles(alice, room, [g.file]);
    expect(refused).toMatchObject({ type: 'error', code: 'bad_request', message: 'r.pdf was refused: its size is not the 10 bytes it was granted. Nothing was kept.' });
    expect(await storage.stat(`files/${g.file}`)).toBeUndefined();
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: uploadKey(`files/${g.file}`) }))).rejects.toThrow();
    await alice.close();
  });
});
