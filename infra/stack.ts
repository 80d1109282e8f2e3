// The whole service in one stack. Read it as a route table: one line a route, each
// route its own function; then the database, the schedule, the web client.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { ArnFormat, CfnOutput, CustomResource, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { EmailIdentity, Identity } from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { ChatDatabase, DATABASE_NAME } from './database.js';
import { ChatFunction, type ChatFunctionProps, LOGGED_ERRORS, PROJECT_ROOT } from './function.js';
import { suppressReviewedFindings } from './nag.js';
import { WebSite } from './web.js';

export interface ChatStackProps extends StackProps {
  /** the address codes are mailed from; SES sends it a verification link on deploy */
  senderEmail: string;
  /** the name shown beside it */
  senderName?: string;
  /** web origins allowed to open a socket besides the CloudFront site */
  allowedOrigins?: string[];
  /** where set, registration requires it */
  inviteCode?: string;
  /** RDS instance class without the "db." prefix; default t4g.micro */
  dbInstanceType?: string;
  dbMultiAz?: boolean;
  /** deletion protection and a final snapshot; default true */
  protectData?: boolean;
  /** NAT gateways for the functions' egress: 1 (default) or 2 for zone redundancy */
  natGateways?: number;
  /** alarms notify this address (an SNS email subscription) */
  alarmEmail?: string;
  /** the built web client; default web/dist */
  webDist?: string;
}

const STAGE = 'prod';
const SCHEMA_DIR = `${PROJECT_ROOT}schema`;

/** Changes whenever a migration file is added or edited, so the deploy re-runs the runner. */
function migrationsFingerprint(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()) {
    hash.update(file).update('\0').update(readFileSync(`${SCHEMA_DIR}/${file}`)).update('\0');
  }
  return hash.digest('hex');
}

export class ChatStack extends Stack {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly database: ChatDatabase;
  readonly web: WebSite;
  readonly functions: Record<string, ChatFunction> = {};

