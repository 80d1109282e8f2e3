// Attacks on shared files: sizes and types that lie, grants that expired or are
// used twice, grants for rooms one is not in, another room's file in a message,
// names that are paths, controls or 10,000 characters, refused types, the
// limits. Each is refused with a code and a sentence (or an HTTP status and a
// sentence), and nothing is stored.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStorage } from '../../functions/adapters/local-storage.js';
import type { Message } from '../../functions/core/protocol.js';
import { signUp, type TestClient } from '../helpers/client.js';
import { PDF, PNG, askGrant, put, sendFiles, upload, urlsOf, type Grant } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MAX = 100_000;
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ FILE_MAX_BYTES: String(MAX), FILE_QUOTA_BYTES: String(3 * MAX), FILE_UPLOADS_PER_HOUR: '8' });
});
afterAll(() => t?.close());

const stored = async () => (await readdir(t.config.files.dir)).filter((n) => n !== 'signing.key');
const rowsOf = async (username: string) =>
  t.db.sql<{ id: string }[]>`select f.id from files f join users u on u.id = f.uploader_id where u.username = ${username}`;

async function member(): Promise<{ c: TestClient & { username: string }; room: string }> {
  const c = await signUp(t);
  const room = `fa-${crypto.randomUUID().slice(0, 8)}`;
  expect((await c.request({ action: 'join', room })).type).toBe('joined');
  return { c, room };
}

async function grant(c: TestClient, room: string, name: string, type: string, size: number): Promise<Grant> {
  const g = (await askGrant(c, room, { name, type, bytes: Buffer.alloc(0) }, size)) as Grant;
  expect(g.type).toBe('upload_grant');
  return g;
}

