// Email notices (E24) on PostgreSQL and PGlite: the delay, the digest, the
// hourly cap, reading first cancels, the person's choices, blocked senders and
// deleted messages never count, two sweeps at once mail once, and a failing
// mail service is retried with backoff and then given up. Also the unsubscribe
// link (forged, changed, expired; GET changes nothing, POST turns notices off)
// and SES bounce and complaint events.
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { installDeps } from '../../functions/adapters/runtime.js';
import { parseRoom } from '../../functions/core/names.js';
import {
  backoffSeconds,
  checkUnsubscribeToken,
  handleUnsubscribe,
  recordSesEvent,
  serverKey,
  sweepNotices,
  unsubscribeToken,
} from '../../functions/core/notices.js';
import type { Deps, Mail, Mailer, Sql } from '../../functions/core/ports.js';
import { changeSettings, markRoomRead } from '../../functions/core/reads.js';
import { handler as onDefault } from '../../functions/default.js';
import { makeChannel, makeDm, makePerson, sayIn } from '../helpers/rooms.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { messageEvent } from '../helpers/events.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let sql: Sql;
let deps: Deps;
// The database stamps messages with its own clock; the test's starts there and moves on.
let now = new Date();
const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));
const gateway = new RecordingGateway();
const log = new RecordingLogger();
let mailer = new RecordingMailer();

/** A mail service that fails while `failing` is true. */
class FlakyMailer implements Mailer {
  failing = true;
  tries = 0;
  readonly sent: Mail[] = [];
  async send(mail: Mail): Promise<void> {
    this.tries++;
    if (this.failing) throw new Error(`connection refused while mailing ${mail.to}`);
    this.sent.push(mail);
  }
}

const env = { ...TEST_ENV, NOTICE_DELAY_SECONDS: '600', NOTICE_INTERVAL_SECONDS: '3600', NOTICE_MAX_ATTEMPTS: '3', PUBLIC_URL: 'https://chat.example.org' };

beforeAll(async () => {
  db = await createTestDatabase();
  now = new Date();
  deps = { sql: db.sql, gateway, mailer, clock: { now: () => now }, log, settings: loadConfig(env).settings };
  sql = db.sql;
});
afterAll(async () => {
  installDeps(undefined);
  await db?.close();
});
beforeEach(() => {
  gateway.clear();
  mailer = new RecordingMailer();
  deps.mailer = mailer;
});

let n = 0;
interface Person {
  id: string;
  name: string;
  email: string;
  conn: string;
}

async function connect(userId: string): Promise<string> {
  const id = `c-${++n}`;
  await sql`insert into connections (id, user_id, authed_at) values (${id}, ${userId}, ${now})`;
  return id;
}

const person = (prefix?: string): Promise<Person> => makePerson(sql, now, prefix);


const channel = (id: string, ...members: Person[]) => makeChannel(sql, id, ...members);
const dm = (a: Person, b: Person) => makeDm(sql, a, b);
/** A message through the real send path; returns its id. */
const say = (who: Person, room: string, text?: string) => sayIn(deps, who, room, text);

/** Away: every connection closed. */
async function leave(p: Person): Promise<void> {
  await sql`delete from connections where user_id = ${p.id}`;
}

const DELAY = 600;

