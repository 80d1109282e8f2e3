// The stack, synthesized once (function bundling skipped: test/infra/synth.test.ts
// runs the real `cdk synth`), asserted as a template and checked by cdk-nag.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChatStack } from '../../infra/stack.js';

type Resource = { Type: string; Properties?: Record<string, any>; DependsOn?: string[] };

const ROUTES = {
  $connect: 'ConnectFunction',
  $disconnect: 'DisconnectFunction',
  $default: 'DefaultFunction',
  auth: 'AuthFunction',
  join: 'JoinFunction',
  send: 'SendFunction',
  history: 'HistoryFunction',
  leave: 'LeaveFunction',
} as const;
const ROUTE_KEYS = Object.keys(ROUTES);
const POSTING = ['DisconnectFunction', 'DefaultFunction', 'AuthFunction', 'JoinFunction', 'SendFunction', 'HistoryFunction', 'LeaveFunction', 'SweepFunction'];
/** posts only (PostToConnection), from the fan-out queue */
const WORKER = 'FanoutFunction';
/** E24: the unsubscribe link's endpoint and SES's bounce events; neither posts */
const NOTICE_FUNCTIONS = ['UnsubscribeFunction', 'BouncesFunction'];
const ALL_FUNCTIONS = [...Object.values(ROUTES), 'SweepFunction', 'MigrateFunction', WORKER, ...NOTICE_FUNCTIONS];
/** every function but the migration: they log in as the app role */
const APP_FUNCTIONS = ALL_FUNCTIONS.filter((f) => f !== 'MigrateFunction');
const MASTER_SECRET = /^DataPostgresSecretAttachment/;
const APP_SECRET = /^DataAppSecret/;
const VAPID_SECRET = /^VapidKeys/;
/** *(E25)* the functions that push (send) or hand out the VAPID public key ($default) */
const PUSHING = ['SendFunction', 'DefaultFunction'];

let app: App;
let stack: ChatStack;
let template: Template;
let resources: Record<string, Resource>;

/** The logical id of our construct `path` (e.g. 'SendFunction'), not CDK's singletons. */
function logicalId(constructId: string): string {
  const construct = stack.node.findChild(constructId);
  return stack.getLogicalId(construct.node.defaultChild as never);
}
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const json = (value: unknown) => JSON.stringify(value);

