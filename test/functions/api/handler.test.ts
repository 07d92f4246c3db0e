import {
  EVENT_BUS,
  IAM_SERVICE,
  TABLES,
  conditionalFailure,
  httpEvent,
  jwtCustomer,
  lambdaContext,
  throttled,
  transactionCanceled,
  transactionConflict,
  HttpRequest,
} from '../shared/fixtures';

import { PUT_EVENTS_ATTEMPTS } from '../../../functions/adapters/eventbridge-publisher';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { handler } from '../../../functions/api/handler';
import { ROUTES, routeKey } from '../../../functions/api/routes';
import { SCOPES } from '../../../functions/domain/caller';
import { EVENT_CATALOGUE } from '../../../functions/domain/events';
import { OrderLine } from '../../../functions/domain/order';
import { orderIdFor } from '../../../functions/domain/orders';
import { StoredOrder } from '../../../functions/domain/ports';
import { eventForStatus } from '../../../functions/domain/status-events';
import { ADJUSTMENT_RECORD_TTL_SECONDS } from '../../../functions/adapters/dynamodb-stock-repository';
import { IDEMPOTENCY_TABLE, ORDERS_TABLE } from '../../../functions/adapters/table-schema';
import { checkAnswer, checkedSummary } from '../../support/api-contract';

const ddb = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);

const ROUTE = Object.fromEntries(Object.entries(ROUTES).map(([name, spec]) => [name, routeKey(spec)])) as Record<keyof typeof ROUTES, string>;
const SERVICE_SCOPE = `service:${'iam' in IAM_SERVICE ? IAM_SERVICE.iam.userArn : ''}`;
const ITEMS = [
  { sku: 'sku-apple', quantity: 2 },
  { sku: 'sku-pear', quantity: 1 },
];

/** One request to the handler; its answer must be one docs/openapi.json describes for the route (api-contract.ts). */
async function call(request: HttpRequest) {
  const response = await handler(httpEvent(request), lambdaContext('order-api'));
  checkAnswer(request.routeKey, { status: response.statusCode, header: (name) => response.headers[name.toLowerCase()], body: response.body ?? '' });
  return { ...response, json: response.body ? JSON.parse(response.body) : undefined };
}

function placeRequest(overrides: Partial<HttpRequest> = {}, key = 'key-1'): HttpRequest {
  return {
    routeKey: ROUTE.placeOrder,
    headers: { 'Idempotency-Key': key },
    body: { customerId: 'cust-1', items: ITEMS },
    ...overrides,
  };
}

function storedOrder(overrides: Partial<StoredOrder> = {}): StoredOrder {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    orderId: 'ord_abc',
    customerId: 'cust-1',
    status: 'PENDING',
    items: ITEMS,
    createdAt: at,
    updatedAt: at,
    statusChangedAt: at,
    requestHash: 'hash',
    correlationId: 'corr-1',
    ...overrides,
  };
}

const RESERVED = () => storedOrder({ status: 'RESERVED', statusChangedAt: '2026-01-01T00:00:05.000Z', paymentDeadline: '2026-01-01T00:15:05.000Z' });
const PAID = (paymentId = 'pay-1') => ({ ...RESERVED(), status: 'PAID' as const, paymentId, statusChangedAt: '2026-01-01T00:01:00.000Z' });

const okPutEvents = () => eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });

const transactions = () => ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems!);
const writes = () => [...ddb.commandCalls(PutCommand), ...ddb.commandCalls(UpdateCommand), ...ddb.commandCalls(TransactWriteCommand)];
const entries = () => eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);

/** The one PutEvents entry a status owes, exactly as the bus receives it (what the stream relay sends too). */
function entryFor(order: StoredOrder) {
  const event = eventForStatus(order, new Date())!;
  return { EventBusName: EVENT_BUS, Source: EVENT_CATALOGUE[event.type].source, DetailType: event.type, Detail: JSON.stringify(event.detail) };
}

/** What each stock effect writes to one line's SKU item, inside the order's transaction. */
const STOCK_EFFECT = {
  release: { UpdateExpression: 'SET available = available + :q, reserved = reserved - :q, version = version + :one', ConditionExpression: 'reserved >= :q' },
  settle: { UpdateExpression: 'SET reserved = reserved - :q, sold = sold + :q, version = version + :one', ConditionExpression: 'reserved >= :q' },
} as const;

