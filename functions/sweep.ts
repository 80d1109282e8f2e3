// Scheduled (EventBridge, every minute): $disconnect is best-effort on AWS, so rows
// of connections older than API Gateway's 2-hour limit, and of sockets that never
// authenticated, are deleted here. Swept sockets still open are closed, and
// roommates of users who went offline hear presence. Budget buckets idle for a
// day (full again) are deleted. Expired disappearing messages are deleted for
// good, within the minute (disappearing.ts), and so are files never attached
// within a day or whose message is gone (files.ts), and lapsed two-factor
// challenges and enrolments (two-factor.ts). Email notices that are due go out
// (notices.ts, E24): claimed under a lease, so a sweep that dies mid-way leaves
// them to the next minute's.
import { getDeps } from './adapters/runtime.js';
import { loadConfig } from './adapters/config.js';
import { pruneBudgets } from './core/budgets.js';
import { sweepConnections } from './core/connections.js';
import { sweepExpired } from './core/disappearing.js';
import { sweepFiles } from './core/files.js';
import { sweepTwoFactor } from './core/two-factor.js';
import { sweepNotices } from './core/notices.js';
import type { Deps } from './core/ports.js';
import { deliver, observed } from './route.js';

const { sweep } = loadConfig();

export async function handler(_event?: unknown, context?: unknown): Promise<{ swept: number }> {
  const deps = await getDeps();
  return observed(deps, context, 'sweep', () => sweepOnce(deps));
}

async function sweepOnce(deps: Deps): Promise<{ swept: number }> {
  const { swept, broadcasts, close } = await sweepConnections(deps, sweep);
  // No caller to reply to: only the broadcasts and the closes.
  await deliver(deps, '', undefined, { broadcasts, close });
  await pruneBudgets(deps.sql, deps.clock.now());
  await deliver(deps, '', undefined, await sweepExpired(deps));
  await sweepFiles(deps);
  await sweepTwoFactor(deps);
  await sweepNotices(deps);
  if (swept.length) deps.log.info('swept connections', { count: swept.length });
  return { swept: swept.length };
}
