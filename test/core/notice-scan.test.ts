// Email notices (E24): whom the sweep asks. It reads the new messages into
// candidates (the other member of a DM, those mentioned by name or by @here, the
// members who chose every message) and asks only them; people with nothing
// waiting are struck off, those only held back (the hourly cap) stay. A message
// whose lower id commits late is not jumped over; turning notices to every
// message, an edit that mentions someone and an unblock count messages already
// there; a suspended person is kept while something waits.
// On PostgreSQL and PGlite.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { unblock } from '../../functions/core/blocks.js';
import { editMessage } from '../../functions/core/conversations.js';
import { send } from '../../functions/core/messages.js';
import { parseRoom } from '../../functions/core/names.js';
import { SCAN_BATCH, SCAN_SETTLE_SECONDS, sweepNotices } from '../../functions/core/notices.js';
import type { Deps, Sql } from '../../functions/core/ports.js';
import { changeSettings, markRoomRead } from '../../functions/core/reads.js';
import { makeChannel, makeDm, makePerson, sayIn } from '../helpers/rooms.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let sql: Sql;
let deps: Deps;
// The database stamps messages with its own clock; the test's starts there and moves on.
let now = new Date();
const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));
let mailer = new RecordingMailer();
const DELAY = 600;
const env = { ...TEST_ENV, NOTICE_DELAY_SECONDS: String(DELAY), NOTICE_INTERVAL_SECONDS: '3600', PUBLIC_URL: 'https://chat.example.org' };

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  now = new Date();
  deps = { sql, gateway: new RecordingGateway(), mailer, clock: { now: () => now }, log: new RecordingLogger(), settings: loadConfig(env).settings };
});
afterAll(() => db?.close());
beforeEach(() => {
  // each test its own people, and the clock back at the database's (messages are stamped with it)
  now = new Date();
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

const person = (prefix?: string): Promise<Person> => makePerson(sql, now, prefix);


const channel = (id: string, ...members: Person[]) => makeChannel(sql, id, ...members);
const dm = (a: Person, b: Person) => makeDm(sql, a, b);
/** A message through the real send path; returns its id. */
const say = (who: Person, room: string, text?: string) => sayIn(deps, who, room, text);

/** Which of these people are candidates now. */
async function candidates(...people: Person[]): Promise<string[]> {
  const rows = await sql<{ username: string }[]>`
    select u.username from notice_candidates c join users u on u.id = c.user_id
    where c.user_id = any(${people.map((p) => p.id)}::bigint[]) order by u.username`;
  return rows.map((r) => r.username);
}

const names = (...people: Person[]) => people.map((p) => p.name).sort();

describe('the notice scan', () => {
  it('does not jump over a message whose lower id commits after a higher one', async () => {
    const alice = await person('lc');
    const bob = await person('lc');
    const carol = await person('lc');
    const room = await dm(alice, bob);
    const other = await dm(alice, carol);
    now = (await sql<{ now: Date }[]>`select now()`)[0]!.now;
    await sweepNotices(deps);
    // A send takes its id, then commits; meanwhile a later send (a higher id) commits first.
    const [reserved] = await sql<{ id: string }[]>`select nextval('message_ids')::text as id`;
    const late = reserved!.id;
    const early = await say(alice, other, 'committed first');
    advance(1);
    await sweepNotices(deps);
    // carol is a candidate at once; the scan stays below the message still committing
    expect(await candidates(bob, carol)).toEqual(names(carol));
    const [scan] = await sql<{ through: string }[]>`select through::text from notice_scan`;
    expect(BigInt(scan!.through)).toBeLessThan(BigInt(late));
    expect(BigInt(early)).toBeGreaterThan(BigInt(late));
    // ...and now it commits, stamped with its statement's start, before the other's
    await sql`
      with bump as (
        update rooms set prev_message_id = last_message_id, last_message_id = ${late}::bigint,
          prev_seq = last_seq, last_seq = nextval('message_seqs')
        where id = ${room} returning last_seq as seq
      )
      insert into messages (id, room_id, sender_id, client_id, body, seq, created_at)
      select ${late}::bigint, ${room}, ${alice.id}, 'late-one', 'committed late', seq,
        (select created_at from messages where id = ${early}) - interval '10 milliseconds' from bump`;
    advance(SCAN_SETTLE_SECONDS + 5);
    await sweepNotices(deps);
    expect(await candidates(bob, carol)).toEqual(names(bob, carol));
    const [after] = await sql<{ through: string }[]>`select through::text from notice_scan`;
    expect(BigInt(after!.through)).toBeGreaterThanOrEqual(BigInt(early));
    advance(DELAY);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
    expect(mailer.to(bob.email)[0]!.subject).toBe(`@${alice.name} sent you a message on Wild Whispers`);
    expect(mailer.to(carol.email)).toHaveLength(1);
  });

  // A real one: a send held open in a transaction on another connection while a
  // later send commits and the sweep runs (PGlite serves one connection: there
  // the test above stands for it).
  it.runIf(!!process.env.TEST_DATABASE_URL)('does not jump over a send still open in another transaction', async () => {
    const alice = await person('tx');
    const bob = await person('tx');
    const dave = await person('tx');
    const carol = await person('tx');
    const room = await dm(alice, bob);
    const other = await dm(dave, carol);
    await sweepNotices(deps);
    let late = '';
    await sql.begin(async (tx) => {
      const out = await send({ ...deps, sql: tx as unknown as Sql }, alice.conn, { action: 'send', room: parseRoom(room)!, text: 'slow', clientId: `k-${++n}` });
      late = (out.reply!.message as { id: string }).id;
      const early = await say(dave, other, 'quick');
      expect(BigInt(early)).toBeGreaterThan(BigInt(late));
      advance(1);
      await sweepNotices(deps);
      expect(await candidates(bob, carol)).toEqual(names(carol));
    });
    const [scan] = await sql<{ through: string }[]>`select through::text from notice_scan`;
    expect(BigInt(scan!.through)).toBeLessThan(BigInt(late));
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
    expect(mailer.to(carol.email)).toHaveLength(1);
  });

  it('asks only candidates: 2,000 people with nothing waiting are struck off, the one mentioned is mailed', async () => {
    const alice = await person('many');
    const bob = await person('many');
    const room = await channel(`many-${n}`, alice, bob);
    const prefix = `crowd${n}x`;
    const crowd = await sql<{ id: string }[]>`
      insert into users (username, display_name, email, email_lower, password_hash, verified_at)
      select ${prefix} || g, ${prefix} || g, ${prefix} || g || '@example.com', ${prefix} || g || '@example.com', 'x', ${now}
      from generate_series(1, 2000) g returning id::text`;
    const crowdIds = crowd.map((c) => c.id);
    await sql`insert into memberships (room_id, user_id) select ${room}, unnest(${crowdIds}::bigint[])`;
    // as after the upgrade: everyone a candidate once
    await sql`insert into notice_candidates (user_id) select unnest(${crowdIds}::bigint[]) on conflict do nothing`;
    const crowdCandidates = async () =>
      (await sql<{ n: number }[]>`select count(*)::int as n from notice_candidates where user_id = any(${crowdIds}::bigint[])`)[0]!.n;
    expect(await crowdCandidates()).toBe(2000);

    await say(alice, room, 'good morning everyone');
    await say(alice, room, `@${bob.name} can you look at this?`);
    await sweepNotices(deps);
    expect(await crowdCandidates()).toBe(0);
    expect(await candidates(alice, bob)).toEqual(names(bob));
    expect(mailer.sent).toHaveLength(0);

    // The messages are stamped by the database's clock, after the crowd's
    // inserts (seconds on a loaded machine): a minute past the delay is past it for both.
    advance(DELAY + 60);
    const swept = await sweepNotices(deps);
    expect(swept.sent).toBe(1);
    expect(mailer.sent.map((m) => m.to)).toEqual([bob.email]);
    expect(mailer.sent[0]!.text).toContain(`@${alice.name} mentioned you in #${room} (a message)`);
    // mailed: nothing waits any more
    expect(await candidates(bob)).toEqual([]);
    advance(2 * 3600);
    await sweepNotices(deps);
    expect(mailer.sent).toHaveLength(1);
  });

  it('a DM, a mention, an @here and a member choosing every message each make a candidate, mailed after the delay', async () => {
    const alice = await person('kd');
    const direct = await person('kd');
    const named = await person('kd');
    const here = await person('kd');
    const every = await person('kd');
    const quiet = await person('kd');
    await sql`update users set notify = 'all' where id = ${every.id}`;
    const talk = await channel(`kd-talk-${n}`, alice, named, every, quiet);
    const standup = await channel(`kd-standup-${n}`, alice, here);
    await say(alice, await dm(alice, direct), 'a word in private');
    await say(alice, talk, `@${named.name} this one is for you`);
    await say(alice, standup, '@here standup now');
    await say(alice, talk, 'and something for everyone');
    await sweepNotices(deps);
    expect(await candidates(alice, direct, named, here, every, quiet)).toEqual(names(direct, named, here, every));
    expect(mailer.sent).toHaveLength(0);

    advance(DELAY + 1);
    await sweepNotices(deps);
    for (const p of [direct, named, here, every]) expect(mailer.to(p.email)).toHaveLength(1);
    expect(mailer.to(every.email)[0]!.subject).toBe('2 unread messages for you on Wild Whispers');
    expect(mailer.to(quiet.email)).toHaveLength(0);
    expect(mailer.to(alice.email)).toHaveLength(0);
    expect(await candidates(alice, direct, named, here, every, quiet)).toEqual([]);
  });

  it('strikes off a person who read everything, and never mails them', async () => {
    const alice = await person('rd');
    const bob = await person('rd');
    const room = await dm(alice, bob);
    const last = await say(alice, room, 'are you there?');
    await sweepNotices(deps);
    expect(await candidates(bob)).toEqual(names(bob));
    advance(60);
    await markRoomRead(deps, bob.conn, { action: 'read', room: parseRoom(room)!, through: last });
    await sweepNotices(deps);
    expect(await candidates(bob)).toEqual([]);
    advance(DELAY);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);
  });

  it('keeps a person held back by the hourly cap, and mails them once it has passed', async () => {
    const alice = await person('cap');
    const bob = await person('cap');
    const room = await dm(alice, bob);
    await say(alice, room, 'one');
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
    expect(await candidates(bob)).toEqual([]);

    await say(alice, room, 'two');
    await say(alice, room, 'three');
    for (let minute = 0; minute < 15; minute++) {
      advance(60);
      await sweepNotices(deps);
    }
    // due, but within the hour: still a candidate, not mailed
    expect(mailer.to(bob.email)).toHaveLength(1);
    expect(await candidates(bob)).toEqual(names(bob));
    advance(3600 - 15 * 60 + 1); // an hour after the first notice
    await sweepNotices(deps);
    const mails = mailer.to(bob.email);
    expect(mails).toHaveLength(2);
    expect(mails[1]!.subject).toBe(`@${alice.name} sent you 2 messages on Wild Whispers`);
    expect(await candidates(bob)).toEqual([]);
  });

  it('turning notices to every message counts the unread messages already there', async () => {
    const alice = await person('al');
    const bob = await person('al');
    const room = await channel(`al-${n}`, alice, bob);
    await say(alice, room, 'nothing for bob in particular');
    await say(alice, room, 'still nothing');
    advance(DELAY + 1);
    await sweepNotices(deps);
    // under "mentions" nothing waits for bob, and the scan has moved past these messages
    expect(mailer.to(bob.email)).toHaveLength(0);
    expect(await candidates(bob)).toEqual([]);

    await changeSettings(deps, bob.conn, { action: 'settings', notify: 'all' });
    expect(await candidates(bob)).toEqual(names(bob));
    await sweepNotices(deps);
    const [mail] = mailer.to(bob.email);
    expect(mail!.text).toContain(`@${alice.name} wrote 2 messages in #${room}`);
    expect(await candidates(bob)).toEqual([]);
  });

  it('turning notices off strikes a candidate off; on again, what still waits is mailed', async () => {
    const alice = await person('of');
    const bob = await person('of');
    await say(alice, await dm(alice, bob), 'hello?');
    await sweepNotices(deps);
    expect(await candidates(bob)).toEqual(names(bob));
    await changeSettings(deps, bob.conn, { action: 'settings', notify: 'off' });
    await sweepNotices(deps);
    expect(await candidates(bob)).toEqual([]);
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);
    await changeSettings(deps, bob.conn, { action: 'settings', notify: 'mentions' });
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
  });

  it('an edit that mentions someone makes them a candidate, though the scan has passed the message', async () => {
    const alice = await person('ed');
    const bob = await person('ed');
    const room = await channel(`ed-${n}`, alice, bob);
    const id = await say(alice, room, 'who can help?');
    advance(SCAN_SETTLE_SECONDS + 1);
    await sweepNotices(deps);
    expect(await candidates(bob)).toEqual([]);
    await editMessage(deps, alice.conn, { action: 'edit', room: parseRoom(room)!, message: id, text: `@${bob.name} can you help?` });
    expect(await candidates(bob)).toEqual(names(bob));
    advance(DELAY);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
  });

  it('unblocking a sender counts their unread messages again, as before the block', async () => {
    const mallory = await person('ub');
    const bob = await person('ub');
    await sql`insert into blocks (blocker_id, blocked_id) values (${bob.id}, ${mallory.id})`;
    await say(mallory, await channel(`ub-${n}`, mallory, bob), `@${bob.name} sorry about before`);
    advance(DELAY + 1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);
    expect(await candidates(bob)).toEqual([]);
    await unblock(deps, bob.conn, { action: 'unblock', user: mallory.name });
    expect(await candidates(bob)).toEqual(names(bob));
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
  });

  it('keeps a suspended person while something waits, and mails them once the suspension is lifted', async () => {
    const alice = await person('su');
    const bob = await person('su');
    await sql`insert into suspensions (user_id, until, created_by) values (${bob.id}, null, 'admin')`;
    await say(alice, await dm(alice, bob), 'when you are back');
    advance(DELAY + 1);
    await sweepNotices(deps);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(0);
    expect(await candidates(bob)).toEqual(names(bob));
    await sql`delete from suspensions where user_id = ${bob.id}`;
    advance(60);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
  });

  it('reads a backlog larger than one batch in a single sweep, messages written straight into the table included', async () => {
    const alice = await person('bk');
    const bob = await person('bk');
    const room = await channel(`bk-${n}`, alice, bob);
    await sql`
      insert into messages (room_id, sender_id, client_id, body, created_at)
      select ${room}, ${alice.id}, 'bulk-' || g, 'chatter', now() - interval '20 minutes'
      from generate_series(1, ${SCAN_BATCH + 10}) g`;
    await sql`
      insert into messages (room_id, sender_id, client_id, body, created_at, mentioned_user_ids)
      values (${room}, ${alice.id}, 'bulk-last', 'at the very end', now() - interval '20 minutes', array[${bob.id}]::bigint[])`;
    await sql`update rooms set last_message_id = (select max(id) from messages where room_id = ${room}) where id = ${room}`;
    // the planner's statistics, as the server's periodic analyse keeps them
    await sql`analyze`;
    advance(1);
    await sweepNotices(deps);
    expect(mailer.to(bob.email)).toHaveLength(1);
    const [scan] = await sql<{ behind: number }[]>`select count(*)::int as behind from messages m, notice_scan t where m.id > t.through`;
    expect(scan!.behind).toBe(0);
  });
});
