// Profiles, export and account deletion from the terminal (E20): the view shows
// display names beside usernames and "deleted user"; against the real server,
// alice sets her profile and picture, sees bob's name live, exports her data to
// a file and deletes her account, and bob hears of each.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConversationView, type Message } from '../../cli/conversation.js';
import { Profiles } from '../../cli/profile.js';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { newAccount, signUp } from '../helpers/client.js';
import { PNG } from '../helpers/files.js';

describe('the view', () => {
  it('shows a display name beside the username, and a deleted account as "deleted user"', () => {
    const profiles = new Profiles();
    const view = new ConversationView({
      tty: false,
      me: () => 'alice',
      current: () => 'general',
      label: (r) => `#${r}`,
      time: (iso) => iso.slice(11, 16),
      name: (u) => profiles.label(u),
    });
    const msg = (fields: Partial<Message>): Message => ({ id: '1', room: 'general', from: 'bob', text: 'hi', at: '2026-11-30T19:33:00.000Z', seq: '1', ...fields });
    profiles.note({ username: 'bob', displayName: 'Bob \u202eBuilder', status: 'busy' });
    profiles.note({ username: 'carol', displayName: 'Carol' });
    expect(view.message(msg({}))).toBe('[1] 19:33 Bob �Builder (bob): hi');
    expect(view.message(msg({ id: '2', from: 'carol', text: 'same name' }))).toBe('[2] 19:33 carol: same name');
    expect(view.message(msg({ id: '3', from: '~42', text: 'from the past' }))).toBe('[3] 19:33 deleted user: from the past');
    profiles.note({ username: 'bob', deleted: true });
    expect(view.message(msg({ id: '4', text: 'gone' }))).toBe('[4] 19:33 deleted user: gone');
    expect(profiles.describe('carol')).toBe('carol');
    profiles.note({ username: 'dora', displayName: 'Dora D', status: 'on call' });
    expect(profiles.member('dora')).toBe('dora (Dora D) — on call');
  });
});

describe('against the server', () => {
  const local = useCliWorld('ww-cli-profile-');

  it('sets a profile and picture, shows names live, exports to a file, deletes the account', async () => {
    const alice = newAccount('alice');
    const aliceWs = await signUp(local.server, alice);
    await aliceWs.close();
    const bob = await signUp(local.server, newAccount('bob'));
    const png = join(local.home, 'me.png');
    await writeFile(png, PNG);
    const cli = startCli(local.server.wsUrl, join(local.home, 'a'));
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    cli.write(`/login ${alice.username}\n${alice.password}\n`);
    await cli.waitFor(new RegExp(`logged in as ${alice.username}`));

    cli.write('/profile name Alice Wonder\n');
    await cli.waitFor(new RegExp(`your profile: Alice Wonder \\(${alice.username}\\)`));
    await bob.next((f) => f.type === 'profile' && f.username === alice.username && f.displayName === 'Alice Wonder');
    cli.write('/profile status reading\n');
    await cli.waitFor(/your profile: .* — reading/);
    cli.write(`/profile avatar ${png}\n`);
    await cli.waitFor(/your profile: .* \(has a picture\)/);
    expect((await bob.request({ action: 'avatars', users: [alice.username] })).avatars).toHaveLength(1);

    await bob.request({ action: 'set_profile', displayName: 'Bob Builder' });
    await bob.request({ action: 'send', room: 'general', text: 'hello there', clientId: 'b1' });
    await cli.waitFor(new RegExp(`Bob Builder \\(${bob.username}\\): hello there`));
    cli.write(`/whois ${bob.username}\n`);
    await cli.waitFor(new RegExp(`\\* Bob Builder \\(${bob.username}\\)`));

    cli.write('my last words\n');
    await cli.waitFor(/my last words/);
    const file = join(local.home, 'export.json');
    cli.write(`/export ${file}\n`);
    await cli.waitFor(/saved your data to .*export\.json: 1 rooms, 1 messages/);
    const data = JSON.parse(await readFile(file, 'utf8'));
    expect(data.profile).toMatchObject({ username: alice.username, displayName: 'Alice Wonder', status: 'reading', email: alice.email });
    expect(data.messages.map((m: { text: string }) => m.text)).toEqual(['my last words']);
    cli.write(`/export ${file}\n`);
    await cli.waitFor(/a file is there already/);

    cli.write('/deleteaccount maybe\n');
    await cli.waitFor(/usage: \/deleteaccount keep\|erase/);
    cli.write(`/deleteaccount keep\n${alice.password}\n`);
    await cli.waitFor(/your account was deleted; your messages stay under "deleted user"/);
    await bob.next((f) => f.type === 'profile' && f.username === alice.username && f.deleted === true);
    await cli.quit();
    const history = await bob.request({ action: 'history', room: 'general' });
    expect((history.messages as Message[]).find((m) => m.text === 'my last words')!.from).toMatch(/^~\d+$/);
    await bob.close();
  }, 60_000);
});
