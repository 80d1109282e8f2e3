// Child processes for the benchmark: each pinned to one core with `taskset` where
// the machine has it, driven by request/response messages over IPC.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
export const CORES = availableParallelism();

export interface Child {
  port?: number;
  pid: number;
  call<T = any>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  kill(): Promise<void>;
}

/** Starts `script` (relative to bench/) under tsx, pinned to `core` when possible. */
export function startChild(script: string, core: number | undefined, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Child> {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const node = [process.execPath, ...nodeArgs, '--import', 'tsx', file];
  const pin = hasTaskset && core !== undefined && CORES > 1;
  const proc: ChildProcess = spawn(pin ? 'taskset' : node[0]!, pin ? ['-c', String(core), ...node] : node.slice(1), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      const err = new Error(`${script} exited (${code})`);
      for (const w of waiting.values()) w.reject(err);
      reject(err);
    };
    proc.once('exit', onExit);
    proc.on('message', (m: any) => {
      if (m.ready) {
        resolve({
          port: m.port,
          pid: proc.pid!,
          call(cmd, args = {}) {
            const id = ++nextId;
            return new Promise((res, rej) => {
              waiting.set(id, { resolve: res, reject: rej });
              proc.send({ ...args, cmd, id });
            });
          },
          async kill() {
            proc.off('exit', onExit);
            const exited = new Promise((r) => proc.once('exit', r));
            try {
              proc.send({ cmd: 'stop', id: ++nextId });
            } catch {
              /* already gone */
            }
            const timer = setTimeout(() => proc.kill('SIGKILL'), 8000);
            await exited;
            clearTimeout(timer);
          },
        });
        return;
      }
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.error) w.reject(new Error(m.error));
      else w.resolve(m.result);
    });
  });
}

export const pinning = hasTaskset && CORES > 1 ? 'server on core 0, load generator on core 1 (taskset)' : 'not pinned';

/**
 * The child's side of the IPC: answer each `{cmd, id}` from the parent with its
 * handler's result or error, exit when the parent goes, and say `ready`.
 */
export function answerParent(handlers: Record<string, (c: any) => unknown>, ready: Record<string, unknown>): void {
  process.on('message', (c: { cmd: string; id: number }) => {
    const h = handlers[c.cmd];
    Promise.resolve()
      .then(() => (h ? h(c) : Promise.reject(new Error(`unknown command ${c.cmd}`))))
      .then(
        (result) => process.send!({ id: c.id, result }),
        (err) => process.send!({ id: c.id, error: String(err?.stack ?? err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true, ...ready });
}
