// Migration 009 upgrades a database that holds messages: every message gets a seq
// (its id, which was handed out in commit order per room), every room the seq of
// its latest message, and the change feed then carries on from there.
import { expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { migrate } from '../../functions/adapters/migrate.js';
import { editMessage, pageChanges } from '../../functions/core/conversations.js';
import { pageMessages, send } from '../../functions/core/messages.js';
import { parseRoom } from '../../functions/core/names.js';
import type { Deps } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';
import { RecordingGateway, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';
import { emptyDatabase, insertMessageBeforeSeq, insertUser, migrateBefore } from '../helpers/migrations.js';

const db = emptyDatabase(60_000);
const oldSend = (room: string, userId: string, clientId: string, body: string) => insertMessageBeforeSeq(db.sql, room, userId, clientId, body);

it('gives existing messages their id as seq, rooms their latest, and the feed carries on above them', async () => {
  const sql = db.sql;
  const all = await migrateBefore(sql, '009');
  const alice = await insertUser(sql, 'alice');
  const bob = await insertUser(sql, 'bob');
  await sql`insert into rooms (id, kind) values ('ops', 'channel'), ('quiet', 'channel')`;
  await sql`insert into memberships (room_id, user_id) values ('general', ${alice}), ('general', ${bob}), ('ops', ${alice})`;
  const general = [await oldSend('general', alice, 'g1', 'one'), await oldSend('general', bob, 'g2', 'two')];
  const ops = [await oldSend('ops', alice, 'o1', 'ops one')];
  general.push(await oldSend('general', alice, 'g3', 'three'));
  const purged = await oldSend('general', bob, 'g4', 'purged before the upgrade');
  await sql`delete from messages where id = ${purged}`;

  const applied = await migrate(sql, all);
  expect(applied).toContain(all.find((m) => m.version.startsWith('009'))!.version);

  const rows = await sql<{ id: string; seq: string; deleted_at: Date | null; mentioned_user_ids: string[] }[]>`
    select id, seq, deleted_at, mentioned_user_ids from messages order by id`;
  expect(rows).toEqual([...general, ...ops].sort((a, b) => Number(a) - Number(b)).map((id) => ({ id, seq: id, deleted_at: null, mentioned_user_ids: [] })));
  const seqs = await sql<{ id: string; last_seq: string | null }[]>`select id, last_seq from rooms order by id`;
  expect(seqs).toEqual([
    { id: 'general', last_seq: general.at(-1) },
    { id: 'ops', last_seq: ops[0] },
    { id: 'quiet', last_seq: null },
  ]);

  // The feed from the start: every old message once, in id order.
  const feed = await pageChanges(sql, 'general', undefined, 100);
  expect(feed.messages.map((m) => [m.id, m.seq, m.text])).toEqual([
    [general[0], general[0], 'one'],
    [general[1], general[1], 'two'],
    [general[2], general[2], 'three'],
  ]);
  expect(feed.through).toBe(general.at(-1));
  const joined = await pageMessages(sql, 'general', {}, 50);
  expect(joined.seq).toBe(general.at(-1));

  // The new code on the upgraded data: a send, an edit of an old message.
  const gateway = new RecordingGateway();
  const deps: Deps = {
    sql,
    gateway,
    mailer: new RecordingMailer(),
    clock: { now: () => new Date() },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    settings: loadConfig(TEST_ENV).settings,
  };
  await sql`insert into connections (id, user_id, authed_at) values ('c-alice', ${alice}, now())`;
  const room = parseRoom('general')!;
  const sent = await send(deps, 'c-alice', { action: 'send', room, text: `after @bob`, clientId: 'new' });
  const fresh = sent.reply!.message as Message;
  expect(BigInt(fresh.seq!)).toBeGreaterThan(BigInt(general.at(-1)!)); // above every seq the upgrade gave
  expect(fresh.mentions).toEqual(['bob']);
  expect(sent.broadcasts![0]!.frame).toMatchObject({ type: 'message', prev: purged, prevSeq: general.at(-1), seq: fresh.seq });
  const edited = await editMessage(deps, 'c-alice', { action: 'edit', room, message: general[0]!, text: 'one, edited' });
  const after = await pageChanges(sql, 'general', general.at(-1), 100);
  expect(after.messages.map((m) => m.text)).toEqual(['after @bob', 'one, edited']);
  expect(after.through).toBe((edited.reply!.message as Message).seq);
});
