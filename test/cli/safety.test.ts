// Blocks and reports from the terminal (E22): the commands' pure rules
// (cli/safety.ts), and against the real server: alice blocks bob with /block,
// lists with /blocks, sees his channel message hidden behind a marked line and
// his presence not at all, reports a message with /report N REASON, and unblocks.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConversationView, type Message } from '../../cli/conversation.js';
import { BlockList, describeSafetyReply, parseSafetyCommand } from '../../cli/safety.js';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { newAccount, resumeAs, signUp } from '../helpers/client.js';

describe('the commands', () => {
  const view = new ConversationView({ tty: false, me: () => 'alice', current: () => 'general', label: (r) => `#${r}`, time: (iso) => iso.slice(11, 16) });
  const msg = (fields: Partial<Message>): Message => ({ id: '7', room: 'general', from: 'bob', text: 'hi', at: '2026-12-01T01:00:00.000Z', seq: '1', ...fields });

  it('reads /block, /unblock, /blocks and /report', () => {
    view.message(msg({}));
    expect(parseSafetyCommand(view, 'general', '/block', ' @Bob')).toEqual({ frame: { action: 'block', user: 'bob' } });
    expect(parseSafetyCommand(view, 'general', '/unblock', ' bob')).toEqual({ frame: { action: 'unblock', user: 'bob' } });
    expect(parseSafetyCommand(view, 'general', '/block', '')).toEqual({ usage: 'usage: /block USER' });
    expect(parseSafetyCommand(view, 'general', '/block', ' bob carol')).toEqual({ usage: 'usage: /block USER' });
    expect(parseSafetyCommand(view, 'general', '/blocks', '')).toEqual({ frame: { action: 'blocks' } });
    expect(parseSafetyCommand(view, 'general', '/report', ' 1   spam and  more')).toEqual({
      frame: { action: 'report', room: 'general', message: '7', reason: 'spam and  more' },
      n: 1,
    });
    expect(parseSafetyCommand(view, 'general', '/report', ' 1')).toEqual({ usage: 'usage: /report N REASON' });
    expect(parseSafetyCommand(view, 'general', '/report', ' spam 1')).toEqual({ usage: 'usage: /report N REASON' });
    expect(parseSafetyCommand(view, 'general', '/report', ' 9 spam')).toEqual({ error: 'There is no message [9] in #general; numbers are per room.' });
    expect(parseSafetyCommand(view, 'general', '/edit', ' 1 x')).toBeUndefined();
  });

  it('hides a blocked person’s channel messages, not their DMs, and says what the replies mean', () => {
    const blocks = new BlockList();
    expect(describeSafetyReply({ type: 'blocks', blocks: ['bob', 42] }, blocks)).toBe('* you have blocked bob; /unblock USER to undo');
    expect(blocks.mask(msg({ text: 'secret', replyTo: { id: '1', from: 'x', text: 'y' } }))).toMatchObject({ text: '(message from a blocked person, hidden)', replyTo: undefined });
    expect(blocks.mask(msg({ room: 'dm:alice:bob', text: 'dm' })).text).toBe('dm');
    expect(blocks.mask(msg({ from: 'carol', text: 'fine' })).text).toBe('fine');
    expect(describeSafetyReply({ type: 'blocks', blocks: [] }, blocks)).toBe('* you have blocked nobody');
    expect(describeSafetyReply({ type: 'reported', report: '3' }, blocks, 4)).toBe("* reported [4] to the server's administrators; thank you");
    expect(describeSafetyReply({ type: 'suspended', message: 'This account is suspended for good.' }, blocks)).toBe('! This account is suspended for good.');
    expect(describeSafetyReply({ type: 'error', code: 'x', message: 'y' }, blocks)).toBeUndefined();
  });
});

describe('against the server', () => {
  const local = useCliWorld('ww-cli-safety-');

  it('blocks, hides, reports and unblocks', async () => {
    const alice = await signUp(local.server, newAccount('alice'));
    const bob = await signUp(local.server, newAccount('bob'));
    await bob.request({ action: 'send', room: 'general', text: 'before the block', clientId: 'b1' });
    const cli = startCli(local.server.wsUrl, join(local.home, 'a'));
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    cli.write(`/login ${alice.username}\n${alice.password}\n`);
    await cli.waitFor(new RegExp(`logged in as ${alice.username}`));
    await bob.request({ action: 'send', room: 'general', text: 'shown', clientId: 'b2' });
    const shown = await cli.waitFor(/\[(\d+)\] \d\d:\d\d \S+: shown/);
    const n = /\[(\d+)\]/.exec(shown)![1];

    cli.write(`/report ${n} not nice at all\n`);
    await cli.waitFor(new RegExp(`\\* reported \\[${n}\\] to the server's administrators; thank you`));
    const [row] = await local.server.db.sql`select reason from reports`;
    expect(row).toEqual({ reason: 'not nice at all' });
    cli.write(`/report ${n} again\n`);
    await cli.waitFor(/You have reported this message already/);

    cli.write(`/block ${bob.username}\n`);
    await cli.waitFor(new RegExp(`\\* you have blocked ${bob.username}; /unblock USER to undo`));
    await bob.request({ action: 'send', room: 'general', text: 'hidden words', clientId: 'b3' });
    await cli.waitFor(new RegExp(`\\[\\d+\\] \\d\\d:\\d\\d ${bob.username}: \\(message from a blocked person, hidden\\)`));
    // bob's presence is not shown: a second device of his comes and goes unseen
    const phone = await resumeAs(local.server, bob.token!);
    await bob.close();
    await phone.close();
    await cli.settle(500);
    cli.write('/blocks\n');
    await cli.waitFor(new RegExp(`\\* you have blocked ${bob.username};.*\\n`));
    expect(cli.output()).not.toContain('hidden words');
    expect(cli.output()).not.toMatch(new RegExp(`\\* ${bob.username} is (online|offline)`));

    cli.write(`/unblock ${bob.username}\n`);
    await cli.waitFor(/\* you have blocked nobody/);
    await cli.quit();
    await alice.close();
  }, 60_000);
});
