// `npm start`: Wild Whispers in one process.
import { loadConfig } from '../functions/adapters/config.js';
import { networkAddresses } from './origins.js';
import { startServer } from './server.js';
import { buildWeb } from '../web/build.js';

const started = performance.now();
const config = loadConfig();
await buildWeb({ quiet: true }).catch((err) => {
  console.error(`The web client did not build (${err.message}); the chat still runs at /ws.`);
});
const server = await startServer({ config }).catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'EADDRINUSE') console.error(`Port ${config.port} is in use: stop the other server or choose another with PORT=…`);
  else if (err.code === 'ECONNREFUSED' && config.databaseUrl) console.error('Cannot reach the database at DATABASE_URL.');
  else console.error(err);
  process.exit(1);
});

const ms = Math.round(performance.now() - started);
// The same addresses the WebSocket handshake admits as origins (server/origins.ts).
const addresses = networkAddresses().map((a) => `http://${a}:${server.port}/`);
console.log(`\n  Wild Whispers ready in ${ms} ms\n`);
console.log(`  ➜  Local:   http://localhost:${server.port}/`);
if (config.host === '0.0.0.0' || config.host === '::') for (const a of addresses) console.log(`  ➜  Network: ${a}`);
else console.log('  ➜  Network: use HOST=0.0.0.0 to expose');
for (const o of config.publicOrigins) console.log(`  ➜  Public:  ${o}/`);
console.log(`  ➜  Database: ${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL in ${config.dataDir}/pgdata`}`);
console.log(`  ➜  Mail:     ${config.mail.transport === 'outbox' ? `${config.mail.outboxDir}/ (codes are printed here too)` : config.mail.transport}\n`);

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
