// The search query language on its own: what a query means, what it refuses
// (with a sentence), and the highlights of a result's text.
import { describe, expect, it } from 'vitest';
import { BadRequest } from '../../functions/core/errors.js';
import { MAX_QUERY, foldWord, highlightRanges, parseSearchQuery } from '../../functions/core/search-query.js';

function refusal(query: string): string {
  try {
    parseSearchQuery(query);
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequest);
    return (err as Error).message;
  }
  throw new Error(`"${query}" was accepted`);
}

describe('parseSearchQuery', () => {
  it('reads words, phrases, exclusions and filters; the word still being typed is a prefix', () => {
    const q = parseSearchQuery('deploy "exact phrase" -staging from:@Alice in:#Ops before:2026-12-01 after:2026-11-01 rollb');
    expect(q).toEqual({
      include: ['deploy', 'exact phrase'],
      exclude: ['staging'],
      prefix: 'rollb',
      symbols: [],
      excludedSymbols: [],
      from: 'alice',
      in: { kind: 'channel', id: 'ops' },
      before: new Date('2026-12-01T00:00:00Z'),
      // Slack's after: is the days after the one named
      after: new Date('2026-11-02T00:00:00Z'),
    });
  });

  it('takes a finished last word (a space after it) as a whole word, and a quoted one never as a prefix', () => {
    expect(parseSearchQuery('deploy ')).toEqual({ include: ['deploy'], exclude: [], symbols: [], excludedSymbols: [] });
    expect(parseSearchQuery('deplo')).toMatchObject({ include: [], prefix: 'deplo' });
    expect(parseSearchQuery('"deplo"')).toEqual({ include: ['deplo'], exclude: [], symbols: [], excludedSymbols: [] });
    expect(parseSearchQuery('-deplo from:me').prefix).toBeUndefined();
    // an unclosed quote is a phrase still being typed: whole words so far
    expect(parseSearchQuery('"ship it')).toMatchObject({ include: ['ship it'] });
    // a single character is a whole word: "1" must not stand for every number
    expect(parseSearchQuery('line 1')).toEqual({ include: ['line', '1'], exclude: [], symbols: [], excludedSymbols: [] });
    expect(parseSearchQuery('line 12')).toMatchObject({ include: ['line'], prefix: '12' });
  });

  it('reads the forms of in: and from:', () => {
    expect(parseSearchQuery('in:@Bob x').in).toEqual({ kind: 'dm', with: 'bob' });
    expect(parseSearchQuery('in:ops x').in).toEqual({ kind: 'channel', id: 'ops' });
    expect(parseSearchQuery('in:dm:bob:alice x').in).toEqual({ kind: 'room', room: { id: 'dm:alice:bob', kind: 'dm', users: ['alice', 'bob'] } });
    expect(parseSearchQuery('from:me').from).toBe('me');
    expect(parseSearchQuery('from:carol').from).toBe('carol');
  });

  it('lets a from: or in: filter stand alone, as Slack lists someone’s messages', () => {
    expect(parseSearchQuery('from:@alice')).toMatchObject({ include: [], from: 'alice' });
    expect(parseSearchQuery('in:#ops -noise')).toMatchObject({ exclude: ['noise'], in: { kind: 'channel', id: 'ops' } });
  });

  it('keeps words without a letter or digit apart, to be matched as written', () => {
    expect(parseSearchQuery('🚀 -🔥 launch')).toMatchObject({ include: [], prefix: 'launch', symbols: ['🚀'], excludedSymbols: ['🔥'] });
    // code-like words are words
    expect(parseSearchQuery('ERR_42 foo.bar ')).toMatchObject({ include: ['ERR_42', 'foo.bar'] });
  });

  it('refuses what would search nothing or everything, with what to do instead', () => {
    expect(refusal('')).toMatch(/Type something to search for/);
    expect(refusal('   ')).toMatch(/Type something/);
    expect(refusal('-foo')).toMatch(/Add a word to search for/);
    expect(refusal('-foo -bar before:2026-01-01')).toMatch(/Add a word/);
    expect(refusal('🎉')).toMatch(/Add a word/);
    expect(refusal('""')).toMatch(/Type something/);
  });

  it('refuses unknown filters, bad dates and misused filters by name', () => {
    expect(refusal('deploy has:link')).toBe('"has:" is not a filter. Use from:, in:, before: or after:, or put the words in quotes to search for them as text.');
    expect(refusal('before:2026-13-01 x')).toBe('"2026-13-01" is not a date: write before:YYYY-MM-DD, like before:2026-12-01.');
    expect(refusal('after:2026-02-30 x')).toMatch(/"2026-02-30" is not a date/);
    expect(refusal('after:yesterday x')).toMatch(/is not a date: write after:YYYY-MM-DD/);
    expect(refusal('after:2026-12-01 before:2026-12-01 x')).toMatch(/after: must be a day before before:/);
    expect(refusal('from:@a b')).toMatch(/from: takes a username/);
    expect(refusal('in:#no!pe x')).toMatch(/in: takes a channel or a person/);
    expect(refusal('from: x')).toMatch(/from: needs a value/);
    expect(refusal('from:@ann from:@ben')).toMatch(/Use from: once/);
    expect(refusal('-from:@ann x')).toMatch(/A filter cannot be excluded/);
    // quoted, the same text is searched for
    expect(parseSearchQuery('"has:link" ').include).toEqual(['has:link']);
  });

  it('bounds the query: characters and terms', () => {
    expect(refusal('a'.repeat(MAX_QUERY + 1))).toBe(`A search is at most ${MAX_QUERY} characters.`);
    expect(refusal('x'.repeat(10_000))).toBe(`A search is at most ${MAX_QUERY} characters.`);
    expect(parseSearchQuery('é'.repeat(MAX_QUERY)).prefix).toHaveLength(MAX_QUERY);
    expect(refusal(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '))).toMatch(/at most 16 words/);
  });

  it('treats SQL and tsquery syntax as plain words', () => {
    expect(parseSearchQuery("'; drop table messages; -- ")).toMatchObject({ include: ['drop', 'table', 'messages;'], symbols: ["';"], excludedSymbols: ['-'] });
    expect(parseSearchQuery('"a:*" & !b | c <-> d ')).toMatchObject({ include: ['a:*', '!b', 'c', 'd'], symbols: ['&', '|', '<->'], excludedSymbols: [] });
    expect(refusal('a:* x')).toMatch(/"a:" is not a filter/);
  });
});

describe('highlightRanges', () => {
  it('marks whole words regardless of case and accents, the prefix at word starts, and symbols', () => {
    const text = 'Déploy the DEPLOYMENT, deploy! Café 🚀 redeploy';
    const ranges = highlightRanges(text, parseSearchQuery('cafe 🚀 deplo'));
    expect(ranges.map(([a, b]) => text.slice(a, b))).toEqual(['Déploy', 'DEPLOYMENT', 'deploy', 'Café', '🚀']);
  });

  it('marks the parts of code-like words and phrases, with UTF-16 offsets', () => {
    const text = '😀 ERR_42 at foo.bar';
    const ranges = highlightRanges(text, parseSearchQuery('err_42 "foo.bar" '));
    expect(ranges).toEqual([
      [3, 6],
      [7, 9],
      [13, 16],
      [17, 20],
    ]);
  });

  it('folds as the index does', () => {
    expect(foldWord('Łódź')).toBe('lodz');
    expect(foldWord('ﬁle')).toBe('file');
    expect(foldWord('ÉTÉ')).toBe('ete');
  });
});