  constructor(scope: Construct, id: string, props: ChatStackProps) {
    super(scope, id, props);

    const alarms = new Topic(this, 'Alarms', { displayName: 'Wild Whispers alarms', enforceSSL: true });
    if (props.alarmEmail) alarms.addSubscription(new EmailSubscription(props.alarmEmail));

    this.database = new ChatDatabase(this, 'Data', {
      instanceType: props.dbInstanceType ?? 't4g.micro',
      multiAz: props.dbMultiAz ?? false,
      protect: props.protectData ?? true,
      natGateways: props.natGateways ?? 1,
    });
    const { vpc, proxy, secret, functionsSecurityGroup } = this.database;

    this.api = new WebSocketApi(this, 'Api', {
      apiName: 'wild-whispers',
      description: 'Wild Whispers chat: one route per action',
      routeSelectionExpression: '$request.body.action',
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: STAGE,
      autoDeploy: true,
      throttle: { rateLimit: 1000, burstLimit: 500 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(
          new LogGroup(this, 'ApiAccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
        ),
      },
    });
    const webSocketOrigin = `wss://${this.api.apiId}.execute-api.${this.region}.${this.urlSuffix}`;

    this.web = new WebSite(this, 'Web', {
      distDir: props.webDist ?? `${PROJECT_ROOT}web/dist`,
      webSocketUrl: this.stage.url,
      webSocketOrigin,
    });

    const shared: Record<string, string> = {
      DB_SECRET_ARN: secret.secretArn,
      DB_HOST: proxy.endpoint,
      DB_NAME: DATABASE_NAME,
      GATEWAY_ENDPOINT: this.stage.callbackUrl,
      LOG_LEVEL: 'info',
    };
    // SES: the sender identity, and SendEmail from that address for the function that mails.
    new EmailIdentity(this, 'Sender', { identity: Identity.email(props.senderEmail) });
    const mailEnvironment = {
      MAIL_TRANSPORT: 'ses',
      MAIL_FROM: `${props.senderName ?? 'Wild Whispers'} <${props.senderEmail}>`,
      SES_REGION: this.region,
    };
    const sendEmailFromSender = new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['ses:SendEmail'],
      // In the SES sandbox the recipient's identity is authorized too, hence the
      // account's identities; the condition pins the From address.
      resources: [`arn:${this.partition}:ses:${this.region}:${this.account}:identity/*`],
      conditions: { StringEquals: { 'ses:FromAddress': props.senderEmail } },
    });
    type FunctionOptions = Partial<ChatFunctionProps> & { mail?: boolean };
    const fn = (source: string, { mail = false, ...extra }: FunctionOptions = {}) => {
      const f = new ChatFunction(this, `${source[0]!.toUpperCase()}${source.slice(1)}Function`, {
        source,
        vpc,
        securityGroup: functionsSecurityGroup,
        alarmTopic: alarms,
        ...extra,
        environment: { ...shared, ...(mail ? mailEnvironment : {}), ...extra.environment },
      });
      secret.grantRead(f);
      if (mail) f.addToRolePolicy(sendEmailFromSender);
      this.functions[source] = f;
      return f;
    };
    // PostToConnection and DeleteConnection on this stage's connections, nothing else.
    const connectionsArns = ['POST', 'DELETE'].map((method) =>
      this.formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: `${STAGE}/${method}/@connections/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
    );
    const grantManageConnections = (f: ChatFunction) =>
      f.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['execute-api:ManageConnections'], resources: connectionsArns }));
    /** A route: its key, its function; `posts` grants ManageConnections. */
    const route = (key: string, source: string, options: FunctionOptions & { posts?: boolean } = {}) => {
      const { posts = true, ...extra } = options;
      const f = fn(source, extra);
      this.api.addRoute(key, { integration: new WebSocketLambdaIntegration(`${source}Integration`, f) });
      if (posts) grantManageConnections(f);
      return f;
    };

    // ── the route table ──────────────────────────────────────────────────────
    route('$connect', 'connect', {
      posts: false,
      environment: { ALLOWED_ORIGINS: [this.web.url, ...(props.allowedOrigins ?? [])].join(',') },
    });
    route('$disconnect', 'disconnect');
    route('$default', 'default');
    // scrypt at OWASP's cost needs 128 MiB and a good share of a vCPU
    route('auth', 'auth', { memorySize: 1024, mail: true, environment: props.inviteCode ? { INVITE_CODE: props.inviteCode } : {} });
    route('join', 'join');
    route('send', 'send');
    route('history', 'history');
    route('leave', 'leave');
    // ─────────────────────────────────────────────────────────────────────────

    // Connection rows outlive sockets when $disconnect is missed: sweep every minute.
    const sweep = fn('sweep', { timeout: Duration.seconds(60) });
    grantManageConnections(sweep);
    new Rule(this, 'SweepSchedule', {
      description: 'Delete connection rows API Gateway no longer holds',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(sweep, { retryAttempts: 0 })],
    });

    // The schema: schema/*.sql beside the bundle, applied by the same runner as `npm start`.
    const migrate = fn('migrate', {
      timeout: Duration.minutes(5),
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (inputDir: string, outputDir: string) => [`mkdir -p "${outputDir}/schema"`, `cp "${inputDir}"/schema/*.sql "${outputDir}/schema/"`],
      },
    });
    const provider = new Provider(this, 'MigrationsProvider', {
      onEventHandler: migrate,
      logGroup: new LogGroup(this, 'MigrationsProviderLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
    });
    const migrations = new CustomResource(this, 'Migrations', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SchemaMigrations',
      properties: { fingerprint: migrationsFingerprint(), database: this.database.instance.instanceIdentifier },
    });
    // The whole data tier first: instance, proxy and its target, security group rules, NAT route.
    migrations.node.addDependency(this.database);
    // Clients arrive only once the schema is there.
    this.stage.node.addDependency(migrations);

    new Alarm(this, 'LoggedErrorsAlarm', {
      metric: new Metric({ ...LOGGED_ERRORS, statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A function logged an error (an internal error answered to a client, a failed post)',
    }).addAlarmAction(new SnsAction(alarms));

    new CfnOutput(this, 'WebUrl', { value: this.web.url, description: 'The web client' });
    new CfnOutput(this, 'WebSocketUrl', { value: this.stage.url, description: 'The WebSocket endpoint (wss://…/prod)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topicArn, description: 'Subscribe to hear about errors and throttles' });

    suppressReviewedFindings(this, { multiAz: props.dbMultiAz ?? false });
  }
}
