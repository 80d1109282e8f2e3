// Attacks on profiles, account deletion and export (E20): a deleted account's
// token and sockets, another person's file (or a message's) as one's avatar,
// display names that are too long or show nothing, reading someone else's
// export, deleting an account without its password, and grinding passwords
// through deletion. Each is refused with a code and a sentence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeAs, signUp, TestClient } from '../helpers/client.js';
import { PNG, sendFiles, upload } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ ACCOUNT_DELETIONS_PER_HOUR: '3' });
});
afterAll(() => t?.close());

describe("a deleted account's token and sockets", () => {
  it('never resumes, and a socket that was signed in is closed and signed out', async () => {
    const mallory = await signUp(t);
    const spare = await resumeAs(t, mallory.token!);
    await mallory.request({ action: 'delete_account', password: mallory.password, messages: 'keep' });
    await spare.closed;
    for (let i = 0; i < 2; i++) {
      const c = await TestClient.connect(t.wsUrl);
      expect(await c.request({ action: 'auth', op: 'resume', token: mallory.token })).toMatchObject({
        type: 'error',
        code: 'unauthorized',
        message: 'That session has ended; log in again.',
      });
      expect(await c.request({ action: 'send', room: 'general', text: 'still here?', clientId: 'x' })).toMatchObject({ type: 'error', code: 'unauthorized' });
      await c.close();
    }
    // the stub cannot be signed into under its wire name either
    const [stub] = await t.db.sql<{ username: string }[]>`select username from users where deleted_at is not null limit 1`;
    const c = await TestClient.connect(t.wsUrl);
    expect(await c.request({ action: 'auth', op: 'login', username: stub!.username, password: '' })).toMatchObject({ type: 'error', code: 'bad_request' });
    await c.close();
  });
});

describe('avatars that are not yours', () => {
  it("refuses another person's upload, a message's file, and an unknown id alike, and changes nothing", async () => {
    const victim = await signUp(t);
    const thief = await signUp(t);
    const room = `pa-${crypto.randomUUID().slice(0, 8)}`;
    await victim.request({ action: 'join', room });
    await thief.request({ action: 'join', room });
    const pending = await upload(t.url, victim, room, { name: 'v.png', type: 'image/png', bytes: PNG });
    const shared = await upload(t.url, victim, room, { name: 's.png', type: 'image/png', bytes: PNG });
    expect((await sendFiles(victim, room, [shared.file])).type).toBe('sent');
    const own = await upload(t.url, thief, room, { name: 'o.png', type: 'image/png', bytes: PNG });
    expect((await sendFiles(thief, room, [own.file])).type).toBe('sent');

    const answers = [];
    for (const avatar of [pending.file, shared.file, own.file, 'AAAAAAAAAAAAAAAAAAAAAA']) {
      answers.push(await thief.request({ action: 'set_profile', avatar }));
    }

    for (const a of answers) expect(a).toMatchObject({ type: 'error', code: 'not_found', message: 'That avatar is not an image you uploaded; upload it first.' });
    expect(await t.db.sql`select avatar_file_id from users where username = ${thief.username}`).toEqual([{ avatar_file_id: null }]);
    // the victim's pending upload is untouched and still theirs to send
    expect((await sendFiles(victim, room, [pending.file])).type).toBe('sent');
    expect(await thief.request({ action: 'set_profile', avatar: '../../etc/passwd' })).toMatchObject({ code: 'bad_request' });
    await Promise.all([victim.close(), thief.close()]);
  });
});

describe('display names and statuses', () => {
  it('refuses oversize, invisible-only, control, direction-changing and stacked text', async () => {
    const eve = await signUp(t);
    const bad = [
      'a'.repeat(49),
      'é'.repeat(49),
      '😀'.repeat(49),
      '\u200b\u200c\u200d\u2060',
      '\u3164\u3164',
      '\u2800\u2800',
      'x\u0000y',
      'Bob\u202e',
      'a' + '\u0301'.repeat(20),
      'x'.repeat(20_000),
    ];
    for (const displayName of bad) {
      const r = await eve.request({ action: 'set_profile', displayName });
      expect(r, JSON.stringify(displayName).slice(0, 40)).toMatchObject({ type: 'error', code: expect.stringMatching(/bad_request|too_large/) });
    }
    expect(await eve.request({ action: 'set_profile', status: 'line\nbreak' })).toMatchObject({ code: 'bad_request' });
    expect(await eve.request({ action: 'set_profile', displayName: 42 })).toMatchObject({ code: 'bad_request' });
    expect(await t.db.sql`select display_name from users where username = ${eve.username}`).toEqual([{ display_name: eve.username }]);
    await eve.close();
  });
});

describe("someone else's export", () => {
  it('has no way to name another person: extra fields are ignored and every page is the caller’s own', async () => {
    const owner = await signUp(t);
    const snoop = await signUp(t);
    await owner.request({ action: 'send', room: 'general', text: 'owner secret', clientId: 'o1' });
    await snoop.request({ action: 'send', room: 'general', text: 'snoop line', clientId: 's1' });
    const first = await snoop.request({ action: 'export_data', user: owner.username, username: owner.username });
    expect(first.profile).toMatchObject({ username: snoop.username, email: snoop.email });
    const page = await snoop.request({ action: 'export_data', after: 'm:0', user: owner.username });
    expect((page.messages as { text: string }[]).map((m) => m.text)).toEqual(['snoop line']);
    expect(await snoop.request({ action: 'export_data', after: "m:0' or 1=1" })).toMatchObject({ code: 'bad_request' });
    const anon = await TestClient.connect(t.wsUrl);
    expect(await anon.request({ action: 'export_data' })).toMatchObject({ code: 'unauthorized' });
    await Promise.all([owner.close(), snoop.close(), anon.close()]);
  });
});

describe('deletion without the password', () => {
  it('refuses no password, a wrong one, and another account’s; the budget stops guessing before any hash', async () => {
    const target = await signUp(t);
    const other = await signUp(t);
    expect(await target.request({ action: 'delete_account', messages: 'erase' })).toMatchObject({ code: 'bad_request' });
    expect(await target.request({ action: 'delete_account', password: target.password })).toMatchObject({ code: 'bad_request' });
    expect(await target.request({ action: 'delete_account', password: 'wrong password', messages: 'erase' })).toMatchObject({ code: 'unauthorized' });
    expect(await target.request({ action: 'delete_account', password: `${other.password}!`, messages: 'erase' })).toMatchObject({ code: 'unauthorized' });
    expect(await target.request({ action: 'delete_account', password: 'third try', messages: 'erase' })).toMatchObject({ code: 'unauthorized' });
    // the fourth try within the hour is refused before the password is looked at, even the right one
    expect(await target.request({ action: 'delete_account', password: target.password, messages: 'erase' })).toMatchObject({ code: 'rate_limited' });
    expect(await t.db.sql`select 1 from users where username = ${target.username}`).toHaveLength(1);
    const anon = await TestClient.connect(t.wsUrl);
    expect(await anon.request({ action: 'delete_account', password: 'x', messages: 'keep' })).toMatchObject({ code: 'unauthorized' });
    await Promise.all([target.close(), other.close(), anon.close()]);
  });
});
