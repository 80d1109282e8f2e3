// The web client's conversation logic without a browser: the change cursor,
// merging message states by seq, unread and mention counts from the server's
// read state, typing, mentions, receipts, and Markdown turned into a tree of
// our own (never HTML) with safe links, in time linear in the text.
import { describe, expect, it } from 'vitest';
import { RoomState } from '../../web/src/chat.js';
import { hasMarkdown } from '../../web/src/format.js';
import { linkTarget } from '../../web/src/linkify.js';
import { MAX_NESTING, messageBlocks, parseMarkdown, shortenBlocks, type Block, type Inline } from '../../web/src/markdown.js';
import {
  Chain,
  countMentions,
  countUnread,
  inLoadedRange,
  lastEditable,
  mentionCandidates,
  mentionQuery,
  mergeMessages,
  reactionLabel,
  seenMessageId,
  typingText,
} from '../../web/src/messages.js';
import type { Message } from '../../web/src/types.js';
import { msg } from '../helpers/webclient.js';

describe('the change cursor (seq, prevSeq)', () => {
  it('follows the chain, waits at a gap, and closes it when the missing change comes', () => {
    const c = new Chain();
    c.advance('100'); // joined's seq
    expect(c.noteLive('101', '100')).toBe(false);
    expect(c.noteLive('103', '102')).toBe(true); // 102 not here yet
    expect(c.at).toBe('101');
    expect(c.noteLive('102', '101')).toBe(false);
    expect(c.at).toBe('103');
    expect(c.ahead.size).toBe(0);
  });

  it('moves past a gap that `changes` filled (through), dropping early arrivals it covered', () => {
    const c = new Chain();
    c.advance('10');
    c.noteLive('14', '13');
    c.noteLive('20', '19');
    c.advance('14'); // changes after 10: through 14
    expect(c.at).toBe('14');
    expect(c.ahead.size).toBe(1);
    c.advance('25');
    expect(c.ahead.size).toBe(0);
  });

  it('ignores what it already holds', () => {
    const c = new Chain();
    c.advance('50');
    expect(c.noteLive('49', '48')).toBe(false);
    expect(c.at).toBe('50');
  });
});

describe('message states by seq', () => {
  it('replaces a message by id with a newer state: edited, reacted to, deleted', () => {
    let list = [msg('1'), msg('2'), msg('3')];
    list = mergeMessages(list, [msg('2', { seq: '7', text: 'fixed', editedAt: '2026-11-30T12:01:00.000Z' })]);
    expect(list.map((m) => m.text)).toEqual(['m1', 'fixed', 'm3']);
    list = mergeMessages(list, [msg('2', { seq: '8', text: 'fixed', editedAt: '2026-11-30T12:01:00.000Z', reactions: [{ emoji: '👍', count: 1, users: ['alice'] }] })]);
    expect(list[1]!.reactions).toHaveLength(1);
    list = mergeMessages(list, [msg('2', { seq: '9', text: '', deleted: true })]);
    expect(list[1]).toMatchObject({ id: '2', deleted: true, text: '' });
    expect(list).toHaveLength(3);
  });

  it('keeps the newer state when an older one arrives late (a page read before the change)', () => {
    const list = [msg('1'), msg('2', { seq: '9', text: '', deleted: true })];
    const after = mergeMessages(list, [msg('1'), msg('2', { seq: '2' })]);
    expect(after).toBe(list); // nothing changed: the same array, nothing renders
  });

  it('a copy of the same state changes nothing', () => {
    const list = [msg('1'), msg('2', { seq: '5', reactions: [{ emoji: '🎉', count: 2, users: ['a', 'b'] }] })];
    expect(mergeMessages(list, [msg('2', { seq: '5', reactions: [{ emoji: '🎉', count: 2, users: ['a', 'b'] }] })])).toBe(list);
  });

  it('takes changes to held messages and newer ones, not to one older than everything loaded', () => {
    const held = [msg('50'), msg('51')];
    const changed = [msg('10', { seq: '60' }), msg('50', { seq: '61', text: 'e' }), msg('52', { seq: '62' })];
    expect(inLoadedRange(held, changed, true).map((m) => m.id)).toEqual(['50', '52']);
    expect(inLoadedRange(held, changed, false).map((m) => m.id)).toEqual(['10', '50', '52']);
  });
});

describe('unread and mention counts', () => {
  it('counts from the server up to its newest message, and here after it; deleted ones never', () => {
    const room = new RoomState('general', 'channel', 'general', 'alice');
    room.counted.value = { through: '100', unread: 120, mentions: 2 };
    room.readThrough.value = '40';
    expect(room.unread.value).toBe(120);
    room.messages.value = [msg('100'), msg('101'), msg('102', { mentions: ['alice'] }), msg('103', { deleted: true, text: '' }), msg('104', { from: 'alice' })];
    expect(room.unread.value).toBe(122);
    expect(room.mentions.value).toBe(3);
    // read through the newest (here or on another device): nothing left
    room.readThrough.value = '104';
    expect(room.unread.value).toBe(0);
    expect(room.mentions.value).toBe(0);
  });

  it('counts @here, not my own messages', () => {
    const list = [msg('1', { mentionsHere: true }), msg('2', { from: 'alice', mentions: ['alice'] }), msg('3', { mentions: ['carol'] })];
    expect(countMentions(list, null, 'alice')).toBe(1);
    expect(countUnread(list, null, 'alice')).toBe(2);
  });
});

