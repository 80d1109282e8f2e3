// Channels and moderation from the terminal (E21): the frames the commands send
// and the lines replies print, then against the real server: alice creates a
// channel, sets its topic, renames it, makes it private, invites bob and makes
// him a moderator; bob kicks, bans and unbans carol; `/channels` lists only
// what is public; a removed message reads as removed by a moderator.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directoryLines, roomCommandFrame, roomLine } from '../../cli/rooms.js';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { newAccount, signUp } from '../helpers/client.js';

describe('the commands', () => {
  it('send the frames of E21', () => {
    expect(roomCommandFrame('/topic', ' Plans ahead ', 'ops')).toEqual({ frame: { action: 'update_room', room: 'ops', topic: 'Plans ahead' } });
    expect(roomCommandFrame('/topic', '', 'ops')).toEqual({ frame: { action: 'update_room', room: 'ops', topic: '' } });
    expect(roomCommandFrame('/rename', ' #launch', 'ops')).toEqual({ frame: { action: 'update_room', room: 'ops', name: 'launch' } });
    expect(roomCommandFrame('/rename', '', 'ops')).toEqual({ usage: 'usage: /rename NAME' });
    expect(roomCommandFrame('/private', '', 'ops')).toEqual({ frame: { action: 'update_room', room: 'ops', private: true } });
    expect(roomCommandFrame('/public', '', 'ops')).toEqual({ frame: { action: 'update_room', room: 'ops', private: false } });
    expect(roomCommandFrame('/mod', ' @bob', 'ops')).toEqual({ frame: { action: 'set_role', room: 'ops', user: 'bob', role: 'moderator' } });
    expect(roomCommandFrame('/unmod', ' bob', 'ops')).toEqual({ frame: { action: 'set_role', room: 'ops', user: 'bob', role: 'member' } });
    for (const [cmd, action] of [['/kick', 'kick'], ['/ban', 'ban'], ['/unban', 'unban'], ['/invite', 'invite']]) {
      expect(roomCommandFrame(cmd!, ' carol', 'ops')).toEqual({ frame: { action, room: 'ops', user: 'carol' } });
      expect(roomCommandFrame(cmd!, '', 'ops')).toEqual({ usage: `usage: ${cmd} USER` });
    }
    expect(roomCommandFrame('/channels', '', 'ops')).toEqual({ frame: { action: 'directory' } });
    expect(roomCommandFrame('/channels', ' launch plans', 'ops')).toEqual({ frame: { action: 'directory', query: 'launch plans' } });
  });

  it('print the directory and the events as lines, control characters made harmless', () => {
    expect(directoryLines([{ id: 'ops', name: 'launch', topic: 'Go\x1b[31m', memberCount: 1, joined: true }], '', false)).toBe(
      '#launch (1 member, joined): Go\ufffd[31m\n* /join NAME to join one',
    );
    expect(directoryLines([], 'zz', false)).toBe('* no public channel matches "zz"');
    const label = (r: string) => `#${r}`;
    expect(roomLine({ type: 'removed_from_room', room: 'ops', reason: 'banned', by: 'bob' }, 'carol', label)).toBe('* bob banned you from #ops');
    expect(roomLine({ type: 'role_changed', room: 'ops', user: 'bob', role: 'moderator', by: 'alice' }, 'bob', label)).toBe('* alice made you a moderator of #ops');
  });
});

describe('against the server', () => {
  const local = useCliWorld('ww-cli-rooms-');

  it('creates, moderates and privatises a channel with slash commands', async () => {
    const alice = await signUp(local.server, newAccount('alice'));
    const bob = await signUp(local.server, newAccount('bob'));
    const carol = await signUp(local.server, newAccount('carol'));
    const room = `cli-${process.pid % 1000}`;
    const cli = startCli(local.server.wsUrl, join(local.home, 'a'));
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    cli.write(`/login ${alice.username}\n${alice.password}\n`);
    await cli.waitFor(new RegExp(`logged in as ${alice.username}`));

    cli.write(`/join ${room}\n/topic Launch plans\n`);
    await cli.waitFor(/\* you updated #\S+: public; topic: Launch plans/);
    expect((await carol.request({ action: 'directory', query: room })).channels).toMatchObject([{ id: room, topic: 'Launch plans' }]);
    cli.write(`/channels ${room}\n`);
    await cli.waitFor(new RegExp(`#${room} \\(1 member, joined\\): Launch plans`));
    await carol.request({ action: 'join', room });
    const said = await carol.request({ action: 'send', room, text: 'spam spam', clientId: 'c1' });
    await cli.waitFor(/\[1\] .*spam spam/);

    cli.write(`/private\n/invite ${bob.username}\n/mod ${bob.username}\n`);
    await cli.waitFor(/: private \(invitation only\)/);
    await cli.waitFor(new RegExp(`\\* added ${bob.username} to #${room}`));
    await cli.waitFor(new RegExp(`\\* you made ${bob.username} a moderator of #${room}`));
    expect(await bob.next('added_to_room')).toMatchObject({ room: { id: room, private: true } });
    expect((await carol.request({ action: 'directory', query: room })).channels).toEqual([]);

    cli.write(`/remove 1\n`);
    await cli.waitFor(/\* removed \[1\]/);
    await cli.waitFor(new RegExp(`\\* \\[1\\] by ${carol.username} was removed by a moderator`));
    expect((await carol.next((f) => f.type === 'changed')).message).toMatchObject({ id: (said.message as { id: string }).id, removedBy: alice.username });

    cli.write(`/kick ${carol.username}\n`);
    await cli.waitFor(new RegExp(`\\* removed ${carol.username} from #${room}`));
    expect(await carol.next('removed_from_room')).toMatchObject({ room, reason: 'kicked' });
    cli.write(`/ban ${carol.username}\n/bans\n`);
    await cli.waitFor(new RegExp(`banned: ${carol.username} by ${alice.username}`));
    cli.write(`/unban ${carol.username}\n`);
    await cli.waitFor(new RegExp(`\\* ${carol.username} may join #${room} again`));
    cli.write(`/rename ${room}-x\n/public\n`);
    await cli.waitFor(new RegExp(`you updated #${room}-x: public`));
    // a plain member is refused with the server's sentence
    const bcli = startCli(local.server.wsUrl, join(local.home, 'c'));
    await bcli.waitFor(/\/register USER EMAIL to sign up/);
    bcli.write(`/login ${carol.username}\n${carol.password}\n`);
    await bcli.waitFor(new RegExp(`logged in as ${carol.username}`));
    bcli.write(`/join ${room}-x\n/topic mine\n`);
    await bcli.waitFor(/Only the channel's owner and moderators can set its topic/);
    await Promise.all([cli.quit(), bcli.quit(), alice.close(), bob.close(), carol.close()]);
  });
});
