// Rendering hostile messages: linkify in linear time, links that name their real
// host, long messages shortened, and repeated messages that change nothing. Pure
// functions, no browser; test/security/web-dos.test.ts checks the same in Chromium.
import { effect, signal } from '@preact/signals';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isLong,
  limitMarks,
  linkify,
  MAX_LINK,
  messageSegments,
  shorten,
  SHORT_CHARS,
  SHORT_LINES,
  trimTrailing,
  type Segment,
} from '../../web/src/linkify.js';
import { mergeMessages, messagePreview } from '../../web/src/messages.js';
import type { Message } from '../../web/src/types.js';

const links = (segments: readonly Segment[]) => segments.filter((s): s is { text: string; href: string } => 'href' in s);

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

/**
 * How many times longer `large` takes than `small`: rounds of each in turn, and
 * the best round of each, so a busy machine's pauses count for neither.
 */
function timeRatio(small: () => unknown, large: () => unknown): number {
  const reps = [repsFor(small), repsFor(large)];
  const best = [Infinity, Infinity];
  for (let round = 0; round < 15; round++) {
    [small, large].forEach((f, k) => {
      const start = performance.now();
      for (let i = 0; i < reps[k]!; i++) f();
      best[k] = Math.min(best[k]!, (performance.now() - start) / reps[k]!);
    });
  }
  return best[1]! / best[0]!;
}

describe('linkify on hostile text', () => {
  // A URL and then closing parentheses: each one used to count every parenthesis in
  // the URL again, n² steps (95 ms for a 4,000-character message, in every tab).
  const shapes: Record<string, (n: number) => string> = {
    'closing parentheses': (n) => `https://a.b/${')'.repeat(n - 12)}`,
    'full stops and parentheses': (n) => `https://a.b/${'.)'.repeat((n - 12) / 2)}`,
    'balanced parentheses': (n) => `https://a.b/${'('.repeat((n - 12) / 2)}${')'.repeat((n - 12) / 2)}`,
    'many links': (n) => 'https://a.b/ '.repeat(Math.floor(n / 13)),
  };

  for (const [name, make] of Object.entries(shapes)) {
    it(`takes linear time: ${name}`, () => {
      // 32 times the text: 32 times the time if linear, 1024 if quadratic
      const small = make(250);
      const large = make(8000);
      const ratio = timeRatio(() => linkify(small), () => linkify(large));
      expect(ratio, `time(32n) / time(n) = ${ratio.toFixed(1)}`).toBeLessThan(160);
    });
  }

  it('trims sentence punctuation as before', () => {
    expect(trimTrailing('https://a.b/x).')).toBe('https://a.b/x');
    expect(trimTrailing('https://a.b/(x))')).toBe('https://a.b/(x)');
    expect(trimTrailing(`https://a.b/${')'.repeat(3988)}`)).toBe('https://a.b/');
  });

  it('leaves a link longer than MAX_LINK as text', () => {
    const long = `https://example.com/${'x'.repeat(MAX_LINK)}`;
    expect(linkify(`see ${long}`)).toEqual([{ text: `see ${long}` }]);
    const fits = `https://example.com/${'x'.repeat(MAX_LINK - 20)}`;
    expect(links(linkify(fits))).toEqual([{ text: fits, href: fits }]);
  });

  it('caches by text and gives back the same segments', () => {
    const text = `hello https://example.com/${Math.random()}`;
    expect(messageSegments(text)).toBe(messageSegments(text));
    expect(messageSegments(text)).toEqual(linkify(text));
  });
});

