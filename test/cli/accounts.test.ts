// Account recovery and devices (E18) at the terminal, against the real server:
// /devices lists where alice is logged in, /logout-device N ends another
// session and its socket closes, /password and /email change the account, and
// /forgot at the login prompt resets the password with the mailed code, which
// logs the other terminal out.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceLine } from '../../cli/account.js';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { newAccount, signUp } from '../helpers/client.js';

describe('/devices lines', () => {
  it('name the device, the address and the last use, and mark this device', () => {
    const line = deviceLine(1, { id: '4', device: 'Firefox on Linux', ip: '192.0.2.1', lastIp: '192.0.2.9', lastUsedAt: '2026-11-30T14:05:00.000Z', current: true }, (t) => t);
    expect(line).toMatch(/^1\. Firefox on Linux · 192\.0\.2\.9 · last used 2026-11-30 \d\d:05 \(this device\)$/);
    expect(deviceLine(2, { id: '5', device: 'x\u001b[31m', ip: null, lastIp: null, lastUsedAt: '2026-11-30T14:05:00.000Z' }, (t) => t.replace(/\u001b/g, '?'))).toMatch(
      /^2\. x\?\[31m · last used/,
    );
  });
});

describe('against the server', () => {
  const local = useCliWorld('ww-cli-acct-');

  it('lists devices, logs one out, changes the password and the email', async () => {
    const alice = await signUp(local.server, newAccount('alice'));
    const cli = startCli(local.server.wsUrl, join(local.home, 'a'));
    await cli.waitFor(/\/forgot USER if you forgot your password/);
    cli.write(`/login ${alice.username}\n${alice.password}\n`);
    await cli.waitFor(new RegExp(`logged in as ${alice.username}`));

    cli.write('/devices\n');
    await cli.waitFor(/1\. Wild Whispers CLI on Linux · \S+ · last used [\d-]+ [\d:]+ \(this device\)\n2\. Unknown device/);
    cli.write('/logout-device 1\n');
    await cli.waitFor(/That is this device; \/logout to log out here\./);
    cli.write('/logout-device 2\n');
    await cli.waitFor(/\* logged out Unknown device/);
    await alice.closed; // the other session's socket, at once

    cli.write(`/password\nnot my password\nanother long password\n`);
    await cli.waitFor(/! That is not your current password\. \(forbidden\)/);
    cli.write(`/password\n${alice.password}\nanother long password\n`);
    await cli.waitFor(/\* password changed/);

    const newEmail = `${alice.username}.new@example.org`;
    cli.write(`/email ${newEmail}\nanother long password\n`);
    await cli.waitFor(/\* a code was mailed to \S+@example\.org/);
    cli.write(`${await local.server.codeFor(newEmail)}\n`);
    await cli.waitFor(new RegExp(`\\* your email is now ${newEmail.replace(/\./g, '\\.')}; the old address was told`));
    expect(local.server.mail.to(alice.email).at(-1)!.subject).toMatch(/email address was changed/);
    await cli.quit();
  }, 60_000);

  it('/forgot at the login prompt resets the password with the mailed code and logs the other terminal out', async () => {
    const bob = await signUp(local.server, newAccount('bob'));
    await bob.request({ action: 'auth', op: 'logout' });
    const first = startCli(local.server.wsUrl, join(local.home, 'b1'));
    await first.waitFor(/to log in/);
    first.write(`/login ${bob.username}\n${bob.password}\n`);
    await first.waitFor(new RegExp(`logged in as ${bob.username}`));

    const second = startCli(local.server.wsUrl, join(local.home, 'b2'));
    await second.waitFor(/to log in/);
    second.write(`/forgot ${bob.username}\n`);
    await second.waitFor(/\* if \S+ has an account, a code was mailed to its address/);
    await expect.poll(() => local.server.mail.to(bob.email).filter((m) => /reset the password/.test(m.text)).length).toBe(1);
    const code = /\b(\d{6})\b/.exec(local.server.mail.to(bob.email).at(-1)!.subject)![1];
    second.write(`${code}\nbobs brand new password\n`);
    await second.waitFor(/\* password changed; every device was logged out/);
    await first.waitFor(/session ended: \/login USER/, 20_000);
    second.write(`/login ${bob.username}\nbobs brand new password\n`);
    await second.waitFor(new RegExp(`logged in as ${bob.username}`));
    await Promise.all([first.quit(), second.quit()]);
  }, 60_000);
});
