// Search results as the client shows them (docs/PROTOCOL.md, E15): a result's
// text cut to a snippet around its first match, in segments to render as text,
// the matches as <mark>. Never HTML: the text is the message's, as typed.

/** One piece of a snippet: plain text, or a match. */
export interface Segment {
  text: string;
  mark: boolean;
}

/** The characters a snippet shows at most (before the ellipses). */
export const SNIPPET_CHARS = 240;
/** Of those, how many come before the first match, for its context. */
const LEAD = 60;

/**
 * `text` in segments, the `highlights` ([start, end) UTF-16 offsets, in order)
 * marked. A text longer than `max` is cut to a window that starts a little before
 * the first match, with an ellipsis where something was left out.
 */
export function snippetSegments(text: string, highlights: readonly (readonly [number, number])[], max = SNIPPET_CHARS): Segment[] {
  let start = 0;
  let end = text.length;
  if (text.length > max) {
    const first = highlights[0]?.[0] ?? 0;
    start = Math.max(0, Math.min(first - LEAD, text.length - max));
    end = Math.min(text.length, start + max);
    // never split a surrogate pair (an emoji) at either edge
    if (start > 0 && isLowSurrogate(text.charCodeAt(start))) start++;
    if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end--;
  }
  const segments: Segment[] = [];
  const push = (s: string, mark: boolean) => s && segments.push({ text: s, mark });
  if (start > 0) push('…', false);
  let at = start;
  for (const [a, b] of highlights) {
    const from = Math.max(a, at);
    const to = Math.min(b, end);
    if (to <= from) continue;
    push(text.slice(at, from), false);
    push(text.slice(from, to), true);
    at = to;
  }
  push(text.slice(at, end), false);
  if (end < text.length) push('…', false);
  return segments;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** True when keys typed now go into a text field (so `/` is a character there, not a shortcut). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || target instanceof HTMLTextAreaElement || (target instanceof HTMLInputElement && !['button', 'checkbox', 'radio', 'submit'].includes(target.type));
}
