// Per-user budgets for the actions a person takes (budgets.ts is the token bucket
// underneath): how big each is, the key it is kept under, the sentence that
// refuses it, and the security event logged when one is hit. Sends have their own
// buckets inside the send statement (messages.ts); connections and sign-ins have
// caps in connections.ts.
import { securityEvent } from './audit.js';
import { type Budget, chargeBucket, perWindow, refilledTokens, takeBudget, waitFor } from './budgets.js';
import { RateLimited, Unauthorized } from './errors.js';
import type { Caller } from './identity.js';
import type { ChatSettings, Deps, Logger, Queryable } from './ports.js';

/**
 * `join`: a join that adds a membership; `read`: a history page, or a join of a
 * room one is already in (it reads the latest page and the members); `create`: a
 * new channel or direct conversation; `bind`: a login, verify or resume that binds
 * a connection to the account (and may tell roommates the user came online);
 * `search`: a page of search results (search.ts).
 * `timer`: a `set_timer` by someone allowed to set the room's timer.
 * `upload`: a grant to upload one file.
 * `two_factor`: a two-factor setting: setup, enable, disable, new recovery codes (E19).
 * `moderate`: a channel's topic, name, privacy, roles, kicks, bans and removals; `invite`: one person added to a channel (E21).
 * `profile`, `export`, `delete_account` *(E20)*: a profile change, the first page
 * of a data export, a try at deleting one's account (before its password check).
 * `block`, `report` *(E22)*: a block or unblock, a report of a message; an
 * administrator's action (safety.ts) is a `moderate` too.
 * `watch`, `online_count` *(E23)*: a presence watch list, a room's online count.
 * `activity`, `push` *(E25)*: a report of the connection's activity; a push
 * subscription made, listed or removed.
 */
export type UserAction =
  | 'join'
  | 'leave'
  | 'read'
  | 'search'
  | 'purge'
  | 'create'
  | 'bind'
  | 'timer'
  | 'upload'
  | 'two_factor'
  | 'moderate'
  | 'invite'
  | 'profile'
  | 'export'
  | 'delete_account'
  | 'watch'
  | 'online_count'
  | 'activity'
  | 'push'
  | AccountAction
  | SafetyAction
  | ConversationAction;

/**
 * *(E18)* `account`: a password or email change, or an email code tried (each may
 * hash a password or send mail); `sessions`: a device list or a session ended.
 */
export type AccountAction = 'account' | 'sessions';

/** Two-factor settings changes per person per hour: a person enrols or turns it off a few times at most. */
export const TWO_FACTOR_CHANGES_PER_HOUR = 20;

/** *(E22)* `moderate` is shared with channel moderation (E21): an administrator's action is one too. */
export type SafetyAction = 'block' | 'report' | 'moderate';

/**
 * `edit`, `delete`, `react`: a change to one message; `here`: a message whose
 * @here counts. Each is charged inside its action's one statement (conversations.ts,
 * messages.ts), with the budget and the sentence from here.
 */
export type ConversationAction = 'edit' | 'delete' | 'react' | 'here';

