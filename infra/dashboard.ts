// One CloudWatch dashboard: what the functions measure (Powertools' embedded
// metrics, namespace WildWhispers, dimension service), the fan-out queue, the
// worker, and the logged errors. docs/DEPLOY.md ("The dashboard") reads it.
import { Duration } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, type IMetric, MathExpression, Metric, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { LOGGED_ERRORS, SECURITY_EVENTS } from './function.js';

/** What the functions emit (functions/core/fanout.ts, aws-gateway.ts, send.ts); the service is POWERTOOLS_SERVICE_NAME. */
export const APP_METRICS = { namespace: 'WildWhispers', dimensions: { service: 'wild-whispers' } } as const;

export function appMetric(metricName: string, statistic = 'Sum', label?: string): Metric {
  return new Metric({ namespace: APP_METRICS.namespace, metricName, dimensionsMap: { ...APP_METRICS.dimensions }, statistic, period: Duration.minutes(1), label });
}

export interface ChatDashboardProps {
  queue: Queue;
  deadLetters: Queue;
  worker: IFunction;
  send: IFunction;
}

export function chatDashboard(scope: Construct, id: string, props: ChatDashboardProps): Dashboard {
  const { queue, deadLetters, worker, send } = props;
  const graph = (title: string, left: IMetric[], right: IMetric[] = []) => new GraphWidget({ title, left, right, width: 12, height: 6 });
  const dashboard = new Dashboard(scope, id, { defaultInterval: Duration.hours(3) });
  dashboard.addWidgets(
    new TextWidget({
      markdown:
        '## Wild Whispers\nSends and their fan-out: broadcasts over FANOUT_DIRECT_MAX connections go through the fan-out queue to the worker (docs/DEPLOY.md, "Fan-out").',
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    graph('Sends a minute, and fan-out size (connections per broadcast)', [appMetric('Sends', 'Sum', 'sends')], [
      appMetric('FanoutSize', 'Average', 'fan-out size (avg)'),
      appMetric('FanoutSize', 'Maximum', 'fan-out size (max)'),
    ]),
    graph('Time from `sent` to the last delivery (ms)', [
      appMetric('TimeToLastDelivery', 'p50', 'p50'),
      appMetric('TimeToLastDelivery', 'p99', 'p99'),
      appMetric('TimeToLastDelivery', 'Maximum', 'max'),
    ]),
  );
  dashboard.addWidgets(
    graph('Connections gone (410), throttled calls (429), posts failed after retries', [
      appMetric('GoneConnections', 'Sum', 'gone'),
      appMetric('Throttles', 'Sum', 'throttled (retried)'),
      appMetric('PostFailures', 'Sum', 'failed'),
    ]),
    graph('Fan-out batches: queued, handed back, dead-lettered (ids), posted directly when the queue refused', [
      appMetric('FanoutBatchesQueued', 'Sum', 'queued'),
      appMetric('FanoutHandBacks', 'Sum', 'handed back'),
      appMetric('FanoutDeadLettered', 'Sum', 'dead-lettered ids'),
      appMetric('FanoutQueueFallbacks', 'Sum', 'posted directly'),
      appMetric('FanoutDuplicatesSkipped', 'Sum', 'redelivered ids skipped'),
    ]),
  );
  dashboard.addWidgets(
    graph(
      'Fan-out queue: waiting, oldest (s), dead letters',
      [queue.metricApproximateNumberOfMessagesVisible({ label: 'waiting' }), deadLetters.metricApproximateNumberOfMessagesVisible({ label: 'dead letters' })],
      [queue.metricApproximateAgeOfOldestMessage({ label: 'oldest (s)', statistic: 'Maximum' })],
    ),
    graph(
      'Worker and send: invocations, errors, throttles, duration p99 (ms)',
      [
        worker.metricInvocations({ label: 'worker invocations' }),
        worker.metricErrors({ label: 'worker errors' }),
        worker.metricThrottles({ label: 'worker throttles' }),
        send.metricThrottles({ label: 'send throttles' }),
      ],
      [worker.metricDuration({ statistic: 'p99', label: 'worker p99' }), send.metricDuration({ statistic: 'p99', label: 'send p99' })],
    ),
  );
  dashboard.addWidgets(
    graph('Logged errors and security events', [
      new Metric({ ...LOGGED_ERRORS, statistic: 'Sum', period: Duration.minutes(5), label: 'logged errors' }),
      new Metric({ namespace: SECURITY_EVENTS.namespace, metricName: SECURITY_EVENTS.metricName, statistic: 'Sum', period: Duration.minutes(5), label: 'security events' }),
    ]),
    graph('Cold starts (Powertools ColdStart)', [
      new MathExpression({
        expression: "SEARCH('{WildWhispers,function_name,service} MetricName=\"ColdStart\"', 'Sum', 300)",
        label: 'cold starts',
        period: Duration.minutes(5),
      }),
    ]),
  );
  return dashboard;
}
