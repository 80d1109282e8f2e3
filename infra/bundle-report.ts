// Sizes and cold module-initialisation times of the function bundles in a cloud
// assembly: `npx tsx infra/bundle-report.ts [cdk.out]` after `npm run synth`.
// Each bundle is imported in a fresh Node process, as a Lambda cold start would.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BundleInfo {
  /** the construct id, e.g. SendFunction */
  name: string;
  dir: string;
  bytes: number;
  mapBytes: number;
  /** median over `runs` fresh processes, milliseconds of wall time */
  initMs: number;
  /** the same imports' median CPU time (user + system), milliseconds */
  initCpuMs: number;
}

// Wall time and CPU time of the import: on a busy machine the CPU time is the steadier figure.
const IMPORT_TIMER = `
const t = performance.now();
const c = process.cpuUsage();
await import(process.argv[1]);
const cpu = process.cpuUsage(c);
process.stdout.write(JSON.stringify([performance.now() - t, (cpu.user + cpu.system) / 1000]));
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function bundleReport(outdir: string, stackName = 'WildWhispers', runs = 5): BundleInfo[] {
  const template = JSON.parse(readFileSync(join(outdir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string }; Handler?: string }; Metadata?: Record<string, string> }>;
  };
  // The runtime provides @aws-sdk/*, which the bundles leave out; here the
  // project's node_modules stands in for it.
  const runtimeModules = join(outdir, 'node_modules');
  if (!existsSync(runtimeModules)) symlinkSync(fileURLToPath(new URL('../node_modules', import.meta.url)), runtimeModules, 'dir');
  const out: BundleInfo[] = [];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function' || resource.Properties?.Handler !== 'index.handler') continue;
    const path = resource.Metadata?.['aws:cdk:path'] ?? '';
    const name = path.split('/')[1] ?? path;
    const key = resource.Properties.Code?.S3Key?.replace(/\.zip$/, '');
    const dir = join(outdir, `asset.${key}`);
    const file = join(dir, 'index.mjs');
    if (!key || !existsSync(file)) continue;
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', IMPORT_TIMER, pathToFileURL(file).href], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', LAMBDA_TASK_ROOT: dir },
      });
      const [wall, used] = JSON.parse(out) as [number, number];
      times.push(wall);
      cpu.push(used);
    }
    const map = join(dir, 'index.mjs.map');
    out.push({ name, dir, bytes: statSync(file).size, mapBytes: existsSync(map) ? statSync(map).size : 0, initMs: median(times), initCpuMs: median(cpu) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = bundleReport(process.argv[2] ?? 'cdk.out');
  console.log(`node ${process.version} ${process.arch}`);
  console.table(rows.map((r) => ({ function: r.name, 'index.mjs KiB': (r.bytes / 1024).toFixed(1), 'map KiB': (r.mapBytes / 1024).toFixed(1), 'init ms (wall)': r.initMs.toFixed(1), 'init ms (cpu)': r.initCpuMs.toFixed(1) })));
}
