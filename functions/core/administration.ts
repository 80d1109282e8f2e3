// Administration (docs/PROTOCOL.md, E22): what the server's administrators
// (ADMIN_USERS, admins.ts) do about reports: list the open ones, dismiss one,
// delete the reported message, suspend an account or lift its suspension, delete
// an account. Each protocol action checks the caller is an administrator and
// charges the `moderate` budget before it reads its other fields (adminAction); the work itself is in functions that take the
// database and a clock only, so the admin CLI (cli/admin.ts) runs the same code.
// Every action is logged as a `moderation` security event: the record of who did what.
import * as v from 'valibot';
import { isServerAdmin } from './admins.js';
import { securityEvent } from './audit.js';
import { blockTarget } from './blocks.js';
import { BadRequest, Forbidden, NotFound } from './errors.js';
import { eraseAccount } from './erase-account.js';
import { notExpired } from './expiry.js';
import { deleteFiles } from './files.js';
import type { Caller } from './identity.js';
import { requireCallerWithin } from './limits.js';
import { type MessageRow, messageColumns, toMessage } from './messages.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { ChatSettings, Deps } from './ports.js';
import { type Message, describeIssues, requestId } from './protocol.js';
import { closeReports, findReport, openReports } from './reports.js';
import { type Db, MAX_SUSPENSION_SECONDS, describeUntil, liftSuspension, suspendAccount } from './suspension.js';

const reportId = (field: string) => v.pipe(v.string(`${field} must be a report id string`), v.regex(/^[1-9][0-9]{0,17}$/, `${field} must be a report id`));

export const ReportsFrame = v.object({ action: v.literal('reports'), id: requestId, after: v.optional(reportId('after')) });
export type ReportsFrame = v.InferOutput<typeof ReportsFrame>;

export const ResolveReportFrame = v.object({
  action: v.literal('resolve_report'),
  id: requestId,
  report: reportId('report'),
  outcome: v.picklist(['dismiss', 'delete_message'], 'outcome must be dismiss or delete_message'),
});
export type ResolveReportFrame = v.InferOutput<typeof ResolveReportFrame>;

export const SuspendUserFrame = v.object({
  action: v.literal('suspend_user'),
  id: requestId,
  user: blockTarget,
  /** how long; absent: for good */
  seconds: v.optional(
    v.pipe(
      v.number('seconds must be a number'),
      v.integer('seconds must be a whole number'),
      v.minValue(60, 'A suspension lasts at least 60 seconds.'),
      v.maxValue(MAX_SUSPENSION_SECONDS, 'A suspension with an end lasts at most ten years; leave seconds out for good.'),
    ),
  ),
});
export type SuspendUserFrame = v.InferOutput<typeof SuspendUserFrame>;

export const UnsuspendUserFrame = v.object({ action: v.literal('unsuspend_user'), id: requestId, user: blockTarget });
export type UnsuspendUserFrame = v.InferOutput<typeof UnsuspendUserFrame>;

export const AdminDeleteUserFrame = v.object({ action: v.literal('admin_delete_user'), id: requestId, user: blockTarget });
export type AdminDeleteUserFrame = v.InferOutput<typeof AdminDeleteUserFrame>;

export const NOT_ADMIN = "Only the server's administrators can do that.";

/** The caller, an administrator, with a token of their `moderate` budget taken. */
async function requireAdmin(deps: Deps, connectionId: string, action: string): Promise<Caller> {
  const caller = await requireCallerWithin(deps, connectionId, 'moderate');
  if (!isServerAdmin(deps.settings, caller.username)) {
    securityEvent(deps.log, 'admin_refused', { user: caller.username, connection: connectionId, action });
    throw new Forbidden(NOT_ADMIN);
  }
  return caller;
}

function record(deps: Pick<Deps, 'log'>, admin: string, action: string, fields: Record<string, unknown>): void {
  securityEvent(deps.log, 'moderation', { user: admin, action, ...fields });
}

