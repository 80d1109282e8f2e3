// What the AWS stack costs a month for 1,000 / 10,000 / 100,000 monthly active
// people, before (presence to every online member, every broadcast posted by the
// function that makes it) and after (presence to watchers only, large broadcasts
// through the SQS fan-out workers). `npm run cost` prints the tables as
// markdown; `npm run cost -- --write` puts them into docs/DEPLOY.md between the
// cost-model markers, and test/docs/cost-model.test.ts fails when the two differ.
//
// The per-event counts come from the benches' results in bench/results:
// presence frames per login from the login ramp (bench/ramp.ts, ramp-*.json),
// and per message, for rooms of each size, the PostToConnection calls, the time
// the sending function spends posting (or queueing), the queue messages, and the
// worker invocations and their time (bench/fanout.ts, *-fanout-isolated.json).
// Everything else is a stated assumption (ASSUMPTIONS) or a list price (PRICES).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FANOUT } from '../infra/fanout.js';

// ---------------------------------------------------------------- prices and assumptions

/**
 * us-east-1 list prices (no free tier, no savings plans), as recorded on
 * `readOn`: written down here, not fetched by the script, so check AWS's pricing
 * pages before relying on them.
 */
export const PRICES = {
  readOn: '2026-12-01',
  apiGatewayMessagesPerMillion: 1.0,
  /** past the first billion messages in a month */
  apiGatewayMessagesPerMillionOver1B: 0.8,
  apiGatewayConnectionMinutesPerMillion: 0.25,
  lambdaRequestsPerMillion: 0.2,
  /** arm64, the first 7.5 billion GB-seconds a month */
  lambdaGbSecond: 0.0000133334,
  /** standard queue; each 64 KB of a request's payload is one request */
  sqsRequestsPerMillion: 0.4,
  natGatewayHour: 0.045,
  natGatewayGb: 0.045,
  publicIpv4Hour: 0.005,
  /** RDS for PostgreSQL, single-AZ, on demand */
  rdsInstanceHour: { 'db.t4g.micro': 0.016, 'db.t4g.small': 0.032, 'db.m7g.large': 0.168 } as Record<string, number>,
  rdsVcpus: { 'db.t4g.micro': 2, 'db.t4g.small': 2, 'db.m7g.large': 2 } as Record<string, number>,
  /** RDS Proxy, per vCPU of the instance behind it, at least 2 */
  rdsProxyVcpuHour: 0.015,
  rdsStorageGbMonth: 0.115,
  dataTransferOutGb: 0.09,
} as const;

export const HOURS_PER_MONTH = 730;
export const DAYS_PER_MONTH = 30;
export const SWEEPS_PER_MONTH = 43_800; // every minute (infra/stack.ts)
/** Lambda's SQS pollers on the fan-out queue when it is empty (docs/DEPLOY.md, idle costs) */
export const IDLE_QUEUE_RECEIVES_PER_MONTH = 700_000;

export interface Assumptions {
  mau: number;
  /** share of the monthly active people active on a given day */
  dailyActiveShare: number;
  messagesPerPersonPerDay: number;
  /** where messages are sent: #general (everyone is a member), small rooms, DMs; sums to 1 */
  share: { general: number; small: number; dm: number };
  smallRoomMembers: number;
  /** logins (a connection opened and resumed) per active person a day; each ends with the person going offline */
  loginsPerPersonPerDay: number;
  /** open connections per person while online (a tab and a phone) */
  connectionsPerPerson: number;
  /** hours a day an active person is online */
  connectionHoursPerDay: number;
  /** after: people told of one person's presence, at most (until a watch-mode ramp measures it) */
  watchersPerPerson: number;
  dbInstance: string;
  /** the route functions' memory (512 MB; infra/function.ts) */
  functionGb: number;
  /** auth's (1024 MB; infra/stack.ts) */
  authGb: number;
  /** a send's own work before its fan-out (the statement and the reply) */
  sendBaseMs: number;
  /** a resume's own work before its presence fan-out */
  authBaseMs: number;
  sweepMs: number;
  /** bytes through the NAT gateway per post (the signed HTTPS request and its answer) */
  natBytesPerPost: number;
  /** bytes out to the client per post */
  outBytesPerPost: number;
  /** bytes through the NAT gateway per queue message, sent and received */
  natBytesPerBatch: number;
}

