// removeMessage, the core removal that moderators and administrators share (and
// that an administrator's handling of a report reuses): who may remove what,
// the tombstone with removedBy, the fan-out to every member's connections, and
// that a second removal changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { NotFound } from '../../functions/core/errors.js';
import { removeMessage } from '../../functions/core/moderation.js';
import { readMessage } from '../../functions/core/messages.js';
import type { Deps, Sql } from '../../functions/core/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { insertMessageWithSeq } from '../helpers/migrations.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let sql: Sql;
let deps: Deps;
beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  deps = {
    sql,
    gateway: new RecordingGateway(),
    mailer: new RecordingMailer(),
    clock: { now: () => new Date() },
    log: new RecordingLogger(),
    settings: loadConfig({ ...TEST_ENV }).settings,
  };
});
afterAll(async () => {
  await db?.close();
});

let n = 0;
async function person(prefix: string) {
  const name = `${prefix}${++n}`;
  const [u] = await sql<{ id: string }[]>`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values (${name}, ${name}, ${`${name}@example.com`}, ${`${name}@example.com`}, 'x', now()) returning id`;
  const conn = `mc-${n}`;
  await sql`insert into connections (id, user_id, authed_at) values (${conn}, ${u!.id}, now())`;
  return { userId: u!.id, username: name, conn };
}

describe('removeMessage', () => {
  it('lets a channel’s moderator and owner remove anyone’s message, and nobody else', async () => {
    const [owner, mod, member, outsider] = [await person('own'), await person('dep'), await person('mem'), await person('out')];
    const room = `mrm-${n}`;
    await sql`insert into rooms (id, kind, owner_id) values (${room}, 'channel', ${owner.userId})`;
    await sql`insert into memberships (room_id, user_id, moderator) values
      (${room}, ${owner.userId}, false), (${room}, ${mod.userId}, true), (${room}, ${member.userId}, false)`;
    const first = await insertMessageWithSeq(sql, room, member.userId, 'k1', 'first');
    const second = await insertMessageWithSeq(sql, room, owner.userId, 'k2', 'second');

    for (const who of [member, outsider]) {
      await expect(removeMessage(deps, { ...who, admin: false }, first)).rejects.toThrow(NotFound);
    }
    expect((await readMessage(sql, first))?.deleted).toBeUndefined();

    const done = await removeMessage(deps, { ...mod, admin: false }, first);
    expect(done.roomId).toBe(room);
    expect(done.message).toMatchObject({ id: first, text: '', deleted: true, removedBy: mod.username });
    expect(done.broadcasts).toEqual([
      { to: expect.arrayContaining([owner.conn, mod.conn, member.conn]), frame: expect.objectContaining({ type: 'changed', room, message: done.message }) },
    ]);
    expect(done.broadcasts[0]!.to).not.toContain(outsider.conn);
    // again: the same answer, no change, nobody told
    const again = await removeMessage(deps, { ...mod, admin: false }, first);
    expect(again.broadcasts).toEqual([]);
    expect(again.message.seq).toBe(done.message.seq);

    // the owner removes a moderator's message too; the wrong room is not found
    const third = await insertMessageWithSeq(sql, room, mod.userId, 'k3', 'third');
    await expect(removeMessage(deps, { ...owner, admin: false }, third, 'general')).rejects.toThrow(NotFound);
    expect((await removeMessage(deps, { ...owner, admin: false }, third, room)).message.removedBy).toBe(owner.username);
    expect((await readMessage(sql, second))?.text).toBe('second');
  });

  it('lets an administrator remove a message anywhere, a DM included, without being in it', async () => {
    const [a, b, admin] = [await person('dma'), await person('dmb'), await person('adm')];
    const dm = `dm:${[a.username, b.username].sort().join(':')}`;
    await sql`insert into rooms (id, kind) values (${dm}, 'dm')`;
    await sql`insert into memberships (room_id, user_id) values (${dm}, ${a.userId}), (${dm}, ${b.userId})`;
    const m = await insertMessageWithSeq(sql, dm, a.userId, 'k1', 'reported');
    await expect(removeMessage(deps, { ...b, admin: false }, m)).rejects.toThrow(NotFound);
    const done = await removeMessage(deps, { ...admin, admin: true }, m);
    expect(done.message).toMatchObject({ deleted: true, removedBy: admin.username });
    expect(done.broadcasts[0]!.to).toEqual(expect.arrayContaining([a.conn, b.conn]));
    expect(done.broadcasts[0]!.to).not.toContain(admin.conn);
  });
});