describe('notices', () => {
  it('waits out the delay, then mails one notice with who, where, a link to the room and the unsubscribe headers', async () => {
    const alice = await person('de');
    const bob = await person('de');
    const room = await dm(alice, bob);
    await leave(bob);
    await say(alice, room, 'the secret plan is ready');

    await sweepNotices(deps);
    advance(DELAY - 60);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);

    advance(90); // past the delay (the database stamped the message a moment after the clock's start)
    await sweepNotices(deps);
    const mails = mailer.to(bob.email);
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.subject).toBe(`@${alice.name} sent you a message on Wild Whispers`);
    expect(mail.text).toContain(`@${alice.name} sent you a message directly`);
    expect(mail.text).toContain(`https://chat.example.org/#room=${encodeURIComponent(room)}`);
    // quotes are off by default: who and where only
    expect(mail.text).not.toContain('secret plan');
    expect(mail.headers!['List-Unsubscribe']).toMatch(/^<https:\/\/chat\.example\.org\/unsubscribe\?token=[0-9]+\.[0-9]+\.[A-Za-z0-9_-]{43}>$/);
    expect(mail.headers!['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.headers!['Auto-Submitted']).toBe('auto-generated');
    expect(mail.text).toContain(mail.headers!['List-Unsubscribe']!.slice(1, -1));
    // the footer says the server's own settings
    expect(mail.text).toContain(`at most one such email ${deps.settings.noticeIntervalSeconds === 3600 ? 'an hour' : 'every'}`);
    expect(mail.text).toContain(`left unread for ${DELAY % 60 === 0 ? `${DELAY / 60} minute` : `${DELAY} second`}`);
    expect(mailer.to(alice.email)).toHaveLength(0); // a sender is not told of her own message

    // nothing new: nothing more, whatever the time
    advance(2 * 3600);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
  });

  it('digests what arrives meanwhile into one notice, at most one an hour', async () => {
    const alice = await person('dg');
    const bob = await person('dg');
    const carol = await person('dg');
    const room = await dm(alice, bob);
    const ops = await channel(`dg-ops-${n}`, alice, bob, carol);
    await leave(bob);
    await say(alice, room, 'one');
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);

    // more within the hour: held back by the cap, then one digest of all of it
    await say(alice, room, 'two');
    await say(alice, room, 'three');
    await say(carol, ops, `@${bob.name} look at this`);
    await say(carol, ops, 'no mention here'); // not a mention: not noticed under "mentions"
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
    advance(3600 - DELAY);
    await sweepNotices(deps);
    const mails = mailer.to(bob.email);
    expect(mails).toHaveLength(2);
    expect(mails[1]!.subject).toBe('3 unread messages for you on Wild Whispers');
    expect(mails[1]!.text).toContain(`@${alice.name} sent you 2 messages directly`);
    expect(mails[1]!.text).toContain(`@${carol.name} mentioned you in #${ops} (a message)`);
    expect(mails[1]!.text).toContain(`https://chat.example.org/#room=${ops}`);
  });

  it('sends nothing when the person reads the messages before the delay', async () => {
    const alice = await person('rd');
    const bob = await person('rd');
    const room = await dm(alice, bob);
    await say(alice, room, 'first');
    const last = await say(alice, room, 'second');
    advance(120);
    await markRoomRead(deps, bob.conn, { action: 'read', room: parseRoom(room)!, through: last });
    await leave(bob);
    advance(DELAY);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);
  });

  it('mails a person still connected who leaves it unread', async () => {
    const alice = await person('on');
    const bob = await person('on');
    const room = await dm(alice, bob);
    await say(alice, room);
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
  });

  it('follows the choice: off, mentions, all; and quotes the text, shortened, only when asked', async () => {
    const alice = await person('ch');
    const off = await person('ch');
    const mentions = await person('ch');
    const all = await person('ch');
    const ops = await channel(`ch-ops-${n}`, alice, off, mentions, all);
    const dmOff = await dm(alice, off);
    await changeSettings(deps, off.conn, { action: 'settings', notify: 'off' });
    const reply = await changeSettings(deps, all.conn, { action: 'settings', notify: 'all', notifyQuote: true });
    expect(reply.reply).toEqual({ type: 'settings', readReceipts: true, notify: 'all', notifyQuote: true, pushText: false });
    for (const p of [off, mentions, all]) await leave(p);
    await say(alice, dmOff, 'are you there?');
    // a right-to-left override and other invisible or control characters do not reach the mail
    await say(alice, ops, `a long\u202e line\u200b ${'x'.repeat(300)} the end`);
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(off.email)).toHaveLength(0);
    expect(mailer.to(mentions.email)).toHaveLength(0); // no mention, no DM
    const [mail] = mailer.to(all.email);
    expect(mail!.text).toContain(`@${alice.name} wrote a message in #${ops}`);
    const quote = /: "(.*)"$/m.exec(mail!.text)![1]!;
    expect(quote.startsWith('a long line xxx')).toBe(true);
    expect([...quote]).toHaveLength(140);
    expect(quote.endsWith('…')).toBe(true);
  });

  it('counts @here and mentions by name once each, and a mention in a DM as a DM message', async () => {
    const alice = await person('hr');
    const bob = await person('hr');
    const ops = await channel(`hr-ops-${n}`, alice, bob);
    const room = await dm(alice, bob);
    await leave(bob);
    await say(alice, ops, '@here standup');
    await say(alice, ops, `@here @${bob.name} you too`);
    await say(alice, room, `@${bob.name} psst`);
    advance(DELAY + 1);
    await sweepNotices(deps);
    const [mail] = mailer.to(bob.email);
    expect(mail!.subject).toBe('3 unread messages for you on Wild Whispers');
    expect(mail!.text).toContain(`@${alice.name} mentioned you in #${ops} (2 messages)`);
    expect(mail!.text).toContain(`@${alice.name} sent you a message directly`);
  });

  it('never notices a blocked sender, a deleted message, or a room one is not in', async () => {
    const alice = await person('bl');
    const bob = await person('bl');
    const mallory = await person('bl');
    const ops = await channel(`bl-ops-${n}`, alice, bob, mallory);
    await sql`insert into blocks (blocker_id, blocked_id) values (${bob.id}, ${mallory.id})`;
    await leave(bob);
    await say(mallory, ops, `@${bob.name} hey`);
    const gone = await say(alice, ops, `@${bob.name} oops`);
    await sql`update messages set deleted_at = now() where id = ${gone}`;
    const secret = await channel(`bl-secret-${n}`, alice);
    await say(alice, secret, `@${bob.name} you cannot see this`);
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);
  });

  it('skips an address SES reported as bouncing or complaining, from a real SNS-shaped event', async () => {
    const alice = await person('sp');
    const bob = await person('sp');
    const carol = await person('sp');
    const snsBounce = {
      Type: 'Notification',
      MessageId: '0b1e2a5c-0000-4000-8000-000000000001',
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:ww-mail-events',
      Message: JSON.stringify({
        notificationType: 'Bounce',
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [{ emailAddress: bob.email.toUpperCase(), action: 'failed', status: '5.1.1' }],
          timestamp: '2026-12-01T05:00:00.000Z',
          feedbackId: '0100018c-aaaa',
        },
        mail: { timestamp: '2026-12-01T04:59:59.000Z', source: 'no-reply@example.org', destination: [bob.email] },
      }),
    };
    const complaint = {
      eventType: 'Complaint',
      complaint: { complainedRecipients: [{ emailAddress: `Carol <${carol.email}>` }], complaintFeedbackType: 'abuse' },
    };
    const transient = { notificationType: 'Bounce', bounce: { bounceType: 'Transient', bouncedRecipients: [{ emailAddress: alice.email }] } };
    expect(await recordSesEvent(sql, JSON.parse(snsBounce.Message))).toBe(1);
    expect(await recordSesEvent(sql, complaint)).toBe(1);
    expect(await recordSesEvent(sql, transient)).toBe(0);
    expect(await sql`select email_lower, reason from mail_suppressions where email_lower in (${bob.email}, ${carol.email}, ${alice.email}) order by reason`).toEqual([
      { email_lower: bob.email, reason: 'bounce' },
      { email_lower: carol.email, reason: 'complaint' },
    ]);
    await leave(bob);
    await leave(carol);
    await say(alice, await dm(alice, bob));
    await say(alice, await dm(alice, carol));
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);
    expect(mailer.to(carol.email)).toHaveLength(0);
  });

  it('mails each person once when two sweeps run the same minute', async () => {
    const alice = await person('cc');
    const people = await Promise.all(Array.from({ length: 12 }, () => person('cc')));
    for (const p of people) {
      await say(alice, await dm(alice, p), 'ping');
      await leave(p);
    }
    advance(DELAY + 1);
    // a second pool: two workers, each with connections of its own (PGlite
    // serves one connection: there the sweeps interleave on it)
    const other = db.real ? (postgres(db.url, { max: 5, onnotice: () => {} }) as unknown as Sql) : sql;
    try {
      const second = { ...deps, sql: other };
      const results = await Promise.all([sweepNotices(deps), sweepNotices(second), sweepNotices(deps), sweepNotices(second)]);
      for (const p of people) expect(mailer.to(p.email)).toHaveLength(1);
      expect(results.reduce((sum, r) => sum + r.sent, 0)).toBeGreaterThanOrEqual(people.length);
      const [row] = await sql<{ count: number }[]>`
        select count(*)::int as count from notices where user_id = any(${people.map((p) => p.id)}::bigint[]) and last_sent_at is not null and attempts = 0`;
      expect(row!.count).toBe(people.length);
    } finally {
      if (other !== sql) await other.end({ timeout: 1 });
    }
  });

  it('a sweep that died after its claim leaves the person to a later one, once the lease lapses', async () => {
    const alice = await person('ls');
    const bob = await person('ls');
    await say(alice, await dm(alice, bob));
    await leave(bob);
    advance(DELAY + 1);
    // as if a sweep claimed bob and its Lambda died before mailing
    await sql`insert into notices (user_id, attempts, next_attempt_at) values (${bob.id}, 1, ${new Date(now.getTime() + 300_000)})
      on conflict (user_id) do update set attempts = 1, next_attempt_at = excluded.next_attempt_at`;
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);
    advance(301);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
  });

  it('retries a failed send with backoff, then gives up and says so in the log, without the address', async () => {
    const alice = await person('rt');
    const bob = await person('rt');
    await say(alice, await dm(alice, bob));
    await leave(bob);
    const flaky = new FlakyMailer();
    deps.mailer = flaky;
    const bobTries = async () =>
      (await sql<{ attempts: number; last_error: string | null }[]>`select attempts, last_error from notices where user_id = ${bob.id}`)[0];
    advance(DELAY + 1);
    log.lines.length = 0;
    await sweepNotices(deps);
    expect(await bobTries()).toEqual({ attempts: 1, last_error: 'Error' });
    // within the backoff: not tried again
    advance(backoffSeconds(1) - 5);
    const before = flaky.tries;
    await sweepNotices(deps);
    expect(flaky.tries).toBe(before);
    advance(10);
    await sweepNotices(deps);
    expect((await bobTries())!.attempts).toBe(2);
    advance(backoffSeconds(2) + 1);
    await sweepNotices(deps);
    // the third (NOTICE_MAX_ATTEMPTS) failure gives up
    expect(await bobTries()).toEqual({ attempts: 0, last_error: 'gave up after 3 attempts: Error' });
    const gaveUp = log.lines.filter((e) => e.message === 'notice given up');
    expect(gaveUp).toEqual([expect.objectContaining({ fields: { user: bob.id, attempts: 3, error: 'Error' } })]);
    expect(JSON.stringify(log.lines)).not.toContain(bob.email);
    // given up means those messages are not tried again, even once the service is back
    flaky.failing = false;
    advance(3 * 3600);
    await sweepNotices(deps);
    expect(flaky.sent.filter((m) => m.to === bob.email)).toHaveLength(0);
  });

  it('a failure that recovers is sent on the retry', async () => {
    const alice = await person('rc');
    const bob = await person('rc');
    await say(alice, await dm(alice, bob));
    await leave(bob);
    const flaky = new FlakyMailer();
    deps.mailer = flaky;
    advance(DELAY + 1);
    await sweepNotices(deps);
    flaky.failing = false;
    advance(backoffSeconds(1) + 1);
    await sweepNotices(deps);
    expect(flaky.sent.filter((m) => m.to === bob.email)).toHaveLength(1);
  });
});

