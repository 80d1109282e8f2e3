// The password prompt at a real terminal (a pseudo-terminal from util-linux
// `script`): the question stays on the screen with the cursor after it, and what
// is typed appears nowhere, not even as stars, through typos and backspaces.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { signUp } from '../helpers/client.js';

const local = useCliWorld('ww-cli-pty-');

it('shows "password: " with the cursor after it, echoes nothing typed, and logs in', async () => {
  const account = await signUp(local.server);
  await account.close();
  const cli = startCli(local.server.wsUrl, local.home, { pty: true });
  try {
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    await cli.settle();
    cli.write(`/login ${account.username}\r`);
    await cli.waitFor(/password: /);
    await cli.settle();
    expect(cli.screen().currentRow).toBe('password:'); // rows are read with trailing blanks trimmed
    expect(cli.screen().cursor.col).toBe('password: '.length);

    const before = cli.output().length;
    // a typo, fixed with backspace, and the rest in two bursts as fingers type
    cli.write('correct horsX');
    await cli.settle(150);
    cli.write('\x7fe battery');
    await cli.settle();
    const typed = cli.output().slice(before);
    expect(typed).not.toMatch(/correct|horse|battery|\*/);
    expect(cli.screen().currentRow).toBe('password:'); // rows are read with trailing blanks trimmed
    expect(cli.screen().cursor.col).toBe('password: '.length);

    cli.write('\r');
    await cli.waitFor(new RegExp(`logged in as ${account.username}`));
    await cli.settle();
    expect(cli.screen().rows).toContain('password:');
    expect(cli.output()).not.toContain(account.password);
    // readline has its keys back: an ordinary line is typed and shown as usual
    cli.write('/rooms');
    await cli.waitFor(/\/rooms/);
    cli.write('\r');
    await cli.waitFor(/\* rooms: #general; current: #general/);
  } finally {
    await cli.quit();
  }
});

it('Ctrl-C at the password cancels the command, not the client', async () => {
  const cli = startCli(local.server.wsUrl, join(local.home, 'other'), { pty: true });
  try {
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    await cli.settle();
    cli.write('/login nobody\r');
    await cli.waitFor(/password: /);
    await cli.settle();
    cli.write('secret\x03');
    await cli.waitFor(/\* cancelled/);
    expect(cli.output()).not.toContain('secret');
    cli.write('/help\r');
    await cli.waitFor(/Commands:/);
  } finally {
    await cli.quit();
  }
});
