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

export interface ConsumerDefinition {
  accepts: readonly EventType[];
  handle(event: PipelineEvent, context: Context): Promise<{ action: string }>;
}

export function makeConsumerHandler(definition: ConsumerDefinition) {
  // Sequential: a record's log keys stay its own, and two records for one order never race.
  const processor = new BatchProcessor(BatchEventType.SQS);

  const processRecord = async (record: SQSRecord, context: Context) => {
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
    logger.appendKeys({ orderId, correlationId, eventId, eventType: event.type });
    try {
      const outcome = await definition.handle(event, context);
      logger.info('event handled', { outcome });
      metrics.addDimensions({ eventType: event.type, action: outcome.action });
      metrics.addMetric(METRIC.consumerOutcome, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return outcome;
    } catch (error) {
      logger.error('event failed: it returns to the queue', error as Error);
      throw error;
    } finally {
      logger.removeKeys(['orderId', 'correlationId', 'eventId', 'eventType']);
    }
  };

  const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, (record: SQSRecord) => processRecord(record, context), processor, {
      context,
      processInParallel: false,
      throwOnFullBatchFailure: false,
    });

  return middy(handler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
