// A terminal client on the wire protocol: `npm run chat -- ws://host:8080/ws`.
// Interactive at a terminal; with piped input it runs one line at a time, each
// waiting for its reply, so it doubles as a scripting and smoke-test tool.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { parseRoom, roomDisplayName } from '../functions/core/names.js';

type Frame = { type: string; re?: string; [k: string]: any };
interface Message { id: string; room: string; from: string; text: string; at: string }
type Cursor = string | null;

const url = process.argv[2] ?? process.env.CHAT_URL ?? 'ws://localhost:8080/ws';
const interactive = process.stdin.isTTY === true;
const tokenFile = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'wild-whispers', `${new URL(url).host.replace(/[^\w.-]/g, '_')}.token`);

const HELP = `Commands:
  /register USER EMAIL [INVITE]
                           sign up (asks for a password; and for the invite code
                           when the server is invite-only), then /verify CODE
  /verify CODE             the 6-digit code from the email
  /login USER              log in (asks for a password)
  /logout                  end this session everywhere it is used
  /join ROOM               join or create a channel and switch to it
  /dm USER                 talk to USER directly
  /rooms                   your rooms
  /history [N]             the last N messages of this room (default 20)
  /who                     members of this room and who is online
  /leave [ROOM]            leave a channel
  /quit                    exit
Anything else is sent to the current room.`;

let ws: WebSocket | undefined;
let me: string | undefined;
let room = 'general';
let pendingUser: string | undefined;
let seq = 0;
let attempt = 0;
let quitting = false;
const myRooms = new Set<string>();
// Per room, the id up to which this client holds every message (docs/DELIVERY.md):
// advanced by a live message whose `prev` is the cursor, and by catch-up pages.
// Catching up from "the highest id seen" could skip a message overtaken in flight.
const cursors = new Map<string, Cursor>();
const heldBack = new Map<string, Map<Cursor, string>>(); // room -> prev -> id
const seen = new Set<string>();
const waiting = new Map<string, (f: Frame) => void>();

const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
/** The question on screen while a secret is typed (readline's prompt is not in use then). */
let secretPrompt: string | undefined;
const out = (line: string) => {
  if (interactive) {
    process.stdout.write('\r\x1b[K' + line + '\n');
    // A message arriving mid-password must not take the question off the screen.
    if (secretPrompt !== undefined) process.stdout.write(secretPrompt);
    else rl.prompt(true);
  } else console.log(line);
};
const time = (iso: string) => new Date(iso).toTimeString().slice(0, 5);
// Control characters from other people must not drive this terminal.
const safe = (s: string) => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '�');

/** `#general`, or `DM with erin` for `dm:bob:erin` when I am bob: never the internal id. */
function roomLabel(id: string): string {
  const parsed = parseRoom(id);
  if (parsed?.kind === 'dm') return `DM with ${safe(roomDisplayName(parsed, me ?? ''))}`;
  return `#${safe(parsed?.id ?? id)}`;
}

function show(m: Message) {
  if (seen.has(m.id)) return;
  seen.add(m.id);
  const where = m.room === room ? '' : `[${roomLabel(m.room)}] `;
  const head = `${where}${time(m.at)} ${safe(m.from)}: `;
  // Continuation lines start under the first line's text, so they read as the
  // same message rather than as lines of their own.
  const [first, ...rest] = safe(m.text).split('\n');
  out([head + first, ...rest.map((l) => ' '.repeat(head.length) + l)].join('\n'));
}

function advance(roomId: string, prev: Cursor, id: string) {
  if (!cursors.has(roomId)) return;
  if (!heldBack.has(roomId)) heldBack.set(roomId, new Map());
  heldBack.get(roomId)!.set(prev, id);
  follow(roomId);
}

/** Moves the cursor along the chain of live messages as far as it goes. */
function follow(roomId: string) {
  const held = heldBack.get(roomId);
  if (!held) return;
  for (let next = held.get(cursors.get(roomId)!); next !== undefined; next = held.get(cursors.get(roomId)!)) {
    held.delete(cursors.get(roomId)!);
    cursors.set(roomId, next);
  }
}

async function historyPage(roomId: string, cursor: { after?: string; before?: string }) {
  const page = await request({ action: 'history', room: roomId, limit: 100, ...cursor });
  return page.type === 'history' ? { messages: page.messages as Message[], hasMore: page.hasMore as boolean } : undefined;
}

