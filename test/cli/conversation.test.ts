// The terminal client's view of conversations, driven by frames as
// docs/PROTOCOL.md (E-conv) gives them, without a server: numbers per room, what
// a change prints, how commands name messages, who is typing, the saved cursors.
import { describe, expect, it } from 'vitest';
import { badge, ConversationView, KEEP_PER_ROOM, parseCommand, parseSavedState, Typing, type Message } from '../../cli/conversation.js';
import { ChainCursors } from '../../cli/cursor.js';

function viewFor(options: { me?: string; room?: string; tty?: boolean } = {}) {
  const state = { room: options.room ?? 'general' };
  const view = new ConversationView({
    tty: options.tty ?? false,
    me: () => options.me ?? 'alice',
    current: () => state.room,
    label: (r) => (r.startsWith('dm:') ? `DM with ${r.split(':').find((u) => u !== 'dm' && u !== (options.me ?? 'alice'))}` : `#${r}`),
    time: (iso) => iso.slice(11, 16),
  });
  return { view, state };
}

/** The indent that puts a line under the text of a message with this head. */
const under = (head: string) => ' '.repeat(head.length);

let nextId = 100;
function msg(fields: Partial<Message> = {}): Message {
  const id = fields.id ?? String(++nextId);
  return { id, room: 'general', from: 'bob', text: `message ${id}`, at: '2026-11-30T19:33:00.000Z', seq: id, ...fields };
}

describe('numbers', () => {
  it('numbers messages per room in the order they are shown, each once', () => {
    const { view } = viewFor();
    expect(view.message(msg({ id: '1', text: 'hello' }))).toBe('[1] 19:33 bob: hello');
    expect(view.message(msg({ id: '1', text: 'hello' }))).toBeUndefined();
    expect(view.message(msg({ id: '2', from: 'alice', text: 'hi' }))).toBe('[2] 19:33 alice: hi');
    expect(view.message(msg({ id: '3', room: 'ops', text: 'elsewhere' }))).toBe('[1] [#ops] 19:33 bob: elsewhere');
    // /history shows one again, with the number it has
    expect(view.message(msg({ id: '1', text: 'hello' }), true)).toBe('[1] 19:33 bob: hello');
  });

  it('forgets the oldest numbers past its bound, and says so when one is used', () => {
    const { view } = viewFor();
    for (let i = 1; i <= KEEP_PER_ROOM + 1; i++) view.message(msg({ id: String(i) }));
    expect(view.resolve('general', '1', 'any')).toEqual({ error: 'There is no message [1] in #general; numbers are per room.' });
    expect(view.resolve('general', String(KEEP_PER_ROOM + 1), 'any')).toEqual({ id: String(KEEP_PER_ROOM + 1), n: KEEP_PER_ROOM + 1 });
  });
});

describe('a message shown whole', () => {
  it('indents continuation lines under the text and marks an edited one', () => {
    const { view } = viewFor();
    expect(view.message(msg({ id: '5', text: 'one\ntwo', editedAt: '2026-11-30T19:40:00.000Z' }))).toBe(`[1] 19:33 bob: one\n${under('[1] 19:33 bob: ')}two (edited)`);
  });

  it('quotes the original above a reply, by its number when it has one', () => {
    const { view } = viewFor();
    view.message(msg({ id: '10', text: 'lunch?' }));
    expect(view.message(msg({ id: '11', from: 'carol', text: 'yes', replyTo: { id: '10', from: 'bob', text: 'lunch?' } }))).toBe(
      '  ↪ [1] bob: lunch?\n[2] 19:33 carol: yes',
    );
    expect(view.message(msg({ id: '12', text: 'hm', replyTo: { id: '3', from: 'dave', text: 'first line\nsecond' } }))).toBe('  ↪ dave: first line\n[3] 19:33 bob: hm');
    expect(view.message(msg({ id: '13', text: 'gone?', replyTo: { id: '4', deleted: true } }))).toBe('  ↪ (a deleted message)\n[4] 19:33 bob: gone?');
  });

  it('marks a mention of me: @you in a pipe, bold reverse video at a terminal', () => {
    const piped = viewFor().view;
    expect(piped.message(msg({ id: '20', text: 'ping @alice', mentions: ['alice'] }))).toBe('[1] @you 19:33 bob: ping @alice');
    expect(piped.message(msg({ id: '21', text: 'ping @carol', mentions: ['carol'] }))).toBe('[2] 19:33 bob: ping @carol');
    expect(piped.message(msg({ id: '22', text: 'all @here', mentionsHere: true }))).toBe('[3] @you 19:33 bob: all @here');
    // my own @here is not a mention of me
    expect(piped.message(msg({ id: '23', from: 'alice', text: '@here', mentionsHere: true }))).toBe('[4] 19:33 alice: @here');
    const tty = viewFor({ tty: true }).view;
    expect(tty.message(msg({ id: '24', text: 'ping @alice', mentions: ['alice'] }))).toBe('\x1b[1;7m[1] 19:33 bob:\x1b[0m ping @alice');
  });

  it('shows reactions under the text, and renders other people’s control characters harmless', () => {
    const { view } = viewFor();
    const shown = view.message(msg({ id: '30', from: 'b\x1b[2Job', text: 'x\x1b]0;pwned\x07', reactions: [{ emoji: '👍', count: 2, users: ['a', 'b'] }, { emoji: '\x1b[31m', count: 1 }] }));
    expect(shown).toBe(`[1] 19:33 b�[2Job: x�]0;pwned�\n${under('[1] 19:33 b�[2Job: ')}👍 2 �[31m 1`);
    expect(shown).not.toContain('\x1b');
  });

  it('shows no tombstone', () => {
    const { view } = viewFor();
    expect(view.message(msg({ id: '40', text: '', deleted: true }))).toBeUndefined();
  });
});

