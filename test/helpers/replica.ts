// A client's copy of its rooms as the change feed keeps it (docs/DELIVERY.md):
// messages merged by id keeping the copy with the higher seq, replies' snippets
// derived from the originals it holds, and per room a change cursor that moves
// only along the seq/prevSeq chain of live events and to `through` of a
// `changes` page. Tests compare it with the server's own state.
import type { Frame } from '../../functions/core/ports.js';
import type { Message } from '../../functions/core/protocol.js';
import { replySnippet } from '../../functions/core/mentions.js';

const bigger = (a: string, b: string) => a.length > b.length || (a.length === b.length && a > b);

export class RoomReplica {
  readonly byId = new Map<string, Message>();
  /** every change up to here is held; null: the room had none; undefined: not started */
  cursor: string | null | undefined = undefined;
  /** live changes by the seq before them, waiting for the chain to reach them */
  private next = new Map<string, string>();

  merge(m: Message): void {
    const held = this.byId.get(m.id);
    if (held?.seq && m.seq && bigger(held.seq, m.seq)) return; // an older state of it
    this.byId.set(m.id, { ...m });
    // The reply snippets this message shows in others, and its own from an original held here.
    for (const other of this.byId.values()) if (other.replyTo?.id === m.id) this.derive(other);
    this.derive(this.byId.get(m.id)!);
  }

  private derive(reply: Message): void {
    const id = reply.replyTo?.id;
    const original = id === undefined ? undefined : this.byId.get(id);
    if (!original || reply.deleted) return;
    reply.replyTo = original.deleted ? { id: original.id, deleted: true } : { id: original.id, from: original.from, text: replySnippet(original.text) };
  }

  /** A live change: seq after prevSeq. */
  chain(seq: string, prevSeq: string | null): void {
    this.next.set(prevSeq ?? 'none', seq);
    this.advance();
  }

  /** A page that holds every change up to `through` (joined, history, changes). */
  holdsThrough(through: string | null): void {
    if (through !== null && (this.cursor == null || bigger(through, this.cursor))) this.cursor = through;
    else if (this.cursor === undefined) this.cursor = through;
    this.advance();
  }

  private advance(): void {
    if (this.cursor === undefined) return;
    for (;;) {
      const n = this.next.get(this.cursor ?? 'none');
      if (!n) return;
      this.next.delete(this.cursor ?? 'none');
      this.cursor = n;
    }
  }

  /** Held messages by id, tombstones included. */
  messages(): Message[] {
    return [...this.byId.values()].sort((a, b) => (a.id === b.id ? 0 : bigger(a.id, b.id) ? 1 : -1));
  }
}

export class Replica {
  readonly rooms = new Map<string, RoomReplica>();

  room(id: string): RoomReplica {
    let r = this.rooms.get(id);
    if (!r) this.rooms.set(id, (r = new RoomReplica()));
    return r;
  }

  /** `joined`, or the first `history` page of a room: its messages, and the cursor starts at its seq. */
  start(roomId: string, page: Frame): void {
    const r = this.room(roomId);
    for (const m of page.messages as Message[]) r.merge(m);
    if (r.cursor === undefined) r.holdsThrough((page.seq as string | null | undefined) ?? null);
  }

  /** Any frame from the server; those that carry messages are merged. */
  apply(f: Frame): void {
    switch (f.type) {
      case 'joined': {
        const room = (f.room as { id: string }).id;
        if (this.rooms.get(room)?.cursor === undefined) this.start(room, f);
        else for (const m of f.messages as Message[]) this.room(room).merge(m);
        return;
      }
      case 'message':
      case 'changed': {
        const m = f.message as Message;
        const r = this.room(m.room);
        r.merge(m);
        if (typeof f.seq === 'string') r.chain(f.seq, (f.prevSeq as string | null) ?? null);
        return;
      }
      case 'sent':
      case 'edited':
      case 'reacted': {
        const m = f.message as Message;
        this.room(m.room).merge(m);
        return;
      }
      case 'history':
        for (const m of f.messages as Message[]) this.room(f.room as string).merge(m);
        return;
      case 'changes': {
        const r = this.room(f.room as string);
        for (const m of f.messages as Message[]) r.merge(m);
        r.holdsThrough((f.through as string | null) ?? null);
        return;
      }
    }
  }

  /** Catches a room up with `changes` after its cursor, paging while there is more. */
  async catchUp(request: (frame: Record<string, unknown>) => Promise<Frame>, roomId: string, limit?: number): Promise<number> {
    const r = this.room(roomId);
    let pages = 0;
    for (;;) {
      const page = await request({ action: 'changes', room: roomId, ...(r.cursor ? { after: r.cursor } : {}), ...(limit ? { limit } : {}) });
      if (page.type !== 'changes') throw new Error(`changes failed: ${JSON.stringify(page)}`);
      this.apply(page);
      pages++;
      if (!page.hasMore) return pages;
    }
  }
}

/** The server's state of every message of a room, tombstones included, read from the feed's start. */
export async function serverState(request: (frame: Record<string, unknown>) => Promise<Frame>, roomId: string): Promise<Message[]> {
  const all = new Replica();
  await all.catchUp(request, roomId);
  return all.room(roomId).messages();
}