function stockUpdate(effect: keyof typeof STOCK_EFFECT, line: OrderLine) {
  return {
    Update: {
      TableName: TABLES.inventory,
      Key: { sku: line.sku },
      ...STOCK_EFFECT[effect],
      ExpressionAttributeValues: { ':q': line.quantity, ':one': 1 },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
});

afterAll(() => console.log(checkedSummary('handler tests')));

/** Places one order successfully and returns what was written, so replays can answer with the same record. */
async function placeOnce(key = 'key-1'): Promise<Record<string, unknown>> {
  ddb.on(PutCommand).resolves({});
  const response = await call(placeRequest({}, key));
  expect(response.statusCode).toBe(201);
  const item = ddb.commandCalls(PutCommand)[0].args[0].input.Item!;
  ddb.reset();
  eventBridge.reset();
  return item;
}

describe('POST /orders', () => {
  test('201 with the order and its location: one conditional put, nothing published (the stream relays OrderPlaced)', async () => {
    ddb.on(PutCommand).resolves({});
    okPutEvents();

    const response = await call(placeRequest({ headers: { 'Idempotency-Key': 'key-1', 'X-Correlation-Id': 'corr-abc' } }));

    const orderId = orderIdFor(SERVICE_SCOPE, 'key-1');
    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers.location).toBe(`/orders/${orderId}`);
    expect(response.headers['x-correlation-id']).toBe('corr-abc');
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(response.json).toEqual({
      orderId,
      customerId: 'cust-1',
      status: 'PENDING',
      items: ITEMS,
      createdAt: expect.any(String),
      updatedAt: response.json.createdAt,
      statusChangedAt: response.json.createdAt,
    });
    expect(Number.isNaN(Date.parse(response.json.createdAt))).toBe(false);

    const puts = ddb.commandCalls(PutCommand);
    expect(puts).toHaveLength(1);
    const put = puts[0].args[0].input;
    expect(put.TableName).toBe(TABLES.orders);
    expect(put.ConditionExpression).toBe('attribute_not_exists(#pk)');
    expect(put.ExpressionAttributeNames).toEqual({ '#pk': ORDERS_TABLE.partitionKey });
    // Exactly the order, plus the sparse open-orders index key: no in-flight or unpublished bookkeeping any more.
    const at = response.json.createdAt;
    expect(put.Item).toEqual({
      orderId,
      customerId: 'cust-1',
      status: 'PENDING',
      items: ITEMS,
      createdAt: at,
      updatedAt: at,
      statusChangedAt: at,
      requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      correlationId: 'corr-abc',
      [ORDERS_TABLE.indexes.openOrders.partitionKey]: 'PENDING',
    });

    expect(ddb.calls()).toHaveLength(1);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('a JWT customer may omit customerId: the token subject is used, and the order id is scoped to the customer', async () => {
    ddb.on(PutCommand).resolves({});
    const response = await call(placeRequest({ body: { items: ITEMS }, authorizer: jwtCustomer('cust-9') }));
    expect(response.statusCode).toBe(201);
    expect(response.json.customerId).toBe('cust-9');
    expect(response.json.orderId).toBe(orderIdFor('customer:cust-9', 'key-1'));
    expect(ddb.commandCalls(PutCommand)[0].args[0].input.Item).toMatchObject({ orderId: response.json.orderId, customerId: 'cust-9' });
  });

  test.each([
    ['no authorizer context', null],
    ['a token without a subject', { jwt: { claims: { scope: 'orders/admin' }, scopes: ['orders/admin'] } }],
  ])('a caller nobody identified (%s) is refused 401 on every route, nothing read or written', async (_what, authorizer) => {
    for (const request of [
      placeRequest({ authorizer: authorizer as HttpRequest['authorizer'] }),
      { routeKey: ROUTE.setStock, pathParameters: { sku: 'sku-1' }, body: { available: 5 }, authorizer: authorizer as HttpRequest['authorizer'] },
      { routeKey: ROUTE.confirmPayment, pathParameters: { orderId: 'ord_abc' }, body: { paymentId: 'p-1' }, authorizer: authorizer as HttpRequest['authorizer'] },
      { routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1' }, authorizer: authorizer as HttpRequest['authorizer'] },
    ]) {
      const response = await call(request);
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(response.json).toMatchObject({ status: 401, title: 'Unauthenticated' });
    }
    expect(ddb.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('a JWT customer cannot order for another customer: 403, nothing written', async () => {
    const response = await call(placeRequest({ authorizer: jwtCustomer('cust-9') }));
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ type: 'about:blank', status: 403, title: 'Forbidden', instance: '/orders' });
    expect(ddb.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('invalid input: 400 problem+json naming each wrong field, nothing written or published', async () => {
    const response = await call(
      placeRequest({ body: { customerId: '', items: [{ sku: 'sku-apple', quantity: 0 }, { sku: 'sku-pear', quantity: 1.5 }, { quantity: 1 }], extra: true } }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ type: 'about:blank', status: 400, title: 'Invalid request', instance: '/orders' });
    const fields = (response.json.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['customerId', 'items[0].quantity', 'items[1].quantity', 'items[2].sku']));
    expect(response.json.errors.some((e: { message: string }) => /unknown field.*extra/.test(e.message))).toBe(true);
    expect(ddb.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('a repeated sku is refused, naming the second line', async () => {
    const response = await call(placeRequest({ body: { customerId: 'cust-1', items: [ITEMS[0], ITEMS[0]] } }));
    expect(response.statusCode).toBe(400);
    expect(response.json.errors).toEqual([expect.objectContaining({ field: 'items[1].sku' })]);
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a body that is not JSON: 400 naming the body', async () => {
    const response = await call(placeRequest({ rawBody: '{"customerId": "cust-1", ' }));
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json.errors).toEqual([{ field: '(body)', message: 'the request body is not valid JSON' }]);
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a missing body: 400', async () => {
    const response = await call(placeRequest({ body: undefined }));
    expect(response.statusCode).toBe(400);
    expect(response.json.errors[0].field).toBe('(body)');
  });

  test('a missing Idempotency-Key: 400 naming it, nothing written', async () => {
    const response = await call(placeRequest({ headers: {} }));
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
    expect(ddb.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('replay: 201 with idempotent-replayed and the stored order, read consistently; nothing written or published', async () => {
    const stored = await placeOnce();
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: stored });
    okPutEvents();

    const response = await call(placeRequest());

    expect(response.statusCode).toBe(201);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(response.headers.location).toBe(`/orders/${stored.orderId}`);
    expect(response.json).toMatchObject({ orderId: stored.orderId, createdAt: stored.createdAt, status: 'PENDING' });
    expect(response.json).not.toHaveProperty('openStatus');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: TABLES.orders, Key: { orderId: stored.orderId }, ConsistentRead: true });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('a replay answers with the order as it is now (it may have moved on)', async () => {
    const stored = await placeOnce();
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: { ...stored, status: 'RESERVED', paymentDeadline: '2026-01-01T00:15:00.000Z' } });

    const response = await call(placeRequest());

    expect(response.statusCode).toBe(201);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(response.json).toMatchObject({ status: 'RESERVED', paymentDeadline: '2026-01-01T00:15:00.000Z' });
  });

  test('the same key with a different body: 422 problem', async () => {
    const stored = await placeOnce();
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: stored });

    const response = await call(placeRequest({ body: { customerId: 'cust-1', items: [{ sku: 'sku-apple', quantity: 3 }] } }));

    expect(response.statusCode).toBe(422);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status: 422, title: 'Idempotency-Key reused', instance: '/orders' });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('DynamoDB failing unexpectedly: 500 problem+json, correlation id kept, no detail leaked', async () => {
    ddb.on(PutCommand).rejects(throttled());
    const response = await call(placeRequest({ requestId: 'req-500' }));
    expect(response.statusCode).toBe(500);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['x-correlation-id']).toBe('req-500');
    expect(response.json).toMatchObject({ status: 500, title: 'Internal error', instance: '/orders' });
    expect(response.body).not.toContain('throughput');
    expect(eventBridge.calls()).toHaveLength(0);
  });
});

describe('GET /orders/{orderId}', () => {
  test('200 with the order view, read consistently (no bookkeeping fields)', async () => {
    ddb.on(GetCommand, { TableName: TABLES.orders, Key: { orderId: 'ord_abc' } }).resolves({ Item: { ...storedOrder({ republishCount: 2 }), openStatus: 'PENDING' } });
    const response = await call({ routeKey: ROUTE.getOrder, pathParameters: { orderId: 'ord_abc' } });
    expect(response.statusCode).toBe(200);
    const { requestHash: _h, correlationId: _c, ...view } = storedOrder();
    expect(response.json).toEqual(view);
    expect(ddb.commandCalls(GetCommand)[0].args[0].input.ConsistentRead).toBe(true);
  });

  test('404 problem when absent', async () => {
    ddb.on(GetCommand).resolves({});
    const response = await call({ routeKey: ROUTE.getOrder, pathParameters: { orderId: 'ord_missing' } });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status: 404, instance: '/orders/ord_missing' });
  });

  test("a JWT customer asking for another customer's order gets 404, its own 200", async () => {
    ddb.on(GetCommand).resolves({ Item: storedOrder({ customerId: 'cust-1' }) });
    const other = await call({ routeKey: ROUTE.getOrder, pathParameters: { orderId: 'ord_abc' }, authorizer: jwtCustomer('cust-2') });
    expect(other.statusCode).toBe(404);
    const own = await call({ routeKey: ROUTE.getOrder, pathParameters: { orderId: 'ord_abc' }, authorizer: jwtCustomer('cust-1') });
    expect(own.statusCode).toBe(200);
  });
});

describe('GET /orders', () => {
  const { byCustomer } = ORDERS_TABLE.indexes;
  /** What the keys-only byCustomer index holds about an order. */
  const indexEntry = (orderId: string, createdAt = '2026-01-01T00:00:00.000Z') => ({ orderId, customerId: 'cust-1', createdAt });

  test('a Query of the keys-only byCustomer index, newest first, then one BatchGetItem for the orders, in index order', async () => {
    const lastKey = indexEntry('ord_2');
    ddb.on(QueryCommand).resolvesOnce({ Items: [indexEntry('ord_1'), indexEntry('ord_2')], LastEvaluatedKey: lastKey }).resolvesOnce({ Items: [indexEntry('ord_3')] });
    // BatchGetItem answers in any order: the listing keeps the index's.
    ddb.on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLES.orders]: [storedOrder({ orderId: 'ord_2', status: 'PAID', paymentId: 'pay-2' }), storedOrder({ orderId: 'ord_1' })] } })
      .resolvesOnce({ Responses: { [TABLES.orders]: [storedOrder({ orderId: 'ord_3' })] } });

    const first = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1', limit: '2' } });

    expect(first.statusCode).toBe(200);
    expect(first.json.items.map((o: { orderId: string; status: string }) => [o.orderId, o.status])).toEqual([
      ['ord_1', 'PENDING'],
      ['ord_2', 'PAID'],
    ]);
    expect(first.json.items[0]).not.toHaveProperty('requestHash');
    expect(typeof first.json.nextToken).toBe('string');
    expect(ddb.commandCalls(QueryCommand)[0].args[0].input).toMatchObject({
      TableName: TABLES.orders,
      IndexName: byCustomer.name,
      KeyConditionExpression: '#pk = :customerId',
      ExpressionAttributeNames: { '#pk': byCustomer.partitionKey },
      ExpressionAttributeValues: { ':customerId': 'cust-1' },
      ScanIndexForward: false,
      Limit: 2,
    });
    expect(ddb.commandCalls(BatchGetCommand)[0].args[0].input).toEqual({ RequestItems: { [TABLES.orders]: { Keys: [{ orderId: 'ord_1' }, { orderId: 'ord_2' }] } } });

    const second = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1', limit: '2', nextToken: first.json.nextToken } });

    expect(second.statusCode).toBe(200);
    expect(second.json).toEqual({ items: [expect.objectContaining({ orderId: 'ord_3' })] });
    expect(ddb.commandCalls(QueryCommand)[1].args[0].input.ExclusiveStartKey).toEqual(lastKey);
    expect(ddb.commandCalls(BatchGetCommand)[1].args[0].input.RequestItems).toEqual({ [TABLES.orders]: { Keys: [{ orderId: 'ord_3' }] } });
  });

  test('unprocessed keys are asked for again, and only they', async () => {
    ddb.on(QueryCommand).resolves({ Items: [indexEntry('ord_1'), indexEntry('ord_2')] });
    ddb.on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLES.orders]: [storedOrder({ orderId: 'ord_1' })] }, UnprocessedKeys: { [TABLES.orders]: { Keys: [{ orderId: 'ord_2' }] } } })
      .resolvesOnce({ Responses: { [TABLES.orders]: [storedOrder({ orderId: 'ord_2' })] } });

    const response = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1' } });

    expect(response.statusCode).toBe(200);
    expect(response.json.items.map((o: { orderId: string }) => o.orderId)).toEqual(['ord_1', 'ord_2']);
    const batches = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems![TABLES.orders].Keys);
    expect(batches).toEqual([[{ orderId: 'ord_1' }, { orderId: 'ord_2' }], [{ orderId: 'ord_2' }]]);
  });

  test("a nextToken from another customer's listing: 400 naming nextToken, nothing read", async () => {
    const token = Buffer.from(JSON.stringify({ orderId: 'ord_x', customerId: 'cust-2', createdAt: 'x' })).toString('base64url');
    const response = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1', nextToken: token } });
    expect(response.statusCode).toBe(400);
    expect(response.json.errors).toEqual([expect.objectContaining({ field: 'nextToken' })]);
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a service must name the customer, and limit must be in range: 400 naming both', async () => {
    const response = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { limit: '1000' } });
    expect(response.statusCode).toBe(400);
    expect(response.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['customerId', 'limit']);
    expect(ddb.calls()).toHaveLength(0);
  });

  test("a JWT customer lists its own orders by default and may not list another's", async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const own = await call({ routeKey: ROUTE.listOrders, authorizer: jwtCustomer('cust-5') });
    expect(own.statusCode).toBe(200);
    expect(own.json).toEqual({ items: [] });
    expect(ddb.commandCalls(QueryCommand)[0].args[0].input.ExpressionAttributeValues).toEqual({ ':customerId': 'cust-5' });
    // An empty page reads nothing more.
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(0);

    const other = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1' }, authorizer: jwtCustomer('cust-5') });
    expect(other.statusCode).toBe(403);
  });
});