describe('typing, mentions, receipts', () => {
  it('says who is typing', () => {
    expect(typingText([])).toBe('');
    expect(typingText(['alice'])).toBe('alice is typing…');
    expect(typingText(['alice', 'bob'])).toBe('alice and bob are typing…');
    expect(typingText(['alice', 'bob', 'carol'])).toBe('several people are typing…');
  });

  it('expires a typist after a while and when their message lands', () => {
    const room = new RoomState('general', 'channel', 'general', 'alice');
    const now = Date.now();
    room.typing.value = new Map([
      ['bob', now + 6000],
      ['carol', now - 1],
    ]);
    expect(room.typingNow(now)).toEqual(['bob']);
    expect(room.typingNow(now + 6001)).toEqual([]);
  });

  it('finds the @name being typed at the caret, not an email address', () => {
    expect(mentionQuery('hi @al', 6)).toEqual({ start: 3, query: 'al' });
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQuery('mail bob@example.com', 20)).toBeNull();
    expect(mentionQuery('hi @al there', 12)).toBeNull();
    expect(mentionQuery('(@Bo', 4)).toEqual({ start: 1, query: 'bo' });
  });

  it('suggests members by prefix, then by a part of the name, never me; @here in channels', () => {
    const members = ['alice', 'albert', 'bob', 'malia', 'me'];
    expect(mentionCandidates(members, 'al', 'me', false)).toEqual(['albert', 'alice', 'malia']);
    expect(mentionCandidates(members, '', 'me', true)).toEqual(['albert', 'alice', 'bob', 'malia', 'here']);
    expect(mentionCandidates(members, 'he', 'me', true)).toEqual(['here']);
    expect(mentionCandidates(members, 'he', 'me', false)).toEqual([]);
  });

  it('shows "Seen" under my newest message the other person read, not under theirs', () => {
    const list = [msg('1', { from: 'alice' }), msg('2', { from: 'alice' }), msg('3', { from: 'bob' })];
    expect(seenMessageId(list, '2', 'alice')).toBe('2');
    expect(seenMessageId(list, '3', 'alice')).toBeNull();
    expect(seenMessageId(list, null, 'alice')).toBeNull();
    expect(lastEditable([...list, msg('4', { from: 'alice', deleted: true, text: '' })], 'alice')!.id).toBe('2');
  });

  it('names who reacted', () => {
    expect(reactionLabel({ emoji: '👍', count: 2, users: ['alice', 'bob'] })).toBe('👍 2: alice, bob');
    expect(reactionLabel({ emoji: '👍', count: 23, users: Array.from({ length: 20 }, (_, i) => `u${i}`) })).toMatch(/and 3 more$/);
  });
});

// ---- Markdown ----------------------------------------------------------------

/** Enough calls of `f` to take about 10 ms: a round long enough for the clock. */
function repsFor(f: () => unknown): number {
  let reps = 1;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < reps; i++) f();
    if (performance.now() - start >= 10) return reps;
    reps *= 2;
  }
}

/** How many times longer `large` takes than `small`: the best of rounds of each in turn. */
function timeRatio(small: () => unknown, large: () => unknown): number {
  const reps = [repsFor(small), repsFor(large)];
  const best = [Infinity, Infinity];
  for (let round = 0; round < 10; round++) {
    [small, large].forEach((f, k) => {
      const start = performance.now();
      for (let i = 0; i < reps[k]!; i++) f();
      best[k] = Math.min(best[k]!, (performance.now() - start) / reps[k]!);
    });
  }
  return best[1]! / best[0]!;
}

/** Every inline node of a tree, depth first. */
function inlines(blocks: readonly Block[]): Inline[] {
  const out: Inline[] = [];
  const walkInline = (xs: readonly Inline[]) => {
    for (const x of xs) {
      out.push(x);
      if (typeof x === 'object' && 'c' in x) walkInline(x.c);
    }
  };
  const walk = (bs: readonly Block[]) => {
    for (const b of bs) {
      if (b.k === 'p') walkInline(b.c);
      else if (b.k === 'quote') walk(b.c);
      else if (b.k === 'ul' || b.k === 'ol') b.items.forEach(walk);
    }
  };
  walk(blocks);
  return out;
}

const links = (blocks: readonly Block[]) => inlines(blocks).filter((x): x is Extract<Inline, { href: string }> => typeof x === 'object' && 'href' in x);

