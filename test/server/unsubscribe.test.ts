// The local server's /unsubscribe (E24) over real HTTP: GET shows the page with
// its button and changes nothing; the page's form (and RFC 8058's one-click POST)
// turns notices off; forged, changed and expired links get 400 with a page that
// says why. Also the outbox's RFC 822 file carries the notice's headers, with
// line breaks in a value stripped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRfc822 } from '../../functions/adapters/outbox-mailer.js';
import { serverKey, unsubscribeToken } from '../../functions/core/notices.js';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const at = (token: string) => `http://127.0.0.1:${server.server.port}/unsubscribe?token=${encodeURIComponent(token)}`;
const notifyOf = async (username: string) => (await server.db.sql<{ notify: string }[]>`select notify from users where username = ${username}`)[0]!.notify;

describe('/unsubscribe on the local server', () => {
  it('GET shows a button and changes nothing; the form POST turns notices off', async () => {
    const bob = await signUp(server);
    const [row] = await server.db.sql<{ id: string }[]>`select id::text from users where username = ${bob.username}`;
    const token = unsubscribeToken(await serverKey(server.db.sql, 'unsubscribe'), row!.id, new Date(Date.now() + 86_400_000));

    const page = await fetch(at(token));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    const html = await page.text();
    const action = /<form method="post" action="([^"]+)">/.exec(html)![1]!.replace(/&#38;/g, '&');
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(await notifyOf(bob.username)).toBe('mentions');
    // a HEAD (a link checker) changes nothing either
    expect((await fetch(at(token), { method: 'HEAD' })).status).toBe(200);
    expect(await notifyOf(bob.username)).toBe('mentions');

    // what the page's button sends, to the address its form names
    const posted = await fetch(new URL(action, at(token)), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(posted.status).toBe(200);
    expect(await posted.text()).toContain('Unsubscribed');
    expect(await notifyOf(bob.username)).toBe('off');
    await bob.close();
  });

  it('takes the one-click POST as multipart/form-data too (RFC 8058 §3.1), and nothing else than One-Click', async () => {
    const erin = await signUp(server);
    const [row] = await server.db.sql<{ id: string }[]>`select id::text from users where username = ${erin.username}`;
    const token = unsubscribeToken(await serverKey(server.db.sql, 'unsubscribe'), row!.id, new Date(Date.now() + 86_400_000));
    const wrong = new FormData();
    wrong.set('List-Unsubscribe', 'Two-Clicks');
    expect((await fetch(at(token), { method: 'POST', body: wrong })).status).toBe(400);
    expect(await notifyOf(erin.username)).toBe('mentions');
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const res = await fetch(at(token), { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(await notifyOf(erin.username)).toBe('off');
    await erin.close();
  });

  it('refuses forged, changed and expired links with 400 and a page saying why', async () => {
    const carol = await signUp(server);
    const [row] = await server.db.sql<{ id: string }[]>`select id::text from users where username = ${carol.username}`;
    const key = await serverKey(server.db.sql, 'unsubscribe');
    const forged = unsubscribeToken(Buffer.alloc(32, 1), row!.id, new Date(Date.now() + 86_400_000));
    const expired = unsubscribeToken(key, row!.id, new Date(Date.now() - 1000));
    const good = unsubscribeToken(key, row!.id, new Date(Date.now() + 86_400_000));
    const changed = good.replace(/^\d+/, '1');
    // the same numbers spelt with a leading zero: a second spelling of one token
    const [user, expiry, mac] = good.split('.');
    for (const [token, why] of [
      [forged, 'not valid'],
      [expired, 'expired'],
      [changed, 'not valid'],
      ['', 'incomplete'],
      [`${user}.0${expiry}.${mac}`, 'incomplete'],
      [`0${user}.${expiry}.${mac}`, 'incomplete'],
    ] as const) {
      const res = await fetch(at(token), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(res.status, why).toBe(400);
      expect(await res.text()).toContain(why);
    }
    expect(await notifyOf(carol.username)).toBe('mentions');
    // a body far larger than one click is not read
    const huge = await fetch(at(good), { method: 'POST', body: 'x'.repeat(10_000) });
    expect(huge.status).toBe(413);
    expect(await notifyOf(carol.username)).toBe('mentions');
    await carol.close();
  });
});

describe('the outbox file', () => {
  it('carries extra headers, without line breaks in their values', () => {
    const raw = formatRfc822(
      'Wild Whispers <no-reply@localhost>',
      { to: 'bob@example.com', subject: 'hi', text: 'body', headers: { 'List-Unsubscribe': '<https://x/unsubscribe?token=a>\r\nBcc: evil@example.com', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } },
      new Date('2026-12-01T00:00:00Z'),
      'id@local',
    );
    const head = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n');
    expect(head).toContain('List-Unsubscribe: <https://x/unsubscribe?token=a> Bcc: evil@example.com');
    expect(head).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(head.some((line) => line.startsWith('Bcc:'))).toBe(false);
  });
});
