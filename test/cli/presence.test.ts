// E23 in the terminal client: it watches its DM partners and the current room's
// listed members, prints their changes from `presence_batch` as it printed
// presence before, hears nothing of people it does not show, and `/who` in a big
// room adds the server's online count.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { newAccount, resumeAs, signUp } from '../helpers/client.js';
import { startCli, useCliWorld } from '../helpers/cli.js';

const local = useCliWorld('ww-cli-presence-', { PRESENCE_BATCH_MS: '200' });

it('prints the changes of the people it shows, and nobody else\'s', async () => {
  const alice = await signUp(local.server, newAccount('alice'));
  const bob = await signUp(local.server, newAccount('bob'));
  const stranger = await signUp(local.server, newAccount('zed'));
  await bob.request({ action: 'join', room: 'nook' });
  await alice.request({ action: 'join', room: 'nook' });
  const cli = startCli(local.server.wsUrl, join(local.home, 'a'));
  await cli.waitFor(/\/register USER EMAIL to sign up/);
  cli.write(`/login ${alice.username}\n${alice.password}\n`);
  await cli.waitFor(new RegExp(`logged in as ${alice.username}`));
  cli.write('/join nook\n');
  await cli.waitFor(/now in #nook/);
  // the watch list is in: bob's connection row is watched by alice's terminal
  for (let i = 0; i < 100; i++) {
    const rows = await local.server.db.sql`select 1 from presence_watches w join users u on u.id = w.user_id where u.username = ${bob.username}`;
    if (rows.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  await bob.close();
  await cli.waitFor(new RegExp(`\\* ${bob.username} is offline`));
  const phone = await resumeAs(local.server, bob.token!);
  await cli.waitFor(new RegExp(`\\* ${bob.username} is online`));
  // the stranger is in #general with alice, but not shown: nothing printed of him
  await stranger.close();
  await cli.settle(800);
  expect(cli.output()).not.toMatch(new RegExp(`${stranger.username} is`));
  await phone.close();
  await cli.quit();
  await alice.close();
});

it('/who in a big room adds how many of its members are online', async () => {
  const carol = await signUp(local.server, newAccount('carol'));
  await local.server.db.sql`
    with people as (
      insert into users (username, display_name, email, email_lower, password_hash, verified_at)
      select 'crowd' || i, 'crowd' || i, 'crowd' || i || '@example.com', 'crowd' || i || '@example.com', 'x', now()
      from generate_series(1, 120) i returning id
    )
    insert into memberships (room_id, user_id) select 'general', id from people`;
  const cli = startCli(local.server.wsUrl, join(local.home, 'c'));
  await cli.waitFor(/\/register USER EMAIL to sign up/);
  cli.write(`/login ${carol.username}\n${carol.password}\n`);
  await cli.waitFor(new RegExp(`logged in as ${carol.username}`));
  cli.write('/who\n');
  const line = await cli.waitFor(/\* (\d+) of (\d+) members online/);
  const [, online, members] = /\* (\d+) of (\d+) members online/.exec(line)!;
  expect(Number(members)).toBeGreaterThan(120);
  expect(Number(online)).toBeGreaterThanOrEqual(1);
  await cli.quit();
  await carol.close();
});
