// send: {"action":"send","room","text","clientId"}, one SQL round trip, then fan-out.
import { send } from './core/messages.js';
import { SendFrame } from './core/protocol.js';
import { messageRoute } from './route.js';
import { registerPushSender } from './adapters/aws-push.js';
import { WebPusher } from './adapters/web-push.js';

// *(E25)* only this function bundles `web-push`: it pushes after a send's fan-out
registerPushSender((options) => new WebPusher(options));

export const handler = messageRoute(SendFrame, async (deps, connectionId, frame) => {
  const outcome = await send(deps, connectionId, frame);
  deps.telemetry?.metric('Sends', 1, 'Count');
  return outcome;
});
