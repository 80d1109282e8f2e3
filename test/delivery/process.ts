// Runs the server as a child process on a fixed port across restarts, so clients
// reconnect to the same URL. Codes come from the outbox lines it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./child-server.ts', import.meta.url));

export class ServerProcess {
  private child?: ChildProcess;
  port = 0;
  readonly codes = new Map<string, string>();
  private codeWaiters: Array<() => void> = [];
  output = '';

  constructor(private readonly env: Record<string, string>) {}

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Starts the server (on the previous port after a restart) and waits until it listens. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      env: { ...process.env, ...this.env, HOST: '127.0.0.1', PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buffered = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        buffered += chunk.toString();
        this.output = (this.output + chunk.toString()).slice(-20_000);
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const ready = /^READY (\d+)/.exec(line);
          if (ready) {
            this.port = Number(ready[1]);
            resolve();
          }
          const code = /\[outbox\] to (\S+): (\d{6}) is your/.exec(line);
          if (code) {
            this.codes.set(code[1]!.toLowerCase(), code[2]!);
            for (const w of this.codeWaiters.splice(0)) w();
          }
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000)));
      child.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}) before it was ready:\n${this.output}`)));
    });
    await ready;
  }

  async codeFor(email: string): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const code = this.codes.get(email.toLowerCase());
      if (code) {
        this.codes.delete(email.toLowerCase());
        return code;
      }
      await new Promise<void>((resolve) => {
        this.codeWaiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    throw new Error(`no code for ${email}`);
  }

  /** Sends the signal and waits for the process to exit. */
  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    this.child = undefined;
  }
}
