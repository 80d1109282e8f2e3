// cdk-nag's AwsSolutions findings this stack accepts, each on the narrowest
// construct it concerns and with its reason. Anything not listed here fails synth.
import { Validations, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { ChatStack } from './stack.js';

const BASIC_EXECUTION = 'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** Singletons CDK adds at the stack's root (log retention, bucket deployment). */
function cdkSingletons(stack: Stack, prefix: string): IConstruct[] {
  return stack.node.children.filter((c) => c.node.id.startsWith(prefix));
}

export function suppressReviewedFindings(stack: ChatStack, options: { multiAz: boolean }): void {
  const { api, database, web, files } = stack;
  const apiId = stack.getLogicalId(api.node.defaultChild as never);
  const connections = (method: string) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/prod/${method}/@connections/*]`;

  for (const [source, fn] of Object.entries(stack.functions)) {
    ack(fn, 'AwsSolutions-L1', 'Pinned to Node.js 22, the runtime the bundles target (esbuild node22) and are tested on; upgraded deliberately.');
    ack(
      fn.role!,
      'AwsSolutions-IAM5[Resource::*]',
      "Lambda's VPC networking actions (ec2:CreateNetworkInterface and friends) and X-Ray's xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) do not support resource-level permissions.",
    );
    // E24: unsubscribe and bounces only touch the database
    if (source !== 'migrate' && source !== 'connect' && source !== 'unsubscribe' && source !== 'bounces') {
      ack(fn.role!, connections('POST'), 'Connection ids exist only at run time; the grant is this stage, POST (PostToConnection) only.');
      if (source !== 'fanout') ack(fn.role!, connections('DELETE'), 'Connection ids exist only at run time; the grant is this stage, DELETE (DeleteConnection) only.');
    }
  }
  // auth mails sign-up and reset codes; $default mails email-change codes and notices (E18)
  // E24: sweep mails notices (SendRawEmail only, the same condition)
  for (const mailer of [stack.functions.auth!, stack.functions.default!, stack.functions.sweep!]) {
    ack(
      mailer.role!,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
      "In the SES sandbox SendEmail is authorized against the recipient's identity as well as the sender's; the ses:FromAddress condition pins the sender.",
    );
  }

  ack(
    stack.fanout.deadLetters,
    'AwsSolutions-SQS3',
    "This is the fan-out queue's dead-letter queue: nothing reads it but people, after its alarm.",
  );

  ack(api, 'AwsSolutions-APIG4', 'WebSocket clients authenticate in-band with the auth action (PROTOCOL.md); $connect checks the Origin, and every other route refuses a connection that has not authenticated.');

  ack(database.instance.node.findChild('Secret'), 'AwsSolutions-SMG4', 'Functions read the secret once per sandbox and keep their connection; a rotation would fail their next login. Rotate by redeploying, or move the functions to IAM auth on the proxy first.');
  ack(database.appSecret, 'AwsSolutions-SMG4', "The functions keep their proxy connection for a sandbox's life, and the migration function sets the role's password from this secret when it runs; a rotation would leave the two apart. Replace the secret and redeploy instead.");
  ack(stack.vapidSecret, 'AwsSolutions-SMG4', "The VAPID key pair is what every browser's push subscription is bound to: a rotation would silently end every device's notifications. Replace it deliberately (delete the secret's value and redeploy), and people turn notifications on again.");
  ack(database.instance, 'AwsSolutions-RDS11', 'The database accepts connections only from the proxy security group in isolated subnets; a non-standard port adds nothing.');
  if (!options.multiAz) ack(database.instance, 'AwsSolutions-RDS3', 'Single-AZ by default to keep the idle cost low; deploy with -c dbMultiAz=true for a standby.');

  const apiGatewayLogsRole = stack.node.tryFindChild('ApiGatewayLogsRole');
  if (apiGatewayLogsRole) {
    ack(
      apiGatewayLogsRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      "API Gateway's one account-wide logging role; AWS's managed policy is the documented one and follows the log groups API Gateway creates.",
    );
  }

  ack(
    files.bucket,
    'AwsSolutions-S1',
    'Every read and write is a presigned URL that a function signed for a member, each logged as a security-relevant action by the function; enable CloudTrail data events for a per-request record (docs/DEPLOY.md).',
  );
  const filesArn = `<${stack.getLogicalId(files.bucket.node.defaultChild as never)}.Arn>`;
  for (const source of ['default', 'send', 'sweep']) {
    ack(
      stack.functions[source]!.role!,
      `AwsSolutions-IAM5[Resource::${filesArn}/files/*]`,
      'File ids are random and made at run time; the grant is the files/ prefix of this one bucket, with only the actions the function uses.',
    );
  }
  ack(web.bucket, 'AwsSolutions-S1', 'Only CloudFront reads this bucket (origin access control); it holds the public, rebuilt-on-deploy web client.');
  ack(web.distribution, 'AwsSolutions-CFR1', 'A chat open to anyone with an account: no country is excluded.');
  ack(web.distribution, 'AwsSolutions-CFR2', 'Static files only; WAF would cost at least $5 a month idle. The WebSocket API is throttled per stage.');
  ack(web.distribution, 'AwsSolutions-CFR3', 'Static, public files; standard logs would need an ACL-enabled log bucket. Enable when per-request logs are wanted.');
  ack(web.distribution, 'AwsSolutions-CFR4', 'The default *.cloudfront.net certificate cannot pin a minimum TLS version; add a custom domain and certificate to enforce TLSv1.2_2021.');

  for (const singleton of cdkSingletons(stack, 'LogRetention')) {
    ack(singleton, `AwsSolutions-IAM4[${BASIC_EXECUTION}]`, "CDK's log-retention function (for RDS's log group), writing only its own logs.");
    ack(singleton, 'AwsSolutions-IAM5[Resource::*]', "CDK's log-retention function sets the retention of RDS's log group, whose name exists only at deploy time.");
  }
  for (const singleton of cdkSingletons(stack, 'Custom::CDKBucketDeployment')) {
    ack(singleton, 'AwsSolutions-L1', "CDK's bucket-deployment function; aws-cdk-lib chooses its runtime.");
    ack(singleton, `AwsSolutions-IAM4[${BASIC_EXECUTION}]`, "CDK's bucket-deployment function, writing only its own logs.");
    for (const finding of [
      'Action::s3:GetBucket*',
      'Action::s3:GetObject*',
      'Action::s3:List*',
      'Action::s3:Abort*',
      'Action::s3:DeleteObject*',
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
      `Resource::<${stack.getLogicalId(web.bucket.node.defaultChild as never)}.Arn>/*`,
      'Resource::*',
    ]) {
      ack(singleton, `AwsSolutions-IAM5[${finding}]`, "CDK's bucket deployment copies the built site from CDK's asset bucket into the site bucket and invalidates CloudFront; the policy is CDK's own.");
    }
  }
  const provider = stack.node.findChild('MigrationsProvider');
  ack(provider, `AwsSolutions-IAM4[${BASIC_EXECUTION}]`, "CDK's custom-resource provider function, writing only its own logs.");
  ack(
    provider,
    `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(stack.functions.migrate!.node.defaultChild as never)}.Arn>:*]`,
    "CDK's provider may invoke any version of the one migration function.",
  );
}
