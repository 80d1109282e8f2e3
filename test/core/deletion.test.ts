// Delete my account (E20): after the password, everything personal goes; the
// messages stay under "deleted user" or are erased, as the person chooses; the
// username is held for a while; a deleted account's token never resumes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccount, resumeAs, signUp, TestClient } from '../helpers/client.js';
import { PNG, upload, sendFiles } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

async function say(client: TestClient, room: string, text: string) {
  const sent = await client.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return (sent.message as { id: string }).id;
}

const idOf = async (username: string) => (await t.db.sql<{ id: string }[]>`select id from users where username = ${username}`)[0]!.id;

/**
 * Every column of every table that could hold the user's id: those a foreign key
 * points from at users(id), and any other integer column whose name says it
 * holds a user (user_id, *_user_id, sender_id, uploader_id, created_by, ...),
 * read from information_schema, so a table added later is checked too.
 */
async function userColumns(): Promise<{ table: string; column: string }[]> {
  const fks = await t.db.sql<{ table: string; column: string }[]>`
    select kcu.table_name as table, kcu.column_name as column
    from information_schema.referential_constraints rc
    join information_schema.key_column_usage kcu on kcu.constraint_name = rc.constraint_name and kcu.constraint_schema = rc.constraint_schema
    join information_schema.constraint_column_usage ccu on ccu.constraint_name = rc.unique_constraint_name and ccu.constraint_schema = rc.unique_constraint_schema
    where ccu.table_name = 'users' and ccu.column_name = 'id' and kcu.table_schema = current_schema()`;
  const named = await t.db.sql<{ table: string; column: string }[]>`
    select c.table_name as table, c.column_name as column from information_schema.columns c
    join information_schema.tables tb on tb.table_name = c.table_name and tb.table_schema = c.table_schema and tb.table_type = 'BASE TABLE'
    where c.table_schema = current_schema() and c.data_type = 'bigint'
      and (c.column_name ~ '(^|_)user_id$' or c.column_name in ('sender_id', 'uploader_id', 'created_by', 'reporter_id', 'reported_id'))`;
  const all = new Map([...fks, ...named].map((c) => [`${c.table}.${c.column}`, c]));
  return [...all.values()];
}

/** Rows of any table that still refer to the user, by table.column, but the kept ones. */
async function leftovers(userId: string, kept: string[] = []): Promise<string[]> {
  const columns = await userColumns();
  expect(columns.map((c) => `${c.table}.${c.column}`)).toEqual(expect.arrayContaining(['sessions.user_id', 'messages.sender_id', 'files.uploader_id']));
  const left: string[] = [];
  for (const { table, column } of columns) {
    if (kept.includes(`${table}.${column}`)) continue;
    const [row] = await t.db.sql<{ n: number }[]>`select count(*)::int as n from ${t.db.sql(table)} where ${t.db.sql(column)} = ${userId}`;
    if (row!.n > 0) left.push(`${table}.${column}: ${row!.n}`);
  }
  const budgets = await t.db.sql`select key from rate_budgets where key like ${'%:user:' + userId}`;
  if (budgets.length) left.push(`rate_budgets: ${budgets.map((b) => b.key).join(', ')}`);
  return left;
}

/** The stub's columns: id, the '~id' username and deleted_at, all else emptied. */
async function expectStub(userId: string) {
  const [row] = await t.db.sql<Record<string, unknown>[]>`select * from users where id = ${userId}`;
  expect(row).toBeDefined();
  expect(row!.username).toBe(`~${userId}`);
  expect(row!.deleted_at).toBeInstanceOf(Date);
  for (const [column, value] of Object.entries(row!)) {
    if (['id', 'username', 'deleted_at', 'created_at'].includes(column)) continue;
    // back to the column's default: the notice choice (E24) says nothing of the person
    if (column === 'notify') {
      expect(value).toBe('mentions');
      continue;
    }
    expect([null, '', 0, false, true], `users.${column} = ${JSON.stringify(value)}`).toContain(value);
  }
}

