// The ports on Lambda: RDS Proxy via the secret, API Gateway's management API,
// SES, the files bucket, the fan-out queue; Powertools' logs, metrics and traces. Built once per sandbox by runtime.getDeps().
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Deps } from '../core/ports.js';
import { ApiGatewayGateway } from './aws-gateway.js';
import { createProxySql, readDbCredentials } from './aws-db.js';
import { RefusingMailer, SesMailer } from './aws-mailer.js';
import { type Config, loadConfig } from './config.js';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createObservability } from './powertools.js';
import { SqsFanoutQueue, SqsPresenceQueue } from './sqs-fanout.js';
import { QueuedPresence } from '../core/presence-queue.js';
import { createS3Storage } from './s3-storage.js';
import { awsVapidKeys } from './aws-vapid.js';
import { AwsPusher } from './aws-push.js';
import { pushSubject } from './push-keys.js';

export async function createAwsDeps(config: Config = loadConfig()): Promise<Deps> {
  const { aws, mail } = config;
  if (!aws.dbSecretArn) throw new Error('DB_SECRET_ARN must name the database credentials secret');
  if (!aws.gatewayEndpoint) throw new Error('GATEWAY_ENDPOINT must be the WebSocket stage\'s https URL');
  const { log, telemetry, traceClient } = createObservability(config.logLevel);

  const secrets = new SecretsManagerClient({ region: aws.region, ...(aws.secretsEndpoint ? { endpoint: aws.secretsEndpoint } : {}) });
  const credentials = await readDbCredentials(secrets, aws.dbSecretArn);
  secrets.destroy();

  // The gateway retries throttling itself (with jitter, per call), so the SDK does not too.
  const management = traceClient(new ApiGatewayManagementApiClient({ region: aws.region, endpoint: aws.gatewayEndpoint, maxAttempts: 1 }));
  const mailer =
    mail.transport === 'ses'
      ? new SesMailer({ from: mail.from, region: mail.sesRegion ?? aws.region, endpoint: mail.sesEndpoint })
      : new RefusingMailer();

  const sqs = aws.fanoutQueueUrl || aws.presenceQueueUrl ? traceClient(new SQSClient({ region: aws.region, ...(aws.sqsEndpoint ? { endpoint: aws.sqsEndpoint } : {}) })) : undefined;
  return {
    sql: createProxySql(aws, credentials),
    gateway: new ApiGatewayGateway(management, { concurrency: aws.postConcurrency, log, telemetry }),
    mailer,
    clock: { now: () => new Date() },
    log,
    settings: config.settings,
    telemetry,
    fanout: aws.fanoutQueueUrl
      ? {
          queue: new SqsFanoutQueue(sqs!, aws.fanoutQueueUrl, aws.fanoutDeadLetterUrl),
          directMax: aws.fanoutDirectMax,
          idsPerBatch: aws.fanoutIdsPerBatch,
          maxAttempts: aws.fanoutMaxAttempts,
        }
      : undefined,
    // E23: presence for watchers waits in the presence queue's batching window (functions/fanout.ts merges it)
    presence: aws.presenceQueueUrl ? new QueuedPresence(new SqsPresenceQueue(sqs!, aws.presenceQueueUrl), () => Date.now()) : undefined,
    // *(E25)* only the functions given the VAPID secret push (send) or list subscriptions ($default)
    push:
      config.push.enabled && config.push.vapidSecretArn
        ? new AwsPusher({
            keys: () => awsVapidKeys(new SecretsManagerClient({ region: aws.region, ...(aws.secretsEndpoint ? { endpoint: aws.secretsEndpoint } : {}) }), config.push.vapidSecretArn!),
            subject: pushSubject(config.push.subject, mail.from),
            allowPrivate: config.settings.pushAllowPrivate,
            timeoutMs: config.push.timeoutMs,
            log,
          })
        : undefined,
    storage: config.files.bucket ? createS3Storage(config.files.bucket, { region: aws.region, endpoint: config.files.s3Endpoint }) : undefined,
  };
}
