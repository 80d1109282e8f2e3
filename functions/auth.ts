// auth: register, verify, login, resume, logout, and (E18) forgot and reset.
import { auth } from './core/accounts.js';
import { AuthOp } from './core/protocol.js';
import { messageRoute } from './route.js';

export const handler = messageRoute(AuthOp, auth);
