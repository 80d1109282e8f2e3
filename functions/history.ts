// history: {"action":"history","room","before"?,"after"?,"limit"?}
import { history } from './core/messages.js';
import { HistoryFrame } from './core/protocol.js';
import { messageRoute } from './route.js';

export const handler = messageRoute(HistoryFrame, history);
