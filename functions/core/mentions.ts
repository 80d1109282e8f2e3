// What a message's text says beyond itself: the people it mentions (`@bob`, `@here`)
// and, for a reply, the snippet of the original that the reply shows.
import { USERNAME } from './names.js';

/** Members mentioned by name that a message stores; more may stand in the text as plain text. */
export const MAX_MENTIONS = 50;

// `@` then a run of username characters, not inside a word or an address
// (`bob@example.com`, `a@b`), and not followed by more of a word in another
// script (`@bobé` is nobody). Case-insensitive: usernames compare lower-cased.
const MENTION = /(?<![\p{L}\p{N}\p{M}_.@+-])@([A-Za-z0-9_.-]+)(?![\p{L}\p{N}\p{M}])/gu;

export interface Mentions {
  /** candidate usernames, in the order of the text, each once; the database keeps those of members */
  names: string[];
  /** whether the text says @here */
  here: boolean;
}

/**
 * The usernames a text may mention, in order. "@bob." at the end of a sentence
 * is bob (or a user really called "bob.", since names may end in a dot: both are
 * candidates, and only members count). `@here` is never a person's name.
 */
export function parseMentions(text: string): Mentions {
  const names: string[] = [];
  const seen = new Set<string>();
  let here = false;
  for (const match of text.matchAll(MENTION)) {
    const raw = match[1]!.toLowerCase();
    const trimmed = raw.replace(/[.-]+$/, '');
    if (raw === 'here' || trimmed === 'here') {
      here = true;
      continue;
    }
    for (const name of [raw, trimmed]) {
      if (!seen.has(name) && USERNAME.test(name)) {
        seen.add(name);
        names.push(name);
      }
    }
  }
  return { names, here };
}

/** Code points of the original a reply shows. */
export const SNIPPET_LENGTH = 100;

/**
 * The snippet of an original message that a reply carries: its first line, at
 * most 100 code points. The server computes it in SQL when it reads a reply
 * (messages.ts); a client that holds the original computes the same from it.
 */
export function replySnippet(text: string): string {
  const firstLine = text.split(/[\r\n]/, 1)[0] ?? '';
  return [...firstLine].slice(0, SNIPPET_LENGTH).join('');
}
