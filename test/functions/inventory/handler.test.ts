/**
 * The inventory consumer: on OrderPlaced, one TransactWriteItems reserves every line and moves the order out of
 * PENDING; a line that cannot be reserved rejects the order with one conditional UpdateItem instead. It publishes
 * nothing (the orders table's stream relays InventoryReserved / InventoryRejected).
 */
import { PAYMENT_WINDOW_SECONDS, TABLES, conditionalFailure, envelope, envelopeOf, eventDetail, lambdaContext, sqsEvent, sqsRecord, throttled, transactionCanceled, transactionConflict } from '../shared/fixtures';

import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, TransactWriteCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { handler } from '../../../functions/inventory/handler';
import { EVENT_SOURCES } from '../../../functions/domain/events';
import { OrderLine } from '../../../functions/domain/order';

const ddb = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);

const APPLE = { sku: 'sku-apple', quantity: 2 };
const PEAR = { sku: 'sku-pear', quantity: 5 };
const PLUM = { sku: 'sku-plum', quantity: 1 };

const invoke = (event: SQSEvent) => handler(event, lambdaContext('inventory'));
const placed = (orderId: string, items = [APPLE]) => sqsRecord(envelope('OrderPlaced', orderId, { items }), `msg-${orderId}`);

type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;
const transactions = (): TransactItems[] => ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems!);
/** The order each transaction is for. */
const orderOf = (items: TransactItems) => items[0].Update!.Key!.orderId as string;