async function catchUp(roomId: string) {
  const after = cursors.get(roomId);
  const got: Message[] = [];
  if (after) {
    // forward from the cursor
    for (let page = await historyPage(roomId, { after }); page; ) {
      got.push(...page.messages);
      const last = page.messages.at(-1);
      page = page.hasMore && last ? await historyPage(roomId, { after: last.id }) : undefined;
    }
  } else {
    // the room was empty when we came: everything, read backwards from the end
    for (let page = await historyPage(roomId, {}); page; ) {
      got.unshift(...page.messages);
      const first = page.messages[0];
      page = page.hasMore && first ? await historyPage(roomId, { before: first.id }) : undefined;
    }
  }
  for (const m of got) show(m);
  const last = got.at(-1);
  if (last) cursors.set(roomId, last.id);
  follow(roomId);
}

function request(frame: Record<string, unknown>): Promise<Frame> {
  const id = `c${++seq}`;
  return new Promise((resolve) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return resolve({ type: 'error', code: 'offline', message: 'Not connected.' });
    waiting.set(id, resolve);
    ws.send(JSON.stringify({ ...frame, id }));
  });
}

function describeError(f: Frame): string {
  return `! ${f.message} (${f.code})`;
}

/**
 * Seconds to wait after a `rate_limited` error: the frame's `retryAfter`
 * (docs/PROTOCOL.md), else the "in N s" of the sentence from a server
 * without it, else a few seconds.
 */
function retryAfterSeconds(f: Frame): number {
  if (typeof f.retryAfter === 'number' && Number.isFinite(f.retryAfter) && f.retryAfter > 0) return f.retryAfter;
  const said = /\bin (\d+) s\b/.exec(String(f.message ?? ''));
  return said ? Number(said[1]) : 5;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function saveToken(token: string | undefined) {
  if (token) {
    await mkdir(join(tokenFile, '..'), { recursive: true, mode: 0o700 });
    await writeFile(tokenFile, token, { mode: 0o600 });
  } else await rm(tokenFile, { force: true });
}

/** The rest of a list a reply could not hold: pages of `rooms` or `members` after the last item. */
async function rest<T>(first: T[], more: unknown, next: (last: T) => Record<string, unknown>, items: (page: Frame) => T[]): Promise<T[]> {
  const all = [...first];
  while (more === true && all.length > 0) {
    const page = await request(next(all.at(-1)!));
    if (page.type === 'error') break;
    all.push(...items(page));
    more = page.hasMore === true && items(page).length > 0;
  }
  return all;
}

async function onAuthed(f: Frame) {
  me = f.user.username;
  await saveToken(f.token);
  type Room = { id: string; lastMessageId: Cursor };
  const all = await rest<Room>(f.rooms, f.roomsMore, (last) => ({ action: 'rooms', after: last.id }), (p) => p.rooms);
  const rooms = all.map((r) => r.id);
  for (const r of rooms) myRooms.add(r);
  out(`* logged in as ${me}; rooms: ${rooms.map(roomLabel).join(', ')}`);
  const known = [...cursors.keys()];
  for (const r of all) if (!cursors.has(r.id)) cursors.set(r.id, r.lastMessageId);
  // After a reconnect, everything sent while away, in order, once.
  for (const r of known) await catchUp(r);
}

function onFrame(f: Frame) {
  if (f.re && waiting.has(f.re)) {
    waiting.get(f.re)!(f);
    waiting.delete(f.re);
    return;
  }
  switch (f.type) {
    case 'message':
      if (f.prev !== undefined) advance(f.message.room, f.prev, f.message.id);
      return show(f.message);
    case 'presence':
      if (f.online !== undefined) out(`* ${f.user} is ${f.online ? 'online' : 'offline'}`);
      if (f.member !== undefined && f.user === me) f.member ? myRooms.add(f.room) : myRooms.delete(f.room);
      if (f.member !== undefined) out(`* ${f.user} ${f.member ? 'joined' : 'left'} ${roomLabel(f.room)}`);
      return;
    case 'deleted':
      return out(`* ${f.user ?? f.from ?? 'someone'} deleted ${f.ids?.length ?? 'their'} messages in ${roomLabel(f.room)}`);
    case 'error':
      return out(describeError(f));
  }
}

function connect(): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    ws = socket;
    socket.on('message', (data) => {
      try {
        onFrame(JSON.parse(data.toString()));
      } catch {
        /* not a frame: ignore */
      }
    });
    socket.on('open', async () => {
      attempt = 0;
      out(`* connected to ${url}`);
      const token = await readFile(tokenFile, 'utf8').catch(() => undefined);
      if (token) {
        const r = await request({ action: 'auth', op: 'resume', token: token.trim() });
        if (r.type === 'authed') await onAuthed(r);
        else {
          await saveToken(undefined);
          out('* session ended: /login USER or /register USER EMAIL');
        }
      } else out('* /register USER EMAIL to sign up, /login USER to log in, /help for more');
      resolve();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const [, fn] of waiting) fn({ type: 'error', code: 'offline', message: 'Connection lost.' });
      waiting.clear();
      if (quitting) return;
      // Reconnect with exponential backoff and jitter, so a restarted server is not stampeded.
      const delay = Math.min(30_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
      out(`* disconnected; retrying in ${(delay / 1000).toFixed(1)} s`);
      setTimeout(() => connect().then(resolve), delay);
    });
  });
}

