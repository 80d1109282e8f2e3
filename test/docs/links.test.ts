// Documentation that cannot rot quietly. Every relative link in the repository's
// Markdown must land on a file of the repository (a link out of it, such as
// ../shared/…, is broken in every clone; so is one to an ignored, generated file),
// and an anchor must name a heading that exists. docs/PROTOCOL.md must show every
// action, auth op, server frame type and error code the code defines: the names are
// read from the source, so a new frame or code fails here until it is documented.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACTIONS, AuthOp } from '../../functions/core/protocol.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROTOCOL_DOC = 'docs/PROTOCOL.md';

/** Files of the repository: tracked, or new and not ignored (so work in progress counts, generated output does not). */
function repositoryFiles(): Set<string> {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  return new Set(out.split('\0').filter((f) => f && existsSync(join(ROOT, f))));
}

/** Markdown with fenced code blocks, inline code and HTML comments neutralised, line count kept. */
function proseOnly(markdown: string): string {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  const kept = lines.map((line) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return '';
    }
    if (marker) {
      fence = marker;
      return '';
    }
    // `[`code`](target)` keeps its link; the code's own text is never a link.
    return line.replace(/(`+)(?:(?!\1).)+?\1/g, 'code');
  });
  return kept.join('\n').replace(/<!--[\s\S]*?-->/g, '');
}

interface Link {
  target: string;
  line: number;
}

/** Inline links and images, reference definitions, and HTML href/src attributes. */
function extractLinks(markdown: string): Link[] {
  const text = proseOnly(markdown);
  const links: Link[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  const patterns = [
    /!?\[(?:[^\]\\]|\\.)*\]\(\s*<([^>]*)>(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g,
    /!?\[(?:[^\]\\]|\\.)*\]\(\s*([^)\s<]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g,
    /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm,
    /<(?:a|img|source)\b[^>]*?\s(?:href|src)\s*=\s*"([^"]*)"/gi,
  ];
  for (const pattern of patterns) {
    for (const m of text.matchAll(pattern)) links.push({ target: m[1]!, line: lineOf(m.index!) });
  }
  return links.sort((a, b) => a.line - b.line);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const lines = markdown.split('\n');
  let fence: string | undefined;
  for (const line of lines) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = heading
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/<[^>]+>/g, '')
        .toLowerCase()
        .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s[^>]*(?:id|name)\s*=\s*"([^"]+)"/gi)) anchors.add(m[1]!);
  }
  return anchors;
}

/** Why a link from `file` is broken, or undefined when it resolves. */
function checkLink(file: string, target: string, files: Set<string>, anchorsOf: (file: string) => Set<string>): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined; // another site, mailto:
  const hash = target.indexOf('#');
  const rawPath = (hash === -1 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
  const fragment = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return 'is not a valid URL';
  }
  const absolute = path === '' ? join(ROOT, file) : path.startsWith('/') ? join(ROOT, path) : resolve(ROOT, dirname(file), path);
  const rel = relative(ROOT, absolute).split('\\').join('/');
  if (rel.startsWith('..') || isAbsolute(rel)) return 'points outside the repository (broken in every clone)';
  const isFile = files.has(rel);
  const isDir = !isFile && [...files].some((f) => rel === '' || f.startsWith(`${rel.replace(/\/$/, '')}/`));
  if (!isFile && !isDir) {
    return existsSync(absolute) ? `names ${rel}, which is ignored by git (not in a clone)` : `names ${rel}, which does not exist`;
  }
  if (fragment && isFile && rel.endsWith('.md') && !anchorsOf(rel).has(fragment.toLowerCase())) {
    return `matches no heading of ${rel}`;
  }
  return undefined;
}

/** Every quoted string `key: v.literal('x')`, `key === 'x'` or `key: 'x'` in the TypeScript under `dir`. */
function namesInSource(dirs: string[], patterns: RegExp[]): Set<string> {
  const names = new Set<string>();
  for (const dir of dirs) {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const source = readFileSync(join(ROOT, dir, entry.name), 'utf8');
      for (const pattern of patterns) for (const m of source.matchAll(pattern)) names.add(m[1]!);
    }
  }
  return names;
}

const FRAME_DIRS = ['functions', 'functions/core'];

/** The protocol's names as the code defines them. */
function protocolNames() {
  const actions = namesInSource(FRAME_DIRS, [/\baction:\s*v\.literal\(\s*'([^']+)'/g, /\baction\s*===\s*'([^']+)'/g]);
  for (const a of ACTIONS) actions.add(a); // the routes, even one whose schema lives elsewhere
  const ops = namesInSource(FRAME_DIRS, [/\bop:\s*v\.literal\(\s*'([^']+)'/g]);
  const types = namesInSource(FRAME_DIRS, [/\btype:\s*'([a-z_]+)'/g]);
  const errors = readFileSync(join(ROOT, 'functions/core/errors.ts'), 'utf8');
  const union = /type ErrorCode\s*=([^;]+);/.exec(errors)?.[1] ?? '';
  const codes = new Set([...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!));
  for (const m of errors.matchAll(/readonly code = '([a-z_]+)'/g)) codes.add(m[1]!);
  for (const m of readFileSync(join(ROOT, 'functions/route.ts'), 'utf8').matchAll(/\bcode:\s*'([a-z_]+)'/g)) codes.add(m[1]!);
  return { actions, ops, types, codes };
}

describe('links in Markdown', () => {
  it('finds every kind of link, and only links outside code', () => {
    const sample = [
      'See [the guide](docs/GUIDE.md#setup) and ![a chart](results/chart.svg "title").',
      '[`code` in text](<path with spaces.md>) and [site](https://example.com).',
      '`[not a link](inline-code.md)`',
      '```',
      '[not a link either](fenced.md)',
      '```',
      '<!-- [hidden](comment.md) -->',
      '[ref]: ../outside.md',
      '<a href="page.md">page</a> <img src="pic.png">',
    ].join('\n');
    expect(extractLinks(sample).map((l) => l.target)).toEqual([
      'docs/GUIDE.md#setup',
      'results/chart.svg',
      'path with spaces.md',
      'https://example.com',
      '../outside.md',
      'page.md',
      'pic.png',
    ]);
    expect(headingAnchors('# Title\n## `auth`: sign in\n## Limits\n## Limits\n```\n# not a heading\n```')).toEqual(
      new Set(['title', 'auth-sign-in', 'limits', 'limits-1']),
    );
  });

  it('refuses a link out of the repository, to a missing file, or to a missing heading', () => {
    const files = new Set(['README.md', 'docs/A.md']);
    const anchors = () => new Set(['setup']);
    expect(checkLink('README.md', '../shared/PROTOCOL.md', files, anchors)).toMatch(/outside the repository/);
    expect(checkLink('README.md', 'docs/MISSING.md', files, anchors)).toMatch(/does not exist/);
    expect(checkLink('README.md', 'docs/A.md#nowhere', files, anchors)).toMatch(/matches no heading/);
    expect(checkLink('docs/A.md', '../README.md', files, anchors)).toBeUndefined();
    expect(checkLink('README.md', 'docs/A.md#setup', files, anchors)).toBeUndefined();
    expect(checkLink('README.md', 'docs/', files, anchors)).toBeUndefined();
    expect(checkLink('README.md', 'mailto:someone@example.com', files, anchors)).toBeUndefined();
  });

  it('every relative link in every Markdown file of the repository resolves', () => {
    const files = repositoryFiles();
    const markdown = [...files].filter((f) => f.endsWith('.md'));
    expect(markdown).toContain('README.md');
    const anchorCache = new Map<string, Set<string>>();
    const anchorsOf = (f: string) => {
      let a = anchorCache.get(f);
      if (!a) anchorCache.set(f, (a = headingAnchors(readFileSync(join(ROOT, f), 'utf8'))));
      return a;
    };
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdown) {
      for (const link of extractLinks(readFileSync(join(ROOT, file), 'utf8'))) {
        checked++;
        const problem = checkLink(file, link.target, files, anchorsOf);
        if (problem) broken.push(`${file}:${link.line}: ${link.target} ${problem}`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });
});

