import { EVENT_BUS, TABLES, conditionalFailure, envelope, envelopeOf, eventDetail, lambdaContext, sqsEvent, sqsRecord, throttled } from '../shared/fixtures';

import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { SQSEvent } from 'aws-lambda';
import { handler } from '../../../functions/inventory/handler';
import { EVENT_CATALOGUE, EVENT_SOURCES } from '../../../functions/domain/events';

const ddb = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);

const APPLE = { sku: 'sku-apple', quantity: 2 };
const PEAR = { sku: 'sku-pear', quantity: 5 };
const PLUM = { sku: 'sku-plum', quantity: 1 };

const invoke = (event: SQSEvent) => handler(event, lambdaContext('inventory'));

/** Update expressions as the stock repository writes them: what each UpdateCommand did. */
const kind = (expression: string | undefined) =>
  expression?.includes('available - :q') ? 'reserve' : expression?.includes('available + :q') ? 'release' : expression?.startsWith('SET reserved = reserved - :q') ? 'settle' : 'other';

function stockUpdates() {
  return ddb.commandCalls(UpdateCommand).map((c) => {
    const input = c.args[0].input;
    return { kind: kind(input.UpdateExpression), table: input.TableName, sku: input.Key?.sku, order: input.ExpressionAttributeNames?.['#order'], quantity: input.ExpressionAttributeValues?.[':q'] };
  });
}

function published() {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => ({ ...e, detail: JSON.parse(e.Detail ?? 'null') }));
}

const placed = (orderId: string, items = [APPLE]) => sqsRecord(envelope('OrderPlaced', orderId, { items }), `msg-${orderId}`);

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  ddb.on(GetCommand, { TableName: TABLES.orders }).resolves({});
  ddb.on(UpdateCommand).resolves({});
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
});

describe('a batch with one good and one malformed record: only the malformed one fails', () => {
  const malformed: [string, unknown][] = [
    ['a body that is not JSON', '{"version":"0","detail-type":'],
    ['an unknown detail-type', envelopeOf('OrderShipped', eventDetail('ord_bad', { items: [APPLE] }), EVENT_SOURCES.orders)],
    ['a detail-type from the wrong source', envelopeOf('OrderPlaced', eventDetail('ord_bad', { items: [APPLE], eventId: 'x', occurredAt: 'now' }), EVENT_SOURCES.inventory)],
    ['a detail missing a field', envelopeOf('OrderPlaced', { orderId: 'ord_bad', customerId: 'c', correlationId: 'c', eventId: 'x', occurredAt: 'now' })],
    ['a detail-type this consumer does not handle', envelope('InventoryReserved', 'ord_bad', { items: [APPLE] })],
  ];

  test.each(malformed)('%s', async (_name, body) => {
    const response = await invoke(sqsEvent(placed('ord_good'), sqsRecord(body, 'msg-bad')));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-bad' }]);
    expect(stockUpdates()).toEqual([{ kind: 'reserve', table: TABLES.inventory, sku: APPLE.sku, order: 'ord_good', quantity: APPLE.quantity }]);
    expect(published()).toEqual([expect.objectContaining({ DetailType: 'InventoryReserved', Source: EVENT_CATALOGUE.InventoryReserved.source, EventBusName: EVENT_BUS })]);
    expect(published()[0].detail).toMatchObject({ orderId: 'ord_good', items: [APPLE], correlationId: 'corr-ord_good' });
  });
});

test('the reservation is one conditional write per line: never below zero, once per (sku, order)', async () => {
  await invoke(sqsEvent(placed('ord_1', [APPLE, PLUM])));
  const reserve = ddb.commandCalls(UpdateCommand)[0].args[0].input;
  expect(reserve).toMatchObject({ TableName: TABLES.inventory, Key: { sku: APPLE.sku } });
  expect(reserve.ConditionExpression).toBe('attribute_exists(#pk) AND available >= :q AND attribute_not_exists(holds.#order)');
  expect(stockUpdates().map((u) => [u.kind, u.sku])).toEqual([
    ['reserve', APPLE.sku],
    ['reserve', PLUM.sku],
  ]);
  // It first checks the order is still waiting for stock.
  expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ TableName: TABLES.orders, Key: { orderId: 'ord_1' } });
});

test('a record whose processing throws fails alone; the others take effect', async () => {
  ddb.on(UpdateCommand, { ExpressionAttributeNames: { '#order': 'ord_boom' } }).rejects(throttled());
  const cancelled = (orderId: string) => sqsRecord(envelope('OrderCancelled', orderId, { items: [APPLE], reason: 'CUSTOMER' }), `msg-${orderId}`);

  const response = await invoke(sqsEvent(cancelled('ord_before'), cancelled('ord_boom'), cancelled('ord_after')));

  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-ord_boom' }]);
  expect(stockUpdates().filter((u) => u.order !== 'ord_boom')).toEqual([
    { kind: 'release', table: TABLES.inventory, sku: APPLE.sku, order: 'ord_before', quantity: APPLE.quantity },
    { kind: 'release', table: TABLES.inventory, sku: APPLE.sku, order: 'ord_after', quantity: APPLE.quantity },
  ]);
});