const BASE: Omit<Assumptions, 'mau' | 'dbInstance'> = {
  dailyActiveShare: 0.5,
  messagesPerPersonPerDay: 20,
  share: { general: 0.2, small: 0.5, dm: 0.3 },
  smallRoomMembers: 12,
  loginsPerPersonPerDay: 3,
  connectionsPerPerson: 1.3,
  connectionHoursPerDay: 2,
  watchersPerPerson: 20,
  functionGb: 0.5,
  authGb: 1,
  sendBaseMs: 30,
  authBaseMs: 60,
  sweepMs: 200,
  natBytesPerPost: 1500,
  outBytesPerPost: 350,
  natBytesPerBatch: 2 * 3000,
};

export const ASSUMPTIONS: Assumptions[] = [
  { ...BASE, mau: 1_000, dbInstance: 'db.t4g.micro' },
  { ...BASE, mau: 10_000, dbInstance: 'db.t4g.small' },
  { ...BASE, mau: 100_000, dbInstance: 'db.m7g.large' },
];

// ---------------------------------------------------------------- inputs from the benches

/** One room size's per-message counts from bench/fanout.ts (a results row). */
export interface FanoutPoint {
  size: number;
  postsPerMessage: number;
  producerMsPerMessage: number;
  batchesPerMessage: number;
  workerInvocationsPerMessage: number;
  workerMsPerMessage: number;
}

export interface BenchInputs {
  /** presence frames per login with `online` logins in a ramp, v1 clients (each login is heard by those already online) */
  v1: { file: string; online: number; framesPerLogin: number };
  /** measured in watch mode, when the server supports it */
  watch: { file: string; online: number; framesPerLogin: number } | null;
  fanout: { file: string; direct: FanoutPoint[]; queued: FanoutPoint[] };
}

const RESULTS = fileURLToPath(new URL('../bench/results/', import.meta.url));

/** The newest results (by file name: they start with the date) that hold what the model needs. */
export function readBenchInputs(dir = RESULTS): BenchInputs {
  const files = readdirSync(dir).sort().reverse();
  const json = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  let v1: BenchInputs['v1'] | undefined;
  let watch: BenchInputs['watch'] = null;
  for (const f of files.filter((x) => /^ramp-.*\.json$/.test(x))) {
    type Run = { server: string; clients: string; online: number; logins: number; failed: number; presenceFramesPerLogin: number; watch: { unsupported: boolean } | null };
    const file = json(f);
    // The reference is PostgreSQL, as on AWS; the embedded database's runs measure the local server's capacity.
    if (file.options?.db === 'pglite') continue;
    const runs = (file.runs ?? []) as Run[];
    // The largest room where (almost) every login succeeded, else the largest: n is the logins that did.
    const shaky = (r: Run) => Number(r.failed > r.online / 100);
    const largest = (mode: string) =>
      runs
        .filter((r) => r.server === 'chat' && r.clients === mode && (mode === 'v1' || (r.watch && !r.watch.unsupported)))
        .sort((a, b) => shaky(a) - shaky(b) || b.online - a.online)[0];
    // Before: a server without presence subscriptions, which refused the ramp's
    // `watch` (a newer server sends v1 clients no presence in a room this big).
    const before = runs.some((r) => r.watch?.unsupported);
    const a = before ? largest('v1') : undefined;
    if (!v1 && a) v1 = { file: f, online: a.logins, framesPerLogin: a.presenceFramesPerLogin };
    const b = largest('watch');
    if (!watch && b) watch = { file: f, online: b.logins, framesPerLogin: b.presenceFramesPerLogin };
  }
  let fanout: BenchInputs['fanout'] | undefined;
  for (const f of files.filter((x) => /fanout-isolated.*\.json$/.test(x))) {
    const rows = (json(f).results ?? []) as Array<FanoutPoint & { mode: string }>;
    if (!rows.some((r) => r.postsPerMessage !== undefined)) continue;
    const pick = (mode: string) => rows.filter((r) => r.mode === mode).map(({ mode: _m, ...p }) => p as FanoutPoint).sort((a, b) => a.size - b.size);
    fanout = { file: f, direct: pick('direct'), queued: pick('queued') };
    break;
  }
  if (!v1) throw new Error('no ramp results with a v1 chat run in bench/results (npm run bench:ramp)');
  if (!fanout) throw new Error('no fan-out results with per-message counts in bench/results (npm run bench:fanout -- --isolated)');
  return { v1, watch, fanout };
}

