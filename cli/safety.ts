// Blocks and reports from the terminal (E22), without any input or output:
// `/block USER`, `/unblock USER`, `/blocks`, `/report N REASON`; the blocked
// people kept from `authed` and the `blocks` event; and how a blocked person's
// channel messages are shown (hidden behind a marked line) and their presence
// (not at all). cli/chat.ts feeds it; test/cli/safety.test.ts drives it.
import type { ConversationView, Message, Parsed } from './conversation.js';
import { safe } from './conversation.js';

/** The people I blocked, as the server last said. */
export class BlockList {
  private names = new Set<string>();

  /** From `authed.blocks` or a `blocks` frame; anything else is ignored. */
  set(blocks: unknown): void {
    if (Array.isArray(blocks)) this.names = new Set(blocks.filter((b): b is string => typeof b === 'string'));
  }

  has(user: unknown): boolean {
    return typeof user === 'string' && this.names.has(user);
  }

  list(): string[] {
    return [...this.names].sort();
  }

  /** `* you have blocked carol, dave` */
  describe(): string {
    const names = this.list();
    return names.length ? `* you have blocked ${names.map(safe).join(', ')}; /unblock USER to undo` : '* you have blocked nobody';
  }

  /**
   * The message as this terminal shows it: a blocked person's text, replies,
   * files and reactions are hidden behind a marked line (their number still
   * names it, for /report). DMs with them keep their history as it was.
   */
  mask(m: Message): Message {
    if (!this.has(m.from) || m.room.startsWith('dm:') || m.deleted || m.timer !== undefined) return m;
    return { ...m, text: '(message from a blocked person, hidden)', replyTo: undefined, files: undefined, reactions: undefined, mentions: undefined, mentionsHere: undefined };
  }
}

/** A username as the commands take it. */
const USER = /^@?([A-Za-z0-9_.-]{3,32})$/;

/**
 * `/block USER`, `/unblock USER`, `/blocks`, `/report N REASON`: the frame to
 * send, a local error or the usage line; undefined for other commands.
 */
export function parseSafetyCommand(view: ConversationView, room: string, cmd: string, rest: string): Parsed | undefined {
  const words = rest.trim().split(/\s+/).filter(Boolean);
  switch (cmd) {
    case '/block':
    case '/unblock': {
      const user = words.length === 1 ? USER.exec(words[0]!)?.[1] : undefined;
      if (!user) return { usage: `usage: ${cmd} USER` };
      return { frame: { action: cmd.slice(1), user: user.toLowerCase() } };
    }
    case '/blocks':
      if (words.length) return { usage: 'usage: /blocks' };
      return { frame: { action: 'blocks' } };
    case '/report': {
      const reason = rest.trim().replace(/^\S+\s*/, '');
      if (words.length < 2 || !/^\[?\d{1,9}\]?$/.test(words[0]!)) return { usage: 'usage: /report N REASON' };
      const target = view.resolve(room, words[0], 'any');
      if ('error' in target) return target;
      return { frame: { action: 'report', room, message: target.id, reason }, n: target.n };
    }
  }
  return undefined;
}

/** What a reply to one of these commands (or an event) says, or undefined when it is an error. */
export function describeSafetyReply(f: { type: string; [k: string]: unknown }, blocks: BlockList, n?: number): string | undefined {
  switch (f.type) {
    case 'blocks':
      blocks.set(f.blocks);
      return blocks.describe();
    case 'reported':
      return `* reported [${n ?? '?'}] to the server's administrators; thank you`;
    case 'suspended':
      return `! ${safe(String(f.message ?? 'This account is suspended.'))}`;
  }
  return undefined;
}
