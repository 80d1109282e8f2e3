// Conversations from the terminal, against the real server: alice at the
// terminal client (piped, as a script drives it, and under a pseudo-terminal),
// bob on a protocol client. Numbered messages, /edit, /delete, /reply, /react
// round trips that bob sees; bob's changes told live; catch-up of what changed
// while the terminal was away (a reconnect, and a restart); read marks and
// badges; typing; bad input.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startCli, type Cli, useCliWorld } from '../helpers/cli.js';
import { newAccount, resumeAs, signUp, type TestClient } from '../helpers/client.js';

const local = useCliWorld('ww-cli-conv-');

const TIME = String.raw`\d\d:\d\d`;

/** A frame read loosely: the tests look into nested fields. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = Record<string, any>;
const frames = (c: TestClient) => ({
  next: async (match: string | ((f: Frame) => boolean), timeoutMs?: number) => (await c.next(match, timeoutMs)) as Frame,
});

/** alice (her terminal in `dir`, logged in by password, in `room`) and bob (a protocol client in the same room). */
async function pair(room: string, dir: string, options: { pty?: boolean } = {}) {
  const alice = await signUp(local.server, newAccount('alice'));
  const bob = await signUp(local.server, newAccount('bob'));
  await alice.request({ action: 'join', room });
  await bob.request({ action: 'join', room });
  const cli = startCli(local.server.wsUrl, join(local.home, dir), options);
  await login(cli, alice.username, alice.password, options.pty);
  return { alice, bob, cli };
}

async function login(cli: Cli, username: string, password: string, pty = false) {
  const enter = pty ? '\r' : '\n';
  await cli.waitFor(/\/register USER EMAIL to sign up|logged in as/);
  if (pty) await cli.settle();
  if (!/logged in as/.test(cli.output())) {
    cli.write(`/login ${username}${enter}`);
    if (pty) {
      await cli.waitFor(/password: /);
      await cli.settle();
    }
    cli.write(`${password}${enter}`);
  }
  await cli.waitFor(new RegExp(`logged in as ${username}`));
}

async function send(client: TestClient, room: string, text: string, extra: Record<string, unknown> = {}): Promise<Frame> {
  const r = await client.request({ action: 'send', room, text, clientId: `t-${Math.random()}`, ...extra });
  expect(r.type).toBe('sent');
  return r.message as Frame;
}