describe('delete_account', () => {
  it('keep: everything personal goes, messages stay under the stub, sockets close, roommates hear it, the token is dead', async () => {
    const alice = await signUp(t);
    const aliceTab = await resumeAs(t, alice.token!);
    const bob = await signUp(t);
    const room = `del-${crypto.randomUUID().slice(0, 8)}`;
    await alice.request({ action: 'join', room });
    await bob.request({ action: 'join', room });
    const dm = `dm:${[alice.username, bob.username].sort().join(':')}`;
    const kept = await say(alice, 'general', 'I was here');
    await say(alice, dm, 'a private word');
    const bobs = await say(bob, room, 'a line of bob');
    expect((await alice.request({ action: 'react', room, message: bobs, emoji: '👍' })).type).not.toBe('error');
    await alice.request({ action: 'read', room, through: bobs });
    await alice.request({ action: 'set_profile', displayName: 'Alice Gone', status: 'leaving' });
    const avatar = await upload(t.url, alice, 'general', { name: 'a.png', type: 'image/png', bytes: PNG });
    await alice.request({ action: 'set_profile', avatar: avatar.file });
    const attached = await upload(t.url, alice, room, { name: 'b.png', type: 'image/png', bytes: PNG });
    expect((await sendFiles(alice, room, [attached.file])).type).toBe('sent');
    const userId = await idOf(alice.username);
    expect((await leftovers(userId, ['messages.sender_id'])).length).toBeGreaterThan(3); // the check can fail

    const done = await alice.request({ action: 'delete_account', password: alice.password, messages: 'keep' });

    expect(done).toEqual({ type: 'account_deleted', messages: 'keep', erased: 0, re: expect.any(String) });
    await alice.closed;
    await aliceTab.closed;
    expect(await bob.next((f) => f.type === 'profile' && f.username === alice.username && f.deleted === true)).toEqual({ type: 'profile', username: alice.username, deleted: true });
    await bob.next((f) => f.type === 'presence' && f.room === room && f.user === alice.username && f.member === false);
    expect(await leftovers(userId, ['messages.sender_id'])).toEqual([]);
    await expectStub(userId);
    expect(await t.db.sql`select 1 from files where id in (${avatar.file}, ${attached.file})`).toHaveLength(0);
    // the message stays, under the stub's name
    const history = await bob.request({ action: 'history', room: 'general' });
    expect((history.messages as { id: string; from: string; text: string }[]).find((m) => m.id === kept)).toMatchObject({
      from: `~${userId}`,
      text: 'I was here',
    });
    const members = await bob.request({ action: 'members', room });
    expect((members.members as { username: string }[]).map((m) => m.username)).not.toContain(alice.username);
    // the token is dead, and so are the password and the name
    const again = await TestClient.connect(t.wsUrl);
    expect(await again.request({ action: 'auth', op: 'resume', token: alice.token })).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(await again.request({ action: 'auth', op: 'login', username: alice.username, password: alice.password })).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
    await Promise.all([bob.close(), again.close()]);
  });

  it('erase: every message becomes a tombstone for everyone', async () => {
    const carol = await signUp(t);
    const dan = await signUp(t);
    const m1 = await say(carol, 'general', 'first');
    const m2 = await say(carol, 'general', 'second');
    const userId = await idOf(carol.username);

    const done = await carol.request({ action: 'delete_account', password: carol.password, messages: 'erase' });

    expect(done).toMatchObject({ type: 'account_deleted', messages: 'erase', erased: 2 });
    expect(await dan.next((f) => f.type === 'deleted' && f.room === 'general' && f.from === carol.username)).toMatchObject({ through: m2 });
    const history = await dan.request({ action: 'history', room: 'general' });
    const ids = (history.messages as { id: string }[]).map((m) => m.id);
    expect(ids).not.toContain(m1);
    expect(ids).not.toContain(m2);
    const bodies = await t.db.sql<{ body: string; deleted_at: Date | null }[]>`select body, deleted_at from messages where sender_id = ${userId}`;
    expect(bodies).toHaveLength(2);
    for (const b of bodies) expect(b).toMatchObject({ body: '', deleted_at: expect.any(Date) });
    expect(await leftovers(userId, ['messages.sender_id'])).toEqual([]);
    await expectStub(userId);
    await dan.close();
  });

  it('a wrong password deletes nothing', async () => {
    const erin = await signUp(t);
    const refused = await erin.request({ action: 'delete_account', password: 'not the password', messages: 'erase' });
    expect(refused).toMatchObject({ type: 'error', code: 'unauthorized', message: expect.stringMatching(/not deleted/) });
    expect((await t.db.sql`select 1 from users where username = ${erin.username} and deleted_at is null`).length).toBe(1);
    expect((await erin.request({ action: 'ping' })).type).toBe('pong');
    await erin.close();
  });
});

describe('tables added later', () => {
  it('a new table referring to users is emptied of the account; one the deletion cannot know of fails the check', async () => {
    await t.db.sql`create table later_notes (user_id bigint not null references users (id) on delete cascade, note text)`;
    await t.db.sql`create table later_orphans (owner_user_id bigint, note text)`;
    try {
      const gil = await signUp(t);
      const userId = await idOf(gil.username);
      await t.db.sql`insert into later_notes values (${userId}, 'personal')`;
      await t.db.sql`insert into later_orphans values (${userId}, 'personal too')`;

      await gil.request({ action: 'delete_account', password: gil.password, messages: 'keep' });

      expect(await t.db.sql`select 1 from later_notes where user_id = ${userId}`).toHaveLength(0);
      // a column without a foreign key is found by its name, and reported
      expect(await leftovers(userId, ['messages.sender_id'])).toEqual(['later_orphans.owner_user_id: 1']);
    } finally {
      await t.db.sql`drop table later_notes`;
      await t.db.sql`drop table later_orphans`;
    }
  });
});

describe('the name hold', () => {
  it('refuses the name during the hold with a sentence, frees it after, and the newcomer never sees the old DMs', async () => {
    const account = newAccount('held');
    const old = await signUp(t, account);
    const friend = await signUp(t);
    const dm = `dm:${[old.username, friend.username].sort().join(':')}`;
    await say(old, dm, 'between us');
    await old.request({ action: 'delete_account', password: old.password, messages: 'keep' });
    await old.closed;

    const again = await TestClient.connect(t.wsUrl);
    const refused = await again.request({ action: 'auth', op: 'register', ...account, email: `other-${account.email}` });
    expect(refused).toMatchObject({ type: 'error', code: 'conflict' });
    expect(refused.message).toMatch(new RegExp(`^The username ${old.username} belonged to an account that was deleted; it can be registered again from \\d{4}-\\d{2}-\\d{2}\\.$`));

    // the hold ends
    await t.db.sql`update held_names set free_at = now() - interval '1 minute' where username = ${old.username}`;
    const newcomer = await signUp(t, { ...account, email: `new-${account.email}` });
    expect(await t.db.sql`select 1 from rooms where id = ${dm}`).toHaveLength(0);
    const joined = await newcomer.request({ action: 'join', room: dm });
    expect(joined).toMatchObject({ type: 'joined', messages: [] });
    expect(await t.db.sql`select 1 from held_names where username = ${old.username}`).toHaveLength(0);
    await Promise.all([again.close(), friend.close(), newcomer.close()]);
  });
});
