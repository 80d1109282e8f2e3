// The embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly) served
// in-process over the wire protocol, so postgres.js and the same SQL run against it.
//
// PGlite has no passwords, so whoever reaches its socket is the superuser: it
// listens on a Unix socket in a private (0700) directory, which only this user can
// enter, never on a TCP port, which every local user could reach.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { privateDirectory, restrictTree } from './private-files.js';

const SOCKET = '.s.PGSQL.5432';
/** A Unix socket's path must fit sockaddr_un (108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 100;

export interface EmbeddedPostgres {
  /** user and database for postgres.js; with `path` set its host part is not used */
  url: string;
  /** the Unix socket: give it to createSql as `path` */
  path?: string;
  db: PGlite;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** files live here (made private to this user); in memory when undefined */
  dataDir?: string;
  /** start from a dumped data dir (a fast way to a migrated, empty database) */
  loadDataDir?: Blob;
  /**
   * A directory for the socket, made private (0700); a stale socket in it, left
   * by a process that was killed, is replaced. Default: a fresh one under the
   * system's temporary directory, removed on stop.
   */
  socketDir?: string;
  /**
   * Tests only: listen on a TCP port of 127.0.0.1 instead, for tests that put a
   * proxy in front of the database or hand its URL to another client. Every
   * local user can connect to it, as the superuser.
   */
  tcp?: boolean;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  const { dataDir } = options;
  if (dataDir) await privateDirectory(dataDir);
  const db = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  if (dataDir) await restrictTree(dataDir);
  // A directory only this user may enter: the socket in it is unreachable to others.
  let socketDir: string | undefined;
  let ownDir = false;
  if (!options.tcp) {
    const wanted = options.socketDir && resolve(options.socketDir);
    if (wanted && Buffer.byteLength(join(wanted, SOCKET)) <= MAX_SOCKET_PATH) {
      await privateDirectory(wanted);
      await rm(join(wanted, SOCKET), { force: true });
      socketDir = wanted;
    } else {
      socketDir = await mkdtemp(join(tmpdir(), 'ww-db-')); // 0700
      ownDir = true;
    }
  }
  const path = socketDir && join(socketDir, SOCKET);
  // One backend, one connection: the pool on top must use max 1.
  const server = path
    ? new PGLiteSocketServer({ db, path, maxConnections: 1 })
    : new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    if (ownDir) await rm(socketDir!, { recursive: true, force: true });
    throw err;
  }
  return {
    url: path ? 'postgres://postgres@localhost/postgres' : `postgres://postgres@${server.getServerConn()}/postgres`,
    ...(path ? { path } : {}),
    db,
    async stop() {
      await server.stop();
      await db.close();
      // Whatever the database wrote since it opened, with PGlite's own modes.
      if (dataDir) await restrictTree(dataDir);
      if (ownDir) await rm(socketDir!, { recursive: true, force: true });
    },
  };
}
