// A grant is signed for its whole life (15 minutes), but the file it is for can
// be gone sooner: refused by a send (a type that lied), deleted with its
// message. Its grant must then upload nothing: bytes PUT after that would
// belong to no file row (outside the uploader's quota, never swept, filling the
// disk a grant at a time), and download URLs handed out for the deleted file
// would serve the new bytes.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../helpers/client.js';
import { PDF, PNG, askGrant, put, sendFiles, urlsOf, type Grant } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

const stored = async () => (await readdir(t.config.files.dir)).filter((n) => n !== 'signing.key');

async function member() {
  const c = await signUp(t);
  const room = `sg-${crypto.randomUUID().slice(0, 8)}`;
  expect((await c.request({ action: 'join', room })).type).toBe('joined');
  return { c, room };
}

describe('a grant whose file is gone uploads nothing', () => {
  it('after a send refused the file', async () => {
    const { c, room } = await member();
    const g = (await askGrant(c, room, { name: 'cat.png', type: 'image/png', bytes: PNG, width: 1, height: 1 }, 40)) as Grant;
    expect(g.type).toBe('upload_grant');
    const html = Buffer.from('<html><script>alert(1)</script></html>'.padEnd(40, ' '));
    expect((await put(t.url, g.upload, html)).status).toBe(204);
    expect((await sendFiles(c, room, [g.file])).type).toBe('error');
    expect(await stored()).not.toContain(g.file);

    const again = await put(t.url, g.upload, html);
    expect(again.status).toBe(410);
    expect(await again.text()).toBe('This file was refused, sent or deleted; its grant uploads nothing more.');
    expect(await stored()).not.toContain(g.file);
    await c.close();
  });

  it('after its message was deleted; the URLs handed out before stay dead', async () => {
    const { c, room } = await member();
    const g = (await askGrant(c, room, { name: 'x.pdf', type: 'application/pdf', bytes: PDF })) as Grant;
    expect((await put(t.url, g.upload, PDF)).status).toBe(204);
    const sent = await sendFiles(c, room, [g.file]);
    expect(sent.type).toBe('sent');
    const [u] = (await urlsOf(c, [g.file])).files;
    const deleted = await c.request({ action: 'delete', room, message: (sent.message as { id: string }).id });
    expect(deleted.type).toBe('deleted_message');
    expect((await fetch(new URL(u!.url, t.url))).status).toBe(404);

    const other = Buffer.from(PDF.toString().replace('1.4', '6.6'));
    const again = await put(t.url, g.upload, other);
    expect(again.status).toBe(410);
    expect(await stored()).not.toContain(g.file);
    expect((await fetch(new URL(u!.url, t.url))).status).toBe(404);
    await c.close();
  });

  it('a grant whose file still waits uploads as before', async () => {
    const { c, room } = await member();
    const g = (await askGrant(c, room, { name: 'x.pdf', type: 'application/pdf', bytes: PDF })) as Grant;
    expect((await put(t.url, g.upload, PDF)).status).toBe(204);
    expect((await sendFiles(c, room, [g.file])).type).toBe('sent');
    await c.close();
  });
});
