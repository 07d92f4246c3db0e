/** Sweep task: the execution's output, and a metric of the per-order failures it caught. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { summarise, SweepItemResult, SweepSummary } from '../domain/sweep';
import { logger, metrics, METRIC } from '../shared/observability';

type BranchResults = (SweepItemResult | { orderId: string; action: SweepItemResult['action']; error: unknown })[];

export const handler = middy(async (input: { results: BranchResults[] }): Promise<SweepSummary> => {
  const summary = summarise((input?.results ?? []).flat());
  metrics.addMetric(METRIC.sweepFailures, MetricUnit.Count, summary.failed);
  logger.info('sweep finished', { summary });
  return summary;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
