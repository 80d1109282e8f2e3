// Formatting is a chunk of its own (markdown-it is larger than the rest of the
// app): the first page load stays small, and the chunk is fetched right after
// it. Until it is here (a moment, on the first load only), a message with
// Markdown shows as plain text; then every such message renders formatted.
import { signal } from '@preact/signals';
import type * as Markdown from './markdown.js';

/** The formatter, once loaded. */
export const markdown = signal<typeof Markdown | null>(null);

let loading: Promise<void> | undefined;

export function loadMarkdown(): Promise<void> {
  loading ??= import('./markdown.js').then((m) => {
    markdown.value = m;
  });
  loading.catch(() => (loading = undefined)); // offline: a later message tries again
  return loading;
}

/**
 * Whether a text may hold Markdown at all: a character that starts inline
 * formatting, or a line that starts a quote or a list item. One linear scan;
 * most messages have none, and skip the parser (and its chunk) entirely.
 */
const SYNTAX = /[*_~`[\\<]|^[ \t]*(?:>|[-+][ \t]|\d{1,9}[.)][ \t])/m;

export function hasMarkdown(text: string): boolean {
  return SYNTAX.test(text);
}
