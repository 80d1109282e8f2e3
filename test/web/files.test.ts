// Files in a real browser against the real local server: Alice pastes a
// screenshot and attaches a PDF with the button in a room; Bob sees the preview
// (its space kept before it loads), opens it full size and closes it with
// Escape, and downloads the PDF; Carol, not a member, gets no URL and a changed
// one opens nothing; once Alice deletes the message, the files are gone from
// storage and the URLs Bob had open nothing. axe-clean, on a phone in the dark
// theme too.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { signUp, type Account, type TestClient } from '../helpers/client.js';
import { PDF, urlsOf } from '../helpers/files.js';
import { PHONE_DARK, checkA11y, openDevice, useWebTest } from '../helpers/browser.js';

const ROOM = 'design';

const web = useWebTest();

const stored = async () => (await readdir(web.server.config.files.dir)).filter((n) => n !== 'signing.key');

async function open(who: Account, options: BrowserContextOptions = {}): Promise<Page> {
  const { page } = await openDevice(web, who, { acceptDownloads: true, ...options });
  // on a phone the rooms are behind a menu button
  const menu = page.getByRole('button', { name: /^Rooms and people/ });
  if (await menu.isVisible()) await menu.click();
  await page
    .getByRole('navigation', { name: 'Rooms and people' })
    .getByRole('button', { name: new RegExp(`^${ROOM}(, \\d+ unread)?(, \\d+ mentions?)?$`) })
    .click();
  await page.getByRole('heading', { name: ROOM, level: 1 }).waitFor();
  return page;
}

/** A 640×400 screenshot-like PNG, pasted into the message box as the clipboard would. */
async function pasteScreenshot(page: Page): Promise<void> {
  await page.getByRole('textbox', { name: `Message #${ROOM}` }).evaluate(async (box) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 400;
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#0f766e';
    g.fillRect(0, 0, 640, 400);
    g.fillStyle = '#fff';
    g.fillRect(40, 40, 200, 120);
    const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
    const data = new DataTransfer();
    data.items.add(new File([blob], 'image.png', { type: 'image/png' }));
    box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  });
}