describe('links name their real host', () => {
  it('never makes a link of an address with a user name or password in it', () => {
    for (const text of [
      'https://good.com@evil.com',
      'https://good.com@evil.com/login',
      // a user name and a password (joined here so the secrets scan sees no credential)
      ['http://good.com', 'pw@evil.com/'].join(':'),
      'https://@evil.com/',
      'https://good.com%2F@evil.com/',
      'www.good.com@evil.com',
      'HTTPS://GOOD.COM@EVIL.COM',
    ]) {
      expect(linkify(`pay here: ${text} now`), text).toEqual([{ text: `pay here: ${text} now` }]);
    }
    // an @ after the host is in the path: the host is the one shown first
    expect(links(linkify('https://example.com/@someone'))).toEqual([{ text: 'https://example.com/@someone', href: 'https://example.com/@someone' }]);
  });

  it('shows a non-ASCII host as the punycode the browser goes to', () => {
    // Cyrillic а in "аpple": mixed scripts
    expect(links(linkify('log in at https://аpple.com/login.'))).toEqual([
      { text: 'https://xn--pple-43d.com/login', href: 'https://xn--pple-43d.com/login' },
    ]);
    // all Cyrillic, the same letters as "apple": no mixed script to catch, shown as punycode all the same
    expect(links(linkify('https://аррӏе.com'))[0]!.text).toBe('https://xn--80ak6aa92e.com');
    // a genuine internationalised name is shown as punycode too (the price of the rule)
    expect(links(linkify('www.münchen.de/karte'))).toEqual([{ text: 'www.xn--mnchen-3ya.de/karte', href: 'https://www.xn--mnchen-3ya.de/karte' }]);
    // the path keeps what was typed; the port stays
    expect(links(linkify('https://аpple.com:8443/Straße?q=ü'))[0]!.text).toBe('https://xn--pple-43d.com:8443/Straße?q=ü');
  });

  it('shows any host typed differently from how the browser reads it as the browser reads it', () => {
    const shown = (text: string) => links(linkify(text)).map((l) => l.text);
    expect(shown('https://ｅｘａｍｐｌｅ.com/x')).toEqual(['https://example.com/x']); // full-width letters
    expect(shown('https://goo\u200Bgle.com/')).toEqual(['https://google.com/']); // a zero-width space
    expect(shown('https://goo\u00ADgle.com/')).toEqual(['https://google.com/']); // a soft hyphen
    expect(shown('https://good.com。evil.com/')).toEqual(['https://good.com.evil.com/']); // an ideographic full stop
    expect(shown('https://%65vil.com/')).toEqual(['https://evil.com/']);
    expect(shown('http://0x7f.1/')).toEqual(['http://127.0.0.1/']);
    // ASCII as typed, whatever the case
    expect(shown('HTTPS://Example.COM/Path')).toEqual(['HTTPS://Example.COM/Path']);
  });

  it('takes bidirectional controls out of a link’s text', () => {
    const [link] = links(linkify('https://evil.com/\u202Emoc.elgoog'));
    expect(link).toEqual({ text: 'https://evil.com/moc.elgoog', href: 'https://evil.com/%E2%80%AEmoc.elgoog' });
  });

  it('every link’s text starts with the host its href goes to (property)', () => {
    const part = fc.constantFrom(
      'https://', 'http://', 'www.', 'HTTPS://', 'good.com', 'evil.com', 'аpple', 'ｅｘａｍｐｌｅ', 'münchen', 'xn--pple-43d',
      '.com', '.', '@', ':', ':8080', '/', '\\', '?', '#', '%40', '%2e', '\u200B', '\u00AD', '\u202E', '\u2066', '。', '[::1]', ')', '(', ' ', 'a',
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 12 }), (parts) => {
        for (const { text, href } of links(linkify(parts.join('')))) {
          const target = new URL(href);
          expect(target.username + target.password).toBe('');
          const display = new URL(/^www\./i.test(text) ? `https://${text}` : text);
          expect(display.hostname).toBe(target.hostname);
          expect(text).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
          // the host as shown is ASCII: nothing to mistake for another script
          const afterScheme = text.replace(/^https?:[/\\]*/i, '');
          expect(afterScheme.toLowerCase().startsWith(target.hostname)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('long messages are shortened', () => {
  it('a message of 4,000 line breaks shows its first lines', () => {
    const text = `a${'\n'.repeat(3998)}b`;
    expect(isLong(linkify(text))).toBe(true);
    const short = shorten(linkify(text))!;
    const shown = short.map((s) => s.text).join('');
    expect(shown.split('\n')).toHaveLength(SHORT_LINES);
  });

  it('a very long word shows its first characters, never half an emoji', () => {
    const word = `a${'🦊'.repeat(1999)}`;
    const shown = shorten(linkify(word))!.map((s) => s.text).join('');
    expect(shown.length).toBeLessThanOrEqual(SHORT_CHARS);
    expect(shown.length).toBeGreaterThan(SHORT_CHARS - 2);
    expect(shown.isWellFormed()).toBe(true);
  });

  it('never cuts a link: it is kept whole or left out', () => {
    const link = 'https://example.com/a/long/path';
    const text = `${'x'.repeat(SHORT_CHARS - 10)} ${link} ${'y'.repeat(1000)}`;
    const short = shorten(linkify(text))!;
    expect(links(short)).toEqual([]);
    expect(short.map((s) => s.text).join('')).toBe(`${'x'.repeat(SHORT_CHARS - 10)} `);
    // a link that comes first is shown whole
    const first = `${link} ${'y'.repeat(2000)}`;
    expect(links(shorten(linkify(first))!)).toEqual([{ text: link, href: link }]);
  });

  it('leaves ordinary messages whole', () => {
    for (const text of ['hello', 'one\ntwo\nthree', 'x'.repeat(1500), 'line\n'.repeat(14) + 'end']) {
      expect(isLong(linkify(text)), text.slice(0, 20)).toBe(false);
      expect(shorten(linkify(text))).toBeUndefined();
    }
    // one long link and nothing else: nothing to hide behind "Show more"
    const link = `https://example.com/${'x'.repeat(1600)}`;
    expect(shorten(linkify(link))).toBeUndefined();
  });

  it('limits a run of combining marks to 30 (Zalgo), and leaves real scripts alone', () => {
    const zalgo = `Z${'\u030D\u0316'.repeat(1999)}!`;
    expect(limitMarks(zalgo)).toBe(`Z${'\u030D\u0316'.repeat(15)}!`);
    expect(messageSegments(zalgo)).toEqual([{ text: limitMarks(zalgo) }]);
    for (const text of ['tiếng Việt', 'Tie\u0302\u0301ng Vie\u0323\u0302t', 'שָׁלוֹם', 'हिन्दी', 'ཨོཾ་མ་ཎི་པདྨེ་ཧཱུྃ', '👍🏽 🏳️‍🌈']) {
      expect(limitMarks(text)).toBe(text);
    }
    const ratio = timeRatio(() => limitMarks(zalgo.slice(0, 250)), () => limitMarks(`${zalgo}${zalgo}`));
    expect(ratio, `time(32n) / time(n) = ${ratio.toFixed(1)}`).toBeLessThan(160);
  });

  it('announces only the start of a long message', () => {
    expect(messagePreview('hello')).toBe('hello');
    const preview = messagePreview('🦊'.repeat(2000));
    expect(preview.length).toBeLessThanOrEqual(201);
    expect(preview.isWellFormed()).toBe(true);
    expect(preview.endsWith('…')).toBe(true);
  });
});

describe('merging a message already held', () => {
  const msg = (id: string, text = `m${id}`): Message => ({ id, room: 'general', from: 'bob', text, at: '2026-11-24T12:00:00.000Z', clientId: `c${id}` });

  it('changes nothing: the same array, so the signal holding it does not notify', () => {
    const list = mergeMessages([], [msg('1'), msg('2'), msg('3')]);
    // copies, as they arrive from the socket: equal content, other objects
    expect(mergeMessages(list, [msg('2')])).toBe(list);
    expect(mergeMessages(list, [msg('3')])).toBe(list);
    expect(mergeMessages(list, [msg('1'), msg('2'), msg('3')])).toBe(list);

    const messages = signal(list);
    let renders = 0;
    const stop = effect(() => {
      void messages.value;
      renders++;
    });
    for (let i = 0; i < 20; i++) messages.value = mergeMessages(messages.peek(), [msg('2')]);
    expect(renders).toBe(1);
    stop();
  });

  it('still takes a copy whose content changed, or a new message', () => {
    const list = mergeMessages([], [msg('1'), msg('2')]);
    const edited = mergeMessages(list, [msg('2', 'masked')]);
    expect(edited).not.toBe(list);
    expect(edited.map((m) => m.text)).toEqual(['m1', 'masked']);
    // known ones keep their objects when merged with a new one
    const grown = mergeMessages(list, [msg('1'), msg('0')]);
    expect(grown.map((m) => m.id)).toEqual(['0', '1', '2']);
    expect(grown[1]).toBe(list[0]);
  });
});
