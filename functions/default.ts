// $default: whatever matched no route: a malformed frame, an unknown action, or
// the heartbeat `ping` (answered without touching the database).
import { BadRequest } from './core/errors.js';
import { Envelope } from './core/protocol.js';
import { messageRoute } from './route.js';

export const handler = messageRoute(Envelope, async (_deps, _connectionId, frame) => {
  if (frame.action === 'ping') return { reply: { type: 'pong' } };
  throw new BadRequest(`Unknown action "${frame.action}".`);
});
