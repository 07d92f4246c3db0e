import { EVENT_BUS, SWEEP, TABLES, conditionalFailure, lambdaContext, setPipelineEnv, throttled } from '../shared/fixtures';

import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { handler as findWork } from '../../../functions/sweep/find-work';
import { handler as repairOrder, RepairInput } from '../../../functions/sweep/repair-order';
import { handler as summarise } from '../../../functions/sweep/summarise';
import { EVENT_CATALOGUE } from '../../../functions/domain/events';
import { StoredOrder } from '../../../functions/domain/ports';
import { ORDERS_TABLE } from '../../../functions/adapters/table-schema';

const ddb = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);
const { byStatus, byUnpublishedEvent } = ORDERS_TABLE.indexes;

const ITEMS = [{ sku: 'sku-apple', quantity: 2 }];
const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

function order(orderId: string, overrides: Partial<StoredOrder> = {}): StoredOrder {
  return {
    orderId,
    customerId: 'cust-1',
    status: 'PENDING',
    items: ITEMS,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    statusChangedAt: '2026-01-01T00:00:00.000Z',
    requestHash: 'h',
    inFlightUntil: '2026-01-01T00:00:30.000Z',
    correlationId: `corr-${orderId}`,
    ...overrides,
  };
}

function published() {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => ({ ...e, detail: JSON.parse(e.Detail ?? 'null') }));
}

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  setPipelineEnv();
});

describe('find-work', () => {
  const query = (index: string, key: string) => ({ TableName: TABLES.orders, IndexName: index, ExpressionAttributeValues: { ':key': key } });

  beforeEach(() => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(QueryCommand, query(byUnpublishedEvent.name, 'OrderPlaced')).resolves({ Items: [order('ord_unpub_placed', { unpublishedEvent: 'OrderPlaced' })] });
    ddb.on(QueryCommand, query(byUnpublishedEvent.name, 'OrderCancelled')).resolves({
      Items: [order('ord_unpub_cancelled', { status: 'CANCELLED', unpublishedEvent: 'OrderCancelled' })],
    });
    ddb.on(QueryCommand, query(byStatus.name, 'PENDING')).resolves({
      Items: [order('ord_stale'), order('ord_unpub_placed', { unpublishedEvent: 'OrderPlaced' })],
    });
    ddb.on(QueryCommand, query(byStatus.name, 'RESERVED')).resolves({
      Items: [
        order('ord_overdue', { status: 'RESERVED', paymentDeadline: ago(60) }),
        order('ord_in_time', { status: 'RESERVED', paymentDeadline: ago(-600) }),
        order('ord_no_deadline', { status: 'RESERVED' }),
      ],
    });
  });

  test('returns {publish, republish, expire} from the status and unpublished indexes, never a scan', async () => {
    const before = Date.now();
    const work = await findWork({}, lambdaContext('sweep-find-work'));
    const after = Date.now();

    expect(work).toEqual({
      publish: [{ orderId: 'ord_unpub_placed' }, { orderId: 'ord_unpub_cancelled' }],
      republish: [{ orderId: 'ord_stale' }],
      expire: [{ orderId: 'ord_overdue' }],
    });
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(0);

    const queries = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries.map((q) => [q.IndexName, q.ExpressionAttributeValues?.[':key']])).toEqual(
      expect.arrayContaining([
        [byUnpublishedEvent.name, 'OrderPlaced'],
        [byUnpublishedEvent.name, 'OrderCancelled'],
        [byUnpublishedEvent.name, 'OrderPaid'],
        [byStatus.name, 'PENDING'],
        [byStatus.name, 'RESERVED'],
      ]),
    );
    expect(queries).toHaveLength(5);
    for (const q of queries) {
      // Stale PENDING orders are read twice as deep: the unpublished among them are left to the publish branch.
      const limit = q.IndexName === byStatus.name && q.ExpressionAttributeValues?.[':key'] === 'PENDING' ? 2 * SWEEP.maxOrdersPerRun : SWEEP.maxOrdersPerRun;
      expect(q).toMatchObject({ TableName: TABLES.orders, ScanIndexForward: true, Limit: limit, KeyConditionExpression: '#pk = :key AND #sk < :before' });
      const index = q.IndexName === byStatus.name ? byStatus : byUnpublishedEvent;
      expect(q.ExpressionAttributeNames).toEqual({ '#pk': index.partitionKey, '#sk': index.sortKey });
    }
    // Each query looks back as far as its setting says.
    const before_ = (index: string, key: string) => Date.parse(queries.find((q) => q.IndexName === index && q.ExpressionAttributeValues?.[':key'] === key)!.ExpressionAttributeValues![':before']);
    const within = (t: number, secondsAgo: number) => {
      expect(t).toBeGreaterThanOrEqual(before - secondsAgo * 1000);
      expect(t).toBeLessThanOrEqual(after - secondsAgo * 1000);
    };
    within(before_(byUnpublishedEvent.name, 'OrderPaid'), SWEEP.unpublishedAfterSeconds);
    within(before_(byStatus.name, 'PENDING'), SWEEP.stalePendingAfterSeconds);
    within(before_(byStatus.name, 'RESERVED'), 0);
  });

  test('never returns more than SWEEP_MAX_ORDERS_PER_RUN per kind', async () => {
    setPipelineEnv({ sweepMaxOrdersPerRun: '1' });
    const work = await findWork({}, lambdaContext('sweep-find-work'));
    expect(work.publish).toEqual([{ orderId: 'ord_unpub_placed' }]);
    expect(work.republish.length).toBeLessThanOrEqual(1);
    expect(work.expire.length).toBeLessThanOrEqual(1);
    expect(ddb.commandCalls(QueryCommand).every((c) => (c.args[0].input.Limit ?? 0) <= 2)).toBe(true);
  });

  test('a DynamoDB failure fails the task (the state machine retries it)', async () => {
    ddb.on(QueryCommand).rejects(throttled());
    await expect(findWork({}, lambdaContext('sweep-find-work'))).rejects.toThrow('Rate of requests');
  });
});