describe('changes', () => {
  it('tells an edit, a deletion and a change of reactions by number, once each', () => {
    const { view } = viewFor();
    view.message(msg({ id: '1', text: 'first', seq: '1' }));
    view.message(msg({ id: '2', text: 'typo', seq: '2' }));
    expect(view.change(msg({ id: '2', text: 'fixed', seq: '3', editedAt: '2026-11-30T19:34:00.000Z' }))).toEqual(['* bob edited [2]: fixed']);
    // the same state again (my own echo, a catch-up page): nothing
    expect(view.change(msg({ id: '2', text: 'fixed', seq: '3', editedAt: '2026-11-30T19:34:00.000Z' }))).toEqual([]);
    const reacted = msg({ id: '2', text: 'fixed', seq: '4', editedAt: '2026-11-30T19:34:00.000Z', reactions: [{ emoji: '👍', count: 2 }, { emoji: '❤️', count: 1 }] });
    expect(view.change(reacted)).toEqual(['* [2] reactions: 👍 2 ❤️ 1']);
    // an older state arriving late changes nothing
    expect(view.change(msg({ id: '2', text: 'typo', seq: '2' }))).toEqual([]);
    expect(view.change({ ...reacted, seq: '5', reactions: [] })).toEqual(['* [2] reactions: none']);
    expect(view.change(msg({ id: '1', text: '', seq: '6', deleted: true }))).toEqual(['* bob deleted [1]']);
    expect(view.change(msg({ id: '1', text: '', seq: '7', deleted: true }))).toEqual([]);
    expect(view.resolve('general', '1', 'any')).toEqual({ error: 'Message [1] in #general was deleted.' });
  });

  it('names the room of a change elsewhere, and indents a multi-line edit', () => {
    const { view } = viewFor();
    view.message(msg({ id: '1', room: 'ops', text: 'a', seq: '1' }));
    expect(view.change(msg({ id: '1', room: 'ops', text: 'b\nc', seq: '2', editedAt: '2026-11-30T19:34:00.000Z' }))).toEqual(['* [#ops] bob edited [1]: b\n                         c']);
  });

  it('in a catch-up: a message past what was held is new and shown whole; an older one never shown gets a number', () => {
    const { view } = viewFor();
    view.message(msg({ id: '1', text: 'seen', seq: '1', at: '2026-11-30T19:00:00.000Z' }));
    const page = [
      msg({ id: '0', text: 'old, edited while away', seq: '5', at: '2026-11-30T18:00:00.000Z', editedAt: '2026-11-30T19:50:00.000Z' }),
      msg({ id: '1', text: 'seen, now changed', seq: '6', editedAt: '2026-11-30T19:51:00.000Z' }),
      msg({ id: '3', text: 'said while away', seq: '7', at: '2026-11-30T19:52:00.000Z' }),
      msg({ id: '4', text: '', seq: '9', deleted: true }), // said and taken back while away
    ];
    expect(view.page(page, '1')).toEqual(['* bob edited [2]: old, edited while away', '* bob edited [1]: seen, now changed', '[3] 19:52 bob: said while away']);
  });

  it('after a restart (nothing remembered): an old message whose reactions changed is shown with them', () => {
    const { view } = viewFor();
    view.watermark = '2026-11-30T20:00:00.000Z';
    expect(view.page([msg({ id: '7', text: 'lunch', seq: '30', editedAt: '2026-11-30T19:00:00.000Z', reactions: [{ emoji: '🍕', count: 3 }] })], '9')).toEqual([
      `[1] 19:33 bob: lunch (edited)\n${under('[1] 19:33 bob: ')}🍕 3`,
    ]);
  });

  it('sums up deletions of messages never shown here, and says nothing more after a purge it was told', () => {
    const { view } = viewFor();
    const tombstones = ['1', '2', '3'].map((id) => msg({ id, from: 'dave', text: '', deleted: true, seq: `1${id}` }));
    expect(view.page(tombstones, '50')).toEqual(['* dave deleted 3 earlier messages']);
    expect(view.page([msg({ id: '4', from: 'dave', text: '', deleted: true, at: '2026-11-30T18:05:00.000Z' })], '50')).toEqual(['* dave deleted a message of 18:05']);

    view.message(msg({ id: '60', from: 'erin', text: 'mine to purge', seq: '60' }));
    view.purged('general', 'erin', '70');
    const purge = ['60', '61'].map((id) => msg({ id, from: 'erin', text: '', deleted: true, seq: `8${id}` }));
    expect(view.page(purge, '70')).toEqual([]);
  });

  it('turns my delete reply into the same line', () => {
    const { view } = viewFor();
    view.message(msg({ id: '9', from: 'alice', text: 'oops', seq: '9' }));
    expect(view.deletedOne('general', '9', '10')).toEqual(['* alice deleted [1]']);
    expect(view.deletedOne('general', '9', '10')).toEqual([]);
  });
});

