// Disappearing messages from the terminal: the view's pure rules (announcements,
// the expiry mark, quotes of a message that disappeared, `/timer`'s words), and
// against the real server with the test-only 5-second timer: alice sets it with
// /timer in her DM with bob, both see the announcement, and her next line is
// marked gone at its expiry on her terminal without a word from the server.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConversationView, parseCommand, type Message } from '../../cli/conversation.js';
import { dmRoomId } from '../../functions/core/names.js';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { newAccount, signUp } from '../helpers/client.js';

describe('the view', () => {
  let now = Date.parse('2026-11-30T19:33:30.000Z');
  const view = new ConversationView({
    tty: false,
    me: () => 'alice',
    current: () => 'general',
    label: (r) => `#${r}`,
    time: (iso) => iso.slice(11, 16),
    now: () => now,
  });
  const msg = (fields: Partial<Message>): Message => ({ id: '1', room: 'general', from: 'bob', text: 'hi', at: '2026-11-30T19:33:00.000Z', seq: '1', ...fields });

  it('shows an announcement as a line of its own, and when a message disappears', () => {
    expect(view.message(msg({ id: '1', text: 'bob set messages to disappear after 1 hour', timer: 3600 }))).toBe('[1] 19:33 * bob set messages to disappear after 1 hour');
    expect(view.message(msg({ id: '2', text: 'bob turned off disappearing messages', timer: 0 }))).toBe('[2] 19:33 * bob turned off disappearing messages');
    expect(view.message(msg({ id: '3', text: 'secret', expiresAt: '2026-11-30T19:34:00.000Z' }))).toBe('[3] 19:33 bob: secret (disappears at 19:34)');
    expect(view.message(msg({ id: '4', text: 'stays' }))).toBe('[4] 19:33 bob: stays');
    // one whose time came before it arrived is not shown
    expect(view.message(msg({ id: '5', text: 'too late', expiresAt: '2026-11-30T19:33:29.000Z' }))).toBeUndefined();
  });

  it('marks messages gone at their time, once, and stops naming and quoting them', () => {
    expect(view.expire(now)).toEqual([]);
    expect(view.nextExpiry()).toBe(Date.parse('2026-11-30T19:34:00.000Z'));
    const reply = msg({ id: '6', text: 'answer', replyTo: { id: '3', from: 'bob', text: 'secret', expiresAt: '2026-11-30T19:34:00.000Z' } });
    expect(view.message(reply)).toBe('  ↪ [3] bob: secret\n[5] 19:33 bob: answer'); // the one not shown has no number
    now = Date.parse('2026-11-30T19:34:00.000Z');
    expect(view.expire(now)).toEqual(['* [3] disappeared']);
    expect(view.expire(now)).toEqual([]);
    expect(view.nextExpiry()).toBeUndefined();
    expect(view.format(reply, 5)).toBe('  ↪ [3] (a message that disappeared)\n[5] 19:33 bob: answer');
    expect(view.format({ ...reply, replyTo: { id: '3', deleted: true, expired: true } }, 5)).toBe('  ↪ [3] (a message that disappeared)\n[5] 19:33 bob: answer');
    expect(view.resolve('general', '3', 'any')).toEqual({ error: 'Message [3] in #general disappeared.' });
    expect(parseCommand(view, 'general', '/reply', ' 3 hm')).toEqual({ error: 'Message [3] in #general disappeared.' });
  });

  it('reads /timer’s words, and nothing else', () => {
    const words: [string, number | null][] = [['off', null], ['5s', 5], ['5m', 300], ['1h', 3600], ['1d', 86400], ['1W', 604800]];
    for (const [word, seconds] of words) {
      expect(parseCommand(view, 'ops', '/timer', ` ${word}`)).toEqual({ frame: { action: 'set_timer', room: 'ops', seconds } });
    }
    for (const bad of ['', '2h', 'constructor', '1h 1d', 'on']) {
      expect(parseCommand(view, 'ops', '/timer', ` ${bad}`)).toEqual({ usage: 'usage: /timer off|5m|1h|1d|1w' });
    }
  });
});

describe('against the server', () => {
  const local = useCliWorld('ww-cli-dis-', { DISAPPEAR_TEST_SECONDS: '5' });

  it('sets the timer with /timer, shows announcements, and marks a message gone at its expiry', async () => {
    const alice = await signUp(local.server, newAccount('alice'));
    const bob = await signUp(local.server, newAccount('bob'));
    const room = dmRoomId(alice.username!, bob.username!);
    await bob.request({ action: 'send', room, text: 'hello', clientId: 'b1' });
    const cli = startCli(local.server.wsUrl, join(local.home, 'a'));
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    cli.write(`/login ${alice.username}\n${alice.password}\n`);
    await cli.waitFor(new RegExp(`logged in as ${alice.username}`));

    cli.write(`/dm ${bob.username}\n/timer 2h\n`);
    await cli.waitFor(/usage: \/timer off\|5m\|1h\|1d\|1w/);
    cli.write('/timer 5s\n');
    await cli.waitFor(new RegExp(`\\* ${alice.username} set messages to disappear after 5 seconds`));
    const heard = await bob.next((f) => f.type === 'message' && (f.message as Message).timer === 5);
    expect((heard.message as Message).text).toBe(`${alice.username} set messages to disappear after 5 seconds`);
    cli.write('/timer 5s\n'); // the same again: nothing announced, where it stands
    await cli.waitFor(/\* messages in DM with \S+ disappear after 5 seconds/);

    cli.write('gone soon\n');
    const shown = await cli.waitFor(/\[(\d+)\] \d\d:\d\d \S+: gone soon \(disappears at \d\d:\d\d\)/);
    const n = /\[(\d+)\]/.exec(shown)![1];
    await cli.waitFor(new RegExp(`\\* \\[${n}\\] disappeared`), 10_000);
    cli.write(`/reply ${n} too late\n`);
    await cli.waitFor(new RegExp(`! Message \\[${n}\\] in DM with \\S+ disappeared\\.`));

    await bob.request({ action: 'set_timer', room, seconds: null });
    await cli.waitFor(new RegExp(`\\* ${bob.username} turned off disappearing messages`));
    await cli.quit();
    await Promise.all([alice.close(), bob.close()]);
  }, 40_000);
});
