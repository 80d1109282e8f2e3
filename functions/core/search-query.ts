// The search query language (docs/PROTOCOL.md, E15), as Slack spells it: words,
// "exact phrases", -excluded words, and the filters from:@alice, in:#ops,
// in:@bob (our conversation), before:2026-12-01 and after:2026-11-01. The last
// word, while it is still being typed (no space after it), matches as a prefix.
// Pure: the database folds and matches the words (search.ts); this module only
// reads the text, refuses what cannot be searched with a sentence a person can
// act on, and finds the ranges of a result's text to highlight.
import { BadRequest } from './errors.js';
import { CHANNEL, USERNAME, codePoints, parseRoom, type RoomName } from './names.js';

/** The longest query, in characters. */
export const MAX_QUERY = 500;
/** Words, phrases and filters in one query: each is a term of the index lookup. */
export const MAX_TERMS = 16;
/**
 * The word being typed matches as a prefix from this many characters on; a
 * single character is a whole word. `1` would otherwise stand for every number
 * and word that starts with it: most of what one can read, for one query.
 */
export const MIN_PREFIX = 2;

/** Where to search: a channel, or the conversation with one person. */
export type SearchRoom = { kind: 'channel'; id: string } | { kind: 'dm'; with: string } | { kind: 'room'; room: RoomName };

export interface SearchQuery {
  /** words and phrases every result contains (a phrase: its words in order) */
  include: string[];
  /** words and phrases no result contains */
  exclude: string[];
  /** the word being typed: results contain a word that starts with it */
  prefix?: string;
  /** words without a letter or digit (emoji, symbols): matched as they are written */
  symbols: string[];
  excludedSymbols: string[];
  /** a username, or 'me' */
  from?: string;
  in?: SearchRoom;
  /** results before this instant, and at or after this one */
  before?: Date;
  after?: Date;
}

const FILTERS = ['from', 'in', 'before', 'after'] as const;
type Filter = (typeof FILTERS)[number];

/** A letter or digit: what the full-text index keeps of a word. */
const WORDLIKE = /[\p{L}\p{N}]/u;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

interface Token {
  text: string;
  quoted: boolean;
  negated: boolean;
  /** no space after it: the person may still be typing it */
  open: boolean;
}

/** Splits on white space, keeping "quoted phrases" whole (an unclosed quote runs to the end). */
function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  const re = /(-?)"([^"]*)("?)|(\S+)/gu;
  for (const m of query.matchAll(re)) {
    const end = m.index + m[0].length;
    const open = end === query.length;
    if (m[4] !== undefined) {
      const negated = m[4].startsWith('-') && m[4].length > 1;
      tokens.push({ text: negated ? m[4].slice(1) : m[4], quoted: false, negated, open });
    } else {
      const text = m[2]!.trim();
      if (text) tokens.push({ text, quoted: true, negated: m[1] === '-', open: open && m[3] === '' });
    }
  }
  return tokens;
}

function parseDate(filter: 'before' | 'after', value: string): Date {
  const m = DATE.exec(value);
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !date || date.getUTCFullYear() !== Number(m[1]) || date.getUTCMonth() !== Number(m[2]) - 1 || date.getUTCDate() !== Number(m[3])) {
    throw new BadRequest(`"${value}" is not a date: write ${filter}:YYYY-MM-DD, like ${filter}:2026-12-01.`);
  }
  // Slack's reading: before: a day is before its first instant, after: a day is
  // from the day that follows it (both in UTC).
  if (filter === 'before') return date;
  const next = new Date(date.getTime() + 24 * 60 * 60 * 1000);
  // The day after 9999-12-31 has a five-digit year, which the database cannot
  // read as a timestamp; no message can be sent after it anyway.
  if (next.getUTCFullYear() > 9999) throw new BadRequest(`after:${value} leaves no day to search: use a date up to after:9999-12-30.`);
  return next;
}

function parseFrom(value: string): string {
  const name = value.replace(/^@/, '').toLowerCase();
  if (name === 'me' || USERNAME.test(name)) return name;
  throw new BadRequest(`from: takes a username, like from:@alice (or from:me); "${value}" is not one.`);
}

