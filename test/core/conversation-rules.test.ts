// The pure rules under conversations: what one emoji is, who a text mentions, and
// the snippet a reply shows (which the SQL that reads replies must agree with).
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EMOJI_BYTES, checkEmoji, normalizeEmoji } from '../../functions/core/emoji.js';
import { parseMentions, replySnippet } from '../../functions/core/mentions.js';
import { replySnippetSql } from '../../functions/core/messages.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const require = createRequire(import.meta.url);
/** Every emoji the web client's picker offers, skin tones included (emojibase's data). */
function pickerEmoji(): string[] {
  const data = require('emoji-picker-element-data/en/emojibase/data.json') as Array<{ emoji: string; skins?: Array<{ emoji: string }> }>;
  return data.flatMap((d) => [d.emoji, ...(d.skins ?? []).map((s) => s.emoji)]);
}

/** One RGI emoji, by the runtime's Unicode data (a property of strings, the `v` flag). */
const RGI = new RegExp('^\\p{RGI_Emoji}$', 'v');
const bytes = (s: string) => Buffer.byteLength(s);

describe('one emoji', () => {
  it('takes every emoji of the picker that fits 32 bytes, as the RGI fully-qualified form', () => {
    const all = pickerEmoji();
    expect(all.length).toBeGreaterThan(3500);
    let taken = 0;
    for (const e of all) {
      // the skin-tone swatches on their own are components, not emoji to react with
      if (/^\p{Emoji_Modifier}$/u.test(e)) continue;
      const n = normalizeEmoji(e);
      if (bytes(e) > MAX_EMOJI_BYTES) {
        expect(n, e).toBeUndefined();
        continue;
      }
      expect(n, e).toBeDefined();
      expect(RGI.test(n!), e).toBe(true);
      taken++;
    }
    expect(taken).toBeGreaterThan(3500);
  });

  it('stores one picture as one reaction: text-style characters get VS16, emoji-style ones lose it', () => {
    expect(normalizeEmoji('❤')).toBe('❤️');
    expect(normalizeEmoji('❤️')).toBe('❤️');
    expect(normalizeEmoji('👍\uFE0F')).toBe('👍');
    expect(normalizeEmoji('1\u20E3')).toBe('1️⃣');
    expect(normalizeEmoji('🏳\u200D🌈')).toBe('🏳️‍🌈');
    expect(normalizeEmoji('©')).toBe('©️');
  });

  it('takes flags, subdivision flags, keycaps, skin tones and ZWJ sequences', () => {
    for (const e of ['🇫🇷', '🇪🇺', '🇺🇳', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '🏴󠁧󠁢󠁷󠁬󠁳󠁿', '#️⃣', '*️⃣', '0️⃣', '👍🏿', '🧑🏽‍💻', '👨‍👩‍👧‍👦', '🏳️‍⚧️', '❤️‍🔥', '🐦‍🔥', '🧑🏻‍🤝‍🧑🏿', '👁️‍🗨️']) {
      expect(normalizeEmoji(e), e).toBe(e);
    }
  });

  it('refuses text, several emoji, halves of sequences, stray joiners and selectors, and unassigned code points', () => {
    for (const s of [
      '',
      'ok',
      'a',
      '1',
      '#',
      ' 👍',
      '👍 ',
      '👍👍',
      '🇫🇷🇫🇷',
      '🇦',
      '🇦🇦', // two regional indicators that are no flag
      '🏴󠁧󠁢󠁡󠁡󠁿', // a tag sequence that is no RGI flag
      '\u{1F3F4}\u{E007F}',
      '\u{E0067}\u{E0062}',
      '\u200D',
      '👍\u200D',
      '\u200D👍',
      '👍\u200D\u200D👍',
      '\uFE0F',
      '👍\uFE0E',
      '❤🏽', // a skin tone on what takes none
      '👍🏽\uFE0F',
      '🏻',
      '\u{1FAFF}', // unassigned
      '\u{1F568}', // a pictograph that is not an emoji
      '\uD83D', // half a surrogate pair
      '<script>',
      'x'.repeat(100),
    ]) {
      expect(checkEmoji(s), JSON.stringify(s)).toEqual({ problem: 'That is not an emoji.' });
    }
  });

  it('refuses an emoji over 32 bytes with its own sentence', () => {
    expect(checkEmoji('👩🏻‍❤️‍💋‍👨🏼')).toEqual({ problem: 'A reaction is at most 32 bytes; that emoji takes 35.' });
  });

  it('never lets through anything but a short run of emoji parts (fuzzed)', () => {
    const part = fc.constantFrom('👍', '❤', '\uFE0F', '\u200D', '🏽', '🇫', '🇷', '1', '\u20E3', 'a', ' ', '\u{E0067}', '\u{E007F}', '🏴', '\uFE0E');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.array(part, { maxLength: 8 }).map((p) => p.join(''))), (s) => {
        const n = normalizeEmoji(s);
        if (n === undefined) return;
        expect(bytes(n)).toBeLessThanOrEqual(MAX_EMOJI_BYTES);
        expect(n).not.toMatch(/[\p{L}\s\uFE0E]/u);
        if (/\p{N}/u.test(n)) expect(n).toMatch(/^[0-9]\uFE0F\u20E3$/u); // a digit only as a keycap
        expect(normalizeEmoji(n)).toBe(n); // stable
        // without a joiner it is one RGI emoji; a ZWJ sequence is judged by its structure
        if (!n.includes('\u200D')) expect(RGI.test(n), JSON.stringify(n)).toBe(true);
      }),
      { numRuns: 5000, seed: 11 },
    );
  });
});

