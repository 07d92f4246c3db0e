import { EVENT_BUS, PAYMENT_WINDOW_SECONDS, TABLES, conditionalFailure, envelope, envelopeOf, eventDetail, lambdaContext, sqsEvent, sqsRecord, throttled } from '../shared/fixtures';

import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { SQSEvent } from 'aws-lambda';
import { handler } from '../../../functions/order-status/handler';
import { EVENT_CATALOGUE, EVENT_SOURCES } from '../../../functions/domain/events';

const ddb = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);

const ITEMS = [{ sku: 'sku-apple', quantity: 2 }];
const invoke = (event: SQSEvent) => handler(event, lambdaContext('order-status'));

const reserved = (orderId: string) => sqsRecord(envelope('InventoryReserved', orderId, { items: ITEMS }), `msg-${orderId}`);
const rejected = (orderId: string) => sqsRecord(envelope('InventoryRejected', orderId, { reason: 'OUT_OF_STOCK', sku: 'sku-apple' }), `msg-${orderId}`);

/** The status each UpdateCommand wrote, by order. */
const transitions = () =>
  ddb.commandCalls(UpdateCommand).map((c) => ({ orderId: c.args[0].input.Key?.orderId, to: c.args[0].input.ExpressionAttributeValues?.[':to'] }));

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  ddb.on(UpdateCommand).callsFake((input) => ({ Attributes: { orderId: input.Key.orderId, status: input.ExpressionAttributeValues[':to'] } }));
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
});

test('InventoryReserved: a conditional transition to RESERVED with a payment deadline', async () => {
  const before = Date.now();
  const response = await invoke(sqsEvent(reserved('ord_1')));
  const after = Date.now();

  expect(response.batchItemFailures).toEqual([]);
  const updates = ddb.commandCalls(UpdateCommand);
  expect(updates).toHaveLength(1);
  const input = updates[0].args[0].input;
  expect(input).toMatchObject({ TableName: TABLES.orders, Key: { orderId: 'ord_1' }, ConditionExpression: '#status IN (:from0, :from1)', ReturnValues: 'ALL_NEW' });
  expect(input.ExpressionAttributeValues).toMatchObject({ ':to': 'RESERVED', ':from0': 'PENDING', ':from1': 'NEEDS_ATTENTION' });
  const deadlineName = Object.entries(input.ExpressionAttributeNames!).find(([, name]) => name === 'paymentDeadline')?.[0];
  expect(deadlineName).toBeDefined();
  const deadline = Date.parse(input.ExpressionAttributeValues![deadlineName!.replace('#', ':')]);
  expect(deadline).toBeGreaterThanOrEqual(before + PAYMENT_WINDOW_SECONDS * 1000);
  expect(deadline).toBeLessThanOrEqual(after + PAYMENT_WINDOW_SECONDS * 1000);
  expect(input.UpdateExpression).toContain(`${deadlineName} = `);
  expect(eventBridge.calls()).toHaveLength(0);
});

describe('a batch with one good and one malformed record: only the malformed one fails', () => {
  const malformed: [string, unknown][] = [
    ['a body that is not JSON', 'not json at all'],
    ['an unknown detail-type', envelopeOf('InventoryChecked', eventDetail('ord_bad', { items: ITEMS }), EVENT_SOURCES.inventory)],
    ['a detail-type from the wrong source', envelopeOf('InventoryReserved', eventDetail('ord_bad', { items: ITEMS, eventId: 'x', occurredAt: 'now' }), EVENT_SOURCES.orders)],
    ['a detail missing a field', envelopeOf('InventoryRejected', eventDetail('ord_bad', { reason: 'OUT_OF_STOCK', eventId: 'x', occurredAt: 'now' }))],
    ['a detail with a value outside its enum', envelopeOf('InventoryRejected', eventDetail('ord_bad', { reason: 'LOST', sku: 's', eventId: 'x', occurredAt: 'now' }))],
    ['a detail-type this consumer does not handle', envelope('OrderPlaced', 'ord_bad', { items: ITEMS })],
  ];

  test.each(malformed)('%s', async (_name, body) => {
    const response = await invoke(sqsEvent(sqsRecord(body, 'msg-bad'), reserved('ord_good')));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-bad' }]);
    expect(transitions()).toEqual([{ orderId: 'ord_good', to: 'RESERVED' }]);
  });
});

test('a record whose processing throws fails alone; the others take effect', async () => {
  ddb.on(UpdateCommand, { Key: { orderId: 'ord_boom' } }).rejects(throttled());
  const response = await invoke(sqsEvent(reserved('ord_a'), reserved('ord_boom'), rejected('ord_b')));
  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-ord_boom' }]);
  expect(transitions().filter((t) => t.orderId !== 'ord_boom')).toEqual([
    { orderId: 'ord_a', to: 'RESERVED' },
    { orderId: 'ord_b', to: 'REJECTED' },
  ]);
});

test('an all-good batch: no failures; InventoryRejected writes REJECTED with its reason', async () => {
  const response = await invoke(sqsEvent(reserved('ord_a'), rejected('ord_b')));
  expect(response.batchItemFailures).toEqual([]);
  expect(transitions()).toEqual([
    { orderId: 'ord_a', to: 'RESERVED' },
    { orderId: 'ord_b', to: 'REJECTED' },
  ]);
  const rejection = ddb.commandCalls(UpdateCommand)[1].args[0].input;
  expect(Object.values(rejection.ExpressionAttributeNames!)).toContain('rejection');
  expect(Object.values(rejection.ExpressionAttributeValues!)).toContainEqual({ reason: 'OUT_OF_STOCK', sku: 'sku-apple' });
});

test('a reservation for an order cancelled meanwhile is handed back with ReservationOrphaned', async () => {
  ddb.on(UpdateCommand).rejects(conditionalFailure());
  ddb.on(GetCommand).resolves({ Item: { orderId: 'ord_1', customerId: 'cust-1', status: 'CANCELLED' } });

  const response = await invoke(sqsEvent(reserved('ord_1')));

  expect(response.batchItemFailures).toEqual([]);
  const entries = eventBridge.commandCalls(PutEventsCommand)[0].args[0].input.Entries!;
  expect(entries).toEqual([expect.objectContaining({ DetailType: 'ReservationOrphaned', Source: EVENT_CATALOGUE.ReservationOrphaned.source, EventBusName: EVENT_BUS })]);
  expect(JSON.parse(entries[0].Detail!)).toMatchObject({ orderId: 'ord_1', items: ITEMS });
});

test('a duplicate reservation (order already RESERVED) changes nothing and succeeds', async () => {
  ddb.on(UpdateCommand).rejects(conditionalFailure());
  ddb.on(GetCommand).resolves({ Item: { orderId: 'ord_1', status: 'RESERVED' } });
  const response = await invoke(sqsEvent(reserved('ord_1')));
  expect(response.batchItemFailures).toEqual([]);
  expect(eventBridge.calls()).toHaveLength(0);
});
