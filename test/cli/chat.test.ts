// The terminal client, driven through its standard input like a script would.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { resumeAs, signUp } from '../helpers/client.js';
import { useCliWorld } from '../helpers/cli.js';

const local = useCliWorld('ww-cli-');

function startCli(configHome = local.home): { child: ChildProcessWithoutNullStreams; output: () => string; waitFor: (re: RegExp) => Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/chat.ts', local.server.wsUrl], {
    env: { ...process.env, XDG_CONFIG_HOME: configHome },
  });
  let buffer = '';
  child.stdout.on('data', (d) => (buffer += d.toString()));
  child.stderr.on('data', (d) => (buffer += d.toString()));
  const waitFor = async (re: RegExp) => {
    for (let i = 0; i < 200; i++) {
      const m = re.exec(buffer);
      if (m) return m[0];
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`CLI never printed ${re}; output:\n${buffer}`);
  };
  return { child, output: () => buffer, waitFor };
}

it('signs up, verifies, joins, talks, sees others, and resumes with the saved token', async () => {
  const friend = await signUp(local.server);
  await friend.request({ action: 'join', room: 'lobby' });

  const cli = startCli();
  await cli.waitFor(/\/register USER EMAIL to sign up/);
  cli.child.stdin.write('/register Casey casey@example.com\ncorrect horse battery\n');
  await cli.waitFor(/a code was mailed to c\*\*\*y@example.com/);
  const code = await local.server.mail.codeFor('casey@example.com');
  cli.child.stdin.write(`/verify ${code}\n`);
  await cli.waitFor(/logged in as casey; rooms: #general/);
  cli.child.stdin.write('/join lobby\nhello from the terminal\n');
  const got = await friend.next('message');
  expect(got.message).toMatchObject({ room: 'lobby', from: 'casey', text: 'hello from the terminal' });
  await friend.request({ action: 'send', room: 'lobby', text: 'hi casey \u202eevil', clientId: 'f1' });
  await cli.waitFor(/\d\d:\d\d .+: hi casey �evil/);
  cli.child.stdin.write('/who\n');
  await cli.waitFor(/● casey/);
  cli.child.stdin.write('/leave general\n');
  await cli.waitFor(/! Everyone stays in #general. \(bad_request\)/);
  cli.child.stdin.end('/quit\n');
  await new Promise((r) => cli.child.on('exit', r));

  // a second run resumes from the saved token
  const again = startCli();
  await again.waitFor(/logged in as casey; rooms: #general, #lobby/);
  again.child.stdin.end('/quit\n');
  await new Promise((r) => again.child.on('exit', r));
  await friend.close();
});

it('after the server restarts, reconnects, resumes and shows what was said meanwhile, once', async () => {
  const friend = await signUp(local.server);
  const cli = startCli();
  await cli.waitFor(/logged in as casey/);
  await friend.request({ action: 'send', room: 'general', text: 'before the restart', clientId: 'r0' });
  await cli.waitFor(/before the restart/);

  // Down long enough for two failed retries, so the next one is a second or more away.
  await local.server.stop();
  await new Promise((r) => setTimeout(r, 1600));
  await local.server.restart();
  const back = await resumeAs(local.server, friend.token!);
  for (let i = 1; i <= 3; i++) await back.request({ action: 'send', room: 'general', text: `while away ${i}`, clientId: `r${i}` });
  await cli.waitFor(/while away 3/);
  // They were stored before the terminal was back: they came by catch-up, not live.
  const [timing] = await local.server.db.sql`
    select (select max(created_at) from messages where client_id like 'r_') < (select min(c.connected_at) from connections c join users u on u.id = c.user_id where u.username = 'casey') as caught_up`;
  expect(timing).toEqual({ caught_up: true });
  const shown = cli.output().match(/while away \d/g);
  expect(shown).toEqual(['while away 1', 'while away 2', 'while away 3']);
  expect(cli.output().match(/before the restart/g)).toHaveLength(1);
  cli.child.stdin.end('/quit\n');
  await new Promise((r) => cli.child.on('exit', r));
  await back.close();
});

it('follows the paging of long lists: every room at login, every member on /who', async () => {
  const dana = await signUp(local.server);
  // Straight into the database: more rooms and members than one reply may hold.
  await local.server.db.sql`insert into rooms (id, kind) select 'many-rooms-for-the-terminal-' || n, 'channel' from generate_series(1, 1500) n`;
  await local.server.db.sql`
    insert into memberships (room_id, user_id)
    select 'many-rooms-for-the-terminal-' || n, u.id from generate_series(1, 1500) n, users u where u.username = ${dana.username}`;
  await local.server.db.sql`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    select 'terminal_crowd_' || lpad(n::text, 4, '0'), 'x', 't' || n || '@example.com', 't' || n || '@example.com', 'x', now()
    from generate_series(1, 2500) n`;
  await local.server.db.sql`
    insert into memberships (room_id, user_id)
    select 'many-rooms-for-the-terminal-1', id from users where username like 'terminal\\_crowd\\_%'`;

  // Dana's terminal, logged in by her saved token.
  const danaHome = await mkdtemp(join(tmpdir(), 'ww-cli-'));
  await mkdir(join(danaHome, 'wild-whispers'), { recursive: true });
  await writeFile(join(danaHome, 'wild-whispers', `${new URL(local.server.wsUrl).host.replace(/[^\w.-]/g, '_')}.token`), dana.token!);
  const cli = startCli(danaHome);
  const login = await cli.waitFor(/logged in as \S+; rooms: .*/);
  expect(login.split(', ')).toHaveLength(1501);
  cli.child.stdin.write('/join many-rooms-for-the-terminal-1\n');
  await cli.waitFor(/\(2501 members\)/);
  cli.child.stdin.write('/who\n');
  await cli.waitFor(/○ terminal_crowd_2500/);
  expect(cli.output().match(/terminal_crowd_\d+/g)).toHaveLength(2500);
  cli.child.stdin.end('/quit\n');
  await new Promise((r) => cli.child.on('exit', r));
  await Promise.all([dana.close(), rm(danaHome, { recursive: true, force: true })]);
});
