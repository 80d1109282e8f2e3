// The web client's search helpers on their own: a result's snippet around its
// first match, as text and marked segments.
import { describe, expect, it } from 'vitest';
import { snippetSegments } from '../../web/src/search.js';

const render = (segments: { text: string; mark: boolean }[]) => segments.map((s) => (s.mark ? `[${s.text}]` : s.text)).join('');

describe('snippetSegments', () => {
  it('marks the ranges of a short text, whole', () => {
    expect(snippetSegments('deploy the deployment', [[0, 6], [11, 21]])).toEqual([
      { text: 'deploy', mark: true },
      { text: ' the ', mark: false },
      { text: 'deployment', mark: true },
    ]);
    expect(render(snippetSegments('no match here', []))).toBe('no match here');
  });

  it('cuts a long text to a window a little before the first match, with ellipses', () => {
    const text = `${'a'.repeat(300)} needle ${'b'.repeat(300)}`;
    const out = render(snippetSegments(text, [[301, 307]], 100));
    expect(out).toBe(`…${'a'.repeat(59)} [needle] ${'b'.repeat(33)}…`);
  });

  it('never splits an emoji at the window’s edges, and clips ranges to the window', () => {
    const text = `${'😀'.repeat(100)}x`;
    const segments = snippetSegments(text, [[2, 4], [150, 201]], 51);
    for (const s of segments) expect(s.text.isWellFormed()).toBe(true);
    expect(segments.slice(0, 2)).toEqual([
      { text: '😀', mark: false },
      { text: '😀', mark: true },
    ]);
    // the window ends before the emoji it would have split: 25 whole emoji
    expect(render(segments)).toBe(`😀[😀]${'😀'.repeat(23)}…`);
    expect(render(segments).endsWith('…')).toBe(true);
  });
});
