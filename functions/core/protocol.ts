// The wire protocol's client frames as valibot schemas (PROTOCOL.md). Unknown
// extra fields are ignored, so clients may send extensions older servers skip.
import * as v from 'valibot';
import {
  MAX_MARKS_PER_CHARACTER,
  MAX_TEXT,
  MESSAGE_ID,
  USERNAME,
  codePoints,
  hasForbiddenControls,
  hasVisibleCharacter,
  mostMarksOnOneCharacter,
  parseRoom,
  usernameProblem,
  visibleCharacters,
  type RoomName,
} from './names.js';

export const requestId = v.optional(v.pipe(v.string('id must be a string'), v.maxLength(64, 'id is at most 64 characters')));

const username = v.pipe(
  v.string('username must be a string'),
  v.toLowerCase(),
  v.regex(USERNAME, 'A username is 3 to 32 characters of a-z, 0-9, _ . and -.'),
);

/** A room name, parsed into its canonical id and kind. */
export const room = v.pipe(
  v.string('room must be a string'),
  v.maxLength(100, 'That is not a room name.'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const parsed = parseRoom(dataset.value);
    if (!parsed) {
      addIssue({ message: 'A room is a channel name of 1 to 32 characters of a-z, 0-9, _ and -, or dm:user1:user2.' });
      return NEVER;
    }
    return parsed;
  }),
);

/** A message id field: a string of a positive integer. */
export const requiredMessageId = (field: string) =>
  v.pipe(v.string(`${field} must be a message id string`), v.regex(MESSAGE_ID, `${field} must be a message id`));
const messageId = (field: string) => v.optional(requiredMessageId(field));

/** An optional page size: a whole number from 1 to `max`. */
export const pageLimit = (max: number) =>
  v.optional(
    v.pipe(
      v.number('limit must be a number'),
      v.integer('limit must be a whole number'),
      v.minValue(1, `limit is 1 to ${max}`),
      v.maxValue(max, `limit is 1 to ${max}`),
    ),
  );

const wellFormed = (what: string) =>
  v.check((s: string) => s.isWellFormed() && !hasForbiddenControls(s), `${what} contains characters that cannot be stored.`);

const clientId = v.pipe(
  v.string('clientId must be a string'),
  v.minLength(1, 'clientId must not be empty'),
  v.maxLength(64, 'clientId is at most 64 characters'),
  wellFormed('clientId'),
  // timer-N is the clientId of the timer announcement with id N (disappearing.ts):
  // a send holding one would collide with it (or answer as a repeat of it).
  v.check((s: string) => !/^timer-\d+$/.test(s), 'clientId timer-<number> is reserved for timer announcements; choose another.'),
);

/** A message's text, as `send` and `edit` take it. */
export const text = v.pipe(
  v.string('text must be a string'),
  v.maxLength(MAX_TEXT * 2 + 1024, `A message is at most ${MAX_TEXT} characters.`),
  v.trim(),
  v.check((s) => s.length > 0, 'A message cannot be empty.'),
  v.check((s) => codePoints(s) <= MAX_TEXT, `A message is at most ${MAX_TEXT} characters.`),
  wellFormed('The message'),
  v.check(hasVisibleCharacter, 'A message needs at least one visible character, not only spaces or invisible ones.'),
  v.check(
    (s) => mostMarksOnOneCharacter(s) <= MAX_MARKS_PER_CHARACTER,
    `A character may carry at most ${MAX_MARKS_PER_CHARACTER} accent marks; this message stacks more on one.`,
  ),
);

const password = v.pipe(
  v.string('password must be a string'),
  v.check((s) => codePoints(s) >= 8 && codePoints(s) <= 256, 'A password is 8 to 256 characters.'),
  v.check((s) => s.isWellFormed(), 'The password contains characters that cannot be used.'),
  // Eight spaces or eight zero-width characters pass a length rule and are
  // guessed first; a passphrase with spaces between its words is fine.
  v.check((s) => visibleCharacters(s) >= 8, 'A password needs at least 8 visible characters; spaces and invisible characters do not count.'),
);