describe('settings: notify and notifyQuote', () => {
  beforeAll(() => installDeps(deps));

  it('refuses unknown values with bad_request and a clear sentence, changing nothing', async () => {
    const alice = await person('st');
    const frames = [
      [{ action: 'settings', id: 's1', notify: 'sometimes' }, 'notify must be "off", "mentions" or "all".'],
      [{ action: 'settings', id: 's2', notify: 'off', notifyQuote: 'yes' }, 'notifyQuote must be true or false.'],
      [{ action: 'settings', id: 's3', notify: null }, 'notify must be "off", "mentions" or "all".'],
    ] as const;
    for (const [frame, message] of frames) {
      gateway.clear();
      await onDefault(messageEvent(alice.conn, frame));
      expect(gateway.framesTo(alice.conn)).toEqual([{ type: 'error', code: 'bad_request', message, re: frame.id }]);
    }
    expect(await sql`select notify, notify_quote from users where id = ${alice.id}`).toEqual([{ notify: 'mentions', notify_quote: false }]);
  });

  it('answers the current choice, and tells the person’s other devices of a change', async () => {
    const alice = await person('st');
    const phone = await connect(alice.id);
    gateway.clear();
    await onDefault(messageEvent(alice.conn, { action: 'settings', id: 'q' }));
    expect(gateway.framesTo(alice.conn)).toEqual([{ type: 'settings', readReceipts: true, notify: 'mentions', notifyQuote: false, pushText: false, re: 'q' }]);
    gateway.clear();
    await onDefault(messageEvent(alice.conn, { action: 'settings', id: 'c', notify: 'all' }));
    expect(gateway.framesTo(alice.conn)).toEqual([{ type: 'settings', readReceipts: true, notify: 'all', notifyQuote: false, pushText: false, re: 'c' }]);
    expect(gateway.framesTo(phone)).toEqual([{ type: 'settings', readReceipts: true, notify: 'all', notifyQuote: false, pushText: false }]);
  });
});