describe('POST /orders/{orderId}/cancel', () => {
  const cancel = (authorizer?: HttpRequest['authorizer']) => call({ routeKey: ROUTE.cancelOrder, pathParameters: { orderId: 'ord_abc' }, ...(authorizer === undefined ? {} : { authorizer }) });

  test.each(['PENDING', 'NEEDS_ATTENTION'] as const)('a %s order holds no stock: one UpdateItem conditional on that status, nothing published', async (status) => {
    ddb.on(GetCommand).resolves({ Item: storedOrder({ status }) });
    ddb.on(UpdateCommand).resolves({ Attributes: storedOrder({ status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } }) });
    okPutEvents();

    const response = await cancel();

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(response.json).toMatchObject({ orderId: 'ord_abc', status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } });
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: TABLES.orders, Key: { orderId: 'ord_abc' }, ConsistentRead: true });
    const updates = ddb.commandCalls(UpdateCommand);
    expect(updates).toHaveLength(1);
    const update = updates[0].args[0].input;
    expect(update).toMatchObject({
      TableName: TABLES.orders,
      Key: { orderId: 'ord_abc' },
      ConditionExpression: '#status IN (:from0)',
      ExpressionAttributeNames: { '#status': 'status', '#s0': 'cancellation' },
      ExpressionAttributeValues: { ':to': 'CANCELLED', ':from0': status, ':s0': { reason: 'CUSTOMER' } },
    });
    // A cancelled order leaves the sweep's index.
    expect(update.UpdateExpression).toContain('REMOVE openStatus');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('a RESERVED order gives its stock back in the same transaction: the order update + one release per line', async () => {
    ddb.on(GetCommand).resolves({ Item: RESERVED() });
    ddb.on(TransactWriteCommand).resolves({});

    const response = await cancel();

    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ orderId: 'ord_abc', status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' }, items: ITEMS });
    expect(Date.parse(response.json.statusChangedAt)).toBeGreaterThan(Date.parse(RESERVED().statusChangedAt));
    expect(transactions()).toHaveLength(1);
    const [order, ...stock] = transactions()[0];
    expect(order.Update).toMatchObject({
      TableName: TABLES.orders,
      Key: { orderId: 'ord_abc' },
      ConditionExpression: '#status IN (:from0)',
      ExpressionAttributeValues: { ':to': 'CANCELLED', ':from0': 'RESERVED', ':s0': { reason: 'CUSTOMER' } },
    });
    expect(stock).toEqual(ITEMS.map((line) => stockUpdate('release', line)));
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('an already cancelled order: 200 idempotent-replayed, nothing written, OrderCancelled published again', async () => {
    const cancelled = storedOrder({ status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' }, statusChangedAt: '2026-01-01T00:02:00.000Z' });
    ddb.on(GetCommand).resolves({ Item: cancelled });
    okPutEvents();

    const response = await cancel();

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(response.json).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } });
    expect(writes()).toHaveLength(0);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(entries()).toEqual([entryFor(cancelled)]);
    expect(JSON.parse(entries()[0].Detail!)).toMatchObject({ eventId: 'ord_abc:OrderCancelled', reason: 'CUSTOMER', occurredAt: cancelled.statusChangedAt });
  });

  test('a replay whose re-publication fails still answers 200: the change and its stream record stand', async () => {
    ddb.on(GetCommand).resolves({ Item: storedOrder({ status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } }) });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });

    const response = await cancel();

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBe('true');
    // The rejected entry was sent again (alone) until the publisher gave up.
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(PUT_EVENTS_ATTEMPTS);
  });

  test('a cancel that loses the race to a reservation is decided again: it releases the stock the reservation took', async () => {
    ddb.on(GetCommand).resolves({ Item: storedOrder({ status: 'PENDING' }) });
    ddb.on(UpdateCommand).rejects(conditionalFailure(marshall(RESERVED())));
    ddb.on(TransactWriteCommand).resolves({});

    const response = await cancel();

    expect(response.statusCode).toBe(200);
    expect(response.json.status).toBe('CANCELLED');
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)[0].args[0].input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    // The failed condition returned the order: no second read.
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(transactions()).toHaveLength(1);
    expect(transactions()[0][0].Update!.ExpressionAttributeValues).toMatchObject({ ':from0': 'RESERVED' });
    expect(transactions()[0].slice(1)).toEqual(ITEMS.map((line) => stockUpdate('release', line)));
  });

  test('a cancel that loses the race to another cancel is a replay (re-read when the failure carries no item)', async () => {
    const cancelled = storedOrder({ status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } });
    ddb.on(GetCommand).resolvesOnce({ Item: storedOrder({ status: 'PENDING' }) }).resolves({ Item: cancelled });
    ddb.on(UpdateCommand).rejects(conditionalFailure());
    okPutEvents();

    const response = await cancel();

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(entries()).toEqual([entryFor(cancelled)]);
  });

  test('a cancel that loses the race to a payment: 409 currentStatus PAID', async () => {
    ddb.on(GetCommand).resolves({ Item: RESERVED() });
    ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'ConditionalCheckFailed', Item: PAID() }, { Code: 'None' }, { Code: 'None' }]));

    const response = await cancel();

    expect(response.statusCode).toBe(409);
    expect(response.json).toMatchObject({ status: 409, currentStatus: 'PAID' });
    expect(transactions()).toHaveLength(1);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test.each([
    ['PAID', PAID()],
    ['REJECTED', storedOrder({ status: 'REJECTED', rejection: { reason: 'OUT_OF_STOCK', sku: 'sku-pear' } })],
  ])('a %s order can no longer be cancelled: 409 problem with currentStatus, nothing written', async (status, order) => {
    ddb.on(GetCommand).resolves({ Item: order });

    const response = await cancel();

    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ type: 'about:blank', status: 409, title: 'Conflict with the current state', currentStatus: status, instance: '/orders/ord_abc/cancel' });
    expect(writes()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('contention (TransactionConflict every time): retried, then 503 problem with retry-after', async () => {
    ddb.on(GetCommand).resolves({ Item: RESERVED() });
    ddb.on(TransactWriteCommand).rejects(transactionConflict(1 + ITEMS.length));

    const response = await cancel();

    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json).toMatchObject({ type: 'about:blank', status: 503, title: 'Busy', instance: '/orders/ord_abc/cancel' });
    expect(transactions().length).toBeGreaterThan(1);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test("a JWT customer cannot cancel another customer's order (404, nothing written)", async () => {
    ddb.on(GetCommand).resolves({ Item: storedOrder({ customerId: 'cust-1' }) });
    const response = await cancel(jwtCustomer('cust-2'));
    expect(response.statusCode).toBe(404);
    expect(writes()).toHaveLength(0);
  });

  test('404 when the order does not exist', async () => {
    ddb.on(GetCommand).resolves({});
    expect((await cancel()).statusCode).toBe(404);
    expect(writes()).toHaveLength(0);
  });
});

