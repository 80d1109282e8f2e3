// Two-factor authentication from the terminal (E19), against the real server:
// `/2fa on` prints the key and the otpauth:// URI, `/2fa confirm` with a code the
// test computes from the printed key turns it on and prints ten recovery codes,
// a later `/login` asks for a code after the password (here a code of the next
// time step, then a recovery code), and `/2fa off` needs the password and a code.
import { join } from 'node:path';
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { newAccount, signUp } from '../helpers/client.js';

const now = () => Math.floor(Date.now() / 1000);
/** `text` printed `n` times in all, as a pattern for waitFor. */
const times = (text: string, n: number) => new RegExp(Array.from({ length: n }, () => text).join('[\\s\\S]*'));

describe('two-factor authentication in the terminal', () => {
  const local = useCliWorld('ww-cli-2fa-');

  it('enrols with the printed key, logs in with a code after the password, and turns it off', async () => {
    const alice = await signUp(local.server, newAccount('alice'));
    await alice.close();
    const cli = startCli(local.server.wsUrl, join(local.home, 'a'));
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    cli.write(`/login ${alice.username}\n${alice.password}\n`);
    await cli.waitFor(new RegExp(`logged in as ${alice.username}`));
    cli.write('/2fa\n');
    await cli.waitFor(/two-factor authentication is off/);

    cli.write(`/2fa on\n${alice.password}\n`);
    const key = /\* key: ([A-Z2-7]+)/.exec(await cli.waitFor(/\* key: [A-Z2-7]+/))![1]!;
    const uri = /\* or open: (\S+)/.exec(await cli.waitFor(/\* or open: otpauth:\/\/totp\/\S+/))![1]!;
    expect(new URL(uri).searchParams.get('secret')).toBe(key);
    await cli.waitFor(/then type \/2fa confirm CODE/);

    cli.write('/2fa confirm 000000\n');
    await cli.waitFor(/! That code is not valid/);
    cli.write(`/2fa confirm ${await generate({ secret: key, epoch: now() })}\n`);
    await cli.waitFor(/two-factor authentication is on/);
    const listed = await cli.waitFor(/recovery codes[^\n]*\n(?: {4}[a-z2-9]{5}-[a-z2-9]{5}\n){10}/);
    const recovery = [...listed.matchAll(/[a-z2-9]{5}-[a-z2-9]{5}/g)].map((m) => m[0]);
    expect(new Set(recovery).size).toBe(10);

    // a login now asks for a code after the password: the next step's code (the
    // confirm spent this one), within the server's one-step tolerance
    cli.write('/logout\n');
    await cli.waitFor(/\* logged out/);
    cli.write(`/login ${alice.username}\n${alice.password}\n${await generate({ secret: key, epoch: now() + 30 })}\n`);
    await cli.waitFor(times('logged in as', 2));
    cli.write('/2fa\n');
    await cli.waitFor(times('two-factor authentication is on', 2));

    // a recovery code works once
    cli.write('/logout\n');
    await cli.waitFor(times('logged out', 2));
    cli.write(`/login ${alice.username}\n${alice.password}\n${recovery[0]}\n`);
    await cli.waitFor(times('logged in as', 3));

    // turning off: a code and the password
    cli.write(`/2fa off ${recovery[0]}\n${alice.password}\n`);
    await cli.waitFor(/! That code is not valid/);
    cli.write(`/2fa off ${recovery[1]}\n${alice.password}\n`);
    await cli.waitFor(times('two-factor authentication is off', 2));
    cli.write('/logout\n');
    await cli.waitFor(times('logged out', 3));
    cli.write(`/login ${alice.username}\n${alice.password}\n`);
    await cli.waitFor(times('logged in as', 4));
    await cli.quit();
  }, 60_000);
});