describe('repair-order', () => {
  const repair = (input: RepairInput) => repairOrder(input, lambdaContext('sweep-repair-order'));

  test('publish: sends the event the status owes, then clears the mark', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { unpublishedEvent: 'OrderPlaced' }) });
    ddb.on(UpdateCommand).resolves({});

    await expect(repair({ action: 'publish', orderId: 'ord_1' })).resolves.toEqual({ orderId: 'ord_1', action: 'publish', outcome: 'published' });

    expect(published()).toEqual([expect.objectContaining({ DetailType: 'OrderPlaced', Source: EVENT_CATALOGUE.OrderPlaced.source, EventBusName: EVENT_BUS })]);
    // The re-published event keeps its id and the time the order was placed.
    expect(published()[0].detail).toMatchObject({ orderId: 'ord_1', eventId: 'ord_1:OrderPlaced', occurredAt: '2026-01-01T00:00:00.000Z' });
    const clear = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(clear).toMatchObject({ TableName: TABLES.orders, Key: { orderId: 'ord_1' }, UpdateExpression: 'REMOVE unpublishedEvent', ExpressionAttributeValues: { ':type': 'OrderPlaced' } });
  });

  test('publish: a cancelled order owes OrderCancelled; an order with no mark needs nothing', async () => {
    ddb.on(GetCommand)
      .resolvesOnce({ Item: order('ord_1', { status: 'CANCELLED', unpublishedEvent: 'OrderPlaced', cancellation: { reason: 'CUSTOMER' } }) })
      .resolvesOnce({ Item: order('ord_2') });
    ddb.on(UpdateCommand).resolves({});

    await expect(repair({ action: 'publish', orderId: 'ord_1' })).resolves.toMatchObject({ outcome: 'published' });
    expect(published().map((e) => [e.DetailType, e.detail.reason])).toEqual([['OrderCancelled', 'CUSTOMER']]);

    await expect(repair({ action: 'publish', orderId: 'ord_2' })).resolves.toMatchObject({ outcome: 'nothing-to-publish' });
    expect(published()).toHaveLength(1);
  });

  test('republish: counts the attempt (bounded by the setting) and re-publishes OrderPlaced', async () => {
    ddb.on(UpdateCommand).resolves({});
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { republishCount: 1 }) });

    await expect(repair({ action: 'republish', orderId: 'ord_1' })).resolves.toEqual({ orderId: 'ord_1', action: 'republish', outcome: 'republished' });

    const counts = ddb.commandCalls(UpdateCommand).filter((c) => c.args[0].input.UpdateExpression?.includes('republishCount'));
    expect(counts).toHaveLength(1);
    const count = counts[0].args[0].input;
    expect(count).toMatchObject({ TableName: TABLES.orders, Key: { orderId: 'ord_1' } });
    expect(count.ExpressionAttributeValues).toMatchObject({ ':max': SWEEP.maxRepublishAttempts, ':pending': 'PENDING' });
    expect(published().map((e) => e.DetailType)).toEqual(['OrderPlaced']);
  });

  test('republish: attempts exhausted -> the order is flagged NEEDS_ATTENTION, nothing published', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { republishCount: SWEEP.maxRepublishAttempts }) });
    ddb.on(UpdateCommand).callsFake((input) => {
      // The repository's bounded counter refuses at the limit.
      if (String(input.UpdateExpression).includes('republishCount')) throw conditionalFailure();
      return { Attributes: order('ord_1', { status: 'NEEDS_ATTENTION' }) };
    });

    await expect(repair({ action: 'republish', orderId: 'ord_1' })).resolves.toEqual({ orderId: 'ord_1', action: 'republish', outcome: 'needs-attention' });

    const flags = ddb.commandCalls(UpdateCommand).filter((c) => c.args[0].input.ExpressionAttributeValues?.[':to'] === 'NEEDS_ATTENTION');
    expect(flags).toHaveLength(1);
    expect(flags[0].args[0].input).toMatchObject({ Key: { orderId: 'ord_1' }, ConditionExpression: '#status IN (:from0)', ExpressionAttributeValues: { ':from0': 'PENDING' } });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('republish: an order that settled meanwhile is neither published nor flagged', async () => {
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { status: 'RESERVED' }) });
    ddb.on(UpdateCommand).rejects(conditionalFailure());
    await expect(repair({ action: 'republish', orderId: 'ord_1' })).resolves.toMatchObject({ outcome: 'settled-meanwhile' });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('expire: cancels a RESERVED order past its deadline and publishes OrderCancelled (PAYMENT_TIMEOUT)', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: order('ord_1', { status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' } }) });

    await expect(repair({ action: 'expire', orderId: 'ord_1' })).resolves.toEqual({ orderId: 'ord_1', action: 'expire', outcome: 'cancelled' });

    const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.ConditionExpression).toBe('#status IN (:from0) AND paymentDeadline <= :deadline');
    expect(update.ExpressionAttributeValues).toMatchObject({ ':to': 'CANCELLED', ':from0': 'RESERVED' });
    expect(published()).toEqual([expect.objectContaining({ DetailType: 'OrderCancelled', Source: EVENT_CATALOGUE.OrderCancelled.source })]);
    expect(published()[0].detail).toMatchObject({ orderId: 'ord_1', reason: 'PAYMENT_TIMEOUT' });
  });

  test('expire: an order paid meanwhile is left alone', async () => {
    ddb.on(UpdateCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: order('ord_1', { status: 'PAID', paymentId: 'pay-1' }) });
    await expect(repair({ action: 'expire', orderId: 'ord_1' })).resolves.toMatchObject({ outcome: 'left-PAID' });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('rejects bad input without touching AWS', async () => {
    const bad = [{ action: 'delete', orderId: 'ord_1' }, { action: 'publish' }, { action: 'expire', orderId: 7 }, null] as unknown as RepairInput[];
    for (const input of bad) await expect(repair(input)).rejects.toThrow(/repair needs \{action: publish\|republish\|expire, orderId\}/);
    expect(ddb.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('an AWS error propagates, so the state machine retries and then catches it', async () => {
    ddb.on(GetCommand).rejects(throttled());
    await expect(repair({ action: 'publish', orderId: 'ord_1' })).rejects.toThrow('Rate of requests');
  });
});

describe('summarise', () => {
  test('counts what each branch found and did, and reports caught failures', async () => {
    const summary = await summarise(
      {
        results: [
          [
            { orderId: 'ord_1', action: 'publish', outcome: 'published' },
            { orderId: 'ord_2', action: 'publish', outcome: 'published' },
          ],
          [
            { orderId: 'ord_3', action: 'republish', outcome: 'needs-attention' },
            { orderId: 'ord_4', action: 'republish', error: { Error: 'ProvisionedThroughputExceededException', Cause: 'slow down' } },
          ],
          [{ orderId: 'ord_5', action: 'expire', error: 'timeout' }],
        ],
      },
      lambdaContext('sweep-summarise'),
    );

    expect(summary).toEqual({
      found: { publish: 2, republish: 2, expire: 1 },
      outcomes: { 'publish:published': 2, 'republish:needs-attention': 1 },
      failed: 2,
      failures: [
        { orderId: 'ord_4', action: 'republish', error: 'ProvisionedThroughputExceededException: slow down' },
        { orderId: 'ord_5', action: 'expire', error: 'timeout' },
      ],
    });
  });

  test('an empty run summarises to zeros', async () => {
    await expect(summarise({ results: [] }, lambdaContext('sweep-summarise'))).resolves.toEqual({
      found: { publish: 0, republish: 0, expire: 0 },
      outcomes: {},
      failed: 0,
      failures: [],
    });
  });
});
