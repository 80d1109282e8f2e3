// The wire protocol as the browser sees it (docs/PROTOCOL.md).

// The server's own definitions; a type-only import, erased from the bundle.
import type { Message as BaseMessage, RoomInfo as BaseRoomInfo } from '../../functions/core/protocol.js';
export type { FileInfo } from '../../functions/core/protocol.js';

/** What a reply shows of the message it answers: who and the first line, or that it is gone. */
export type ReplyRef =
  | { id: string; from: string; text: string; deleted?: false; expiresAt?: string }
  | { id: string; deleted: true; expired?: boolean };

export interface Reaction {
  emoji: string;
  count: number;
  /** at most 20 names, in the order they reacted */
  users: string[];
}

/**
 * The conversation fields (extension E-conv), all optional: a server without
 * them sends none, and the client then behaves as before. Declared here rather
 * than taken from the server's type so both can grow without fighting.
 */
export interface ConversationFields {
  /** the room's change sequence at this message's latest change */
  seq?: string;
  editedAt?: string;
  /** a tombstone: `text` is "" */
  deleted?: boolean;
  replyTo?: ReplyRef;
  reactions?: Reaction[];
  /** usernames of the members mentioned */
  mentions?: string[];
  mentionsHere?: boolean;
  /** disappearing messages: when it goes, by the server's clock */
  expiresAt?: string;
  /** an announcement of the room's timer: its new value in seconds, 0 for off */
  timer?: number;
}

type ConversationKey = keyof ConversationFields;
export type Message = Omit<BaseMessage, ConversationKey> & ConversationFields;

export type RoomInfo = Omit<BaseRoomInfo, 'readThrough' | 'unread' | 'mentions' | 'seenThrough'> & {
  /** the newest message id this person has read (server-side read state), null for none yet */
  readThrough?: string | null;
  /** messages by others after readThrough (capped at 999) */
  unread?: number;
  /** of those, the ones that mention this person */
  mentions?: number;
  /** in a DM with receipts on both sides: the other person's readThrough */
  seenThrough?: string | null;
};

export interface User {
  username: string;
  displayName: string;
  /** this account has finished or skipped the welcome tour (docs/PROTOCOL.md; absent from older servers) */
  tourSeen?: boolean;
  /** read receipts on (absent from servers without read state) */
  readReceipts?: boolean;
  /** *(E19)* two-factor authentication is on for this account (absent from older servers) */
  twoFactor?: boolean;
  /** *(E24)* email notices (absent from older servers) */
  notify?: NotifyLevel;
  notifyQuote?: boolean;
}

/** *(E24)* what email notices are about */
export type NotifyLevel = 'off' | 'mentions' | 'all';

export interface Member {
  username: string;
  online: boolean;
  /** *(E25)* online with every tab idle or hidden (absent: not away, or an older server) */
  away?: boolean;
}

/** Any server-to-client frame. */
export interface ServerFrame {
  type: string;
  re?: string;
  [field: string]: unknown;
}

/** The server answered with an `error` frame. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The socket closed (or never opened) before the reply came. */
export class ConnectionLost extends Error {
  override readonly name = 'ConnectionLost';
  constructor(message = 'Not connected. Your message will go out when the connection is back.') {
    super(message);
  }
}

/** One `search` result (extension E15): the message, and where its text matches ([start, end) in UTF-16 units). */
export interface SearchResult {
  message: Message;
  highlights: [number, number][];
}

/** A page of results; `next` asks for the page after it (null: the last). */
export interface SearchPage {
  results: SearchResult[];
  next: string | null;
}
