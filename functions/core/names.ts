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

// Names that would read as the service or its staff speaking, or as a mention of
// everyone. Only new sign-ups are checked: an account that already has such a
// name keeps it. Names are compared by their skeleton (see `skeletons`), so
// "a.d.m.i.n", "adm1n", "4dmin", "aadmin" and "admin_1" are all "admin".
const RESERVED_USERNAMES = [
  'admin',
  'administrator',
  'sysadmin',
  'root',
  'system',
  'moderator',
  'mod',
  'staff',
  'support',
  'help',
  'security',
  'official',
  'wildwhispers',
  'wildwhisper',
  'owner',
  'server',
  'operator',
  'hostmaster',
  'postmaster',
  'webmaster',
  'abuse',
  'noreply',
  'everyone',
  'here',
  'channel',
  'all',
];

// The strongest words are refused also at the start or the end of a name
// ("admin-team", "the_admin", "sysadmin", "w1ldwhispers_official"). Only long
// words: a short one as a prefix would refuse ordinary names ("root" in
// "rootbeer", "staff" in "stafford", "mod" in "modesto"), which is why those
// match only whole. "system" only as a prefix, else "ecosystem" would go; that
// refuses "systemd-fan" too, an acceptable loss for a name that reads as the
// system speaking. Words inside a name ("badminton") are never matched.
const RESERVED_AFFIX = ['admin', 'moderator', 'support', 'official', 'security', 'wildwhisper'];
const RESERVED_PREFIX = ['system'];

// Digits that pass for letters; 1 reads as either i or l, so both are tried.
const LOOK_ALIKE: Record<string, string> = { '0': 'o', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b' };

/**
 * The forms a name is compared by: lower-cased, separators removed, with and
 * without trailing digits, look-alike digits read as letters (1 as i and as l),
 * and repeated letters collapsed ("adminn", "aadmin").
 */
export function skeletons(name: string): string[] {
  const bare = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const out = new Set<string>();
  for (const base of [bare, bare.replace(/[0-9]+$/, '')]) {
    for (const one of ['i', 'l']) {
      const letters = base.replace(/[0-9]/g, (d) => (d === '1' ? one : (LOOK_ALIKE[d] ?? d)));
      out.add(letters.replace(/(.)\1+/g, '$1'));
    }
  }
  out.delete('');
  return [...out];
}

const skeletonOf = (word: string) => skeletons(word)[0]!;
const RESERVED_WHOLE = new Set(RESERVED_USERNAMES.map(skeletonOf));
const AFFIXES = RESERVED_AFFIX.map(skeletonOf);
const PREFIXES = [...AFFIXES, ...RESERVED_PREFIX.map(skeletonOf)];

function isReserved(name: string): boolean {
  return skeletons(name).some(
    (form) => RESERVED_WHOLE.has(form) || PREFIXES.some((w) => form.startsWith(w)) || AFFIXES.some((w) => form.endsWith(w)),
  );
}

/** Why a new username cannot be had, or undefined when it can. */
export function usernameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (!/[a-z0-9]/.test(lower)) return 'A username needs at least one letter or digit.';
  if (isReserved(lower)) return 'That username is reserved; please choose another.';
  return undefined;
}

// Characters that show nothing: white space, controls and format characters
// (zero-width spaces and joiners, bidi marks, BOM), unassigned and private code
// points, default-ignorables (Hangul fillers, variation selectors) and the blank
// braille pattern, which renders as a space.
const INVISIBLE = /[\p{White_Space}\p{C}\p{Default_Ignorable_Code_Point}\u2800]/u;

/** Code points that show something: a password needs 8 of them, spaces aside. */
export function visibleCharacters(text: string): number {
  let n = 0;
  for (const ch of text) if (!INVISIBLE.test(ch)) n++;
  return n;
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

/**
 * The network a source address speaks for, as a budget key: an IPv4 address as
 * it is (an IPv4-mapped IPv6 address too), an IPv6 address by its /64, since one
 * host is routinely given a whole /64 and could otherwise rotate through it.
 */
export function networkOf(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const address = ip.trim().toLowerCase().split('%')[0]!;
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (v4) return v4[1]!;
  const halves = address.split('::');
  if (!address.includes(':') || halves.length > 2) return address.slice(0, 64);
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  // an embedded IPv4 tail (::ffff:1.2.3.4 aside) fills two groups of the low half
  const tailGroups = tail.length + (tail.at(-1)?.includes('.') ? 1 : 0);
  const full = halves.length === 2 ? [...head, ...Array<string>(Math.max(0, 8 - head.length - tailGroups)).fill('0'), ...tail] : head;
  const prefix = full.slice(0, 4).map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16).toString(16) : g));
  return `${prefix.join(':')}::/64`;
}
