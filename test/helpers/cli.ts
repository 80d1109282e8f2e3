// The terminal client as a child process: with piped input (a script), or under
// a real pseudo-terminal from util-linux `script`, where it is interactive as at
// a person's keyboard and its output is what a terminal would draw.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from './server.js';
import { render, type Screen } from './vt.js';

export interface Cli {
  child: ChildProcessWithoutNullStreams;
  /** everything printed so far, raw */
  output(): string;
  /** waits until the output matches; returns the match */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** waits until nothing new was printed for `ms` */
  settle(ms?: number): Promise<void>;
  write(text: string): void;
  /** what a terminal shows (pty only) */
  screen(): Screen;
  /** ends input with /quit and waits for the exit */
  quit(): Promise<void>;
}

export const PTY_COLUMNS = 100;

export function startCli(wsUrl: string, configHome: string, options: { pty?: boolean; env?: Record<string, string> } = {}): Cli {
  const node = [process.execPath, '--import', 'tsx', 'cli/chat.ts', wsUrl];
  const env = { ...process.env, XDG_CONFIG_HOME: configHome, TERM: 'xterm', ...options.env };
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  // `script` gives the command a pty of its own; stty sizes it like a terminal window.
  const child = options.pty
    ? spawn('script', ['-qfec', `stty cols ${PTY_COLUMNS} rows 40; exec ${node.map(quote).join(' ')}`, '/dev/null'], { env })
    : spawn(node[0]!, node.slice(1), { env });
  let buffer = '';
  let last = Date.now();
  const onData = (d: Buffer) => {
    buffer += d.toString();
    last = Date.now();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  // A client that has exited between a check and a write: EPIPE, which changes
  // nothing here (quit() waits for the exit anyway), not an uncaught error.
  child.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => buffer,
    async waitFor(re, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(buffer);
        if (m) return m[0];
        if (Date.now() > deadline) throw new Error(`CLI never printed ${re}; output:\n${JSON.stringify(buffer)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async settle(ms = 300) {
      while (Date.now() - last < ms) await new Promise((r) => setTimeout(r, 25));
    },
    write: (text) => child.stdin.write(text),
    screen: () => render(buffer, PTY_COLUMNS),
    async quit() {
      if (child.exitCode === null) child.stdin.write(options.pty ? '/quit\r' : '/quit\n');
      if (!options.pty) child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** What a terminal test runs against: the local server, and a scratch config home under which each client keeps its own. */
export interface CliWorld {
  readonly server: TestServer;
  readonly home: string;
}

/** Starts the server (with `env`) and makes the scratch home (named from `prefix`) before the tests; removes both after. */
export function useCliWorld(prefix: string, env: Record<string, string> = {}): CliWorld {
  let server: TestServer | undefined;
  let home: string | undefined;
  beforeAll(async () => {
    server = await startTestServer(env);
    home = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await server?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the server is not started yet');
    return value;
  };
  return {
    get server() {
      return ready(server);
    },
    get home() {
      return ready(home);
    },
  };
}