test('an all-good batch: no failures; placed reserves, cancelled and orphaned release, paid settles', async () => {
  const response = await invoke(
    sqsEvent(
      placed('ord_p'),
      sqsRecord(envelope('OrderCancelled', 'ord_c', { items: [PEAR], reason: 'PAYMENT_TIMEOUT' })),
      sqsRecord(envelope('ReservationOrphaned', 'ord_o', { items: [PLUM] })),
      sqsRecord(envelope('OrderPaid', 'ord_pd', { items: [APPLE], paymentId: 'pay-1' })),
    ),
  );

  expect(response.batchItemFailures).toEqual([]);
  expect(stockUpdates().map((u) => [u.kind, u.sku, u.order])).toEqual([
    ['reserve', APPLE.sku, 'ord_p'],
    ['release', PEAR.sku, 'ord_c'],
    ['release', PLUM.sku, 'ord_o'],
    ['settle', APPLE.sku, 'ord_pd'],
  ]);
  const settle = ddb.commandCalls(UpdateCommand)[3].args[0].input;
  expect(settle.ConditionExpression).toBe('holds.#order = :q');
  expect(published().map((e) => e.DetailType)).toEqual(['InventoryReserved']);
});

test('a release already applied (condition fails) is a success, not a retry', async () => {
  ddb.on(UpdateCommand).rejects(conditionalFailure());
  const response = await invoke(sqsEvent(sqsRecord(envelope('OrderCancelled', 'ord_c', { items: [APPLE], reason: 'CUSTOMER' }))));
  expect(response.batchItemFailures).toEqual([]);
});

test('an out-of-stock line: earlier lines are given back and InventoryRejected is published', async () => {
  ddb.on(UpdateCommand, { Key: { sku: PEAR.sku }, UpdateExpression: 'SET available = available - :q, reserved = reserved + :q, holds.#order = :q' }).rejects(conditionalFailure());
  ddb.on(GetCommand, { TableName: TABLES.inventory, Key: { sku: PEAR.sku } }).resolves({ Item: { sku: PEAR.sku, available: 4, reserved: 0, holds: {} } });

  const response = await invoke(sqsEvent(placed('ord_1', [APPLE, PEAR, PLUM])));

  expect(response.batchItemFailures).toEqual([]);
  expect(stockUpdates().map((u) => [u.kind, u.sku, u.quantity])).toEqual([
    ['reserve', APPLE.sku, APPLE.quantity],
    ['reserve', PEAR.sku, PEAR.quantity],
    ['release', APPLE.sku, APPLE.quantity],
  ]);
  const release = ddb.commandCalls(UpdateCommand)[2].args[0].input;
  expect(release).toMatchObject({ TableName: TABLES.inventory, Key: { sku: APPLE.sku }, ExpressionAttributeNames: { '#order': 'ord_1' } });
  expect(release.UpdateExpression).toContain('REMOVE holds.#order');
  expect(published()).toEqual([expect.objectContaining({ DetailType: 'InventoryRejected', Source: EVENT_CATALOGUE.InventoryRejected.source, EventBusName: EVENT_BUS })]);
  expect(published()[0].detail).toMatchObject({ orderId: 'ord_1', reason: 'OUT_OF_STOCK', sku: PEAR.sku, eventId: 'ord_1:InventoryRejected' });
});

test('an unknown sku is rejected as UNKNOWN_SKU', async () => {
  ddb.on(UpdateCommand, { Key: { sku: PEAR.sku } }).rejects(conditionalFailure());
  ddb.on(GetCommand, { TableName: TABLES.inventory }).resolves({});
  await invoke(sqsEvent(placed('ord_1', [PEAR])));
  expect(published()[0].detail).toMatchObject({ reason: 'UNKNOWN_SKU', sku: PEAR.sku });
});

test('a redelivered OrderPlaced (hold already there) still counts as reserved', async () => {
  ddb.on(UpdateCommand).rejects(conditionalFailure());
  ddb.on(GetCommand, { TableName: TABLES.inventory }).resolves({ Item: { sku: APPLE.sku, available: 0, reserved: 2, holds: { ord_1: 2 } } });
  const response = await invoke(sqsEvent(placed('ord_1')));
  expect(response.batchItemFailures).toEqual([]);
  expect(published().map((e) => e.DetailType)).toEqual(['InventoryReserved']);
});

test('an order that already left PENDING is not reserved for', async () => {
  ddb.on(GetCommand, { TableName: TABLES.orders }).resolves({ Item: { orderId: 'ord_1', status: 'CANCELLED' } });
  const response = await invoke(sqsEvent(placed('ord_1')));
  expect(response.batchItemFailures).toEqual([]);
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  expect(eventBridge.calls()).toHaveLength(0);
});

test('PutEvents failing fails the record, so the queue redelivers it', async () => {
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
  const response = await invoke(sqsEvent(placed('ord_1')));
  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-ord_1' }]);
});
