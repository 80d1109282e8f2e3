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
const POSTING = ['DisconnectFunction', 'DefaultFunction', 'AuthFunction', 'JoinFunction', 'SendFunction', 'HistoryFunction', 'LeaveFunction', 'SweepFunction'];
const ALL_FUNCTIONS = [...Object.values(ROUTES), 'SweepFunction', 'MigrateFunction'];

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

  it('reach the database through the proxy with the secret, and the API through its stage', () => {
    const env = resources[logicalId('SendFunction')]!.Properties!.Environment.Variables;
    expect(env.DB_HOST).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DataProxy/), 'Endpoint'] });
    expect(env.DB_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^DataPostgresSecretAttachment/) });
    expect(json(env.GATEWAY_ENDPOINT)).toMatch(/"https:\/\/".*execute-api.*"\/prod"/);
  });

  it('take their settings from props: sender and invite code on auth only, origins on connect', () => {
    const envOf = (id: string) => resources[logicalId(id)]!.Properties!.Environment.Variables as Record<string, unknown>;
    expect(envOf('AuthFunction')).toMatchObject({ MAIL_TRANSPORT: 'ses', MAIL_FROM: 'Wild Whispers <chat@example.org>', INVITE_CODE: 'open-sesame' });
    expect(json(envOf('ConnectFunction').ALLOWED_ORIGINS)).toContain('https://chat.example.org');
    expect(json(envOf('ConnectFunction').ALLOWED_ORIGINS)).toContain('DomainName'); // the CloudFront site itself
    for (const id of ALL_FUNCTIONS.filter((f) => f !== 'AuthFunction')) {
      expect(envOf(id), id).not.toHaveProperty('INVITE_CODE');
      expect(envOf(id), id).not.toHaveProperty('MAIL_TRANSPORT');
    }
  });

  it('sweeps connections every minute on a schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
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

  it('only auth may send email, only from the sender address', () => {
    for (const id of ALL_FUNCTIONS) {
      const ses = statementsOf(id).filter((s) => json(s.Action).includes('ses:'));
      if (id !== 'AuthFunction') {
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

  it('every function reads the database secret and nothing else in Secrets Manager; no wildcard actions', () => {
    for (const id of ALL_FUNCTIONS) {
      const statements = statementsOf(id);
      const secrets = statements.filter((s) => json(s.Action).includes('secretsmanager:'));
      expect(secrets, id).toEqual([
        expect.objectContaining({
          Action: expect.toSatisfy((a: string[]) => [...a].sort().join() === 'secretsmanager:DescribeSecret,secretsmanager:GetSecretValue'),
          Resource: { Ref: expect.stringMatching(/^DataPostgresSecretAttachment/) },
        }),
      ]);
      expect(actionsOf(id).filter((a) => a.includes('*')), id).toEqual([]);
      // The only Resource "*" is Lambda's VPC networking, which has no resource-level permissions.
      for (const s of statements.filter((s) => s.Resource === '*')) expect(s.Action.every((a: string) => a.startsWith('ec2:')), id).toBe(true);
      // Logs go to the function's own group only.
      const logs = statements.find((s) => json(s.Action).includes('logs:PutLogEvents'));
      expect(logs.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${id}Logs`)), 'Arn'] });
    }
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

  it('sits behind RDS Proxy, which requires TLS and takes the generated secret', () => {
    template.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      Auth: [Match.objectLike({ AuthScheme: 'SECRETS', SecretArn: { Ref: Match.stringLikeRegexp('^DataPostgresSecretAttachment') } })],
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
    expect(directives['connect-src']).toEqual(["'self'", `wss://<{"Ref":"${stack.getLogicalId(stack.api.node.defaultChild as never)}"}>.execute-api.<{"Ref":"AWS::Region"}>.<{"Ref":"AWS::URLSuffix"}>`]);
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