beforeAll(() => {
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new ChatStack(app, 'WildWhispers', {
    senderEmail: 'chat@example.org',
    allowedOrigins: ['https://chat.example.org'],
    inviteCode: 'open-sesame',
    adminUsers: ['dana', 'root'],
    dbInstanceType: 't4g.small',
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

describe('the WebSocket API', () => {
  it('selects routes by the body action and has one route per action, each with its own Lambda', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    const routes = ofType('AWS::ApiGatewayV2::Route');
    expect(routes.map(([, r]) => r.Properties!.RouteKey).sort()).toEqual(Object.keys(ROUTES).sort());

    for (const [, route] of routes) {
      const integrationId = route.Properties!.Target['Fn::Join'][1][1].Ref as string;
      const integration = resources[integrationId]!;
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY' });
      const fn = logicalId(ROUTES[route.Properties!.RouteKey as keyof typeof ROUTES]);
      expect(json(integration.Properties!.IntegrationUri)).toContain(json({ 'Fn::GetAtt': [fn, 'Arn'] }));
    }
  });

  it('deploys a throttled, logged stage only after the schema is migrated', () => {
    template.hasResource('AWS::ApiGatewayV2::Stage', {
      Properties: Match.objectLike({
        StageName: 'prod',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingBurstLimit: 500, ThrottlingRateLimit: 1000 },
        AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      }),
      DependsOn: Match.arrayWith(['Migrations']),
    });
  });

  it('throttles each costly route below the stage default, and deploys the stage after its routes', () => {
    const [, stage] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    const throttle = (rate: number, burst: number) => ({ ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst });
    expect(stage.Properties!.RouteSettings).toEqual({
      $connect: throttle(50, 100),
      $default: throttle(10, 20),
      auth: throttle(20, 40),
      join: throttle(50, 100),
      send: throttle(200, 400),
      history: throttle(100, 200),
      leave: throttle(50, 100),
    });
    // every per-route setting is below the stage's default, and names a real route
    for (const [key, t] of Object.entries<any>(stage.Properties!.RouteSettings)) {
      expect(ROUTE_KEYS, key).toContain(key);
      expect(t.ThrottlingRateLimit, key).toBeLessThan(stage.Properties!.DefaultRouteSettings.ThrottlingRateLimit);
    }
    // A route setting for a route not yet created fails the deploy.
    const routeIds = ofType('AWS::ApiGatewayV2::Route').map(([id]) => id);
    expect(stage.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it("gives API Gateway its account's CloudWatch Logs role before the logged stage deploys, and keeps it", () => {
    const [accountId, account] = ofType('AWS::ApiGateway::Account')[0]!;
    const roleId = account.Properties!.CloudWatchRoleArn['Fn::GetAtt'][0] as string;
    expect(account.Properties!.CloudWatchRoleArn).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    const role = resources[roleId]! as Resource & { DeletionPolicy?: string };
    expect(role.Properties!.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' } }),
    ]);
    expect(json(role.Properties!.ManagedPolicyArns)).toContain(':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs');
    // Other APIs in the account may log through it by the time this stack goes.
    expect(role.DeletionPolicy).toBe('Retain');
    template.hasResource('AWS::ApiGatewayV2::Stage', { DependsOn: Match.arrayWith([accountId]) });
  });

  it('prints WebUrl and WebSocketUrl', () => {
    template.hasOutput('WebUrl', { Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [Match.anyValue(), 'DomainName'] }]] } });
    template.hasOutput('WebSocketUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['wss://', '/prod'])] } });
  });
});

describe('the functions', () => {
  it('run Node 22 on arm64 in the VPC function subnets, with source maps and their own log group', () => {
    for (const id of ALL_FUNCTIONS) {
      const fn = resources[logicalId(id)]!.Properties!;
      expect(fn, id).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(fn.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(json(fn.VpcConfig.SubnetIds)).toMatch(/functionsSubnet1.*functionsSubnet2/);
      const logGroup = resources[fn.LoggingConfig.LogGroup.Ref]!;
      expect(logGroup.Properties).toMatchObject({ RetentionInDays: 30 });
    }
  });

  it('reach the database through the proxy as the app role, and the API through its stage; only migrate logs in as the master', () => {
    const envOf = (id: string) => resources[logicalId(id)]!.Properties!.Environment.Variables;
    const env = envOf('SendFunction');
    expect(env.DB_HOST).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DataProxy/), 'Endpoint'] });
    expect(json(env.GATEWAY_ENDPOINT)).toMatch(/"https:\/\/".*execute-api.*"\/prod"/);
    for (const id of APP_FUNCTIONS) {
      expect(envOf(id).DB_SECRET_ARN, id).toEqual({ Ref: expect.stringMatching(APP_SECRET) });
      expect(envOf(id), id).not.toHaveProperty('APP_DB_SECRET_ARN');
    }
    expect(envOf('MigrateFunction')).toMatchObject({
      DB_SECRET_ARN: { Ref: expect.stringMatching(MASTER_SECRET) },
      APP_DB_SECRET_ARN: { Ref: expect.stringMatching(APP_SECRET) },
    });
  });

  it('each has a reserved concurrency, the sweep and the migration one at a time, within an account of 1,000', () => {
    const reserved = Object.fromEntries(ALL_FUNCTIONS.map((id) => [id, resources[logicalId(id)]!.Properties!.ReservedConcurrentExecutions]));
    expect(reserved).toEqual({
      ConnectFunction: 30,
      DisconnectFunction: 10,
      DefaultFunction: 5,
      AuthFunction: 10,
      JoinFunction: 10,
      SendFunction: 50,
      HistoryFunction: 20,
      LeaveFunction: 10,
      SweepFunction: 1,
      MigrateFunction: 1,
      // 50 for fan-out batches, 5 for presence (E23)
      FanoutFunction: 55,
      UnsubscribeFunction: 2,
      BouncesFunction: 1,
    });
    // Lambda keeps 100 of the account's concurrency unreserved; the default account limit is 1,000.
    const total = Object.values(reserved).reduce((a: number, b) => a + (b as number), 0);
    expect(total).toBeLessThanOrEqual(1000 - 100);
  });

  it('take their settings from props: sender on auth and $default, invite code on auth only, origins on connect', () => {
    const envOf = (id: string) => resources[logicalId(id)]!.Properties!.Environment.Variables as Record<string, unknown>;
    expect(envOf('AuthFunction')).toMatchObject({ MAIL_TRANSPORT: 'ses', MAIL_FROM: 'Wild Whispers <chat@example.org>', INVITE_CODE: 'open-sesame' });
    expect(json(envOf('ConnectFunction').ALLOWED_ORIGINS)).toContain('https://chat.example.org');
    expect(json(envOf('ConnectFunction').ALLOWED_ORIGINS)).toContain('DomainName'); // the CloudFront site itself
    // $default mails email-change codes and password notices (E18)
    expect(envOf('DefaultFunction')).toMatchObject({ MAIL_TRANSPORT: 'ses', MAIL_FROM: 'Wild Whispers <chat@example.org>' });
    for (const id of ALL_FUNCTIONS.filter((f) => f !== 'AuthFunction')) expect(envOf(id), id).not.toHaveProperty('INVITE_CODE');
    // the sweep mails notices (E24), with links to the site and the unsubscribe endpoint
    expect(envOf('SweepFunction')).toMatchObject({ MAIL_TRANSPORT: 'ses', MAIL_FROM: 'Wild Whispers <chat@example.org>' });
    expect(json(envOf('SweepFunction').PUBLIC_URL)).toContain('DomainName');
    expect(json(envOf('SweepFunction').UNSUBSCRIBE_URL)).toMatch(/^\{"Fn::GetAtt":\["UnsubscribeFunctionFunctionUrl[0-9A-F]+","FunctionUrl"\]\}$/);
    for (const id of ALL_FUNCTIONS.filter((f) => !['AuthFunction', 'DefaultFunction', 'SweepFunction'].includes(f))) {
      expect(envOf(id), id).not.toHaveProperty('MAIL_TRANSPORT');
    }
  });

  it('name the administrators (E22) by a stack parameter, to $default and auth only, and output what the admin CLI needs', () => {
    const envOf = (id: string) => resources[logicalId(id)]!.Properties!.Environment.Variables as Record<string, unknown>;
    // a parameter: changed at deploy time (`--parameters AdminUsers=…`) without a new build
    template.hasParameter('AdminUsers', { Type: 'String', Default: 'dana,root', AllowedPattern: '^[A-Za-z0-9_.,-]*$' });
    for (const id of ['DefaultFunction', 'AuthFunction']) expect(envOf(id), id).toMatchObject({ ADMIN_USERS: { Ref: 'AdminUsers' } });
    for (const id of ALL_FUNCTIONS.filter((f) => f !== 'AuthFunction' && f !== 'DefaultFunction')) expect(envOf(id), id).not.toHaveProperty('ADMIN_USERS');
    template.hasOutput('DatabaseSecretArn', { Value: { Ref: Match.stringLikeRegexp('AppSecret') } });
    template.hasOutput('DatabaseEndpoint', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'Endpoint.Address'] } });
    // without the setting, the parameter is empty: nobody is an administrator
    const bare = new ChatStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bare', { senderEmail: 'chat@example.org' });
    Template.fromStack(bare).hasParameter('AdminUsers', { Default: '' });
  });

  it('sweeps connections, and expired disappearing messages, every minute on a schedule', () => {
    // every minute: disappearing messages are deleted within a minute of expiry
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Description: Match.stringLikeRegexp('expired disappearing messages'),
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId('SweepFunction'), 'Arn'] } })],
    });
  });

  it('alarm on errors and throttles of every function, to the alarm topic', () => {
    for (const id of ALL_FUNCTIONS) {
      for (const metric of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          MetricName: metric,
          Namespace: 'AWS/Lambda',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(id) } }],
          AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
        });
      }
    }
  });

  it('count security events of every function, in total and by event, with an alarm on a burst and one on any oversized reply', () => {
    for (const id of ALL_FUNCTIONS) {
      const logGroup = { Ref: resources[logicalId(id)]!.Properties!.LoggingConfig.LogGroup.Ref };
      const filters = ofType('AWS::Logs::MetricFilter')
        .map(([, f]) => f.Properties!)
        .filter((f) => json(f.LogGroupName) === json(logGroup) && f.FilterPattern === '{ $.security = "*" }');
      expect(filters.map((f) => f.MetricTransformations), id).toEqual(
        expect.arrayContaining([
          [{ MetricNamespace: 'WildWhispers', MetricName: 'SecurityEvents', MetricValue: '1' }],
          [{ MetricNamespace: 'WildWhispers', MetricName: 'SecurityEvents', MetricValue: '1', Dimensions: [{ Key: 'Event', Value: '$.security' }] }],
        ]),
      );
      expect(filters, id).toHaveLength(2);
    }
    const toTopic = [{ Ref: Match.stringLikeRegexp('^Alarms') }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'WildWhispers',
      MetricName: 'SecurityEvents',
      Dimensions: Match.absent(),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 50,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: toTopic,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'WildWhispers',
      MetricName: 'SecurityEvents',
      Dimensions: [{ Name: 'Event', Value: 'reply_too_large' }],
      Threshold: 1,
      AlarmActions: toTopic,
    });
  });

  it('count logged errors of every function into one metric, with its own alarm', () => {
    for (const id of ALL_FUNCTIONS) {
      const fn = resources[logicalId(id)]!.Properties!;
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: fn.LoggingConfig.LogGroup.Ref },
        FilterPattern: '{ $.level = "error" }',
        MetricTransformations: [{ MetricNamespace: 'WildWhispers', MetricName: 'LoggedErrors', MetricValue: '1' }],
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'WildWhispers', MetricName: 'LoggedErrors', AlarmActions: [Match.anyValue()] });
  });
});

