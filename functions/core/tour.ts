// The welcome tour, once per account: `authed` tells the client whether this
// account has seen it (user.tourSeen), and `tour_seen` marks it seen, so a new
// browser does not show it again to someone who has been here before.
import { spendBudget, perWindow } from './budgets.js';
import { requireCaller } from './identity.js';
import type { Outcome } from './outcome.js';
import type { Deps } from './ports.js';
import type { TourSeenFrame } from './protocol.js';

/** An honest client sends it once per account (again only from "Show the tour again"). */
const TOUR_BUDGET = perWindow(10, 60 * 60);

/** `{"action":"tour_seen"}`: marks the caller's account; repeating it changes nothing. */
export async function markTourSeen(deps: Deps, connectionId: string, _frame: TourSeenFrame): Promise<Outcome> {
  const { sql, clock } = deps;
  const caller = await requireCaller(sql, connectionId);
  await spendBudget(sql, `tour:user:${caller.userId}`, TOUR_BUDGET, clock.now(), (wait) => `Too many requests; try again in ${wait} seconds.`);
  // Only the first time writes: the time is when it was first seen.
  await sql`update users set tour_seen_at = ${clock.now()} where id = ${caller.userId} and tour_seen_at is null`;
  return { reply: { type: 'tour_seen' } };
}
