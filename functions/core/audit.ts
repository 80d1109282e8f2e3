// Security events: one structured log line per attack signal (failed logins,
// lockouts, limits hit, bad codes, refused invites, outages), never a secret. On
// AWS a metric filter counts lines with a `security` field and an alarm watches it.
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
  | 'signup_conflict';

/**
 * Logs one security event. `fields` must never hold a password, code, token or
 * full email address: name the user, the connection and the address instead.
 */
export function securityEvent(log: Logger, event: SecurityEvent, fields: Record<string, unknown> = {}): void {
  log.warn(`security: ${event}`, { security: event, ...fields });
}