/** Administrators cannot suspend or delete each other: the setting names them, not the database. */
function refuseAdminTarget(settings: ChatSettings, user: string): void {
  if (isServerAdmin(settings, user)) {
    throw new BadRequest(`${user} is one of the server's administrators; take them off ADMIN_USERS first.`);
  }
}

export interface RemovedMessage {
  room: string;
  message: Message;
  seq: string;
  recipients: string[];
  /** files the message carried, detached: removed now, or by the sweep */
  detached: string[];
  /** the open reports of the message, closed */
  closed: string[];
}

/**
 * An administrator deletes any message: the tombstone a sender's own `delete`
 * leaves (conversations.ts), in one statement, with the room's seq bumped under
 * its lock and the open reports of the message closed. Undefined when there is
 * no such message, or it is deleted or expired already.
 *
 * It needs only the database and a clock, so the admin CLI runs it too;
 * moderators' removal (`removeMessage`, moderation.ts) also tells the room, and
 * the two should become one.
 */
export async function removeMessageAsAdmin(db: Db, messageId: string, by: string): Promise<RemovedMessage | undefined> {
  const { sql } = db;
  const now = db.clock.now();
  const [row] = await sql<(MessageRow & { change_seq: string; recipients: string[]; detached: string[]; closed: string[] })[]>`
    with target as (
      select m.id, m.room_id from messages m
      where m.id = ${messageId} and m.deleted_at is null and m.timer is null and ${notExpired(sql, 'm')}
    ), bump as (
      update rooms r set prev_seq = r.last_seq, last_seq = nextval('message_seqs')
      from target t where r.id = t.room_id
      returning r.id as room_id, r.last_seq as seq
    ), changed as (
      update messages m set seq = b.seq, body = '', deleted_at = now(), edited_at = null, reply_to = null,
        mentioned_user_ids = '{}', mentions_here = false
      from bump b where m.id = ${messageId} and m.room_id = b.room_id and m.deleted_at is null
      returning m.*
    ), unreacted as (
      delete from reactions r using changed d where r.message_id = d.id
    ), detached as (
      update files f set message_id = null from changed d where f.message_id = d.id returning f.id
    ), closed as (
      update reports p set status = 'deleted', closed_by = ${by}, closed_at = ${now}, body = ''
      from changed d where p.message_id = d.id and p.status = 'open'
      returning p.id
    )
    select ${messageColumns(sql)}, m.seq::text as change_seq,
      array(select c.id from memberships mm join connections c on c.user_id = mm.user_id where mm.room_id = m.room_id) as recipients,
      array(select id from detached) as detached,
      array(select id::text from closed) as closed
    from changed m`;
  if (!row) return undefined;
  return { room: row.room_id, message: toMessage(row), seq: row.change_seq, recipients: row.recipients, detached: row.detached, closed: row.closed };
}

/** `reports`: the open reports, oldest first. */
export async function listReports(deps: Deps, _admin: Caller, frame: ReportsFrame): Promise<Outcome> {
  const { reports, more } = await openReports(deps.sql, frame.after);
  return { reply: { type: 'reports', reports, hasMore: more } };
}

/** `resolve_report`: dismiss a report, or delete the message it reports (which closes all of its reports). */
export async function resolveReport(deps: Deps, admin: Caller, frame: ResolveReportFrame): Promise<Outcome> {
  const { sql, clock } = deps;
  const report = await findReport(sql, frame.report);
  if (!report || report.status !== 'open') throw new NotFound('There is no open report with that id.');
  if (frame.outcome === 'dismiss') {
    await closeReports(sql, { id: report.id }, 'dismissed', admin.username, clock.now());
    record(deps, admin.username, 'dismiss_report', { report: report.id });
    return { reply: { type: 'report_resolved', report: report.id, outcome: 'dismiss', closed: [report.id] } };
  }
  const removed = await removeMessageAsAdmin(deps, report.message, admin.username);
  // Deleted or gone since it was reported: the report closes all the same.
  const closed = removed ? removed.closed : await closeReports(sql, { messageId: report.message }, 'deleted', admin.username, clock.now());
  record(deps, admin.username, 'delete_message', { report: report.id, message: report.message, room: report.room });
  if (removed?.detached.length) await deleteFiles(deps, removed.detached);
  const broadcasts: Broadcast[] = removed?.recipients.length
    ? [{ to: removed.recipients, frame: { type: 'changed', room: removed.room, seq: removed.seq, message: removed.message } }]
    : [];
  return { reply: { type: 'report_resolved', report: report.id, outcome: 'delete_message', closed }, broadcasts };
}

