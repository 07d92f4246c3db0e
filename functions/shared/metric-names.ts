/** Metric namespace and names: the functions emit them, the stack's alarms and dashboard read them. */
export const METRICS_NAMESPACE = 'OrderPipeline';

export const METRIC = {
  ordersPlaced: 'OrdersPlaced',
  eventsRelayed: 'EventsRelayed',
  malformedEvents: 'MalformedEvents',
  consumerOutcome: 'ConsumerOutcome',
  ordersNeedingAttention: 'OrdersNeedingAttention',
  sweepFailures: 'SweepItemFailures',
} as const;
