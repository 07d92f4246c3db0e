import { EVENT_BUS, IAM_SERVICE, TABLES, conditionalFailure, httpEvent, jwtCustomer, lambdaContext, throttled, HttpRequest } from '../shared/fixtures';

import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { handler } from '../../../functions/api/handler';
import { ROUTES, routeKey } from '../../../functions/api/routes';
import { SCOPES } from '../../../functions/domain/caller';
import { EVENT_CATALOGUE } from '../../../functions/domain/events';
import { orderIdFor } from '../../../functions/domain/orders';
import { StoredOrder } from '../../../functions/domain/ports';
import { ORDERS_TABLE } from '../../../functions/adapters/table-schema';

const ddb = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);

const ROUTE = Object.fromEntries(Object.entries(ROUTES).map(([name, spec]) => [name, routeKey(spec)])) as Record<keyof typeof ROUTES, string>;
const SERVICE_SCOPE = `service:${'iam' in IAM_SERVICE ? IAM_SERVICE.iam.userArn : ''}`;
const ITEMS = [
  { sku: 'sku-apple', quantity: 2 },
  { sku: 'sku-pear', quantity: 1 },
];

async function call(request: HttpRequest, remainingMs = 30_000) {
  const response = await handler(httpEvent(request), lambdaContext('order-api', remainingMs));
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
    inFlightUntil: at,
    correlationId: 'corr-1',
    ...overrides,
  };
}

const okPutEvents = () => eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
});

/** Places one order successfully and returns what was written, so replays can answer with the same record. */
async function placeOnce(key = 'key-1'): Promise<StoredOrder> {
  ddb.on(PutCommand).resolves({});
  okPutEvents();
  const response = await call(placeRequest({}, key));
  expect(response.statusCode).toBe(201);
  const item = ddb.commandCalls(PutCommand)[0].args[0].input.Item as StoredOrder;
  ddb.reset();
  eventBridge.reset();
  return item;
}

