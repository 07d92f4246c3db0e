/** The notification consumer with the default channel: a conditional put into the notifications table. */
import { TABLES, conditionalFailure, envelope, envelopeOf, eventDetail, lambdaContext, sqsEvent, sqsRecord, throttled } from '../shared/fixtures';

import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { SQSEvent } from 'aws-lambda';
import { handler } from '../../../functions/notification/handler';
import { EVENT_SOURCES } from '../../../functions/domain/events';
import { ENV } from '../../../functions/shared/env';
import { NOTIFICATIONS_TABLE } from '../../../functions/adapters/table-schema';

const ddb = mockClient(DynamoDBDocumentClient);
const rawDynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);

const ITEMS = [{ sku: 'sku-apple', quantity: 2 }];
const invoke = (event: SQSEvent) => handler(event, lambdaContext('notification'));
const reserved = (orderId: string) => sqsRecord(envelope('InventoryReserved', orderId, { items: ITEMS }), `msg-${orderId}`);
const items = () => ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item as Record<string, unknown>);

beforeAll(() => {
  delete process.env[ENV.notificationChannel]; // absent: the default channel
});

beforeEach(() => {
  ddb.reset();
  rawDynamo.reset();
  sns.reset();
  ddb.on(PutCommand).resolves({});
});

test('a conditional put into the notifications table, once per (order, event type); nothing else', async () => {
  const response = await invoke(sqsEvent(reserved('ord_1')));

  expect(response.batchItemFailures).toEqual([]);
  const puts = ddb.commandCalls(PutCommand);
  expect(puts).toHaveLength(1);
  const input = puts[0].args[0].input;
  expect(input.TableName).toBe(TABLES.notifications);
  expect(input.ConditionExpression).toBe('attribute_not_exists(#pk) AND attribute_not_exists(#sk)');
  expect(input.ExpressionAttributeNames).toEqual({ '#pk': NOTIFICATIONS_TABLE.partitionKey, '#sk': NOTIFICATIONS_TABLE.sortKey });
  expect(input.Item).toEqual({
    orderId: 'ord_1',
    customerId: 'cust-1',
    correlationId: 'corr-ord_1',
    eventType: 'InventoryReserved',
    subject: 'Order ord_1 confirmed',
    message: expect.stringContaining('reserved'),
    sentAt: expect.any(String),
  });
  // The table put is the once-only record: no idempotency table write, no SNS.
  expect(rawDynamo.calls()).toHaveLength(0);
  expect(sns.calls()).toHaveLength(0);
});

test('a duplicate (ConditionalCheckFailedException) is a success, not a failure', async () => {
  ddb.on(PutCommand).rejects(conditionalFailure());
  const response = await invoke(sqsEvent(reserved('ord_1'), reserved('ord_2')));
  expect(response.batchItemFailures).toEqual([]);
  expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
});

describe('a batch with one good and one malformed record: only the malformed one fails', () => {
  const malformed: [string, unknown][] = [
    ['a body that is not JSON', '<xml/>'],
    ['an unknown detail-type', envelopeOf('OrderRefunded', eventDetail('ord_bad'), EVENT_SOURCES.orders)],
    ['a detail-type from the wrong source', envelopeOf('OrderPaid', eventDetail('ord_bad', { items: ITEMS, paymentId: 'p', eventId: 'x', occurredAt: 'now' }), EVENT_SOURCES.inventory)],
    ['a detail missing a field', envelopeOf('OrderPaid', eventDetail('ord_bad', { items: ITEMS, eventId: 'x', occurredAt: 'now' }))],
    ['a detail-type this consumer does not handle', envelope('OrderPlaced', 'ord_bad', { items: ITEMS })],
  ];

  test.each(malformed)('%s', async (_name, body) => {
    const response = await invoke(sqsEvent(reserved('ord_good'), sqsRecord(body, 'msg-bad')));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-bad' }]);
    expect(items().map((i) => [i.orderId, i.eventType])).toEqual([['ord_good', 'InventoryReserved']]);
  });
});

test('a record whose write throws fails alone; the others are recorded', async () => {
  ddb.on(PutCommand, { Item: { orderId: 'ord_boom' } }).rejects(throttled());
  const response = await invoke(sqsEvent(reserved('ord_a'), reserved('ord_boom'), reserved('ord_b')));
  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-ord_boom' }]);
  expect(items().map((i) => i.orderId)).toEqual(['ord_a', 'ord_boom', 'ord_b']);
});

test('an all-good batch of every notified event: no failures, one message each', async () => {
  const response = await invoke(
    sqsEvent(
      reserved('ord_r'),
      sqsRecord(envelope('InventoryRejected', 'ord_j', { reason: 'UNKNOWN_SKU', sku: 'sku-x' })),
      sqsRecord(envelope('OrderPaid', 'ord_p', { items: ITEMS, paymentId: 'pay-7' })),
      sqsRecord(envelope('OrderCancelled', 'ord_c', { items: ITEMS, reason: 'PAYMENT_TIMEOUT' })),
    ),
  );
  expect(response.batchItemFailures).toEqual([]);
  expect(items().map((i) => [i.orderId, i.eventType, i.subject])).toEqual([
    ['ord_r', 'InventoryReserved', 'Order ord_r confirmed'],
    ['ord_j', 'InventoryRejected', 'Order ord_j could not be fulfilled'],
    ['ord_p', 'OrderPaid', 'Order ord_p paid'],
    ['ord_c', 'OrderCancelled', 'Order ord_c cancelled'],
  ]);
  expect(items()[1].message).toBe('Item sku-x is not sold here.');
  expect(items()[2].message).toContain('pay-7');
  expect(items()[3].message).toContain('not received in time');
});
