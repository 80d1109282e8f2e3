// The login ramp's harness (bench/ramp.ts) on a small room: it runs end to end
// against the real server and a bare ws server, and its counts add up. No
// timings are checked: the machine is shared. On the PostgreSQL server when
// TEST_DATABASE_URL is set (a fresh database, dropped after), else on PGlite.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RampRun, RampSummary } from '../../bench/ramp.js';

const ONLINE = 40;
const COMPARE = 12;

describe('bench:ramp, quick, on a small room', () => {
  let dir: string;
  let report: { runs: RampRun[]; summary: RampSummary; options: Record<string, unknown> };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ww-ramp-test-'));
    const out = join(dir, 'ramp.json');
    const db = process.env.TEST_DATABASE_URL ? ['--db=postgres', `--pg=${process.env.TEST_DATABASE_URL}`] : ['--db=pglite'];
    const script = fileURLToPath(new URL('../../bench/ramp.ts', import.meta.url));
    const args = ['--import', 'tsx', script, '--quick', '--users=100', `--online=${ONLINE}`, '--ramp=2', '--after=1', `--compare=${COMPARE}`, '--drain=30', ...db, `--out=${out}`];
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
      child.on('exit', resolve);
    });
    if (code !== 0) throw new Error(`bench/ramp.ts exited ${code}:\n${stderr.join('').slice(-3000)}`);
    report = JSON.parse(await readFile(out, 'utf8'));
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = (server: string, clients: string, online: number) => {
    const r = report.runs.find((x) => x.server === server && (server !== 'chat' || x.clients === clients) && x.online === online);
    expect(r, `${server} ${clients} ${online}`).toBeDefined();
    return r!;
  };

  it('runs the baseline, both client modes, and the smaller room', () => {
    expect(report.runs.map((r) => `${r.server}/${r.server === 'chat' ? r.clients : '-'}/${r.online}`)).toEqual([
      `bare ws/-/${ONLINE}`,
      `chat/v1/${ONLINE}`,
      `chat/watch/${ONLINE}`,
      `chat/v1/${COMPARE}`,
      `chat/watch/${COMPARE}`,
    ]);
  });

  it('logs every user in once and counts what the server sent, by type', () => {
    for (const r of report.runs) {
      expect(r.failed, r.firstFailure).toBe(0);
      expect(r.logins).toBe(r.online);
      expect(r.closedByServer).toBe(0);
      expect(r.framesTotal).toBe(Object.values(r.frames).reduce((a, b) => a + b, 0));
      expect(r.byKind.presence + r.byKind.presence_batch + r.byKind.message + r.byKind.other).toBe(r.framesTotal);
      // every send answered, and each `sent` counted once, at its sender
      expect(r.messages.errors).toBe(0);
      expect(r.frames.sent).toBe(r.messages.acks);
      expect(r.byKind.message).toBeGreaterThan(0);
      // the messages sent once everyone was online reached everyone
      expect(r.lostAfterRamp.deliveriesMissing).toBe(0);
      if (r.server === 'chat') expect(r.frames.authed).toBe(r.online);
      else expect(r.byKind.presence).toBe(0);
      // each process's pauses after the ramp: the server's and every load generator's
      expect(r.pausesAfter.map((p) => p.process)).toEqual(['server', ...r.loadgenRssMB.map((_, i) => `loadgen ${i + 1}`)]);
    }
  });

  it('counts v1 presence: the n-th login is heard by those already online (both, when two logins overlap)', () => {
    for (const n of [ONLINE, COMPARE]) {
      const r = run('chat', 'v1', n);
      expect(r.byKind.presence).toBeGreaterThanOrEqual((n * (n - 1)) / 2);
      expect(r.byKind.presence).toBeLessThanOrEqual(n * (n - 1));
      expect(r.presenceFramesPerLogin).toBeCloseTo(r.byKind.presence / n, 6);
    }
    const v1 = report.summary.modes.find((m) => m.clients === 'v1')!;
    expect(v1.growth).toBeGreaterThan(1.5);
    expect(v1.framesPerLoginVerdict).toMatch(/^grows with the room/);
  });

  it('sends watch after each login, and says so when the server does not know it', () => {
    const r = run('chat', 'watch', ONLINE);
    expect(r.watch).not.toBeNull();
    expect(r.watch!.watching + r.watch!.errors).toBe(ONLINE);
    if (r.watch!.unsupported) {
      expect(r.watch!.errors).toBe(ONLINE);
      expect(r.frames.error).toBe(ONLINE);
      expect(report.summary.modes.find((m) => m.clients === 'watch')!.watchUnsupported).toBe(true);
    } else {
      expect(r.watch!.watching).toBe(ONLINE);
    }
  });
});
