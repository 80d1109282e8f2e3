// Export my data (E20 in docs/PROTOCOL.md): my profile, my rooms and every
// message I sent, as pages the client assembles into one JSON file. Paged
// rather than built in storage: each reply stays within API Gateway's 128 KB
// frame whatever the history holds (sizes.ts), it works on a server that keeps
// no files, and no copy of a person's data is left lying in storage after. The
// first page costs one token of the daily `export` budget; the pages after it
// (`after`: the cursor the previous page gave) cost a history read each.
import * as v from 'valibot';
import { BadRequest } from './errors.js';
import { notExpired } from './expiry.js';
import { requireCallerWithin } from './limits.js';
import type { Outcome } from './outcome.js';
import type { Deps, Frame, Queryable } from './ports.js';
import { profileOf, type ProfileRow } from './profile.js';
import { requestId } from './protocol.js';
import { fitPrefix, REPLY_BUDGET_BYTES } from './sizes.js';

/** The version of the file's layout, so a reader can tell later changes. */
export const EXPORT_FORMAT = 1;
/** Rows one page reads; the byte budget usually cuts it shorter. */
const PAGE_ROWS = 500;

/** A cursor: rooms after a room id ('r:general'), or messages after an id ('m:1234'). */
const CURSOR = /^(r:[a-z0-9_:.-]{1,100}|m:\d{1,19})$/;

/** `{"action":"export_data","after"?}` */
export const ExportFrame = v.object({
  action: v.literal('export_data'),
  id: requestId,
  after: v.optional(v.pipe(v.string('after must be the cursor of the previous page'), v.regex(CURSOR, 'after must be the cursor of the previous page'))),
});
export type ExportFrame = v.InferOutput<typeof ExportFrame>;

interface ExportRoom {
  id: string;
  kind: string;
  joinedAt: string;
}

interface ExportMessage {
  id: string;
  room: string;
  text: string;
  at: string;
  editedAt?: string;
  replyTo?: string;
  expiresAt?: string;
  files?: { name: string; type: string; size: number }[];
}

async function roomsAfter(sql: Queryable, userId: string, after: string) {
  const rows = await sql<{ id: string; kind: string; joined_at: Date }[]>`
    select r.id, r.kind, m.joined_at from memberships m join rooms r on r.id = m.room_id
    where m.user_id = ${userId} and r.id > ${after}
    order by r.id limit ${PAGE_ROWS + 1}`;
  return rows.map((r): ExportRoom => ({ id: r.id, kind: r.kind, joinedAt: r.joined_at.toISOString() }));
}

async function messagesAfter(sql: Queryable, userId: string, after: string) {
  const rows = await sql<
    { id: string; room_id: string; body: string; created_at: Date; edited_at: Date | null; reply_to: string | null; expires_at: Date | null; files: ExportMessage['files'] | null }[]
  >`
    select m.id::text, m.room_id, m.body, m.created_at, m.edited_at, m.reply_to::text, m.expires_at,
      (select json_agg(json_build_object('name', f.name, 'type', f.content_type, 'size', f.size) order by f.position)
       from files f where f.message_id = m.id) as files
    from messages m
    where m.sender_id = ${userId} and m.id > ${after}::bigint and m.deleted_at is null and m.timer is null and ${notExpired(sql, 'm')}
    order by m.id limit ${PAGE_ROWS + 1}`;
  return rows.map((r): ExportMessage => ({
    id: r.id,
    room: r.room_id,
    text: r.body,
    at: r.created_at.toISOString(),
    ...(r.edited_at ? { editedAt: r.edited_at.toISOString() } : {}),
    ...(r.reply_to ? { replyTo: r.reply_to } : {}),
    ...(r.expires_at ? { expiresAt: r.expires_at.toISOString() } : {}),
    ...(r.files ? { files: r.files } : {}),
  }));
}

/**
 * `export_data`: one page of the caller's data. The first page (no `after`)
 * carries `profile` and starts the rooms; then rooms, then messages by id.
 * `next` is the cursor of the following page; its absence means the export is
 * complete.
 */
export async function exportData(deps: Deps, connectionId: string, frame: ExportFrame): Promise<Outcome> {
  const { sql } = deps;
  const caller = await requireCallerWithin(deps, connectionId, frame.after === undefined ? 'export' : 'read');
  const reply: Frame = { type: 'export_page', format: EXPORT_FORMAT };
  let budget = REPLY_BUDGET_BYTES;
  const after = frame.after ?? 'r:';
  if (frame.after === undefined) {
    const [row] = await sql<(ProfileRow & { email: string; created_at: Date; read_receipts: boolean; notify: string; notify_quote: boolean })[]>`
      select username, display_name, status_text, avatar_file_id, email, created_at, read_receipts, notify, notify_quote
      from users where id = ${caller.userId}`;
    if (!row) throw new BadRequest('That account is gone.');
    reply.profile = {
      ...profileOf(row),
      displayName: row.display_name,
      email: row.email,
      createdAt: row.created_at.toISOString(),
      readReceipts: row.read_receipts,
      // *(E24)* email notices
      notify: row.notify,
      notifyQuote: row.notify_quote,
    };
    reply.exportedAt = deps.clock.now().toISOString();
    budget -= 4096;
  }
  if (after.startsWith('r:')) {
    const rooms = await roomsAfter(sql, caller.userId, after.slice(2));
    const { taken } = fitPrefix(rooms.slice(0, PAGE_ROWS), budget);
    reply.rooms = taken;
    const last = taken.at(-1);
    // A full page may have more; otherwise the messages come next.
    reply.next = rooms.length > taken.length && last ? `r:${last.id}` : 'm:0';
    return { reply };
  }
  const messages = await messagesAfter(sql, caller.userId, after.slice(2));
  const { taken } = fitPrefix(messages.slice(0, PAGE_ROWS), budget, 1);
  reply.messages = taken;
  const last = taken.at(-1);
  if (messages.length > taken.length && last) reply.next = `m:${last.id}`;
  return { reply };
}
