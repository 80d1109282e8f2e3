// Migration 016 (two-factor authentication) on a database that holds people,
// sessions and messages: nothing is lost, nobody has 2FA on afterwards, a session
// made before it still resumes, and the new tables take rows and cascade with the
// account.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../functions/adapters/migrate.js';
import { twoFactorOn } from '../../functions/core/two-factor.js';
import { emptyDatabase, insertMessageWithSeq, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';

const db = emptyDatabase();

describe('migration 016', () => {
  it('upgrades a database with people, sessions and messages: all kept, 2FA off for everyone', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '016');
    const ann = await insertUser(sql, 'ann', 'Ann');
    const ben = await insertUser(sql, 'ben');
    await sql`insert into memberships (room_id, user_id) values ('general', ${ann}), ('general', ${ben})`;
    await sql`insert into sessions (user_id, token_hash, expires_at) values (${ann}, 'h-ann', now() + interval '1 day')`;
    await insertMessageWithSeq(sql, 'general', ann, 'k1', 'hello before 2FA');
    const users = await sql`select id, username, password_hash, verified_at from users order by id`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '016'));

    expect(await sql`select id, username, password_hash, verified_at from users order by id`).toEqual(users);
    expect(await sql`select body from messages`).toEqual([{ body: 'hello before 2FA' }]);
    expect(await sql`select user_id::text from sessions where revoked_at is null`).toEqual([{ user_id: ann }]);
    expect(await twoFactorOn(sql, ann)).toBe(false);
    expect(await twoFactorOn(sql, ben)).toBe(false);
    for (const table of ['two_factor', 'two_factor_enrolments', 'two_factor_recovery_codes', 'two_factor_challenges']) {
      expect(await sql`select count(*)::int as n from ${sql(table)}`).toEqual([{ n: 0 }]);
    }

    // the new tables take rows, refuse a second 2FA row per person, and go with the account
    await sql`insert into two_factor (user_id, secret, recovery_salt, enabled_at) values (${ben}, 'S', 'salt', now())`;
    await expect(sql`insert into two_factor (user_id, secret, recovery_salt, enabled_at) values (${ben}, 'T', 'salt', now())`).rejects.toThrow(
      /duplicate key/,
    );
    await sql`insert into two_factor_recovery_codes (user_id, code_hash) values (${ben}, 'h1'), (${ben}, 'h2')`;
    await sql`insert into two_factor_challenges (user_id, connection_id, token_hash, expires_at) values (${ben}, 'c1', 't1', now())`;
    expect(await twoFactorOn(sql, ben)).toBe(true);
    expect((await sql<{ last_step: string }[]>`select last_step::text from two_factor`)[0]!.last_step).toBe('0');
    await sql`delete from users where id = ${ben}`;
    for (const table of ['two_factor', 'two_factor_recovery_codes', 'two_factor_challenges']) {
      expect(await sql`select count(*)::int as n from ${sql(table)}`).toEqual([{ n: 0 }]);
    }
  });
});
