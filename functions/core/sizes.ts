// How big a server frame may get. API Gateway refuses to post a message over
// 128 KB (PostToConnection fails, and the client never hears of it), so every
// reply that lists stored things (history, members, rooms) is paged by bytes,
// never by count alone: no amount of stored data can push a frame past the limit.

/** API Gateway's limit on one message to a client (PostToConnection's Data). */
export const MAX_SERVER_FRAME_BYTES = 128 * 1024;

/**
 * What a reply's list may take: the limit less room for the envelope (type, re,
 * the room, a token), with a wide margin.
 */
export const REPLY_BUDGET_BYTES = 96 * 1024;

/** Of that, what `joined` gives its member list; its messages get the rest. */
export const JOIN_MEMBERS_BUDGET_BYTES = 32 * 1024;

/** Bytes of `value` as JSON text in UTF-8, as it goes on the wire. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/**
 * The longest prefix of `items` whose JSON array fits in `budget` bytes, with at
 * least `min` items whatever their size (so a page always moves forward; one
 * message is at most about 35 KB as JSON with its reactions, mentions and reply
 * snippet, and 12 KB more with ten files of 255-character names: far below the
 * limit).
 */
export function fitPrefix<T>(items: readonly T[], budget: number, min = 0): { taken: T[]; bytes: number } {
  let bytes = 2; // []
  let n = 0;
  for (const item of items) {
    const size = jsonBytes(item) + (n > 0 ? 1 : 0); // a comma between items
    if (n >= min && bytes + size > budget) break;
    bytes += size;
    n++;
  }
  return { taken: items.slice(0, n), bytes };
}
