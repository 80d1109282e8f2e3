// Logs, metrics and traces on Lambda, by Powertools for AWS Lambda (TypeScript):
// - the Logger port writes Powertools' JSON lines, each with the invocation's
//   request id and cold start, and `level` in lower case as the hand-written
//   logger did (the LoggedErrors and SecurityEvents metric filters read
//   `$.level` and `$.security`);
// - Telemetry's metrics are CloudWatch embedded metrics in the WildWhispers
//   namespace, one line per invocation, dimension `service`;
// - each invocation is a traced subsegment (X-Ray), and the SDK clients passed
//   to `traceClient` record their calls.
// The local server never loads this file: it keeps logger.ts's JSON lines.
import type { Context } from 'aws-lambda';
import { Logger as PowertoolsLogger, LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Logger, Telemetry } from '../core/ports.js';
import type { LogLevel } from './logger.js';

export const SERVICE = 'wild-whispers';
export const METRICS_NAMESPACE = 'WildWhispers';

/**
 * Powertools' fields, with `level` lower-cased and `time` for `timestamp`, so a
 * line reads like the local server's and the metric filters keep matching.
 */
class ChatLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const item = new LogItem({
      attributes: {
        level: attributes.logLevel.toLowerCase(),
        time: this.formatTimestamp(attributes.timestamp),
        message: attributes.message,
        service: attributes.serviceName,
        cold_start: attributes.lambdaContext?.coldStart,
        function_name: attributes.lambdaContext?.functionName,
        request_id: attributes.lambdaContext?.awsRequestId,
        xray_trace_id: attributes.xRayTraceId,
      },
    });
    item.addAttributes(additional);
    return item;
  }
}

const POWERTOOLS_LEVELS = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', silent: 'SILENT' } as const;

export interface Observability {
  log: Logger;
  telemetry: Telemetry & Required<Pick<Telemetry, 'around'>>;
  /** records an SDK v3 client's calls in the trace */
  traceClient<T>(client: T): T;
}

export function createObservability(level: LogLevel = 'info'): Observability {
  const logger = new PowertoolsLogger({ serviceName: SERVICE, logLevel: POWERTOOLS_LEVELS[level], logFormatter: new ChatLogFormatter() });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
  const tracer = new Tracer({ serviceName: SERVICE, captureHTTPsRequests: false });

  const log: Logger = {
    info: (m, f) => logger.info(m, { ...f }),
    warn: (m, f) => logger.warn(m, { ...f }),
    error: (m, f) => logger.error(m, { ...f }),
  };

  const telemetry: Observability['telemetry'] = {
    metric: (name, value, unit) => void metrics.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds, value),
    async around(context, name, run) {
      const lambda = context as Context | undefined;
      if (lambda?.awsRequestId) logger.addContext(lambda);
      metrics.captureColdStartMetric();
      const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
      const sub = segment?.addNewSubsegment(`## ${name}`);
      if (sub) {
        tracer.setSegment(sub);
        tracer.annotateColdStart();
        tracer.addServiceNameAnnotation();
      }
      try {
        return await run();
      } catch (err) {
        if (sub && err instanceof Error) tracer.addErrorAsMetadata(err);
        throw err;
      } finally {
        if (sub && segment) {
          sub.close();
          tracer.setSegment(segment);
        }
        if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      }
    },
  };

  return { log, telemetry, traceClient: (client) => (tracer.isTracingEnabled() ? tracer.captureAWSv3Client(client) : client) };
}
