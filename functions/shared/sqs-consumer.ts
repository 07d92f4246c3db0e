/**
 * The shape every queue consumer shares: a partial batch response (only failed records return to the queue),
 * each record parsed against the event catalogue, logged with its order and correlation ids, and counted.
 * A malformed record fails alone, so after maxReceiveCount it reaches the DLQ without blocking its batch.
 */
import middy from '@middy/core';
import { BatchProcessor, EventType as BatchEventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MalformedEventError } from '../domain/errors';
import { EventType, PipelineEvent, parseEnvelope } from '../domain/events';
import { logger, metrics, METRIC } from './observability';

/**
 * A record is not started with less than this left of the invocation: it goes back to its queue untouched. A
 * timeout would return every record of the batch, those done included, and count a receive against each; under
 * throttling (SDK retries back off for seconds) a batch of ten can outlast the function's timeout. Or a third of what
 * the invocation started with, if that is less.
 */
export const RECORD_START_RESERVE_MS = 3000;

export interface ConsumerDefinition {
  accepts: readonly EventType[];
  handle(event: PipelineEvent, context: Context): Promise<{ action: string }>;
}

export function makeConsumerHandler(definition: ConsumerDefinition) {
  // Records run at once, those of one order one after another in batch order: a batch takes as long as its slowest
  // order, not the sum of its records (under throttling each record's SDK retries back off for seconds), and two
  // records for one order never race inside an invocation. Log lines carry their record's keys themselves
  // (appended keys would be shared by the records in flight).
  const processor = new BatchProcessor(BatchEventType.SQS);

  // Per invocation: the time it started with (so a short timeout still leaves room to work), whether the deferral
  // was logged, and the last record started for each order.
  let invocation: { id: string; reserveMs: number; deferred: boolean; orders: Map<string, Promise<unknown>> } | undefined;
  const processRecord = async (record: SQSRecord, context: Context) => {
    if (invocation?.id !== context.awsRequestId) {
      invocation = { id: context.awsRequestId, reserveMs: Math.min(RECORD_START_RESERVE_MS, context.getRemainingTimeInMillis() / 3), deferred: false, orders: new Map() };
    }
    const current = invocation;
    let event: PipelineEvent;
    try {
      event = parseEnvelope(record.body, definition.accepts);
    } catch (error) {
      if (error instanceof MalformedEventError) {
        metrics.addMetric(METRIC.malformedEvents, MetricUnit.Count, 1);
        // Flushed now: left stored, it would go out with the next good record's eventType/action dimensions.
        metrics.publishStoredMetrics();
        logger.error('malformed event: it will reach the DLQ after its retries', { messageId: record.messageId, reason: error.message });
      }
      throw error;
    }
    const { orderId, correlationId, eventId } = event.detail;
    const keys = { orderId, correlationId, eventId, eventType: event.type };
    const before = current.orders.get(orderId);
    const run = (async () => {
      if (before) await before.catch(() => undefined);
      if (context.getRemainingTimeInMillis() < current.reserveMs) {
        // Logged once per invocation: the batch item failures name every record sent back.
        if (!current.deferred) logger.warn('too little time left to start more records: the rest return to the queue', { ...keys, remainingMs: context.getRemainingTimeInMillis() });
        current.deferred = true;
        throw new Error(`not started: less than ${current.reserveMs} ms of the invocation left`);
      }
      try {
        const outcome = await definition.handle(event, context);
        logger.info('event handled', { ...keys, outcome });
        // One synchronous block: the dimensions are this record's when the metric is flushed.
        metrics.addDimensions({ eventType: event.type, action: outcome.action });
        metrics.addMetric(METRIC.consumerOutcome, MetricUnit.Count, 1);
        metrics.publishStoredMetrics();
        return outcome;
      } catch (error) {
        logger.error('event failed: it returns to the queue', { ...keys, error: error as Error });
        throw error;
      }
    })();
    current.orders.set(orderId, run);
    return run;
  };

  const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, (record: SQSRecord) => processRecord(record, context), processor, {
      context,
      processInParallel: true,
      throwOnFullBatchFailure: false,
    });

  return middy(handler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