describe('email notices (E24)', () => {
  it('the unsubscribe endpoint is a function URL without IAM auth (the signed link is the credential), output as UnsubscribeUrl', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [logicalId('UnsubscribeFunction'), 'Arn'] },
    });
    expect(ofType('AWS::Lambda::Url')).toHaveLength(1);
    template.hasOutput('UnsubscribeUrl', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^UnsubscribeFunctionFunctionUrl'), 'FunctionUrl'] } });
  });

  it('SES publishes bounces and complaints through a configuration set on the identity to a TLS-only topic the bounces function hears', () => {
    const [[setId]] = ofType('AWS::SES::ConfigurationSet') as [[string, Resource]];
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'chat@example.org',
      ConfigurationSetAttributes: { ConfigurationSetName: { Ref: setId } },
    });
    const topicId = logicalId('MailEvents');
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: setId },
      EventDestination: Match.objectLike({
        Enabled: true,
        MatchingEventTypes: ['bounce', 'complaint'],
        SnsDestination: { TopicARN: { Ref: topicId } },
      }),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: topicId },
      Endpoint: { 'Fn::GetAtt': [logicalId('BouncesFunction'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('least-privilege IAM', () => {
  /** Statements of the policies attached to function `id`'s role (inline and default policy). */
  function statementsOf(id: string): any[] {
    const roleId = resources[logicalId(id)]!.Properties!.Role['Fn::GetAtt'][0] as string;
    const inline = (resources[roleId]!.Properties!.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
    const attached = ofType('AWS::IAM::Policy')
      .filter(([, p]) => json(p.Properties!.Roles).includes(`"${roleId}"`))
      .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement);
    expect(resources[roleId]!.Properties!.ManagedPolicyArns, `${id} uses no AWS managed policy`).toBeUndefined();
    return [...inline, ...attached];
  }
  const actionsOf = (id: string) => statementsOf(id).flatMap((s) => [s.Action].flat()) as string[];

  it('only auth and $default (account changes, E18) may send email, and the sweep raw email (notices, E24), only from the sender address', () => {
    for (const id of ALL_FUNCTIONS) {
      const ses = statementsOf(id).filter((s) => json(s.Action).includes('ses:'));
      if (id === 'SweepFunction') {
        expect(ses).toEqual([
          expect.objectContaining({ Action: 'ses:SendRawEmail', Condition: { StringEquals: { 'ses:FromAddress': 'chat@example.org' } } }),
        ]);
        continue;
      }
      if (id !== 'AuthFunction' && id !== 'DefaultFunction') {
        expect(ses, id).toEqual([]);
        continue;
      }
      expect(ses).toEqual([
        expect.objectContaining({ Action: 'ses:SendEmail', Condition: { StringEquals: { 'ses:FromAddress': 'chat@example.org' } } }),
      ]);
    }
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'chat@example.org' });
  });

  it('functions that post may PostToConnection and DeleteConnection on this stage only; connect and migrate may not', () => {
    for (const id of ALL_FUNCTIONS) {
      const manage = statementsOf(id).filter((s) => s.Action === 'execute-api:ManageConnections');
      if (id === WORKER) {
        // The worker posts and never closes a connection.
        expect(manage).toHaveLength(1);
        expect(json(manage[0].Resource)).toContain('/prod/POST/@connections/*');
        expect(json(manage[0].Resource)).not.toContain('DELETE');
        continue;
      }
      if (!POSTING.includes(id)) {
        expect(manage, id).toEqual([]);
        continue;
      }
      expect(manage).toHaveLength(1);
      const arns = manage[0].Resource.map((r: unknown) => json(r));
      expect(arns).toHaveLength(2);
      expect(arns.find((a: string) => a.includes('/prod/POST/@connections/*'))).toContain(json({ Ref: stack.getLogicalId(stack.api.node.defaultChild as never) }));
      expect(arns.find((a: string) => a.includes('/prod/DELETE/@connections/*'))).toBeDefined();
    }
  });

  it('every function reads the app secret, migrate the master secret too, and nothing else in Secrets Manager; no wildcard actions', () => {
    const readsSecret = (pattern: RegExp) =>
      expect.objectContaining({
        Action: expect.toSatisfy((a: string[]) => [...a].sort().join() === 'secretsmanager:DescribeSecret,secretsmanager:GetSecretValue'),
        Resource: { Ref: expect.stringMatching(pattern) },
      });
    for (const id of ALL_FUNCTIONS) {
      const statements = statementsOf(id);
      const secrets = statements.filter((s) => json(s.Action).includes('secretsmanager:'));
      if (id === 'MigrateFunction') expect(secrets, id).toEqual(expect.arrayContaining([readsSecret(APP_SECRET), readsSecret(MASTER_SECRET)]));
      else if (PUSHING.includes(id)) {
        // *(E25)* read the VAPID keys, and write their first version (aws-vapid.ts), nothing more
        expect(secrets, id).toEqual(
          expect.arrayContaining([
            readsSecret(APP_SECRET),
            readsSecret(VAPID_SECRET),
            expect.objectContaining({ Action: 'secretsmanager:PutSecretValue', Resource: { Ref: expect.stringMatching(VAPID_SECRET) } }),
          ]),
        );
      } else expect(secrets, id).toEqual([readsSecret(APP_SECRET)]);
      expect(secrets, id).toHaveLength(id === 'MigrateFunction' ? 2 : PUSHING.includes(id) ? 3 : 1);
      expect(actionsOf(id).filter((a) => a.includes('*')), id).toEqual([]);
      // The only Resource "*" is Lambda's VPC networking and X-Ray's two write actions, which have no resource-level permissions.
      for (const s of statements.filter((s) => s.Resource === '*')) {
        expect([s.Action].flat().every((a: string) => a.startsWith('ec2:') || a === 'xray:PutTraceSegments' || a === 'xray:PutTelemetryRecords'), id).toBe(true);
      }
      // Logs go to the function's own group only.
      const logs = statements.find((s) => json(s.Action).includes('logs:PutLogEvents'));
      expect(logs.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${id}Logs`)), 'Arn'] });
    }
  });
});

describe('the database logins', () => {
  /** Roles whose policies (inline or attached) name the secret `pattern` matches. */
  function rolesReading(pattern: RegExp): string[] {
    const names = (statement: any) => json(statement.Resource).match(new RegExp(`"Ref":"${pattern.source.slice(1)}[A-Za-z0-9]*"`)) !== null;
    const roles = new Set<string>();
    for (const [roleId, role] of ofType('AWS::IAM::Role')) {
      for (const p of role.Properties!.Policies ?? []) if (p.PolicyDocument.Statement.some(names)) roles.add(roleId);
    }
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      if (!policy.Properties!.PolicyDocument.Statement.some(names)) continue;
      for (const r of policy.Properties!.Roles) roles.add(r.Ref);
    }
    return [...roles].sort();
  }
  const roleOf = (id: string) => resources[logicalId(id)]!.Properties!.Role['Fn::GetAtt'][0] as string;
  const proxyRole = () => resources[ofType('AWS::RDS::DBProxy')[0]![0]]!.Properties!.RoleArn['Fn::GetAtt'][0] as string;

  it('only the migration function (and the proxy) can read the master secret', () => {
    expect(rolesReading(MASTER_SECRET)).toEqual([roleOf('MigrateFunction'), proxyRole()].sort());
  });

  it('every function and the proxy read the app secret, a generated password for chat_app', () => {
    expect(rolesReading(APP_SECRET)).toEqual([...ALL_FUNCTIONS.map(roleOf), proxyRole()].sort());
    const [, appSecret] = ofType('AWS::SecretsManager::Secret').find(([id]) => APP_SECRET.test(id))!;
    expect(appSecret.Properties!.GenerateSecretString).toMatchObject({
      GenerateStringKey: 'password',
      SecretStringTemplate: json({ username: 'chat_app', dbname: 'chat' }),
      PasswordLength: 30,
    });
  });

  it('the migration re-runs, creating or updating the app role, when the app secret or its grants change', () => {
    const grants = createHash('sha256').update(readFileSync(new URL('../../functions/adapters/app-role.ts', import.meta.url))).digest('hex');
    template.hasResourceProperties('Custom::SchemaMigrations', { appSecret: { Ref: Match.stringLikeRegexp('^DataAppSecret') }, appRole: grants });
    // and the sweep, which logs in as the app role, starts only after it
    template.hasResource('AWS::Events::Rule', { DependsOn: Match.arrayWith(['Migrations']) });
    // and on an upgrade no function switches to the app secret before the role exists
    for (const id of APP_FUNCTIONS) expect(resources[logicalId(id)]!.DependsOn, id).toContain('Migrations');
  });
});

describe('the database', () => {
  it('is PostgreSQL 16, encrypted, not public, in the isolated subnets, sized from props, protected', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: '16',
      DBInstanceClass: 'db.t4g.small',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      DeletionProtection: true,
      MasterUsername: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: [{ Ref: Match.stringLikeRegexp('databaseSubnet1') }, { Ref: Match.stringLikeRegexp('databaseSubnet2') }],
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }) });
  });

  it('sits behind RDS Proxy, which requires TLS and takes the master and the app secrets', () => {
    template.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      Auth: [
        Match.objectLike({ AuthScheme: 'SECRETS', SecretArn: { Ref: Match.stringLikeRegexp('^DataPostgresSecretAttachment') } }),
        Match.objectLike({ AuthScheme: 'SECRETS', SecretArn: { Ref: Match.stringLikeRegexp('^DataAppSecret') } }),
      ],
      VpcSubnetIds: [{ Ref: Match.stringLikeRegexp('databaseSubnet1') }, { Ref: Match.stringLikeRegexp('databaseSubnet2') }],
    });
    template.resourceCountIs('AWS::RDS::DBProxyTargetGroup', 1);
  });

  it('lets only the functions reach the proxy and only the proxy reach PostgreSQL', () => {
    const ingress = ofType('AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties!);
    expect(ingress).toHaveLength(2);
    const toProxy = ingress.find((i) => json(i.GroupId).includes('DataProxyGroup'))!;
    expect(toProxy).toMatchObject({ FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^DataFunctions/), 'GroupId'] } });
    const toDb = ingress.find((i) => json(i.GroupId).includes('DataDatabaseGroup'))!;
    expect(toDb.SourceSecurityGroupId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DataProxyGroup/), 'GroupId'] });
    for (const [, sg] of ofType('AWS::EC2::SecurityGroup')) expect(json(sg.Properties!.SecurityGroupIngress ?? [])).not.toContain('0.0.0.0/0');
  });

  it('is migrated by a custom resource that re-runs when schema/*.sql changes', () => {
    const dir = new URL('../../schema/', import.meta.url);
    const hash = createHash('sha256');
    for (const f of readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()) hash.update(f).update('\0').update(readFileSync(new URL(f, dir))).update('\0');
    template.hasResource('Custom::SchemaMigrations', {
      Properties: Match.objectLike({ fingerprint: hash.digest('hex') }),
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('^DataProxy')]),
    });
  });
});

describe('egress', () => {
  it("the functions' security group goes out only to HTTPS and to the proxy's port on the proxy's group", () => {
    const [groupId, group] = ofType('AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('DataFunctions'))!;
    // No allow-all rule (IpProtocol "-1"): inline, only HTTPS.
    expect(group.Properties!.SecurityGroupEgress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' })]);
    const separate = ofType('AWS::EC2::SecurityGroupEgress')
      .map(([, r]) => r.Properties!)
      .filter((r) => json(r.GroupId) === json({ 'Fn::GetAtt': [groupId, 'GroupId'] }));
    expect(separate).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        DestinationSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^DataProxyGroup/), 'GroupId'] },
      }),
    ]);
    for (const id of ALL_FUNCTIONS) {
      expect(resources[logicalId(id)]!.Properties!.VpcConfig.SecurityGroupIds, id).toEqual([{ 'Fn::GetAtt': [groupId, 'GroupId'] }]);
    }
  });

  it('one NAT gateway serves the function subnets; the database subnets have no route out', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    const routes = ofType('AWS::EC2::Route').map(([, r]) => r.Properties!);
    const viaNat = routes.filter((r) => r.NatGatewayId);
    expect(viaNat.map((r) => r.RouteTableId.Ref).sort()).toEqual([expect.stringMatching(/functionsSubnet1/), expect.stringMatching(/functionsSubnet2/)]);
    expect(routes.filter((r) => json(r.RouteTableId).includes('databaseSubnet'))).toEqual([]);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });
});

describe('the web client', () => {
  it('is a private bucket read by CloudFront through origin access control', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https', ResponseHeadersPolicyId: Match.anyValue() }),
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue() })],
      }),
    });
  });

  it('sends a strict CSP whose connect-src is the WebSocket API, HSTS, nosniff, no framing', () => {
    const [, policy] = ofType('AWS::CloudFront::ResponseHeadersPolicy')[0]!;
    const security = policy.Properties!.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const parts = security.ContentSecurityPolicy.ContentSecurityPolicy['Fn::Join'][1] as unknown[];
    const csp = parts.map((p) => (typeof p === 'string' ? p : `<${json(p)}>`)).join('');
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    const filesOrigin = `https://<{"Fn::Join":["-",["wildwhispers-files",{"Ref":"AWS::AccountId"},{"Ref":"AWS::Region"}]]}>.s3.<{"Ref":"AWS::Region"}>.<{"Ref":"AWS::URLSuffix"}>`;
    expect(directives['connect-src']).toEqual([
      "'self'",
      `wss://<{"Ref":"${stack.getLogicalId(stack.api.node.defaultChild as never)}"}>.execute-api.<{"Ref":"AWS::Region"}>.<{"Ref":"AWS::URLSuffix"}>`,
      filesOrigin,
    ]);
    expect(directives['img-src']).toEqual(["'self'", 'data:', filesOrigin]);
    expect(security.ContentSecurityPolicy.Override).toBe(true);
    expect(security.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true });
    expect(security.ContentTypeOptions).toEqual({ Override: true });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
  });

  it('deploys config.json with the WebSocket URL beside the site and invalidates the CDN', () => {
    const [, deployment] = ofType('Custom::CDKBucketDeployment')[0]!;
    expect(deployment.Properties!.SourceObjectKeys).toHaveLength(2); // the site, and config.json
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      SourceMarkers: [{}, Match.objectLike({ '<<marker:0xbaba:0>>': { Ref: stack.getLogicalId(stack.api.node.defaultChild as never) } })],
      DistributionPaths: ['/*'],
    });
  });
});

