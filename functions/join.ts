// join: {"action":"join","room"}
import { joinRoom } from './core/rooms.js';
import { JoinFrame } from './core/protocol.js';
import { messageRoute } from './route.js';

export const handler = messageRoute(JoinFrame, joinRoom);
