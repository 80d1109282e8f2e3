// Names and limits from PROTOCOL.md, as pure functions shared by validation and
// the rooms code.

export const USERNAME = /^[a-z0-9_.-]{3,32}$/;
export const CHANNEL = /^[a-z0-9_-]{1,32}$/;
export const MESSAGE_ID = /^[1-9][0-9]{0,17}$/;
export const MAX_TEXT = 4000;
export const MAX_FRAME_BYTES = 32 * 1024;
export const GENERAL = 'general';

// C0 controls other than tab, line feed and carriage return, and DEL: they have no
// place in a chat line, and PostgreSQL text cannot hold NUL at all.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export function hasForbiddenControls(text: string): boolean {
  return CONTROL.test(text);
}

/** Combining marks one character may carry: real scripts need few (Vietnamese 2,
 * Devanagari and Thai 2 or 3, Tibetan stacks 4 or so, a keycap emoji 2); more is
 * a "Zalgo" tower drawn over the lines around it. */
export const MAX_MARKS_PER_CHARACTER = 8;

// Nothing a reader can see: white space, controls, format characters (zero
// widths, bidi controls, tags), marks with no base, default-ignorable code points
// (variation selectors, Hangul fillers) and the blank braille pattern.
const UNSEEN = /[\p{White_Space}\p{Cc}\p{Cf}\p{M}\p{Default_Ignorable_Code_Point}\u2800]/u;
const MARK = /\p{M}/u;
// Between marks these neither end a stack nor show anything of their own.
const SEE_THROUGH = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

/** Whether the text has at least one character that shows. */
export function hasVisibleCharacter(text: string): boolean {
  for (const ch of text) if (!UNSEEN.test(ch)) return true;
  return false;
}

/**
 * The most combining marks stacked on one character. Zero-width and other
 * format characters between marks do not start a new stack, so they cannot be
 * used to build one tower out of many short ones.
 */
export function mostMarksOnOneCharacter(text: string): number {
  let most = 0;
  let run = 0;
  for (const ch of text) {
    if (MARK.test(ch)) most = Math.max(most, ++run);
    else if (!SEE_THROUGH.test(ch)) run = 0;
  }
  return most;
}

/** Length in Unicode code points, the unit of the 4000 limit. */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export type RoomKind = 'channel' | 'dm';

export interface RoomName {
  id: string;
  kind: RoomKind;
  /** for a DM, the two usernames, sorted */
  users?: [string, string];
}

/** The DM room of two users: `dm:` + the two usernames sorted, joined by `:`. */
export function dmRoomId(a: string, b: string): string {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()].sort();
  return `dm:${x}:${y}`;
}

/**
 * Parses a room id as a client wrote it. Channels and usernames compare
 * lower-cased, and a DM's two names may come in either order; the result is the
 * canonical id. Returns undefined for anything that is not a room name.
 */
export function parseRoom(raw: string): RoomName | undefined {
  const name = raw.toLowerCase();
  if (CHANNEL.test(name)) return { id: name, kind: 'channel' };
  const parts = name.split(':');
  if (parts.length !== 3 || parts[0] !== 'dm') return undefined;
  const [a, b] = [parts[1], parts[2]].sort() as [string, string];
  if (!USERNAME.test(a) || !USERNAME.test(b) || a === b) return undefined;
  return { id: `dm:${a}:${b}`, kind: 'dm', users: [a, b] };
}

/** The name a client shows for a room, from the point of view of `me`. */
export function roomDisplayName(room: RoomName, me: string): string {
  if (room.kind === 'channel' || !room.users) return room.id;
  return room.users[0] === me ? room.users[1] : room.users[0];
}

/** `a***e@example.com`: enough for a person to recognise their address. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  const local = email.slice(0, at);
  const shown = local.length <= 2 ? local[0] + '*' : local[0] + '***' + local[local.length - 1];
  return shown + email.slice(at);
}
