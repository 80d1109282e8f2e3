// $connect: check the Origin, then record an anonymous connection.
import { loadConfig } from './adapters/config.js';
import { openConnection, originAllowed } from './core/connections.js';
import { lifecycleRoute } from './route.js';

const { allowedOrigins } = loadConfig();

export const handler = lifecycleRoute(async (deps, event) => {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  if (!originAllowed(headers.origin, headers.host, allowedOrigins)) return false;
  await openConnection(deps.sql, event.requestContext.connectionId, new Date(event.requestContext.requestTimeEpoch));
  return {};
});
