// Files from the terminal: `/upload PATH` shares a file in the current room (a
// grant, the bytes to the signed URL, the message that carries it), others see
// it as a [file] line, and `/download N [DIR]` saves it under its name without
// overwriting, the name reduced to one safe segment. Refusals come before any
// upload.
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { safeFileName } from '../../cli/files.js';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { signUp } from '../helpers/client.js';
import { PDF } from '../helpers/files.js';

const local = useCliWorld('ww-cli-files-');

async function loggedIn(name: string) {
  const account = await signUp(local.server);
  const cli = startCli(local.server.wsUrl, join(local.home, name));
  await cli.waitFor(/\/register USER EMAIL to sign up/);
  cli.write(`/login ${account.username}\n${account.password}\n`);
  await cli.waitFor(new RegExp(`logged in as ${account.username}`));
  return { cli, account };
}

it('uploads with /upload, shows a [file] line, and saves with /download N DIR, never over a file', async () => {
  const path = join(local.home, 'report.pdf');
  await writeFile(path, PDF);
  const { cli: alice } = await loggedIn('alice');
  const { cli: bob } = await loggedIn('bob');
  alice.write(`/upload ${path}\n`);
  await alice.waitFor(/\[file\] report\.pdf · application\/pdf · \d+ bytes/);
  await bob.waitFor(/\[(\d+)\] .*:\s*\n\s+\[file\] report\.pdf · application\/pdf/);
  const n = /\[(\d+)\] [^\n]*\n\s+\[file\] report\.pdf/.exec(bob.output())![1];
  const dir = await mkdtemp(join(local.home, 'dl-'));
  bob.write(`/download ${n} ${dir}\n/download ${n} ${dir}\n`);
  await bob.waitFor(/saved .*report \(2\)\.pdf/);
  expect((await readdir(dir)).sort()).toEqual(['report (2).pdf', 'report.pdf']);
  expect(await readFile(join(dir, 'report.pdf'))).toEqual(PDF);
  await Promise.all([alice.quit(), bob.quit()]);
});

it('refuses programs, missing files and a message without files, before anything is sent', async () => {
  const exe = join(local.home, 'setup.exe');
  await writeFile(exe, 'MZ');
  const { cli } = await loggedIn('carol');
  cli.write(`/upload ${exe}\n/upload ${join(local.home, 'nope.pdf')}\nhello\n/download 1\n/upload\n`);
  await cli.waitFor(/! Files of type \.exe cannot be shared here/);
  await cli.waitFor(/nope\.pdf is not a file\./);
  await cli.waitFor(/! Message \[1\] has no files\./);
  await cli.waitFor(/usage: \/upload PATH/);
  expect(await local.server.db.sql`select 1 from files`).toHaveLength(1); // alice's, from the test before
  await cli.quit();
});

it('makes a shared name one safe segment', () => {
  expect(safeFileName('../../.bashrc')).toBe('__.._.bashrc');
  expect(safeFileName('a\u001b[31mred.txt')).toBe('a_[31mred.txt');
  expect(safeFileName('...')).toBe('_');
});
