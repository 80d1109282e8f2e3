// Splits message text into plain text and web links. The caller renders text as
// text nodes and links as <a> elements built one by one: no HTML is ever parsed.
//
// Message text comes from anyone in the room, so this runs on hostile input in
// every member's tab: it must be linear in the text's length (a slow message
// freezes everyone's tab), and a link's visible text must name the host the
// browser will really go to.

export type Segment = { text: string } | { text: string; href: string };

// http(s) URLs and bare www. addresses, up to whitespace or an angle bracket.
const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
// Punctuation that usually ends a sentence rather than a URL.
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '"', ')', ']', '}']);
/** Longer "links" stay text: no real page needs one, and each costs a URL parse and an href that long. */
export const MAX_LINK = 2048;
// Bidirectional controls reorder what follows them: inside a link's text they
// could make it read as another address. A URL never needs them to be read.
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function linkify(text: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    const start = match.index!;
    const raw = trimTrailing(match[0]);
    const link = raw.length <= MAX_LINK ? toLink(raw) : undefined;
    if (!link) continue;
    if (start > at) out.push({ text: text.slice(at, start) });
    out.push(link);
    at = start + raw.length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/**
 * Leaves out sentence punctuation at the end, but keeps a closing parenthesis
 * that balances one inside the URL (Wikipedia links). One count, then one step
 * per character removed: linear, whatever the input (a URL followed by 4,000
 * parentheses used to cost a count of the whole string per parenthesis).
 */
export function trimTrailing(raw: string): string {
  let opens = 0;
  let closes = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x28) opens++;
    else if (c === 0x29) closes++;
  }
  let end = raw.length;
  while (end > 0) {
    const ch = raw[end - 1]!;
    if (!TRAILING.has(ch)) break;
    if (ch === ')') {
      if (opens >= closes) break;
      closes--;
    }
    end--;
  }
  return end === raw.length ? raw : raw.slice(0, end);
}

/**
 * A link whose text names its real host, or undefined (the text stays text):
 * - not http(s): no javascript:, data: or anything else;
 * - userinfo (`https://good.com@evil.com` goes to evil.com): never a link. No chat
 *   link needs a name and password in it, and the text before the @ is exactly
 *   what makes such a link lie;
 * - a host typed differently from how the browser reads it (any non-ASCII host,
 *   full-width letters, percent escapes, `0x7f.1`) is shown as the URL parser's
 *   hostname: punycode (`xn--`) for internationalised names. Always, not only for
 *   mixed scripts: a host all in Cyrillic can copy a Latin one letter for letter
 *   (аррӏе.com), and telling a real name from a copy needs Unicode's confusables
 *   tables, far more than a chat should ship. The price is that a genuine
 *   internationalised host reads as xn--…; the rest of the link is as typed.
 */
export function toLink(raw: string): { text: string; href: string } | undefined {
  const url = parseHttp(raw);
  if (!url) return undefined;
  const { start, end } = authority(raw);
  const typed = raw.slice(start, end);
  if (url.username || url.password || typed.includes('@')) return undefined;
  const host = typedHost(typed);
  let text = raw;
  if (host.toLowerCase() !== url.hostname) text = raw.slice(0, start) + url.hostname + raw.slice(start + host.length);
  return { text: text.replace(BIDI_CONTROLS, ''), href: url.href };
}

/** An absolute http(s) URL, or undefined: no javascript:, data: or anything else. */
export function safeHref(raw: string): string | undefined {
  return parseHttp(raw)?.href;
}

/**
 * Where a link written as `[label](url)` may go, and the host to name beside its
 * label: the same rules as toLink (http(s) only, no userinfo, at most MAX_LINK),
 * or undefined, and the label stays text.
 */
export function linkTarget(raw: string): { href: string; host: string } | undefined {
  if (raw.length > MAX_LINK) return undefined;
  const url = parseHttp(raw);
  if (!url || url.username || url.password) return undefined;
  const { start, end } = authority(raw);
  if (raw.slice(start, end).includes('@')) return undefined;
  return { href: url.href, host: url.hostname };
}

