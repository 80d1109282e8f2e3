// An SVG of send→deliver latency (p50 dashed, p99 solid) against the offered load,
// one panel per room size, one colour per server: `tsx bench/plot.ts RESULTS.json [OUT.svg]`.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Row } from './report.js';

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const W = 460;
const H = 300;
const M = { left: 60, right: 16, top: 34, bottom: 44 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function plotLatency(rows: Row[], title: string): string {
  const rated = rows.filter((r) => r.mode === 'rate' && r.rate);
  const sizes = [...new Set(rated.map((r) => r.size))].filter((size) => new Set(rated.filter((r) => r.size === size).map((r) => r.rate)).size >= 1);
  const servers = [...new Set(rows.map((r) => r.server))];
  const ms = rated.flatMap((r) => [r.latencyMs.p50, r.latencyMs.p99]).filter((v) => v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...ms, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...ms, 10))));
  const panels = sizes.map((size, i) => {
    const x0 = i * W;
    const data = rated.filter((r) => r.size === size);
    const rates = [...new Set(data.map((r) => r.rate!))].sort((a, b) => a - b);
    const px = (rate: number) => x0 + M.left + ((W - M.left - M.right) * (rates.indexOf(rate) + 0.5)) / rates.length;
    const py = (v: number) => M.top + (H - M.top - M.bottom) * (1 - (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
    const parts: string[] = [];
    parts.push(`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">room of ${size} connections</text>`);
    for (let d = lo; d <= hi; d *= 10) {
      parts.push(`<line x1="${x0 + M.left}" x2="${x0 + W - M.right}" y1="${py(d)}" y2="${py(d)}" stroke="#ddd"/>`);
      parts.push(`<text x="${x0 + M.left - 6}" y="${py(d) + 4}" text-anchor="end">${d >= 1 ? d : d.toFixed(1)}</text>`);
    }
    for (const rate of rates) parts.push(`<text x="${px(rate)}" y="${H - M.bottom + 16}" text-anchor="middle">${rate}</text>`);
    parts.push(`<text x="${x0 + (M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">messages/s into the room</text>`);
    parts.push(`<text transform="translate(${x0 + 14} ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">send→deliver ms (log)</text>`);
    servers.forEach((server, k) => {
      const pts = rates.map((rate) => data.find((r) => r.server === server && r.rate === rate)).filter((r): r is Row => Boolean(r));
      if (!pts.length) return;
      for (const [pct, dash] of [['p50', '4 3'], ['p99', '']] as const) {
        const path = pts.map((r, j) => `${j ? 'L' : 'M'}${px(r.rate!).toFixed(1)} ${py(r.latencyMs[pct]).toFixed(1)}`).join(' ');
        parts.push(`<path d="${path}" fill="none" stroke="${COLOURS[k % COLOURS.length]}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
        for (const r of pts) parts.push(`<circle cx="${px(r.rate!).toFixed(1)}" cy="${py(r.latencyMs[pct]).toFixed(1)}" r="2.5" fill="${COLOURS[k % COLOURS.length]}"><title>${esc(server)} ${pct} ${r.latencyMs[pct]} ms at ${r.rate} msg/s</title></circle>`);
      }
    });
    return parts.join('\n');
  });
  const width = Math.max(1, sizes.length) * W;
  const legend = servers
    .map((s, k) => `<g transform="translate(${M.left + k * 150} ${H + 14})"><line x1="0" x2="18" y1="0" y2="0" stroke="${COLOURS[k % COLOURS.length]}" stroke-width="3"/><text x="24" y="4">${esc(s)}</text></g>`)
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 50}" viewBox="0 0 ${width} ${H + 50}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<title>${esc(title)}</title>
${panels.join('\n')}
${legend}
<text x="${M.left}" y="${H + 38}" fill="#555">solid: p99, dashed: p50. ${esc(title)}</text>
</svg>
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [input, output] = process.argv.slice(2);
  if (!input) throw new Error('usage: tsx bench/plot.ts RESULTS.json [OUT.svg]');
  const report = JSON.parse(await readFile(input, 'utf8'));
  const out = output ?? input.replace(/\.json$/, '.svg');
  await writeFile(out, plotLatency(report.results, `${report.mode} run, ${report.startedAt.slice(0, 16)} UTC, ${report.machine.cores} cores`));
  console.log(out);
}
