// Message formatting: a Markdown subset (bold, italic, strikethrough, inline
// code, code blocks, block quotes, lists, links), parsed by markdown-it into
// its token stream and turned into a small tree of our own that the message
// component renders as Preact elements. No HTML is ever produced or parsed:
// markdown-it runs with `html: false`, and its renderer is not used at all.
//
// Message text comes from anyone in the room and is parsed in every member's
// tab, so the cost must stay bounded whatever the input. markdown-it is a
// state machine with limits of its own against pathological input (nesting
// depth, delimiter runs); messages with no Markdown character at all (most
// of them) skip it and render exactly as before, as text and links. This module
// is its own chunk, loaded by format.ts.
import MarkdownIt, { type Token } from 'markdown-it';
import { hasMarkdown } from './format.js';
import { limitMarks, linkify, linkTarget, toLink } from './linkify.js';

/** Inline content: text (line breaks as "\n"), emphasis, code, links. */
export type Inline =
  | string
  | { k: 'strong' | 'em' | 's'; c: Inline[] }
  | { k: 'code'; text: string }
  /** a link whose text is its address, shown as the URL parser reads its host (linkify.ts) */
  | { k: 'a'; href: string; text: string }
  /** `[label](url)`: the label, and the real host named beside it */
  | { k: 'label'; href: string; host: string; c: Inline[] };

export type Block =
  | { k: 'p'; c: Inline[]; tight?: boolean }
  | { k: 'pre'; text: string }
  | { k: 'quote'; c: Block[] }
  | { k: 'ul'; items: Block[][] }
  | { k: 'ol'; start: number; items: Block[][] };

/** Deeper quotes and lists stay text: markdown-it stops nesting here. */
export const MAX_NESTING = 20;

const md = new MarkdownIt('zero', { html: false, linkify: false, typographer: false, maxNesting: MAX_NESTING });
// The subset: no headings, rules, tables, images, indented code (four spaces in
// a chat are rarely meant as code), reference definitions or entities (`&amp;`
// shows as typed).
md.enable(['blockquote', 'fence', 'list', 'emphasis', 'strikethrough', 'backticks', 'escape', 'link', 'autolink', 'newline']);
// Only links that may be links (http or https, no user name): others stay text.
md.validateLink = (url) => linkTarget(url) !== undefined;

/** A label that could pass for an address is not trusted to name a link: the real address is shown instead. */
const ADDRESS_LIKE = /:\/\/|[\p{L}\p{N}][.@][\p{L}\p{N}]/u;

/**
 * The formatted content, or null when the text nests deeper than MAX_NESTING
 * (then markdown-it drops what is below; the message shows as plain text instead).
 */
export function parseMarkdown(source: string): Block[] | null {
  const tokens = md.parse(limitMarks(source), {});
  for (const t of tokens) {
    if (t.level >= MAX_NESTING - 1) return null;
    if (t.children) for (const c of t.children) if (c.level >= MAX_NESTING - 1) return null;
  }
  let at = 0;
  const blocks = (end: (t: Token) => boolean): Block[] => {
    const out: Block[] = [];
    while (at < tokens.length && !end(tokens[at]!)) {
      const t = tokens[at++]!;
      switch (t.type) {
        case 'paragraph_open': {
          const inline = tokens[at++]!;
          at++; // paragraph_close
          out.push({ k: 'p', c: inlines(inline.children ?? []), ...(t.hidden ? { tight: true } : {}) });
          break;
        }
        case 'fence':
          out.push({ k: 'pre', text: t.content.replace(/\n$/, '') });
          break;
        case 'blockquote_open':
          out.push({ k: 'quote', c: blocks((x) => x.type === 'blockquote_close') });
          at++;
          break;
        case 'bullet_list_open':
        case 'ordered_list_open': {
          const items: Block[][] = [];
          const close = t.type === 'bullet_list_open' ? 'bullet_list_close' : 'ordered_list_close';
          while (at < tokens.length && tokens[at]!.type !== close) {
            at++; // list_item_open
            items.push(blocks((x) => x.type === 'list_item_close'));
            at++;
          }
          at++;
          if (t.type === 'bullet_list_open') out.push({ k: 'ul', items });
          else out.push({ k: 'ol', start: Number(t.attrGet('start') ?? 1), items });
          break;
        }
        case 'inline':
          out.push({ k: 'p', c: inlines(t.children ?? []) });
          break;
        default:
        // anything else the subset does not produce; skipped
      }
    }
    return out;
  };
  return blocks(() => false);
}