/** The conditional reserve of one line's SKU item: never below zero, and only for a SKU that exists. */
function reserveUpdate(line: OrderLine) {
  return {
    Update: {
      TableName: TABLES.inventory,
      Key: { sku: line.sku },
      UpdateExpression: 'SET available = available - :q, reserved = reserved + :q, version = version + :one',
      ConditionExpression: 'attribute_exists(#sku) AND available >= :q',
      ExpressionAttributeNames: { '#sku': 'sku' },
      ExpressionAttributeValues: { ':q': line.quantity, ':one': 1 },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** The order as stored, for condition failures that return it. */
const storedOrder = (orderId: string, status: string, items: OrderLine[] = [APPLE]) => ({
  orderId,
  customerId: 'cust-1',
  status,
  items,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:01.000Z',
  statusChangedAt: '2026-01-01T00:00:01.000Z',
  requestHash: 'h',
  correlationId: `corr-${orderId}`,
});

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  ddb.on(TransactWriteCommand).resolves({});
  ddb.on(UpdateCommand).resolves({ Attributes: storedOrder('ord_x', 'REJECTED') });
});

afterEach(() => {
  // Whatever happened, the consumer itself never publishes: the stream does.
  expect(eventBridge.calls()).toHaveLength(0);
});

test('OrderPlaced: one transaction, the order PENDING/NEEDS_ATTENTION -> RESERVED with its payment deadline + one reserve per line', async () => {
  const before = Date.now();
  const response = await invoke(sqsEvent(placed('ord_1', [APPLE, PLUM])));
  const after = Date.now();

  expect(response.batchItemFailures).toEqual([]);
  expect(transactions()).toHaveLength(1);
  const [order, ...stock] = transactions()[0];
  expect(order.Update).toMatchObject({
    TableName: TABLES.orders,
    Key: { orderId: 'ord_1' },
    ConditionExpression: '#status IN (:from0, :from1)',
    ExpressionAttributeNames: { '#status': 'status', '#s0': 'paymentDeadline' },
    ExpressionAttributeValues: { ':to': 'RESERVED', ':from0': 'PENDING', ':from1': 'NEEDS_ATTENTION' },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
  // RESERVED stays in the sweep's open-orders index (it may expire).
  expect(order.Update!.UpdateExpression).toContain('openStatus = :to');
  const values = order.Update!.ExpressionAttributeValues!;
  const at = Date.parse(values[':at']);
  expect(at).toBeGreaterThanOrEqual(before);
  expect(at).toBeLessThanOrEqual(after);
  expect(Date.parse(values[':s0']) - at).toBe(PAYMENT_WINDOW_SECONDS * 1000);
  expect(stock).toEqual([reserveUpdate(APPLE), reserveUpdate(PLUM)]);
  // Nothing read, nothing written outside the transaction.
  expect(ddb.calls()).toHaveLength(1);
});

describe('a batch with one good and one malformed record: only the malformed one fails', () => {
  const malformed: [string, unknown][] = [
    ['a body that is not JSON', '{"version":"0","detail-type":'],
    ['an unknown detail-type', envelopeOf('OrderShipped', eventDetail('ord_bad', { items: [APPLE] }), EVENT_SOURCES.orders)],
    ['a detail-type from the wrong source', envelopeOf('OrderPlaced', eventDetail('ord_bad', { items: [APPLE], eventId: 'x', occurredAt: 'now' }), EVENT_SOURCES.inventory)],
    ['a detail missing a field', envelopeOf('OrderPlaced', { orderId: 'ord_bad', customerId: 'c', correlationId: 'c', eventId: 'x', occurredAt: 'now' })],
    ['the removed ReservationOrphaned', envelopeOf('ReservationOrphaned', eventDetail('ord_bad', { items: [APPLE], eventId: 'x', occurredAt: 'now' }), EVENT_SOURCES.orders)],
    // Stock is released and settled by the transactions that cancel and pay: these events are no longer this consumer's.
    ['an OrderCancelled', envelope('OrderCancelled', 'ord_bad', { items: [APPLE], reason: 'CUSTOMER' })],
    ['an OrderPaid', envelope('OrderPaid', 'ord_bad', { items: [APPLE], paymentId: 'pay-1' })],
    ['an InventoryReserved', envelope('InventoryReserved', 'ord_bad', { items: [APPLE] })],
  ];

  test.each(malformed)('%s', async (_name, body) => {
    const response = await invoke(sqsEvent(placed('ord_good'), sqsRecord(body, 'msg-bad')));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-bad' }]);
    expect(transactions().map(orderOf)).toEqual(['ord_good']);
    expect(transactions()[0].slice(1)).toEqual([reserveUpdate(APPLE)]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});

test('an out-of-stock line: nothing reserved; the order moves to REJECTED (OUT_OF_STOCK, that sku) in one conditional update', async () => {
  ddb
    .on(TransactWriteCommand)
    .rejects(
      transactionCanceled([
        { Code: 'None' },
        { Code: 'None' },
        { Code: 'ConditionalCheckFailed', Item: { sku: PEAR.sku, available: 4, reserved: 0, sold: 0, version: 3 } },
        { Code: 'None' },
      ]),
    );

  const response = await invoke(sqsEvent(placed('ord_1', [APPLE, PEAR, PLUM])));

  expect(response.batchItemFailures).toEqual([]);
  // One attempt: a failed condition is an answer, not contention.
  expect(transactions()).toHaveLength(1);
  expect(transactions()[0].slice(1)).toEqual([reserveUpdate(APPLE), reserveUpdate(PEAR), reserveUpdate(PLUM)]);
  const updates = ddb.commandCalls(UpdateCommand);
  expect(updates).toHaveLength(1);
  const reject = updates[0].args[0].input;
  expect(reject).toMatchObject({
    TableName: TABLES.orders,
    Key: { orderId: 'ord_1' },
    ConditionExpression: '#status IN (:from0, :from1)',
    ExpressionAttributeNames: { '#status': 'status', '#s0': 'rejection' },
    ExpressionAttributeValues: { ':to': 'REJECTED', ':from0': 'PENDING', ':from1': 'NEEDS_ATTENTION', ':s0': { reason: 'OUT_OF_STOCK', sku: PEAR.sku } },
  });
  // A rejected order is settled: it leaves the sweep's index.
  expect(reject.UpdateExpression).toContain('REMOVE openStatus');
  // The failed condition returned the SKU item: it exists, no read needed.
  expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
});

test('an unknown sku (its condition failed with no item, and it cannot be read) is rejected as UNKNOWN_SKU', async () => {
  ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed' }]));
  ddb.on(GetCommand).resolves({});

  const response = await invoke(sqsEvent(placed('ord_1', [APPLE, PEAR])));

  expect(response.batchItemFailures).toEqual([]);
  expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
  expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ TableName: TABLES.inventory, Key: { sku: PEAR.sku } });
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  expect(ddb.commandCalls(UpdateCommand)[0].args[0].input.ExpressionAttributeValues).toMatchObject({ ':to': 'REJECTED', ':s0': { reason: 'UNKNOWN_SKU', sku: PEAR.sku } });
});

test('a short line on an engine that returns no item: the SKU is read, and an existing one is OUT_OF_STOCK', async () => {
  ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }]));
  ddb.on(GetCommand).resolves({ Item: { sku: APPLE.sku } });

  await invoke(sqsEvent(placed('ord_1', [APPLE])));

  expect(ddb.commandCalls(UpdateCommand)[0].args[0].input.ExpressionAttributeValues).toMatchObject({ ':s0': { reason: 'OUT_OF_STOCK', sku: APPLE.sku } });
});