function parseIn(value: string): SearchRoom {
  const lower = value.toLowerCase();
  if (lower.startsWith('@') && USERNAME.test(lower.slice(1))) return { kind: 'dm', with: lower.slice(1) };
  const channel = lower.replace(/^#/, '');
  if (CHANNEL.test(channel)) return { kind: 'channel', id: channel };
  const room = parseRoom(lower);
  if (room) return { kind: 'room', room };
  throw new BadRequest(`in: takes a channel or a person, like in:#ops or in:@bob; "${value}" is neither.`);
}

/**
 * Reads a query, or throws BadRequest with what to change. A query needs
 * something to look for: a word with a letter or digit, or from: or in: (a
 * filter alone lists those messages, as in Slack); only exclusions, only dates,
 * or only emoji would read every message one can see.
 */
export function parseSearchQuery(raw: string): SearchQuery {
  if (codePoints(raw) > MAX_QUERY) throw new BadRequest(`A search is at most ${MAX_QUERY} characters.`);
  const query: SearchQuery = { include: [], exclude: [], symbols: [], excludedSymbols: [] };
  const tokens = tokenize(raw);
  if (tokens.length > MAX_TERMS) throw new BadRequest(`A search has at most ${MAX_TERMS} words, phrases and filters.`);
  const seen = new Set<Filter>();
  for (const [i, token] of tokens.entries()) {
    const filter = token.quoted ? undefined : /^([A-Za-z]+):(.*)$/su.exec(token.text);
    if (filter) {
      const name = filter[1]!.toLowerCase();
      const value = filter[2]!;
      if (!(FILTERS as readonly string[]).includes(name)) {
        throw new BadRequest(`"${name}:" is not a filter. Use from:, in:, before: or after:, or put the words in quotes to search for them as text.`);
      }
      const known = name as Filter;
      if (token.negated) throw new BadRequest(`A filter cannot be excluded: remove the - before ${known}:.`);
      if (!value) throw new BadRequest(`${known}: needs a value, like ${EXAMPLES[known]}.`);
      if (seen.has(known)) throw new BadRequest(`Use ${known}: once in a search.`);
      seen.add(known);
      if (known === 'from') query.from = parseFrom(value);
      else if (known === 'in') query.in = parseIn(value);
      else query[known] = parseDate(known, value);
      continue;
    }
    const text = token.text;
    if (!WORDLIKE.test(text)) {
      (token.negated ? query.excludedSymbols : query.symbols).push(text);
    } else if (token.negated) {
      query.exclude.push(text);
    } else if (!token.quoted && token.open && i === tokens.length - 1 && codePoints(text) >= MIN_PREFIX) {
      query.prefix = text;
    } else {
      query.include.push(text);
    }
  }
  if (query.before && query.after && query.after >= query.before) {
    throw new BadRequest('after: must be a day before before:; no message can match both.');
  }
  if (!query.include.length && query.prefix === undefined && !query.from && !query.in) {
    throw new BadRequest(
      tokens.length === 0
        ? 'Type something to search for: words, "an exact phrase", from:@someone or in:#channel.'
        : 'Add a word to search for (with a letter or digit), or from:@someone or in:#channel: exclusions, dates and emoji alone are not enough.',
    );
  }
  return query;
}

const EXAMPLES: Record<Filter, string> = {
  from: 'from:@alice',
  in: 'in:#ops or in:@bob',
  before: 'before:2026-12-01',
  after: 'after:2026-11-01',
};

/**
 * A word's letters as the index compares them: accents and other marks taken
 * off, compatibility forms (ﬁ, full-width letters) spelled out, lower case. The
 * database does the same in search_fold (schema/011_search.sql); this copy only
 * places highlights.
 */
export function foldWord(word: string): string {
  return word
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[łŁøØđĐħĦıŀĿ]/gu, (c) => FOLD_EXTRA[c] ?? c)
    .toLowerCase();
}
const FOLD_EXTRA: Record<string, string> = { ł: 'l', Ł: 'L', ø: 'o', Ø: 'O', đ: 'd', Đ: 'D', ħ: 'h', Ħ: 'H', ı: 'i', ŀ: 'l', Ŀ: 'L' };

/** The most highlights one result carries. */
export const MAX_HIGHLIGHTS = 50;

/** Runs of letters, digits and their marks: the words highlights are made of. */
const WORD_RUN = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Where `text` matches `query`: [start, end) offsets in UTF-16 code units (as
 * JavaScript strings index), in order and not overlapping, at most
 * MAX_HIGHLIGHTS. A word of the query matches a whole word of the text (accents
 * and case aside), the prefix the start of one, a symbol wherever it stands.
 */
export function highlightRanges(text: string, query: SearchQuery): [number, number][] {
  const words = new Set(query.include.flatMap((w) => [...w.matchAll(WORD_RUN)].map((m) => foldWord(m[0]))));
  const prefixRuns = query.prefix ? [...query.prefix.matchAll(WORD_RUN)].map((m) => foldWord(m[0])) : [];
  // The prefix's earlier runs (ERR_4 is "err" then "4") are whole words; its last is typed.
  for (const w of prefixRuns.slice(0, -1)) words.add(w);
  const prefix = prefixRuns.at(-1);
  const ranges: [number, number][] = [];
  for (const m of text.matchAll(WORD_RUN)) {
    const word = foldWord(m[0]);
    if (words.has(word) || (prefix && word.startsWith(prefix))) ranges.push([m.index, m.index + m[0].length]);
  }
  for (const symbol of query.symbols) {
    for (let at = text.indexOf(symbol); at >= 0; at = text.indexOf(symbol, at + symbol.length)) {
      ranges.push([at, at + symbol.length]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged.slice(0, MAX_HIGHLIGHTS);
}
