// One construct carries what every function shares: Node 22 on arm64, an ESM
// bundle made by esbuild on this machine (never Docker), minified with source
// maps, its own log group with a retention, the VPC's function subnets, a cap
// on its concurrency, alarms on errors and throttles, and its logged errors and
// security events counted into metrics, X-Ray tracing on.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ISecurityGroup, IVpc } from 'aws-cdk-lib/aws-ec2';
import { SubnetType } from 'aws-cdk-lib/aws-ec2';
import { Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, LogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FilterPattern, LogGroup, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Handlers catch their errors and answer with an `internal` error frame, so the
 * Lambda Errors metric misses them; every function counts its `"level":"error"`
 * log lines into this one metric instead (one custom metric, one alarm).
 */
export const LOGGED_ERRORS = { namespace: 'WildWhispers', metricName: 'LoggedErrors' } as const;

/**
 * Every line with a `security` field (functions/core/audit.ts: failed logins, limits
 * hit, refused origins, oversized replies...) counts once into this metric, and
 * once more into the same name with an `Event` dimension naming the event. The
 * event names are a fixed list in the code, so the dimension stays small.
 */
export const SECURITY_EVENTS = { namespace: 'WildWhispers', metricName: 'SecurityEvents', dimension: 'Event' } as const;

export interface ChatFunctionProps {
  /** the handler file under functions/, without .ts: 'send', 'auth', ... */
  source: string;
  vpc: IVpc;
  securityGroup: ISecurityGroup;
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  alarmTopic?: ITopic;
  /**
   * At most this many invocations at once (Lambda reserved concurrency): one
   * route's flood cannot take the account's whole pool, nor open more than this
   * many database sessions. Unset: the account's unreserved pool.
   */
  reservedConcurrency?: number;
  /** packages left out of the bundle (loaded from the runtime if ever imported) */
  externalModules?: string[];
  /** extra files for the bundle (the migrations' SQL) */
  commandHooks?: ICommandHooks;
}

export class ChatFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ChatFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role instead of AWS's managed ones: logs to its own group only.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Wild Whispers ${props.source} function`,
      inlinePolicies: {
        logs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              effect: Effect.ALLOW,
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
        vpc: new PolicyDocument({
          statements: [
            // What AWSLambdaVPCAccessExecutionRole grants; these EC2 actions take no resource ARNs.
            new PolicyStatement({
              effect: Effect.ALLOW,
              actions: [
                'ec2:CreateNetworkInterface',
                'ec2:DescribeNetworkInterfaces',
                'ec2:DescribeSubnets',
                'ec2:DeleteNetworkInterface',
                'ec2:AssignPrivateIpAddresses',
                'ec2:UnassignPrivateIpAddresses',
              ],
              resources: ['*'],
            }),
          ],
        }),
      },
    });
    super(scope, id, {
      role,
      entry: `${PROJECT_ROOT}functions/${props.source}.ts`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      // API Gateway gives an integration 29 s; a function should answer well within it.
      timeout: props.timeout ?? Duration.seconds(20),
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
      logGroup,
      // X-Ray: Powertools' Tracer (functions/adapters/powertools.ts) adds a subsegment per invocation and per SDK call.
      tracing: Tracing.ACTIVE,
      vpc: props.vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.securityGroup],
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'wild-whispers',
        POWERTOOLS_METRICS_NAMESPACE: 'WildWhispers',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        platform: 'node',
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        // The Node 22 runtime ships AWS SDK v3: leaving it out keeps every bundle
        // near 120 KB (with it, 430-540 KB). The SDK loads only on first use.
        externalModules: props.externalModules ?? ['@aws-sdk/*'],
        // Some CommonJS dependencies call require(); give the ESM bundle one.
        banner: "import { createRequire as __ww_createRequire } from 'node:module'; const require = __ww_createRequire(import.meta.url);",
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
        ...(props.commandHooks ? { commandHooks: props.commandHooks } : {}),
      },
    });

    new MetricFilter(this, 'LoggedErrors', {
      logGroup,
      filterPattern: FilterPattern.stringValue('$.level', '=', 'error'),
      metricNamespace: LOGGED_ERRORS.namespace,
      metricName: LOGGED_ERRORS.metricName,
      metricValue: '1',
    });
    new MetricFilter(this, 'SecurityEvents', {
      logGroup,
      filterPattern: FilterPattern.exists('$.security'),
      metricNamespace: SECURITY_EVENTS.namespace,
      metricName: SECURITY_EVENTS.metricName,
      metricValue: '1',
    });
    new MetricFilter(this, 'SecurityEventsByEvent', {
      logGroup,
      filterPattern: FilterPattern.exists('$.security'),
      metricNamespace: SECURITY_EVENTS.namespace,
      metricName: SECURITY_EVENTS.metricName,
      metricValue: '1',
      dimensions: { [SECURITY_EVENTS.dimension]: '$.security' },
    });

    for (const [name, metric] of [
      ['Errors', this.metricErrors({ period: Duration.minutes(5) })],
      ['Throttles', this.metricThrottles({ period: Duration.minutes(5) })],
    ] as const) {
      const alarm = new Alarm(this, `${name}Alarm`, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${props.source}: ${name.toLowerCase()} in the last 5 minutes`,
      });
      if (props.alarmTopic) alarm.addAlarmAction(new SnsAction(props.alarmTopic));
    }
  }
}