describe('commands', () => {
  function ready() {
    const { view, state } = viewFor();
    view.message(msg({ id: '1', from: 'alice', text: 'mine, older' }));
    view.message(msg({ id: '2', from: 'alice', text: 'mine, latest' }));
    view.message(msg({ id: '3', from: 'bob', text: 'bob’s' }));
    return { view, state };
  }

  it('/edit: my last message by default, or [N]; the text keeps its spaces', () => {
    const { view } = ready();
    expect(parseCommand(view, 'general', '/edit', ' fixed  it')).toEqual({ frame: { action: 'edit', room: 'general', message: '2', text: 'fixed  it' }, n: 2 });
    expect(parseCommand(view, 'general', '/edit', ' [1] a  b')).toEqual({ frame: { action: 'edit', room: 'general', message: '1', text: 'a  b' }, n: 1 });
    // bob's: the server decides (forbidden), the terminal does not guess
    expect(parseCommand(view, 'general', '/edit', ' 3 mine now')).toMatchObject({ frame: { message: '3' } });
    expect(parseCommand(view, 'general', '/edit', ' 2')).toEqual({ usage: 'usage: /edit [N] TEXT' });
    expect(parseCommand(view, 'general', '/edit', '')).toEqual({ usage: 'usage: /edit [N] TEXT' });
    expect(parseCommand(view, 'general', '/edit', ' 9 text')).toEqual({ error: 'There is no message [9] in #general; numbers are per room.' });
    expect(parseCommand(view, 'ops', '/edit', ' text')).toEqual({ error: 'You have not sent a message in #ops here yet.' });
  });

  it('/delete: my last by default, or [N], with a question for a terminal', () => {
    const { view } = ready();
    expect(parseCommand(view, 'general', '/delete', '')).toEqual({
      frame: { action: 'delete', room: 'general', message: '2' },
      n: 2,
      confirm: 'delete [2] "mine, latest"? (y/N) ',
    });
    expect(parseCommand(view, 'general', '/delete', ' 1')).toMatchObject({ frame: { message: '1' } });
    expect(parseCommand(view, 'general', '/delete', ' all of them')).toEqual({ usage: 'usage: /delete [N]' });
    expect(parseCommand(view, 'general', '/delete', ' 7')).toEqual({ error: 'There is no message [7] in #general; numbers are per room.' });
  });

  it('/reply needs the number; /react and /unreact take the last message by default', () => {
    const { view } = ready();
    expect(parseCommand(view, 'general', '/reply', ' 3 sure thing')).toEqual({ frame: { action: 'send', room: 'general', text: 'sure thing', replyTo: '3' }, n: 3 });
    expect(parseCommand(view, 'general', '/reply', ' sure thing')).toEqual({ usage: 'usage: /reply N TEXT' });
    expect(parseCommand(view, 'general', '/react', ' 👍')).toEqual({ frame: { action: 'react', room: 'general', message: '3', emoji: '👍', on: true }, n: 3 });
    expect(parseCommand(view, 'general', '/unreact', ' 1 👍🏽')).toEqual({ frame: { action: 'react', room: 'general', message: '1', emoji: '👍🏽', on: false }, n: 1 });
    // what is an emoji is the server's to say
    expect(parseCommand(view, 'general', '/react', ' 1 hello')).toMatchObject({ frame: { emoji: 'hello' } });
    expect(parseCommand(view, 'general', '/react', ' 1')).toEqual({ usage: 'usage: /react [N] EMOJI' });
    expect(parseCommand(viewFor().view, 'general', '/react', ' 👍')).toEqual({ error: 'There is no message in #general yet.' });
  });

  it('/readreceipts on|off', () => {
    const { view } = ready();
    expect(parseCommand(view, 'general', '/readreceipts', ' off')).toEqual({ frame: { action: 'settings', readReceipts: false } });
    expect(parseCommand(view, 'general', '/readreceipts', ' ON')).toEqual({ frame: { action: 'settings', readReceipts: true } });
    expect(parseCommand(view, 'general', '/readreceipts', ' maybe')).toEqual({ usage: 'usage: /readreceipts on|off' });
    expect(parseCommand(view, 'general', '/who', '')).toBeUndefined();
  });

  it('/notify off|mentions|all and /notify quote on|off (E24)', () => {
    const { view } = ready();
    expect(parseCommand(view, 'general', '/notify', ' off')).toEqual({ frame: { action: 'settings', notify: 'off' } });
    expect(parseCommand(view, 'general', '/notify', ' ALL')).toEqual({ frame: { action: 'settings', notify: 'all' } });
    expect(parseCommand(view, 'general', '/notify', ' mentions')).toEqual({ frame: { action: 'settings', notify: 'mentions' } });
    expect(parseCommand(view, 'general', '/notify', ' quote on')).toEqual({ frame: { action: 'settings', notifyQuote: true } });
    expect(parseCommand(view, 'general', '/notify', ' quote off')).toEqual({ frame: { action: 'settings', notifyQuote: false } });
    for (const bad of [' sometimes', ' quote', ' quote maybe', ' off now']) {
      expect(parseCommand(view, 'general', '/notify', bad)).toEqual({ usage: 'usage: /notify off|mentions|all, or /notify quote on|off' });
    }
  });
});

