// Bundles the web client into web/dist with esbuild: static files, no server code.
// The first page load is index.html + one script + one stylesheet; the emoji
// picker is a separate chunk fetched only when someone opens it, and its data is
// served from here (the page's CSP allows no other origin).
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { appIcons, ICONS } from './icons.js';

const root = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);

/** Where the picker finds its data; web/src/emoji.ts uses the same path. */
export const EMOJI_DATA_PATH = 'emoji/en/data.json';

export interface BuildOptions {
  quiet?: boolean;
  /** defaults to web/dist */
  outdir?: string;
}

export async function buildWeb({ quiet = false, outdir }: BuildOptions = {}): Promise<void> {
  const dist = outdir ?? `${root}dist`;
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  await cp(`${root}public`, dist, { recursive: true });
  const entry = [`${root}src/main.tsx`, `${root}src/main.ts`].find((f) => existsSync(f));
  if (!entry) return;
  const result = await esbuild.build({
    entryPoints: [entry],
    outdir: dist,
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    sourcemap: true,
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // hashed names: safe to cache for as long as a CDN likes; index.html is no-cache
    entryNames: '[name]-[hash]',
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    metafile: true,
    legalComments: 'linked',
    logLevel: quiet ? 'error' : 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs);
  const [script, meta] = outputs.find(([f, o]) => o.entryPoint && f.endsWith('.js')) ?? [];
  if (!script) throw new Error('esbuild produced no entry script');
  const style = meta?.cssBundle;
  const html = (await readFile(join(dist, 'index.html'), 'utf8'))
    .replace('/main.js', `/${basename(script)}`)
    .replace('/main.css', style ? `/${basename(style)}` : '/main.css');
  await writeFile(join(dist, 'index.html'), html);

  const data = require.resolve('emoji-picker-element-data/en/emojibase/data.json');
  await mkdir(join(dist, dirname(EMOJI_DATA_PATH)), { recursive: true });
  await cp(data, join(dist, EMOJI_DATA_PATH));

  for (const [path, png] of appIcons()) {
    await mkdir(join(dist, dirname(path)), { recursive: true });
    await writeFile(join(dist, path), png);
  }
  await buildServiceWorker(dist, outputs.map(([f]) => f), quiet);

  if (!quiet) {
    const first = await firstLoadSize(dist);
    console.log(`web/dist: first page load ${first.files.join(' + ')} = ${kb(first.raw)} raw, ${kb(first.gzip)} gzip`);
  }
}

/**
 * The app shell the service worker caches: the page, every script and
 * stylesheet of the build (the lazy chunks too, so the emoji picker opens
 * offline), the icons and the manifest. Not source maps, not the emoji data.
 */
async function shellFiles(dist: string, built: string[]): Promise<string[]> {
  const scripts = built.filter((f) => /\.(js|css)$/.test(f)).map((f) => `/${relative(dist, resolve(f)).split(sep).join('/')}`);
  const statics = ['/index.html', '/favicon.svg', '/manifest.webmanifest', ...ICONS.map((i) => `/${i.path}`)];
  return [...statics.filter((f) => existsSync(join(dist, f))), ...scripts.sort()];
}

/** The shell's version: a hash of its files' paths and contents (any change, a new service worker). */
export async function shellVersion(dist: string, files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update('\0').update(await readFile(join(dist, f)));
  return hash.digest('hex').slice(0, 16);
}

/**
 * /sw.js: web/src/sw/index.ts with the shell's paths and their content hash
 * built in. One file at a fixed URL, its scope the whole site; browsers check
 * it for updates themselves, so it is never hashed.
 */
async function buildServiceWorker(dist: string, built: string[], quiet: boolean): Promise<void> {
  const entry = `${root}src/sw/index.ts`;
  if (!existsSync(entry)) return;
  const files = await shellFiles(dist, built);
  await esbuild.build({
    entryPoints: [entry],
    outfile: join(dist, 'sw.js'),
    bundle: true,
    format: 'iife',
    minify: true,
    target: ['es2022'],
    define: { SHELL_FILES: JSON.stringify(files), SHELL_VERSION: JSON.stringify(await shellVersion(dist, files)) },
    logLevel: quiet ? 'error' : 'warning',
  });
}

function kb(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

/**
 * Bytes of the first page load (index.html, its script and stylesheet, and the
 * chunks the script imports statically: code shared with a lazy chunk is split
 * out but still loads at once), raw and gzipped.
 */
export async function firstLoadSize(dist = `${root}dist`): Promise<{ files: string[]; raw: number; gzip: number }> {
  const html = await readFile(join(dist, 'index.html'), 'utf8');
  const files = ['index.html', ...[...html.matchAll(/(?:src|href)="\/([^"]+\.(?:js|css))"/g)].map((m) => m[1]!)];
  let raw = 0;
  let gzip = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const bytes = await readFile(join(dist, f));
    raw += (await stat(join(dist, f))).size;
    gzip += gzipSync(bytes, { level: 9 }).length;
    if (!f.endsWith('.js')) continue;
    // static imports only (`from"./…"`, `import"./…"`), not `import("./…")`
    for (const m of bytes.toString('utf8').matchAll(/(?:\bfrom\s*|\bimport\s*)"(\.\/[^"]+\.js)"/g)) {
      const imported = join(dirname(f), m[1]!);
      if (!files.includes(imported)) files.push(imported);
    }
  }
  return { files, raw, gzip };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWeb();
}