describe(PROTOCOL_DOC, () => {
  // Read even when missing, so each test below fails with its own message.
  const doc = existsSync(join(ROOT, PROTOCOL_DOC)) ? readFileSync(join(ROOT, PROTOCOL_DOC), 'utf8') : '';
  const names = protocolNames();
  /** A JSON example in the document carries `"key":"name"` (spaces allowed). */
  const hasExample = (key: string, name: string) => new RegExp(`"${key}"\\s*:\\s*"${name}"`).test(doc);
  const headings = doc.split('\n').filter((l) => /^#{2,6}\s/.test(l));

  it('is in the repository', () => {
    expect(repositoryFiles()).toContain(PROTOCOL_DOC);
  });

  it('reads the names from the source (so this cannot pass on an empty list)', () => {
    for (const a of [...ACTIONS, 'ping', 'purge']) expect(names.actions).toContain(a);
    for (const o of AuthOp.options.map((o) => o.entries.op.literal)) expect(names.ops).toContain(o);
    for (const t of ['authed', 'sent', 'message', 'presence', 'error', 'pong', 'deleted']) expect(names.types).toContain(t);
    for (const c of ['bad_request', 'too_large', 'rate_limited', 'internal']) expect(names.codes).toContain(c);
  });

  it('gives every action a section and a request example', () => {
    const missing = [...names.actions].filter((a) => !headings.some((h) => h.includes(`\`${a}\``)) || !hasExample('action', a));
    expect(missing).toEqual([]);
  });

  it('shows every auth op', () => {
    expect([...names.ops].filter((o) => !hasExample('op', o) || !headings.some((h) => h.includes(`\`${o}\``)))).toEqual([]);
  });

  it('shows every reply and event the server sends', () => {
    expect([...names.types].filter((t) => !hasExample('type', t))).toEqual([]);
  });

  it('explains every error code, with an example', () => {
    expect([...names.codes].filter((c) => !hasExample('code', c) || !doc.includes(`\`${c}\``))).toEqual([]);
  });
});
