// The local server as a child process, for tests that kill it for real (SIGTERM,
// SIGKILL). Like server/main.ts without the web build; it prints one line,
// `READY <port>`, once it listens, and shuts down cleanly on SIGTERM.
import { loadConfig } from '../../functions/adapters/config.js';
import { startServer } from '../../server/server.js';

const config = loadConfig();
const server = await startServer({ config, webRoot: `${config.dataDir}/web` });
console.log(`READY ${server.port}`);

process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
