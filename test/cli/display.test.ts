// How the terminal client shows rooms and messages: rooms by the names people
// use (`#general`, `DM with bob`), never internal ids like `dm:bob:erin`, and a
// multi-line message, after its number, with its continuation lines indented
// under the first line's text.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { newAccount, signUp } from '../helpers/client.js';

const local = useCliWorld('ww-cli-display-');

it('names rooms as people do: #general and "DM with bob", never dm:…', async () => {
  const erin = await signUp(local.server, newAccount('erin'));
  await erin.close();
  const bob = await signUp(local.server, newAccount('bob'));
  const cli = startCli(local.server.wsUrl, join(local.home, 'rooms'));
  cli.write(`/login ${erin.username}\n${erin.password}\n`);
  await cli.waitFor(/\* logged in as .*; rooms: #general\n/);

  // bob writes first: the DM arrives while erin's terminal is in #general
  const dmId = `dm:${[erin.username, bob.username].sort().join(':')}`;
  await bob.request({ action: 'send', room: dmId, text: 'psst', clientId: 'd1' });
  await cli.waitFor(new RegExp(`\\[DM with ${bob.username}\\] \\d\\d:\\d\\d ${bob.username}: psst`));

  cli.write(`/dm ${bob.username}\n`);
  await cli.waitFor(new RegExp(`\\* now in DM with ${bob.username} \\(2 members\\)`));
  cli.write('/join ops\n');
  await cli.waitFor(/\* now in #ops \(1 member\)/);
  cli.write('/rooms\n');
  await cli.waitFor(new RegExp(`\\* rooms: #general, DM with ${bob.username}, #ops; current: #ops`));
  await bob.request({ action: 'join', room: 'ops' });
  await cli.waitFor(new RegExp(`\\* ${bob.username} joined #ops`));
  cli.write('/leave\n');
  await cli.waitFor(/\* left #ops; now in #general/);
  await cli.quit();
  expect(cli.output()).not.toContain('dm:');
  await bob.close();
});

it('indents the continuation lines of a multi-line message under its first line', async () => {
  const alice = await signUp(local.server, newAccount('alice'));
  const reader = await signUp(local.server, newAccount('reader'));
  await reader.close();
  const cli = startCli(local.server.wsUrl, join(local.home, 'lines'));
  cli.write(`/login ${reader.username}\n${reader.password}\n`);
  await cli.waitFor(/\* logged in as/);
  await alice.request({ action: 'send', room: 'general', text: 'release notes:\n- faster\n- safer', clientId: 'm1' });
  const shown = await cli.waitFor(/\[\d+\] \d\d:\d\d \S+: release notes:\n.*\n.*- safer\n/);
  const [first, second, third] = shown.split('\n');
  const head = `${first!.slice(0, first!.indexOf(': ') + 2)}`;
  expect(head).toMatch(new RegExp(`^\\[1\\] \\d\\d:\\d\\d ${alice.username}: $`));
  expect(second).toBe(`${' '.repeat(head.length)}- faster`);
  expect(third).toBe(`${' '.repeat(head.length)}- safer`);
  await cli.quit();
  await alice.close();
});