describe('POST /orders', () => {
  test('201 with the order, its location, one conditional put and one OrderPlaced event', async () => {
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
    expect(put.Item).toMatchObject({ orderId, customerId: 'cust-1', status: 'PENDING', items: ITEMS, correlationId: 'corr-abc', requestHash: expect.any(String) });
    // The in-flight window is the Lambda's remaining time.
    expect(Date.parse(put.Item!.inFlightUntil) - Date.parse(put.Item!.createdAt)).toBe(30_000);

    const sent = eventBridge.commandCalls(PutEventsCommand);
    expect(sent).toHaveLength(1);
    const entries = sent[0].args[0].input.Entries!;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ EventBusName: EVENT_BUS, Source: EVENT_CATALOGUE.OrderPlaced.source, DetailType: 'OrderPlaced' });
    expect(JSON.parse(entries[0].Detail!)).toMatchObject({ orderId, customerId: 'cust-1', correlationId: 'corr-abc', items: ITEMS, eventId: `${orderId}:OrderPlaced` });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  test('a JWT customer may omit customerId: the token subject is used, and the order id is scoped to the customer', async () => {
    ddb.on(PutCommand).resolves({});
    okPutEvents();
    const response = await call(placeRequest({ body: { items: ITEMS }, authorizer: jwtCustomer('cust-9') }));
    expect(response.statusCode).toBe(201);
    expect(response.json.customerId).toBe('cust-9');
    expect(response.json.orderId).toBe(orderIdFor('customer:cust-9', 'key-1'));
  });

  test('a JWT customer cannot order for another customer: 403, nothing written', async () => {
    const response = await call(placeRequest({ authorizer: jwtCustomer('cust-9') }));
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(ddb.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('invalid input: 400 problem+json naming each wrong field, nothing written or published', async () => {
    const response = await call(
      placeRequest({ body: { customerId: '', items: [{ sku: 'sku-apple', quantity: 0 }, { sku: 'sku-pear', quantity: 1.5 }, { quantity: 1 }], extra: true } }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status: 400, title: 'Invalid request', instance: '/orders' });
    const fields = (response.json.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['customerId', 'items[0].quantity', 'items[1].quantity', 'items[2].sku']));
    expect(response.json.errors.some((e: { message: string }) => /unknown field.*extra/.test(e.message))).toBe(true);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  test('a repeated sku is refused, naming the second line', async () => {
    const response = await call(placeRequest({ body: { customerId: 'cust-1', items: [ITEMS[0], ITEMS[0]] } }));
    expect(response.statusCode).toBe(400);
    expect(response.json.errors).toEqual([expect.objectContaining({ field: 'items[1].sku' })]);
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

  test('replay of a finished request: 201 with idempotent-replayed, the stored order, no second event', async () => {
    const stored = await placeOnce();
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: { ...stored, inFlightUntil: new Date(Date.now() - 1000).toISOString() } });
    okPutEvents();

    const response = await call(placeRequest());

    expect(response.statusCode).toBe(201);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(response.headers.location).toBe(`/orders/${stored.orderId}`);
    expect(response.json).toMatchObject({ orderId: stored.orderId, createdAt: stored.createdAt, status: 'PENDING' });
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ TableName: TABLES.orders, Key: { orderId: stored.orderId }, ConsistentRead: true });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  test('the same key with a different body: 422 problem', async () => {
    const stored = await placeOnce();
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: { ...stored, inFlightUntil: new Date(Date.now() - 1000).toISOString() } });

    const response = await call(placeRequest({ body: { customerId: 'cust-1', items: [{ sku: 'sku-apple', quantity: 3 }] } }));

    expect(response.statusCode).toBe(422);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status: 422, title: 'Idempotency-Key reused' });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('the first request is still in flight: 409 with retry-after', async () => {
    const stored = await placeOnce();
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: { ...stored, inFlightUntil: new Date(Date.now() + 20_000).toISOString() } });

    const response = await call(placeRequest());

    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toBe('application/problem+json');
    const retryAfter = Number(response.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(19);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(response.json).toMatchObject({ status: 409, title: 'Request in progress' });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('a replay of an order whose event is unpublished is answered at once, even in flight', async () => {
    const stored = await placeOnce();
    ddb.on(PutCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: { ...stored, unpublishedEvent: 'OrderPlaced', inFlightUntil: new Date(Date.now() + 20_000).toISOString() } });
    const response = await call(placeRequest());
    expect(response.statusCode).toBe(201);
    expect(response.headers['idempotent-replayed']).toBe('true');
  });

  test('PutEvents answering FailedEntryCount 1: still 201, the order is marked unpublished', async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });

    const response = await call(placeRequest());

    expect(response.statusCode).toBe(201);
    const updates = ddb.commandCalls(UpdateCommand);
    expect(updates).toHaveLength(1);
    expect(updates[0].args[0].input).toMatchObject({
      TableName: TABLES.orders,
      Key: { orderId: response.json.orderId },
      UpdateExpression: 'SET unpublishedEvent = :type',
      ExpressionAttributeValues: { ':type': 'OrderPlaced' },
    });
  });

  test('PutEvents throwing: still 201, the order is marked unpublished', async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    eventBridge.on(PutEventsCommand).rejects(new Error('socket hang up'));

    const response = await call(placeRequest());

    expect(response.statusCode).toBe(201);
    expect(response.json.status).toBe('PENDING');
    expect(ddb.commandCalls(UpdateCommand)[0].args[0].input.ExpressionAttributeValues).toEqual({ ':type': 'OrderPlaced' });
  });

  test('DynamoDB failing unexpectedly: 500 problem+json, no event, correlation id kept', async () => {
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
  test('200 with the order view (no bookkeeping fields)', async () => {
    ddb.on(GetCommand, { TableName: TABLES.orders, Key: { orderId: 'ord_abc' } }).resolves({ Item: storedOrder({ unpublishedEvent: 'OrderPlaced' }) });
    const response = await call({ routeKey: ROUTE.getOrder, pathParameters: { orderId: 'ord_abc' } });
    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ orderId: 'ord_abc', status: 'PENDING', items: ITEMS });
    expect(response.json).not.toHaveProperty('requestHash');
    expect(response.json).not.toHaveProperty('inFlightUntil');
    expect(response.json).not.toHaveProperty('unpublishedEvent');
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
  test('lists a customer newest first from the byCustomer index, with a nextToken that resumes the listing', async () => {
    const lastKey = { orderId: 'ord_2', customerId: 'cust-1', createdAt: '2026-01-01T00:00:00.000Z' };
    ddb.on(QueryCommand).resolvesOnce({ Items: [storedOrder({ orderId: 'ord_1' }), storedOrder({ orderId: 'ord_2' })], LastEvaluatedKey: lastKey }).resolvesOnce({ Items: [storedOrder({ orderId: 'ord_3' })] });

    const first = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1', limit: '2' } });

    expect(first.statusCode).toBe(200);
    expect(first.json.items.map((o: { orderId: string }) => o.orderId)).toEqual(['ord_1', 'ord_2']);
    expect(first.json.items[0]).not.toHaveProperty('requestHash');
    expect(typeof first.json.nextToken).toBe('string');
    expect(ddb.commandCalls(QueryCommand)[0].args[0].input).toMatchObject({
      TableName: TABLES.orders,
      IndexName: ORDERS_TABLE.indexes.byCustomer.name,
      ExpressionAttributeValues: { ':customerId': 'cust-1' },
      ScanIndexForward: false,
      Limit: 2,
    });

    const second = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1', limit: '2', nextToken: first.json.nextToken } });

    expect(second.statusCode).toBe(200);
    expect(second.json).toEqual({ items: [expect.objectContaining({ orderId: 'ord_3' })] });
    expect(ddb.commandCalls(QueryCommand)[1].args[0].input.ExclusiveStartKey).toEqual(lastKey);
  });

  test("a nextToken from another customer's listing: 400 naming nextToken", async () => {
    const token = Buffer.from(JSON.stringify({ orderId: 'ord_x', customerId: 'cust-2', createdAt: 'x' })).toString('base64url');
    const response = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1', nextToken: token } });
    expect(response.statusCode).toBe(400);
    expect(response.json.errors).toEqual([expect.objectContaining({ field: 'nextToken' })]);
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

    const other = await call({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1' }, authorizer: jwtCustomer('cust-5') });
    expect(other.statusCode).toBe(403);
  });
});

describe('POST /orders/{orderId}/cancel', () => {
  test('200 with the cancelled order; the write is conditional on a cancellable status; OrderCancelled published', async () => {
    ddb.on(GetCommand).resolves({ Item: storedOrder({ status: 'RESERVED' }) });
    ddb.on(UpdateCommand).resolves({ Attributes: storedOrder({ status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } }) });
    okPutEvents();

    const response = await call({ routeKey: ROUTE.cancelOrder, pathParameters: { orderId: 'ord_abc' } });

    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ orderId: 'ord_abc', status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } });
    const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update).toMatchObject({ TableName: TABLES.orders, Key: { orderId: 'ord_abc' }, ConditionExpression: '#status IN (:from0, :from1)' });
    expect(update.ExpressionAttributeValues).toMatchObject({ ':to': 'CANCELLED', ':from0': 'PENDING', ':from1': 'RESERVED' });
    const entry = eventBridge.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0];
    expect(entry).toMatchObject({ EventBusName: EVENT_BUS, Source: EVENT_CATALOGUE.OrderCancelled.source, DetailType: 'OrderCancelled' });
    expect(JSON.parse(entry.Detail!)).toMatchObject({ orderId: 'ord_abc', reason: 'CUSTOMER' });
  });

  test('409 with currentStatus when the order can no longer be cancelled', async () => {
    ddb.on(GetCommand).resolves({ Item: storedOrder({ status: 'PAID', paymentId: 'pay-1' }) });
    ddb.on(UpdateCommand).rejects(conditionalFailure());

    const response = await call({ routeKey: ROUTE.cancelOrder, pathParameters: { orderId: 'ord_abc' } });

    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status: 409, currentStatus: 'PAID' });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test("a JWT customer cannot cancel another customer's order (404, nothing written)", async () => {
    ddb.on(GetCommand).resolves({ Item: storedOrder({ customerId: 'cust-1' }) });
    const response = await call({ routeKey: ROUTE.cancelOrder, pathParameters: { orderId: 'ord_abc' }, authorizer: jwtCustomer('cust-2') });
    expect(response.statusCode).toBe(404);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});