test.each([
  ['the failure carries the order', { Code: 'ConditionalCheckFailed', Item: storedOrder('ord_1', 'CANCELLED') }, 0],
  ['the order is read again', { Code: 'ConditionalCheckFailed' }, 1],
])('a duplicate or late OrderPlaced (the order already left PENDING) changes nothing (%s)', async (_name, orderReason, reads) => {
  ddb.on(TransactWriteCommand).rejects(transactionCanceled([orderReason, { Code: 'None' }]));
  ddb.on(GetCommand).resolves({ Item: storedOrder('ord_1', 'RESERVED') });

  const response = await invoke(sqsEvent(placed('ord_1')));

  expect(response.batchItemFailures).toEqual([]);
  expect(transactions()).toHaveLength(1);
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  expect(ddb.commandCalls(GetCommand)).toHaveLength(reads);
  if (reads) expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ TableName: TABLES.orders, Key: { orderId: 'ord_1' } });
});

test('a rejection that loses the race (the order left PENDING meanwhile) changes nothing and succeeds', async () => {
  ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: { sku: APPLE.sku, available: 0 } }]));
  ddb.on(UpdateCommand).rejects(conditionalFailure(marshall(storedOrder('ord_1', 'CANCELLED'))));

  const response = await invoke(sqsEvent(placed('ord_1')));

  expect(response.batchItemFailures).toEqual([]);
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
});

test('contention is retried: a conflict, then the reservation commits', async () => {
  ddb.on(TransactWriteCommand).rejectsOnce(transactionConflict(2)).resolves({});

  const response = await invoke(sqsEvent(placed('ord_1')));

  expect(response.batchItemFailures).toEqual([]);
  expect(transactions()).toHaveLength(2);
  expect(transactions()[1]).toEqual(transactions()[0]);
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
});

test('contention that does not pass fails the record (it returns to the queue), and the order is not rejected', async () => {
  ddb.on(TransactWriteCommand).rejects(transactionConflict(2));

  const response = await invoke(sqsEvent(placed('ord_1')));

  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-ord_1' }]);
  expect(transactions().length).toBeGreaterThan(1);
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
});

test('a record whose transaction throws fails alone; the others take effect', async () => {
  ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
    if (orderOf(input.TransactItems!) === 'ord_boom') throw throttled();
    return {};
  });

  const response = await invoke(sqsEvent(placed('ord_before'), placed('ord_boom', [PEAR]), placed('ord_after', [PLUM])));

  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-ord_boom' }]);
  expect(transactions().map(orderOf)).toEqual(['ord_before', 'ord_boom', 'ord_after']);
  expect(transactions()[2].slice(1)).toEqual([reserveUpdate(PLUM)]);
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
});