/** `suspend_user`: for `seconds`, or for good; the account's sockets are told and closed at once. */
export async function suspendUser(deps: Deps, admin: Caller, frame: SuspendUserFrame): Promise<Outcome> {
  refuseAdminTarget(deps.settings, frame.user);
  const until = frame.seconds === undefined ? null : new Date(deps.clock.now().getTime() + frame.seconds * 1000);
  const result = await suspendAccount(deps, frame.user, until, admin.username);
  if (!result) throw new NotFound(`There is nobody called ${frame.user}.`);
  record(deps, admin.username, 'suspend', { target: result.user, until: until?.toISOString() ?? 'forever' });
  return {
    reply: { type: 'user_suspended', user: result.user, until: until?.toISOString() ?? null, message: `${result.user} is suspended ${describeUntil(until)}.` },
    broadcasts: result.broadcasts,
    close: result.closed,
  };
}

/** `unsuspend_user`: lifts a suspension. */
export async function unsuspendUser(deps: Deps, admin: Caller, frame: UnsuspendUserFrame): Promise<Outcome> {
  if (!(await liftSuspension(deps, frame.user))) throw new NotFound(`${frame.user} is not suspended.`);
  record(deps, admin.username, 'unsuspend', { target: frame.user });
  return { reply: { type: 'user_unsuspended', user: frame.user } };
}

/** `admin_delete_user`: the account goes for good (erase-account.ts), its sockets closed. */
export async function adminDeleteUser(deps: Deps, admin: Caller, frame: AdminDeleteUserFrame): Promise<Outcome> {
  refuseAdminTarget(deps.settings, frame.user);
  const erased = await eraseAccount(deps, frame.user);
  if (!erased) throw new NotFound(`There is nobody called ${frame.user}.`);
  record(deps, admin.username, 'delete_user', { target: frame.user });
  return { reply: { type: 'user_deleted', user: frame.user }, broadcasts: erased.broadcasts, close: erased.closed };
}

/**
 * An administrator's action as `$default` routes it: `$default` checks only its
 * envelope; the caller must be an administrator (else `forbidden` and an
 * `admin_refused` event, whatever the other fields hold), and only then are the
 * frame's own fields read, a bad one answered `bad_request`.
 */
function adminAction<S extends v.GenericSchema<unknown, { action: string }>>(
  schema: S,
  work: (deps: Deps, admin: Caller, frame: v.InferOutput<S>) => Promise<Outcome>,
) {
  return {
    schema: v.looseObject({ action: v.string(), id: requestId }),
    run: async (deps: Deps, connectionId: string, frame: { action: string }): Promise<Outcome> => {
      const admin = await requireAdmin(deps, connectionId, frame.action);
      const parsed = v.safeParse(schema, frame);
      if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
      return work(deps, admin, parsed.output);
    },
  };
}

/** The administrators' actions `$default` routes, with their frames. */
export const ADMINISTRATION_ACTIONS = {
  reports: adminAction(ReportsFrame, listReports),
  resolve_report: adminAction(ResolveReportFrame, resolveReport),
  suspend_user: adminAction(SuspendUserFrame, suspendUser),
  unsuspend_user: adminAction(UnsuspendUserFrame, unsuspendUser),
  admin_delete_user: adminAction(AdminDeleteUserFrame, adminDeleteUser),
} as const;
