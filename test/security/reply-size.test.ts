// Every server frame stays under API Gateway's 128 KB message limit whatever is
// stored: history pages by bytes, `joined` bounds its members and messages,
// `authed` its rooms, and a client can still page through everything. The local
// gateway refuses a bigger frame the way PostToConnection does, so a reply that
// would fail on AWS fails here too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../functions/core/ports.js';
import { TestClient, signUp } from '../helpers/client.js';
import { RecordingLogger } from '../helpers/fakes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const LIMIT = 128 * 1024;
const log = new RecordingLogger();
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ MESSAGE_BURST: '1000', MESSAGES_PER_MINUTE: '100000', USER_MESSAGE_BURST: '1000', USER_MESSAGES_PER_MINUTE: '100000' }, { log });
});
afterAll(() => t?.close());

/** The byte size of every frame this client receives, as sent on the wire. */
function measure(c: TestClient): { sizes: number[]; largest(): number } {
  const sizes: number[] = [];
  c.ws.on('message', (data: Buffer) => sizes.push(data.length));
  return { sizes, largest: () => Math.max(0, ...sizes) };
}

const ids = (messages: unknown) => (messages as Array<{ id: string }>).map((m) => m.id);

describe('a room of 40 maximal messages (4,000 emoji each)', () => {
  let alice: Awaited<ReturnType<typeof signUp>>;
  const sent: string[] = [];

  beforeAll(async () => {
    alice = await signUp(t);
    await alice.request({ action: 'join', room: 'emoji' });
    const text = '🦊'.repeat(4000);
    for (let i = 0; i < 40; i++) {
      const r = await alice.request({ action: 'send', room: 'emoji', text, clientId: `big-${i}` });
      expect(r.type).toBe('sent');
      sent.push((r.message as { id: string }).id);
    }
  });
  afterAll(() => alice?.close());

  it('pages history backwards by bytes, each page under 128 KB, to the first message', async () => {
    const bob = await signUp(t);
    const wire = measure(bob);
    await bob.request({ action: 'join', room: 'emoji' });
    const got: string[] = [];
    let before: string | undefined;
    for (let page = 0; page < 40; page++) {
      const h = await bob.request({ action: 'history', room: 'emoji', limit: 100, ...(before ? { before } : {}) });
      expect(h.type).toBe('history');
      const page = ids(h.messages);
      expect(page.length).toBeGreaterThan(0);
      got.unshift(...page);
      if (!h.hasMore) break;
      before = page[0];
    }
    expect(got).toEqual(sent);
    expect(wire.largest()).toBeLessThan(LIMIT);
    await bob.close();
  });

  it('pages a catch-up (after) forward by bytes, to the last message', async () => {
    const got: string[] = [];
    let after = sent[0]!;
    for (let page = 0; page < 40; page++) {
      const h = await alice.request({ action: 'history', room: 'emoji', after, limit: 100 });
      got.push(...ids(h.messages));
      if (!h.hasMore) break;
      after = got.at(-1)!;
    }
    expect(got).toEqual(sent.slice(1));
  });

  it('bounds the messages of `joined` and says older ones exist', async () => {
    const carol = await signUp(t);
    const wire = measure(carol);
    const joined = await carol.request({ action: 'join', room: 'emoji' });
    expect(joined.type).toBe('joined');
    const first = ids(joined.messages);
    expect(first.length).toBeGreaterThan(0);
    expect(first).toEqual(sent.slice(-first.length));
    expect(joined.hasMore).toBe(true);
    expect(wire.largest()).toBeLessThan(LIMIT);
    await carol.close();
  });
});