function parseHttp(raw: string): URL | undefined {
  try {
    const url = new URL(/^www\./i.test(raw) ? `https://${raw}` : raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Where the authority (userinfo, host, port) is in a link as LINK matched it, read as the URL parser does. */
function authority(raw: string): { start: number; end: number } {
  let start = 0;
  const scheme = raw.indexOf('://');
  if (scheme >= 0 && /^https?$/i.test(raw.slice(0, scheme))) {
    start = scheme + 3;
    // for http(s), the parser skips any further slashes and backslashes
    while (start < raw.length && (raw[start] === '/' || raw[start] === '\\')) start++;
  }
  let end = start;
  while (end < raw.length && !'/\\?#'.includes(raw[end]!)) end++;
  return { start, end };
}

/** The host part of an authority without userinfo: before the port, IPv6 in brackets. */
function typedHost(authority: string): string {
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    return close < 0 ? authority : authority.slice(0, close + 1);
  }
  const colon = authority.indexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

// ---- for rendering ------------------------------------------------------------

// Combining marks stack on the character before them. Unicode's stream-safe
// format (UAX #15) allows at most 30 in a row, more than any script uses; a
// message of one letter and 4,000 marks ("Zalgo") takes the browser ~100 ms to
// lay out and paints far outside its line. The rest of a longer run is not shown.
const MAX_MARKS = 30;
const MARK_RUN = new RegExp(`(\\p{M}{${MAX_MARKS}})\\p{M}+`, 'gu');

/** `text` with every run of combining marks cut to MAX_MARKS. */
export function limitMarks(text: string): string {
  return text.replace(MARK_RUN, '$1');
}

// Each message's segments, kept so that a room shown again, or a list re-rendered,
// does not scan every text again. Bounded: the oldest entry goes first.
const CACHE_SIZE = 300;
const cache = new Map<string, readonly Segment[]>();

/**
 * What a message shows: its text with combining-mark runs limited, split into
 * text and links; cached by text. The result is shared: read it, never change it.
 */
export function messageSegments(text: string): readonly Segment[] {
  let segments = cache.get(text);
  if (segments) return segments;
  segments = linkify(limitMarks(text));
  cache.set(text, segments);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return segments;
}

/** A message longer than this is shown shortened, with "Show more". */
export const COLLAPSE_LINES = 15;
export const COLLAPSE_CHARS = 1500;
/** How much of it shows then: clearly less, so "Show more" never reveals a line or two. */
export const SHORT_LINES = 10;
export const SHORT_CHARS = 1000;

/** Whether segments are long enough (in lines or characters) to be shown shortened. */
export function isLong(segments: readonly Segment[]): boolean {
  let chars = 0;
  let lines = 1;
  for (const { text } of segments) {
    chars += text.length;
    if (chars > COLLAPSE_CHARS) return true;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) if (++lines > COLLAPSE_LINES) return true;
  }
  return false;
}

/**
 * The start of a long message (see isLong), for its shortened view: at most
 * `maxLines` lines and about `maxChars` characters; undefined when the whole
 * message shows. Text is cut (never inside a surrogate pair); a link is kept
 * whole or left out, so no link is ever shown cut, with a shorter address than
 * its href.
 */
export function shorten(segments: readonly Segment[], maxChars = SHORT_CHARS, maxLines = SHORT_LINES): Segment[] | undefined {
  if (!isLong(segments)) return undefined;
  const out: Segment[] = [];
  let chars = 0;
  let lines = 1;
  for (const s of segments) {
    if ('href' in s) {
      // links hold no line breaks; one that does not fit ends the short view
      // (unless it comes first: it is at most MAX_LINK long)
      if (chars + s.text.length > maxChars && out.length > 0) return out;
      out.push(s);
      chars += s.text.length;
      continue;
    }
    let end = 0;
    while (end < s.text.length && chars < maxChars) {
      if (s.text.charCodeAt(end) === 0x0a && ++lines > maxLines) break;
      end++;
      chars++;
    }
    if (end === s.text.length) {
      out.push(s);
      continue;
    }
    // do not split a character outside the Basic Multilingual Plane
    if (end > 0 && /[\uD800-\uDBFF]/.test(s.text[end - 1]!)) end--;
    if (end > 0) out.push({ text: s.text.slice(0, end) });
    return out;
  }
  return undefined;
}