describe('mentions', () => {
  it('finds @names in the order of the text, each once, lower-cased, but not inside addresses or words', () => {
    expect(parseMentions('@Bob and @carol, then @bob again; mail dave@example.com, x@eve').names).toEqual(['bob', 'carol']);
    expect(parseMentions('(@ann) [@ben] "@cid" @dee: @eve!').names).toEqual(['ann', 'ben', 'cid', 'dee', 'eve']);
    expect(parseMentions('@bobé @b @@bob').names).toEqual([]);
  });

  it('takes a name at the end of a sentence with its dot and without', () => {
    expect(parseMentions('thanks @bob.').names).toEqual(['bob.', 'bob']);
    expect(parseMentions('@first.last is here').names).toEqual(['first.last']);
  });

  it('sees @here, which is nobody’s name', () => {
    expect(parseMentions('@here look')).toEqual({ names: [], here: true });
    expect(parseMentions('@HERE.')).toEqual({ names: [], here: true });
    expect(parseMentions('@hereford')).toEqual({ names: ['hereford'], here: false });
    expect(parseMentions('me@here')).toEqual({ names: [], here: false });
  });

  it('keeps 1000 mentions cheap to parse', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `@u${String(i).padStart(3, '0')}`).join(' ');
    const started = performance.now();
    expect(parseMentions(text).names).toHaveLength(1000);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('reply snippets', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.close());

  it('is the first line, at most 100 code points', () => {
    expect(replySnippet('one\ntwo')).toBe('one');
    expect(replySnippet('one\r\ntwo')).toBe('one');
    expect(replySnippet('🦊'.repeat(150))).toBe('🦊'.repeat(100));
  });

  it('agrees with the SQL that reads replies, for any text', async () => {
    const samples = fc.sample(fc.string({ unit: 'grapheme', maxLength: 300 }).map((s) => s.replace(/\0/g, '')), { numRuns: 200, seed: 3 });
    samples.push('a\rb', '\n', `${'é'.repeat(120)}\nz`, '👩‍👩‍👧'.repeat(30));
    const rows = await db.sql<{ snippet: string }[]>`
      select ${replySnippetSql(db.sql, db.sql`x.t`)} as snippet
      from unnest(${samples}::text[]) with ordinality as x(t, n) order by n`;
    expect(rows.map((r) => r.snippet)).toEqual(samples.map(replySnippet));
  });
});