describe('cursors', () => {
  it('moves along the chain only, holding back what overtook', () => {
    const c = new ChainCursors();
    c.advance('general', '1', '2'); // no cursor yet: ignored
    expect(c.has('general')).toBe(false);
    c.set('general', '10');
    c.advance('general', '12', '13'); // overtook 11 -> 12
    expect(c.get('general')).toBe('10');
    c.advance('general', '10', '12');
    expect(c.get('general')).toBe('13');
    c.raise('general', '9');
    expect(c.get('general')).toBe('13');
    c.raise('general', '100000000000000000001');
    expect(c.get('general')).toBe('100000000000000000001');
    c.set('empty', null);
    c.advance('empty', null, '4');
    expect(c.get('empty')).toBe('4');
  });
});

describe('typing', () => {
  it('says who types where, forgets them after 6 s or when their message lands', () => {
    const t = new Typing();
    const label = (r: string) => `#${r}`;
    t.typing('general', 'bob', 0);
    expect(t.status(1000, 'general', label)).toBe('bob is typing…');
    t.typing('general', 'carol', 1000);
    t.typing('ops', 'dave', 1000);
    expect(t.status(2000, 'general', label)).toBe('bob and carol are typing; dave is typing in #ops…');
    t.stopped('general', 'carol');
    expect(t.nextExpiry(2000)).toBe(6000);
    expect(t.status(6500, 'general', label)).toBe('dave is typing in #ops…');
    expect(t.status(7001, 'general', label)).toBeUndefined();
    for (const u of ['a', 'b', 'c', 'd']) t.typing('general', u, 8000);
    expect(t.status(8001, 'general', label)).toBe('4 people are typing…');
  });
});

describe('badges and the saved state', () => {
  it('badge', () => {
    expect(badge(undefined, undefined)).toBe('');
    expect(badge(0, 0)).toBe('');
    expect(badge(3, 1)).toBe(' (3 unread, 1 mention)');
    expect(badge(999, 2)).toBe(' (999+ unread, 2 mentions)');
  });

  it('reads back only a sound file of the same person', () => {
    const good = JSON.stringify({ user: 'alice', watermark: '2026-11-30T19:00:00.000Z', rooms: { general: { id: '12', seq: '40' }, empty: { id: null, seq: '3' }, bad: { id: 'x', seq: '1' }, worse: { seq: 5 } } });
    expect(parseSavedState(good, 'alice')).toEqual({
      user: 'alice',
      watermark: '2026-11-30T19:00:00.000Z',
      rooms: { general: { id: '12', seq: '40' }, empty: { id: null, seq: '3' } },
    });
    expect(parseSavedState(good, 'bob')).toBeUndefined();
    expect(parseSavedState('{not json', 'alice')).toBeUndefined();
    expect(parseSavedState('null', 'alice')).toBeUndefined();
  });
});
