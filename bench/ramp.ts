// The login ramp: `npm run bench:ramp` (5,000 of 10,000 members of #general come
// online over 60 s, one connection each) or `npm run bench:ramp -- --quick`.
// What a wave of logins costs the server: the frames it sends (counted at the
// clients by type), frames per login, its CPU, and the send→deliver p99 of
// messages posted in #general at a steady rate during the ramp and after it,
// against a bare `ws` server (bench/servers/bare-ws.ts) broadcasting the same
// messages to the same number of sockets in the same run. bench/README.md says
// how to read it.
//
// Users are written straight into the server's database (bench/servers/chat.ts
// `seedUsers`: users, #general memberships and one session each), so the clients
// log in with `resume` and no password is hashed. The database is a fresh one
// per run: a new database on the PostgreSQL server (dropped afterwards unless
// --keep-db), or a fresh PGlite directory with --db=pglite.
//
// Clients: `--clients=v1` never sends `watch` (presence to every online member);
// `--clients=watch` sends `{"action":"watch","users":[…20 others…]}` after each
// login; a server without the action answers with an error, reported as "watch
// unsupported". Default: both, before and after.
//
// Options (all optional): --users=N (members of #general, 10000), --online=N
// (5000), --ramp=S (seconds over which they come online, 60), --after=S (30),
// --rate=N (messages a second in #general, 5), --senders=N (10), --watch-count=N
// (20), --compare=N (a second, smaller room for frames per login; online/5; 0: none),
// --procs=N (load generator processes, 2), --db=postgres|pglite, --pg=URL (admin
// URL of the PostgreSQL server), --no-baseline, --drain=S (most seconds to wait
// for the last frames, 180), --keep-db, --quick (2,000 users, 1,000 online over
// 10 s, 10 s after, compare 200), --out=FILE.
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import postgres from 'postgres';
import { hashToken } from '../functions/core/secrets.js';
import type { Pause } from './pauses.js';
import { pinning, startChild, type Child } from './proc.js';
import { BENCH_SERVER_ENV } from './servers/env.js';

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/=.*/, ''), a.includes('=') ? a.slice(a.indexOf('=') + 1) : 'true']));
const QUICK = args.has('--quick');
const num = (name: string, full: number, quick: number) => Number(args.get(`--${name}`) ?? (QUICK ? quick : full));
const USERS = num('users', 10_000, 2_000);
const ONLINE = num('online', 5_000, 1_000);
const RAMP_S = num('ramp', 60, 10);
const AFTER_S = num('after', 30, 10);
const RATE = num('rate', 5, 5);
const SENDERS = Math.min(num('senders', 10, 10), ONLINE);
const WATCH_COUNT = num('watch-count', 20, 20);
const COMPARE = num('compare', Math.round(ONLINE / 5), Math.round(ONLINE / 5));
const PROCS = Math.max(1, num('procs', 2, 2));
const DRAIN_S = num('drain', 180, 60);
const DB = args.get('--db') ?? 'postgres';
const PG_ADMIN = args.get('--pg') ?? 'postgres://postgres@127.0.0.1:5432/test';
const MODES = (args.get('--clients') ?? 'v1,watch').split(',').map((m) => (m === 'both' ? ['v1', 'watch'] : [m])).flat() as ClientMode[];
const BASELINE = !args.has('--no-baseline');
const PROFILE_DIR = args.get('--profile');
const PREFIX = 'ru';
const ROOM = 'general';

type ClientMode = 'v1' | 'watch';
if (ONLINE > USERS) throw new Error('--online is at most --users');
for (const m of MODES) if (m !== 'v1' && m !== 'watch') throw new Error(`--clients is v1, watch or both, not ${m}`);

