// auth: register, verify, login, resume, logout, (E18) forgot and reset, and
// (E19) second_factor.
import { auth } from './core/accounts.js';
import { AuthOp } from './core/protocol.js';
import { messageRoute } from './route.js';

export const handler = messageRoute(AuthOp, auth);
