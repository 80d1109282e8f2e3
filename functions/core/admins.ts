// The server's administrators are named by a setting (ADMIN_USERS), not stored:
// whoever runs the server decides, and a database restore cannot promote anyone.
import type { ChatSettings } from './ports.js';

/** Whether this username is one of the server's administrators. */
export function isServerAdmin(settings: ChatSettings, username: string): boolean {
  return settings.adminUsers.includes(username.toLowerCase());
}
