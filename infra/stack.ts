// The whole service in one stack. Read it as a route table: one line a route, each
// route its own function with its throttle and concurrency; then the database,
// the schedule, the alarms, the web client.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { ArnFormat, CfnOutput, CfnParameter, CustomResource, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import { type CfnStage, LogGroupLogDestination, type WebSocketRoute, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { FunctionUrlAuthType, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { ConfigurationSet, EmailIdentity, EmailSendingEvent, EventDestination, Identity } from 'aws-cdk-lib/aws-ses';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { ChatDatabase, DATABASE_NAME } from './database.js';
import { FilesBucket, filesBucketName, filesBucketOrigin } from './files.js';
import { ChatFunction, type ChatFunctionProps, LOGGED_ERRORS, PROJECT_ROOT, SECURITY_EVENTS } from './function.js';
import { chatDashboard } from './dashboard.js';
import { FANOUT, FanoutQueues, PRESENCE } from './fanout.js';
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
  /** *(E22)* the server's administrators, by username (ADMIN_USERS of `$default` and `auth`) */
  adminUsers?: string[];
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
  /** every route's throttle unless `routeThrottles` names it; default DEFAULT_API_THROTTLE */
  apiThrottle?: Throttle;
  /** per-route throttles (by route key), over ROUTE_THROTTLES */
  routeThrottles?: Record<string, Throttle>;
  /** reserved concurrency per function (by source name), over RESERVED_CONCURRENCY; false for none */
  reservedConcurrency?: Record<string, number> | false;
  /** security events in five minutes that raise the alarm; default 50 */
  securityAlarmThreshold?: number;
  /**
   * Give API Gateway its account-level role for CloudWatch Logs (the stage's access
   * logs need it; a fresh account has none). Default true; false where the
   * account and region already have one set.
   */
  apiGatewayCloudWatchRole?: boolean;
}

/** API Gateway's steady rate (requests a second) and burst (requests at once). */
export interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/** The stage's default for every route (API Gateway's own account limit is 10,000/s). */
export const DEFAULT_API_THROTTLE: Throttle = { rateLimit: 1000, burstLimit: 500 };

/**
 * Tighter limits where a request costs more than a lookup: a connect writes a row,
 * an auth runs scrypt (hundreds of milliseconds of CPU) and may send mail, a send posts to
 * every member. $default only answers an error. $disconnect keeps the stage
 * default: throttling it would only leave rows for the sweep.
 */
export const ROUTE_THROTTLES: Record<string, Throttle> = {
  $connect: { rateLimit: 50, burstLimit: 100 },
  $default: { rateLimit: 10, burstLimit: 20 },
  auth: { rateLimit: 20, burstLimit: 40 },
  join: { rateLimit: 50, burstLimit: 100 },
  send: { rateLimit: 200, burstLimit: 400 },
  history: { rateLimit: 100, burstLimit: 200 },
  leave: { rateLimit: 50, burstLimit: 100 },
};

/**
 * Invocations at once per function: one route's flood cannot take the account's
 * Lambda pool from the others, and the sum (197) bounds the sessions open on RDS
 * Proxy. Lambda keeps 100 of the account's concurrency unreserved, so this needs
 * an account limit of at least 302 (the default is 1,000); see docs/DEPLOY.md.
 */
export const RESERVED_CONCURRENCY: Record<string, number> = {
  connect: 30,
  disconnect: 10,
  default: 5,
  auth: 10,
  join: 10,
  send: 50,
  history: 20,
  leave: 10,
  sweep: 1,
  migrate: 1,
  // E24: the unsubscribe link's endpoint (each request one short statement or
  // two), and SES's bounce and complaint events
  unsubscribe: 2,
  bounces: 1,
  // the fan-out worker: its event source mappings' maxConcurrency (infra/fanout.ts), fan-out and presence (E23)
  fanout: FANOUT.maxConcurrency + PRESENCE.maxConcurrency,
};

