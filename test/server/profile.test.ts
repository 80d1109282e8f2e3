// The local server's side of avatars (E20): an avatar URL is a signed /files
// URL served inline as the image with nosniff, to signed-in people only by way
// of `avatars`; once the account is deleted the same URL answers 404 and the
// bytes are gone from FILES_DIR.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUp, TestClient } from '../helpers/client.js';
import { PNG, upload } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

it('serves an avatar as the image, only through a signed URL, and not after the account is deleted', async () => {
  const ann = await signUp(t);
  const ben = await signUp(t);
  const grant = await upload(t.url, ann, 'general', { name: 'ann.png', type: 'image/png', bytes: PNG });
  expect((await ann.request({ action: 'set_profile', avatar: grant.file })).type).toBe('profile_saved');
  const stranger = await TestClient.connect(t.wsUrl);
  expect(await stranger.request({ action: 'avatars', users: [ann.username] })).toMatchObject({ type: 'error', code: 'unauthorized' });

  const urls = await ben.request({ action: 'avatars', users: [ann.username] });
  const url = new URL((urls.avatars as { url: string }[])[0]!.url, t.url);
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/png');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('content-disposition')).toMatch(/^inline/);
  // the path alone, or a signature for another file, opens nothing
  expect((await fetch(new URL(url.pathname, t.url))).status).not.toBe(200);
  expect(await readdir(t.config.files.dir)).toContain(grant.file);

  await ann.request({ action: 'delete_account', password: ann.password, messages: 'keep' });
  expect((await fetch(url)).status).toBe(404);
  expect(await readdir(t.config.files.dir)).not.toContain(grant.file);
  expect(await ben.request({ action: 'avatars', users: [ann.username] })).toMatchObject({ avatars: [], missing: [ann.username] });
  await Promise.all([ben.close(), stranger.close()]);
});
