// The Wild Whispers server under test: the real local hosting (server/server.ts),
// on embedded PGlite (a fresh data dir) or on the PostgreSQL in DATABASE_URL.
// Passwords are hashed at SCRYPT_N=1024 here (set by the parent) so signing up
// thousands of bench users takes seconds; production keeps OWASP's 2^17.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../functions/adapters/config.js';
import { createLogger } from '../../functions/adapters/logger.js';
import type { Logger, Mail, Mailer } from '../../functions/core/ports.js';
import { startServer } from '../../server/server.js';
import { serveParent } from './child.js';

/** Writes each one-time code to CODES_DIR/<address>, where the load generator reads it. */
class CodeFileMailer implements Mailer {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  async send(mail: Mail): Promise<void> {
    const code = /^(\d{6}) /.exec(mail.subject)?.[1];
    if (code) writeFileSync(join(this.dir, mail.to.toLowerCase()), code);
  }
}

const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
// Stopping cuts thousands of sockets at once; the $disconnect runs that find the
// database already closed are expected then, and not worth a line each.
let stopping = false;
const logger = createLogger(config.logLevel);
const log: Logger = {
  info: (m, f) => stopping || logger.info(m, f),
  warn: (m, f) => stopping || logger.warn(m, f),
  error: (m, f) => stopping || logger.error(m, f),
};
const server = await startServer({
  config,
  log,
  mailer: new CodeFileMailer(process.env.CODES_DIR!),
  webRoot: join(config.dataDir, 'no-web'),
});
const { sql } = server.deps;

serveParent(server.port, () => ((stopping = true), server.close()), {
  /** A channel with `count` messages from `username`, inserted by SQL in one statement. */
  seedHistory: async (c) => {
    const room = String(c.room);
    const count = Number(c.count);
    const [user] = await sql<{ id: string }[]>`select id from users where username = ${String(c.username)}`;
    if (!user) throw new Error(`no user ${c.username}`);
    await sql`insert into rooms (id, kind) values (${room}, 'channel') on conflict do nothing`;
    await sql`insert into memberships (room_id, user_id) values (${room}, ${user.id}) on conflict do nothing`;
    await sql`
      insert into messages (id, room_id, sender_id, client_id, body, created_at)
      select nextval('message_ids'), ${room}, ${user.id}, 'seed-' || g, 'history message number ' || g,
             now() - (${count} - g) * interval '1 second'
      from generate_series(1, ${count}::int) g`;
    // Each seeded message took its seq from the sequence's default; the room's feed starts at the last.
    await sql`update rooms set last_message_id = (select max(id) from messages where room_id = ${room}),
      last_seq = (select max(seq) from messages where room_id = ${room}) where id = ${room}`;
    await sql`analyze messages`;
    return true;
  },
  /**
   * `count` verified users `<prefix>0…`, all members of #general, each with one
   * session whose token hashes to `tokenHashes[i]` (bench/ramp.ts): thousands of
   * users in a few statements, where signing up through the protocol would cost
   * a password hash each. Their password hash is no scrypt hash: they only resume.
   */
  seedUsers: async (c) => {
    const prefix = String(c.prefix);
    const hashes = c.tokenHashes as string[];
    await sql.begin(async (tx) => {
      await tx`
        insert into users (username, display_name, email, email_lower, password_hash, verified_at)
        select ${prefix} || (h.n - 1), ${prefix} || (h.n - 1), ${prefix} || (h.n - 1) || '@bench.example',
               ${prefix} || (h.n - 1) || '@bench.example', 'bench-user-without-password', now()
        from unnest(${hashes}::text[]) with ordinality h(hash, n)
        on conflict (username) do nothing`;
      await tx`
        insert into memberships (room_id, user_id)
        select 'general', u.id from users u where u.username like ${prefix + '%'}
        on conflict do nothing`;
      await tx`
        insert into sessions (user_id, token_hash, expires_at)
        select u.id, h.hash, now() + interval '7 days'
        from unnest(${hashes}::text[]) with ordinality h(hash, n)
        join users u on u.username = ${prefix} || (h.n - 1)
        on conflict (token_hash) do nothing`;
    });
    await sql`analyze users`;
    await sql`analyze memberships`;
    await sql`analyze sessions`;
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from memberships where room_id = 'general'`;
    return { generalMembers: row?.n ?? 0 };
  },
  lastMessageId: async (c) => {
    const [row] = await sql<{ id: string }[]>`select last_message_id as id from rooms where id = ${String(c.room)}`;
    return row?.id;
  },
});