/** Security events in five minutes that raise the alarm, unless the props say otherwise. */
export const DEFAULT_SECURITY_ALARM_THRESHOLD = 50;

const STAGE = 'prod';
const SCHEMA_DIR = `${PROJECT_ROOT}schema`;

/** Changes with the app role's grants, so a deploy that changes them re-runs the runner. */
function appRoleFingerprint(): string {
  return createHash('sha256').update(readFileSync(`${PROJECT_ROOT}functions/adapters/app-role.ts`)).digest('hex');
}

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
  readonly files: FilesBucket;
  readonly fanout: FanoutQueues;
  /** E24: SES bounces and complaints, and the unsubscribe link's endpoint */
  readonly mailEvents: Topic;
  readonly unsubscribeUrl: FunctionUrl;
  readonly functions: Record<string, ChatFunction> = {};
  /** *(E25)* the Web Push VAPID keys */
  readonly vapidSecret: Secret;

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
    const { vpc, proxy, secret, appSecret, functionsSecurityGroup } = this.database;

    this.api = new WebSocketApi(this, 'Api', {
      apiName: 'wild-whispers',
      description: 'Wild Whispers chat: one route per action',
      routeSelectionExpression: '$request.body.action',
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: STAGE,
      autoDeploy: true,
      throttle: props.apiThrottle ?? DEFAULT_API_THROTTLE,
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
      filesOrigin: filesBucketOrigin(this.stackName),
    });
    this.files = new FilesBucket(this, 'Files', {
      bucketName: filesBucketName(this.stackName),
      webOrigin: this.web.url,
      protect: props.protectData ?? true,
    });

    if (props.apiGatewayCloudWatchRole ?? true) {
      // API Gateway writes access logs with one role per account and region; a fresh
      // account has none and the stage fails to deploy. Kept when the stack goes:
      // other APIs in the account may log through it by then.
      const role = new Role(this, 'ApiGatewayLogsRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        description: 'API Gateway (account-wide): writes access and execution logs to CloudWatch Logs',
        managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
      });
      role.applyRemovalPolicy(RemovalPolicy.RETAIN);
      const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
      account.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.stage.node.addDependency(account);
    }

    // Every function but the migration logs in as the app role (no DDL); only the
    // migration function reads the master secret.
    const shared: Record<string, string> = {
      DB_SECRET_ARN: appSecret.secretArn,
      DB_HOST: proxy.endpoint,
      DB_NAME: DATABASE_NAME,
      GATEWAY_ENDPOINT: this.stage.callbackUrl,
      LOG_LEVEL: 'info',
      FILES_BUCKET: this.files.bucket.bucketName,
    };
    // SES: the sender identity, and SendEmail from that address for the function that mails.
    // E24: every mail from it goes through a configuration set that publishes
    // bounces and complaints to a topic; the `bounces` function suppresses those
    // addresses for notices (docs/DEPLOY.md).
    this.mailEvents = new Topic(this, 'MailEvents', { displayName: 'Wild Whispers SES bounces and complaints', enforceSSL: true });
    const configurationSet = new ConfigurationSet(this, 'MailConfiguration', {});
    configurationSet.addEventDestination('BouncesAndComplaints', {
      destination: EventDestination.snsTopic(this.mailEvents),
      events: [EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT],
    });
    new EmailIdentity(this, 'Sender', { identity: Identity.email(props.senderEmail), configurationSet });
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
    const concurrency: Record<string, number> = props.reservedConcurrency === false ? {} : { ...RESERVED_CONCURRENCY, ...props.reservedConcurrency };
    for (const source of Object.keys(props.reservedConcurrency || {})) {
      if (!(source in RESERVED_CONCURRENCY)) throw new Error(`reservedConcurrency names "${source}", which is not a function (${Object.keys(RESERVED_CONCURRENCY).join(', ')})`);
    }
    // E24: notices carry List-Unsubscribe headers, which only SendRawEmail sends.
    const sendRawEmailFromSender = new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['ses:SendRawEmail'],
      resources: [`arn:${this.partition}:ses:${this.region}:${this.account}:identity/*`],
      conditions: { StringEquals: { 'ses:FromAddress': props.senderEmail } },
    });
    /** `mail`: SendEmail (codes); 'raw': SendRawEmail only (notices) */
    type FunctionOptions = Partial<ChatFunctionProps> & { mail?: boolean | 'raw' };
    const fn = (source: string, { mail = false, ...extra }: FunctionOptions = {}) => {
      const f = new ChatFunction(this, `${source[0]!.toUpperCase()}${source.slice(1)}Function`, {
        source,
        vpc,
        securityGroup: functionsSecurityGroup,
        alarmTopic: alarms,
        reservedConcurrency: concurrency[source],
        ...extra,
        environment: { ...shared, ...(mail ? mailEnvironment : {}), ...extra.environment },
      });
      appSecret.grantRead(f);
      if (mail) f.addToRolePolicy(mail === 'raw' ? sendRawEmailFromSender : sendEmailFromSender);
      this.functions[source] = f;
      return f;
    };
    // PostToConnection and DeleteConnection on this stage's connections, nothing else.
    const connectionsArns = ['POST', 'DELETE'].map((method) =>
      this.formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: `${STAGE}/${method}/@connections/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
    );
    // Every function that posts may also hand a large broadcast to the fan-out queue.
    this.fanout = new FanoutQueues(this, 'Fanout', { alarmTopic: alarms });
    const grantManageConnections = (f: ChatFunction) => {
      f.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['execute-api:ManageConnections'], resources: connectionsArns }));
      this.fanout.allowProducer(f);
    };
    const routes: WebSocketRoute[] = [];
    /** A route: its key, its function; `posts` grants ManageConnections. */
    const route = (key: string, source: string, options: FunctionOptions & { posts?: boolean } = {}) => {
      const { posts = true, ...extra } = options;
      const f = fn(source, extra);
      routes.push(this.api.addRoute(key, { integration: new WebSocketLambdaIntegration(`${source}Integration`, f) }));
      if (posts) grantManageConnections(f);
      return f;
    };

    // ── the route table ──────────────────────────────────────────────────────
    route('$connect', 'connect', {
      posts: false,
      environment: { ALLOWED_ORIGINS: [this.web.url, ...(props.allowedOrigins ?? [])].join(',') },
    });
    route('$disconnect', 'disconnect');
    // $default grants uploads and signs downloads, and deletes a deleted message's files;
    // its account actions (E18) check passwords with scrypt and mail codes and notices.
    // ADMIN_USERS: `$default` runs the administrators' actions, `auth` tells them they are (E22).
    // A stack parameter, so the administrators change with `cdk deploy --parameters
    // AdminUsers=dana,root` (or in the console) without a new build; the context
    // setting `adminUsers` is its default.
    const adminUsers = new CfnParameter(this, 'AdminUsers', {
      type: 'String',
      default: (props.adminUsers ?? []).join(','),
      description: "Comma-separated usernames of the server's administrators (reports, suspensions, account deletion); empty for none",
      allowedPattern: '^[A-Za-z0-9_.,-]*$',
      constraintDescription: 'usernames (letters, digits, _ . -) separated by commas, without spaces',
    });
    const adminEnv: Record<string, string> = { ADMIN_USERS: adminUsers.valueAsString };
    const defaultFunction = route('$default', 'default', { memorySize: 1024, mail: true, environment: adminEnv });
    this.files.grant(defaultFunction, ['s3:PutObject', 's3:PutObjectTagging', 's3:GetObject', 's3:DeleteObject']);
    // scrypt at OWASP's cost needs 128 MiB and a good share of a vCPU
    route('auth', 'auth', { memorySize: 1024, mail: true, environment: { ...(props.inviteCode ? { INVITE_CODE: props.inviteCode } : {}), ...adminEnv } });
    route('join', 'join');
    // send seals attached files (copies each upload to where its grant cannot
    // write, untagged so the expiry spares it; S3Storage.seal) and checks them.
    const sendFunction = route('send', 'send');
    this.files.grant(sendFunction, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    // *(E25)* Web Push: the VAPID key pair lives in this secret, made with a
    // placeholder and filled by the first function that needs the keys
    // (functions/adapters/aws-vapid.ts; docs/DEPLOY.md says why). Only `send`
    // (which pushes) and `$default` (which hands browsers the public key) read
    // it, and may write its first version.
    this.vapidSecret = new Secret(this, 'VapidKeys', {
      description: 'Web Push VAPID key pair (JSON publicKey/privateKey), generated by the chat functions on first use',
      generateSecretString: { secretStringTemplate: JSON.stringify({ pending: true }), generateStringKey: 'placeholder', excludePunctuation: true },
    });
    for (const f of [sendFunction, defaultFunction]) {
      this.vapidSecret.grantRead(f);
      f.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['secretsmanager:PutSecretValue'], resources: [this.vapidSecret.secretArn] }));
      f.addEnvironment('VAPID_SECRET_ARN', this.vapidSecret.secretArn);
      f.addEnvironment('PUSH_SUBJECT', `mailto:${props.senderEmail}`);
    }
    route('history', 'history');
    route('leave', 'leave');
    // ─────────────────────────────────────────────────────────────────────────

    // Per-route throttles, over the stage default. A setting for a route key the
    // API lacks fails the deploy, so they are checked here and the stage waits
    // for the routes.
    const throttles = { ...ROUTE_THROTTLES, ...props.routeThrottles };
    const keys = new Set(routes.map((r) => r.routeKey));
    for (const key of Object.keys(throttles)) if (!keys.has(key)) throw new Error(`routeThrottles names "${key}", which is not a route (${[...keys].join(', ')})`);
    (this.stage.node.defaultChild as CfnStage).routeSettings = Object.fromEntries(
      Object.entries(throttles).map(([key, t]) => [key, { ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit }]),
    );
    this.stage.node.addDependency(...routes);

    // Connection rows outlive sockets when $disconnect is missed, and disappearing
    // messages must be deleted within a minute of expiry: sweep every minute.
    // E24: the unsubscribe link's endpoint, a function URL with auth NONE: the
    // signed token in the link is the credential, and each source network has a
    // budget (UNSUBSCRIBES_PER_ADDRESS_PER_HOUR) on top of the reserved concurrency.
    const unsubscribe = fn('unsubscribe', { timeout: Duration.seconds(10) });
    this.unsubscribeUrl = unsubscribe.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    const bounces = fn('bounces', { timeout: Duration.seconds(30) });
    this.mailEvents.addSubscription(new LambdaSubscription(bounces));
    // It also mails the notices that are due (E24): links to the web client and
    // to the unsubscribe endpoint, with SendRawEmail only.
    const sweep = fn('sweep', {
      timeout: Duration.seconds(60),
      mail: 'raw',
      environment: { PUBLIC_URL: this.web.url, UNSUBSCRIBE_URL: this.unsubscribeUrl.url },
    });
    grantManageConnections(sweep);
    this.files.grant(sweep, ['s3:DeleteObject']);
    const sweepSchedule = new Rule(this, 'SweepSchedule', {
      description: 'Delete connection rows API Gateway no longer holds and expired disappearing messages; mail the email notices that are due',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(sweep, { retryAttempts: 0 })],
    });

    // The fan-out worker: batches of a large broadcast from the queue. It only posts
    // (PostToConnection, never DeleteConnection) and may queue hand-backs of its own.
    const worker = fn('fanout', {
      timeout: Duration.seconds(FANOUT.timeoutSeconds),
      environment: { POST_CONCURRENCY: String(FANOUT.postConcurrency), FANOUT_MAX_ATTEMPTS: String(FANOUT.maxAttempts), FANOUT_DLQ_URL: this.fanout.deadLetters.queueUrl },
    });
    worker.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['execute-api:ManageConnections'], resources: [connectionsArns[0]!] }));
    this.fanout.allowProducer(worker);
    this.fanout.attachWorker(worker);

    // The schema: schema/*.sql beside the bundle, applied by the same runner as `npm start`.
    // It alone reads the master secret: it migrates as the owner, then creates or
    // updates the app role from the app secret and grants it the app's tables.
    const migrate = fn('migrate', {
      timeout: Duration.minutes(5),
      environment: { DB_SECRET_ARN: secret.secretArn, APP_DB_SECRET_ARN: appSecret.secretArn },
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
      properties: {
        fingerprint: migrationsFingerprint(),
        database: this.database.instance.instanceIdentifier,
        // a new app secret or new grants re-run it too
        appSecret: appSecret.secretArn,
        appRole: appRoleFingerprint(),
      },
    });
    secret.grantRead(migrate);
    // The whole data tier first: instance, proxy and its target, security group rules, NAT route.
    migrations.node.addDependency(this.database);
    // Clients arrive, and the sweep starts, only once the schema and the app role are there.
    this.stage.node.addDependency(migrations);
    sweepSchedule.node.addDependency(migrations);
    // A stack deployed before the app role existed: its functions switch to the
    // app secret only after the migration has created the role, never before.
    for (const f of Object.values(this.functions)) if (f !== migrate) f.node.addDependency(migrations);

    new Alarm(this, 'LoggedErrorsAlarm', {
      metric: new Metric({ ...LOGGED_ERRORS, statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A function logged an error (an internal error answered to a client, a failed post)',
    }).addAlarmAction(new SnsAction(alarms));

    // Attack signals (functions/core/audit.ts), counted by every function's log group.
    new Alarm(this, 'SecurityEventsAlarm', {
      metric: new Metric({ namespace: SECURITY_EVENTS.namespace, metricName: SECURITY_EVENTS.metricName, statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: props.securityAlarmThreshold ?? DEFAULT_SECURITY_ALARM_THRESHOLD,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A burst of security events (failed logins, bad codes, limits hit, refused origins): see the SecurityEvents metric by Event, and the functions\' logs',
    }).addAlarmAction(new SnsAction(alarms));
    // API Gateway refuses a frame over 128 KB (413): a reply the server built too big,
    // or input that made one. Either is worth a look at once.
    new Alarm(this, 'RepliesTooLargeAlarm', {
      metric: new Metric({
        namespace: SECURITY_EVENTS.namespace,
        metricName: SECURITY_EVENTS.metricName,
        dimensionsMap: { [SECURITY_EVENTS.dimension]: 'reply_too_large' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'API Gateway refused a reply as too large (PayloadTooLargeException, 413)',
    }).addAlarmAction(new SnsAction(alarms));

    const dashboard = chatDashboard(this, 'Dashboard', { queue: this.fanout.queue, deadLetters: this.fanout.deadLetters, worker, send: this.functions.send! });

    new CfnOutput(this, 'WebUrl', { value: this.web.url, description: 'The web client' });
    new CfnOutput(this, 'WebSocketUrl', { value: this.stage.url, description: 'The WebSocket endpoint (wss://…/prod)' });
    // For the admin CLI (docs/DEPLOY.md): the app role's credentials and where the database is.
    new CfnOutput(this, 'DatabaseSecretArn', { value: appSecret.secretArn, description: "The app role's database credentials (for npm run admin through a tunnel)" });
    new CfnOutput(this, 'DatabaseEndpoint', { value: this.database.instance.dbInstanceEndpointAddress, description: 'The database host, inside the VPC' });
    new CfnOutput(this, 'DashboardName', { value: dashboard.dashboardName, description: 'CloudWatch dashboard: sends, fan-out, delivery time, the queue' });
    new CfnOutput(this, 'UnsubscribeUrl', { value: this.unsubscribeUrl.url, description: 'The one-click unsubscribe endpoint of email notices' });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topicArn, description: 'Subscribe to hear about errors and throttles' });

    suppressReviewedFindings(this, { multiAz: props.dbMultiAz ?? false });
  }
}
