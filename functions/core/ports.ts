// The ports the core takes as arguments. Adapters implement them; the core never
// imports an SDK, a socket or process.env.
import type postgres from 'postgres';
import type { Sql } from 'postgres';
import type { ProfanityPolicy } from './profanity.js';

export type { Sql };
/** A pool or an open transaction: whatever runs a tagged-template query. */
export type Queryable = postgres.ISql;

/** A server-to-client frame: a JSON object with a `type`. */
export type Frame = { type: string; [field: string]: unknown };

export interface Gateway {
  /** Send one frame to each connection. Resolves with the ids that are gone. */
  post(connectionIds: readonly string[], frame: Frame): Promise<string[]>;
  /** Close a connection from the server side. */
  disconnect(connectionId: string): Promise<void>;
  /**
   * Like `post`, and also names the connections that could not be reached after
   * the gateway's own retries (a fan-out worker hands those back to its queue).
   */
  postEach?(connectionIds: readonly string[], frame: Frame): Promise<{ gone: string[]; failed: string[] }>;
}

/** Counts and durations for the hosting's metrics (CloudWatch on AWS); names are fixed in the code. */
export interface Telemetry {
  metric(name: string, value: number, unit: 'Count' | 'Milliseconds'): void;
  /** wraps one invocation of a hosted function (`context`: the host's, e.g. Lambda's): flushes its metrics at the end */
  around?<T>(context: unknown, name: string, run: () => Promise<T>): Promise<T>;
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /**
   * *(E24)* extra header fields, e.g. List-Unsubscribe and List-Unsubscribe-Post
   * (RFC 8058) on notices. Names are fixed in the code; values have no line breaks.
   */
  headers?: Record<string, string>;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/**
 * Where a client sends a file's bytes: a presigned S3 POST (form `fields`, then
 * the file) or the local server's signed PUT (the body is the file, with the
 * granted Content-Type). `url` may be relative to the server's origin.
 */
export type UploadTarget =
  | { method: 'POST'; url: string; fields: Record<string, string> }
  | { method: 'PUT'; url: string; headers: Record<string, string> };

/** How a download is served: images of a safe type inline, anything else as an attachment. */
export interface DownloadHeaders {
  contentType: string;
  disposition: 'inline' | 'attachment';
  filename: string;
}

/**
 * Bytes of shared files (files.ts holds the grants and the checks). Keys are
 * `files/<id>` and `files/<id>.preview`; URLs expire at `expiresAt`.
 */
export interface Storage {
  /** a one-time upload of exactly `size` bytes of `contentType` under `key` */
  uploadTarget(key: string, size: number, contentType: string, expiresAt: Date): Promise<UploadTarget>;
  downloadUrl(key: string, headers: DownloadHeaders, expiresAt: Date): Promise<string>;
  /**
   * Takes what was uploaded under `key` out of its grant's reach: from now on
   * `stat`, `downloadUrl` and `remove` see these bytes whatever the grant
   * uploads later, and storage's own expiry of unattached uploads spares them.
   * False when nothing was uploaded. Idempotent: an upload sealed before is true.
   */
  seal(key: string): Promise<boolean>;
  /** the sealed object's size, type and first bytes (up to HEAD_BYTES), or undefined when there is none */
  stat(key: string): Promise<{ size: number; contentType?: string; head: Buffer } | undefined>;
  /** gone for good; keys that are not there are no error */
  remove(keys: readonly string[]): Promise<void>;
}

/** *(E25)* Where a push goes: a subscription's endpoint and the keys its payload is encrypted to. */
export interface PushTarget {
  endpoint: string;
  /** the browser's P-256 public key and auth secret, base64url */
  p256dh: string;
  auth: string;
}

/**
 * *(E25)* Web Push: encrypted (aes128gcm) and signed (VAPID) by the adapter,
 * sent to the push service that delivers it to the browser.
 */
export interface Pusher {
  /** the VAPID public key, base64url: what a browser subscribes with */
  publicKey(): Promise<string>;
  /**
   * Sends one push; resolves with the push service's HTTP status (0: not
   * reached: a timeout, a refused address, a network error). Never throws.
   */
  send(target: PushTarget, payload: string, ttlSeconds: number): Promise<number>;
  /** the host's addresses, resolved: the SSRF guard checks them before a subscription is kept */
  resolve(hostname: string): Promise<string[]>;
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
  /** code emails per account, and emails to one address from one source network, in `otpSendWindowSeconds` */
  otpSendsPerWindow: number;
  otpSendWindowSeconds: number;
  /** scrypt cost; tests lower it, production keeps OWASP's N=2^17 */
  scryptN: number;
  /** sends per connection: a burst of this many, refilled at `messagesPerMinute` */
  messageBurst: number;
  messagesPerMinute: number;
  /** sends per user over all their connections, repeats included: a burst, then a rate */
  userMessageBurst: number;
  userMessagesPerMinute: number;
  /** a repeated send this soon after the original is re-broadcast to the room, once */
  rebroadcastSeconds: number;
  /** per user: joins that add a membership, leaves, purges */
  joinsPerMinute: number;
  leavesPerMinute: number;
  purgesPerHour: number;
  /**
   * `typing`: per user, frames of any room (a burst, then a rate: about 2 a
   * second); at most one forwarded per person and room every
   * `typingIntervalSeconds`; none forwarded in rooms of more than
   * `typingMaxMembers` members.
   */
  typingBurst: number;
  typingPerMinute: number;
  typingIntervalSeconds: number;
  typingMaxMembers: number;
  /** `read` marks per user: a burst, then a rate */
  readMarkBurst: number;
  readMarksPerMinute: number;
  /** `settings` changes per user per hour */
  settingsPerHour: number;
  /** `set_timer` requests per user per hour (disappearing messages) */
  timerChangesPerHour: number;
  /** *(E18)* password and email changes and email codes tried, per user per hour */
  accountChangesPerHour: number;
  /** *(E18)* device lists and sessions ended, per user per minute */
  sessionActionsPerMinute: number;
  /** test only: a disappearing-messages timer of this many seconds is allowed besides the usual ones */
  disappearTestSeconds?: number;
  /** per user: moderation actions (topic, rename, privacy, roles, kicks, bans, removals) a minute (E21) */
  moderationActionsPerMinute: number;
  /** per user: people invited to channels an hour (E21) */
  invitesPerHour: number;
  /** per user: edits, deletes and reactions (added or removed) of messages, a minute */
  editsPerMinute: number;
  deletesPerMinute: number;
  reactionsPerMinute: number;
  /** per user: messages whose @here counts (beyond it they are sent without it), an hour */
  hereMentionsPerHour: number;
  /** per user: history pages and joins of rooms one is already in (a client's sync) */
  readBurst: number;
  readsPerMinute: number;
  /** per user: search pages (each reads the index over every room one is in), a burst then a rate */
  searchBurst: number;
  searchesPerMinute: number;
  /** PostgreSQL cancels a search statement that runs longer (PGlite cannot; its queries are bounded by the query rules instead) */
  searchTimeoutMs: number;
  /** per user: logins, verifies and resumes that bind a connection to the account */
  loginsPerUserPerHour: number;
  /** authenticated connections one user may hold open at once */
  connectionsPerUser: number;
  /** new rooms (channels and direct conversations) one user may create a day */
  roomsCreatedPerDay: number;
  /** rooms one user may be a member of */
  roomsPerUser: number;
  /** per source address: sockets not logged in open at once, and new sockets a minute */
  anonymousConnectionsPerAddress: number;
  connectionsPerAddressPerMinute: number;
  /** auth requests (all but logout) one connection may make */
  authAttemptsPerConnection: number;
  /** failed logins per account before logins wait out `loginFailureWindowSeconds` */
  loginFailuresPerAccount: number;
  loginFailureWindowSeconds: number;
  profanityFilter: ProfanityPolicy;
  // Before any hashing or mail, the unauthenticated ops (register, verify, login,
  // resume) have budgets per source network and server-wide; see accounts.ts.
  /** auth requests per source network: a burst of this many, refilled each minute */
  authPerIpPerMinute: number;
  /** auth requests server-wide per minute */
  authPerMinute: number;
  /** scrypt hashes running at once in one process, and how many may wait */
  hashConcurrency: number;
  hashQueue: number;
  /** hashes one source network may have running or waiting at once, so one network cannot fill the queue */
  hashPerNetwork: number;
  /** emails that requests from one source network may cause per hour */
  mailPerIpPerHour: number;
  /** emails server-wide per hour */
  mailPerHour: number;
  /** emails to one address per hour from all sources (from one source: `otpSendsPerWindow`) */
  mailPerRecipientPerHour: number;
  /** invite-code tries per source network and server-wide per hour, where an invite is required */
  inviteTriesPerIpPerHour: number;
  inviteTriesPerHour: number;
  /** files (E17): bytes per file, grants per person per hour, bytes per person in all */
  fileMaxBytes: number;
  fileUploadsPerHour: number;
  fileQuotaBytes: number;
  /** refused file types: extensions ('.exe') and MIME types ('application/x-msdownload') */
  fileRefusedTypes: string[];
  /** how long an upload grant and a download URL stay good */
  fileUploadTtlSeconds: number;
  fileUrlTtlSeconds: number;
  /**
   * The server's administrators, by username (lower-cased): they see reports,
   * suspend and delete accounts, and moderate `general`.
   */
  adminUsers: readonly string[];
  /** *(E20)* profile changes per person per hour; data exports per person per day */
  profileChangesPerHour: number;
  exportsPerDay: number;
  /** *(E20)* tries at deleting one's account per hour (each checks the password) */
  accountDeletionsPerHour: number;
  /** *(E20)* days a deleted account's username cannot be registered */
  deletedNameHoldDays: number;
  /** *(E22)* per user: blocks and unblocks an hour, reports a day (administrators' actions: moderationActionsPerMinute) */
  blocksPerHour: number;
  reportsPerDay: number;
  /**
   * *(E23)* presence subscriptions: people one connection may `watch` at once;
   * the window `presence_batch` changes are coalesced over (the local server's
   * timer; on AWS the presence queue's batching window, set in infra); rooms of
   * at most `presenceV1MaxMembers` members still send v1 `presence` online/offline
   * frames to connections that never sent `watch` (none in larger rooms).
   */
  presenceWatchMax: number;
  presenceBatchMs: number;
  presenceV1MaxMembers: number;
  /** *(E23)* per user: `watch` lists and `online_count` requests a minute */
  watchesPerMinute: number;
  onlineCountsPerMinute: number;
  /**
   * *(E24)* email notices: a message left unread this long is due; a person gets
   * at most one notice every `noticeIntervalSeconds`; a failed send is tried
   * `noticeMaxAttempts` times in all; a sweep handles at most `noticeBatch` people.
   */
  noticeDelaySeconds: number;
  noticeIntervalSeconds: number;
  noticeMaxAttempts: number;
  noticeBatch: number;
  /** *(E24)* where people open the web client (links in notices), e.g. https://chat.example.org */
  publicUrl?: string;
  /** *(E24)* the unsubscribe endpoint; default `publicUrl` + /unsubscribe */
  unsubscribeUrl?: string;
  /** *(E24)* days an unsubscribe link stays good, and its uses per source network an hour */
  unsubscribeLinkDays: number;
  unsubscribesPerAddressPerHour: number;
  /** *(E25)* per user: `activity` reports (active, idle, hidden) a minute */
  activityPerMinute: number;
  /** *(E25)* per user: push subscriptions made, listed or removed an hour */
  pushActionsPerHour: number;
  /** *(E25)* per person: pushes they receive an hour, over all their devices' subscriptions counted once */
  pushesPerHour: number;
  /** *(E25)* tests and local runs only: push endpoints may be on private and loopback addresses */
  pushAllowPrivate: boolean;
}

export interface Deps {
  sql: Sql;
  gateway: Gateway;
  mailer: Mailer;
  clock: Clock;
  log: Logger;
  settings: ChatSettings;
  /** where shared files live; without it, file actions are refused */
  storage?: Storage;
  /** large broadcasts go to fan-out workers through a queue (functions/core/fanout.ts); without it, all are posted here */
  fanout?: import('./fanout.js').Fanout;
  /** *(E23)* coalesces `presence_batch` frames per connection over a window; without it each is posted at once */
  presence?: import('./presence.js').PresenceBatcher;
  telemetry?: Telemetry;
  /** *(E25)* Web Push; without it, push subscriptions are refused and nothing is pushed */
  push?: Pusher;
}
