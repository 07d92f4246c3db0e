/** One logger and one metrics emitter per function; service name and namespace come from the environment. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'OrderPipeline';

export const logger = new Logger();
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE });

/** Metric names the dashboard and alarms refer to. */
export const METRIC = {
  ordersPlaced: 'OrdersPlaced',
  publishDeferred: 'EventPublishDeferred',
  malformedEvents: 'MalformedEvents',
  consumerOutcome: 'ConsumerOutcome',
  ordersNeedingAttention: 'OrdersNeedingAttention',
  sweepFailures: 'SweepItemFailures',
} as const;
