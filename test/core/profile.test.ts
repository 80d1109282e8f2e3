// Profiles (E20): a display name, a status and an avatar, live to everyone who
// shares a room, and in the replies a client that was away reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeAs, signUp } from '../helpers/client.js';
import { PDF, PNG, upload } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

describe('set_profile', () => {
  it('sets a display name and status; roommates hear it once per connection; authed, members and profiles carry it', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const bobTab = await resumeAs(t, bob.token!);
    // bob shares general and a second room with alice: still one event per connection
    const room = `pr-${crypto.randomUUID().slice(0, 8)}`;
    await alice.request({ action: 'join', room });
    await bob.request({ action: 'join', room });

    const saved = await alice.request({ action: 'set_profile', displayName: '  Alice Liddell ', status: 'down the rabbit hole' });

    expect(saved).toMatchObject({
      type: 'profile_saved',
      profile: { username: alice.username, displayName: 'Alice Liddell', status: 'down the rabbit hole' },
    });
    const event = await bob.next((f) => f.type === 'profile' && f.username === alice.username);
    expect(event).toEqual({ type: 'profile', username: alice.username, displayName: 'Alice Liddell', status: 'down the rabbit hole' });
    await bobTab.next((f) => f.type === 'profile' && f.username === alice.username);
    expect(await bob.quiet((f) => f.type === 'profile' && f.username === alice.username)).toEqual([]);

    // a client that was away
    const members = await bob.request({ action: 'members', room });
    expect(members.members).toContainEqual({ username: alice.username, displayName: 'Alice Liddell', status: 'down the rabbit hole', online: true });
    const joined = await bob.request({ action: 'join', room });
    expect(joined.members).toContainEqual(expect.objectContaining({ username: alice.username, displayName: 'Alice Liddell' }));
    const found = await bob.request({ action: 'profiles', users: [alice.username, 'nobody_here'] });
    expect(found).toMatchObject({ type: 'profiles', profiles: [{ username: alice.username, displayName: 'Alice Liddell' }], missing: ['nobody_here'] });

    // clearing the status
    const cleared = await alice.request({ action: 'set_profile', status: '' });
    expect(cleared.profile).toEqual({ username: alice.username, displayName: 'Alice Liddell' });
    await Promise.all([alice.close(), bob.close(), bobTab.close()]);
  });

  it('authed carries the profile after a new login', async () => {
    const carol = await signUp(t);
    await carol.request({ action: 'set_profile', displayName: 'Carol C', status: 'away' });
    const { TestClient } = await import('../helpers/client.js');
    const c2 = await TestClient.connect(t.wsUrl);
    const authed = await c2.request({ action: 'auth', op: 'resume', token: carol.token });
    expect(authed.user).toMatchObject({ username: carol.username, displayName: 'Carol C', status: 'away' });
    await Promise.all([carol.close(), c2.close()]);
  });

  it('refuses names that are empty, invisible, too long, multi-line, reserved or profane', async () => {
    const dave = await signUp(t);
    for (const displayName of ['', '   ', '\u200b\u200b', 'x'.repeat(49), 'two\nlines', 'Support Team', 'fuck']) {
      const r = await dave.request({ action: 'set_profile', displayName });
      expect(r, JSON.stringify(displayName)).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(r.message).toMatch(/\.$/);
    }
    expect(await dave.request({ action: 'set_profile', status: 'y'.repeat(81) })).toMatchObject({ code: 'bad_request' });
    expect(await dave.request({ action: 'set_profile' })).toMatchObject({ code: 'bad_request' });
    expect(await dave.request({ action: 'set_profile', displayName: 'x'.repeat(48) })).toMatchObject({ type: 'profile_saved' });
    await dave.close();
  });

  it('refuses staff names spelled in look-alike letters, and names with invisible characters inside', async () => {
    const gina = await signUp(t);
    // fullwidth, Cyrillic А, Greek Α, mathematical bold, circled, superscript: each reads "Admin"
    for (const displayName of ['ａｄｍｉｎ', '\u0410dmin', '\u0391dmin', '𝐀𝐝𝐦𝐢𝐧', 'Ⓐⓓⓜⓘⓝ', 'ᴬᵈᵐⁱⁿ', 'Mоdеrаtоr', 'Bo\u200Bb', 'Bo\uFEFFb', 'Bo\u034Fb']) {
      expect(await gina.request({ action: 'set_profile', displayName }), JSON.stringify(displayName)).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    for (const displayName of ['Zoë Ångström', 'Алиса', 'Γιώργος', '👩‍💻 Gina', '🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F} Gina']) {
      expect(await gina.request({ action: 'set_profile', displayName }), JSON.stringify(displayName)).toMatchObject({ type: 'profile_saved' });
    }
    await gina.close();
  });
});

describe('avatars', () => {
  it('an uploaded image becomes the avatar; roommates get its URL; replacing it deletes the old file', async () => {
    const erin = await signUp(t);
    const frank = await signUp(t);
    const first = await upload(t.url, erin, 'general', { name: 'me.png', type: 'image/png', bytes: PNG });

    const saved = await erin.request({ action: 'set_profile', avatar: first.file });

    expect(saved).toMatchObject({ type: 'profile_saved', profile: { username: erin.username, avatar: first.file } });
    await frank.next((f) => f.type === 'profile' && f.username === erin.username && f.avatar === first.file);
    const urls = await frank.request({ action: 'avatars', users: [erin.username, frank.username] });
    expect(urls).toMatchObject({ type: 'avatar_urls', avatars: [{ user: erin.username, file: first.file }], missing: [frank.username] });
    const url = (urls.avatars as { url: string }[])[0]!.url;
    const res = await fetch(new URL(url, t.url));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);
    // the avatar cannot also go out in a message
    const sent = await erin.request({ action: 'send', room: 'general', text: '', files: [first.file], clientId: crypto.randomUUID() });
    expect(sent.type).toBe('error');

    const second = await upload(t.url, erin, 'general', { name: 'me2.png', type: 'image/png', bytes: PNG });
    await erin.request({ action: 'set_profile', avatar: second.file });
    const rows = await t.db.sql`select id from files where id = ${first.file}`;
    expect(rows).toHaveLength(0);
    // the sweep spares the avatar
    const { sweepFiles } = await import('../../functions/core/files.js');
    const { getDeps } = await import('../../functions/adapters/runtime.js');
    await sweepFiles({ ...(await getDeps()), clock: { now: () => new Date(Date.now() + 3 * 24 * 3600 * 1000) } });
    expect(await t.db.sql`select id from files where id = ${second.file}`).toHaveLength(1);

    const removed = await erin.request({ action: 'set_profile', avatar: null });
    expect(removed.profile).toEqual({ username: erin.username });
    expect(await t.db.sql`select id from files where id = ${second.file}`).toHaveLength(0);
    await Promise.all([erin.close(), frank.close()]);
  });

  it('refuses a file that is not an image', async () => {
    const gina = await signUp(t);
    const pdf = await upload(t.url, gina, 'general', { name: 'doc.pdf', type: 'application/pdf', bytes: PDF });
    expect(await gina.request({ action: 'set_profile', avatar: pdf.file })).toMatchObject({ type: 'error', code: 'bad_request' });
    await gina.close();
  });
});
