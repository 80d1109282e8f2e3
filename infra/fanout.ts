// The fan-out queue (docs/DEPLOY.md, "Fan-out"): broadcasts to more connections
// than FANOUT_DIRECT_MAX are cut into batches of connection ids and queued here;
// the worker function posts them. A batch a worker failed maxReceiveCount times
// lands in the dead-letter queue, as does one whose posts failed every hand-back
// (the worker sends it there itself). Alarms: anything in the dead-letter queue,
// and batches waiting long (workers throttled, or too few of them).
// *(E23)* Beside it the presence queue: changes for watchers, which the same
// worker reads in batches its event source gathers over a 1 s window.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The worker's settings, shared with the stack's tests and docs/DEPLOY.md. */
export const FANOUT = {
  /** broadcasts to more connections than this are queued (bench/README.md: the direct path's p99 stays under a second up to here) */
  directMax: 500,
  /**
   * connection ids per queue message: small enough that one batch takes a worker
   * ~100 ms at 64 calls in flight (bench/README.md), and a 128 KB frame and 100 ids
   * of up to 128 bytes stay within SQS's 256 KB
   */
  idsPerBatch: 100,
  /** records per worker invocation, posted side by side */
  batchSize: 2,
  /** worker invocations at once, and the worker's reserved concurrency */
  maxConcurrency: 50,
  /** PostToConnection calls in flight per record */
  postConcurrency: 64,
  /** the worker's timeout; it hands back what it has not started 2 s before it */
  timeoutSeconds: 10,
  /** a batch a worker failed this many times goes to the dead-letter queue */
  maxReceiveCount: 3,
  /** hand-backs of failed posts before the worker dead-letters them */
  maxAttempts: 3,
  /** the oldest batch waiting this long raises the alarm */
  ageAlarmSeconds: 30,
} as const;

/**
 * *(E23)* The presence queue's event source: Lambda holds records up to
 * `batchingWindowSeconds` (or until `batchSize`) before it invokes the worker,
 * which merges them per connection: the window a Lambda cannot hold itself.
 */
export const PRESENCE = {
  /** PRESENCE_BATCH_MS's counterpart on AWS (MaximumBatchingWindowInSeconds) */
  batchingWindowSeconds: 1,
  /** records per invocation: each is one change for up to 1,000 connections */
  batchSize: 100,
  /** worker invocations at once for presence, beside the fan-out's */
  maxConcurrency: 5,
  /** a presence change a few minutes old is stale: the worker posts the state now anyway */
  retentionMinutes: 5,
} as const;

export interface FanoutQueuesProps {
  alarmTopic: ITopic;
}

export class FanoutQueues extends Construct {
  readonly queue: Queue;
  readonly deadLetters: Queue;
  /** *(E23)* presence changes for watchers, coalesced by the worker */
  readonly presence: Queue;

  constructor(scope: Construct, id: string, props: FanoutQueuesProps) {
    super(scope, id);
    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's advice for an event source: six times the function's timeout.
      visibilityTimeout: Duration.seconds(6 * FANOUT.timeoutSeconds),
      // A live frame an hour late is of no use: clients catch up with history.
      retentionPeriod: Duration.hours(1),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: FANOUT.maxReceiveCount },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.presence = new Queue(this, 'Presence', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(6 * FANOUT.timeoutSeconds),
      retentionPeriod: Duration.minutes(PRESENCE.retentionMinutes),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: FANOUT.maxReceiveCount },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const alarm = (name: string, a: Alarm) => {
      a.addAlarmAction(new SnsAction(props.alarmTopic));
      return a;
    };
    alarm(
      'DeadLetters',
      new Alarm(this, 'DeadLettersAlarm', {
        metric: this.deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: 'Fan-out batches in the dead-letter queue: some members did not get a live frame (their clients catch up on reconnect). See the worker\'s logged errors.',
      }),
    );
    alarm(
      'Age',
      new Alarm(this, 'AgeAlarm', {
        metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: FANOUT.ageAlarmSeconds,
        evaluationPeriods: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `Fan-out batches waited ${FANOUT.ageAlarmSeconds} s or more two minutes running: workers throttled, failing, or at their concurrency.`,
      }),
    );
  }

  /** The worker reads the queue (partial batch responses) and may hand batches back to it or set them aside. */
  attachWorker(worker: IFunction): void {
    worker.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: FANOUT.batchSize,
        maxConcurrency: FANOUT.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    this.queue.grantSendMessages(worker);
    this.deadLetters.grantSendMessages(worker);
    // E23: the batching window gathers changes; the worker merges them per connection.
    worker.addEventSource(
      new SqsEventSource(this.presence, {
        batchSize: PRESENCE.batchSize,
        maxBatchingWindow: Duration.seconds(PRESENCE.batchingWindowSeconds),
        maxConcurrency: PRESENCE.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    this.presence.grantSendMessages(worker);
  }

  /** The environment of a function that broadcasts, and its grant to queue batches. */
  allowProducer(fn: IFunction & { addEnvironment(key: string, value: string): unknown }): void {
    fn.addEnvironment('FANOUT_QUEUE_URL', this.queue.queueUrl);
    fn.addEnvironment('FANOUT_DIRECT_MAX', String(FANOUT.directMax));
    fn.addEnvironment('FANOUT_BATCH_IDS', String(FANOUT.idsPerBatch));
    this.queue.grantSendMessages(fn);
    fn.addEnvironment('PRESENCE_QUEUE_URL', this.presence.queueUrl);
    this.presence.grantSendMessages(fn);
  }
}