describe('uploads that lie', () => {
  it('a size that lies: more bytes, fewer bytes, a Content-Length that differs; nothing kept', async () => {
    const { c, room } = await member();
    const before = await stored();
    const g = await grant(c, room, 'a.pdf', 'application/pdf', 10);
    // more than granted, streamed without a length
    const longer = await fetch(new URL(g.upload.url, t.url), {
      method: 'PUT',
      headers: g.upload.headers,
      body: new ReadableStream({
        start(ctl) {
          ctl.enqueue(new Uint8Array(8));
          ctl.enqueue(new Uint8Array(8));
          ctl.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(longer.status).toBe(413);
    expect(await longer.text()).toMatch(/exactly 10 bytes/);
    const shorter = await put(t.url, g.upload, Buffer.alloc(5));
    expect(shorter.status).toBe(400);
    expect(await shorter.text()).toMatch(/exactly 10 bytes, not 5/);
    expect(await stored()).toEqual(before);
    // the file never arrived: a send that attaches it is refused
    const sent = await sendFiles(c, room, [g.file], 'here');
    expect(sent).toMatchObject({ type: 'error', code: 'bad_request', message: 'a.pdf has not finished uploading; send it once it has.' });
    expect((await c.request({ action: 'history', room })).messages).toEqual([]);
    await c.close();
  });

  it('a type that lies: another Content-Type, or HTML in a PNG; refused, nothing kept', async () => {
    const { c, room } = await member();
    const g = await grant(c, room, 'cat.png', 'image/png', 40);
    const wrongHeader = await put(t.url, g.upload, Buffer.alloc(40), { 'content-type': 'text/html' });
    expect(wrongHeader.status).toBe(415);
    const html = Buffer.from('<html><script>alert(1)</script></html>'.padEnd(40, ' '));
    expect((await put(t.url, g.upload, html)).status).toBe(204);
    expect(await stored()).toContain(g.file);
    const sent = await sendFiles(c, room, [g.file]);
    expect(sent).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(sent.message).toBe('cat.png was refused: it is not the image/png image it claims to be. Nothing was kept.');
    expect(await stored()).not.toContain(g.file);
    expect(await rowsOf(c.username)).toEqual([]);
    expect((await c.request({ action: 'history', room })).messages).toEqual([]);
    await c.close();
  });

  it('an expired grant or URL opens nothing; a replayed grant cannot overwrite', async () => {
    const { c, room } = await member();
    const storage = t.server.deps.storage as LocalStorage;
    const g = await grant(c, room, 'x.pdf', 'application/pdf', PDF.length);
    // the server's own signer, with a time already past
    const expired = await storage.uploadTarget(`files/${g.file}`, PDF.length, 'application/pdf', new Date(Date.now() - 1000));
    const late = await put(t.url, expired as Grant['upload'], PDF);
    expect(late.status).toBe(403);
    expect(await late.text()).toBe('This link has expired: ask for a new one.');
    expect(await stored()).not.toContain(g.file);
    // a changed parameter breaks the signature
    const bigger = new URL(g.upload.url, t.url);
    bigger.searchParams.set('n', '999');
    expect((await fetch(bigger, { method: 'PUT', headers: g.upload.headers, body: new Uint8Array(999) })).status).toBe(403);

    expect((await put(t.url, g.upload, PDF)).status).toBe(204);
    const again = await put(t.url, g.upload, Buffer.from(PDF.toString().replace('1.4', '6.6')));
    expect(again.status).toBe(409);
    expect(await again.text()).toBe('This file was uploaded already; a grant is good for one upload.');
    expect((await sendFiles(c, room, [g.file])).type).toBe('sent');
    const [u] = (await urlsOf(c, [g.file])).files;
    expect(Buffer.from(await (await fetch(new URL(u!.url, t.url))).arrayBuffer())).toEqual(PDF);
    const stale = await storage.downloadUrl(`files/${g.file}`, { contentType: 'application/octet-stream', disposition: 'attachment', filename: 'x.pdf' }, new Date(Date.now() - 1000));
    expect((await fetch(new URL(stale, t.url))).status).toBe(403);
    await c.close();
  });
});

describe('grants and attachments across rooms', () => {
  it('no grant for a room one is not in', async () => {
    const { c: bob, room } = await member();
    const mallory = await signUp(t);
    for (const target of [room, 'no-such-room', `dm:${bob.username}:zz-nobody`]) {
      const refused = await askGrant(mallory, target, { name: 'a.pdf', type: 'application/pdf', bytes: PDF });
      expect(refused).toMatchObject({ type: 'error', code: 'forbidden' });
      expect(String(refused.message)).toMatch(/^You are not a member of/);
    }
    expect(await rowsOf(mallory.username)).toEqual([]);
    await Promise.all([bob.close(), mallory.close()]);
  });

  it('a file of another room, of another person, or sent already cannot be attached', async () => {
    const { c: alice, room } = await member();
    const other = `fb-${crypto.randomUUID().slice(0, 8)}`;
    await alice.request({ action: 'join', room: other });
    const bob = await signUp(t);
    await bob.request({ action: 'join', room });
    const elsewhere = await upload(t.url, alice, other, { name: 'a.pdf', type: 'application/pdf', bytes: PDF });
    const alices = await upload(t.url, alice, room, { name: 'b.pdf', type: 'application/pdf', bytes: PDF });
    for (const [who, ids] of [
      [alice, [elsewhere.file]],
      [bob, [alices.file]],
    ] as const) {
      const refused = await sendFiles(who, room, [...ids], 'look');
      expect(refused).toMatchObject({
        type: 'error',
        code: 'not_found',
        message: 'A file of this message is not one you uploaded to this room, or it was sent already.',
      });
    }
    expect((await alice.request({ action: 'history', room })).messages).toEqual([]);
    // bob learns nothing of a file of alice's still on its way, not even its name
    const onItsWay = await grant(alice, room, 'secret-plan.pdf', 'application/pdf', 10);
    const probe = await sendFiles(bob, room, [onItsWay.file]);
    expect(probe).toMatchObject({ type: 'error', code: 'not_found' });
    expect(String(probe.message)).not.toContain('secret-plan');
    const first = await sendFiles(alice, room, [alices.file]);
    expect(first.type).toBe('sent');
    expect(await sendFiles(alice, room, [alices.file])).toMatchObject({ type: 'error', code: 'not_found' });
    // a retry of the same send is the same message, not a second attachment
    const retry = await alice.request({ action: 'send', room, text: '', files: [alices.file], clientId: (first.message as Message).clientId });
    expect((retry.message as Message).id).toBe((first.message as Message).id);
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('grants refused before anything is kept', () => {
  it('names: 10,000 characters, paths, control characters, empty', async () => {
    const { c, room } = await member();
    for (const [name, message] of [
      ['a'.repeat(10_000), 'A file name is at most 255 characters.'],
      ['../../etc/passwd', 'A file name is a name, not a path: no / or \\.'],
      ['C:\\Windows\\evil.pdf', 'A file name is a name, not a path: no / or \\.'],
      ['evil\u0000.pdf', 'A file name cannot contain control characters.'],
      ['line\nbreak.pdf', 'A file name cannot contain control characters.'],
      ['  ', 'A file needs a name.'],
    ]) {
      const refused = await askGrant(c, room, { name: name!, type: 'application/pdf', bytes: PDF });
      expect(refused).toMatchObject({ type: 'error', code: 'bad_request', message });
    }
    expect(await rowsOf(c.username)).toEqual([]);
    await c.close();
  });

  it('refused types, sizes past the limit, a total past the quota, too many grants an hour', async () => {
    const { c, room } = await member();
    for (const [name, type] of [
      ['setup.exe', 'application/octet-stream'],
      ['tool.bin', 'application/x-msdownload'],
      ['RUN.SH', 'text/plain'],
    ]) {
      const refused = await askGrant(c, room, { name: name!, type: type!, bytes: PDF });
      expect(refused).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(String(refused.message)).toMatch(/^Files of type \S+ cannot be shared here/);
    }
    expect(await askGrant(c, room, { name: 'big.pdf', type: 'application/pdf', bytes: PDF }, MAX + 1)).toMatchObject({
      type: 'error',
      code: 'too_large',
      message: 'A file is at most 98 KB; big.pdf is larger.',
    });
    expect(await askGrant(c, room, { name: 'i.png', type: 'image/svg+xml', bytes: PNG, width: 1, height: 1 })).toMatchObject({
      type: 'error',
      code: 'bad_request',
    });
    for (let i = 0; i < 3; i++) await grant(c, room, `f${i}.pdf`, 'application/pdf', MAX);
    const full = await askGrant(c, room, { name: 'more.pdf', type: 'application/pdf', bytes: PDF });
    expect(full).toMatchObject({ type: 'error', code: 'too_large' });
    expect(String(full.message)).toMatch(/^Your files take up to/);
    expect(await rowsOf(c.username)).toHaveLength(3);
    // 4 grants taken from the budget of 8 (3 kept, 1 over the quota); 4 more, then none
    for (let i = 0; i < 4; i++) await askGrant(c, room, { name: 'x.pdf', type: 'application/pdf', bytes: PDF });
    const limited = await askGrant(c, room, { name: 'y.pdf', type: 'application/pdf', bytes: PDF });
    expect(limited).toMatchObject({ type: 'error', code: 'rate_limited', message: expect.stringMatching(/^You have shared too many files: at most 8 an hour/) });
    await c.close();
  });

  it('files in a send: not ids, too many, twice the same', async () => {
    const { c, room } = await member();
    for (const files of [['../x'], Array.from({ length: 11 }, () => 'A'.repeat(22)), ['A'.repeat(22), 'A'.repeat(22)], []]) {
      expect(await sendFiles(c, room, files)).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    expect(await c.request({ action: 'send', room, text: '  ', clientId: 'x' })).toMatchObject({ code: 'bad_request', message: 'A message cannot be empty.' });
    await c.close();
  });
});