export function userBudget(settings: ChatSettings, action: UserAction): Budget {
  switch (action) {
    case 'join':
      return perWindow(settings.joinsPerMinute, 60);
    case 'leave':
      return perWindow(settings.leavesPerMinute, 60);
    case 'read':
      return { burst: settings.readBurst, perSecond: settings.readsPerMinute / 60 };
    case 'search':
      return { burst: settings.searchBurst, perSecond: settings.searchesPerMinute / 60 };
    case 'purge':
      return perWindow(settings.purgesPerHour, 60 * 60);
    case 'create':
      // A day is the longest window: pruneBudgets drops buckets idle for a day,
      // which by then are full again.
      return perWindow(settings.roomsCreatedPerDay, 24 * 60 * 60);
    case 'bind':
      return perWindow(settings.loginsPerUserPerHour, 60 * 60);
    case 'timer':
      return perWindow(settings.timerChangesPerHour, 60 * 60);
    case 'upload':
      return perWindow(settings.fileUploadsPerHour, 60 * 60);
    case 'profile':
      return perWindow(settings.profileChangesPerHour, 60 * 60);
    case 'export':
      return perWindow(settings.exportsPerDay, 24 * 60 * 60);
    case 'delete_account':
      return perWindow(settings.accountDeletionsPerHour, 60 * 60);
    case 'account':
      return perWindow(settings.accountChangesPerHour, 60 * 60);
    case 'activity':
      return perWindow(settings.activityPerMinute, 60);
    case 'push':
      return perWindow(settings.pushActionsPerHour, 60 * 60);
    case 'sessions':
      return perWindow(settings.sessionActionsPerMinute, 60);
    case 'two_factor':
      return perWindow(TWO_FACTOR_CHANGES_PER_HOUR, 60 * 60);
    case 'moderate':
      return perWindow(settings.moderationActionsPerMinute, 60);
    case 'invite':
      return perWindow(settings.invitesPerHour, 60 * 60);
    case 'block':
      return perWindow(settings.blocksPerHour, 60 * 60);
    case 'report':
      return perWindow(settings.reportsPerDay, 24 * 60 * 60);
    case 'watch':
      return perWindow(settings.watchesPerMinute, 60);
    case 'online_count':
      return perWindow(settings.onlineCountsPerMinute, 60);
    case 'edit':
      return perWindow(settings.editsPerMinute, 60);
    case 'delete':
      return perWindow(settings.deletesPerMinute, 60);
    case 'react':
      return perWindow(settings.reactionsPerMinute, 60);
    case 'here':
      return perWindow(settings.hereMentionsPerHour, 60 * 60);
  }
}

/**
 * SQL for the `caller` of a statement that charges the caller's own bucket: from
 * the connection row, `user_id`, `username`, `session_id`, `read_receipts`, and
 * `key`, their bucket of `bucket` ('typing' gives 'typing:user:42').
 */
export function callerRow(sql: Queryable, connectionId: string, bucket: UserAction | 'typing' | 'readmark' | 'settings') {
  return sql`select c.user_id, u.username, c.session_id, u.read_receipts, ${`${bucket}:user:`}::text || c.user_id as key
    from connections c join users u on u.id = c.user_id
    where c.id = ${connectionId}`;
}

/** 'join:user:42': the bucket of one user's budget for one action. */
export function userKey(action: UserAction | 'send', userId: string): string {
  return `${action}:user:${userId}`;
}

/** "4 s", "6 min", "3 h": a wait a person can read. */
export function describeWait(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 60 * 60) return `${Math.ceil(seconds / 60)} min`;
  return `${Math.ceil(seconds / 3600)} h`;
}

