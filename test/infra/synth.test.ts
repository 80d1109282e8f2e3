// `npm run synth` as CI runs it: the real CDK CLI, offline, no Docker. Every
// function is bundled by esbuild on this machine, cdk-nag runs, and each bundle
// must load in a fresh Node process.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleReport, type BundleInfo } from '../../infra/bundle-report.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const FUNCTIONS = ['AuthFunction', 'BouncesFunction', 'ConnectFunction', 'DefaultFunction', 'DisconnectFunction', 'FanoutFunction', 'HistoryFunction', 'JoinFunction', 'LeaveFunction', 'MigrateFunction', 'SendFunction', 'SweepFunction', 'UnsubscribeFunction'];

let outdir: string;
let output: { stdout: string; stderr: string };
let bundles: BundleInfo[];

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'ww-cdk-out-'));
  // The same command as `npm run synth`, into a private output folder; the web
  // client is built by its own tests, so it is not rebuilt in the shared tree here.
  output = await run('npx', ['cdk', 'synth', '--quiet', '--output', outdir, '-c', 'skipWebBuild=true', '-c', 'senderEmail=chat@example.org'], {
    cwd: ROOT,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_PROFILE: '' },
    maxBuffer: 16 * 1024 * 1024,
  });
  bundles = bundleReport(outdir, 'WildWhispers', 1);
}, 600_000);

afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

describe('cdk synth', () => {
  it('writes the stack with no nag finding and no warning', async () => {
    const report = JSON.parse(await readFile(join(outdir, 'validation-report.json'), 'utf8').catch(() => '{}')) as { pluginReports?: Array<{ summary?: { status?: string } }> };
    for (const plugin of report.pluginReports ?? []) expect(plugin.summary?.status).not.toBe('failure');
    expect(output.stderr).not.toMatch(/\b(ERROR|WARNING)\b/);
    expect(await readdir(outdir)).toContain('WildWhispers.template.json');
  });

  it('bundles every function as one minified ESM file with a source map, and each loads', () => {
    expect(bundles.map((b) => b.name)).toEqual(FUNCTIONS);
    for (const b of bundles) {
      expect(b.bytes, b.name).toBeGreaterThan(10_000);
      expect(b.bytes, b.name).toBeLessThan(1_500_000);
      expect(b.mapBytes, b.name).toBeGreaterThan(0);
      expect(Number.isFinite(b.initMs), b.name).toBe(true);
    }
  });

  // Powertools (Logger, Metrics, Tracer) is bundled, and the Tracer brings the
  // X-Ray SDK (~110 KB minified with its dependencies): 250 KB before it, 350 KB
  // with it. `$default` carries most actions' core (accounts, two-factor, profiles,
  // moderation): about 275 KB without Powertools, 440 KB with it. The AWS SDK,
  // were it bundled, would be megabytes.
  it('leaves the AWS SDK to the runtime, so every bundle stays under 500 KB', async () => {
    for (const b of bundles) {
      const code = await readFile(join(b.dir, 'index.mjs'), 'utf8');
      expect(b.bytes, b.name).toBeLessThanOrEqual(500 * 1000);
      // The X-Ray SDK carries its own package.json's dependency list (it names
      // @smithy packages as data); any other mention would be bundled SDK code.
      expect(code.replace(/dependencies:\{[^}]*\}/g, '').includes('@smithy'), b.name).toBe(false);
    }
    const auth = await readFile(join(bundles.find((b) => b.name === 'AuthFunction')!.dir, 'index.mjs'), 'utf8');
    expect(auth).toContain('"@aws-sdk/client-ses"');
  });

  it('puts the migrations beside the migration function', async () => {
    const migrate = bundles.find((b) => b.name === 'MigrateFunction')!;
    const shipped = (await readdir(join(migrate.dir, 'schema'))).sort();
    const source = (await readdir(join(ROOT, 'schema'))).filter((f) => f.endsWith('.sql')).sort();
    expect(shipped).toEqual(source);
    for (const f of source) expect(await readFile(join(migrate.dir, 'schema', f), 'utf8')).toBe(await readFile(join(ROOT, 'schema', f), 'utf8'));
  });
});
