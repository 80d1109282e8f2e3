// auth: register, verify, login, resume, logout, second_factor (E19).
import { auth } from './core/accounts.js';
import { AuthOp } from './core/protocol.js';
import { messageRoute } from './route.js';

export const handler = messageRoute(AuthOp, auth);
