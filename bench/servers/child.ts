// What every benchmark server process shares: report the port to the parent over
// IPC, answer its requests (CPU and memory use, extra commands), stop on request.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { recordPauses } from '../pauses.js';
import { answerParent } from '../proc.js';

export type Command = { cmd: string; id: number; [k: string]: unknown };
export type CommandHandler = (c: Command) => Promise<unknown> | unknown;

export function serveParent(port: number, stop: () => Promise<void>, handlers: Record<string, CommandHandler> = {}): void {
  let cpu = process.cpuUsage();
  let session: Session | undefined;
  const pauses = recordPauses();
  const all: Record<string, CommandHandler> = {
    ...handlers,
    // CPU seconds used since the last reset: what a scenario cost the server
    usage: () => {
      const d = process.cpuUsage(cpu);
      return { cpuSeconds: (d.user + d.system) / 1e6, rssMB: Math.round(process.memoryUsage().rss / 2 ** 20) };
    },
    resetUsage: () => {
      cpu = process.cpuUsage();
      pauses.clear();
      return true;
    },
    // its garbage collections and event-loop stalls since the last reset
    pauses: () => pauses.since(0),
    // A CPU profile of one scenario (`--profile=DIR`), for chrome://inspect or speedscope
    profileStart: async () => {
      session ??= new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
      return true;
    },
    profileStop: async (c) => {
      const { profile } = await session!.post('Profiler.stop');
      await writeFile(String(c.file), JSON.stringify(profile));
      session!.disconnect();
      return true;
    },
    stop: async () => {
      await stop();
      setTimeout(() => process.exit(0), 50);
      return true;
    },
  };
  answerParent(all, { port });
}
