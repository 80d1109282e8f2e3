// Rooms and messages for core tests that work on the database directly: a
// channel or a direct-message room with its members, and a message through the
// real send path.
import { send } from '../../functions/core/messages.js';
import { dmRoomId, parseRoom } from '../../functions/core/names.js';
import type { Deps, Sql } from '../../functions/core/ports.js';

/** A user and one of their connections. */
export interface Member {
  id: string;
  name: string;
  conn: string;
}

/** The channel `id` (made if need be) with `members` in it. */
export async function makeChannel(sql: Sql, id: string, ...members: Member[]): Promise<string> {
  await sql`insert into rooms (id, kind) values (${id}, 'channel') on conflict do nothing`;
  for (const m of members) await sql`insert into memberships (room_id, user_id) values (${id}, ${m.id}) on conflict do nothing`;
  return id;
}

/** The direct-message room of `a` and `b`, both in it. */
export async function makeDm(sql: Sql, a: Member, b: Member): Promise<string> {
  const id = dmRoomId(a.name, b.name);
  await sql`insert into rooms (id, kind) values (${id}, 'dm') on conflict do nothing`;
  await sql`insert into memberships (room_id, user_id) values (${id}, ${a.id}), (${id}, ${b.id}) on conflict do nothing`;
  return id;
}

let sent = 0;

/** A message through the real send path; returns its id. */
export async function sayIn(deps: Deps, who: Member, room: string, text = 'hello'): Promise<string> {
  const out = await send(deps, who.conn, { action: 'send', room: parseRoom(room)!, text, clientId: `said-${++sent}` });
  return (out.reply!.message as { id: string }).id;
}

let made = 0;

/** A verified user named `<prefix><n>` with one signed-in connection, as of `now`. */
export async function makePerson(sql: Sql, now: Date, prefix = 'p'): Promise<Member & { email: string }> {
  const name = `${prefix}${++made}`;
  const email = `${name}@example.com`;
  const [u] = await sql<{ id: string }[]>`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values (${name}, ${name}, ${email}, ${email}, 'x', ${now}) returning id::text`;
  const conn = `c-${name}`;
  await sql`insert into connections (id, user_id, authed_at) values (${conn}, ${u!.id}, ${now})`;
  return { id: u!.id, name, email, conn };
}