function inlines(tokens: Token[]): Inline[] {
  let at = 0;
  const run = (close: string | null): Inline[] => {
    const out: Inline[] = [];
    const text = (s: string) => {
      // neighbouring text joins, so a link split by an escape is still found whole
      const last = out.at(-1);
      if (typeof last === 'string') out[out.length - 1] = last + s;
      else out.push(s);
    };
    while (at < tokens.length) {
      const t = tokens[at++]!;
      if (t.type === close) break;
      switch (t.type) {
        case 'text':
        case 'text_special':
          text(t.content);
          break;
        case 'softbreak':
        case 'hardbreak':
          text('\n');
          break;
        case 'code_inline':
          out.push({ k: 'code', text: t.content });
          break;
        case 'strong_open':
          out.push({ k: 'strong', c: run('strong_close') });
          break;
        case 'em_open':
          out.push({ k: 'em', c: run('em_close') });
          break;
        case 's_open':
          out.push({ k: 's', c: run('s_close') });
          break;
        case 'link_open': {
          const href = String(t.attrGet('href') ?? '');
          const children = run('link_close');
          out.push(link(href, children, t.markup === 'autolink'));
          break;
        }
        default:
          if (t.content) text(t.content);
      }
    }
    return out.flatMap((x) => (typeof x === 'string' ? linked(x) : [x]));
  };
  return run(null);
}

/** Bare addresses in text become links by the same rules as unformatted messages. */
function linked(text: string): Inline[] {
  return linkify(text).map((s) => ('href' in s ? { k: 'a' as const, href: s.href, text: s.text } : s.text));
}

function plain(c: Inline[]): string {
  return c.map((x) => (typeof x === 'string' ? x : 'text' in x ? x.text : plain(x.c))).join('');
}

function link(href: string, children: Inline[], autolink: boolean): Inline {
  const target = linkTarget(href);
  const label = plain(children);
  if (autolink || ADDRESS_LIKE.test(label)) {
    // `<https://…>`, or a label that reads as an address: the link shows its real address
    const shown = toLink(href);
    if (shown) return { k: 'a', href: shown.href, text: shown.text };
    return label;
  }
  if (!target) return label; // not reached: markdown-it validated it
  // the label's own links (none: markdown has no links in links) stay text
  return { k: 'label', href: target.href, host: target.host, c: children.map((x) => (typeof x === 'object' && x.k === 'a' ? x.text : x)) };
}

// ---- for rendering ------------------------------------------------------------

const CACHE_SIZE = 300;
const cache = new Map<string, readonly Block[] | null>();

/**
 * What a message with Markdown shows (null: show it as plain text), cached by
 * text like messageSegments. Shared: read it, never change it.
 */
export function messageBlocks(text: string): readonly Block[] | null {
  let blocks = cache.get(text);
  if (blocks !== undefined) return blocks;
  blocks = hasMarkdown(text) ? parseMarkdown(text) : null;
  cache.set(text, blocks);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return blocks;
}

/**
 * The start of long formatted content: at most `maxLines` lines (each block and
 * each line break counts) and about `maxChars` characters; text is cut (never
 * inside a surrogate pair), links kept whole or left out, as shorten() does for
 * plain text.
 */
export function shortenBlocks(blocks: readonly Block[], maxChars: number, maxLines: number): Block[] {
  const budget = { chars: maxChars, lines: maxLines, done: false };
  return cutBlocks(blocks, budget);
}

type Budget = { chars: number; lines: number; done: boolean };

function cutBlocks(blocks: readonly Block[], b: Budget): Block[] {
  const out: Block[] = [];
  for (const block of blocks) {
    if (b.done) break;
    if (--b.lines < 0) {
      b.done = true;
      break;
    }
    switch (block.k) {
      case 'p':
        out.push({ ...block, c: cutInlines(block.c, b) });
        break;
      case 'pre':
        out.push({ k: 'pre', text: cutText(block.text, b) });
        break;
      case 'quote':
        out.push({ k: 'quote', c: cutBlocks(block.c, b) });
        break;
      case 'ul':
      case 'ol': {
        const items: Block[][] = [];
        for (const item of block.items) {
          if (b.done) break;
          items.push(cutBlocks(item, b));
        }
        out.push({ ...block, items });
        break;
      }
    }
  }
  return out;
}

function cutInlines(inlines: readonly Inline[], b: Budget): Inline[] {
  const out: Inline[] = [];
  for (const x of inlines) {
    if (b.done) break;
    if (typeof x === 'string') out.push(cutText(x, b));
    else if (x.k === 'code') out.push({ k: 'code', text: cutText(x.text, b) });
    else if (x.k === 'a') {
      if (x.text.length > b.chars && out.length > 0) {
        b.done = true;
        break;
      }
      b.chars -= x.text.length;
      out.push(x);
    } else out.push({ ...x, c: cutInlines(x.c, b) });
  }
  return out;
}

function cutText(text: string, b: Budget): string {
  let end = 0;
  while (end < text.length && b.chars > 0) {
    if (text.charCodeAt(end) === 0x0a && --b.lines < 0) break;
    end++;
    b.chars--;
  }
  if (end === text.length) return text;
  b.done = true;
  if (end > 0 && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end--;
  return text.slice(0, end);
}
