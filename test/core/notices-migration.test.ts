// Migration 022 (email notices) on a database that holds people, rooms and
// unread messages: everyone gets the default choice ('mentions', no quotes), and
// nothing sent before the upgrade causes a notice after it; what comes later does.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { sweepNotices } from '../../functions/core/notices.js';
import type { Deps } from '../../functions/core/ports.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

const db = emptyDatabase();

describe('migration 022', () => {
  it('upgrades a database with people and unread messages: defaults for all, no notice for what came before', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '022');
    const ann = await insertUser(sql, 'ann', 'Ann');
    const ben = await insertUser(sql, 'ben');
    await sql`update users set verified_at = now()`;
    await sql`insert into rooms (id, kind) values ('dm:ann:ben', 'dm')`;
    await sql`insert into memberships (room_id, user_id) values ('dm:ann:ben', ${ann}), ('dm:ann:ben', ${ben})`;
    const old = await insertMessageWithSeq(sql, 'dm:ann:ben', ann, 'k-1', 'before the upgrade');
    await sql`update messages set created_at = now() - interval '1 hour'`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '022'));

    expect(await sql`select username, notify, notify_quote from users order by username`).toEqual([
      { username: 'ann', notify: 'mentions', notify_quote: false },
      { username: 'ben', notify: 'mentions', notify_quote: false },
    ]);
    expect(await sql`select user_id::text, noticed_through::text, attempts, last_sent_at from notices order by user_id`).toEqual([
      { user_id: ann, noticed_through: old, attempts: 0, last_sent_at: null },
      { user_id: ben, noticed_through: old, attempts: 0, last_sent_at: null },
    ]);
    expect(await sql`select body from messages`).toEqual([{ body: 'before the upgrade' }]);
    // the sweep's partial indexes
    expect(await sql`select indexname from pg_indexes where tablename = 'messages' and indexname in ('messages_mentioned', 'messages_here') order by 1`).toEqual([
      { indexname: 'messages_here' },
      { indexname: 'messages_mentioned' },
    ]);

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
    expect(mailer.sent).toHaveLength(0);

    // after the upgrade: a new message, unread past the delay, is noticed
    await insertMessageWithSeq(sql, 'dm:ann:ben', ann, 'k-2', 'after the upgrade');
    await sql`update messages set created_at = now() - interval '1 hour', mentioned_user_ids = '{}' where client_id = 'k-2'`;
    await sweepNotices(deps);
    expect(mailer.sent.map((m) => m.to)).toEqual(['ben@example.com']);
    await expect(sql`update users set notify = 'sometimes' where id = ${ann}`).rejects.toThrow(/users_notify/);
  });
});