describe('portability and review', () => {
  it('is environment-agnostic: no account id or region is written into the template', () => {
    expect(stack.environment).toBe('aws://unknown-account/unknown-region');
    const text = json(template.toJSON());
    expect(text).not.toMatch(/\b\d{12}\b/);
    expect(text).not.toMatch(/\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|northeast|southeast)-\d\b/);
  });

  it("passes cdk-nag's AwsSolutions pack with no unacknowledged finding, and every acknowledgement has a reason", () => {
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);

    const reasons: string[] = [];
    for (const c of stack.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) reasons.push(...Object.values(m.data as Record<string, string>));
      }
    }
    expect(reasons.length).toBeGreaterThan(10);
    for (const reason of reasons) expect(String(reason).length).toBeGreaterThan(30);
  });
});

describe('the files bucket', () => {
  const bucketId = () => stack.getLogicalId(stack.files.bucket.node.defaultChild as never);

  it('is private and encrypted, takes TLS only, and lets only the site POST to it from a browser', () => {
    const bucket = resources[bucketId()]!.Properties!;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }]);
    expect(bucket.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    const [rule, ...more] = bucket.CorsConfiguration.CorsRules;
    expect(more).toEqual([]);
    expect(rule.AllowedMethods).toEqual(['POST']);
    const [distribution] = ofType('AWS::CloudFront::Distribution')[0]!;
    expect(json(rule.AllowedOrigins)).toBe(json([{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]] }]));
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId() },
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      }),
    });
  });

  it('deletes uploads still tagged pending after a day, and unfinished multipart uploads', () => {
    const rules = resources[bucketId()]!.Properties!.LifecycleConfiguration.Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        { Id: 'unattached-uploads', Prefix: 'files/', TagFilters: [{ Key: 'state', Value: 'pending' }], ExpirationInDays: 1, Status: 'Enabled' },
        { Id: 'unfinished-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      ]),
    );
  });

  it('grants each function only the actions it uses, on files/* only; the others none', () => {
    const prefix = json({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId(), 'Arn'] }, '/files/*']] });
    const s3Statements = (fn: string) => {
      const roleId = resources[logicalId(fn)]!.Properties!.Role['Fn::GetAtt'][0] as string;
      return ofType('AWS::IAM::Policy')
        .filter(([, p]) => json(p.Properties!.Roles).includes(`"${roleId}"`))
        .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((st) => [st.Action].flat().some((a) => a.startsWith('s3:')));
    };
    const expected: Record<string, string[]> = {
      DefaultFunction: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
      SendFunction: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
      SweepFunction: ['s3:DeleteObject'],
    };
    for (const fn of ALL_FUNCTIONS) {
      const statements = s3Statements(fn);
      expect(statements.flatMap((st) => [st.Action].flat()).sort(), fn).toEqual(expected[fn] ?? []);
      for (const st of statements) expect(json(st.Resource), fn).toBe(prefix);
    }
    for (const fn of Object.keys(expected)) {
      expect(resources[logicalId(fn)]!.Properties!.Environment.Variables.FILES_BUCKET).toEqual({ Ref: bucketId() });
    }
  });
});