/** Linear between the measured sizes (and from 0 at 0), proportional past the largest. */
export function interpolate(points: FanoutPoint[], size: number, field: keyof FanoutPoint): number {
  const pts = [{ size: 0, value: 0 }, ...points.map((p) => ({ size: p.size, value: p[field] }))];
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (size <= b.size) return a.value + ((b.value - a.value) * (size - a.size)) / (b.size - a.size);
  }
  const last = pts[pts.length - 1]!;
  return (last.value * size) / last.size;
}

// ---------------------------------------------------------------- the model

export type Variant = 'before' | 'after';

export interface Line {
  item: string;
  quantity: string;
  dollars: number;
}

export interface Month {
  assumptions: Assumptions;
  concurrentConnections: number;
  lines: Record<Variant, Line[]>;
  total: Record<Variant, number>;
}

/** The cost of `messages` API Gateway messages in a month, with the tier past a billion. */
export function apiGatewayMessagesCost(messages: number): number {
  const first = Math.min(messages, 1e9);
  return (first / 1e6) * PRICES.apiGatewayMessagesPerMillion + (Math.max(0, messages - 1e9) / 1e6) * PRICES.apiGatewayMessagesPerMillionOver1B;
}

/** SQS requests for one queued broadcast of `batches` queue messages: SendMessageBatch (10 a call), and Lambda's receive and delete (FANOUT.batchSize a call each). */
export function sqsRequestsPerBroadcast(batches: number): number {
  return Math.ceil(batches / 10) + 2 * Math.ceil(batches / FANOUT.batchSize);
}

/** Connections of a room's members online at a moment, the sender's included. */
export function recipients(a: Assumptions, members: number): number {
  const online = a.dailyActiveShare * (a.connectionHoursPerDay / 24);
  return a.connectionsPerPerson * (1 + (members - 1) * online);
}

export function concurrentConnections(a: Assumptions): number {
  return a.mau * a.dailyActiveShare * (a.connectionHoursPerDay / 24) * a.connectionsPerPerson;
}

/**
 * Presence frames per login event, before: a ramp's n-th login is heard by the
 * n − 1 online before it, (n − 1)/2 on average, so the bench's frames per login
 * over (n − 1)/2 is the share of the online members' connections one event
 * reaches (above 1 when logins overlap, each hearing of the other); in #general
 * that is everyone online.
 */
export function presencePerEventBefore(a: Assumptions, bench: BenchInputs): number {
  const reach = bench.v1.framesPerLogin / ((bench.v1.online - 1) / 2);
  return reach * concurrentConnections(a);
}

/** After: the measured frames per login in watch mode, or the assumption (every watcher told, one connection each). */
export function presencePerEventAfter(a: Assumptions, bench: BenchInputs): number {
  return bench.watch ? bench.watch.framesPerLogin : a.watchersPerPerson;
}

interface Broadcasts {
  /** how many a month */
  count: number;
  /** PostToConnection calls each */
  posts: number;
  /** Lambda invocation the broadcast runs in: `send`'s or auth's/disconnect's */
  baseMs: number;
  gb: number;
}