describe('Markdown', () => {
  it('formats the subset: bold, italic, strikethrough, code, code blocks, quotes, lists', () => {
    const blocks = parseMarkdown('**b** _i_ ~~s~~ `c`\n```\n  kept  \n```\n> q\n\n- one\n- two\n\n3. three')!;
    expect(blocks[0]).toEqual({ k: 'p', c: [{ k: 'strong', c: ['b'] }, ' ', { k: 'em', c: ['i'] }, ' ', { k: 's', c: ['s'] }, ' ', { k: 'code', text: 'c' }] });
    expect(blocks[1]).toEqual({ k: 'pre', text: '  kept  ' });
    expect(blocks[2]).toEqual({ k: 'quote', c: [{ k: 'p', c: ['q'] }] });
    expect(blocks[3]).toMatchObject({ k: 'ul', items: [[{ c: ['one'] }], [{ c: ['two'] }]] });
    expect(blocks[4]).toMatchObject({ k: 'ol', start: 3 });
  });

  it('keeps HTML, headings, images and entities as the text typed', () => {
    const html = '<script>alert(1)</script><img src=x onerror=alert(1)>';
    expect(parseMarkdown(html)).toEqual([{ k: 'p', c: [html] }]);
    expect(parseMarkdown('&amp; *x*')).toEqual([{ k: 'p', c: ['&amp; ', { k: 'em', c: ['x'] }] }]);
    expect(inlines(parseMarkdown('# title *x*')!)[0]).toBe('# title ');
  });

  it('makes links only by the safe-link rules, each naming the host it really goes to', () => {
    const blocks = parseMarkdown(
      '[docs](https://example.com/a) [x](javascript:alert(1)) [y](https://good.com@evil.com/) [https://good.com](https://evil.com/p) <https://a.example/b> www.c.example *https://d.example/e*',
    )!;
    const found = links(blocks);
    expect(found).toEqual([
      { k: 'label', href: 'https://example.com/a', host: 'example.com', c: ['docs'] },
      { k: 'a', href: 'https://evil.com/p', text: 'https://evil.com/p' },
      { k: 'a', href: 'https://a.example/b', text: 'https://a.example/b' },
      { k: 'a', href: 'https://www.c.example/', text: 'www.c.example' },
      { k: 'a', href: 'https://d.example/e', text: 'https://d.example/e' },
    ]);
    // every link: http(s), no userinfo, and what it shows names its host
    for (const l of found) {
      const url = new URL(l.href);
      expect(['http:', 'https:']).toContain(url.protocol);
      expect(url.username).toBe('');
      const shown = 'text' in l ? l.text : l.host;
      expect(shown.replace(/^https?:\/\//, '').startsWith(url.hostname.replace(/^www\./, shown.includes('www.') ? 'www.' : ''))).toBe(true);
    }
    expect(linkTarget('https://a@b.example/')).toBeUndefined();
    expect(inlines(blocks).some((x) => typeof x === 'string' && x.includes('javascript:alert(1)'))).toBe(true);
  });

  it('shows text nested deeper than markdown-it follows as plain text, losing nothing', () => {
    const deep = `${'>'.repeat(MAX_NESTING + 5)} deep`;
    expect(parseMarkdown(deep)).toBeNull();
    expect(messageBlocks(deep)).toBeNull();
  });

  it('skips the parser for text without Markdown characters', () => {
    expect(hasMarkdown('hello, world. https://example.com/a_b')).toBe(true); // `_` may be emphasis
    expect(hasMarkdown('hello, world. see you at 5')).toBe(false);
    expect(hasMarkdown('at 5. then 6')).toBe(false);
    expect(hasMarkdown('- item')).toBe(true);
    expect(hasMarkdown('1. item')).toBe(true);
    expect(messageBlocks('plain words')).toBeNull();
  });

  it('shortens long formatted text by lines and characters, never cutting a link', () => {
    const long = parseMarkdown(Array.from({ length: 40 }, (_, i) => `- item **${i}**`).join('\n'))!;
    const short = shortenBlocks(long, 1000, 10);
    expect((short[0] as { items: unknown[] }).items.length).toBeLessThanOrEqual(10);
    const linky = parseMarkdown(`*a* ${'https://example.com/x '.repeat(100)}`)!;
    const cut = shortenBlocks(linky, 200, 10);
    for (const l of links(cut)) expect(l.href).toBe('https://example.com/x');
  });

  it('takes time linear in the text on hostile input', () => {
    const shapes: Record<string, (n: number) => string> = {
      'alternating stars': (n) => '*a'.repeat(n / 2),
      'open brackets': (n) => '['.repeat(n),
      'link openers': (n) => '[a]('.repeat(n / 4),
      'backtick runs': (n) => '`a``'.repeat(n / 4),
      'nested emphasis': (n) => `${'**_'.repeat(n / 6)}x${'_**'.repeat(n / 6)}`,
      'list lines': (n) => '- a\n'.repeat(n / 4),
      'quote lines': (n) => '>\n'.repeat(n / 2),
      tildes: (n) => '~~a'.repeat(n / 3),
      escapes: (n) => '\\'.repeat(n),
    };
    for (const [name, make] of Object.entries(shapes)) {
      const small = make(500);
      const large = make(4000);
      // 8 times the text: well under 8² = 64 times the time (a ratio, not a time: the machine may be busy)
      expect(timeRatio(() => parseMarkdown(small), () => parseMarkdown(large)), name).toBeLessThan(24);
    }
  });
});