describe('fan-out', () => {
  const queueId = () => stack.getLogicalId(stack.fanout.queue.node.defaultChild as never);
  const deadLettersId = () => stack.getLogicalId(stack.fanout.deadLetters.node.defaultChild as never);
  function statementsOf(id: string): any[] {
    const roleId = resources[logicalId(id)]!.Properties!.Role['Fn::GetAtt'][0] as string;
    const inline = (resources[roleId]!.Properties!.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
    const attached = ofType('AWS::IAM::Policy')
      .filter(([, p]) => json(p.Properties!.Roles).includes(`"${roleId}"`))
      .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement);
    return [...inline, ...attached];
  }
  const sqsStatements = (id: string) => statementsOf(id).filter((s) => json(s.Action).includes('sqs:'));

  it('has an encrypted, TLS-only queue whose batches go to a dead-letter queue after 3 failed receives', () => {
    const queue = resources[queueId()]!.Properties!;
    expect(queue).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 60, // six times the worker's 10 s
      MessageRetentionPeriod: 3600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLettersId(), 'Arn'] }, maxReceiveCount: 3 },
    });
    expect(resources[deadLettersId()]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    for (const id of [queueId(), deadLettersId()]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('feeds the worker through an event source mapping with partial batch responses and a concurrency cap', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties!)
      .filter((m) => json(m.EventSourceArn) === json({ 'Fn::GetAtt': [queueId(), 'Arn'] }));
    expect(mappings).toHaveLength(1);
    expect(ofType('AWS::Lambda::EventSourceMapping')).toHaveLength(2);
    expect(mappings[0]).toMatchObject({
      FunctionName: { Ref: logicalId(WORKER) },
      EventSourceArn: { 'Fn::GetAtt': [queueId(), 'Arn'] },
      BatchSize: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    const worker = resources[logicalId(WORKER)]!.Properties!;
    expect(worker.Timeout).toBe(10);
    expect(worker.ReservedConcurrentExecutions).toBeGreaterThanOrEqual(50 + 5);
    expect(worker.Environment.Variables).toMatchObject({
      POST_CONCURRENCY: '64',
      FANOUT_MAX_ATTEMPTS: '3',
      FANOUT_QUEUE_URL: { Ref: queueId() },
      FANOUT_DLQ_URL: { Ref: deadLettersId() },
    });
  });

  const presenceId = () => stack.getLogicalId(stack.fanout.presence.node.defaultChild as never);

  it('(E23) has an encrypted, TLS-only presence queue, read by the worker in batches gathered over a 1 s window', () => {
    expect(resources[presenceId()]!.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 60,
      MessageRetentionPeriod: 300,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLettersId(), 'Arn'] }, maxReceiveCount: 3 },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: presenceId() }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const mappings = ofType('AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties!)
      .filter((m) => json(m.EventSourceArn) === json({ 'Fn::GetAtt': [presenceId(), 'Arn'] }));
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toMatchObject({
      FunctionName: { Ref: logicalId(WORKER) },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('(E23) every function that posts may queue presence (SendMessage on the presence queue, its URL in the environment); connect and migrate may not', () => {
    for (const id of ALL_FUNCTIONS) {
      const env = resources[logicalId(id)]!.Properties!.Environment.Variables;
      const sends = sqsStatements(id).filter((s) => json(s.Resource) === json({ 'Fn::GetAtt': [presenceId(), 'Arn'] }));
      if (!POSTING.includes(id) && id !== WORKER) {
        expect(sends, id).toEqual([]);
        expect(env, id).not.toHaveProperty('PRESENCE_QUEUE_URL');
        continue;
      }
      expect(env, id).toMatchObject({ PRESENCE_QUEUE_URL: { Ref: presenceId() } });
      expect([...new Set(sends.flatMap((s) => [s.Action].flat()))].sort(), id).toEqual(
        id === WORKER
          ? ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'sqs:SendMessage']
          : ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      );
    }
  });

  it('every function that posts may queue a broadcast (SendMessage on the fan-out queue only, with its settings); connect and migrate may not', () => {
    for (const id of ALL_FUNCTIONS) {
      const env = resources[logicalId(id)]!.Properties!.Environment.Variables;
      const sqs = sqsStatements(id);
      if (!POSTING.includes(id) && id !== WORKER) {
        expect(sqs, id).toEqual([]);
        expect(env, id).not.toHaveProperty('FANOUT_QUEUE_URL');
        continue;
      }
      expect(env, id).toMatchObject({ FANOUT_QUEUE_URL: { Ref: queueId() }, FANOUT_DIRECT_MAX: '500', FANOUT_BATCH_IDS: '100' });
      const sends = sqs.filter((s) => json(s.Resource) === json({ 'Fn::GetAtt': [queueId(), 'Arn'] }));
      expect([...new Set(sends.flatMap((s) => [s.Action].flat()))].sort(), id).toEqual(
        id === WORKER
          ? ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'sqs:SendMessage']
          : ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      );
      // Only the worker reaches the dead-letter queue, and only to put a batch there.
      const dead = sqs.filter((s) => json(s.Resource).includes(deadLettersId()));
      if (id === WORKER) expect(dead.flatMap((s) => [s.Action].flat()).sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
      else expect(dead, id).toEqual([]);
      expect(sqs.every((s) => s.Resource !== '*'), id).toBe(true);
    }
  });

  it('alarms on any dead letter and on batches waiting 30 s or more', () => {
    const toTopic = [{ Ref: Match.stringLikeRegexp('^Alarms') }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLettersId(), 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: toTopic,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId(), 'QueueName'] } }],
      Threshold: 30,
      AlarmActions: toTopic,
    });
  });

  it('traces every function with X-Ray, Powertools naming the service and the metrics namespace', () => {
    for (const id of ALL_FUNCTIONS) {
      const fn = resources[logicalId(id)]!.Properties!;
      expect(fn.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(fn.Environment.Variables, id).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'wild-whispers', POWERTOOLS_METRICS_NAMESPACE: 'WildWhispers' });
      const xray = statementsOf(id).filter((s) => json(s.Action).includes('xray:'));
      expect(xray.flatMap((s) => [s.Action].flat()).sort(), id).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
  });

  it('has a dashboard of sends, fan-out size, time to last delivery, gone connections, throttles, the queue and the worker', () => {
    const [dashboard] = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboard).toBeDefined();
    const body = json(dashboard![1].Properties!.DashboardBody);
    for (const metric of ['Sends', 'FanoutSize', 'TimeToLastDelivery', 'GoneConnections', 'Throttles', 'PostFailures', 'FanoutDeadLettered', 'ApproximateAgeOfOldestMessage', 'LoggedErrors']) {
      expect(body, metric).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('WildWhispers');
    expect(body).toContain('wild-whispers');
    expect(body).toContain(logicalId(WORKER));
    template.hasOutput('DashboardName', {});
  });
});

describe('web push (E25)', () => {
  it('keeps the VAPID keys in a secret of their own, generated with a placeholder, named only to send and $default', () => {
    const [[id, secret]] = [ofType('AWS::SecretsManager::Secret').find(([id]) => VAPID_SECRET.test(id))!];
    expect(secret.Properties!.GenerateSecretString).toMatchObject({ SecretStringTemplate: json({ pending: true }), GenerateStringKey: 'placeholder' });
    for (const [fnId, fn] of ofType('AWS::Lambda::Function')) {
      const env = fn.Properties!.Environment?.Variables ?? {};
      const pushes = PUSHING.some((p) => fnId.startsWith(p));
      expect(env.VAPID_SECRET_ARN === undefined, fnId).toBe(!pushes);
      if (pushes) {
        expect(env.VAPID_SECRET_ARN, fnId).toEqual({ Ref: id });
        expect(env.PUSH_SUBJECT, fnId).toBe('mailto:chat@example.org');
      }
    }
  });
});