describe('POST /orders/{orderId}/payment', () => {
  const pay = (body: unknown, authorizer?: HttpRequest['authorizer']) =>
    call({ routeKey: ROUTE.confirmPayment, pathParameters: { orderId: 'ord_abc' }, body, ...(authorizer === undefined ? {} : { authorizer }) });

  test('200: exactly one TransactWriteItems, RESERVED -> PAID with the payment id + one settle per line; nothing published', async () => {
    ddb.on(GetCommand).resolves({ Item: RESERVED() });
    ddb.on(TransactWriteCommand).resolves({});
    okPutEvents();

    const response = await pay({ paymentId: 'pay-1' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(response.json).toMatchObject({ orderId: 'ord_abc', status: 'PAID', paymentId: 'pay-1', items: ITEMS });
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: TABLES.orders, Key: { orderId: 'ord_abc' }, ConsistentRead: true });
    expect(transactions()).toHaveLength(1);
    const items = transactions()[0];
    expect(items).toHaveLength(1 + ITEMS.length);
    const [order, ...stock] = items;
    expect(order.Update).toMatchObject({
      TableName: TABLES.orders,
      Key: { orderId: 'ord_abc' },
      ConditionExpression: '#status IN (:from0)',
      ExpressionAttributeNames: { '#status': 'status', '#s0': 'paymentId' },
      ExpressionAttributeValues: { ':to': 'PAID', ':from0': 'RESERVED', ':s0': 'pay-1' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(order.Update!.UpdateExpression).toContain('REMOVE openStatus');
    expect(stock).toEqual(ITEMS.map((line) => stockUpdate('settle', line)));
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('replay with the same payment id: 200 idempotent-replayed, nothing written, OrderPaid published again', async () => {
    ddb.on(GetCommand).resolves({ Item: PAID('pay-1') });
    okPutEvents();

    const response = await pay({ paymentId: 'pay-1' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(response.json).toMatchObject({ status: 'PAID', paymentId: 'pay-1' });
    expect(writes()).toHaveLength(0);
    expect(entries()).toEqual([entryFor(PAID('pay-1'))]);
    expect(JSON.parse(entries()[0].Detail!)).toMatchObject({ eventId: 'ord_abc:OrderPaid', paymentId: 'pay-1', items: ITEMS });
  });

  test('a payment that loses the race to the same payment is a replay', async () => {
    ddb.on(GetCommand).resolves({ Item: RESERVED() });
    ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'ConditionalCheckFailed', Item: PAID('pay-1') }, { Code: 'None' }, { Code: 'None' }]));
    okPutEvents();

    const response = await pay({ paymentId: 'pay-1' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(transactions()).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(entries()).toEqual([entryFor(PAID('pay-1'))]);
  });

  test('a payment that loses the race to the expiry (no item in the failure: re-read): 409 currentStatus CANCELLED', async () => {
    ddb.on(GetCommand)
      .resolvesOnce({ Item: RESERVED() })
      .resolves({ Item: { ...RESERVED(), status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' } } });
    ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }]));

    const response = await pay({ paymentId: 'pay-1' });

    expect(response.statusCode).toBe(409);
    expect(response.json).toMatchObject({ currentStatus: 'CANCELLED' });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('409 when already paid by another payment, or not RESERVED; nothing written or published', async () => {
    ddb.on(GetCommand).resolvesOnce({ Item: PAID('pay-1') }).resolvesOnce({ Item: storedOrder({ status: 'PENDING' }) });

    const paidElsewhere = await pay({ paymentId: 'pay-2' });
    expect(paidElsewhere.statusCode).toBe(409);
    expect(paidElsewhere.headers['content-type']).toBe('application/problem+json');
    expect(paidElsewhere.json).toMatchObject({ status: 409, currentStatus: 'PAID' });

    const pending = await pay({ paymentId: 'pay-2' });
    expect(pending.statusCode).toBe(409);
    expect(pending.json).toMatchObject({ currentStatus: 'PENDING' });
    expect(writes()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('held stock missing at settlement: 500, not a client error', async () => {
    ddb.on(GetCommand).resolves({ Item: RESERVED() });
    ddb.on(TransactWriteCommand).rejects(
      transactionCanceled([{ Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: { sku: 'sku-pear', available: 0, reserved: 0, sold: 0, version: 9 } }]),
    );

    const response = await pay({ paymentId: 'pay-1' });

    expect(response.statusCode).toBe(500);
    expect(transactions()).toHaveLength(1);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('contention (TransactionConflict every time): 503 problem with retry-after', async () => {
    ddb.on(GetCommand).resolves({ Item: RESERVED() });
    ddb.on(TransactWriteCommand).rejects(transactionConflict(1 + ITEMS.length));

    const response = await pay({ paymentId: 'pay-1' });

    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json).toMatchObject({ status: 503, title: 'Busy', instance: '/orders/ord_abc/payment' });
    expect(transactions().length).toBeGreaterThan(1);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('404 when the order does not exist, nothing written', async () => {
    ddb.on(GetCommand).resolves({});
    expect((await pay({ paymentId: 'pay-1' })).statusCode).toBe(404);
    expect(writes()).toHaveLength(0);
  });

  test('400 for a missing or extra field, nothing read or written', async () => {
    const missing = await pay({});
    expect(missing.statusCode).toBe(400);
    expect(missing.json.errors).toEqual([expect.objectContaining({ field: 'paymentId' })]);
    const extra = await pay({ paymentId: 'pay-1', amount: 3 });
    expect(extra.statusCode).toBe(400);
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a JWT customer needs the payments scope (403 without, 200 with)', async () => {
    const refused = await pay({ paymentId: 'pay-1' }, jwtCustomer('cust-1'));
    expect(refused.statusCode).toBe(403);
    expect(ddb.calls()).toHaveLength(0);

    ddb.on(GetCommand).resolves({ Item: RESERVED() });
    ddb.on(TransactWriteCommand).resolves({});
    const allowed = await pay({ paymentId: 'pay-1' }, jwtCustomer('cust-1', `openid ${SCOPES.payments}`));
    expect(allowed.statusCode).toBe(200);
    expect(transactions()).toHaveLength(1);
  });
});

describe('GET /inventory/{sku}', () => {
  test('200 with {sku, available, reserved, sold} and the version as a strong ETag, read consistently', async () => {
    ddb.on(GetCommand, { TableName: TABLES.inventory, Key: { sku: 'sku-apple' } }).resolves({ Item: { sku: 'sku-apple', available: 4, reserved: 1, sold: 2, version: 7 } });

    const found = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'sku-apple' } });

    expect(found.statusCode).toBe(200);
    expect(found.headers.etag).toBe('"7"');
    expect(found.json).toEqual({ sku: 'sku-apple', available: 4, reserved: 1, sold: 2 });
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: TABLES.inventory, Key: { sku: 'sku-apple' }, ConsistentRead: true });
  });

  test('404 problem for a SKU not stocked', async () => {
    ddb.on(GetCommand).resolves({});
    const missing = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'sku-none' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
    expect(missing.headers).not.toHaveProperty('etag');
    expect(missing.json).toMatchObject({ status: 404, instance: '/inventory/sku-none' });
  });
});

describe('PUT /inventory/{sku}', () => {
  const put = (body: unknown, headers: Record<string, string> = {}, sku = 'sku-apple') => call({ routeKey: ROUTE.setStock, pathParameters: { sku }, body, headers });

  test('an absent SKU is created: 201 with location and ETag "1", one conditional put', async () => {
    ddb.on(PutCommand).resolves({});

    const response = await put({ available: 25 });

    expect(response.statusCode).toBe(201);
    expect(response.headers.location).toBe('/inventory/sku-apple');
    expect(response.headers.etag).toBe('"1"');
    expect(response.json).toEqual({ sku: 'sku-apple', available: 25, reserved: 0, sold: 0 });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect(ddb.commandCalls(PutCommand)[0].args[0].input).toEqual({
      TableName: TABLES.inventory,
      Item: { sku: 'sku-apple', available: 25, reserved: 0, sold: 0, version: 1 },
      ConditionExpression: 'attribute_not_exists(#sku)',
      ExpressionAttributeNames: { '#sku': 'sku' },
    });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  test('an existing SKU without If-Match: 428 with its current ETag, nothing replaced', async () => {
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: { sku: 'sku-apple', available: 4, reserved: 3, sold: 0, version: 4 } });

    const response = await put({ available: 25 });

    expect(response.statusCode).toBe(428);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers.etag).toBe('"4"');
    expect(response.json).toMatchObject({ type: 'about:blank', status: 428, title: 'Precondition required', instance: '/inventory/sku-apple' });
    expect(response.json.detail).toContain('If-Match');
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  test('If-Match with the current ETag: 200, available replaced only at that version, the new ETag', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { sku: 'sku-apple', available: 25, reserved: 3, sold: 1, version: 5 } });

    const response = await put({ available: 25 }, { 'If-Match': '"4"' });

    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toBe('"5"');
    expect(response.headers).not.toHaveProperty('location');
    expect(response.json).toEqual({ sku: 'sku-apple', available: 25, reserved: 3, sold: 1 });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)[0].args[0].input).toMatchObject({
      TableName: TABLES.inventory,
      Key: { sku: 'sku-apple' },
      UpdateExpression: 'SET available = :available, version = version + :one',
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: { ':available': 25, ':version': 4, ':one': 1 },
    });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  test('a stale If-Match: 412 with the current ETag', async () => {
    ddb.on(UpdateCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: { sku: 'sku-apple', available: 2, reserved: 5, sold: 0, version: 6 } });

    const response = await put({ available: 25 }, { 'If-Match': '"4"' });

    expect(response.statusCode).toBe(412);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers.etag).toBe('"6"');
    expect(response.json).toMatchObject({ status: 412, title: 'Precondition failed', instance: '/inventory/sku-apple' });
  });

  test('If-Match on a SKU that does not exist: 404', async () => {
    ddb.on(UpdateCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({});
    const response = await put({ available: 25 }, { 'If-Match': '"4"' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
  });

  test.each(['4', 'W/"4"', '"4", "5"', '*'])('a malformed If-Match (%s): 400 naming If-Match, nothing read or written', async (value) => {
    const response = await put({ available: 25 }, { 'If-Match': value });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json.errors).toEqual([expect.objectContaining({ field: 'If-Match' })]);
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a negative available: 400 naming it, nothing written', async () => {
    const response = await put({ available: -1 });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json.errors).toEqual([expect.objectContaining({ field: 'available' })]);
    expect(ddb.calls()).toHaveLength(0);
  });

  test('path parameters arrive decoded (as HTTP APIs deliver them) and are used as they are', async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(GetCommand).callsFake((input) => ({ Item: { sku: input.Key.sku, available: 1, reserved: 0, sold: 0, version: 1 } }));

    // A client sent /inventory/50%25off: the sku is "50%off", and its location is encoded again.
    const percent = await put({ available: 1 }, {}, '50%off');
    expect(percent.statusCode).toBe(201);
    expect(percent.json.sku).toBe('50%off');
    expect(percent.headers.location).toBe('/inventory/50%25off');
    expect(ddb.commandCalls(PutCommand)[0].args[0].input.Item).toMatchObject({ sku: '50%off' });

    // A client sent /inventory/a%252Bb: the sku is "a%2Bb", not "a+b".
    const literal = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'a%2Bb' } });
    expect(literal.statusCode).toBe(200);
    expect(ddb.commandCalls(GetCommand)[0].args[0].input.Key).toEqual({ sku: 'a%2Bb' });
  });
});