/** A new username: the login and verify ops take any existing one. */
const newUsername = v.pipe(
  v.string('username must be a string'),
  v.regex(/^[A-Za-z0-9_.-]{3,32}$/, 'A username is 3 to 32 characters of a-z, 0-9, _ . and -.'),
  v.rawCheck(({ dataset, addIssue }) => {
    // only a well-formed name is worth a second reason
    const problem = dataset.typed && !dataset.issues ? usernameProblem(dataset.value) : undefined;
    if (problem) addIssue({ message: problem });
  }),
);

const email = v.pipe(
  v.string('email must be a string'),
  v.trim(),
  v.maxLength(254, 'That email address is too long.'),
  v.email('That is not an email address.'),
);

/** *(E18)* an account by its username or its email address */
const accountLogin = v.pipe(
  v.string('login must be a string'),
  v.trim(),
  v.maxLength(254, 'That username or email address is too long.'),
  v.check((s) => (s.includes('@') ? v.is(email, s) : USERNAME.test(s.toLowerCase())), 'Give your username or your email address.'),
);

/** *(E18)* a new password, with the rules sign-up applies */
export const newPassword = password;
/** *(E18)* an email address, as sign-up takes it */
export const emailAddress = email;

export const AuthOp = v.variant(
  'op',
  [
    v.object({
      op: v.literal('register'),
      // kept as typed: it becomes the display name; the core lower-cases the username
      username: newUsername,
      email,
      password,
      invite: v.optional(v.pipe(v.string('invite must be a string'), v.maxLength(256))),
    }),
    v.object({
      op: v.literal('verify'),
      username,
      code: v.pipe(v.string('code must be a string'), v.regex(/^\d{6}$/, 'The code is the 6 digits from the email.')),
    }),
    v.object({
      op: v.literal('login'),
      username,
      password: v.pipe(v.string('password must be a string'), v.maxLength(1024)),
    }),
    v.object({
      op: v.literal('resume'),
      token: v.pipe(v.string('token must be a string'), v.minLength(1), v.maxLength(256)),
    }),
    v.object({ op: v.literal('logout') }),
    // account recovery (E18): a code by email, then a new password with it
    v.object({ op: v.literal('forgot'), login: accountLogin }),
    v.object({
      op: v.literal('reset'),
      login: accountLogin,
      code: v.pipe(v.string('code must be a string'), v.regex(/^\d{6}$/, 'The code is the 6 digits from the email.')),
      password,
    }),
  ],
  'op must be register, verify, login, resume, logout, forgot or reset',
);
export type AuthOp = v.InferOutput<typeof AuthOp>;

export const JoinFrame = v.object({ action: v.literal('join'), id: requestId, room });
export type JoinFrame = v.InferOutput<typeof JoinFrame>;

export const LeaveFrame = v.object({ action: v.literal('leave'), id: requestId, room });
export type LeaveFrame = v.InferOutput<typeof LeaveFrame>;

/** A shared file's id (E17): 128 random bits, base64url. */
export const FILE_ID = /^[A-Za-z0-9_-]{22}$/;
/** Files one message may carry. */
export const MAX_FILES_PER_MESSAGE = 10;

/** `files` *(E17)*: ids of uploaded files, each sent once, in the order shown. */
export const fileIds = v.pipe(
  v.array(v.pipe(v.string('a file id must be a string'), v.regex(FILE_ID, 'That is not a file id.')), 'files must be a list of file ids'),
  v.minLength(1, 'files must not be empty'),
  v.maxLength(MAX_FILES_PER_MESSAGE, `A message carries at most ${MAX_FILES_PER_MESSAGE} files.`),
  v.check((ids) => new Set(ids).size === ids.length, 'files lists a file twice.'),
);

/**
 * `replyTo` *(conversations)*: the id of a message of the same room this one
 * answers. `files` *(E17)*: with files, the text is a caption and may be empty.
 */