describe('a room of 3,500 members', () => {
  const SEEDED = 3500;

  beforeAll(async () => {
    // Members straight into the database: signing up 3,500 people over the
    // protocol would test nothing more here.
    await t.db.sql`insert into rooms (id, kind) values ('crowd', 'channel')`;
    await t.db.sql`
      insert into users (username, display_name, email, email_lower, password_hash, verified_at)
      select 'crowd_member_' || lpad(n::text, 5, '0'), 'Crowd member ' || n, 'crowd' || n || '@example.com',
        'crowd' || n || '@example.com', 'x', now()
      from generate_series(1, ${SEEDED}) n`;
    await t.db.sql`
      insert into memberships (room_id, user_id)
      select 'crowd', id from users where username like 'crowd\\_member\\_%'`;
  });

  it('joins with a bounded member list, a count and a flag, and pages the rest', async () => {
    const dave = await signUp(t);
    const wire = measure(dave);
    const joined = await dave.request({ action: 'join', room: 'crowd' });
    expect(joined.type).toBe('joined');
    expect(joined.memberCount).toBe(SEEDED + 1);
    expect(joined.membersMore).toBe(true);
    const names = (joined.members as Array<{ username: string }>).map((m) => m.username);
    let more = Boolean(joined.membersMore);
    for (let page = 0; more && page < 100; page++) {
      const r = await dave.request({ action: 'members', room: 'crowd', after: names.at(-1) });
      expect(r.type).toBe('members');
      const got = (r.members as Array<{ username: string }>).map((m) => m.username);
      expect(got.length).toBeGreaterThan(0);
      names.push(...got);
      more = Boolean(r.hasMore);
    }
    const expected = (await t.db.sql<{ username: string }[]>`
      select u.username from memberships m join users u on u.id = m.user_id where m.room_id = 'crowd' order by u.username`).map(
      (r) => r.username,
    );
    expect(names).toEqual(expected);
    expect(wire.largest()).toBeLessThan(LIMIT);
    await dave.close();
  });

  it('answers `members` only to members of the room', async () => {
    const erin = await signUp(t);
    const r = await erin.request({ action: 'members', room: 'crowd' });
    expect(r).toMatchObject({ type: 'error', code: 'forbidden' });
    await erin.close();
  });
});

describe('a person in thousands of rooms', () => {
  it('gets a bounded `authed` with a flag, and pages the rest of the rooms', async () => {
    const frank = await signUp(t);
    // Whatever a cap on rooms per person says, the reply must be safe with what is stored.
    await t.db.sql`
      insert into rooms (id, kind)
      select 'a-long-room-name-for-paging-' || lpad(n::text, 4, '0'), 'channel' from generate_series(1, 3000) n`;
    await t.db.sql`
      insert into memberships (room_id, user_id)
      select 'a-long-room-name-for-paging-' || lpad(n::text, 4, '0'), u.id
      from generate_series(1, 3000) n, users u where u.username = ${frank.username}`;

    const again = await TestClient.connect(t.wsUrl);
    const wire = measure(again);
    const authed = await again.request({ action: 'auth', op: 'resume', token: frank.token });
    expect(authed.type).toBe('authed');
    expect(authed.roomsMore).toBe(true);
    const rooms = (authed.rooms as Array<{ id: string }>).map((r) => r.id);
    let more = Boolean(authed.roomsMore);
    for (let page = 0; more && page < 100; page++) {
      const r = await again.request({ action: 'rooms', after: rooms.at(-1) });
      expect(r.type).toBe('rooms');
      const got = (r.rooms as Array<{ id: string }>).map((x) => x.id);
      expect(got.length).toBeGreaterThan(0);
      rooms.push(...got);
      more = Boolean(r.hasMore);
    }
    expect(new Set(rooms).size).toBe(rooms.length);
    expect(rooms).toHaveLength(3001); // and general
    expect(rooms).toContain('general');
    expect(wire.largest()).toBeLessThan(LIMIT);
    await Promise.all([again.close(), frank.close()]);
  });
});

describe('the local gateway', () => {
  it('refuses a frame over 128 KB as PostToConnection does: nothing sent, an error logged', async () => {
    const gina = await signUp(t);
    const [row] = await t.db.sql<{ id: string }[]>`
      select c.id from connections c join users u on u.id = c.user_id where u.username = ${gina.username}`;
    const big: Frame = { type: 'oversized', pad: 'x'.repeat(LIMIT) };
    const gone = await t.server.gateway.post([row!.id], big);
    expect(gone).toEqual([]);
    expect(await gina.quiet('oversized', 300)).toEqual([]);
    expect(log.events('reply_too_large').at(-1)).toMatchObject({ frame: 'oversized', connections: 1 });
    expect(Number(log.events('reply_too_large').at(-1)!.bytes)).toBeGreaterThan(LIMIT);
    // The socket is untouched and a frame just under the limit still goes out.
    await t.server.gateway.post([row!.id], { type: 'fits', pad: 'x'.repeat(LIMIT - 100) });
    expect((await gina.next('fits')).type).toBe('fits');
    expect((await gina.request({ action: 'ping' })).type).toBe('pong');
    await gina.close();
  });

  it('refused nothing else in this file: every reply above fit', () => {
    expect(log.events('reply_too_large').map((e) => e.frame)).toEqual(['oversized']);
  });
});
