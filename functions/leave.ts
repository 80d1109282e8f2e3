// leave: {"action":"leave","room"}
import { leaveRoom } from './core/rooms.js';
import { LeaveFrame } from './core/protocol.js';
import { messageRoute } from './route.js';

export const handler = messageRoute(LeaveFrame, leaveRoom);