describe('POST /inventory/{sku}/adjustments', () => {
  /** `key` null: the request has no Idempotency-Key header. */
  const adjust = (body: unknown, key: string | null = 'adj-1', authorizer?: HttpRequest['authorizer']) =>
    call({
      routeKey: ROUTE.adjustStock,
      pathParameters: { sku: 'sku-apple' },
      body,
      headers: key === null ? {} : { 'Idempotency-Key': key },
      ...(authorizer === undefined ? {} : { authorizer }),
    });
  const LEVEL = { sku: 'sku-apple', available: 30, reserved: 2, sold: 1, version: 8 };

  /** Adjusts once successfully and returns the once-only record it wrote. */
  async function adjustOnce(body: unknown, key = 'adj-1', authorizer?: HttpRequest['authorizer']): Promise<Record<string, unknown>> {
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(GetCommand).resolves({ Item: LEVEL });
    expect((await adjust(body, key, authorizer)).statusCode).toBe(200);
    const record = transactions()[0][0].Put!.Item!;
    ddb.reset();
    return record;
  }

  test('200 with the new level and ETag: one transaction, the once-only record + the conditional SKU update', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(GetCommand).resolves({ Item: LEVEL });
    const before = Date.now();

    const response = await adjust({ delta: 5 });

    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toBe('"8"');
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(response.json).toEqual({ sku: 'sku-apple', available: 30, reserved: 2, sold: 1 });
    expect(transactions()).toHaveLength(1);
    const [record, stock] = transactions()[0];
    expect(transactions()[0]).toHaveLength(2);
    expect(record.Put).toEqual({
      TableName: TABLES.idempotency,
      Item: {
        [IDEMPOTENCY_TABLE.partitionKey]: expect.stringMatching(/^stock-adjustment#[0-9a-f]{32}$/),
        sku: 'sku-apple',
        delta: 5,
        requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        at: expect.any(String),
        [IDEMPOTENCY_TABLE.timeToLiveAttribute]: expect.any(Number),
      },
      ConditionExpression: 'attribute_not_exists(#id)',
      ExpressionAttributeNames: { '#id': IDEMPOTENCY_TABLE.partitionKey },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    const written = record.Put!.Item!;
    expect(Date.parse(written.at)).toBeGreaterThanOrEqual(before);
    expect(written[IDEMPOTENCY_TABLE.timeToLiveAttribute]).toBe(Math.floor(Date.parse(written.at) / 1000) + ADJUSTMENT_RECORD_TTL_SECONDS);
    expect(stock.Update).toEqual({
      TableName: TABLES.inventory,
      Key: { sku: 'sku-apple' },
      UpdateExpression: 'SET available = available + :delta, version = version + :one',
      ConditionExpression: 'attribute_exists(#sku) AND available >= :floor',
      ExpressionAttributeNames: { '#sku': 'sku' },
      ExpressionAttributeValues: { ':delta': 5, ':one': 1, ':floor': -5 },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ TableName: TABLES.inventory, Key: { sku: 'sku-apple' }, ConsistentRead: true });
  });

  test('a removal may not take available below zero: the floor is the units removed', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(GetCommand).resolves({ Item: LEVEL });
    expect((await adjust({ delta: -3 })).statusCode).toBe(200);
    expect(transactions()[0][1].Update!.ExpressionAttributeValues).toEqual({ ':delta': -3, ':one': 1, ':floor': 3 });
  });

  test("the record id is the caller's key: the same key and caller give the same id, another caller's the same key another", async () => {
    const first = await adjustOnce({ delta: 5 });
    const again = await adjustOnce({ delta: 5 });
    const otherCaller = await adjustOnce({ delta: 5 }, 'adj-1', jwtCustomer('ops', SCOPES.admin));
    const otherKey = await adjustOnce({ delta: 5 }, 'adj-2');
    expect(again.id).toBe(first.id);
    expect(again.requestHash).toBe(first.requestHash);
    expect(otherCaller.id).not.toBe(first.id);
    expect(otherKey.id).not.toBe(first.id);
  });

  test('a replay (the record exists with the same request): 200 idempotent-replayed with the current level, nothing applied twice', async () => {
    const record = await adjustOnce({ delta: 5 });
    ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'ConditionalCheckFailed', Item: record }, { Code: 'None' }]));
    ddb.on(GetCommand).resolves({ Item: LEVEL });

    const response = await adjust({ delta: 5 });

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(response.headers.etag).toBe('"8"');
    expect(response.json).toEqual({ sku: 'sku-apple', available: 30, reserved: 2, sold: 1 });
    expect(transactions()).toHaveLength(1);
    expect(transactions()[0][0].Put!.Item!.id).toBe(record.id);
  });

  test('the same key with a different delta: 422 problem', async () => {
    const record = await adjustOnce({ delta: 5 });
    ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'ConditionalCheckFailed', Item: record }, { Code: 'None' }]));

    const response = await adjust({ delta: 6 });

    expect(response.statusCode).toBe(422);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ type: 'about:blank', status: 422, title: 'Idempotency-Key reused', instance: '/inventory/sku-apple/adjustments' });
    expect(transactions()[0][0].Put!.Item!.requestHash).not.toBe(record.requestHash);
  });

  test('going negative: 409 problem naming the units available, nothing applied', async () => {
    ddb.on(TransactWriteCommand).rejects(
      transactionCanceled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: { sku: 'sku-apple', available: 3, reserved: 0, sold: 0, version: 2 } }]),
    );

    const response = await adjust({ delta: -5 });

    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status: 409, title: 'Conflict with the current state', currentStatus: 'INSUFFICIENT_STOCK' });
    expect(response.json.detail).toContain('3 units available');
    expect(response.headers).not.toHaveProperty('etag');
  });

  test('an unknown SKU: 404 problem', async () => {
    ddb.on(TransactWriteCommand).rejects(transactionCanceled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }]));

    const response = await adjust({ delta: 5 });

    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status: 404, instance: '/inventory/sku-apple/adjustments' });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  test('contention (TransactionConflict every time): 503 problem with retry-after', async () => {
    ddb.on(TransactWriteCommand).rejects(transactionConflict(2));

    const response = await adjust({ delta: 5 });

    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json).toMatchObject({ status: 503, title: 'Busy' });
    expect(transactions().length).toBeGreaterThan(1);
  });

  test.each([
    ['no Idempotency-Key', { delta: 5 }, null, ['Idempotency-Key']],
    ['a zero delta', { delta: 0 }, 'adj-1', ['delta']],
    ['a fractional delta', { delta: 1.5 }, 'adj-1', ['delta']],
    ['a delta that is not a number', { delta: '5' }, 'adj-1', ['delta']],
    ['an unknown field and a missing key', { delta: 5, reason: 'recount' }, null, ['(body)', 'Idempotency-Key']],
  ])('400 for %s, naming each wrong field; nothing written', async (_name, body, key, fields) => {
    const response = await adjust(body, key);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json.errors.map((e: { field: string }) => e.field).sort()).toEqual([...fields].sort());
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('inventory routes: authorization', () => {
  test('a JWT caller needs the admin scope on every stock route: 403 without it, nothing read or written; 200 with it', async () => {
    const payments = jwtCustomer('cust-1', SCOPES.payments);
    const put = await call({ routeKey: ROUTE.setStock, pathParameters: { sku: 'sku-apple' }, body: { available: 1 }, authorizer: payments });
    expect(put.statusCode).toBe(403);
    const get = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'sku-apple' }, authorizer: jwtCustomer('cust-1') });
    expect(get.statusCode).toBe(403);
    const adjusted = await call({ routeKey: ROUTE.adjustStock, pathParameters: { sku: 'sku-apple' }, headers: { 'Idempotency-Key': 'k' }, body: { delta: 1 }, authorizer: payments });
    expect(adjusted.statusCode).toBe(403);
    expect(adjusted.headers['content-type']).toBe('application/problem+json');
    expect(ddb.calls()).toHaveLength(0);

    ddb.on(GetCommand).resolves({ Item: { sku: 'sku-apple', available: 4, reserved: 0, sold: 0, version: 1 } });
    const admin = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'sku-apple' }, authorizer: jwtCustomer('ops', SCOPES.admin) });
    expect(admin.statusCode).toBe(200);
  });
});

