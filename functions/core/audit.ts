// Security events: one structured log line per attack signal (failed logins,
// lockouts, limits hit, bad codes, refused invites, outages), never a secret. On
// AWS a metric filter counts lines with a `security` field and an alarm watches it.
//
// The events an attacker can repeat without bound (a limit hit, a refused
// handshake) are aggregated: at most one line per event and source per minute,
// the next one saying how many were left out, so a flood cannot fill the disk
// with its own refusals. The rest are bounded by the limits they report.
import type { Logger } from './ports.js';

export type SecurityEvent =
  | 'login_failed'
  | 'login_locked'
  | 'resume_failed'
  | 'code_failed'
  | 'code_burned'
  | 'invite_refused'
  | 'rate_limited'
  | 'connection_refused'
  | 'origin_refused'
  | 'backpressure_closed'
  | 'reply_too_large'
  | 'database_unavailable'
  | 'signup_conflict'
  | 'file_url_refused'
  | 'file_refused'
  | 'account_delete_refused'
  | 'account_deleted'
  | 'held_name_refused'
  // account recovery and devices (E18)
  | 'reset_requested'
  | 'reset_skipped'
  | 'reset_unknown'
  | 'reset_failed'
  | 'password_reset'
  | 'password_check_failed'
  | 'password_changed'
  | 'email_change_requested'
  | 'email_changed'
  | 'sessions_revoked'
  // E19 (two-factor.ts): a wrong or replayed second-factor code, an account out of
  // second-factor tries, a recovery code spent, 2FA turned on or off or new codes
  | 'second_factor_failed'
  | 'second_factor_locked'
  | 'recovery_code_used'
  | 'two_factor_changed'
  // E22: a non-administrator's administrator action, a suspended account's
  // login or resume, and every administrator's action (the moderation record)
  | 'admin_refused'
  | 'suspended_refused'
  | 'moderation';

/** Events logged at most once per source and window. */
const AGGREGATED: ReadonlySet<SecurityEvent> = new Set(['rate_limited', 'connection_refused', 'origin_refused', 'file_url_refused']);
export const AGGREGATE_WINDOW_MS = 60_000;
/** Sources remembered at once (per logger): the oldest is forgotten first, so memory stays bounded. */
export const AGGREGATE_MAX_KEYS = 10_000;

interface Window {
  start: number;
  suppressed: number;
}

// Per logger, so that each server (and each test's recorder) counts on its own.
const windows = new WeakMap<Logger, Map<string, Window>>();

/** The source an event is counted under: its address first, else its user or connection. */
function sourceKey(event: SecurityEvent, fields: Record<string, unknown>): string {
  const who = fields.address ?? fields.sourceIp ?? fields.ip ?? fields.user ?? fields.connection ?? fields.connectionId ?? '';
  const what = fields.action ?? fields.limit ?? '';
  return `${event}\u0000${String(what)}\u0000${String(who)}`;
}

/**
 * Logs one security event. `fields` must never hold a password, code, token or
 * full email address: name the user, the connection and the address instead.
 */
export function securityEvent(log: Logger, event: SecurityEvent, fields: Record<string, unknown> = {}, now = Date.now()): void {
  if (!AGGREGATED.has(event)) {
    log.warn(`security: ${event}`, { security: event, ...fields });
    return;
  }
  let seen = windows.get(log);
  if (!seen) windows.set(log, (seen = new Map()));
  const key = sourceKey(event, fields);
  const window = seen.get(key);
  if (window && now - window.start < AGGREGATE_WINDOW_MS) {
    window.suppressed++;
    return;
  }
  const suppressed = window?.suppressed ?? 0;
  // Re-inserted last: a Map iterates in insertion order, so the first key is the oldest.
  seen.delete(key);
  seen.set(key, { start: now, suppressed: 0 });
  if (seen.size > AGGREGATE_MAX_KEYS) seen.delete(seen.keys().next().value!);
  log.warn(`security: ${event}`, { security: event, ...fields, ...(suppressed ? { suppressed } : {}) });
}
