// Reactions take exactly one emoji, as UTS #51 (Unicode emoji) builds one:
//
//   emoji      := flag | tag_flag | keycap | element (ZWJ element)*
//   flag       := Regional_Indicator Regional_Indicator   (an RGI flag: 🇫🇷, 🇪🇺)
//   tag_flag   := U+1F3F4 tag{1,} U+E007F                 (an RGI flag: 🏴󠁧󠁢󠁳󠁣󠁴󠁿)
//   keycap     := [0-9#*] VS16 U+20E3                      (1️⃣)
//   element    := pictograph [VS16 | skin-tone modifier]   (👍, ❤️, 👍🏽)
//
// where a pictograph is an Extended_Pictographic emoji character. Anything else is
// refused: text ("ok"), digits, two emoji side by side, a lone regional indicator
// or skin tone, stray joiners and selectors, unassigned code points, and
// anything over 32 bytes of UTF-8 (which keeps even the longest family or flag
// sequences, yet no run of several emoji glued by joiners).
//
// Emoji are stored fully qualified, so that one picture is one reaction: a
// text-style character gets VS16 (❤ becomes ❤️), a VS16 after a character that is
// already emoji-style is dropped, and a keycap gets its VS16. ZWJ sequences are
// checked by their structure, not against a fixed list, so an emoji newer than
// this server's Unicode data (a new family or profession) still works; flags are
// checked against the RGI list, since most pairs of letters are no flag at all.

const ZWJ = '\u200D';
const VS16 = '\uFE0F';
const KEYCAP = /^([0-9#*])\uFE0F?\u20E3$/u;
const REGIONAL_INDICATOR = /^\p{Regional_Indicator}$/u;
const EMOJI = /^\p{Emoji}$/u;
const PICTOGRAPH = /^\p{Extended_Pictographic}$/u;
const EMOJI_STYLE = /^\p{Emoji_Presentation}$/u;
const MODIFIER = /^\p{Emoji_Modifier}$/u;
const MODIFIER_BASE = /^\p{Emoji_Modifier_Base}$/u;
const BLACK_FLAG = '\u{1F3F4}';
const CANCEL_TAG = '\u{E007F}';
const TAG = /^[\u{E0020}-\u{E007E}]$/u;

/** A reaction is at most this many bytes of UTF-8. */
export const MAX_EMOJI_BYTES = 32;

/**
 * The RGI flag sets as Unicode properties of strings (the `v` flag, Node 20 and
 * later). Built at run time: TypeScript's own target need not know the flag.
 */
function rgi(property: string): RegExp | undefined {
  try {
    return new RegExp(`^\\p{${property}}$`, 'v');
  } catch {
    return undefined; // a runtime without them: the structure alone decides
  }
}
const RGI_FLAG = rgi('RGI_Emoji_Flag_Sequence');
const RGI_TAG_FLAG = rgi('RGI_Emoji_Tag_Sequence');

/** One element of a ZWJ sequence (or a whole emoji), fully qualified; undefined if it is none. */
function element(part: string): string | undefined {
  const points = [...part];
  if (points.length === 0 || points.length > 2) return undefined;
  const [base, after] = points as [string, string | undefined];
  // An emoji pictograph: not a digit, #, * (keycap bases), a regional indicator
  // or a skin tone on its own, and not an unassigned code point reserved for
  // future pictographs (which shows as a box today).
  if (!PICTOGRAPH.test(base) || !EMOJI.test(base)) return undefined;
  if (after === undefined || after === VS16) return EMOJI_STYLE.test(base) ? base : base + VS16;
  if (MODIFIER.test(after) && MODIFIER_BASE.test(base)) return base + after;
  return undefined;
}

function structure(s: string): string | undefined {
  const points = [...s];
  if (points.length === 2 && REGIONAL_INDICATOR.test(points[0]!) && REGIONAL_INDICATOR.test(points[1]!)) {
    return !RGI_FLAG || RGI_FLAG.test(s) ? s : undefined;
  }
  if (points[0] === BLACK_FLAG && points.length > 2 && points.at(-1) === CANCEL_TAG) {
    if (!points.slice(1, -1).every((p) => TAG.test(p))) return undefined;
    return !RGI_TAG_FLAG || RGI_TAG_FLAG.test(s) ? s : undefined;
  }
  const keycap = KEYCAP.exec(s);
  if (keycap) return keycap[1] + VS16 + '\u20E3';
  const elements: string[] = [];
  for (const part of s.split(ZWJ)) {
    const e = element(part);
    if (e === undefined) return undefined;
    elements.push(e);
  }
  return elements.join(ZWJ);
}

export type EmojiCheck = { emoji: string; problem?: undefined } | { emoji?: undefined; problem: string };

export const NOT_AN_EMOJI = 'That is not an emoji.';

/**
 * The reaction as stored (fully qualified), or the sentence that refuses it:
 * not exactly one emoji, or one longer than MAX_EMOJI_BYTES bytes (a kiss of
 * two people with two skin tones takes 35).
 */
export function checkEmoji(s: string): EmojiCheck {
  // Cheap bounds first: an emoji is a handful of code points.
  if (s.length === 0 || s.length > 32 || !s.isWellFormed()) return { problem: NOT_AN_EMOJI };
  const emoji = structure(s);
  if (emoji === undefined) return { problem: NOT_AN_EMOJI };
  if (Buffer.byteLength(emoji) > MAX_EMOJI_BYTES) return { problem: `A reaction is at most ${MAX_EMOJI_BYTES} bytes; that emoji takes ${Buffer.byteLength(emoji)}.` };
  return { emoji };
}

/** The reaction as stored, or undefined when `s` is not one emoji within the limit. */
export function normalizeEmoji(s: string): string | undefined {
  return checkEmoji(s).emoji;
}