describe('GET /openapi.json', () => {
  test('200 with the committed OpenAPI document, read from nothing', async () => {
    const response = await call({ routeKey: ROUTE.getApiDocument, headers: { 'x-correlation-id': 'trace-doc' } });
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual(JSON.parse(readFileSync(path.join(__dirname, '../../../docs/openapi.json'), 'utf8')));
    expect(response.headers['x-correlation-id']).toBe('trace-doc');
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a token without a subject is refused here too: no route is open', async () => {
    expect((await call({ routeKey: ROUTE.getApiDocument, authorizer: { jwt: { claims: {}, scopes: null } } })).statusCode).toBe(401);
  });
});

describe('routing and correlation', () => {
  test('an unknown route key: 404 problem', async () => {
    // Not through call(): no such operation is documented (API Gateway routes no such request to the function).
    const raw = await handler(httpEvent({ routeKey: 'DELETE /orders/{orderId}', pathParameters: { orderId: 'ord_abc' }, headers: { 'x-correlation-id': 'trace-404' } }), lambdaContext('order-api'));
    const response = { ...raw, json: JSON.parse(raw.body!) };
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['x-correlation-id']).toBe('trace-404');
    expect(response.json.detail).toContain('DELETE /orders/{orderId}');
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a sane X-Correlation-Id is echoed on success and on refusal; an unsafe one is replaced by the request id', async () => {
    ddb.on(GetCommand).resolves({ Item: storedOrder() });
    const ok = await call({ routeKey: ROUTE.getOrder, pathParameters: { orderId: 'ord_abc' }, headers: { 'x-correlation-id': 'trace-123' } });
    expect(ok.headers['x-correlation-id']).toBe('trace-123');

    const refused = await call({ routeKey: ROUTE.placeOrder, headers: { 'X-Correlation-ID': 'trace-456' }, body: {} });
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['x-correlation-id']).toBe('trace-456');

    const unsafe = await call({ routeKey: ROUTE.getOrder, pathParameters: { orderId: 'ord_abc' }, headers: { 'x-correlation-id': 'bad id\n' }, requestId: 'req-777' });
    expect(unsafe.headers['x-correlation-id']).toBe('req-777');
  });

  test('the correlation id also rides on precondition and contention answers', async () => {
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: { sku: 'sku-apple', available: 1, reserved: 0, sold: 0, version: 2 } });
    const response = await call({ routeKey: ROUTE.setStock, pathParameters: { sku: 'sku-apple' }, body: { available: 3 }, headers: { 'x-correlation-id': 'trace-428' } });
    expect(response.statusCode).toBe(428);
    expect(response.headers['x-correlation-id']).toBe('trace-428');
  });
});

