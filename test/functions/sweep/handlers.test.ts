import { EVENT_BUS, SWEEP, TABLES, conditionalFailure, lambdaContext, setPipelineEnv, storedOrderOf, throttled, transactionCanceled } from '../shared/fixtures';

import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { handler as findWork } from '../../../functions/sweep/find-work';
import { handler as repairOrder, RepairInput } from '../../../functions/sweep/repair-order';
import { handler as summarise } from '../../../functions/sweep/summarise';
import { EVENT_CATALOGUE } from '../../../functions/domain/events';
import { StoredOrder } from '../../../functions/domain/ports';
import { ORDERS_TABLE } from '../../../functions/adapters/table-schema';

const ddb = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);
const { openOrders } = ORDERS_TABLE.indexes;

const ITEMS = [
  { sku: 'sku-apple', quantity: 2 },
  { sku: 'sku-pear', quantity: 1 },
];
const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

const order = (orderId: string, overrides: Partial<StoredOrder> = {}): StoredOrder => storedOrderOf(orderId, ITEMS, overrides);

/** What the open-orders index holds about an order: its keys, and the deadline projected with them. */
function indexEntry(orderId: string, status: string, paymentDeadline?: string) {
  return { orderId, [openOrders.partitionKey]: status, [openOrders.sortKey]: '2026-01-01T00:00:00.000Z', ...(paymentDeadline ? { paymentDeadline } : {}) };
}

function published() {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => ({ ...e, detail: JSON.parse(e.Detail ?? 'null') }));
}

const transactions = () => ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems!);

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  setPipelineEnv();
});

describe('find-work', () => {
  const query = (key: string) => ({ TableName: TABLES.orders, IndexName: openOrders.name, ExpressionAttributeValues: { ':key': key } });

  beforeEach(() => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(QueryCommand, query('PENDING')).resolves({ Items: [indexEntry('ord_stale_1', 'PENDING'), indexEntry('ord_stale_2', 'PENDING')] });
    ddb.on(QueryCommand, query('RESERVED')).resolves({
      Items: [indexEntry('ord_overdue', 'RESERVED', ago(60)), indexEntry('ord_in_time', 'RESERVED', ago(-600)), indexEntry('ord_no_deadline', 'RESERVED')],
    });
  });

  test('returns {republish, expire} from two queries of the open-orders index, never a scan and never the orders themselves', async () => {
    const before = Date.now();
    const work = await findWork({}, lambdaContext('sweep-find-work'));
    const after = Date.now();

    expect(work).toEqual({
      republish: [{ orderId: 'ord_stale_1' }, { orderId: 'ord_stale_2' }],
      expire: [{ orderId: 'ord_overdue' }],
    });
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(0);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);

    const queries = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries.map((q) => q.ExpressionAttributeValues?.[':key']).sort()).toEqual(['PENDING', 'RESERVED']);
    expect(ddb.calls()).toHaveLength(2);
    for (const q of queries) {
      expect(q).toMatchObject({
        TableName: TABLES.orders,
        IndexName: openOrders.name,
        KeyConditionExpression: '#pk = :key AND #sk < :before',
        ExpressionAttributeNames: { '#pk': openOrders.partitionKey, '#sk': openOrders.sortKey },
        ScanIndexForward: true,
        Limit: SWEEP.maxOrdersPerRun,
      });
    }
    // PENDING looks back as far as its setting says; RESERVED takes every reservation so far (the deadline decides).
    const beforeOf = (key: string) => Date.parse(queries.find((q) => q.ExpressionAttributeValues?.[':key'] === key)!.ExpressionAttributeValues![':before']);
    const within = (t: number, secondsAgo: number) => {
      expect(t).toBeGreaterThanOrEqual(before - secondsAgo * 1000);
      expect(t).toBeLessThanOrEqual(after - secondsAgo * 1000);
    };
    within(beforeOf('PENDING'), SWEEP.stalePendingAfterSeconds);
    within(beforeOf('RESERVED'), 0);
  });

  test('never asks for more than SWEEP_MAX_ORDERS_PER_RUN per kind', async () => {
    setPipelineEnv({ sweepMaxOrdersPerRun: '1' });
    await findWork({}, lambdaContext('sweep-find-work'));
    expect(ddb.commandCalls(QueryCommand).map((c) => c.args[0].input.Limit)).toEqual([1, 1]);
  });

  test('nothing to do: empty lists', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await expect(findWork({}, lambdaContext('sweep-find-work'))).resolves.toEqual({ republish: [], expire: [] });
  });

  test('a DynamoDB failure fails the task (the state machine retries it)', async () => {
    ddb.on(QueryCommand).rejects(throttled());
    await expect(findWork({}, lambdaContext('sweep-find-work'))).rejects.toThrow('Rate of requests');
  });
});

