// Channel directory and moderation in the terminal (E21): `/channels [QUERY]`,
// `/topic`, `/rename`, `/private`, `/public`, `/invite`, `/kick`, `/ban`,
// `/unban`, `/bans`, `/mod`, `/unmod`, `/remove N`. The frames they send and the
// lines the replies and events print, as pure functions.
import { safe } from './conversation.js';

type Frame = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const ROOM_COMMANDS = ['/channels', '/topic', '/rename', '/private', '/public', '/invite', '/kick', '/ban', '/unban', '/bans', '/mod', '/unmod'];

export const ROOMS_HELP = `  /channels [QUERY]        public channels (name, members, topic); /join one
  /topic [TEXT]            set this channel's topic (empty: clear it)
  /rename NAME             rename this channel            } owner and
  /private, /public        unlist it (invitation only)    } moderators
  /kick USER, /ban USER    remove someone (/ban: for good } only
  /unban USER, /bans       until /unban); who is banned   }
  /remove N                remove anyone's message N (moderators)
  /mod USER, /unmod USER   make USER a moderator or not (the owner)
  /invite USER             add USER to this channel (any member)`;

/** The frame for one of ROOM_COMMANDS in `room`, or how to use it. */
export function roomCommandFrame(cmd: string, rest: string, room: string): { frame: Frame } | { usage: string } {
  const arg = rest.trim();
  const user = arg.split(/\s+/)[0]?.replace(/^@/, '') ?? '';
  const needUser = (action: string, extra: Frame = {}) => (user ? { frame: { action, room, user, ...extra } } : { usage: `usage: ${cmd} USER` });
  switch (cmd) {
    case '/channels':
      return { frame: { action: 'directory', ...(arg ? { query: arg } : {}) } };
    case '/topic':
      return { frame: { action: 'update_room', room, topic: arg } };
    case '/rename':
      return arg ? { frame: { action: 'update_room', room, name: arg.replace(/^#/, '') } } : { usage: 'usage: /rename NAME' };
    case '/private':
      return { frame: { action: 'update_room', room, private: true } };
    case '/public':
      return { frame: { action: 'update_room', room, private: false } };
    case '/invite':
      return needUser('invite');
    case '/kick':
      return needUser('kick');
    case '/ban':
      return needUser('ban');
    case '/unban':
      return needUser('unban');
    case '/bans':
      return { frame: { action: 'bans', room } };
    case '/mod':
      return needUser('set_role', { role: 'moderator' });
    case '/unmod':
      return needUser('set_role', { role: 'member' });
    default:
      return { usage: `unknown command ${cmd}` };
  }
}

interface DirectoryChannel {
  id: string;
  name: string;
  topic?: string;
  memberCount: number;
  joined?: boolean;
}

/** The directory as lines: `#name (12 members, joined): topic`. */
export function directoryLines(channels: DirectoryChannel[], query: string, more: boolean): string {
  if (!channels.length) return query ? `* no public channel matches "${safe(query)}"` : '* no public channels yet';
  const lines = channels.map((c) => {
    const count = `${c.memberCount} ${c.memberCount === 1 ? 'member' : 'members'}${c.joined ? ', joined' : ''}`;
    return `#${safe(c.name)} (${count})${c.topic ? `: ${safe(c.topic)}` : ''}`;
  });
  lines.push(more ? '* more match: narrow the search' : '* /join NAME to join one');
  return lines.join('\n');
}

/** A line for the reply to a room command (or an E21 event), or undefined when it is not one. */
export function roomLine(f: Frame, me: string | undefined, label: (room: string) => string): string | undefined {
  const who = (u: unknown) => (u === me ? 'you' : safe(String(u)));
  switch (f.type) {
    case 'room_updated': {
      const r = f.room as { id: string; name: string; topic: string; private: boolean };
      const where = `#${safe(r.name)}`;
      return `* ${who(f.by)} updated ${where}: ${r.private ? 'private (invitation only)' : 'public'}; topic: ${r.topic ? safe(r.topic) : '(none)'}`;
    }
    case 'role_changed':
      return `* ${who(f.by)} made ${who(f.user)} ${f.role === 'moderator' ? 'a moderator' : 'a member'} of ${label(f.room)}`;
    case 'kicked':
      return `* removed ${safe(f.user)} from ${label(f.room)}`;
    case 'banned':
      return `* banned ${safe(f.user)} from ${label(f.room)}`;
    case 'unbanned':
      return `* ${safe(f.user)} may join ${label(f.room)} again`;
    case 'invited':
      return `* added ${safe(f.user)} to ${label(f.room)}`;
    case 'bans': {
      const bans = f.bans as { user: string; by?: string; at: string }[];
      if (!bans.length) return `* nobody is banned from ${label(f.room)}`;
      return bans.map((b) => `banned: ${safe(b.user)}${b.by ? ` by ${safe(b.by)}` : ''} on ${b.at.slice(0, 10)}`).join('\n');
    }
    case 'removed_from_room':
      return `* ${who(f.by)} ${f.reason === 'banned' ? 'banned you from' : 'removed you from'} ${label(f.room)}`;
    case 'added_to_room':
      return `* ${who(f.by)} added you to ${label(f.room.id)}${f.room.private ? ' (private)' : ''}; /join ${safe(f.room.name)} to go there`;
    default:
      return undefined;
  }
}
