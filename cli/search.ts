// `/search QUERY` and `/more` in the terminal client: results numbered across
// pages, each with who, where and when, and its text with the matches set
// apart (inverse video at a terminal, «» in a file or pipe).
import { safe } from './conversation.js';

export interface SearchHit {
  message: { id: string; room: string; from: string; text: string; at: string };
  highlights: [number, number][];
}

/** A result's text on one line, the matches marked; control characters made harmless. */
export function markedText(text: string, highlights: readonly [number, number][], tty: boolean): string {
  const [open, close] = tty ? ['\x1b[7m', '\x1b[27m'] : ['«', '»'];
  let at = 0;
  let line = '';
  for (const [a, b] of highlights) {
    if (a < at || b > text.length) continue;
    line += safe(text.slice(at, a)) + open + safe(text.slice(a, b)) + close;
    at = b;
  }
  return (line + safe(text.slice(at))).replace(/\n/g, ' ⏎ ');
}

/** `3. bob in #ops, 2026-11-30 14:05: the text`: result number `n` (from 1). */
export function searchLine(n: number, hit: SearchHit, where: string, tty: boolean): string {
  const at = new Date(hit.message.at);
  const pad = (x: number) => String(x).padStart(2, '0');
  const when = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}`;
  return `${n}. ${safe(hit.message.from)} in ${where}, ${when}: ${markedText(hit.message.text, hit.highlights, tty)}`;
}
