// Signing up from the terminal on an invite-only server (INVITE_CODE): the code
// as a third argument to /register (scripts), or asked for when the server says
// it needs one (a person at a terminal).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const INVITE = 'team-2024-Kx';
const PASSWORD = 'correct horse battery';

let t: TestServer;
let home: string;
beforeAll(async () => {
  t = await startTestServer({ INVITE_CODE: INVITE });
  home = await mkdtemp(join(tmpdir(), 'ww-cli-invite-'));
});
afterAll(async () => {
  await t?.close();
  await rm(home, { recursive: true, force: true });
});

it('takes the invite code as the third argument of /register', async () => {
  const cli = startCli(t.wsUrl, join(home, 'dana'));
  await cli.waitFor(/\/register USER EMAIL to sign up/);
  cli.write(`/register dana dana@example.com ${INVITE}\n${PASSWORD}\n`);
  await cli.waitFor(/a code was mailed to d\*\*\*a@example.com/);
  cli.write(`/verify ${await t.codeFor('dana@example.com')}\n`);
  await cli.waitFor(/logged in as dana/);
  await cli.quit();
});

it('without one, says the server is invite-only and how to give it; the next line is not taken as the code', async () => {
  const cli = startCli(t.wsUrl, join(home, 'eve'));
  await cli.waitFor(/\/register USER EMAIL to sign up/);
  cli.write(`/register eve eve@example.com\n${PASSWORD}\n/help\n`);
  await cli.waitFor(/! Signing up here needs a valid invite code. \(forbidden\)\n {2}usage: \/register eve eve@example.com INVITE/);
  await cli.waitFor(/Commands:/);
  expect(t.mail.to('eve@example.com')).toEqual([]);
  await cli.quit();
});

it('at a terminal, asks for the invite code when the server wants one', async () => {
  const cli = startCli(t.wsUrl, join(home, 'fay'), { pty: true });
  try {
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    await cli.settle();
    cli.write('/register fay fay@example.com wrong-code\r');
    await cli.waitFor(/password \(8 or more characters\): /);
    await cli.settle();
    cli.write(`${PASSWORD}\r`);
    await cli.waitFor(/that invite code is not valid; invite code: /);
    await cli.settle();
    cli.write(`${INVITE}\r`);
    await cli.waitFor(/a code was mailed to f\*\*\*y@example.com/);
    cli.write(`/verify ${await t.codeFor('fay@example.com')}\r`);
    await cli.waitFor(/logged in as fay/);
    expect(cli.output()).not.toContain(PASSWORD);
  } finally {
    await cli.quit();
  }
});