export const SendFrame = v.pipe(
  v.object({
    action: v.literal('send'),
    id: requestId,
    room,
    text: v.optional(v.string('text must be a string')),
    clientId,
    replyTo: messageId('replyTo'),
    files: v.optional(fileIds),
  }),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const frame = dataset.value;
    if (frame.files && (frame.text ?? '').trim() === '') return { ...frame, text: '' };
    if (frame.text === undefined) {
      addIssue({ message: 'text is required.' });
      return NEVER;
    }
    const parsed = v.safeParse(text, frame.text);
    if (!parsed.success) {
      addIssue({ message: parsed.issues[0].message });
      return NEVER;
    }
    return { ...frame, text: parsed.output };
  }),
);
export type SendFrame = v.InferOutput<typeof SendFrame>;

export const HistoryFrame = v.object({
  action: v.literal('history'),
  id: requestId,
  room,
  before: messageId('before'),
  after: messageId('after'),
  /** *(conversations)* a page centred on this message id */
  around: messageId('around'),
  limit: pageLimit(100),
});
export type HistoryFrame = v.InferOutput<typeof HistoryFrame>;

/** Every frame shares this envelope. */
export const Envelope = v.object({
  action: v.pipe(v.string('action must be a string'), v.maxLength(64)),
  id: requestId,
});

export type { RoomName };
export const ACTIONS = ['auth', 'join', 'send', 'history', 'leave'] as const;

/** A reply's view of the message it answers: a snippet, or that it is gone. */
export type ReplyTo =
  | { id: string; from: string; text: string; deleted?: undefined; expiresAt?: string }
  | { id: string; deleted: true; expired?: true };

/** One emoji's reactions on a message: `users` are the first 20 who reacted, in order. */
export interface Reaction {
  emoji: string;
  count: number;
  users: string[];
}

/**
 * A MESSAGE as PROTOCOL.md spells it. The optional fields are the conversation
 * extension's; a MESSAGE is always a message's whole state, so a field that is
 * absent is empty (no reactions, not edited, ...).
 */
export interface Message {
  id: string;
  room: string;
  from: string;
  text: string;
  at: string;
  clientId: string;
  /** the room's change sequence at this message's latest change */
  seq?: string;
  editedAt?: string;
  /** a tombstone: `text` is "" and nothing else is shown */
  deleted?: true;
  replyTo?: ReplyTo;
  reactions?: Reaction[];
  mentions?: string[];
  mentionsHere?: true;
  /** *(disappearing messages)* when every client hides it and the server deletes it */
  expiresAt?: string;
  /** *(disappearing messages)* an announcement: the room's new timer in seconds, 0 for off */
  timer?: number;
  /** *(E17)* the files it carries, in order */
  files?: FileInfo[];
}

/** A file a MESSAGE carries (E17): the bytes are fetched with `download`. */
export interface FileInfo {
  id: string;
  name: string;
  type: string;
  size: number;
  /** images: pixels, so the space is kept before the preview loads */
  width?: number;
  height?: number;
  /** an image with a small WebP preview */
  preview?: true;
}

/** A ROOM in `authed` and `joined`. */
export interface RoomInfo {
  id: string;
  kind: 'channel' | 'dm';
  name: string;
  lastMessageId: string | null;
  /** read state (reads.ts): every message up to this id is read (null: none yet) */
  readThrough?: string | null;
  /** messages by others after readThrough, at most 999 */
  unread?: number;
  /** of those, the ones that mention me */
  mentions?: number;
  /** DMs: the other person's readThrough, when both share read receipts */
  seenThrough?: string | null;
  /** *(disappearing messages)* the room's timer in seconds; absent when off */
  disappearAfter?: number;
  /** *(disappearing messages)* channels: who created it (who may set its timer); absent when unknown */
  createdBy?: string;
}

/** The first issue's message, a sentence a person can act on. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return 'The request is not valid.';
  const path = first.path?.map((p) => String(p.key)).join('.');
  if (first.kind === 'schema' && first.received === 'undefined' && path) return `${path} is required.`;
  return first.message.endsWith('.') ? first.message : `${first.message}.`;
}

/** `{"action":"tour_seen","id"?}` (docs/PROTOCOL.md), routed through `$default`. */
export const TourSeenFrame = v.object({ action: v.literal('tour_seen'), id: requestId });
export type TourSeenFrame = v.InferOutput<typeof TourSeenFrame>;
