// The chat's entry points, one per route; each takes its ports as arguments.
export { auth } from './accounts.js';
export { joinRoom, leaveRoom } from './rooms.js';
export { send, history } from './messages.js';
export { openConnection, closeConnection, dropConnections, sweepConnections, originAllowed } from './connections.js';
export { requireCaller } from './identity.js';
export * from './errors.js';
export type * from './ports.js';
export type { Outcome, Broadcast } from './outcome.js';