const lines = rl[Symbol.asyncIterator]();
async function nextLine(): Promise<string> {
  return ((await lines.next()).value as string | undefined) ?? '';
}

/** A question answered in plain sight (piped: the next line). */
async function ask(question: string): Promise<string> {
  if (!interactive) return nextLine();
  return new Promise((resolve) => rl.question(question, resolve));
}

/**
 * A question whose answer is not shown: the question stays on screen, the typing
 * does not (not even as stars). Readline is set aside meanwhile: its keypress
 * listener is detached, so it neither echoes nor redraws (a redraw would wipe the
 * question), and put back after Enter. Resolves undefined on Ctrl-C or Ctrl-D.
 */
async function askSecret(question: string): Promise<string | undefined> {
  if (!interactive) return nextLine();
  const input = process.stdin;
  const readlineKeys = input.listeners('keypress') as Array<(...args: unknown[]) => void>;
  for (const l of readlineKeys) input.removeListener('keypress', l);
  secretPrompt = question;
  process.stdout.write('\r\x1b[K' + question);
  return new Promise((resolve) => {
    let typed = '';
    const done = (answer: string | undefined, echo: string) => {
      input.removeListener('keypress', onKey);
      for (const l of readlineKeys) input.on('keypress', l);
      secretPrompt = undefined;
      process.stdout.write(echo + '\r\n');
      resolve(answer);
    };
    const onKey = (s: string | undefined, key: { name?: string; ctrl?: boolean; meta?: boolean; sequence?: string } = {}) => {
      if (key.name === 'return' || key.name === 'enter') return done(typed, '');
      if (key.ctrl && (key.name === 'c' || (key.name === 'd' && typed === ''))) return done(undefined, '^C');
      if (key.name === 'backspace') typed = [...typed].slice(0, -1).join('');
      else if (key.ctrl && key.name === 'u') typed = '';
      // Printable text only: arrows, function keys and other escapes are not part of a password.
      else if (s && !key.ctrl && !key.meta && !/[\u0000-\u001f\u007f]/.test(s)) typed += s;
    };
    input.on('keypress', onKey);
  });
}