describe('POST /orders/{orderId}/payment', () => {
  const pay = (body: unknown, authorizer?: HttpRequest['authorizer']) =>
    call({ routeKey: ROUTE.confirmPayment, pathParameters: { orderId: 'ord_abc' }, body, ...(authorizer === undefined ? {} : { authorizer }) });

  test('200: RESERVED -> PAID with the payment id, OrderPaid published', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: storedOrder({ status: 'PAID', paymentId: 'pay-1' }) });
    okPutEvents();

    const response = await pay({ paymentId: 'pay-1' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(response.json).toMatchObject({ status: 'PAID', paymentId: 'pay-1' });
    const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.ConditionExpression).toBe('#status IN (:from0)');
    expect(update.ExpressionAttributeValues).toMatchObject({ ':to': 'PAID', ':from0': 'RESERVED' });
    expect(Object.values(update.ExpressionAttributeValues!)).toContain('pay-1');
    const entry = eventBridge.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0];
    expect(entry).toMatchObject({ Source: EVENT_CATALOGUE.OrderPaid.source, DetailType: 'OrderPaid', EventBusName: EVENT_BUS });
    expect(JSON.parse(entry.Detail!)).toMatchObject({ orderId: 'ord_abc', paymentId: 'pay-1' });
  });

  test('replay with the same payment id: 200 idempotent-replayed, no second event', async () => {
    ddb.on(UpdateCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({ Item: storedOrder({ status: 'PAID', paymentId: 'pay-1' }) });
    const response = await pay({ paymentId: 'pay-1' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBe('true');
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('409 when already paid by another payment, or not RESERVED', async () => {
    ddb.on(UpdateCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolvesOnce({ Item: storedOrder({ status: 'PAID', paymentId: 'pay-1' }) }).resolvesOnce({ Item: storedOrder({ status: 'PENDING' }) });

    const paidElsewhere = await pay({ paymentId: 'pay-2' });
    expect(paidElsewhere.statusCode).toBe(409);
    expect(paidElsewhere.json).toMatchObject({ currentStatus: 'PAID' });

    const pending = await pay({ paymentId: 'pay-2' });
    expect(pending.statusCode).toBe(409);
    expect(pending.json).toMatchObject({ currentStatus: 'PENDING' });
    expect(eventBridge.calls()).toHaveLength(0);
  });

  test('404 when the order does not exist', async () => {
    ddb.on(UpdateCommand).rejects(conditionalFailure());
    ddb.on(GetCommand).resolves({});
    expect((await pay({ paymentId: 'pay-1' })).statusCode).toBe(404);
  });

  test('400 for a missing or extra field, nothing written', async () => {
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

    ddb.on(UpdateCommand).resolves({ Attributes: storedOrder({ status: 'PAID', paymentId: 'pay-1' }) });
    okPutEvents();
    const allowed = await pay({ paymentId: 'pay-1' }, jwtCustomer('cust-1', `openid ${SCOPES.payments}`));
    expect(allowed.statusCode).toBe(200);
  });
});

describe('inventory routes', () => {
  test('PUT /inventory/{sku}: 200 with the stock level', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { sku: 'sku-apple', available: 25, reserved: 3, holds: { ord_1: 3 } } });
    const response = await call({ routeKey: ROUTE.setStock, pathParameters: { sku: 'sku-apple' }, body: { available: 25 } });
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ sku: 'sku-apple', available: 25, reserved: 3 });
    expect(ddb.commandCalls(UpdateCommand)[0].args[0].input).toMatchObject({
      TableName: TABLES.inventory,
      Key: { sku: 'sku-apple' },
      ExpressionAttributeValues: expect.objectContaining({ ':available': 25 }),
    });
  });

  test('PUT /inventory/{sku}: 400 for a negative available, nothing written', async () => {
    const response = await call({ routeKey: ROUTE.setStock, pathParameters: { sku: 'sku-apple' }, body: { available: -1 } });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json.errors).toEqual([expect.objectContaining({ field: 'available' })]);
    expect(ddb.calls()).toHaveLength(0);
  });

  test('GET /inventory/{sku}: 200 and 404', async () => {
    ddb.on(GetCommand, { TableName: TABLES.inventory, Key: { sku: 'sku-apple' } }).resolves({ Item: { sku: 'sku-apple', available: 4, reserved: 1, holds: {} } });
    ddb.on(GetCommand, { TableName: TABLES.inventory, Key: { sku: 'sku-none' } }).resolves({});

    const found = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'sku-apple' } });
    expect(found.statusCode).toBe(200);
    expect(found.json).toEqual({ sku: 'sku-apple', available: 4, reserved: 1 });

    const missing = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'sku-none' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
  });

  test('path parameters arrive decoded (as HTTP APIs deliver them) and are used as they are', async () => {
    ddb.on(UpdateCommand).callsFake((input) => ({ Attributes: { sku: input.Key.sku, available: 1, reserved: 0 } }));
    ddb.on(GetCommand).callsFake((input) => ({ Item: { sku: input.Key.sku, available: 1, reserved: 0 } }));

    // A client sent /inventory/50%25off: the sku is "50%off".
    const percent = await call({ routeKey: ROUTE.setStock, pathParameters: { sku: '50%off' }, body: { available: 1 } });
    expect(percent.statusCode).toBe(200);
    expect(percent.json.sku).toBe('50%off');

    // A client sent /inventory/a%252Bb: the sku is "a%2Bb", not "a+b".
    const literal = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'a%2Bb' } });
    expect(literal.statusCode).toBe(200);
    expect(ddb.commandCalls(GetCommand)[0].args[0].input.Key).toEqual({ sku: 'a%2Bb' });
  });

  test('a JWT caller needs the admin scope: 403 without it, 200 with it', async () => {
    const put = await call({ routeKey: ROUTE.setStock, pathParameters: { sku: 'sku-apple' }, body: { available: 1 }, authorizer: jwtCustomer('cust-1', SCOPES.payments) });
    expect(put.statusCode).toBe(403);
    const get = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'sku-apple' }, authorizer: jwtCustomer('cust-1') });
    expect(get.statusCode).toBe(403);
    expect(ddb.calls()).toHaveLength(0);

    ddb.on(GetCommand).resolves({ Item: { sku: 'sku-apple', available: 4, reserved: 0 } });
    const admin = await call({ routeKey: ROUTE.getStock, pathParameters: { sku: 'sku-apple' }, authorizer: jwtCustomer('ops', SCOPES.admin) });
    expect(admin.statusCode).toBe(200);
  });
});

describe('routing and correlation', () => {
  test('an unknown route key: 404 problem', async () => {
    const response = await call({ routeKey: 'DELETE /orders/{orderId}', pathParameters: { orderId: 'ord_abc' }, headers: { 'x-correlation-id': 'trace-404' } });
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
});