describe('unsubscribe link', () => {
  const request = (method: string, token: string | null, body?: string) => handleUnsubscribe(deps, { method, token, body, network: '198.51.100.7' });
  const notifyOf = async (p: Person) => (await sql<{ notify: string }[]>`select notify from users where id = ${p.id}`)[0]!.notify;

  it('GET shows a button and changes nothing; POST List-Unsubscribe=One-Click turns notices off', async () => {
    const bob = await person('un');
    const key = await serverKey(sql, 'unsubscribe');
    const token = unsubscribeToken(key, bob.id, new Date(now.getTime() + 86_400_000));
    const page = await request('GET', token);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<form method="post"');
    expect(page.body).toContain('<button type="submit">Unsubscribe</button>');
    expect(page.headers['content-security-policy']).toContain("form-action 'self'");
    expect(await notifyOf(bob)).toBe('mentions');

    expect((await request('POST', token, 'something=else')).status).toBe(400);
    expect(await notifyOf(bob)).toBe('mentions');
    const done = await request('POST', token, 'List-Unsubscribe=One-Click');
    expect(done.status).toBe(200);
    expect(done.body).toContain('Unsubscribed');
    expect(await notifyOf(bob)).toBe('off');
    // again: still 200, still off
    expect((await request('POST', token, 'List-Unsubscribe=One-Click')).status).toBe(200);
  });

  it('refuses a forged, a changed and an expired token with 400 and a page saying why, changing nothing', async () => {
    const bob = await person('un');
    const carol = await person('un');
    const key = await serverKey(sql, 'unsubscribe');
    const good = unsubscribeToken(key, bob.id, new Date(now.getTime() + 86_400_000));
    const forged = unsubscribeToken(Buffer.alloc(32, 7), bob.id, new Date(now.getTime() + 86_400_000));
    const [, expiry, mac] = good.split('.');
    const otherUser = `${carol.id}.${expiry}.${mac}`;
    const longer = `${bob.id}.${Number(expiry) + 86_400}.${mac}`;
    const expired = unsubscribeToken(key, bob.id, new Date(now.getTime() - 1000));
    const cases: Array<[string | null, string]> = [
      [forged, 'not valid'],
      [otherUser, 'not valid'],
      [longer, 'not valid'],
      // the last character's two spare bits: decodes to the same bytes, still refused
      [good.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), 'not valid'],
      [expired, 'expired'],
      ['garbage', 'incomplete'],
      [null, 'incomplete'],
    ];
    for (const [token, why] of cases) {
      for (const method of ['GET', 'POST']) {
        const page = await request(method, token, 'List-Unsubscribe=One-Click');
        expect(page.status).toBe(400);
        expect(page.body).toContain(why);
      }
    }
    expect(await notifyOf(bob)).toBe('mentions');
    expect(await notifyOf(carol)).toBe('mentions');
    expect(checkUnsubscribeToken(key, good, now)).toEqual({ userId: bob.id });
  });

  it('has a budget per source network, checked before the token', async () => {
    const small = { ...deps, settings: { ...deps.settings, unsubscribesPerAddressPerHour: 3 } };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await handleUnsubscribe(small, { method: 'GET', token: 'x', network: '203.0.113.99' })).status);
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
    expect((await handleUnsubscribe(small, { method: 'GET', token: 'x', network: '203.0.113.100' })).status).toBe(400);
  });
});
