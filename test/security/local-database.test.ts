// `npm start` with the embedded database: other users of the machine can neither
// connect to it (no TCP port; a Unix socket in a directory only we may enter) nor
// read its files (DATA_DIR 0700, files 0600), the mail outbox included.
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { TestClient } from '../helpers/client.js';
import { TEST_ENV } from '../helpers/server.js';

let dir: string;
let dataDir: string;
let server: RunningServer | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ww-localdb-'));
  dataDir = join(dir, 'data');
  // As an earlier version left it: readable by everyone.
  await mkdir(dataDir, { mode: 0o755 });
  const config = loadConfig({ ...TEST_ENV, DATA_DIR: dataDir });
  server = await startServer({ config, webRoot: join(dir, 'web') });
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Socket inodes this process holds. */
async function socketInodes(): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const link = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]!);
  }
  return inodes;
}

/** TCP ports this process listens on (Linux's /proc tables). */
async function listeningTcpPorts(): Promise<number[]> {
  const mine = await socketInodes();
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      // local address, state 0A = LISTEN, inode
      if (cols[3] === '0A' && mine.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports.sort();
}

/** Paths of the Unix sockets this process listens on. */
async function listeningUnixSockets(): Promise<string[]> {
  const mine = await socketInodes();
  const text = await readFile('/proc/net/unix', 'utf8');
  const paths: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path; flags 00010000 = listening
    if (cols.length >= 8 && mine.has(cols[6]!) && cols[3] === '00010000' && cols[7]!.startsWith('/')) paths.push(cols[7]!);
  }
  return paths;
}

const mode = async (path: string) => (await lstat(path)).mode & 0o777;

/** Every directory and file under `root` whose mode lets anyone but the owner in. */
async function openToOthers(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string) => {
    const info = await lstat(path);
    if (info.isSymbolicLink()) return;
    if ((info.mode & 0o077) !== 0) found.push(`${(info.mode & 0o777).toString(8)} ${path}`);
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(root);
  return found;
}

it('opens no TCP port but the chat itself', async () => {
  expect(await listeningTcpPorts()).toEqual([server!.port]);
});

it('serves the database on a Unix socket in a directory only this user may enter', async () => {
  const sockets = await listeningUnixSockets();
  expect(sockets.length).toBeGreaterThan(0);
  for (const path of sockets) {
    const parent = await stat(dirname(path));
    expect(parent.uid).toBe(process.getuid!());
    expect(parent.mode & 0o777).toBe(0o700);
  }
});

it('keeps DATA_DIR, the database files and the outbox to this user', async () => {
  // A sign-up writes a mail into the outbox.
  const c = await TestClient.connect(server!.wsUrl);
  const sent = await c.request({ action: 'auth', op: 'register', username: 'modes', email: 'modes@example.com', password: 'correct horse battery' });
  expect(sent.type).toBe('otp_sent');
  await c.close();
  const outbox = join(dataDir, 'outbox');
  const mails = await readdir(outbox);
  expect(mails.length).toBe(1);

  expect(await mode(dataDir)).toBe(0o700);
  expect(await mode(join(dataDir, 'pgdata'))).toBe(0o700);
  expect(await mode(outbox)).toBe(0o700);
  for (const mail of mails) expect(await mode(join(outbox, mail))).toBe(0o600);
  expect(await openToOthers(dataDir)).toEqual([]);

  // And after a clean stop, with whatever the database wrote on the way out.
  await server!.close();
  server = undefined;
  expect(await openToOthers(dataDir)).toEqual([]);
});
