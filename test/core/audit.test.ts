// Security events an attacker can repeat are logged once per source and minute,
// with the count of those left out on the next line; memory stays bounded.
import { expect, it } from 'vitest';
import { AGGREGATE_MAX_KEYS, securityEvent } from '../../functions/core/audit.js';
import { RecordingLogger } from '../helpers/fakes.js';

it('logs a flood of limit hits from one source once a minute, then says how many it left out', () => {
  const log = new RecordingLogger();
  const t0 = 1_000_000;
  for (let i = 0; i < 4523; i++) securityEvent(log, 'rate_limited', { action: 'send', user: 'mallory' }, t0 + i);
  expect(log.events('rate_limited')).toEqual([{ security: 'rate_limited', action: 'send', user: 'mallory' }]);
  // another source, and another action, have their own lines
  securityEvent(log, 'rate_limited', { action: 'send', user: 'alice' }, t0);
  securityEvent(log, 'rate_limited', { action: 'join', user: 'mallory' }, t0);
  securityEvent(log, 'origin_refused', { origin: 'http://a', sourceIp: '10.0.0.1' }, t0);
  securityEvent(log, 'origin_refused', { origin: 'http://b', sourceIp: '10.0.0.1' }, t0 + 1);
  expect(log.events('rate_limited')).toHaveLength(3);
  expect(log.events('origin_refused')).toHaveLength(1);
  // a minute on, the next line carries the count of the ones not logged
  securityEvent(log, 'rate_limited', { action: 'send', user: 'mallory' }, t0 + 60_000);
  expect(log.events('rate_limited').at(-1)).toMatchObject({ user: 'mallory', suppressed: 4522 });
  // events bounded by their own limits are logged each time
  for (let i = 0; i < 3; i++) securityEvent(log, 'login_failed', { user: 'bob' }, t0);
  expect(log.events('login_failed')).toHaveLength(3);
});

it('forgets the oldest source beyond its bound, so memory stays bounded', () => {
  const log = new RecordingLogger();
  for (let i = 0; i <= AGGREGATE_MAX_KEYS; i++) securityEvent(log, 'connection_refused', { address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` }, 5);
  // the first was evicted: logged again at once; the newest is still remembered
  securityEvent(log, 'connection_refused', { address: '10.0.0.0' }, 6);
  securityEvent(log, 'connection_refused', { address: `10.0.${(AGGREGATE_MAX_KEYS >> 8) & 255}.${AGGREGATE_MAX_KEYS & 255}` }, 6);
  expect(log.events('connection_refused')).toHaveLength(AGGREGATE_MAX_KEYS + 2);
});
