/** Sweep task: repairs one order; the state machine retries it and catches what still fails. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { expireReservation, republishOrFlag, SWEEP_ACTIONS, SweepAction, SweepItemResult } from '../domain/sweep';
import { logger, metrics, METRIC } from '../shared/observability';
import { sweepDeps, sweepSettings } from './deps';

export interface RepairInput {
  action: SweepAction;
  orderId: string;
}

export async function repair(input: RepairInput): Promise<SweepItemResult> {
  if (!SWEEP_ACTIONS.includes(input?.action) || typeof input?.orderId !== 'string') {
    throw new Error(`repair needs {action: ${SWEEP_ACTIONS.join('|')}, orderId}, got ${JSON.stringify(input)}`);
  }
  const deps = sweepDeps();
  switch (input.action) {
    case 'republish':
      return republishOrFlag(input.orderId, sweepSettings(), deps);
    case 'expire':
      return expireReservation(input.orderId, deps);
  }
}

export const handler = middy(async (input: RepairInput) => {
  logger.appendKeys({ orderId: input?.orderId, sweepAction: input?.action });
  try {
    const result = await repair(input);
    if (result.outcome === 'needs-attention') metrics.addMetric(METRIC.ordersNeedingAttention, MetricUnit.Count, 1);
    logger.info('sweep repaired order', { outcome: result.outcome });
    return result;
  } finally {
    logger.removeKeys(['orderId', 'sweepAction']);
  }
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