describe('repair-order', () => {
  const repair = (input: RepairInput) => repairOrder(input, lambdaContext('sweep-repair-order'));

  test('republish: re-publishes OrderPlaced (same id, original time), then counts the attempt, bounded by the setting', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { republishCount: 1 }) });
    ddb.on(UpdateCommand).resolves({});

    await expect(repair({ action: 'republish', orderId: 'ord_1' })).resolves.toEqual({ orderId: 'ord_1', action: 'republish', outcome: 'republished' });

    expect(published()).toEqual([expect.objectContaining({ DetailType: 'OrderPlaced', Source: EVENT_CATALOGUE.OrderPlaced.source, EventBusName: EVENT_BUS })]);
    expect(published()[0].detail).toEqual({
      orderId: 'ord_1',
      customerId: 'cust-1',
      correlationId: 'corr-ord_1',
      items: ITEMS,
      eventId: 'ord_1:OrderPlaced',
      occurredAt: '2026-01-01T00:00:00.000Z',
    });
    const updates = ddb.commandCalls(UpdateCommand);
    expect(updates).toHaveLength(1);
    const count = updates[0].args[0].input;
    expect(count).toMatchObject({ TableName: TABLES.orders, Key: { orderId: 'ord_1' } });
    expect(count.UpdateExpression).toContain('republishCount');
    expect(count.ExpressionAttributeValues).toMatchObject({ ':max': SWEEP.maxRepublishAttempts, ':pending': 'PENDING' });
    // Publish first, count after: a failed publish must not use up an attempt.
    expect(eventBridge.commandCalls(PutEventsCommand)[0].calledBefore(updates[0])).toBe(true);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  test('republish: a failed publish fails the task and does not count the attempt', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1') });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });

    await expect(repair({ action: 'republish', orderId: 'ord_1' })).rejects.toThrow('PutEvents');

    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  test('republish: attempts exhausted -> the order is flagged NEEDS_ATTENTION (still in the open index), nothing published', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { republishCount: SWEEP.maxRepublishAttempts }) });
    ddb.on(UpdateCommand).resolves({ Attributes: order('ord_1', { status: 'NEEDS_ATTENTION' }) });

    await expect(repair({ action: 'republish', orderId: 'ord_1' })).resolves.toEqual({ orderId: 'ord_1', action: 'republish', outcome: 'needs-attention' });

    const updates = ddb.commandCalls(UpdateCommand);
    expect(updates).toHaveLength(1);
    const flag = updates[0].args[0].input;
    expect(flag).toMatchObject({
      TableName: TABLES.orders,
      Key: { orderId: 'ord_1' },
      ConditionExpression: '#status IN (:from0)',
      ExpressionAttributeValues: { ':to': 'NEEDS_ATTENTION', ':from0': 'PENDING' },
    });
    expect(flag.UpdateExpression).toContain('openStatus = :to');
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('republish: a flag that loses the race (the order settled) is settled-meanwhile', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { republishCount: SWEEP.maxRepublishAttempts }) });
    ddb.on(UpdateCommand).rejects(conditionalFailure(marshall(order('ord_1', { status: 'RESERVED' }))));
    await expect(repair({ action: 'republish', orderId: 'ord_1' })).resolves.toMatchObject({ outcome: 'settled-meanwhile' });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('republish: an order that settled meanwhile is neither published nor flagged; a missing one is reported', async () => {
    ddb.on(GetCommand).resolvesOnce({ Item: order('ord_1', { status: 'RESERVED' }) }).resolvesOnce({});
    await expect(repair({ action: 'republish', orderId: 'ord_1' })).resolves.toMatchObject({ outcome: 'settled-meanwhile' });
    await expect(repair({ action: 'republish', orderId: 'ord_2' })).resolves.toMatchObject({ outcome: 'missing' });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('expire: one transaction cancels the RESERVED order only if its deadline passed, and releases its stock; nothing published', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { status: 'RESERVED', paymentDeadline: ago(60) }) });
    ddb.on(TransactWriteCommand).resolves({});
    const before = Date.now();

    await expect(repair({ action: 'expire', orderId: 'ord_1' })).resolves.toEqual({ orderId: 'ord_1', action: 'expire', outcome: 'cancelled' });

    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ TableName: TABLES.orders, Key: { orderId: 'ord_1' }, ConsistentRead: true });
    expect(transactions()).toHaveLength(1);
    const [cancel, ...stock] = transactions()[0];
    expect(cancel.Update).toMatchObject({
      TableName: TABLES.orders,
      Key: { orderId: 'ord_1' },
      ConditionExpression: '#status IN (:from0) AND paymentDeadline <= :deadline',
      ExpressionAttributeNames: { '#status': 'status', '#s0': 'cancellation' },
      ExpressionAttributeValues: { ':to': 'CANCELLED', ':from0': 'RESERVED', ':s0': { reason: 'PAYMENT_TIMEOUT' } },
    });
    expect(cancel.Update!.UpdateExpression).toContain('REMOVE openStatus');
    expect(Date.parse(cancel.Update!.ExpressionAttributeValues![':deadline'])).toBeGreaterThanOrEqual(before);
    expect(stock).toEqual(
      ITEMS.map((line) => ({
        Update: {
          TableName: TABLES.inventory,
          Key: { sku: line.sku },
          UpdateExpression: 'SET available = available + :q, reserved = reserved - :q, version = version + :one',
          ConditionExpression: 'reserved >= :q',
          ExpressionAttributeValues: { ':q': line.quantity, ':one': 1 },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      })),
    );
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('expire: an order that left RESERVED before the read is left alone, nothing written', async () => {
    ddb.on(GetCommand).resolvesOnce({ Item: order('ord_1', { status: 'PAID', paymentId: 'pay-1' }) }).resolvesOnce({});
    await expect(repair({ action: 'expire', orderId: 'ord_1' })).resolves.toMatchObject({ outcome: 'left-PAID' });
    await expect(repair({ action: 'expire', orderId: 'ord_2' })).resolves.toMatchObject({ outcome: 'left-missing' });
    expect(transactions()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('expire: paid between the read and the transaction -> the condition fails, the order is left alone', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { status: 'RESERVED', paymentDeadline: ago(60) }) });
    ddb.on(TransactWriteCommand).rejects(
      transactionCanceled([{ Code: 'ConditionalCheckFailed', Item: order('ord_1', { status: 'PAID', paymentId: 'pay-1' }) }, { Code: 'None' }, { Code: 'None' }]),
    );
    await expect(repair({ action: 'expire', orderId: 'ord_1' })).resolves.toMatchObject({ outcome: 'left-PAID' });
    expect(transactions()).toHaveLength(1);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('expire: held stock that is not there to release fails the task (caught and reported by the state machine)', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { status: 'RESERVED', paymentDeadline: ago(60) }) });
    ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: { sku: 'sku-apple', reserved: 0 } }, { Code: 'None' }]));
    await expect(repair({ action: 'expire', orderId: 'ord_1' })).rejects.toThrow(/held stock.*sku-apple/);
  });

  test('rejects bad input (the removed publish action included) without touching AWS', async () => {
    const bad = [{ action: 'publish', orderId: 'ord_1' }, { action: 'delete', orderId: 'ord_1' }, { action: 'republish' }, { action: 'expire', orderId: 7 }, null] as unknown as RepairInput[];
    for (const input of bad) await expect(repair(input)).rejects.toThrow(/repair needs \{action: republish\|expire, orderId\}/);
    expect(ddb.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('an AWS error propagates, so the state machine retries and then catches it', async () => {
    ddb.on(GetCommand).rejects(throttled());
    await expect(repair({ action: 'expire', orderId: 'ord_1' })).rejects.toThrow('Rate of requests');
  });
});

describe('summarise', () => {
  test('counts what each branch found and did, and reports caught failures', async () => {
    const summary = await summarise(
      {
        results: [
          [
            { orderId: 'ord_1', action: 'republish', outcome: 'republished' },
            { orderId: 'ord_2', action: 'republish', outcome: 'republished' },
            { orderId: 'ord_3', action: 'republish', outcome: 'needs-attention' },
            { orderId: 'ord_4', action: 'republish', error: { Error: 'ProvisionedThroughputExceededException', Cause: 'slow down' } },
          ],
          [
            { orderId: 'ord_5', action: 'expire', outcome: 'cancelled' },
            { orderId: 'ord_6', action: 'expire', error: 'timeout' },
          ],
        ],
      },
      lambdaContext('sweep-summarise'),
    );

    expect(summary).toEqual({
      found: { republish: 4, expire: 2 },
      outcomes: { 'republish:republished': 2, 'republish:needs-attention': 1, 'expire:cancelled': 1 },
      failed: 2,
      failures: [
        { orderId: 'ord_4', action: 'republish', error: 'ProvisionedThroughputExceededException: slow down' },
        { orderId: 'ord_6', action: 'expire', error: 'timeout' },
      ],
    });
  });

  test('an empty run summarises to zeros', async () => {
    await expect(summarise({ results: [] }, lambdaContext('sweep-summarise'))).resolves.toEqual({
      found: { republish: 0, expire: 0 },
      outcomes: {},
      failed: 0,
      failures: [],
    });
  });
});
