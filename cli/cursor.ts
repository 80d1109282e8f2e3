// Gap-free cursors per room (docs/DELIVERY.md): the point up to which this client
// holds everything. Two of them run side by side in the terminal client: message
// ids (chained by a live message's `prev`) and change sequence numbers (chained by
// `prevSeq` on `message` and `changed`). A live event moves the cursor only when it
// chains on from it; one that overtook another in flight is held back until the
// one before it lands. Catching up from "the highest point seen" instead could skip
// whatever was overtaken.

/** A decimal id or seq; `null` is "before the first" (an empty room). */
export type Point = string | null;

/** Held-back links per room: a broken chain must not grow without end. */
const HELD_PER_ROOM = 1000;

/** Compares two points as the integers they are (ids and seqs may outgrow a double). */
export function after(a: Point, b: Point): boolean {
  if (a === null) return false;
  if (b === null) return true;
  return BigInt(a) > BigInt(b);
}

export const isPoint = (v: unknown): v is string => typeof v === 'string' && /^\d{1,20}$/.test(v);
/** A room's seq as replies give it: `null` before the room's first change. */
export const isSeq = (v: unknown): v is Point => v === null || isPoint(v);

export class ChainCursors {
  private readonly at = new Map<string, Point>();
  private readonly held = new Map<string, Map<Point, string>>();

  has(room: string): boolean {
    return this.at.has(room);
  }

  get(room: string): Point | undefined {
    return this.at.get(room);
  }

  rooms(): string[] {
    return [...this.at.keys()];
  }

  /** From a reply that holds everything up to `point` (a page, `joined`, a saved state). */
  set(room: string, point: Point): void {
    this.at.set(room, point);
    this.follow(room);
  }

  /** Like `set`, but never backwards: a slower reply must not undo a later one. */
  raise(room: string, point: Point): void {
    const now = this.at.get(room);
    if (now === undefined || after(point, now)) this.set(room, point);
  }

  delete(room: string): void {
    this.at.delete(room);
    this.held.delete(room);
  }

  /** A live event `next` whose predecessor is `prev`. Rooms without a cursor are left alone. */
  advance(room: string, prev: Point, next: string): void {
    if (!this.at.has(room)) return;
    let held = this.held.get(room);
    if (!held) this.held.set(room, (held = new Map()));
    held.set(prev, next);
    if (held.size > HELD_PER_ROOM) held.delete(held.keys().next().value as Point);
    this.follow(room);
  }

  /** Moves the cursor along the chain of held-back events as far as it goes. */
  private follow(room: string): void {
    const held = this.held.get(room);
    if (!held) return;
    for (let next = held.get(this.at.get(room)!); next !== undefined; next = held.get(this.at.get(room)!)) {
      held.delete(this.at.get(room)!);
      this.at.set(room, next);
    }
    // Links from behind the cursor can never be followed now.
    for (const prev of held.keys()) if (!after(prev, this.at.get(room)!) && prev !== this.at.get(room)) held.delete(prev);
  }
}
