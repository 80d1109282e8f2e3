// Files of the local hosting are its user's alone: the embedded database (every
// account's email and password hash, in its tables and its WAL) and the mail
// outbox (one-time codes). Directories 0700, files 0600.
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Creates `path` (and its parents) if need be, and makes it 0700 even if it was there before. */
export async function privateDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/**
 * Takes group and other permissions off everything under `root`. PGlite creates
 * its data files 0666 whatever the umask (its file system layer sets modes of
 * its own), so the database directory is walked when it opens and closes.
 */
export async function restrictTree(root: string): Promise<void> {
  const info = await lstat(root).catch(() => undefined);
  if (!info || info.isSymbolicLink()) return;
  if (info.mode & 0o077) await chmod(root, info.mode & 0o700);
  if (!info.isDirectory()) return;
  for (const name of await readdir(root)) await restrictTree(join(root, name));
}

/**
 * Files this process creates from now on get no group or other permissions.
 * The local hosting is one process, so this is its policy for everything it
 * writes (worker threads cannot change the umask; they keep the process's).
 */
export function restrictNewFiles(): void {
  try {
    process.umask(0o077);
  } catch {
    // in a worker thread: the directories are private anyway
  }
}
