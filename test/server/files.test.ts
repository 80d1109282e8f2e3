// Files on the local server, end to end over real sockets and HTTP: a grant, the
// bytes to the signed URL, a message that carries them, URLs for members only,
// headers that keep files from running in the app's origin, and every way a
// file goes (delete, purge, expiry, the sweep of uploads never attached).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpired } from '../../functions/core/disappearing.js';
import { deleteFilesOf, deleteFilesOfUser, sweepFiles } from '../../functions/core/files.js';
import type { Message } from '../../functions/core/protocol.js';
import { signUp, type TestClient } from '../helpers/client.js';
import { PDF, PNG, WEBP, sendFiles, upload, urlsOf } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

const filesDir = () => t.config.files.dir;
const stored = async () => (await readdir(filesDir())).filter((n) => n !== 'signing.key').sort();

async function roomWith(...clients: TestClient[]): Promise<string> {
  const room = `files-${crypto.randomUUID().slice(0, 8)}`;
  for (const c of clients) expect((await c.request({ action: 'join', room })).type).toBe('joined');
  return room;
}

describe('sharing a file', () => {
  it('goes from grant to upload to message; members get URLs, others do not', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const room = await roomWith(alice, bob);
    const image = await upload(t.url, alice, room, { name: 'shot.png', type: 'image/png', bytes: PNG, preview: WEBP, width: 1, height: 1 });
    const pdf = await upload(t.url, alice, room, { name: 'report.pdf', type: 'application/pdf', bytes: PDF });

    const sent = await sendFiles(alice, room, [image.file, pdf.file], 'the numbers');
    expect(sent.type).toBe('sent');
    const message = sent.message as Message;
    expect(message.text).toBe('the numbers');
    expect(message.files).toEqual([
      { id: image.file, name: 'shot.png', type: 'image/png', size: PNG.length, width: 1, height: 1, preview: true },
      { id: pdf.file, name: 'report.pdf', type: 'application/pdf', size: PDF.length },
    ]);
    // bob hears it live, and history shows the same
    const live = await bob.next((f) => f.type === 'message' && (f.message as Message).id === message.id);
    expect((live.message as Message).files).toEqual(message.files);
    const history = await bob.request({ action: 'history', room });
    expect((history.messages as Message[]).at(-1)!.files).toEqual(message.files);

    const urls = await urlsOf(bob, [image.file, pdf.file]);
    expect(urls.type).toBe('download_urls');
    const byId = new Map(urls.files.map((f) => [f.id, f]));
    const png = await fetch(new URL(byId.get(image.file)!.url, t.url));
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.headers.get('content-disposition')).toMatch(/^inline; filename="shot.png"/);
    expect(Buffer.from(await png.arrayBuffer())).toEqual(PNG);
    const preview = await fetch(new URL(byId.get(image.file)!.preview!, t.url));
    expect(preview.headers.get('content-type')).toBe('image/webp');
    expect(Buffer.from(await preview.arrayBuffer())).toEqual(WEBP);
    const doc = await fetch(new URL(byId.get(pdf.file)!.url, t.url));
    expect(doc.headers.get('content-type')).toBe('application/octet-stream');
    expect(doc.headers.get('content-disposition')).toMatch(/^attachment; filename="report.pdf"/);
    expect(Buffer.from(await doc.arrayBuffer())).toEqual(PDF);

    // carol is not a member: no URLs, all ids alike
    const refused = await urlsOf(carol, [image.file, pdf.file]);
    expect(refused).toMatchObject({ type: 'download_urls', files: [], missing: [image.file, pdf.file] });
    // a URL signed for one file opens nothing else
    const forged = new URL(byId.get(pdf.file)!.url, t.url);
    forged.pathname = `/files/${image.file}`;
    expect((await fetch(forged)).status).toBe(403);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  it('leaves a room’s URLs to its current members only', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = await roomWith(alice, bob);
    const pdf = await upload(t.url, alice, room, { name: 'a.pdf', type: 'application/pdf', bytes: PDF });
    expect((await sendFiles(alice, room, [pdf.file])).type).toBe('sent');
    expect((await urlsOf(bob, [pdf.file])).files).toHaveLength(1);
    expect((await bob.request({ action: 'leave', room })).type).toBe('left');
    expect((await urlsOf(bob, [pdf.file])).missing).toEqual([pdf.file]);
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('serving files safely', () => {
  async function served(name: string, type: string, bytes: Buffer) {
    const [alice] = await Promise.all([signUp(t)]);
    const room = await roomWith(alice);
    const g = await upload(t.url, alice, room, { name, type, bytes });
    expect((await sendFiles(alice, room, [g.file])).type).toBe('sent');
    const [u] = (await urlsOf(alice, [g.file])).files;
    const res = await fetch(new URL(u!.url, t.url));
    await alice.close();
    return res;
  }

  const expectSafe = (res: Response) => {
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
  };

  it('never serves HTML or SVG inline, even when they say they are', async () => {
    for (const [name, type, body] of [
      ['page.html', 'text/html', '<script>alert(document.cookie)</script>'],
      ['pic.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ] as const) {
      const res = await served(name, type, Buffer.from(body));
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
      expectSafe(res);
    }
  });

  it('serves a GIF that is also a script as an image that cannot run', async () => {
    // GIF89a header, then JavaScript: a polyglot that runs if a page loads it as a script
    const polyglot = Buffer.concat([Buffer.from('GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;alert(1)//'), Buffer.alloc(8)]);
    const res = await served('cat.gif', 'image/gif', polyglot);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expectSafe(res);
  });

  it('keeps a name as text in Content-Disposition: quotes, non-ASCII', async () => {
    const res = await served('a"b;c\u00e9.txt', 'text/plain', Buffer.from('hi'));
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="a_b_c_.txt"; filename*=UTF-8''a%22b%3Bc%C3%A9.txt`);
    expectSafe(res);
  });

  it('stores bytes private to the server user', async () => {
    expect((await stat(filesDir())).mode & 0o777).toBe(0o700);
    for (const name of await stored()) expect((await stat(join(filesDir(), name))).mode & 0o777).toBe(0o600);
  });
});

describe('files go with their message', () => {
  it('on delete: bytes and rows, and old URLs open nothing', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = await roomWith(alice, bob);
    const g = await upload(t.url, alice, room, { name: 'x.png', type: 'image/png', bytes: PNG, preview: WEBP, width: 1, height: 1 });
    const sent = await sendFiles(alice, room, [g.file]);
    const [u] = (await urlsOf(bob, [g.file])).files;
    expect(await stored()).toEqual(expect.arrayContaining([g.file, `${g.file}.preview`]));
    const deleted = await alice.request({ action: 'delete', room, message: (sent.message as Message).id });
    expect(deleted.type).toBe('deleted_message');
    expect(await stored()).not.toEqual(expect.arrayContaining([g.file]));
    expect(await stored()).not.toContain(`${g.file}.preview`);
    expect(await t.db.sql`select 1 from files where id = ${g.file}`).toHaveLength(0);
    expect((await fetch(new URL(u!.url, t.url))).status).toBe(404);
    expect((await urlsOf(bob, [g.file])).missing).toEqual([g.file]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('on purge', async () => {
    const [alice] = await Promise.all([signUp(t)]);
    const room = await roomWith(alice);
    const g = await upload(t.url, alice, room, { name: 'p.pdf', type: 'application/pdf', bytes: PDF });
    await sendFiles(alice, room, [g.file]);
    expect((await alice.request({ action: 'purge' })).type).toBe('purged');
    expect(await stored()).not.toContain(g.file);
    expect(await t.db.sql`select 1 from files where id = ${g.file}`).toHaveLength(0);
    await alice.close();
  });

  it('on expiry: no URL once its time has come, and the sweep deletes the bytes', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = await roomWith(alice, bob);
    const g = await upload(t.url, alice, room, { name: 'soon.pdf', type: 'application/pdf', bytes: PDF });
    const sent = await sendFiles(alice, room, [g.file]);
    expect((await urlsOf(bob, [g.file])).files).toHaveLength(1);
    // its time has come; the sweep has not run yet
    await t.db.sql`update messages set expires_at = now() - interval '1 second' where id = ${(sent.message as Message).id}`;
    expect((await urlsOf(bob, [g.file])).missing).toEqual([g.file]);
    // the sweep, as the server runs it: expired messages, then their files
    await sweepExpired(t.server.deps);
    await sweepFiles(t.server.deps);
    expect(await stored()).not.toContain(g.file);
    expect(await t.db.sql`select 1 from files where id = ${g.file}`).toHaveLength(0);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('uploads never attached are swept after a day', async () => {
    const [alice] = await Promise.all([signUp(t)]);
    const room = await roomWith(alice);
    const g = await upload(t.url, alice, room, { name: 'late.pdf', type: 'application/pdf', bytes: PDF });
    const deps = t.server.deps;
    expect(await sweepFiles(deps)).toBe(0);
    expect(await stored()).toContain(g.file);
    const tomorrow = { ...deps, clock: { now: () => new Date(Date.now() + 24 * 60 * 60 * 1000 + 1000) } };
    expect(await sweepFiles(tomorrow)).toBeGreaterThanOrEqual(1);
    expect(await stored()).not.toContain(g.file);
    expect(await t.db.sql`select 1 from files where id = ${g.file}`).toHaveLength(0);
    await alice.close();
  });

  it('for messages that expire (deleteFilesOf), and for an account that goes (deleteFilesOfUser)', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = await roomWith(alice, bob);
    const a = await upload(t.url, alice, room, { name: 'a.pdf', type: 'application/pdf', bytes: PDF });
    const b = await upload(t.url, alice, room, { name: 'b.pdf', type: 'application/pdf', bytes: PDF });
    const c = await upload(t.url, bob, room, { name: 'c.pdf', type: 'application/pdf', bytes: PDF });
    const sent = await sendFiles(alice, room, [a.file]);
    await sendFiles(bob, room, [c.file]);
    expect(await deleteFilesOf(t.server.deps, [(sent.message as Message).id])).toBe(1);
    expect(await stored()).not.toContain(a.file);
    expect(await stored()).toEqual(expect.arrayContaining([b.file, c.file]));
    const [row] = await t.db.sql<{ id: string }[]>`select id from users where username = ${alice.username}`;
    expect(await deleteFilesOfUser(t.server.deps, row!.id)).toBe(1); // b, never attached
    expect(await stored()).not.toContain(b.file);
    expect(await stored()).toContain(c.file);
    await Promise.all([alice.close(), bob.close()]);
  });
});