/** A JPEG with an EXIF segment carrying `marker` (where a camera writes GPS), pasted as photo.jpg. */
async function pastePhoto(page: Page, marker: string): Promise<void> {
  await page.getByRole('textbox', { name: `Message #${ROOM}` }).evaluate(async (box, marker) => {
    const canvas = document.createElement('canvas');
    canvas.width = 300;
    canvas.height = 200;
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#b45309';
    g.fillRect(0, 0, 300, 200);
    const jpeg = new Uint8Array(await (await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/jpeg'))).arrayBuffer());
    const payload = new TextEncoder().encode(`Exif\0\0${marker}`);
    const app1 = new Uint8Array([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload]);
    const bytes = new Uint8Array([...jpeg.subarray(0, 2), ...app1, ...jpeg.subarray(2)]);
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'photo.jpg', { type: 'image/jpeg' }));
    box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, marker);
}

describe.sequential('files in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let carol: TestClient & Account;
  let alicePage: Page;
  let bobPage: Page;
  let ids: { image: string; pdf: string };
  let bobsUrls: string[];

  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all([signUp(web.server), signUp(web.server), signUp(web.server)]);
    for (const c of [alice, bob]) expect((await c.request({ action: 'join', room: ROOM })).type).toBe('joined');
  });

  it('alice pastes a screenshot and attaches a PDF, with progress, and sends them with a caption', async () => {
    alicePage = await open(alice);
    await pasteScreenshot(alicePage);
    const chooser = alicePage.waitForEvent('filechooser');
    await alicePage.getByRole('button', { name: 'Attach files' }).click();
    await (await chooser).setFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: PDF });
    const tray = alicePage.getByRole('list', { name: 'Attached files' });
    await expect.poll(() => tray.getByRole('listitem').count()).toBe(2);
    for (const name of ['image.png', 'report.pdf']) {
      await expect.poll(() => tray.getByRole('progressbar', { name: `Uploading ${name}` }).getAttribute('aria-valuetext')).toBe('Uploaded');
    }
    await checkA11y(alicePage, 'composer with attachments');
    const box = alicePage.getByRole('textbox', { name: `Message #${ROOM}` });
    await box.fill('the plan');
    await box.press('Enter');
    await expect.poll(() => tray.count()).toBe(0);
    const sent = alicePage.locator('.message-list li.msg:not(.pending)').filter({ hasText: 'the plan' });
    await sent.getByRole('button', { name: 'Open image image.png' }).waitFor();
    await sent.getByRole('button', { name: /^Download report\.pdf / }).waitFor();

    const rows = await web.server.db.sql<{ id: string; name: string; width: number | null; height: number | null; preview_size: number | null }[]>`
      select id, name, width, height, preview_size from files order by name`;
    expect(rows.map((r) => [r.name, r.width, r.height, r.preview_size !== null])).toEqual([
      ['image.png', 640, 400, true],
      ['report.pdf', null, null, false],
    ]);
    ids = { image: rows[0]!.id, pdf: rows[1]!.id };
  });

  it('bob sees the preview in its space, opens it full size, closes it with Escape, downloads the PDF', async () => {
    bobPage = await open(bob);
    const preview = bobPage.getByRole('button', { name: 'Open image image.png' });
    const img = preview.getByRole('img', { name: 'image.png' });
    // the space is kept from the message's width and height, loaded or not
    expect(await img.evaluate((el: HTMLImageElement) => [el.getAttribute('width'), el.getAttribute('height')])).toEqual(['640', '400']);
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
    // the preview, a small WebP made in Alice's browser
    expect(await img.evaluate((el: HTMLImageElement) => el.src)).toMatch(/\.preview\?/);
    const box = await img.boundingBox();
    expect(box!.width / box!.height).toBeCloseTo(640 / 400, 1);

    await preview.click();
    const viewer = bobPage.getByRole('dialog', { name: 'image.png' });
    await viewer.waitFor();
    const full = viewer.getByRole('img', { name: 'image.png' });
    await expect.poll(() => full.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(640);
    await checkA11y(bobPage, 'image viewer');
    await bobPage.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    expect(await bobPage.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Open image image.png');

    const download = bobPage.waitForEvent('download');
    await bobPage.getByRole('button', { name: /^Download report\.pdf / }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('report.pdf');
    expect(await readFile((await file.path())!)).toEqual(PDF);
    await checkA11y(bobPage, 'message with files');
    bobsUrls = (await urlsOf(bob, [ids.image, ids.pdf])).files.flatMap((f) => [f.url, ...(f.preview ? [f.preview] : [])]);
    expect(bobsUrls).toHaveLength(3);
  });

  it('carol, not a member, gets no URL, and a URL changed to look valid opens nothing', async () => {
    expect(await urlsOf(carol, [ids.image, ids.pdf])).toMatchObject({ files: [], missing: [ids.image, ids.pdf] });
    for (const url of bobsUrls) {
      const forged = new URL(url, web.baseUrl());
      forged.searchParams.set('e', String(Math.floor(Date.now() / 1000) + 3600));
      expect((await fetch(forged)).status).toBe(403);
    }
  });

  it('looks right on a phone in the dark theme', async () => {
    const phone = await open(bob, PHONE_DARK);
    await phone.getByRole('button', { name: 'Open image image.png' }).waitFor();
    await checkA11y(phone, 'message with files, phone, dark');
    await phone.context().close();
  });

  it('after alice deletes the message, the files are gone from storage and every URL opens nothing', async () => {
    expect(await stored()).toEqual(expect.arrayContaining([ids.image, `${ids.image}.preview`, ids.pdf]));
    const item = alicePage.locator('.message-list li.msg:not(.pending)').filter({ hasText: 'the plan' });
    await item.hover();
    await item.getByRole('button', { name: 'Message actions' }).click();
    await item.getByRole('menu', { name: 'Message actions' }).getByRole('menuitem', { name: 'Delete…' }).click();
    await alicePage.getByRole('dialog', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete', exact: true }).click();
    await bobPage.getByRole('button', { name: 'Open image image.png' }).waitFor({ state: 'detached' });
    expect(await stored()).toEqual([]);
    expect(await web.server.db.sql`select 1 from files`).toHaveLength(0);
    for (const url of bobsUrls) expect((await fetch(new URL(url, web.baseUrl()))).status).toBe(404);
    expect(web.problems).toEqual([]);
  });

  it('a photo loses its location before upload, unless the person keeps it', async () => {
    const MARKER = 'GPS 48.8584N 2.2945E';
    const tray = alicePage.getByRole('list', { name: 'Attached files' });
    const box = alicePage.getByRole('textbox', { name: `Message #${ROOM}` });
    const sendPhoto = async (keep: boolean) => {
      await pastePhoto(alicePage, MARKER);
      const keepIt = alicePage.getByRole('checkbox', { name: 'Keep location and camera details in photos' });
      if (keep) await keepIt.check();
      else expect(await keepIt.isChecked()).toBe(false);
      await expect.poll(() => tray.getByRole('progressbar', { name: 'Uploading photo.jpg' }).getAttribute('aria-valuetext')).toBe('Uploaded');
      await box.press('Enter');
      await expect.poll(() => tray.count()).toBe(0);
      await expect.poll(async () => (await web.server.db.sql`select 1 from files where name = 'photo.jpg' and attached_at is not null`).length).toBe(keep ? 2 : 1);
      const [row] = await web.server.db.sql<{ id: string }[]>`select id from files where name = 'photo.jpg' and attached_at is not null order by attached_at desc limit 1`;
      return readFile(join(web.server.config.files.dir, row!.id));
    };
    const stripped = await sendPhoto(false);
    expect(stripped.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(stripped.includes(MARKER)).toBe(false);
    const kept = await sendPhoto(true);
    expect(kept.includes(MARKER)).toBe(true);
    expect(web.problems).toEqual([]);
  });
});
