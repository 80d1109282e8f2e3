// `/search` and `/more` in the terminal client, driven through its standard
// input against the real local server; and its result lines on their own.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markedText, searchLine } from '../../cli/search.js';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let home: string;
beforeAll(async () => {
  t = await startTestServer({ MESSAGE_BURST: '100', USER_MESSAGE_BURST: '100' });
  home = await mkdtemp(join(tmpdir(), 'ww-cli-search-'));
});
afterAll(async () => {
  await t?.close();
  await rm(home, { recursive: true, force: true });
});

describe('result lines', () => {
  it('number the result, say who, where and when, and mark the matches; control characters are made harmless', () => {
    const hit = { message: { id: '9', room: 'ops', from: 'bob', text: 'deploy \u202enow\nplease', at: '2026-11-30T14:05:00' }, highlights: [[0, 6]] as [number, number][] };
    expect(searchLine(3, hit, '#ops', false)).toBe('3. bob in #ops, 2026-11-30 14:05: «deploy» �now ⏎ please');
    expect(markedText('a deploy', [[2, 8]], true)).toBe('a \x1b[7mdeploy\x1b[27m');
  });
});

it('searches all my rooms, pages with /more, and says what is wrong with a query', async () => {
  const friend = await signUp(t);
  await friend.request({ action: 'join', room: 'ops' });
  const cli = spawn(process.execPath, ['--import', 'tsx', 'cli/chat.ts', t.wsUrl], { env: { ...process.env, XDG_CONFIG_HOME: home } });
  let buffer = '';
  cli.stdout.on('data', (d) => (buffer += d.toString()));
  cli.stderr.on('data', (d) => (buffer += d.toString()));
  const waitFor = async (re: RegExp) => {
    for (let i = 0; i < 300; i++) {
      if (re.test(buffer)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`CLI never printed ${re}; output:\n${buffer}`);
  };
  await waitFor(/\/register USER EMAIL to sign up/);
  cli.stdin.write('/register Dana dana@example.com\ncorrect horse battery\n');
  await waitFor(/a code was mailed/);
  cli.stdin.write(`/verify ${await t.mail.codeFor('dana@example.com')}\n`);
  await waitFor(/logged in as dana/);
  cli.stdin.write('/join ops\n');
  await waitFor(/now in #ops/);
  for (let i = 1; i <= 22; i++) await friend.request({ action: 'send', room: 'ops', text: `deployment step ${i}`, clientId: `d${i}` });
  await friend.request({ action: 'send', room: 'general', text: 'nothing here', clientId: 'n1' });

  cli.stdin.write('/search deplo\n');
  await waitFor(/\* \/more for the next page/);
  expect(buffer).toMatch(new RegExp(`1\\. ${friend.username} in #ops, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d: «deployment» step 22`));
  expect(buffer).toMatch(/20\. .*step 3\n/);
  cli.stdin.write('/more\n');
  await waitFor(/\* 22 results in all/);
  expect(buffer).toMatch(/22\. .*«deployment» step 1\n/);
  cli.stdin.write('/search zebra\n');
  await waitFor(/\* no messages match "zebra"/);
  cli.stdin.write('/search deploy has:link\n');
  await waitFor(/! "has:" is not a filter.* \(bad_request\)/);
  cli.stdin.end('/quit\n');
  await new Promise((r) => cli.on('exit', r));
  await friend.close();
}, 60_000);
