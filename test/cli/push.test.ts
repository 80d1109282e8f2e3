// The terminal client and E25: it says it is active when it signs in, prints
// when a roommate goes away and comes back, marks the away in /who, and lists
// and turns off the devices with push notifications (/notifications).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newAccount, signUp } from '../helpers/client.js';
import { startCli, useCliWorld } from '../helpers/cli.js';
import { makeSubscriber } from '../helpers/push-service.js';

describe('away and notifications in the terminal', () => {
  const local = useCliWorld('ww-cli-push-');

  it('shows away, reports itself active, lists and removes notification devices', async () => {
    const alice = newAccount('alice');
    await (await signUp(local.server, alice)).close();
    const bob = await signUp(local.server, newAccount('bob'));
    const cli = startCli(local.server.wsUrl, join(local.home, 'a'));
    await cli.waitFor(/\/register USER EMAIL to sign up/);
    cli.write(`/login ${alice.username}\n${alice.password}\n`);
    await cli.waitFor(new RegExp(`logged in as ${alice.username}`));
    // the terminal said it is active
    await expect
      .poll(async () => (await local.server.db.sql`select c.activity from connections c join users u on u.id = c.user_id where u.username = ${alice.username}`).map((r) => r.activity))
      .toEqual(['active']);

    // the terminal watches the members of the room it shows (E23): bob's news comes
    // in `presence_batch` ("away", "online"), or to an older server in `presence`
    cli.write('/join general\n');
    await cli.waitFor(/now in #general/);
    await expect
      .poll(async () => (await local.server.db.sql`select 1 from presence_watches w join users u on u.id = w.user_id where u.username = ${bob.username}`).length)
      .toBe(1);
    await bob.request({ action: 'activity', state: 'hidden' });
    await cli.waitFor(new RegExp(`\\* ${bob.username} is away`));
    cli.write('/who\n');
    await cli.waitFor(new RegExp(`◐ ${bob.username}.*\\(away\\)`));
    await bob.request({ action: 'activity', state: 'active' });
    await cli.waitFor(new RegExp(`\\* ${bob.username} is (back|online)`));

    const endpoint = 'https://push.example.net/send/cli';
    const [row] = await local.server.db.sql<{ id: string }[]>`insert into push_subscriptions (user_id, endpoint, p256dh, auth, device)
      select id, ${endpoint}, ${makeSubscriber(endpoint).keys.p256dh}, 'x', 'Chrome on Linux' from users where username = ${alice.username} returning id::text`;
    cli.write('/notifications\n');
    await cli.waitFor(new RegExp(`do not show message text; devices with notifications on: \\n  ${row!.id}  Chrome on Linux, since \\d{4}-\\d\\d-\\d\\d, last used never`));
    cli.write('/notifications text on\n');
    await cli.waitFor(/\* notifications show message text/);
    cli.write(`/notifications off ${row!.id}\n`);
    await cli.waitFor(new RegExp(`\\* notifications off for device ${row!.id}`));
    cli.write(`/notifications off ${row!.id}\n`);
    await cli.waitFor(/no such notification subscription/);
    await cli.quit();
    await bob.close();
  }, 60_000);
});
