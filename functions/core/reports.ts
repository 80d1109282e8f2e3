// Reports (docs/PROTOCOL.md, E22): a person shows a message of a room they are in
// to the server's administrators, with a reason. At most once per person and
// message, within a budget a day. The report keeps the message's text as it was
// (the reporter saw it and chose to show it), so that deleting the message does
// not hide what was reported; the copy is erased when the report is closed, and a
// message that disappears (expiry) takes its reports with it.
import * as v from 'valibot';
import { BadRequest, Conflict, NotFound } from './errors.js';
import { notExpired } from './expiry.js';
import { requireCallerWithin } from './limits.js';
import { codePoints, hasForbiddenControls, hasVisibleCharacter } from './names.js';
import type { Outcome } from './outcome.js';
import type { Deps, Queryable } from './ports.js';
import { requestId, requiredMessageId, room } from './protocol.js';

/** A reason is at most this many characters. */
export const MAX_REASON = 500;
/** Open reports a page of `reports` lists. */
export const REPORTS_PAGE = 100;

export const reason = v.pipe(
  v.string('reason must be a string'),
  v.maxLength(MAX_REASON * 4, `A reason is at most ${MAX_REASON} characters.`),
  v.trim(),
  v.check((s) => s.length > 0 && hasVisibleCharacter(s), 'Say why you report this message.'),
  v.check((s) => codePoints(s) <= MAX_REASON, `A reason is at most ${MAX_REASON} characters.`),
  v.check((s) => s.isWellFormed() && !hasForbiddenControls(s), 'The reason contains characters that cannot be stored.'),
);

export const ReportFrame = v.object({ action: v.literal('report'), id: requestId, room, message: requiredMessageId('message'), reason });
export type ReportFrame = v.InferOutput<typeof ReportFrame>;

/** A REPORT as administrators see it. */
export interface Report {
  id: string;
  room: string;
  message: string;
  /** the message's sender */
  from: string;
  /** the message's text when it was reported */
  text: string;
  reason: string;
  /** who reported it */
  by: string;
  at: string;
  /** the message has been deleted since (its text above is the reported one) */
  messageDeleted?: true;
}

interface ReportRow {
  id: string;
  room_id: string;
  message_id: string;
  sender: string;
  body: string;
  reason: string;
  reporter: string;
  created_at: Date;
  message_deleted: boolean;
}

function toReport(r: ReportRow): Report {
  const report: Report = {
    id: r.id,
    room: r.room_id,
    message: r.message_id,
    from: r.sender,
    text: r.body,
    reason: r.reason,
    by: r.reporter,
    at: r.created_at.toISOString(),
  };
  if (r.message_deleted) report.messageDeleted = true;
  return report;
}

const reportColumns = (sql: Queryable) => sql`
  p.id::text, p.room_id, p.message_id::text, su.username as sender, p.body, p.reason, ru.username as reporter, p.created_at,
  exists (select 1 from messages m where m.id = p.message_id and m.deleted_at is not null) as message_deleted`;

/** Open reports, oldest first, after the report `after`; with whether more follow. */
export async function openReports(sql: Queryable, after?: string, limit = REPORTS_PAGE): Promise<{ reports: Report[]; more: boolean }> {
  const rows = await sql<ReportRow[]>`
    select ${reportColumns(sql)}
    from reports p join users su on su.id = p.sender_id join users ru on ru.id = p.reporter_id
    where p.status = 'open' ${after !== undefined ? sql`and p.id > ${after}` : sql``}
    order by p.id
    limit ${limit + 1}`;
  return { reports: rows.slice(0, limit).map(toReport), more: rows.length > limit };
}

/** One report, open or not. */
export async function findReport(sql: Queryable, id: string): Promise<(Report & { status: string }) | undefined> {
  const [row] = await sql<(ReportRow & { status: string })[]>`
    select ${reportColumns(sql)}, p.status
    from reports p join users su on su.id = p.sender_id join users ru on ru.id = p.reporter_id
    where p.id = ${id}`;
  return row && { ...toReport(row), status: row.status };
}

/**
 * Closes open reports (the one `id`, or every one of `messageId`) as `status`,
 * erasing their copy of the text. Returns the ids closed.
 */
export async function closeReports(
  sql: Queryable,
  which: { id: string } | { messageId: string },
  status: 'dismissed' | 'deleted',
  by: string,
  now: Date,
): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    update reports set status = ${status}, closed_by = ${by}, closed_at = ${now}, body = ''
    where status = 'open' and ${'id' in which ? sql`id = ${which.id}` : sql`message_id = ${which.messageId}`}
    returning id::text`;
  return rows.map((r) => r.id);
}

const NOT_FOUND = 'That message does not exist, or you are not in its room.';

/**
 * `report`: one statement checks that the caller is a member of the room and the
 * message is there (not deleted, not expired), and stores the report with the
 * message's text. A message one cannot see answers exactly as one that does not
 * exist. Administrators online hear of it at once (`report` event).
 */
export async function reportMessage(deps: Deps, connectionId: string, frame: ReportFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'report');
  const [row] = await sql<{ found: boolean; own: boolean | null; report_id: string | null }[]>`
    with target as (
      select m.id, m.room_id, m.sender_id, m.body from messages m
      join memberships mm on mm.room_id = m.room_id and mm.user_id = ${caller.userId}
      where m.id = ${frame.message} and m.room_id = ${frame.room.id} and m.deleted_at is null and ${notExpired(sql, 'm')}
    ), inserted as (
      insert into reports (message_id, room_id, sender_id, reporter_id, reason, body, created_at)
      select t.id, t.room_id, t.sender_id, ${caller.userId}, ${frame.reason}, t.body, ${deps.clock.now()}
      from target t where t.sender_id <> ${caller.userId}
      on conflict (message_id, reporter_id) do nothing
      returning id
    )
    select exists (select 1 from target) as found, (select t.sender_id = ${caller.userId} from target t) as own,
      (select id::text from inserted) as report_id`;
  if (!row?.found) throw new NotFound(NOT_FOUND);
  if (row.own) throw new BadRequest('You cannot report your own message.');
  if (!row.report_id) throw new Conflict('You have reported this message already; the administrators have it.');
  const report = await findReport(sql, row.report_id);
  const admins = settings.adminUsers.length
    ? await sql<{ id: string }[]>`
        select c.id from connections c join users u on u.id = c.user_id where u.username = any(${[...settings.adminUsers]}::text[])`
    : [];
  return {
    reply: { type: 'reported', report: row.report_id, room: frame.room.id, message: frame.message },
    broadcasts: admins.length && report ? [{ to: admins.map((a) => a.id), frame: { type: 'report', report: strip(report) } }] : [],
  };
}

function strip(r: Report & { status?: string }): Report {
  const { status: _status, ...report } = r;
  return report;
}