const log = (...a: unknown[]) => console.error(`[ramp ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RampRun {
  server: 'chat' | 'bare ws';
  clients: ClientMode;
  online: number;
  rampSeconds: number;
  afterSeconds: number;
  /** logins (chat) or connections (bare ws) that succeeded, the senders' included */
  logins: number;
  failed: number;
  firstFailure?: string;
  /** every frame the clients received, by type */
  frames: Record<string, number>;
  framesTotal: number;
  /** presence + presence_batch + message + everything else (replies, ...) */
  byKind: { presence: number; presence_batch: number; message: number; other: number };
  /** (presence + presence_batch) / logins */
  presenceFramesPerLogin: number;
  watch: { watching: number; errors: number; firstError?: unknown; unsupported: boolean } | null;
  loginMs: { p50: number; p99: number; max: number } | null;
  messages: { sent: { ramp: number; after: number }; acks: number; errors: number; firstError?: unknown };
  latencyMs: { ramp: Latency; after: Latency };
  /**
   * the messages sent after the last login was answered, and their deliveries
   * still missing after the drain (every socket was open and in #general then)
   */
  lostAfterRamp: { messages: number; deliveriesMissing: number };
  /** when the last login was answered, in seconds after the ramp's scheduled end (the server may lag) */
  allOnlineSecondsAfterRamp: number;
  /** the eight messages sent after the ramp whose slowest delivery took longest: when they were sent, and that delivery */
  slowestAfter: { sentSecondsAfterRamp: number; ms: number }[];
  serverCpuSeconds: { ramp: number; after: number; drain: number; total: number };
  serverRssMB: number;
  /**
   * each process's pauses of 20 ms or more while messages were being sent after the
   * ramp (garbage collections, event-loop stalls): the longest eight of each, and
   * the stalls summed (a collection is inside a stall, so it is not added again).
   * A slow message at a load generator's pause is that generator's, not the
   * server's.
   */
  pausesAfter: Array<{ process: string; totalMs: number; longest: { atSecondsAfterRamp: number; ms: number; kind: string }[] }>;
  /** from the last send until 1 s passed without a frame */
  drainSeconds: number;
  closedByServer: number;
  loadgenRssMB: number[];
}

interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function latency(h: hdr.Histogram): Latency {
  const ms = (v: number) => Math.round(v) / 1000;
  return { count: h.totalCount, p50: ms(h.getValueAtPercentile(50)), p90: ms(h.getValueAtPercentile(90)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) };
}

/** Deterministic choices (the watch lists) from a seed: runs compare alike. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct users other than `me`, at random among all `users`. */
export function watchList(me: number, users: number, count: number, random: () => number): string[] {
  const picked = new Set<number>();
  const want = Math.min(count, users - 1);
  while (picked.size < want) {
    const u = Math.floor(random() * users);
    if (u !== me) picked.add(u);
  }
  return [...picked].map((u) => `${PREFIX}${u}`);
}

interface Database {
  env: Record<string, string>;
  drop(): Promise<void>;
}

async function freshDatabase(dataDir: string): Promise<Database> {
  if (DB === 'pglite') return { env: { DATA_DIR: dataDir }, drop: async () => {} };
  const name = `ww_ramp_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(PG_ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    drop: async () => {
      const a = postgres(PG_ADMIN, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

async function startServer(kind: 'chat' | 'bare ws', db: Database, dataDir: string): Promise<{ child: Child; url: string }> {
  if (kind === 'bare ws') {
    const child = await startChild('./servers/bare-ws.ts', 0);
    return { child, url: `ws://127.0.0.1:${child.port}` };
  }
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = await startChild('./servers/chat.ts', 0, { ...BENCH_SERVER_ENV, ...db.env, CODES_DIR: join(dataDir, 'codes') }, profile);
  return { child, url: `ws://127.0.0.1:${child.port}/ws` };
}

async function runOne(
  loadgens: Child[],
  kind: 'chat' | 'bare ws',
  mode: ClientMode,
  online: number,
  rampS: number,
  afterS: number,
  tokens: string[],
  db: Database,
  dataDir: string,
): Promise<RampRun> {
  const { child, url } = await startServer(kind, db, dataDir);
  const clientKind = kind === 'chat' ? 'chat' : 'ws';
  const random = prng(online * 7919 + (mode === 'watch' ? 1 : 0));
  // The community the watch lists are drawn from: --users for the main run; for
  // the smaller comparison, the same share of it online (--users × online ÷
  // --online), so that the two runs differ in the community's size and not in
  // the share of each person's watchers who are online.
  const community = Math.max(online, Math.round((USERS * online) / ONLINE));
  const watchFor = (u: number) => (kind === 'chat' && mode === 'watch' ? watchList(u, community, WATCH_COUNT, random) : undefined);
  const senders = Math.min(SENDERS, online);
  try {
    await Promise.all(loadgens.map((l) => l.call('rampReset', { endsAtUs: 1e18 })));
    // The senders come online first, in the first load generator; they count as logins.
    const openSenders = await loadgens[0]!.call('rampOpen', {
      kind: clientKind,
      url,
      startAtMs: Date.now(),
      offsetsMs: Array.from({ length: senders }, () => 0),
      tokens: tokens.slice(0, senders),
      watch: watchFor(0) && Array.from({ length: senders }, (_, u) => watchFor(u)),
    });
    await loadgens[0]!.call('quiet', { ms: 300, maxMs: 5000 });
    await child.call('resetUsage');
    const startAt = Date.now() + 300;
    const rampEnd = startAt + rampS * 1000;
    const afterEnd = rampEnd + afterS * 1000;
    await Promise.all(loadgens.map((l) => l.call('rampPhase', { endsAtUs: rampEnd * 1000 })));
    // The rest, evenly over the ramp, dealt round-robin to the load generators.
    const rest = online - senders;
    const shares = loadgens.map(() => ({ offsetsMs: [] as number[], tokens: [] as string[], watch: [] as string[][] }));
    for (let j = 0; j < rest; j++) {
      const share = shares[j % loadgens.length]!;
      const u = senders + j;
      share.offsetsMs.push(rest > 1 ? (j * rampS * 1000) / rest : 0);
      share.tokens.push(tokens[u]!);
      const w = watchFor(u);
      if (w) share.watch.push(w);
    }
    const cpu: { ramp?: number; after?: number } = {};
    const at = (t: number, key: 'ramp' | 'after') =>
      sleep(Math.max(0, t - Date.now())).then(async () => {
        cpu[key] = (await child.call('usage')).cpuSeconds;
      });
    const cpuMarks = Promise.all([at(rampEnd, 'ramp'), at(afterEnd, 'after')]);
    const sending = loadgens[0]!.call('rampSend', { room: ROOM, rate: RATE, senders, untilMs: afterEnd });
    const opened = await Promise.all(
      loadgens.map((l, i) =>
        l.call('rampOpen', { kind: clientKind, url, startAtMs: startAt, offsetsMs: shares[i]!.offsetsMs, tokens: shares[i]!.tokens, watch: watchFor(0) && shares[i]!.watch }),
      ),
    );
    const allOnlineAt = Date.now();
    const sent = await sending;
    await cpuMarks;
    const drainStart = Date.now();
    // The last frames (a presence backlog, the last messages): until 1 s without any.
    await Promise.all(loadgens.map((l) => l.call('quiet', { ms: 1000, maxMs: DRAIN_S * 1000 })));
    const drainSeconds = (Date.now() - drainStart) / 1000;
    const usage = await child.call('usage');
    const stats: any[] = await Promise.all(loadgens.map((l) => l.call('rampStats')));
    const serverPauses: Pause[] = await child.call('pauses');
    const pausesAfter = [{ process: 'server', pauses: serverPauses }, ...stats.map((s, i) => ({ process: `loadgen ${i + 1}`, pauses: s.pauses as Pause[] }))].map(
      ({ process, pauses }) => {
        const after = pauses.filter((p) => p.atMs >= rampEnd && p.atMs < afterEnd);
        return {
          process,
          totalMs: after.filter((p) => p.kind === 'stall').reduce((n, p) => n + p.ms, 0),
          longest: after
            .sort((a, b) => b.ms - a.ms)
            .slice(0, 8)
            .map((p) => ({ atSecondsAfterRamp: Math.round((p.atMs - rampEnd) / 100) / 10, ms: p.ms, kind: p.kind })),
        };
      },
    );

    const frames: Record<string, number> = {};
    for (const s of stats) for (const [t, n] of Object.entries(s.frames as Record<string, number>)) frames[t] = (frames[t] ?? 0) + n;
    const histRamp = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
    const histAfter = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
    // Deliveries of each message sent once every login had been answered: each socket should have one.
    const perMessage = new Map<string, number>();
    const worst = new Map<string, number>();
    for (const s of stats) {
      histRamp.add(hdr.decodeFromCompressedBase64(s.hist.ramp));
      histAfter.add(hdr.decodeFromCompressedBase64(s.hist.after));
      for (const [id, n] of Object.entries(s.afterCounts as Record<string, number>)) perMessage.set(id, (perMessage.get(id) ?? 0) + n);
      for (const [id, us] of Object.entries(s.afterWorst as Record<string, number>)) worst.set(id, Math.max(worst.get(id) ?? 0, us));
    }
    // The messages whose last delivery was slowest, and when each was sent: a p99
    // over a few hundred messages is set by the slowest two or three of them.
    const slowestAfter = [...worst]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([id, us]) => ({ sentSecondsAfterRamp: Math.round((Number(id.slice(1, id.indexOf('x'))) / 1000 - rampEnd) / 100) / 10, ms: Math.round(us / 100) / 10 }));
    const all = [openSenders, ...opened];
    const logins = all.reduce((n, o) => n + o.opened, 0);
    const failed = all.reduce((n, o) => n + o.failed, 0);
    const watching = all.reduce((n, o) => n + o.watch.watching, 0);
    const watchErrors = all.reduce((n, o) => n + o.watch.errors, 0);
    const loginHist = opened.map((o) => o.loginMs);
    const presence = frames.presence ?? 0;
    const presenceBatch = frames.presence_batch ?? 0;
    const message = frames.message ?? 0;
    const framesTotal = Object.values(frames).reduce((a, b) => a + b, 0);
    const total = usage.cpuSeconds;
    const checked = sent.stamps.filter((id: string) => Number(id.slice(1, id.indexOf('x'))) / 1000 >= allOnlineAt);
    const lost = checked.reduce((n: number, id: string) => n + Math.max(0, logins - (perMessage.get(id) ?? 0)), 0);
    const run: RampRun = {
      server: kind,
      clients: mode,
      online,
      rampSeconds: rampS,
      afterSeconds: afterS,
      logins,
      failed,
      firstFailure: all.find((o) => o.firstFailure)?.firstFailure,
      frames,
      framesTotal,
      byKind: { presence, presence_batch: presenceBatch, message, other: framesTotal - presence - presenceBatch - message },
      presenceFramesPerLogin: logins ? (presence + presenceBatch) / logins : 0,
      watch:
        kind === 'chat' && mode === 'watch'
          ? { watching, errors: watchErrors, firstError: all.find((o) => o.watch.firstError)?.watch.firstError, unsupported: watching === 0 && watchErrors > 0 }
          : null,
      // the slowest load generator's figures (each has half the logins)
      loginMs: kind === 'chat' ? { p50: Math.max(...loginHist.map((h) => h.p50)), p99: Math.max(...loginHist.map((h) => h.p99)), max: Math.max(...loginHist.map((h) => h.max)) } : null,
      messages: { sent: sent.sent, acks: sent.acks, errors: sent.errors, firstError: sent.firstError },
      latencyMs: { ramp: latency(histRamp), after: latency(histAfter) },
      lostAfterRamp: { messages: checked.length, deliveriesMissing: lost },
      allOnlineSecondsAfterRamp: (allOnlineAt - rampEnd) / 1000,
      slowestAfter,
      serverCpuSeconds: { ramp: cpu.ramp ?? 0, after: (cpu.after ?? 0) - (cpu.ramp ?? 0), drain: total - (cpu.after ?? 0), total },
      serverRssMB: usage.rssMB,
      pausesAfter,
      drainSeconds,
      closedByServer: stats.reduce((n, s) => n + s.closed, 0),
      loadgenRssMB: stats.map((s) => s.rssMB),
    };
    log(
      `${kind}, ${mode}, ${online} online over ${rampS} s: ${logins} logins (${failed} failed), ${framesTotal} frames ` +
        `(presence ${presence}, presence_batch ${presenceBatch}, message ${message}), ${run.presenceFramesPerLogin.toFixed(1)} presence frames/login, ` +
        `p99 during ${run.latencyMs.ramp.p99} ms, after ${run.latencyMs.after.p99} ms, server CPU ${total.toFixed(1)} s, drain ${drainSeconds.toFixed(1)} s` +
        (run.watch ? `, watch: ${run.watch.unsupported ? 'unsupported' : `${watching} watching, ${watchErrors} errors`}` : '') +
        `; slowest after the ramp (sent at +s: ms): ${slowestAfter.map((w) => `${w.sentSecondsAfterRamp}: ${w.ms}`).join(', ')}` +
        `; pauses after the ramp (at +s: ms kind): ${pausesAfter.map((p) => `${p.process} ${p.longest.slice(0, 4).map((l) => `${l.atSecondsAfterRamp}: ${l.ms} ${l.kind}`).join(', ') || 'none'}`).join('; ')}`,
    );
    return run;
  } finally {
    await Promise.all(loadgens.map((l) => l.call('rampClose')));
    await child.kill();
  }
}

export interface RampSummary {
  /** per client mode: the main run against the baseline, and frames per login at two room sizes */
  modes: Array<{
    clients: ClientMode;
    watchUnsupported: boolean | null;
    presenceFramesPerLogin: number;
    framesPerLoginAtCompare: number | null;
    /** frames per login at `online` over frames per login at `compare` (the rooms' ratio is online / compare) */
    growth: number | null;
    framesPerLoginVerdict: string;
    p99AfterMs: number;
    p99AfterVsBareWs: number | null;
    p99RampMs: number;
    p99RampVsBareWs: number | null;
    /** null when the runs compared were complete: every login answered, no socket closed by the server */
    incomplete: string | null;
    /** null when there is no baseline, or a run was incomplete (its figures cover fewer sockets) */
    targetP99After: boolean | null;
    serverCpuSeconds: number;
    serverCpuMsPerLogin: number;
  }>;
}

export function summarise(runs: RampRun[], online: number, compare: number): RampSummary {
  const base = runs.find((r) => r.server === 'bare ws' && r.online === online);
  const modes = [...new Set(runs.filter((r) => r.server === 'chat').map((r) => r.clients))];
  return {
    modes: modes.flatMap((clients) => {
      const main = runs.find((r) => r.server === 'chat' && r.clients === clients && r.online === online);
      if (!main) return [];
      const small = runs.find((r) => r.server === 'chat' && r.clients === clients && r.online === compare);
      const growth = small && small.presenceFramesPerLogin > 0 ? main.presenceFramesPerLogin / small.presenceFramesPerLogin : null;
      const sizeRatio = online / compare;
      const verdict =
        growth === null
          ? 'one room size only'
          : growth <= 1.5
            ? `bounded: ${growth.toFixed(2)}x for a ${sizeRatio.toFixed(1)}x larger room`
            : `grows with the room: ${growth.toFixed(2)}x for a ${sizeRatio.toFixed(1)}x larger room`;
      const afterRatio = base && base.latencyMs.after.p99 > 0 ? main.latencyMs.after.p99 / base.latencyMs.after.p99 : null;
      const gaps = [base, main, small].flatMap((r) =>
        r && (r.failed > 0 || r.closedByServer > 0) ? [`${r.server}${r.server === 'chat' ? ` ${r.clients}` : ''} at ${r.online}: ${r.failed} logins failed, ${r.closedByServer} sockets closed by the server`] : [],
      );
      const incomplete = gaps.length ? gaps.join('; ') : null;
      return [
        {
          clients,
          watchUnsupported: main.watch ? main.watch.unsupported : null,
          presenceFramesPerLogin: main.presenceFramesPerLogin,
          framesPerLoginAtCompare: small ? small.presenceFramesPerLogin : null,
          growth,
          framesPerLoginVerdict: verdict,
          p99AfterMs: main.latencyMs.after.p99,
          p99AfterVsBareWs: afterRatio,
          p99RampMs: main.latencyMs.ramp.p99,
          p99RampVsBareWs: base && base.latencyMs.ramp.p99 > 0 ? main.latencyMs.ramp.p99 / base.latencyMs.ramp.p99 : null,
          incomplete,
          targetP99After: afterRatio === null || incomplete ? null : afterRatio <= 1.5,
          serverCpuSeconds: main.serverCpuSeconds.total,
          serverCpuMsPerLogin: main.logins ? (main.serverCpuSeconds.total * 1000) / main.logins : 0,
        },
      ];
    }),
  };
}

const f = (n: number | null | undefined, d = 1) => (n === null || n === undefined ? '—' : n.toFixed(d));

export function renderRamp(report: { runs: RampRun[]; summary: RampSummary; options: { online: number; compare: number } }): string {
  const out: string[] = [];
  out.push('| server | clients | online | logins | frames | presence | presence_batch | message | other | presence frames/login | p99 during ramp ms | p99 after ms | lost after | server CPU s | drain s |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of report.runs) {
    out.push(
      `| ${r.server} | ${r.server === 'chat' ? r.clients : '—'} | ${r.online} | ${r.logins} | ${r.framesTotal} | ${r.byKind.presence} | ${r.byKind.presence_batch} | ${r.byKind.message} | ${r.byKind.other} | ` +
        `${r.server === 'chat' ? f(r.presenceFramesPerLogin) : '—'} | ${f(r.latencyMs.ramp.p99)} | ${f(r.latencyMs.after.p99)} | ${r.lostAfterRamp.deliveriesMissing} of ${r.lostAfterRamp.messages * r.logins} | ${f(r.serverCpuSeconds.total)} | ${f(r.drainSeconds)} |`,
    );
  }
  out.push('');
  for (const m of report.summary.modes) {
    out.push(
      `${m.clients === 'v1' ? 'before (v1 clients)' : 'after (watch clients)'}${m.watchUnsupported ? ' [watch unsupported: the server answered watch with an error]' : ''}: ` +
        `presence frames/login ${f(m.presenceFramesPerLogin)} at ${report.options.online} online, ${f(m.framesPerLoginAtCompare)} at ${report.options.compare} (${m.framesPerLoginVerdict}); ` +
        `p99 after the ramp ${f(m.p99AfterMs)} ms = ${f(m.p99AfterVsBareWs, 2)}x bare ws [${m.targetP99After === null ? (m.incomplete ? 'not comparable' : 'no baseline') : m.targetP99After ? 'met' : 'NOT met'}: <= 1.5x]; ` +
        `p99 during the ramp ${f(m.p99RampMs)} ms = ${f(m.p99RampVsBareWs, 2)}x bare ws; server CPU ${f(m.serverCpuSeconds)} s, ${f(m.serverCpuMsPerLogin, 2)} ms per login` +
        (m.incomplete ? ` [INCOMPLETE: ${m.incomplete}]` : ''),
    );
  }
  return out.join('\n');
}

function machine() {
  const sh = (cmd: string) => {
    try {
      return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    postgres: DB === 'postgres' ? sh('psql --version') : 'PGlite (in the server process)',
    fdLimit: sh('sh -c "ulimit -n"'),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    commit: sh('git rev-parse --short HEAD'),
    pinning,
  };
}

async function main() {
  const started = new Date();
  const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const dataDir = await mkdtemp(join(tmpdir(), 'ww-ramp-'));
  const db = await freshDatabase(dataDir);
  const loadgens: Child[] = [];
  const runs: RampRun[] = [];
  try {
    for (let i = 0; i < PROCS; i++) loadgens.push(await startChild('./loadgen.ts', 1, {}, ['--max-old-space-size=4096']));
    // Users and their sessions, straight into the server's database.
    const tokens = Array.from({ length: USERS }, () => randomBytes(32).toString('base64url'));
    const t0 = Date.now();
    {
      const { child } = await startServer('chat', db, dataDir);
      const seeded = await child.call('seedUsers', { prefix: PREFIX, tokenHashes: tokens.map(hashToken) });
      await child.kill();
      log(`${USERS} users in #general (${seeded.generalMembers} members) with a session each, in ${((Date.now() - t0) / 1000).toFixed(1)} s (${DB})`);
    }
    if (BASELINE) runs.push(await runOne(loadgens, 'bare ws', 'v1', ONLINE, RAMP_S, AFTER_S, tokens, db, dataDir));
    for (const mode of MODES) runs.push(await runOne(loadgens, 'chat', mode, ONLINE, RAMP_S, AFTER_S, tokens, db, dataDir));
    // A smaller room at the same login rate: does frames per login grow with the room?
    if (COMPARE > 0 && COMPARE !== ONLINE) {
      const rampS = Math.max(2, Math.round((RAMP_S * COMPARE) / ONLINE));
      for (const mode of MODES) runs.push(await runOne(loadgens, 'chat', mode, COMPARE, rampS, Math.min(AFTER_S, 5), tokens, db, dataDir));
    }
  } finally {
    for (const l of loadgens) await l.kill();
    if (!args.has('--keep-db')) await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const options = { users: USERS, online: ONLINE, rampSeconds: RAMP_S, afterSeconds: AFTER_S, rate: RATE, senders: SENDERS, watchCount: WATCH_COUNT, compare: COMPARE, procs: PROCS, db: DB, clients: MODES, quick: QUICK };
  const summary = summarise(runs, ONLINE, COMPARE);
  const report = {
    kind: 'ramp',
    startedAt: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    machine: { ...machine(), loadAverageAtStart: loadAtStart },
    options,
    runs,
    summary,
  };
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const label = `${QUICK ? 'quick' : 'full'}-${ONLINE}-${MODES.join('+')}${DB === 'pglite' ? '-pglite' : ''}${args.has('--ramp') ? `-over-${RAMP_S}s` : ''}`;
  const out = args.get('--out') ?? join(dir, `ramp-${started.toISOString().slice(0, 16).replace(/[:T]/g, '-')}-${label}.json`);
  await writeFile(out, JSON.stringify(report, null, 2) + '\n');
  console.log(renderRamp(report));
  console.log(`\nload average ${loadAtStart.join(' ')} at the start, ${report.machine.loadAverage.join(' ')} at the end (a shared machine: compare ratios)`);
  console.log(`results: ${out}  (${report.seconds.toFixed(0)} s)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
  process.exit(0);
}
