// The stack's settings from CDK context (-c key=value, or cdk.context.json), each
// checked here so a typo fails the synth with its name rather than deploying
// something else. docs/DEPLOY.md lists them.
import type { App } from 'aws-cdk-lib';
import { type ChatStackProps, DEFAULT_API_THROTTLE, type Throttle } from './stack.js';

export function stackPropsFromContext(app: App): ChatStackProps {
  const context = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value).trim();
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const raw = context(key);
    if (raw === undefined) return fallback;
    if (raw !== 'true' && raw !== 'false') throw new Error(`${key} must be true or false, not "${raw}"`);
    return raw === 'true';
  };
  const whole = (key: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`${key} must be a whole number of at least ${min}, not "${raw}"`);
    return n;
  };
  const optionalWhole = (key: string, min: number): number | undefined => {
    const raw = context(key);
    return raw === undefined ? undefined : whole(key, raw, min);
  };
  /** "send=200,auth=20" */
  const pairs = (key: string): Array<[string, string]> =>
    (context(key) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((item) => {
        const at = item.indexOf('=');
        if (at < 1) throw new Error(`${key} must be a list like "name=value,name=value", not "${item}"`);
        return [item.slice(0, at).trim(), item.slice(at + 1).trim()];
      });

  const natGateways = Number(context('natGateways') ?? 1);
  if (![1, 2, 3].includes(natGateways)) throw new Error(`natGateways must be 1, 2 or 3, not "${context('natGateways')}"`);

  const apiRate = optionalWhole('apiRateLimit', 1);
  const apiBurst = optionalWhole('apiBurstLimit', 1);
  const apiThrottle = apiRate === undefined && apiBurst === undefined ? undefined : { rateLimit: apiRate ?? DEFAULT_API_THROTTLE.rateLimit, burstLimit: apiBurst ?? DEFAULT_API_THROTTLE.burstLimit };

  // routeThrottles=send=200/400,auth=20/40: requests a second / burst, per route key
  const routeThrottles: Record<string, Throttle> = {};
  for (const [route, value] of pairs('routeThrottles')) {
    const [rate, burst, ...rest] = value.split('/');
    if (rate === undefined || burst === undefined || rest.length) throw new Error(`routeThrottles: "${route}=${value}" must be route=rate/burst, like send=200/400`);
    routeThrottles[route] = { rateLimit: whole(`routeThrottles ${route} rate`, rate, 1), burstLimit: whole(`routeThrottles ${route} burst`, burst, 1) };
  }

  // reservedConcurrency=off, or send=100,auth=20 over the defaults
  let reservedConcurrency: Record<string, number> | false | undefined;
  if (context('reservedConcurrency') === 'off') reservedConcurrency = false;
  else {
    const given = pairs('reservedConcurrency');
    if (given.length) reservedConcurrency = Object.fromEntries(given.map(([fn, n]) => [fn, whole(`reservedConcurrency ${fn}`, n, 1)]));
  }

  return {
    description: 'Wild Whispers: real-time chat on API Gateway WebSockets, Lambda, RDS PostgreSQL',
    senderEmail: context('senderEmail') ?? 'no-reply@example.com',
    senderName: context('senderName'),
    allowedOrigins: context('allowedOrigins')?.split(',').map((s) => s.trim()).filter(Boolean),
    inviteCode: context('inviteCode'),
    adminUsers: context('adminUsers')?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
    dbInstanceType: context('dbInstanceType'),
    dbMultiAz: flag('dbMultiAz', false),
    protectData: flag('protectData', true),
    natGateways,
    alarmEmail: context('alarmEmail'),
    apiThrottle,
    routeThrottles: Object.keys(routeThrottles).length ? routeThrottles : undefined,
    reservedConcurrency,
    securityAlarmThreshold: optionalWhole('securityAlarmThreshold', 1),
    apiGatewayCloudWatchRole: flag('apiGatewayCloudWatchRole', true),
  };
}
