// Bundles the web client into web/dist with esbuild: static files, no server code.
import { cp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('.', import.meta.url));

export async function buildWeb({ quiet = false } = {}): Promise<void> {
  const dist = `${root}dist`;
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  await cp(`${root}public`, dist, { recursive: true });
  if (existsSync(`${root}src/main.ts`)) {
    await esbuild.build({
      entryPoints: [`${root}src/main.ts`],
      outdir: dist,
      bundle: true,
      format: 'esm',
      minify: true,
      sourcemap: true,
      target: ['es2022'],
      logLevel: quiet ? 'error' : 'info',
    });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWeb();
}
