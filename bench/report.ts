// The report: one table, and the targets checked against the baselines of the same run.
export interface Row {
  server: string;
  scenario: string;
  size: number;
  mode: string;
  rate: number | null;
  deliveriesPerSecond: number;
  sendsPerSecond: number;
  lost: number;
  errors: number;
  serverCpuSeconds: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
}

export interface TargetCheck {
  target: string;
  met: boolean | null;
  detail: string;
}

const find = (rows: Row[], server: string, scenario: string) => rows.find((r) => r.server === server && r.scenario === scenario);

export function evaluateTargets(rows: Row[], extras: Record<string, any>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const chats = [...new Set(rows.map((r) => r.server).filter((s) => s.startsWith('chat')))];
  for (const chat of chats) {
    const a = find(rows, chat, 'room 1000, as fast as acks');
    const b = find(rows, 'bare ws', 'room 1000, as fast as acks');
    if (a && b) {
      const ratio = a.deliveriesPerSecond / b.deliveriesPerSecond;
      checks.push({
        target: `${chat}: deliveries/s in the 1000 room, as fast as acks, >= 0.85 x bare ws`,
        met: ratio >= 0.85 && a.lost === 0,
        detail: `${fmt(a.deliveriesPerSecond)} vs ${fmt(b.deliveriesPerSecond)} = ${ratio.toFixed(2)}, lost ${a.lost}`,
      });
    }
    const c = find(rows, chat, 'room 1000, 20 msg/s');
    const d = find(rows, 'bare ws', 'room 1000, 20 msg/s');
    if (c && d) {
      const ratio = c.latencyMs.p99 / d.latencyMs.p99;
      checks.push({
        target: `${chat}: p99 at 1000 members, 20 msg/s <= 50 ms and <= 1.5 x bare ws`,
        met: c.latencyMs.p99 <= 50 && ratio <= 1.5,
        detail: `${c.latencyMs.p99} ms vs ${d.latencyMs.p99} ms = ${ratio.toFixed(2)}`,
      });
    }
    const e = find(rows, chat, 'room 5000, 5 msg/s');
    const f = find(rows, 'bare ws', 'room 5000, 5 msg/s');
    if (e && f) {
      const ratio = e.latencyMs.p99 / f.latencyMs.p99;
      checks.push({
        target: `${chat}: p99 at 5000 connections, 5 msg/s <= 1.5 x bare ws`,
        met: ratio <= 1.5,
        detail: `${e.latencyMs.p99} ms vs ${f.latencyMs.p99} ms = ${ratio.toFixed(2)}`,
      });
    }
    const ramp = extras[chat]?.ramp;
    if (ramp) {
      checks.push({
        target: `${chat}: 15000 authenticated connections in one process`,
        met: ramp.alive >= 15000,
        detail: `${ramp.connections} opened, ${ramp.alive} answering a ping, server RSS ${ramp.serverRssMB} MB`,
      });
    }
  }
  return checks;
}

function fmt(n: number): string {
  return n >= 10000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(n >= 100 ? 0 : 1);
}

export function renderTable(report: { results: Row[]; targets: TargetCheck[]; extras: Record<string, any>; machine: any }): string {
  const rows = report.results;
  const head = ['scenario', 'server', 'sends/s', 'deliveries/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'lost', 'vs bare ws', 'server CPU µs/delivery'];
  const lines: string[][] = [];
  for (const r of rows) {
    const base = find(rows, 'bare ws', r.scenario);
    const vs =
      r.server === 'bare ws' || !base
        ? ''
        : r.mode === 'acks'
          ? `${(r.deliveriesPerSecond / base.deliveriesPerSecond).toFixed(2)}x deliveries`
          : `${(r.latencyMs.p99 / base.latencyMs.p99).toFixed(2)}x p99`;
    lines.push([
      r.scenario,
      r.server,
      fmt(r.sendsPerSecond),
      fmt(r.deliveriesPerSecond),
      r.latencyMs.p50.toFixed(2),
      r.latencyMs.p99.toFixed(2),
      r.latencyMs.p999.toFixed(2),
      String(r.lost + (r.errors ? ` (+${r.errors} err)` : '')),
      vs,
      ((r.serverCpuSeconds * 1e6) / Math.max(1, (r as any).deliveries)).toFixed(2),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const out = [row(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(row)];
  for (const [server, x] of Object.entries(report.extras)) {
    const parts: string[] = [];
    if (x.signupsPerSecond) parts.push(`sign-ups ${x.signupsPerSecond.toFixed(0)}/s`);
    if (x.loginsPerSecond) parts.push(`logins ${x.loginsPerSecond.toFixed(0)}/s`);
    if (x.dmStorm) parts.push(`DM storm ${x.dmStorm.messagesPerSecond.toFixed(0)} msg/s (${x.dmStorm.pairs} pairs) p99 ${x.dmStorm.latencyMs.p99} ms, lost ${x.dmStorm.lost}`);
    if (x.history) parts.push(`history (1M messages) p50/p99: before ${x.history.before.p50}/${x.history.before.p99} ms, after ${x.history.after.p50}/${x.history.after.p99} ms, latest ${x.history.latest.p50}/${x.history.latest.p99} ms`);
    if (x.ramp) parts.push(`ramp ${x.ramp.alive}/${x.ramp.connections} authenticated connections alive, server RSS ${x.ramp.serverRssMB} MB${x.ramp.failed ? ` (stopped: ${x.ramp.failed})` : ''}`);
    if (parts.length) out.push('', `${server}: ${parts.join('; ')}`);
  }
  out.push('', 'targets:');
  for (const t of report.targets) out.push(`  [${t.met ? 'met' : 'NOT met'}] ${t.target}: ${t.detail}`);
  out.push('', `machine: ${report.machine.cpu}, ${report.machine.cores} cores, node ${report.machine.node}, ${report.machine.pinning}`);
  return out.join('\n');
}
