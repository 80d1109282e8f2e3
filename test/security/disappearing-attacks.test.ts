// Attacks on disappearing messages, over real sockets: setting a timer in a room
// one is not in or did not create, values off the list or of the wrong type, a
// flood of changes meant to spam a room with announcements, rewriting an
// announcement, and reaching an expired message by id (around, reply, react,
// edit, a repeated send) before the sweep has deleted it. Each is refused with a code and a
// sentence and changes nothing; nobody else hears anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import { signUp, TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ TIMER_CHANGES_PER_HOUR: '3' });
});
afterAll(() => t?.close());

let n = 0;
const fresh = (prefix: string) => `${prefix}-${Date.now() % 100000}-${++n}`;

async function say(c: TestClient, room: string, text: string, replyTo?: string): Promise<string> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID(), ...(replyTo ? { replyTo } : {}) });
  expect(sent.type).toBe('sent');
  return (sent.message as { id: string }).id;
}

/** What a timer change would touch: the room's row and its messages. */
async function stateOf(room: string) {
  const [row] = await t.db.sql`
    select r.disappear_after, r.last_seq::text, (select count(*)::int from messages m where m.room_id = r.id) as messages
    from rooms r where r.id = ${room}`;
  return row;
}

const isAnnouncement = (f: { type: string; message?: unknown }) => f.type === 'message' && (f.message as { timer?: number }).timer !== undefined;

