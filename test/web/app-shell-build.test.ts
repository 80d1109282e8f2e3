// The build's part of the installable app, in Node: the icons are real PNGs of
// the sizes the manifest states, the manifest names them, and /sw.js lists the
// app shell and is versioned by its content (a changed build is a new worker).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWeb, shellVersion } from '../../web/build.js';
import { ICONS, appIcons } from '../../web/icons.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Width, height, colour type and the decoded rows of a PNG (one IDAT is enough for ours). */
function readPng(png: Buffer): { width: number; height: number; colourType: number; rows: Buffer } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.toString('ascii', 12, 16)).toBe('IHDR');
  const idat = png.indexOf('IDAT');
  const length = png.readUInt32BE(idat - 4);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), colourType: png[25]!, rows: inflateSync(png.subarray(idat + 4, idat + 4 + length)) };
}

describe('the app shell build', () => {
  it('draws PNG icons of the stated sizes: transparent corners, a full-bleed maskable one', () => {
    for (const icon of ICONS) {
      const png = readPng(appIcons().get(icon.path)!);
      expect([png.width, png.height, png.colourType]).toEqual([icon.size, icon.size, 6]);
      expect(png.rows.length).toBe((icon.size * 4 + 1) * icon.size);
      const cornerAlpha = png.rows[1 + 3]!; // row 0, pixel 0, alpha
      const centre = (icon.size / 2) * (icon.size * 4 + 1) + 1 + (icon.size / 2) * 4;
      expect(cornerAlpha).toBe(icon.maskable ? 255 : 0);
      expect(png.rows[centre + 3]).toBe(255);
    }
  });

  it('names the icons in the manifest, links it from the page, and versions the service worker by content', async () => {
    const a = await mkdtemp(join(tmpdir(), 'ww-shell-'));
    dirs.push(a);
    await buildWeb({ quiet: true, outdir: a });
    const manifest = JSON.parse(await readFile(join(a, 'manifest.webmanifest'), 'utf8')) as { icons: { src: string; sizes: string }[] };
    expect(manifest.icons.map((i) => [i.src, i.sizes])).toEqual(ICONS.map((i) => [`/${i.path}`, `${i.size}x${i.size}`]));
    const html = await readFile(join(a, 'index.html'), 'utf8');
    expect(html).toContain('<link rel="manifest" href="/manifest.webmanifest" />');
    const sw = await readFile(join(a, 'sw.js'), 'utf8');
    const script = html.match(/src="\/(main-[^"]+\.js)"/)![1]!;
    const style = html.match(/href="\/(main-[^"]+\.css)"/)![1]!;
    for (const f of ['/index.html', '/manifest.webmanifest', '/icons/icon-192.png', `/${script}`, `/${style}`]) expect(sw).toContain(`"${f}"`);
    expect(sw).not.toMatch(/\.map"|emoji\/en\/data\.json|config\.json"\]/);
    const files = JSON.parse(sw.match(/(\[\"\/index\.html\"[^\]]*\])/)![1]!) as string[];
    const version = await shellVersion(a, files);
    expect(sw).toContain(version);

    // one shell file changes: a new version, so a new sw.js
    await writeFile(join(a, 'index.html'), html.replace('</title>', ' </title>'));
    expect(await shellVersion(a, files)).not.toBe(version);
    // and the same sources build the same worker
    const b = await mkdtemp(join(tmpdir(), 'ww-shell-'));
    dirs.push(b);
    await buildWeb({ quiet: true, outdir: b });
    expect(await readFile(join(b, 'sw.js'), 'utf8')).toBe(sw);
  }, 60_000);
});
