// Identity comes from the connection row, never from a frame.
import { Unauthorized } from './errors.js';
import type { Sql } from './ports.js';

export interface Caller {
  connectionId: string;
  userId: string;
  username: string;
  sessionId: string | null;
}

export async function findCaller(sql: Sql, connectionId: string): Promise<Caller | undefined> {
  const [row] = await sql<{ user_id: string; username: string; session_id: string | null }[]>`
    select c.user_id, u.username, c.session_id
    from connections c join users u on u.id = c.user_id
    where c.id = ${connectionId}`;
  return row && { connectionId, userId: row.user_id, username: row.username, sessionId: row.session_id };
}

export async function requireCaller(sql: Sql, connectionId: string): Promise<Caller> {
  const caller = await findCaller(sql, connectionId);
  if (!caller) throw new Unauthorized('Log in first.');
  return caller;
}
