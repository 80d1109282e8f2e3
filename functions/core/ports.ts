// The ports the core takes as arguments. Adapters implement them; the core never
// imports an SDK, a socket or process.env.
import type { Sql } from 'postgres';
import type { ProfanityPolicy } from './profanity.js';

export type { Sql };

/** A server-to-client frame: a JSON object with a `type`. */
export type Frame = { type: string; [field: string]: unknown };

export interface Gateway {
  /** Send one frame to each connection. Resolves with the ids that are gone. */
  post(connectionIds: readonly string[], frame: Frame): Promise<string[]>;
  /** Close a connection from the server side. */
  disconnect(connectionId: string): Promise<void>;
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The chat's tunables: limits and policies, all with defaults in config. */
export interface ChatSettings {
  /** where set, registration requires this invite code */
  inviteCode?: string;
  appName: string;
  sessionTtlSeconds: number;
  otpTtlSeconds: number;
  otpMaxAttempts: number;
  /** code emails per account and per address in `otpSendWindowSeconds` */
  otpSendsPerWindow: number;
  otpSendWindowSeconds: number;
  /** scrypt cost; tests lower it, production keeps OWASP's N=2^17 */
  scryptN: number;
  /** sends per connection: a burst of this many, refilled at `messagesPerMinute` */
  messageBurst: number;
  messagesPerMinute: number;
  /** auth requests (all but logout) one connection may make */
  authAttemptsPerConnection: number;
  /** failed logins per account before logins wait out `loginFailureWindowSeconds` */
  loginFailuresPerAccount: number;
  loginFailureWindowSeconds: number;
  profanityFilter: ProfanityPolicy;
}

export interface Deps {
  sql: Sql;
  gateway: Gateway;
  mailer: Mailer;
  clock: Clock;
  log: Logger;
  settings: ChatSettings;
}