it('edits, replies, reacts and deletes from the terminal by number; bob sees each change', async () => {
  const { alice, bob, cli } = await pair('conv-own', 'own');
  cli.write('/join conv-own\nhello from alice\n');
  await cli.waitFor(new RegExp(`\\[1\\] ${TIME} ${alice.username}: hello from alice\\n`));
  const hello = (await frames(bob).next((f: Frame) => f.type === 'message' && f.message.text === 'hello from alice')).message;
  const hi = await send(bob, 'conv-own', 'hi alice');
  await cli.waitFor(new RegExp(`\\[2\\] ${TIME} ${bob.username}: hi alice\\n`));

  // /edit without a number: my last message
  cli.write('/edit hello from alice, edited\n');
  await cli.waitFor(new RegExp(`\\* ${alice.username} edited \\[1\\]: hello from alice, edited\\n`));
  const edited = await frames(bob).next((f: Frame) => f.type === 'changed' && f.message.id === hello.id);
  expect(edited).toMatchObject({ room: 'conv-own', message: { text: 'hello from alice, edited' } });
  expect(edited.message.editedAt).toEqual(expect.any(String));

  // /reply N: the original quoted above it
  cli.write('/reply 2 replying to you\n');
  await cli.waitFor(new RegExp(`  ↪ \\[2\\] ${bob.username}: hi alice\\n\\[3\\] ${TIME} ${alice.username}: replying to you\\n`));
  const reply = await frames(bob).next((f: Frame) => f.type === 'message' && f.message.text === 'replying to you');
  expect(reply.message.replyTo).toMatchObject({ id: hi.id, from: bob.username, text: 'hi alice' });

  // /react N EMOJI and /unreact
  cli.write('/react 2 👍\n');
  await cli.waitFor(/\* \[2\] reactions: 👍 1\n/);
  const reacted = await frames(bob).next((f: Frame) => f.type === 'changed' && f.message.id === hi.id);
  expect(reacted.message.reactions).toEqual([{ emoji: '👍', count: 1, users: [alice.username] }]);
  cli.write('/unreact 2 👍\n');
  await cli.waitFor(/\* \[2\] reactions: none\n/);
  expect((await frames(bob).next((f: Frame) => f.type === 'changed' && f.message.id === hi.id)).message.reactions ?? []).toEqual([]);
  // /react without a number: the last message of the room (alice's reply, [3])
  cli.write('/react 🎉\n');
  await cli.waitFor(/\* \[3\] reactions: 🎉 1\n/);

  // /delete N, piped: no question asked
  cli.write('/delete 3\n');
  await cli.waitFor(new RegExp(`\\* ${alice.username} deleted \\[3\\]\\n`));
  const gone = await frames(bob).next((f: Frame) => f.type === 'changed' && f.message.id === reply.message.id && f.message.deleted === true);
  expect(gone.message.text).toBe('');
  cli.write('/react 3 👍\n');
  await cli.waitFor(/! Message \[3\] in #conv-own was deleted\.\n/);

  await cli.quit();
  expect(cli.output()).not.toMatch(/delete \[3\].*\(y\/N\)/);
  await Promise.all([alice.close(), bob.close()]);
});

it("prints bob's edits, deletions, reactions and mentions as they happen, and marks what it printed read", async () => {
  const { alice, bob, cli } = await pair('conv-live', 'live');
  cli.write('/join conv-live\n');
  await cli.waitFor(/\* now in #conv-live/);
  const first = await send(bob, 'conv-live', 'first draft');
  const second = await send(bob, 'conv-live', 'second one');
  await cli.waitFor(new RegExp(`\\[1\\] ${TIME} ${bob.username}: first draft\\n\\[2\\] ${TIME} ${bob.username}: second one\\n`));

  // alice's other device hears that her terminal has read up to the newest
  await frames(alice).next((f: Frame) => f.type === 'read' && f.room === 'conv-live' && f.through === second.id, 8000);

  await bob.request({ action: 'edit', room: 'conv-live', message: first.id, text: 'first, final' });
  await cli.waitFor(new RegExp(`\\* ${bob.username} edited \\[1\\]: first, final\\n`));
  await bob.request({ action: 'react', room: 'conv-live', message: second.id, emoji: '❤️', on: true });
  await cli.waitFor(/\* \[2\] reactions: ❤️ 1\n/);
  await alice.request({ action: 'react', room: 'conv-live', message: second.id, emoji: '❤️', on: true });
  await cli.waitFor(/\* \[2\] reactions: ❤️ 2\n/);
  await bob.request({ action: 'delete', room: 'conv-live', message: second.id });
  await cli.waitFor(new RegExp(`\\* ${bob.username} deleted \\[2\\]\\n`));

  // a mention of alice is marked; one of somebody else is not
  await send(bob, 'conv-live', `look @${alice.username}`);
  await cli.waitFor(new RegExp(`\\[3\\] @you ${TIME} ${bob.username}: look @${alice.username}\\n`));
  await send(bob, 'conv-live', `and @${bob.username}`);
  await cli.waitFor(new RegExp(`\\[4\\] ${TIME} ${bob.username}: and @${bob.username}\\n`));

  // a reply of bob's to alice's message
  cli.write('mine\n');
  await cli.waitFor(new RegExp(`\\[5\\] ${TIME} ${alice.username}: mine\\n`));
  const mine = (await frames(bob).next((f: Frame) => f.type === 'message' && f.message.text === 'mine')).message;
  await send(bob, 'conv-live', 'about that', { replyTo: mine.id });
  await cli.waitFor(new RegExp(`  ↪ \\[5\\] ${alice.username}: mine\\n\\[6\\] ${TIME} ${bob.username}: about that\\n`));
  await cli.quit();
  await Promise.all([alice.close(), bob.close()]);
});

it('says what is wrong: bob’s message, not an emoji, a number that is not there', async () => {
  const { alice, bob, cli } = await pair('conv-bad', 'bad');
  cli.write('/join conv-bad\n');
  await cli.waitFor(/\* now in #conv-bad/);
  const theirs = await send(bob, 'conv-bad', 'bob wrote this');
  await cli.waitFor(/\[1\] .*: bob wrote this\n/);

  cli.write('/edit 1 alice wrote this\n');
  await cli.waitFor(/! .+ \(forbidden\)\n/);
  cli.write('/delete 1\n');
  await cli.waitFor(/! .+ \(forbidden\)\n[^]*! .+ \(forbidden\)\n/);
  cli.write('/react 1 hello\n');
  await cli.waitFor(/! That is not an emoji\. \(bad_request\)\n/);
  cli.write('/edit 9 text\n/reply 0 text\n/delete\n/reply text without a number\n');
  await cli.waitFor(/! There is no message \[9\] in #conv-bad; numbers are per room\.\n/);
  await cli.waitFor(/! There is no message \[0\] in #conv-bad; numbers are per room\.\n/);
  await cli.waitFor(/! You have not sent a message in #conv-bad here yet\.\n/);
  await cli.waitFor(/usage: \/reply N TEXT\n/);
  await cli.quit();

  // none of it changed anything
  expect(await bob.quiet((f: Frame) => f.type === 'changed' || (f.type === 'message' && f.message.text === 'text'))).toEqual([]);
  const page = (await bob.request({ action: 'history', room: 'conv-bad' })) as Frame;
  expect(page.messages).toHaveLength(1);
  expect(page.messages[0]).toMatchObject({ id: theirs.id, text: 'bob wrote this' });
  expect(page.messages[0].editedAt).toBeUndefined();
  expect(page.messages[0].reactions ?? []).toEqual([]);
  await Promise.all([alice.close(), bob.close()]);
});

it('restarted after bob edited, deleted and wrote, tells what changed while it was not running', async () => {
  const { alice, bob, cli } = await pair('conv-restart', 'restart');
  cli.write('/join conv-restart\n');
  const kept = await send(bob, 'conv-restart', 'before, to be edited');
  const dropped = await send(bob, 'conv-restart', 'before, to be deleted');
  await cli.waitFor(/\[2\] .*: before, to be deleted\n/);
  await cli.quit();

  await bob.request({ action: 'edit', room: 'conv-restart', message: kept.id, text: 'edited while alice was away' });
  await bob.request({ action: 'delete', room: 'conv-restart', message: dropped.id });
  await send(bob, 'conv-restart', 'new while alice was away');

  const again = startCli(local.server.wsUrl, join(local.home, 'restart'));
  await again.waitFor(new RegExp(`logged in as ${alice.username}`));
  await again.waitFor(new RegExp(`\\* \\[#conv-restart\\] ${bob.username} edited \\[1\\]: edited while alice was away\\n`));
  await again.waitFor(new RegExp(`\\* \\[#conv-restart\\] ${bob.username} deleted a message of ${TIME}\\n`));
  await again.waitFor(new RegExp(`\\[2\\] \\[#conv-restart\\] ${TIME} ${bob.username}: new while alice was away\\n`));
  // the number it gave works
  again.write('/join conv-restart\n/react 1 👀\n');
  await again.waitFor(/\* \[1\] reactions: 👀 1\n/);
  await again.quit();
  expect(again.output().match(/edited while alice was away/g)).toHaveLength(1);
  await Promise.all([alice.close(), bob.close()]);
});

it('after a reconnect, catches up with edits and deletions by the numbers it showed', async () => {
  const { alice, bob, cli } = await pair('conv-reconnect', 'reconnect');
  cli.write('/join conv-reconnect\n');
  // the room is the CLI's current one (its lines carry no room label) before anything arrives
  await cli.waitFor(/now in #conv-reconnect/);
  const a = await send(bob, 'conv-reconnect', 'one');
  const b = await send(bob, 'conv-reconnect', 'two');
  await cli.waitFor(/\[2\] .*: two\n/);
  await alice.close();
  await bob.close();

  await local.server.stop();
  await new Promise((r) => setTimeout(r, 1200));
  await local.server.restart();
  const back = await resumeAs(local.server, bob.token!);
  await back.request({ action: 'edit', room: 'conv-reconnect', message: a.id, text: 'one, edited while offline' });
  await back.request({ action: 'delete', room: 'conv-reconnect', message: b.id });
  await back.request({ action: 'send', room: 'conv-reconnect', text: 'three', clientId: 'r3' });

  await cli.waitFor(new RegExp(`\\* ${bob.username} edited \\[1\\]: one, edited while offline\\n`), 20_000);
  await cli.waitFor(new RegExp(`\\* ${bob.username} deleted \\[2\\]\\n`));
  await cli.waitFor(/\[3\] .*: three\n/);
  await cli.quit();
  expect(cli.output().match(/: three\n/g)).toHaveLength(1);
  await back.close();
});

it('/rooms shows unread and mention counts, which go once the messages are printed; /readreceipts', async () => {
  const alice = await signUp(local.server, newAccount('alice'));
  const bob = await signUp(local.server, newAccount('bob'));
  await alice.request({ action: 'join', room: 'conv-unread' });
  await bob.request({ action: 'join', room: 'conv-unread' });
  await send(bob, 'conv-unread', 'while you were out');
  await send(bob, 'conv-unread', `@${alice.username} this one is for you`);

  const cli = startCli(local.server.wsUrl, join(local.home, 'unread'));
  await login(cli, alice.username, alice.password);
  await cli.waitFor(/\* unread: #conv-unread \(2 unread, 1 mention\)\n/);
  cli.write('/rooms\n');
  await cli.waitFor(/\* rooms: #general, #conv-unread \(2 unread, 1 mention\); current: #general\n|\* rooms: #conv-unread \(2 unread, 1 mention\), #general; current: #general\n/);
  cli.write('/join conv-unread\n');
  await cli.waitFor(/this one is for you\n/);
  cli.write('/rooms\n');
  await cli.waitFor(/\* rooms: (#general, #conv-unread|#conv-unread, #general); current: #conv-unread\n/);
  // and the server holds it: another device logging in sees nothing unread
  await new Promise((r) => setTimeout(r, 300));
  const other = await resumeAs(local.server, alice.token!);
  const authed = other.frames.find((f) => f.type === 'authed') as Frame;
  expect(authed.rooms.find((r: Frame) => r.id === 'conv-unread')).toMatchObject({ unread: 0, mentions: 0 });

  cli.write('/readreceipts\n/readreceipts off\n/readreceipts\n');
  await cli.waitFor(/\* read receipts are on; \/readreceipts off to change\n/);
  await cli.waitFor(/\* read receipts off: nobody sees what you have read, and you see nobody’s\n/);
  await cli.waitFor(/\* read receipts are off; \/readreceipts on to change\n/);
  expect(await frames(other).next('settings')).toMatchObject({ readReceipts: false });

  // E24: email notices
  cli.write('/notify\n/notify all\n/notify quote on\n/notify sometimes\n/notify off\n');
  await cli.waitFor(/\* email notices on for direct messages and mentions, without quotes \(who and where only\); \/notify off\|mentions\|all, \/notify quote on\|off to change\n/);
  await cli.waitFor(/\* email notices on for every message in your rooms, without quotes \(who and where only\)\n/);
  await cli.waitFor(/\* email notices on for every message in your rooms, quoting the text\n/);
  await cli.waitFor(/usage: \/notify off\|mentions\|all, or \/notify quote on\|off\n/);
  await cli.waitFor(/\* email notices off: no emails about unread messages\n/);
  expect(await frames(other).next('settings')).toMatchObject({ notify: 'all' });
  await cli.quit();
  await Promise.all([alice.close(), bob.close(), other.close()]);
});

it('at a terminal: who is typing in the prompt, for a while; typing sends typing; /delete asks first; mentions stand out', async () => {
  const { alice, bob, cli } = await pair('conv-tty', 'tty', { pty: true });
  try {
    cli.write('/join conv-tty\r');
    await cli.waitFor(/\* now in #conv-tty/);
    await cli.settle();

    bob.send({ action: 'typing', room: 'conv-tty' }); // no reply when forwarded
    await cli.waitFor(new RegExp(`\\(${bob.username} is typing…\\) > `));
    await cli.settle();
    expect(cli.screen().currentRow).toBe(`(${bob.username} is typing…) >`);
    // their message lands: the indicator goes
    await send(bob, 'conv-tty', `hey @${alice.username}`);
    await cli.waitFor(new RegExp(`hey @${alice.username}`));
    await cli.settle();
    expect(cli.screen().currentRow).toBe('>');
    // a mention of me, in bold reverse video
    expect(cli.output()).toContain(`\x1b[1;7m[1]`);

    // ... or after 6 s without another
    await new Promise((r) => setTimeout(r, 3100)); // the server forwards one per person every 3 s
    const mark = cli.output().length;
    bob.send({ action: 'typing', room: 'conv-tty' }); // no reply when forwarded
    while (!cli.output().slice(mark).includes(`(${bob.username} is typing…) > `)) await new Promise((r) => setTimeout(r, 25));
    const shownAt = Date.now();
    while (cli.screen().currentRow !== '>' && Date.now() - shownAt < 9000) await new Promise((r) => setTimeout(r, 100));
    expect(cli.screen().currentRow).toBe('>');
    expect(Date.now() - shownAt).toBeGreaterThan(5000);

    // alice typing a line tells bob (once, not per key)
    cli.write('hel');
    await frames(bob).next((f: Frame) => f.type === 'typing' && f.from === alice.username && f.room === 'conv-tty');
    cli.write('lo there\r');
    await cli.waitFor(/\[2\] .*: hello there/);
    expect(bob.all((f: Frame) => f.type === 'typing')).toHaveLength(1);

    cli.write('/delete\r');
    await cli.waitFor(/delete \[2\] "hello there"\? \(y\/N\) /);
    cli.write('n\r');
    await cli.waitFor(/\* not deleted/);
    cli.write('/delete 2\r');
    await cli.waitFor(/delete \[2\] "hello there"\? \(y\/N\) [^]*delete \[2\] "hello there"\? \(y\/N\) /);
    cli.write('y\r');
    await cli.waitFor(new RegExp(`\\* ${alice.username} deleted \\[2\\]`));
    // answering a question is not typing a message
    await new Promise((r) => setTimeout(r, 3100));
    cli.write('/delete 1\r');
    await cli.waitFor(/delete \[1\] "hey @\S+"\? \(y\/N\) /);
    await cli.settle();
    cli.write('no\r');
    await cli.waitFor(/\* not deleted[^]*\* not deleted/);
    expect(await bob.quiet((f) => f.type === 'typing', 300)).toEqual([]);
  } finally {
    await cli.quit();
  }
  await Promise.all([alice.close(), bob.close()]);
});

it('in a DM, says once when the other person has read my latest message; not with read receipts off', async () => {
  const alice = await signUp(local.server, newAccount('alice'));
  const bob = await signUp(local.server, newAccount('bob'));
  const dm = `dm:${[alice.username, bob.username].sort().join(':')}`;
  const cli = startCli(local.server.wsUrl, join(local.home, 'seen'));
  await login(cli, alice.username, alice.password);
  cli.write(`/dm ${bob.username}\nare you there?\n`);
  await cli.waitFor(/\[1\] .*: are you there\?\n/);
  const mine = (await frames(bob).next((f: Frame) => f.type === 'message' && f.message.text === 'are you there?')).message;
  await bob.request({ action: 'read', room: dm, through: mine.id });
  await cli.waitFor(new RegExp(`\\* ${bob.username} has read \\[1\\]\\n`));
  // a second mark of the same message is not told again
  const second = await send(bob, dm, 'yes');
  await bob.request({ action: 'read', room: dm, through: second.id });
  await cli.waitFor(/\[2\] .*: yes\n/);

  cli.write('/readreceipts off\nstill there?\n');
  await cli.waitFor(/\[3\] .*: still there\?\n/);
  const third = (await frames(bob).next((f: Frame) => f.type === 'message' && f.message.text === 'still there?')).message;
  await bob.request({ action: 'read', room: dm, through: third.id });
  cli.write('/rooms\n');
  await cli.waitFor(/\* rooms: /);
  await cli.quit();
  expect(cli.output().match(/has read/g)).toHaveLength(1);
  await Promise.all([alice.close(), bob.close()]);
});

it('a purge is one line, not one per message; what follows is told as before', async () => {
  const { alice, bob, cli } = await pair('conv-purge', 'purge');
  cli.write('/join conv-purge\n');
  for (const text of ['p1', 'p2', 'p3']) await send(bob, 'conv-purge', text);
  await cli.waitFor(/\[3\] .*: p3\n/);
  await bob.request({ action: 'purge', room: 'conv-purge' });
  await cli.waitFor(new RegExp(`\\* ${bob.username} deleted their messages in #conv-purge\\n`));
  // what comes next in the room is still told, by the numbers that follow
  const next = await send(bob, 'conv-purge', 'after the purge');
  await bob.request({ action: 'edit', room: 'conv-purge', message: next.id, text: 'after the purge, edited' });
  await cli.waitFor(new RegExp(`\\* ${bob.username} edited \\[4\\]: after the purge, edited\\n`));
  cli.write('/react 2 👍\n');
  await cli.waitFor(/! Message \[2\] in #conv-purge was deleted\.\n/);
  await cli.quit();
  expect(cli.output()).not.toMatch(/deleted \[\d\]|deleted a message|earlier messages/);
  await Promise.all([alice.close(), bob.close()]);
});

it('restarted after much happened, tells at most 200 changes of a room and how to see the latest', async () => {
  const { alice, bob, cli } = await pair('conv-cap', 'cap');
  cli.write('/join conv-cap\n');
  await send(bob, 'conv-cap', 'before the flood');
  await cli.waitFor(/\[1\] .*: before the flood\n/);
  await cli.quit();

  // Straight into the database: more than a restart tells (sends are rate limited).
  await local.server.db.sql`
    insert into messages (room_id, sender_id, client_id, body)
    select 'conv-cap', u.id, 'flood-' || n, 'flood ' || n from generate_series(1, 250) n, users u where u.username = ${bob.username}`;
  await local.server.db.sql`
    update rooms set last_message_id = (select max(id) from messages where room_id = 'conv-cap'),
      last_seq = (select max(seq) from messages where room_id = 'conv-cap') where id = 'conv-cap'`;

  const again = startCli(local.server.wsUrl, join(local.home, 'cap'));
  await again.waitFor(/\* more happened in #conv-cap while you were away than is shown here; \/join conv-cap shows the latest\n/);
  expect(again.output().match(/: flood \d+\n/g)).toHaveLength(200);
  expect(again.output()).toContain(': flood 200\n');
  // the cursor went to the end: what comes next is told, once
  const last = await send(bob, 'conv-cap', 'after the flood');
  await bob.request({ action: 'edit', room: 'conv-cap', message: last.id, text: 'after the flood, edited' });
  await again.waitFor(new RegExp(`\\* \\[#conv-cap\\] ${bob.username} edited \\[\\d+\\]: after the flood, edited\\n`));
  await again.quit();
  expect(again.output().match(/: flood \d+\n/g)).toHaveLength(200);
  await Promise.all([alice.close(), bob.close()]);
});
