// Migration 024 (the notice scan) on a database with people, rooms and a direct
// message already waiting: everyone who may be mailed becomes a candidate once,
// the scan starts after the newest message, and the first sweep mails the one
// waiting person exactly once and strikes off everyone else.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { migrate } from '../../functions/adapters/migrate.js';
import { sweepNotices } from '../../functions/core/notices.js';
import type { Deps } from '../../functions/core/ports.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';
import { TEST_ENV } from '../helpers/server.js';

const db = emptyDatabase();

describe('migration 024', () => {
  it('upgrades a database with a message waiting: its person is mailed once, nobody else is kept', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '024');
    const ann = await insertUser(sql, 'ann');
    const ben = await insertUser(sql, 'ben');
    const cat = await insertUser(sql, 'cat');
    const dan = await insertUser(sql, 'dan');
    await sql`update users set notify = 'off' where id = ${dan}`;
    await sql`insert into memberships (room_id, user_id) values ('general', ${ann}), ('general', ${ben}), ('general', ${cat}), ('general', ${dan})`;
    await sql`insert into rooms (id, kind) values ('dm:ann:ben', 'dm'), ('dm:ann:dan', 'dm')`;
    await sql`insert into memberships (room_id, user_id) values ('dm:ann:ben', ${ann}), ('dm:ann:ben', ${ben}), ('dm:ann:dan', ${ann}), ('dm:ann:dan', ${dan})`;
    await insertMessageWithSeq(sql, 'general', cat, 'k-1', 'good morning');
    await insertMessageWithSeq(sql, 'dm:ann:ben', ann, 'k-2', 'are you there?');
    const newest = await insertMessageWithSeq(sql, 'dm:ann:dan', ann, 'k-3', 'dan turned notices off');
    // sent before the upgrade, and long enough ago to be due
    await sql`update messages set created_at = now() - interval '1 hour'`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '024'));

    expect(await sql`select through::text from notice_scan`).toEqual([{ through: newest }]);
    expect((await sql<{ user_id: string }[]>`select user_id::text from notice_candidates order by user_id`).map((r) => r.user_id)).toEqual([ann, ben, cat]);
    // one row only
    await expect(sql`insert into notice_scan (id, through) values (false, 0)`).rejects.toMatchObject({ code: '23514' });
    expect(await sql`select indexname from pg_indexes where tablename = 'users' and indexname = 'users_notify_all'`).toEqual([{ indexname: 'users_notify_all' }]);

    const mailer = new RecordingMailer();
    const deps: Deps = {
      sql,
      gateway: new RecordingGateway(),
      mailer,
      clock: { now: () => new Date() },
      log: new RecordingLogger(),
      settings: loadConfig({ ...TEST_ENV, PUBLIC_URL: 'https://chat.example.org' }).settings,
    };
    await sweepNotices(deps);
    expect(mailer.sent.map((m) => [m.to, m.subject])).toEqual([['ben@example.com', '@ann sent you a message on Wild Whispers']]);
    expect(await sql`select user_id from notice_candidates`).toEqual([]);
    await sweepNotices(deps);
    expect(mailer.sent).toHaveLength(1);
  });
});