async function command(line: string) {
  const [cmd, ...args] = line.trim().split(/\s+/);
  switch (cmd) {
    case '/help':
      return out(HELP);
    case '/quit':
    case '/exit':
      quitting = true;
      ws?.close();
      rl.close();
      return;
    case '/register': {
      const [username, email, invite] = args;
      if (!username || !email) return out('usage: /register USER EMAIL [INVITE]');
      const password = await askSecret('password (8 or more characters): ');
      if (password === undefined) return out('* cancelled');
      const register = (code?: string) => request({ action: 'auth', op: 'register', username, email, password, ...(code ? { invite: code } : {}) });
      let r = await register(invite);
      // On registration `forbidden` means one thing: this server wants an invite
      // code (the web client reads it the same way).
      if (r.type === 'error' && r.code === 'forbidden' && interactive) {
        const code = (await ask(invite ? 'that invite code is not valid; invite code: ' : 'this server is invite-only; invite code: ')).trim();
        if (!code) return out('* cancelled');
        r = await register(code);
      }
      if (r.type === 'error' && r.code === 'forbidden') return out(`${describeError(r)}\n  usage: /register ${username} ${email} INVITE`);
      if (r.type !== 'otp_sent') return out(describeError(r));
      pendingUser = username;
      return out(`* a code was mailed to ${r.email}; type /verify CODE within ${Math.round(r.expiresIn / 60)} minutes`);
    }
    case '/verify': {
      const [code, username = pendingUser] = args;
      if (!code || !username) return out('usage: /verify CODE [USER]');
      const r = await request({ action: 'auth', op: 'verify', username, code });
      return r.type === 'authed' ? onAuthed(r) : out(describeError(r));
    }
    case '/login': {
      const [username] = args;
      if (!username) return out('usage: /login USER');
      const password = await askSecret('password: ');
      if (password === undefined) return out('* cancelled');
      const r = await request({ action: 'auth', op: 'login', username, password });
      if (r.type === 'otp_sent') {
        pendingUser = username;
        return out(`* confirm your email first: a code was mailed to ${r.email}; /verify CODE`);
      }
      return r.type === 'authed' ? onAuthed(r) : out(describeError(r));
    }
    case '/logout': {
      const r = await request({ action: 'auth', op: 'logout' });
      if (r.type !== 'logged_out') return out(describeError(r));
      me = undefined;
      await saveToken(undefined);
      return out('* logged out');
    }
    case '/join':
    case '/dm': {
      const target = args[0];
      if (!target) return out(`usage: ${cmd} ${cmd === '/dm' ? 'USER' : 'ROOM'}`);
      const name = cmd === '/dm' ? `dm:${[me ?? '', target.toLowerCase()].sort().join(':')}` : target;
      const r = await request({ action: 'join', room: name });
      if (r.type !== 'joined') return out(describeError(r));
      room = r.room.id;
      myRooms.add(room);
      if (!cursors.has(room)) cursors.set(room, r.room.lastMessageId);
      const count: number = r.memberCount ?? r.members.length;
      out(`* now in ${roomLabel(room)} (${count} ${count === 1 ? 'member' : 'members'})`);
      for (const m of r.messages) show(m);
      return;
    }
    case '/rooms':
      return out(`* rooms: ${[...myRooms].map(roomLabel).join(', ')}; current: ${roomLabel(room)}`);
    case '/history': {
      const limit = Math.min(100, Math.max(1, Number(args[0] ?? 20) || 20));
      const r = await request({ action: 'history', room, limit });
      if (r.type !== 'history') return out(describeError(r));
      for (const m of r.messages) {
        seen.delete(m.id); // show again on request
        show(m);
      }
      return;
    }
    case '/who': {
      const r = await request({ action: 'join', room });
      if (r.type !== 'joined') return out(describeError(r));
      type Member = { username: string; online: boolean };
      const members = await rest<Member>(r.members, r.membersMore, (last) => ({ action: 'members', room, after: last.username }), (p) => p.members);
      return out(members.map((m) => `${m.online ? '●' : '○'} ${m.username}`).join('\n'));
    }
    case '/leave': {
      const target = args[0] ?? room;
      const r = await request({ action: 'leave', room: target });
      if (r.type !== 'left') return out(describeError(r));
      myRooms.delete(r.room);
      if (r.room === room) room = 'general';
      return out(`* left ${roomLabel(r.room)}; now in ${roomLabel(room)}`);
    }
    default:
      if (line.startsWith('/')) return out(`unknown command ${cmd}; /help lists them`);
      if (!line.trim()) return;
      {
        // One clientId for every try: the server stores the line once however
        // often it is sent, and a line refused for speed is sent again, never dropped.
        const clientId = `cli-${Date.now()}-${seq}`;
        for (;;) {
          const r = await request({ action: 'send', room, text: line, clientId });
          if (r.type === 'sent') return show(r.message);
          if (r.code !== 'rate_limited') return out(describeError(r));
          const wait = retryAfterSeconds(r);
          if (interactive) out(`* sending too fast; this line goes out in ${wait} s`);
          await sleep(wait * 1000);
        }
      }
  }
}

await connect();
rl.setPrompt('> ');
if (interactive) rl.prompt();
for (;;) {
  const { value, done } = await lines.next();
  if (done) break;
  await command(value as string);
  if (quitting) break;
  if (interactive) rl.prompt();
}
quitting = true;
ws?.close();
process.exit(0);
