// The stylesheet parses cleanly: an unclosed rule (easy to leave behind when two
// changes meet) makes every rule after it nested inside it, which browsers
// apply to the wrong elements, or not at all.
import { readFile } from 'node:fs/promises';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('web/src/styles.css', () => {
  it('has no syntax warnings', async () => {
    const css = await readFile(new URL('../../web/src/styles.css', import.meta.url), 'utf8');
    const result = await esbuild.transform(css, { loader: 'css', logLevel: 'silent' });
    expect(result.warnings.map((w) => `${w.location?.line}: ${w.text}`)).toEqual([]);
  });
});
