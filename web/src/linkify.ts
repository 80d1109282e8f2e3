// Splits message text into plain text and web links. The caller renders text as
// text nodes and links as <a> elements built one by one: no HTML is ever parsed.

export type Segment = { text: string } | { text: string; href: string };

// http(s) URLs and bare www. addresses, up to whitespace or an angle bracket.
const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
// Punctuation that usually ends a sentence rather than a URL.
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '"', ')', ']', '}']);

function count(s: string, ch: string): number {
  return s.split(ch).length - 1;
}

export function linkify(text: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    let raw = match[0];
    const start = match.index!;
    while (raw.length > 0 && TRAILING.has(raw.at(-1)!)) {
      // keep a closing parenthesis that balances one inside the URL (Wikipedia links)
      if (raw.endsWith(')') && count(raw, '(') >= count(raw, ')')) break;
      raw = raw.slice(0, -1);
    }
    const href = safeHref(raw);
    if (!href) continue;
    if (start > at) out.push({ text: text.slice(at, start) });
    out.push({ text: raw, href });
    at = start + raw.length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** An absolute http(s) URL, or undefined: no javascript:, data: or anything else. */
export function safeHref(raw: string): string | undefined {
  try {
    const url = new URL(/^www\./i.test(raw) ? `https://${raw}` : raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
