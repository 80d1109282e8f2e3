// Timer announcements are the room's record of its disappearing-messages timer:
// their author cannot delete or purge them (as they cannot edit them), and a send
// cannot take an announcement's clientId (timer-N), which would make the next
// timer change fail on the unique (sender, room, clientId), or answer and
// re-broadcast the announcement as a repeat of the send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Logger } from '../../functions/core/ports.js';
import { signUp, TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ TIMER_CHANGES_PER_HOUR: '4' });
});
afterAll(() => t?.close());

async function pair(): Promise<[TestClient, TestClient, string]> {
  const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
  const room = dmRoomId(alice.username!, bob.username!);
  const sent = await alice.request({ action: 'send', room, text: 'hi', clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return [alice, bob, room];
}

describe('timer announcements', () => {
  it('cannot be deleted by their author, and nothing changes', async () => {
    const [alice, bob, room] = await pair();
    const set = await alice.request({ action: 'set_timer', room, seconds: 3600 });
    const id = (set.message as { id: string }).id;
    const [before] = await t.db.sql`select body, deleted_at, seq::text from messages where id = ${id}`;
    const del = await alice.request({ action: 'delete', room, message: id });
    expect(del).toMatchObject({ type: 'error', code: 'bad_request', message: 'An announcement of a timer change cannot be deleted.' });
    const [after] = await t.db.sql`select body, deleted_at, seq::text from messages where id = ${id}`;
    expect(after).toEqual(before);
    expect(after!.deleted_at).toBeNull();
    expect(await bob.quiet((f) => f.type === 'changed')).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('stay when their author purges their messages', async () => {
    const [alice, bob, room] = await pair();
    const set = await alice.request({ action: 'set_timer', room, seconds: 3600 });
    const id = (set.message as { id: string }).id;
    const purged = await alice.request({ action: 'purge', room });
    expect(purged).toMatchObject({ type: 'purged', count: 1 });
    const [row] = await t.db.sql`select body, deleted_at from messages where id = ${id}`;
    expect(row).toEqual({ body: `${alice.username} set messages to disappear after 1 hour`, deleted_at: null });
    const history = await bob.request({ action: 'history', room });
    expect((history.messages as { id: string }[]).map((m) => m.id)).toEqual([id]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('keep their clientIds: a send with timer-N is refused, and the next timer change works', async () => {
    const [alice, bob, room] = await pair();
    const set = await alice.request({ action: 'set_timer', room, seconds: 3600 });
    const announced = (set.message as { id: string; clientId: string });
    // The announcement's own clientId, and the ones the next changes would take.
    const [ids] = await t.db.sql<{ next: string }[]>`select last_value::bigint as next from message_ids`;
    const next = ids!.next;
    const squat = [announced.clientId, ...Array.from({ length: 20 }, (_, i) => `timer-${BigInt(next) + BigInt(i + 1)}`)];
    for (const clientId of squat) {
      const r = await alice.request({ action: 'send', room, text: 'squat', clientId });
      expect(r).toMatchObject({ type: 'error', code: 'bad_request', message: 'clientId timer-<number> is reserved for timer announcements; choose another.' });
    }
    const [squatted] = await t.db.sql<{ count: number }[]>`select count(*)::int from messages where room_id = ${room} and body = 'squat'`;
    expect(squatted!.count).toBe(0);
    expect(await alice.request({ action: 'set_timer', room, seconds: 86400 })).toMatchObject({ type: 'timer', disappearAfter: 86400 });
    expect(await alice.request({ action: 'set_timer', room, seconds: null })).toMatchObject({ type: 'timer', disappearAfter: null });
    // Other clientIds that merely start with timer- are anyone's.
    expect(await alice.request({ action: 'send', room, text: 'fine', clientId: 'timer-x1' })).toMatchObject({ type: 'sent' });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('a refused flood of changes is logged naming the person', async () => {
    const events: Array<Record<string, unknown>> = [];
    const quiet = () => {};
    const recorder: Logger = { info: quiet, error: quiet, warn: (_m, f) => void (f?.security && events.push(f)) };
    const log = t.server.deps.log;
    t.server.deps.log = recorder;
    try {
      const [alice, bob, room] = await pair();
      const values = [300, 3600, 86400, 604800, 300];
      const answers = [];
      for (const seconds of values) answers.push(await alice.request({ action: 'set_timer', room, seconds }));
      expect(answers.at(-1)).toMatchObject({ type: 'error', code: 'rate_limited' });
      expect(events).toContainEqual(expect.objectContaining({ security: 'rate_limited', action: 'timer', user: alice.username }));
      await Promise.all([alice.close(), bob.close()]);
    } finally {
      t.server.deps.log = log;
    }
  });
});
