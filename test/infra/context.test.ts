// The stack's settings as `cdk deploy -c key=value` passes them (infra/context.ts):
// the cost limits, the alarm threshold and the API Gateway logging role can be
// changed or turned off, and a mistyped value fails the synth with its name.
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { ChatStack } from '../../infra/stack.js';

type Resource = { Type: string; Properties?: Record<string, any>; DependsOn?: string[] };

function synth(context: Record<string, string>): { app: App; stack: ChatStack; resources: Record<string, Resource> } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new ChatStack(app, 'WildWhispers', stackPropsFromContext(app));
  return { app, stack, resources: Template.fromStack(stack).toJSON().Resources };
}

describe('context settings', () => {
  let app: App;
  let stack: ChatStack;
  let resources: Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const fn = (source: string) => resources[stack.getLogicalId(stack.functions[source]!.node.defaultChild as never)]!.Properties!;

  beforeAll(() => {
    ({ app, stack, resources } = synth({
      senderEmail: 'chat@example.org',
      apiGatewayCloudWatchRole: 'false',
      apiRateLimit: '300',
      apiBurstLimit: '150',
      routeThrottles: 'send=5/10, auth=2/4',
      reservedConcurrency: 'send=80,auth=4',
      securityAlarmThreshold: '7',
    }));
  });

  it('apiGatewayCloudWatchRole=false leaves the account-level role alone, for accounts that have one', () => {
    expect(ofType('AWS::ApiGateway::Account')).toEqual([]);
    expect(ofType('AWS::IAM::Role').filter(([, r]) => JSON.stringify(r.Properties!.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com'))).toEqual([]);
  });

  it('apiRateLimit, apiBurstLimit and routeThrottles set the stage default and the named routes, others keep theirs', () => {
    const [, stage] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    expect(stage.Properties!.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 300, ThrottlingBurstLimit: 150 });
    expect(stage.Properties!.RouteSettings).toMatchObject({
      send: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      auth: { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 4 },
      $connect: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('reservedConcurrency overrides the named functions and keeps the defaults of the rest', () => {
    expect(fn('send').ReservedConcurrentExecutions).toBe(80);
    expect(fn('auth').ReservedConcurrentExecutions).toBe(4);
    expect(fn('history').ReservedConcurrentExecutions).toBe(20);
  });

  it('securityAlarmThreshold sets the burst that raises the security alarm', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!).filter((a) => a.MetricName === 'SecurityEvents' && !a.Dimensions);
    expect(alarms.map((a) => a.Threshold)).toEqual([7]);
  });

  it('stays clean under cdk-nag with these settings', () => {
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    expect(report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))).toEqual([]);
  });

  it('reservedConcurrency=off reserves nothing (accounts whose Lambda limit is below 297)', () => {
    const { stack: plain, resources: plainResources } = synth({ reservedConcurrency: 'off', skipWebBuild: 'true' });
    for (const f of Object.values(plain.functions)) {
      expect(plainResources[plain.getLogicalId(f.node.defaultChild as never)]!.Properties!.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('reads adminUsers as a comma-separated list of usernames (E22)', () => {
    expect(stackPropsFromContext(new App({ context: { adminUsers: ' Dana, root ,' } })).adminUsers).toEqual(['dana', 'root']);
    expect(stackPropsFromContext(new App({ context: {} })).adminUsers).toBeUndefined();
  });

  it('refuses a mistyped setting with its name', () => {
    const props = (context: Record<string, string>) => stackPropsFromContext(new App({ context }));
    expect(() => props({ apiGatewayCloudWatchRole: 'no' })).toThrow(/apiGatewayCloudWatchRole must be true or false/);
    expect(() => props({ reservedConcurrency: 'send=0' })).toThrow(/reservedConcurrency send must be a whole number of at least 1/);
    expect(() => props({ routeThrottles: 'send=200' })).toThrow(/routeThrottles: "send=200" must be route=rate\/burst/);
    expect(() => props({ securityAlarmThreshold: 'lots' })).toThrow(/securityAlarmThreshold must be a whole number/);
    expect(() => synth({ routeThrottles: 'sned=1/2' })).toThrow(/routeThrottles names "sned", which is not a route/);
    expect(() => synth({ reservedConcurrency: 'sending=3' })).toThrow(/reservedConcurrency names "sending", which is not a function/);
  });
});
