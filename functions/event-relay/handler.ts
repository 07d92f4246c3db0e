/**
 * Event relay: the orders table's stream (NEW_AND_OLD_IMAGES) -> one event per status change on the bus. The
 * event source mapping filters the stream to creations and status changes (lib/event-relay.ts), retries a batch
 * from the first record this handler reports, and keeps a shard in order.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { StoredOrder, systemClock } from '../domain/ports';
import { ChangeRecord, relayChanges, RelayDeps } from '../domain/relay';
import { eventBridge } from '../adapters/clients';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { ENV, requireEnv } from '../shared/env';
import { logger, metrics, METRIC } from '../shared/observability';

const image = (value: unknown): StoredOrder | undefined => (value ? (unmarshall(value as never) as StoredOrder) : undefined);

export function changeRecord(record: DynamoDBRecord): ChangeRecord {
  return { id: record.dynamodb?.SequenceNumber ?? '', before: image(record.dynamodb?.OldImage), after: image(record.dynamodb?.NewImage) };
}

export function makeRelayHandler(deps: () => RelayDeps) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const outcome = await relayChanges((event.Records ?? []).map(changeRecord), deps());
    metrics.addMetric(METRIC.eventsRelayed, MetricUnit.Count, outcome.published);
    if (outcome.deadLettered) metrics.addMetric(METRIC.malformedEvents, MetricUnit.Count, outcome.deadLettered);
    if (outcome.failedFrom !== undefined) {
      logger.warn('publishing failed: the batch is retried from this record', { sequenceNumber: outcome.failedFrom, reason: outcome.failure, published: outcome.published });
      return { batchItemFailures: [{ itemIdentifier: outcome.failedFrom }] };
    }
    logger.info('changes relayed', { records: event.Records?.length ?? 0, published: outcome.published, deadLettered: outcome.deadLettered });
    return { batchItemFailures: [] };
  };
}

let deps: RelayDeps | undefined;
let sqs: SQSClient | undefined;
const relayDeps = (): RelayDeps =>
  (deps ??= {
    events: new EventBridgePublisher(eventBridge(), requireEnv(ENV.eventBus)),
    clock: systemClock,
    async deadLetter(record, reason) {
      const order = record.after ?? record.before;
      logger.error('no event can be built from this change: dead-lettered', { orderId: order?.orderId, sequenceNumber: record.id, reason });
      sqs ??= new SQSClient({});
      await sqs.send(new SendMessageCommand({ QueueUrl: requireEnv(ENV.relayDeadLetterQueueUrl), MessageBody: JSON.stringify({ reason, record }) }));
    },
  });

export const handler = middy(makeRelayHandler(relayDeps)).use(injectLambdaContext(logger)).use(logMetrics(metrics));
