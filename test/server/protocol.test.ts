// Every action of PROTOCOL.md over real sockets, against the real local server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccount, resumeAs, signUp, TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('auth', () => {
  it('registers, mails a code, verifies, and lands in general', async () => {
    const c = await TestClient.connect(t.wsUrl);
    const account = newAccount('Reg');
    const sent = await c.request({ action: 'auth', op: 'register', ...account });
    expect(sent).toMatchObject({ type: 'otp_sent', expiresIn: 600 });
    expect(sent.email).toMatch(/^r\*\*\*\d@example\.com$/i);
    const code = await t.mail.codeFor(account.email);
    expect(code).toMatch(/^\d{6}$/);

    const wrong = await c.request({ action: 'auth', op: 'verify', username: account.username, code: code === '000000' ? '111111' : '000000' });
    expect(wrong).toMatchObject({ type: 'error', code: 'invalid_code' });

    const authed = await c.request({ action: 'auth', op: 'verify', username: account.username, code });
    expect(authed).toMatchObject({
      type: 'authed',
      user: { username: account.username.toLowerCase(), displayName: account.username },
      rooms: [{ id: 'general', kind: 'channel', name: 'general' }],
    });
    expect(typeof authed.token).toBe('string');
    expect((authed.token as string).length).toBeGreaterThanOrEqual(22);
    expect(authed.expiresAt).toMatch(isoTime);
    expect(authed.serverTime).toMatch(isoTime); // disappearing messages: the client's clock offset

    const reused = await (await TestClient.connect(t.wsUrl)).request({ action: 'auth', op: 'verify', username: account.username, code });
    expect(reused).toMatchObject({ type: 'error', code: 'invalid_code' });
    await c.close();
  });

  it('logs in, and refuses a wrong password exactly like an unknown user', async () => {
    const a = await signUp(t);
    const c = await TestClient.connect(t.wsUrl);
    const wrong = await c.request({ action: 'auth', op: 'login', username: a.username, password: 'not the password' });
    const unknown = await c.request({ action: 'auth', op: 'login', username: 'nobody_here', password: 'whatever123' });
    expect(wrong).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect({ ...unknown, re: undefined }).toEqual({ ...wrong, re: undefined });
    const ok = await c.request({ action: 'auth', op: 'login', username: a.username.toUpperCase(), password: a.password });
    expect(ok).toMatchObject({ type: 'authed', user: { username: a.username } });
    await Promise.all([a.close(), c.close()]);
  });

  it('answers a login of an unverified account with a new code', async () => {
    const account = newAccount('unv');
    const c = await TestClient.connect(t.wsUrl);
    await c.request({ action: 'auth', op: 'register', ...account });
    const first = await t.mail.codeFor(account.email);
    const login = await c.request({ action: 'auth', op: 'login', username: account.username, password: account.password });
    expect(login).toMatchObject({ type: 'otp_sent' });
    expect(t.mail.to(account.email)).toHaveLength(2);
    // only the newest code is valid
    const second = await t.mail.codeFor(account.email);
    if (first !== second) {
      const old = await c.request({ action: 'auth', op: 'verify', username: account.username, code: first });
      expect(old).toMatchObject({ type: 'error', code: 'invalid_code' });
    }
    const ok = await c.request({ action: 'auth', op: 'verify', username: account.username, code: second });
    expect(ok.type).toBe('authed');
    await c.close();
  });

  it('answers a taken username the same way as a new one, and tells only the mailbox', async () => {
    const a = await signUp(t);
    const c = await TestClient.connect(t.wsUrl);
    const again = await c.request({ action: 'auth', op: 'register', username: a.username, email: 'someone.else@example.com', password: 'another password' });
    expect(again).toMatchObject({ type: 'otp_sent', email: 's***e@example.com' });
    expect(t.mail.to('someone.else@example.com')[0]?.subject).toMatch(/sign-up attempt/i);
    // and the account is untouched
    const login = await c.request({ action: 'auth', op: 'login', username: a.username, password: a.password });
    expect(login.type).toBe('authed');
    await Promise.all([a.close(), c.close()]);
  });

  it('resumes with the token on a new connection, and refuses a bad token', async () => {
    const a = await signUp(t);
    const second = await resumeAs(t, a.token!);
    expect(second.token).toBe(a.token);
    const c = await TestClient.connect(t.wsUrl);
    expect(await c.request({ action: 'auth', op: 'resume', token: 'not-a-token' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    await Promise.all([a.close(), second.close(), c.close()]);
  });

  it('logs out: revokes the token, closes the session\'s other sockets, refuses a replay', async () => {
    const a = await signUp(t);
    const other = await resumeAs(t, a.token!);
    const out = await a.request({ action: 'auth', op: 'logout' });
    expect(out).toMatchObject({ type: 'logged_out' });
    await other.closed;
    expect(await a.request({ action: 'join', room: 'general' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    const replay = await TestClient.connect(t.wsUrl);
    expect(await replay.request({ action: 'auth', op: 'resume', token: a.token })).toMatchObject({ type: 'error', code: 'unauthorized' });
    // the same socket may log in again
    expect((await a.request({ action: 'auth', op: 'login', username: a.username, password: a.password })).type).toBe('authed');
    await Promise.all([a.close(), replay.close()]);
  });

  it('refuses a second login on a logged-in connection with conflict', async () => {
    const a = await signUp(t);
    const again = await a.request({ action: 'auth', op: 'login', username: a.username, password: a.password });
    expect(again).toMatchObject({ type: 'error', code: 'conflict' });
    await a.close();
  });

  it('limits code emails per address', async () => {
    const c = await TestClient.connect(t.wsUrl);
    const email = 'flood@example.com';
    const replies = [];
    for (let i = 0; i < 7; i++) {
      replies.push(await c.request({ action: 'auth', op: 'register', username: `flood${i}`, email, password: 'correct horse battery' }));
    }
    expect(replies.slice(0, 5).every((r) => r.type === 'otp_sent')).toBe(true);
    expect(replies[5]).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(t.mail.to(email)).toHaveLength(5);
    await c.close();
  });

  it('burns a code after five wrong tries', async () => {
    const account = newAccount('brute');
    const c = await TestClient.connect(t.wsUrl);
    await c.request({ action: 'auth', op: 'register', ...account });
    const code = await t.mail.codeFor(account.email);
    const wrongCode = code === '123456' ? '654321' : '123456';
    for (let i = 0; i < 5; i++) {
      expect(await c.request({ action: 'auth', op: 'verify', username: account.username, code: wrongCode })).toMatchObject({ code: 'invalid_code' });
    }
    expect(await c.request({ action: 'auth', op: 'verify', username: account.username, code })).toMatchObject({ code: 'invalid_code' });
    await c.close();
  });
});

describe('rooms and messages', () => {
  it('joins a channel, creating it, with members, latest messages and presence for others', async () => {
    const [a, b] = await Promise.all([signUp(t), signUp(t)]);
    const room = `room-${Date.now() % 100000}`;
    const joinedA = await a.request({ action: 'join', room });
    expect(joinedA).toMatchObject({
      type: 'joined',
      room: { id: room, kind: 'channel', name: room, lastMessageId: null },
      members: [{ username: a.username, online: true }],
      messages: [],
    });
    await a.request({ action: 'send', room, text: 'first', clientId: 'c1' });
    const joinedB = await b.request({ action: 'join', room: room.toUpperCase() });
    expect(joinedB.room).toMatchObject({ id: room });
    expect((joinedB.messages as { text: string }[]).map((m) => m.text)).toEqual(['first']);
    expect(joinedB.members).toEqual(
      expect.arrayContaining([
        { username: a.username, online: true },
        { username: b.username, online: true },
      ]),
    );
    expect(await a.next((f) => f.type === 'presence' && f.room === room)).toEqual({ type: 'presence', room, user: b.username, member: true });
    await Promise.all([a.close(), b.close()]);
  });

  it('sends: the reply after commit, every connection of every member gets the message', async () => {
    const [a, b] = await Promise.all([signUp(t), signUp(t)]);
    const a2 = await resumeAs(t, a.token!);
    const room = `talk-${Date.now() % 100000}`;
    await a.request({ action: 'join', room });
    await b.request({ action: 'join', room });
    const sent = await a.request({ action: 'send', room, text: '  hello <b>there</b> 🦊  ', clientId: 'k-1' });
    expect(sent).toMatchObject({ type: 'sent', clientId: 'k-1' });
    const message = sent.message as Record<string, string>;
    expect(message).toMatchObject({ room, from: a.username, text: 'hello <b>there</b> 🦊', clientId: 'k-1' });
    expect(message.id).toMatch(/^[1-9]\d*$/);
    expect(message.at).toMatch(isoTime);
    const [rows] = await t.db.sql`select count(*)::int as n from messages where id = ${message.id!}`;
    expect(rows!.n).toBe(1);
    // the room's first message, and its first change (the conversation extension's seq and prevSeq)
    for (const c of [a2, b]) expect(await c.next('message')).toEqual({ type: 'message', message, prev: null, seq: message.seq, prevSeq: null });
    await Promise.all([a.close(), a2.close(), b.close()]);
  });

  it('is idempotent on clientId: a repeat gets the same reply and stores nothing new', async () => {
    const a = await signUp(t);
    const first = await a.request({ action: 'send', room: 'general', text: 'once', clientId: 'same' });
    const second = await a.request({ action: 'send', room: 'general', text: 'once', clientId: 'same' });
    expect(second.message).toEqual(first.message);
    const [row] = await t.db.sql`select count(*)::int as n from messages m join users u on u.id = m.sender_id where u.username = ${a.username}`;
    expect(row!.n).toBe(1);
    // concurrent repeats too
    const replies = await Promise.all([1, 2, 3].map(() => a.request({ action: 'send', room: 'general', text: 'race', clientId: 'par' })));
    expect(new Set(replies.map((r) => (r.message as { id: string }).id)).size).toBe(1);
    await a.close();
  });

  it('refuses sending to or reading a channel one is not in, and validates text', async () => {
    const [a, b] = await Promise.all([signUp(t), signUp(t)]);
    const room = `priv-${Date.now() % 100000}`;
    await a.request({ action: 'join', room });
    expect(await b.request({ action: 'send', room, text: 'hi', clientId: 'x' })).toMatchObject({ code: 'forbidden' });
    expect(await b.request({ action: 'history', room })).toMatchObject({ code: 'forbidden' });
    expect(await a.request({ action: 'send', room, text: '   ', clientId: 'x' })).toMatchObject({ code: 'bad_request' });
    expect(await a.request({ action: 'send', room, text: 'x'.repeat(4001), clientId: 'y' })).toMatchObject({ code: 'bad_request' });
    expect(await a.request({ action: 'send', room, text: '🦊'.repeat(4000), clientId: 'z' })).toMatchObject({ type: 'sent' });
    await Promise.all([a.close(), b.close()]);
  });

  it('pages history with before, after, limit and hasMore; after catches up a reconnect', async () => {
    const [a, b] = await Promise.all([signUp(t), signUp(t)]);
    const room = `hist-${Date.now() % 100000}`;
    await a.request({ action: 'join', room });
    await b.request({ action: 'join', room });
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) {
      const r = await a.request({ action: 'send', room, text: `m${i}`, clientId: `h${i}` });
      ids.push((r.message as { id: string }).id);
    }
    const latest = await a.request({ action: 'history', room, limit: 3 });
    expect((latest.messages as { text: string }[]).map((m) => m.text)).toEqual(['m5', 'm6', 'm7']);
    expect(latest.hasMore).toBe(true);
    const before = await a.request({ action: 'history', room, before: ids[4], limit: 10 });
    expect((before.messages as { text: string }[]).map((m) => m.text)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(before.hasMore).toBe(false);

    // b drops; messages arrive while away; b comes back and asks `after` its last id
    const lastSeen = ids[6]!;
    await b.close();
    for (let i = 8; i <= 10; i++) await a.request({ action: 'send', room, text: `m${i}`, clientId: `h${i}` });
    const back = await resumeAs(t, b.token!);
    const caught = await back.request({ action: 'history', room, after: lastSeen });
    expect((caught.messages as { text: string }[]).map((m) => m.text)).toEqual(['m8', 'm9', 'm10']);
    expect(caught.hasMore).toBe(false);
    const page = await back.request({ action: 'history', room, after: ids[0], limit: 2 });
    expect((page.messages as { text: string }[]).map((m) => m.text)).toEqual(['m2', 'm3']);
    expect(page.hasMore).toBe(true);
    await Promise.all([a.close(), back.close()]);
  });

  it('leaves a channel; members hear it; sends are refused after; general and DMs stay', async () => {
    const [a, b] = await Promise.all([signUp(t), signUp(t)]);
    const room = `bye-${Date.now() % 100000}`;
    await a.request({ action: 'join', room });
    await b.request({ action: 'join', room });
    expect(await b.request({ action: 'leave', room })).toMatchObject({ type: 'left', room });
    expect(await a.next((f) => f.type === 'presence' && f.member === false)).toEqual({ type: 'presence', room, user: b.username, member: false });
    expect(await b.request({ action: 'send', room, text: 'still here?', clientId: 'l1' })).toMatchObject({ code: 'forbidden' });
    expect(await b.request({ action: 'leave', room })).toMatchObject({ code: 'not_found' });
    expect(await b.request({ action: 'leave', room: 'general' })).toMatchObject({ code: 'bad_request' });
    expect(await b.request({ action: 'leave', room: `dm:${a.username}:${b.username}` })).toMatchObject({ code: 'bad_request' });
    await Promise.all([a.close(), b.close()]);
  });
});

describe('direct messages', () => {
  it('delivers only to the two people, opens the room on first send, and stays private', async () => {
    const [a, b, c] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const dm = `dm:${[a.username, b.username].sort().join(':')}`;
    const reversed = `dm:${[a.username, b.username].sort().reverse().join(':')}`;
    const sent = await a.request({ action: 'send', room: reversed, text: 'psst', clientId: 'd1' });
    expect(sent).toMatchObject({ type: 'sent', message: { room: dm, text: 'psst' } });
    expect(await b.next('message')).toMatchObject({ message: { room: dm, from: a.username } });
    const joined = await b.request({ action: 'join', room: dm });
    expect(joined.room).toMatchObject({ id: dm, kind: 'dm', name: a.username });
    expect(await c.request({ action: 'history', room: dm })).toMatchObject({ code: 'forbidden' });
    expect(await c.request({ action: 'join', room: dm })).toMatchObject({ code: 'forbidden' });
    expect(await c.request({ action: 'send', room: dm, text: 'me too', clientId: 'd2' })).toMatchObject({ code: 'forbidden' });
    expect(await c.quiet('message')).toEqual([]);
    // a DM with nobody
    expect(await a.request({ action: 'join', room: `dm:${a.username}:zz_nobody` })).toMatchObject({ code: 'not_found' });
    // b's room list now has the DM
    const again = await resumeAs(t, b.token!);
    const rooms = again.frames.find((f) => f.type === 'authed')!.rooms as { id: string; lastMessageId: string }[];
    expect(rooms.find((r) => r.id === dm)).toMatchObject({ kind: 'dm', name: a.username, lastMessageId: (sent.message as { id: string }).id });
    await Promise.all([a.close(), b.close(), c.close(), again.close()]);
  });
});

describe('presence', () => {
  it('tells roommates when a first connection comes and a last one goes', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    expect(await a.next((f) => f.type === 'presence' && f.user === b.username)).toEqual({ type: 'presence', room: 'general', user: b.username, online: true });
    const b2 = await resumeAs(t, b.token!);
    await b.close();
    expect(await a.quiet((f) => f.type === 'presence' && f.user === b.username)).toEqual([]);
    await b2.close();
    expect(await a.next((f) => f.type === 'presence' && f.user === b.username && f.online === false)).toMatchObject({ online: false });
    await a.close();
  });
});

describe('bad input', () => {
  async function counts() {
    const [row] = await t.db.sql`select (select count(*) from users)::int as users, (select count(*) from messages)::int as messages,
      (select count(*) from rooms)::int as rooms, (select count(*) from memberships)::int as memberships`;
    return row;
  }

  it('answers every malformed frame with an error, keeps the socket open, and changes nothing', async () => {
    const a = await signUp(t);
    const before = await counts();
    const cases: Array<[string | object, string]> = [
      ['not json', 'bad_request'],
      ['[1,2,3]', 'bad_request'],
      ['"a string"', 'bad_request'],
      ['null', 'bad_request'],
      [{}, 'bad_request'],
      [{ action: 42 }, 'bad_request'],
      [{ action: 'dance' }, 'bad_request'],
      [{ action: 'join' }, 'bad_request'],
      [{ action: 'join', room: 7 }, 'bad_request'],
      [{ action: 'join', room: 'no spaces allowed' }, 'bad_request'],
      [{ action: 'join', room: 'x'.repeat(33) }, 'bad_request'],
      [{ action: 'join', room: "general'; drop table users; --" }, 'bad_request'],
      [{ action: 'join', room: 'dm:a:b:c' }, 'bad_request'],
      [{ action: 'send', room: 'general', text: 'hi' }, 'bad_request'],
      [{ action: 'send', room: 'general', text: 5, clientId: 'n' }, 'bad_request'],
      [{ action: 'send', room: 'general', text: 'nul\u0000byte', clientId: 'n' }, 'bad_request'],
      [{ action: 'send', room: 'general', text: 'ok', clientId: 'x'.repeat(65) }, 'bad_request'],
      [{ action: 'history', room: 'general', limit: 0 }, 'bad_request'],
      [{ action: 'history', room: 'general', limit: 101 }, 'bad_request'],
      [{ action: 'history', room: 'general', after: '-1' }, 'bad_request'],
      [{ action: 'history', room: 'general', before: 12 }, 'bad_request'],
      [{ action: 'auth', op: 'hack' }, 'bad_request'],
      [{ action: 'send', room: 'general', text: 'x'.repeat(40_000), clientId: 'big' }, 'too_large'],
    ];
    for (const [frame, code] of cases) {
      a.send(frame);
      const reply = await a.next('error');
      expect({ frame, code: reply.code }).toEqual({ frame, code });
      expect(typeof reply.message).toBe('string');
      expect(reply.message).not.toMatch(/at \w+ \(|select |insert |postgres/i);
    }
    a.ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
    expect(await a.next('error')).toMatchObject({ code: 'bad_request' });
    // still open and working
    expect((await a.request({ action: 'join', room: 'general' })).type).toBe('joined');
    expect(await counts()).toEqual(before);
    await a.close();
  });

  it('echoes the request id on errors', async () => {
    const c = await TestClient.connect(t.wsUrl);
    c.send({ action: 'join', room: 'general', id: 'abc' });
    expect(await c.next('error')).toEqual({ type: 'error', re: 'abc', code: 'unauthorized', message: expect.any(String) });
    await c.close();
  });

  it('refuses every action but auth before login', async () => {
    const c = await TestClient.connect(t.wsUrl);
    for (const frame of [
      { action: 'join', room: 'general' },
      { action: 'send', room: 'general', text: 'hi', clientId: 'u' },
      { action: 'history', room: 'general' },
      { action: 'leave', room: 'x' },
      { action: 'auth', op: 'logout' },
    ]) {
      expect(await c.request(frame)).toMatchObject({ type: 'error', code: 'unauthorized' });
    }
    await c.close();
  });

  it('refuses hostile usernames and emails, and stores hostile text verbatim', async () => {
    const c = await TestClient.connect(t.wsUrl);
    for (const username of ["robert'); drop table users;--", '<script>', 'ab', 'x'.repeat(33), 'al\u202eice', 'émile', 'a b c']) {
      expect(await c.request({ action: 'auth', op: 'register', username, email: 'h@example.com', password: 'long enough pw' })).toMatchObject({ code: 'bad_request' });
    }
    for (const email of ['not-an-email', '<script>@x', 'a@b@c', `${'x'.repeat(250)}@example.com`]) {
      expect(await c.request({ action: 'auth', op: 'register', username: 'fine_name', email, password: 'long enough pw' })).toMatchObject({ code: 'bad_request' });
    }
    expect(await c.request({ action: 'auth', op: 'register', username: 'fine_name', email: 'f@example.com', password: 'short' })).toMatchObject({ code: 'bad_request' });
    const a = await signUp(t);
    for (const text of ["'; drop table messages; --", '<img src=x onerror=alert(1)>', '\u202egnp.exe', '👩‍👩‍👧‍👦 𝄞', 'tab\tnew\nline']) {
      const sent = await a.request({ action: 'send', room: 'general', text, clientId: `h-${text.length}-${text.charCodeAt(0)}` });
      expect(sent).toMatchObject({ type: 'sent', message: { text } });
    }
    await Promise.all([a.close(), c.close()]);
  });

  it('keeps the socket open for oversized frames up to the hard cap', async () => {
    const c = await TestClient.connect(t.wsUrl);
    c.send('x'.repeat(33 * 1024));
    expect(await c.next('error')).toMatchObject({ code: 'too_large' });
    c.send({ action: 'ping' });
    expect(await c.next('pong')).toEqual({ type: 'pong', serverTime: expect.any(String) });
    await c.close();
  });
});

describe('origin allowlist', () => {
  it('allows same-origin and Origin-less clients, refuses other sites', async () => {
    const host = new URL(t.url).host;
    const same = await TestClient.connect(t.wsUrl, { origin: `http://${host}` });
    const bare = await TestClient.connect(t.wsUrl);
    await expect(TestClient.connect(t.wsUrl, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    await Promise.all([same.close(), bare.close()]);
  });
});
