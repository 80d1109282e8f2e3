// Account recovery and devices (extension E18): the requests behind the Account
// dialog's "Password and email" and "Devices" sections and the login screen's
// "Forgot password?". Each throws ServerError with the server's sentence.
import type { Chat } from './chat.js';

/** One SESSION of `sessions` (docs/PROTOCOL.md). */
export interface SessionInfo {
  id: string;
  device: string;
  ip: string | null;
  lastIp: string | null;
  createdAt: string;
  lastUsedAt: string;
  current?: true;
}

export async function listSessions(chat: Chat): Promise<SessionInfo[]> {
  const r = await chat.conn.request({ action: 'sessions' });
  return Array.isArray(r.sessions) ? (r.sessions as SessionInfo[]) : [];
}

/** Ends one session, or (`'others'`) every one but this; returns how many ended. */
export async function revokeSessions(chat: Chat, which: string | 'others'): Promise<number> {
  const r = await chat.conn.request(which === 'others' ? { action: 'revoke_session', others: true } : { action: 'revoke_session', session: which });
  return Number(r.sessions) || 0;
}

/** Returns how many other sessions were logged out. */
export async function changePassword(chat: Chat, current: string, password: string): Promise<number> {
  const r = await chat.conn.request({ action: 'change_password', current, password });
  return Number(r.sessions) || 0;
}

/** Returns the masked address the code went to. */
export async function changeEmail(chat: Chat, password: string, email: string): Promise<string> {
  const r = await chat.conn.request({ action: 'change_email', password, email });
  return String(r.email);
}

/** Returns the new address. */
export async function confirmEmail(chat: Chat, code: string): Promise<string> {
  const r = await chat.conn.request({ action: 'confirm_email', code });
  return String(r.email);
}

/** Returns how long the code lives, in seconds. */
export async function forgotPassword(chat: Chat, login: string): Promise<number> {
  const r = await chat.conn.request({ action: 'auth', op: 'forgot', login });
  return Number(r.expiresIn) || 600;
}

export async function resetPassword(chat: Chat, login: string, code: string, password: string): Promise<void> {
  await chat.conn.request({ action: 'auth', op: 'reset', login, code, password });
}

/** "3 minutes ago", "yesterday at 14:05", for a device's last use. */
export function lastUsed(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  const minutes = Math.round((now - t) / 60_000);
  if (minutes < 2) return 'just now';
  if (minutes < 60) return `${minutes} minutes ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} ${hours === 1 ? 'hour' : 'hours'} ago`;
  return new Date(t).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}