function refusal(settings: ChatSettings, action: UserAction, wait: number): string {
  const again = `Try again in ${describeWait(wait)}.`;
  switch (action) {
    case 'join':
      return `You are joining rooms too fast: at most ${settings.joinsPerMinute} a minute. ${again}`;
    case 'leave':
      return `You are leaving rooms too fast: at most ${settings.leavesPerMinute} a minute. ${again}`;
    case 'read':
      return `You are loading pages too fast (history, member lists, directories): at most ${settings.readsPerMinute} pages a minute. ${again}`;
    case 'search':
      return `You are searching too fast: at most ${settings.searchesPerMinute} searches a minute. ${again}`;
    case 'purge':
      return `You have deleted your messages too often: at most ${settings.purgesPerHour} times an hour. ${again}`;
    case 'create':
      return `You have started too many new rooms: at most ${settings.roomsCreatedPerDay} a day. ${again}`;
    case 'bind':
      return `Too many sign-ins to this account: at most ${settings.loginsPerUserPerHour} an hour. ${again}`;
    case 'timer':
      return `You have changed disappearing-message timers too often: at most ${settings.timerChangesPerHour} times an hour. ${again}`;
    case 'upload':
      return `You have shared too many files: at most ${settings.fileUploadsPerHour} an hour. ${again}`;
    case 'profile':
      return `You have changed your profile too often: at most ${settings.profileChangesPerHour} times an hour. ${again}`;
    case 'export':
      return `You have exported your data too often: at most ${settings.exportsPerDay} times a day. ${again}`;
    case 'delete_account':
      return `Too many tries at deleting this account: at most ${settings.accountDeletionsPerHour} an hour. ${again}`;
    case 'activity':
      return `Your app reports activity too often: at most ${settings.activityPerMinute} times a minute. ${again}`;
    case 'push':
      return `You have changed notification settings too often: at most ${settings.pushActionsPerHour} times an hour. ${again}`;
    case 'account':
      return `You have changed your account too often: at most ${settings.accountChangesPerHour} changes and codes an hour. ${again}`;
    case 'sessions':
      return `You are managing devices too fast: at most ${settings.sessionActionsPerMinute} requests a minute. ${again}`;
    case 'two_factor':
      return `You have changed two-factor settings too often: at most ${TWO_FACTOR_CHANGES_PER_HOUR} times an hour. ${again}`;
    case 'moderate':
      return `You are moderating too fast: at most ${settings.moderationActionsPerMinute} actions a minute. ${again}`;
    case 'invite':
      return `You have invited too many people: at most ${settings.invitesPerHour} an hour. ${again}`;
    case 'block':
      return `You have blocked or unblocked people too often: at most ${settings.blocksPerHour} times an hour. ${again}`;
    case 'report':
      return `You have reported too many messages: at most ${settings.reportsPerDay} a day. ${again}`;
    case 'watch':
      return `You are changing whose presence you watch too often: at most ${settings.watchesPerMinute} times a minute. ${again}`;
    case 'online_count':
      return `You are asking for online counts too fast: at most ${settings.onlineCountsPerMinute} a minute. ${again}`;
    case 'edit':
      return `You are editing messages too fast: at most ${settings.editsPerMinute} a minute. ${again}`;
    case 'delete':
      return `You are deleting messages too fast: at most ${settings.deletesPerMinute} a minute. ${again}`;
    case 'react':
      return `You are reacting too fast: at most ${settings.reactionsPerMinute} reactions a minute. ${again}`;
    case 'here':
      return `You have used @here too often: at most ${settings.hereMentionsPerHour} times an hour. ${again}`;
  }
}

/** The refusal of `action` for a bucket holding `tokens`, with the wait. */
export function userRefusal(settings: ChatSettings, action: UserAction, tokens: number): RateLimited {
  const wait = waitFor(tokens, userBudget(settings, action));
  return new RateLimited(refusal(settings, action, wait), wait);
}

/**
 * Logs a limit hit as a security event: one log line, no database write, so an
 * attacker hammering a limit costs the server nothing more than the refusal.
 */
export function limitHit(log: Logger, action: string, who: { user?: string; connection?: string; address?: string }, reason?: string): void {
  securityEvent(log, 'rate_limited', { action, ...who, ...(reason ? { reason } : {}) });
}

/** Takes one token of `action` from the caller's budget, or throws `rate_limited`. */
export async function spendUserBudget(deps: Deps, caller: Caller, action: UserAction): Promise<void> {
  const wait = await takeBudget(deps.sql, userKey(action, caller.userId), userBudget(deps.settings, action), deps.clock.now());
  if (wait === 0) return;
  limitHit(deps.log, action, { user: caller.username, connection: caller.connectionId });
  throw new RateLimited(refusal(deps.settings, action, wait), wait);
}

/**
 * The caller (from the connection row, as `requireCaller`) and one token of
 * `action` taken from their budget, in one statement.
 */
export async function requireCallerWithin(deps: Deps, connectionId: string, action: UserAction): Promise<Caller> {
  const { sql, settings } = deps;
  const budget = userBudget(settings, action);
  const now = deps.clock.now();
  const [row] = await sql<{ user_id: string; username: string; session_id: string | null; taken: boolean; tokens: number | null }[]>`
    with caller as (${callerRow(sql, connectionId, action)}), taken as (${chargeBucket(sql, sql`select key from caller`, budget, now)})
    select c.user_id, c.username, c.session_id, exists (select 1 from taken) as taken,
      (select ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = c.key) as tokens
    from caller c`;
  if (!row) throw new Unauthorized('Log in first.');
  if (!row.taken) {
    limitHit(deps.log, action, { user: row.username, connection: connectionId });
    throw userRefusal(settings, action, row.tokens ?? 0);
  }
  return { connectionId, userId: row.user_id, username: row.username, sessionId: row.session_id };
}