describe('set_timer', () => {
  it('is refused in rooms one is not in, did not create, or that nobody created', async () => {
    const [owner, member, mallory, carol] = await Promise.all([signUp(t), signUp(t), signUp(t), signUp(t)]);
    const channel = fresh('vault');
    await owner.request({ action: 'join', room: channel });
    await member.request({ action: 'join', room: channel });
    const theirs = dmRoomId(owner.username!, carol.username!);
    await say(owner, theirs, 'private');
    const before = await Promise.all([stateOf(channel), stateOf(theirs), stateOf('general')]);

    const cases: [TestClient, string, string][] = [
      [mallory, channel, `You are not a member of #${channel}.`],
      [mallory, theirs, 'You are not a member of this conversation.'],
      [mallory, 'no-such-room', 'You are not a member of #no-such-room.'],
      [member, channel, `Only the person who created #${channel} can set its timer.`],
      [owner, 'general', '#general has no creator on record, so nobody can set its timer.'],
    ];
    for (const [who, room, message] of cases) {
      expect(await who.request({ action: 'set_timer', room, seconds: 300 })).toMatchObject({ type: 'error', code: 'forbidden', message });
    }

    expect(await Promise.all([stateOf(channel), stateOf(theirs), stateOf('general')])).toEqual(before);
    expect(await stateOf('no-such-room')).toBeUndefined();
    for (const c of [owner, member, carol]) expect(await c.quiet(isAnnouncement)).toEqual([]);
    await Promise.all([owner, member, mallory, carol].map((c) => c.close()));
  });

  it('refuses values off the list and of the wrong type, and a bad room, changing nothing', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = dmRoomId(alice.username!, bob.username!);
    await say(alice, room, 'hi');
    const before = await stateOf(room);
    const offList = 'seconds is null (off) or one of 300, 3600, 86400, 604800.';
    const cases: [Record<string, unknown>, string][] = [
      [{ room, seconds: 0 }, offList],
      [{ room, seconds: -300 }, offList],
      [{ room, seconds: 5 }, offList], // the test-only value is off unless configured
      [{ room, seconds: 301 }, offList],
      [{ room, seconds: 1e308 }, offList],
      [{ room, seconds: 1.5 }, 'seconds must be a whole number.'],
      [{ room, seconds: '300' }, 'seconds must be a number or null.'],
      [{ room, seconds: 'off' }, 'seconds must be a number or null.'],
      [{ room, seconds: true }, 'seconds must be a number or null.'],
      [{ room, seconds: [300] }, 'seconds must be a number or null.'],
      [{ room }, 'seconds is required.'],
      [{ room: 'Not A Room!', seconds: 300 }, 'A room is a channel name of 1 to 32 characters of a-z, 0-9, _ and -, or dm:user1:user2.'],
    ];
    for (const [frame, message] of cases) {
      const refused = await alice.request({ action: 'set_timer', ...frame });
      expect(refused, JSON.stringify(frame)).toMatchObject({ type: 'error', code: 'bad_request', message });
    }
    expect(await stateOf(room)).toEqual(before);
    expect(await bob.quiet(isAnnouncement)).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('is refused before login', async () => {
    const stranger = await TestClient.connect(t.wsUrl);
    expect(await stranger.request({ action: 'set_timer', room: 'general', seconds: 300 })).toMatchObject({ type: 'error', code: 'unauthorized' });
    await stranger.close();
  });

  it('cannot flood a room with announcements: a budget per person, then rate_limited with the wait', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = dmRoomId(alice.username!, bob.username!);
    await say(alice, room, 'hi');
    for (const seconds of [300, null, 3600]) {
      expect(await alice.request({ action: 'set_timer', room, seconds })).toMatchObject({ type: 'timer', disappearAfter: seconds });
    }
    const before = await stateOf(room);
    const refused = await alice.request({ action: 'set_timer', room, seconds: 86400 });
    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited', retryAfter: expect.any(Number) });
    expect(refused.message).toMatch(/^You have changed disappearing-message timers too often: at most 3 times an hour\./);
    expect(await stateOf(room)).toEqual(before);
    for (let i = 0; i < 3; i++) await bob.next(isAnnouncement);
    expect(await bob.quiet(isAnnouncement)).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('announcements cannot be rewritten', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = dmRoomId(alice.username!, bob.username!);
    await say(alice, room, 'hi');
    const set = await alice.request({ action: 'set_timer', room, seconds: 3600 });
    const id = (set.message as { id: string }).id;
    const edit = await alice.request({ action: 'edit', room, message: id, text: 'bob set nothing' });
    expect(edit).toMatchObject({ type: 'error', code: 'bad_request', message: 'An announcement of a timer change cannot be edited.' });
    const [row] = await t.db.sql`select body, edited_at from messages where id = ${id}`;
    expect(row).toEqual({ body: `${alice.username} set messages to disappear after 1 hour`, edited_at: null });
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('an expired message', () => {
  it('cannot be reached by id before the sweep: not around, replied to, reacted to or edited', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const room = dmRoomId(alice.username!, bob.username!);
    await alice.request({ action: 'set_timer', room, seconds: 300 });
    const sent = await alice.request({ action: 'send', room, text: 'the secret', clientId: 'secret-1' });
    const gone = (sent.message as { id: string }).id;
    await bob.next((f) => f.type === 'message' && (f.message as { id: string }).id === gone);
    // five minutes pass, as the database's clock sees it; the sweep has not run yet
    await t.db.sql`update messages set expires_at = statement_timestamp() - interval '1 second' where id = ${gone}`;

    const around = await bob.request({ action: 'history', room, around: gone });
    expect(JSON.stringify(around)).not.toContain('the secret');
    const changes = await bob.request({ action: 'changes', room });
    expect(JSON.stringify(changes)).not.toContain('the secret');
    expect(await bob.request({ action: 'send', room, text: 'what?', clientId: crypto.randomUUID(), replyTo: gone })).toMatchObject({
      type: 'error',
      code: 'not_found',
    });
    expect(await bob.request({ action: 'react', room, message: gone, emoji: '👍' })).toMatchObject({ type: 'error', code: 'not_found' });
    expect(await alice.request({ action: 'edit', room, message: gone, text: 'still here' })).toMatchObject({ type: 'error', code: 'not_found' });
    // a retry of its send (same clientId) brings it back to nobody
    expect(await alice.request({ action: 'send', room, text: 'the secret', clientId: 'secret-1' })).toMatchObject({
      type: 'error',
      code: 'not_found',
      message: 'That message has disappeared.',
    });
    const [row] = await t.db.sql`select body from messages where id = ${gone}`;
    expect(row).toEqual({ body: 'the secret' }); // untouched until the sweep deletes it
    expect(await bob.quiet((f) => JSON.stringify(f).includes('the secret'))).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });
});
