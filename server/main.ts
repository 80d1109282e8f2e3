// `npm start`: Wild Whispers in one process.
import { networkInterfaces } from 'node:os';
import { loadConfig, type Config } from '../functions/adapters/config.js';
import { startupBanner } from './banner.js';
import { buildWeb } from '../web/build.js';

const started = performance.now();
let config: Config;
try {
  config = loadConfig();
} catch (err) {
  // A setting with a bad value: its name and what is wrong, not a stack trace.
  console.error(`Cannot start: ${(err as Error).message}`);
  process.exit(1);
}
// Loaded after the check: some handlers read their settings when their module loads.
const { startServer } = await import('./server.js');
await buildWeb({ quiet: true }).catch((err) => {
  console.error(`The web client did not build (${err.message}); the chat still runs at /ws.`);
});
const server = await startServer({ config }).catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'EADDRINUSE') console.error(`Port ${config.port} is in use: stop the other server or choose another with PORT=…`);
  else if (err.code === 'ECONNREFUSED' && config.databaseUrl) console.error('Cannot reach the database at DATABASE_URL.');
  else console.error(err);
  process.exit(1);
});

console.log(
  startupBanner({ config, port: server.port, scheme: server.scheme, readyMs: Math.round(performance.now() - started), interfaces: networkInterfaces() }).join('\n'),
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) process.exit(1); // a second Ctrl-C means now
  stopping = true;
  console.log(`\n${signal}: closing connections…`);
  server.close().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
