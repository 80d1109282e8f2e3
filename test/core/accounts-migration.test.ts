// Migration 015 (account recovery and devices) on a database that holds people,
// sessions (live and revoked) and open connections: every session keeps working
// and lists as an unknown device last used when it was made; codes start empty.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { migrate } from '../../functions/adapters/migrate.js';
import { auth } from '../../functions/core/accounts.js';
import type { Deps } from '../../functions/core/ports.js';
import { listSessions } from '../../functions/core/sessions.js';
import { hashToken } from '../../functions/core/secrets.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { emptyDatabase, insertUser, migrateBefore, versionsFrom } from '../helpers/migrations.js';
import { TEST_ENV } from '../helpers/server.js';

const db = emptyDatabase();

describe('migration 015', () => {
  it('upgrades sessions and connections in place: tokens still resume, old sessions list as unknown devices', async () => {
    const sql = db.sql;
    const all = await migrateBefore(sql, '015');
    expect(all.some((m) => m.version === '015_accounts')).toBe(true);
    const ann = await insertUser(sql, 'ann', 'Ann');
    const made = new Date('2026-11-01T10:00:00Z');
    const expires = new Date(Date.now() + 86_400_000);
    const [live] = await sql<{ id: string }[]>`
      insert into sessions (user_id, token_hash, expires_at, created_at) values (${ann}, ${hashToken('live-token')}, ${expires}, ${made}) returning id::text`;
    await sql`
      insert into sessions (user_id, token_hash, expires_at, created_at, revoked_at)
      values (${ann}, ${hashToken('old-token')}, ${expires}, ${made}, ${made})`;
    await sql`
      insert into connections (id, user_id, session_id, connected_at, authed_at, source_ip)
      values ('open-1', ${ann}, ${live!.id}, now(), now(), '192.0.2.1')`;

    expect(await migrate(sql, all)).toEqual(versionsFrom(all, '015'));

    expect(await sql`select device, created_ip, last_ip, last_used_at from sessions order by id`).toEqual([
      { device: null, created_ip: null, last_ip: null, last_used_at: made },
      { device: null, created_ip: null, last_ip: null, last_used_at: made },
    ]);
    expect(await sql`select id, device, session_id::text from connections`).toEqual([{ id: 'open-1', device: null, session_id: live!.id }]);
    expect(await sql`select count(*)::int as n from account_codes`).toEqual([{ n: 0 }]);

    const deps: Deps = {
      sql,
      gateway: new RecordingGateway(),
      mailer: new RecordingMailer(),
      clock: { now: () => new Date() },
      log: new RecordingLogger(),
      settings: loadConfig(TEST_ENV).settings,
    };
    // the open connection lists its session, unknown device, marked current; in use now
    const before = Date.now();
    const listed = await listSessions(deps, 'open-1', { action: 'sessions' });
    expect(listed.reply!.sessions).toEqual([
      { id: live!.id, device: 'Unknown device', ip: null, lastIp: null, createdAt: made.toISOString(), lastUsedAt: expect.any(String), current: true },
    ]);
    expect(Date.parse((listed.reply!.sessions as Array<{ lastUsedAt: string }>)[0]!.lastUsedAt)).toBeGreaterThanOrEqual(before - 1000);
    // the old token still resumes, and then the session learns this socket's address
    await sql`insert into connections (id, connected_at, source_ip, device) values ('new-1', now(), '192.0.2.2', 'Firefox on Linux')`;
    expect((await auth(deps, 'new-1', { op: 'resume', token: 'live-token' })).reply).toMatchObject({ type: 'authed' });
    expect(await sql`select device, created_ip, last_ip from sessions where id = ${live!.id}`).toEqual([
      { device: 'Firefox on Linux', created_ip: '192.0.2.2', last_ip: '192.0.2.2' },
    ]);
    await expect(sql`insert into account_codes (user_id, purpose, code_hash, expires_at) values (${ann}, 'other', 'x', now())`).rejects.toThrow(/check/);
  });
});