export function month(a: Assumptions, bench: BenchInputs): Month {
  const activeDays = a.mau * a.dailyActiveShare * DAYS_PER_MONTH;
  const messages = activeDays * a.messagesPerPersonPerDay;
  const logins = activeDays * a.loginsPerPersonPerDay;
  const connectionMinutes = activeDays * a.connectionHoursPerDay * 60 * a.connectionsPerPerson;
  const everyone = concurrentConnections(a);
  // Each send: the `sent` reply and `message` to every member connection online.
  const sends = (share: number, conns: number): Broadcasts => ({ count: messages * share, posts: conns + 1, baseMs: a.sendBaseMs, gb: a.functionGb });
  const messageBroadcasts = [
    sends(a.share.general, everyone),
    sends(a.share.small, recipients(a, a.smallRoomMembers)),
    sends(a.share.dm, recipients(a, 2)),
  ];
  const { direct, queued } = bench.fanout;
  const lines = {} as Record<Variant, Line[]>;
  const total = {} as Record<Variant, number>;
  for (const variant of ['before', 'after'] as Variant[]) {
    // Online and offline: two presence broadcasts per login, from auth and from $disconnect.
    const presencePosts = variant === 'before' ? presencePerEventBefore(a, bench) : presencePerEventAfter(a, bench);
    const all: Broadcasts[] = [...messageBroadcasts, { count: 2 * logins, posts: presencePosts, baseMs: a.authBaseMs, gb: a.authGb }];
    let posts = 0;
    let invocations = SWEEPS_PER_MONTH;
    let gbSeconds = (SWEEPS_PER_MONTH * a.sweepMs * a.functionGb) / 1000;
    let workerInvocations = 0;
    let workerGbSeconds = 0;
    let sqsRequests = variant === 'after' ? IDLE_QUEUE_RECEIVES_PER_MONTH : 0;
    let batches = 0;
    for (const b of all) {
      posts += b.count * b.posts;
      invocations += b.count;
      const viaQueue = variant === 'after' && b.posts > FANOUT.directMax;
      const postingMs = viaQueue ? interpolate(queued, b.posts, 'producerMsPerMessage') : interpolate(direct, b.posts, 'producerMsPerMessage');
      gbSeconds += (b.count * (b.baseMs + postingMs) * b.gb) / 1000;
      if (viaQueue) {
        const n = interpolate(queued, b.posts, 'batchesPerMessage');
        batches += b.count * n;
        sqsRequests += b.count * sqsRequestsPerBroadcast(Math.ceil(n));
        workerInvocations += b.count * interpolate(queued, b.posts, 'workerInvocationsPerMessage');
        workerGbSeconds += (b.count * interpolate(queued, b.posts, 'workerMsPerMessage') * a.functionGb) / 1000;
      }
    }
    // Every request in: a send or a resume each; API Gateway bills messages both ways.
    const apiMessages = posts + messages + logins;
    const lambdaInvocations = invocations + workerInvocations;
    const lambdaGbSeconds = gbSeconds + workerGbSeconds;
    const natGb = (posts * a.natBytesPerPost + batches * a.natBytesPerBatch) / 1e9;
    const outGb = (posts * a.outBytesPerPost) / 1e9;
    const vcpus = PRICES.rdsVcpus[a.dbInstance] ?? 2;
    const l: Line[] = [
      { item: 'PostToConnection calls', quantity: count(posts), dollars: 0 },
      { item: 'API Gateway messages (calls + requests in)', quantity: count(apiMessages), dollars: apiGatewayMessagesCost(apiMessages) },
      { item: 'API Gateway connection minutes', quantity: count(connectionMinutes), dollars: (connectionMinutes / 1e6) * PRICES.apiGatewayConnectionMinutesPerMillion },
      { item: 'Lambda invocations (send, auth, $disconnect, sweep, fan-out workers)', quantity: `${count(lambdaInvocations)} (workers ${count(workerInvocations)})`, dollars: (lambdaInvocations / 1e6) * PRICES.lambdaRequestsPerMillion },
      { item: 'Lambda GB-seconds', quantity: `${count(lambdaGbSeconds)} (workers ${count(workerGbSeconds)})`, dollars: lambdaGbSeconds * PRICES.lambdaGbSecond },
      { item: 'SQS requests', quantity: count(sqsRequests), dollars: (sqsRequests / 1e6) * PRICES.sqsRequestsPerMillion },
      {
        item: `RDS ${a.dbInstance} + RDS Proxy (${Math.max(2, vcpus)} vCPU) + 20 GB`,
        quantity: `${HOURS_PER_MONTH} h`,
        dollars: HOURS_PER_MONTH * ((PRICES.rdsInstanceHour[a.dbInstance] ?? 0) + Math.max(2, vcpus) * PRICES.rdsProxyVcpuHour) + 20 * PRICES.rdsStorageGbMonth,
      },
      { item: 'NAT gateway: hours and its IPv4 address', quantity: `${HOURS_PER_MONTH} h`, dollars: HOURS_PER_MONTH * (PRICES.natGatewayHour + PRICES.publicIpv4Hour) },
      { item: 'NAT gateway: data processed', quantity: `${count(natGb)} GB`, dollars: natGb * PRICES.natGatewayGb },
      { item: 'Data transfer out to clients', quantity: `${count(outGb)} GB`, dollars: outGb * PRICES.dataTransferOutGb },
    ];
    lines[variant] = l;
    total[variant] = l.reduce((s, x) => s + x.dollars, 0);
  }
  return { assumptions: a, concurrentConnections: everyone, lines, total };
}

// ---------------------------------------------------------------- rendering

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** 1,234 / 12.3 k / 4.56 M / 1.23 B: three significant figures past a thousand. */
export function count(n: number): string {
  if (n < 1000) return String(round(n, n < 10 ? 1 : 0));
  const [d, unit] = n >= 1e9 ? [1e9, 'B'] : n >= 1e6 ? [1e6, 'M'] : [1e3, 'k'];
  const v = n / d;
  return `${v >= 100 ? round(v, 0) : v >= 10 ? round(v, 1) : round(v, 2)} ${unit}`;
}

function dollars(n: number): string {
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export const START = '<!-- cost-model:start (generated by `npm run cost -- --write`; test/docs/cost-model.test.ts checks it) -->';
export const END = '<!-- cost-model:end -->';

export function renderModel(bench: BenchInputs, tiers: Assumptions[] = ASSUMPTIONS): string {
  const out: string[] = [];
  const a0 = tiers[0]!;
  out.push('**Assumptions** (the same for every size but the database):', '');
  out.push('| | |', '|---|---|');
  out.push(`| active on a given day | ${a0.dailyActiveShare * 100}% of the monthly active people |`);
  out.push(`| messages per active person a day | ${a0.messagesPerPersonPerDay}: ${a0.share.general * 100}% in #general (everyone is a member), ${a0.share.small * 100}% in rooms of ${a0.smallRoomMembers}, ${a0.share.dm * 100}% in DMs |`);
  out.push(`| logins per active person a day | ${a0.loginsPerPersonPerDay}, each followed by going offline (two presence broadcasts) |`);
  out.push(`| online | ${a0.connectionHoursPerDay} h a day, ${a0.connectionsPerPerson} connections while online |`);
  out.push(`| after: presence | to at most ${a0.watchersPerPerson} watchers a person${bench.watch ? ' (replaced by the measurement below)' : ' (an assumption until a watch-mode ramp measures it)'} |`);
  out.push(`| Lambda | arm64, ${a0.functionGb * 1024} MB (auth ${a0.authGb * 1024} MB); a send's own work ${a0.sendBaseMs} ms, a resume's ${a0.authBaseMs} ms, a sweep ${a0.sweepMs} ms, each plus its posting time as measured |`);
  out.push(`| bytes | ${a0.natBytesPerPost} B through the NAT per post, ${a0.outBytesPerPost} B out per post, ${a0.natBytesPerBatch} B through the NAT per queue message |`);
  out.push(`| month | ${DAYS_PER_MONTH} days, ${HOURS_PER_MONTH} hours; the sweep runs every minute (${count(SWEEPS_PER_MONTH)} times) |`);
  out.push('');
  out.push('**Measured inputs** (bench/results):', '');
  const reach = bench.v1.framesPerLogin / ((bench.v1.online - 1) / 2);
  out.push(`- before, presence: ${round(bench.v1.framesPerLogin, 1)} frames per login with ${bench.v1.online} coming online (\`${bench.v1.file}\`): each event reaches ${round(reach, 2)}× the connections online.`);
  out.push(
    bench.watch
      ? `- after, presence: ${round(bench.watch.framesPerLogin, 1)} frames per login in watch mode (\`${bench.watch.file}\`).`
      : `- after, presence: no watch-mode ramp yet (the server answered \`watch\` with an error), so the assumption of ${a0.watchersPerPerson} frames per event stands; a ramp in watch mode replaces it.`,
  );
  const pt = (p: FanoutPoint) => `${p.size}: ${p.producerMsPerMessage} ms`;
  out.push(`- posting directly, the sending function's time per message by room size (\`${bench.fanout.file}\`): ${bench.fanout.direct.map(pt).join(', ')}.`);
  out.push(
    `- through the queue: ${bench.fanout.queued
      .map((p) => `${p.size}: ${p.producerMsPerMessage} ms to queue, ${round(p.batchesPerMessage, 1)} batches, ${round(p.workerInvocationsPerMessage, 1)} worker invocations, ${p.workerMsPerMessage} ms of worker time`)
      .join('; ')}. Between sizes the model interpolates linearly; past the largest, in proportion.`,
  );
  out.push('');
  for (const a of tiers) {
    const m = month(a, bench);
    out.push(`**${a.mau.toLocaleString('en-US')} monthly active people** (${count(m.concurrentConnections)} connections online at a time on average):`, '');
    out.push('| per month | before: quantity | before | after: quantity | after |', '|---|---|---:|---|---:|');
    m.lines.before.forEach((b, i) => {
      const f = m.lines.after[i]!;
      out.push(`| ${b.item} | ${b.quantity} | ${b.item === 'PostToConnection calls' ? '(in the next row)' : dollars(b.dollars)} | ${f.quantity} | ${f.item === 'PostToConnection calls' ? '(in the next row)' : dollars(f.dollars)} |`);
    });
    out.push(`| **total** | | **${dollars(m.total.before)}** | | **${dollars(m.total.after)}** |`, '');
  }
  out.push(`**Unit prices** (us-east-1 list prices as recorded on ${PRICES.readOn}, written into the script rather than fetched: no free tier, no savings plans; check AWS's pricing pages before relying on them):`, '');
  out.push('| item | price |', '|---|---|');
  out.push(`| API Gateway WebSocket messages | $${PRICES.apiGatewayMessagesPerMillion.toFixed(2)} per million (first billion a month), $${PRICES.apiGatewayMessagesPerMillionOver1B.toFixed(2)} past it |`);
  out.push(`| API Gateway connection minutes | $${PRICES.apiGatewayConnectionMinutesPerMillion.toFixed(2)} per million |`);
  out.push(`| Lambda requests | $${PRICES.lambdaRequestsPerMillion.toFixed(2)} per million |`);
  out.push(`| Lambda duration, arm64 | $${PRICES.lambdaGbSecond} per GB-second |`);
  out.push(`| SQS standard requests (64 KB each) | $${PRICES.sqsRequestsPerMillion.toFixed(2)} per million |`);
  out.push(`| NAT gateway | $${PRICES.natGatewayHour} per hour + $${PRICES.natGatewayGb} per GB processed |`);
  out.push(`| public IPv4 address | $${PRICES.publicIpv4Hour} per hour |`);
  for (const [k, v] of Object.entries(PRICES.rdsInstanceHour)) out.push(`| RDS for PostgreSQL ${k}, single-AZ | $${v} per hour |`);
  out.push(`| RDS Proxy | $${PRICES.rdsProxyVcpuHour} per vCPU-hour of the instance, 2 vCPU at least |`);
  out.push(`| RDS storage, gp2 | $${PRICES.rdsStorageGbMonth} per GB-month |`);
  out.push(`| data transfer out | $${PRICES.dataTransferOutGb} per GB |`);
  return out.join('\n');
}

/** The generated block as it sits in docs/DEPLOY.md, markers included. */
export function docBlock(bench: BenchInputs): string {
  return `${START}\n${renderModel(bench)}\n${END}`;
}

export const DEPLOY_MD = fileURLToPath(new URL('../docs/DEPLOY.md', import.meta.url));

/** The block now in docs/DEPLOY.md, or undefined when the markers are missing. */
export function currentBlock(doc: string): string | undefined {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  return a < 0 || b < a ? undefined : doc.slice(a, b + END.length);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bench = readBenchInputs();
  if (process.argv.includes('--write')) {
    const doc = readFileSync(DEPLOY_MD, 'utf8');
    const now = currentBlock(doc);
    if (!now) throw new Error(`docs/DEPLOY.md has no cost-model markers (${START} … ${END})`);
    writeFileSync(DEPLOY_MD, doc.replace(now, docBlock(bench)));
    console.error('docs/DEPLOY.md: the cost tables are up to date');
  } else {
    console.log(renderModel(bench));
  }
}
