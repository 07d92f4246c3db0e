/**
 * Least privilege, proven against the code (lib/function-access.ts is the map; test/lib/security.test.ts holds the
 * template to it). Each function's real handler runs its flows against DynamoDB Local, each with exactly the
 * environment variables the synthesized template gives it (a function that reached for a resource it is not named
 * would fail here). Every SDK command it sends is recorded and mapped to the IAM action(s) and resource it needs:
 * a TransactWriteItems to one action per item on the item's table, a Query to dynamodb:Query on its index, a
 * publish to the KMS-encrypted topic to sns:Publish plus the KMS use SNS makes of the topic's key with the
 * publisher's credentials. For each function the recorded set must equal the declared one: an action granted but
 * never sent fails, and so does one sent but not granted.
 *
 * EventBridge, SNS and SQS answer from fakes (recorded, never reached). Some reads happen only when a failed
 * condition does not return the item (an engine that does not, as the adapters' comments say): the flows run once
 * more on such an engine (the items taken out of the errors) so that those reads are exercised, and granted, too.
 */
import { IAM_SERVICE, HttpRequest, envelope, httpEvent, jwtCustomer, lambdaContext, sqsEvent, sqsRecord, storedOrderOf, streamEvent, streamRecord } from './shared/fixtures';

import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { handler as apiHandler } from '../../functions/api/handler';
import { handler as inventoryHandler } from '../../functions/inventory/handler';
import { handler as notificationHandler } from '../../functions/notification/handler';
import { handler as relayHandler } from '../../functions/event-relay/handler';
import { handler as findWorkHandler } from '../../functions/sweep/find-work';
import { handler as repairOrderHandler } from '../../functions/sweep/repair-order';
import { handler as summariseHandler } from '../../functions/sweep/summarise';
import { ROUTES, RouteName, routeKey } from '../../functions/api/routes';
import { StoredOrder } from '../../functions/domain/ports';
import { ENV } from '../../functions/shared/env';
import { NotificationChannel } from '../../functions/adapters/notification-channels';
import { accessPairs, FUNCTION_NAMES, FunctionName, functionAccess, ResourceName, TABLE_NAMES } from '../../lib/function-access';
import { resources, targetOf } from '../lib/cfn';
import { logicalIdOf, Synthesized, synth } from '../lib/synth';
import { LocalTables, startLocalTables } from '../support/local-tables';

jest.setTimeout(60_000);

const ROUTE = Object.fromEntries(Object.entries(ROUTES).map(([name, spec]) => [name, routeKey(spec)])) as Record<RouteName, string>;
/** The fakes' names for the resources that are not tables. */
const FAKE = {
  bus: 'local-order-bus',
  relayDeadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/local-relay-dlq',
  notificationTopicArn: 'arn:aws:sns:us-east-1:123456789012:local-notifications',
} as const;

type Deployment = NotificationChannel;
const deployments: Record<Deployment, Synthesized> = { table: synth(), sns: synth({ notificationChannel: 'sns' }) };

let tables: LocalTables;

// ---- recording ----

/** What each function sent, as "<action> on <resource>", by deployment and function. */
const sent = new Map<string, Set<string>>();
/** The functions that ran, by deployment and function (some send nothing). */
const ran = new Set<string>();
const keyOf = (deployment: Deployment, name: FunctionName) => `${name} (${deployment} notifications)`;

const recorder = {
  /** The function now running (commands sent by the test itself are not recorded). */
  current: undefined as { deployment: Deployment; name: FunctionName } | undefined,
  /** An engine that returns no item with a failed condition. */
  withoutConditionItems: false,
  /** Publishes the SNS fake fails before answering again. */
  failingPublishes: 0,

  record(calls: [string, string][]): void {
    if (!this.current) return;
    const key = keyOf(this.current.deployment, this.current.name);
    const set = sent.get(key) ?? new Set<string>();
    for (const [action, resource] of calls) set.add(`${action} on ${resource}`);
    sent.set(key, set);
  },
};

/** The table a command names, by its local name (an unknown table is recorded as such: never granted). */
function tableOf(name: unknown): string {
  const found = TABLE_NAMES.find((t) => tables.names[t] === name);
  return found ?? `an unknown table ${String(name)}`;
}

/** DynamoDB commands (document client and raw client alike) as the IAM actions they need, on their tables. */
function dynamoCalls(command: { constructor: { name: string }; input: any }): [string, string][] {
  const { input } = command;
  const single: Record<string, string> = {
    GetCommand: 'GetItem', GetItemCommand: 'GetItem',
    PutCommand: 'PutItem', PutItemCommand: 'PutItem',
    UpdateCommand: 'UpdateItem', UpdateItemCommand: 'UpdateItem',
    DeleteCommand: 'DeleteItem', DeleteItemCommand: 'DeleteItem',
    QueryCommand: 'Query', ScanCommand: 'Scan',
  };
  const name = command.constructor.name;
  if (name in single) {
    const table = tableOf(input.TableName);
    return [[`dynamodb:${single[name]}`, input.IndexName ? `${table}/index/${input.IndexName}` : table]];
  }
  const perTable = (action: string) => Object.keys(input.RequestItems ?? {}).map((t): [string, string] => [`dynamodb:${action}`, tableOf(t)]);
  if (name === 'BatchGetCommand' || name === 'BatchGetItemCommand') return perTable('BatchGetItem');
  if (name === 'BatchWriteCommand' || name === 'BatchWriteItemCommand') return perTable('BatchWriteItem');
  // A transaction has no action of its own: each item needs its own action on its own table.
  const ITEM: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' };
  if (['TransactWriteCommand', 'TransactWriteItemsCommand', 'TransactGetCommand', 'TransactGetItemsCommand'].includes(name)) {
    return (input.TransactItems as Record<string, { TableName: string }>[]).map((item) => {
      const [kind, operation] = Object.entries(item)[0]!;
      return [`dynamodb:${ITEM[kind] ?? `${kind}?`}`, tableOf(operation.TableName)];
    });
  }
  return [[`dynamodb:${name} (not mapped by this test)`, '?']];
}

/** The topic's key, when the template encrypts the topic with one (SNS then uses it with the publisher's credentials). */
function topicKeyOf(s: Synthesized): ResourceName | undefined {
  const topic = s.stack.notificationTopic;
  if (!topic) return undefined;
  const keyArn = resources(s.template, 'AWS::SNS::Topic')[logicalIdOf(s.stack, topic)]!.Properties.KmsMasterKeyId;
  if (!keyArn) return undefined;
  expect(targetOf(keyArn)).toBe(logicalIdOf(s.stack, s.stack.notificationTopicKey!));
  return 'notificationTopicKey';
}

/** Error items an engine without ReturnValuesOnConditionCheckFailure would not return. */
function withoutItems(error: any): void {
  if (error?.name === 'ConditionalCheckFailedException') delete error.Item;
  if (error?.name === 'TransactionCanceledException') for (const reason of error.CancellationReasons ?? []) delete reason.Item;
}

/**
 * Records every command the SDK clients of one module registry send: DynamoDB goes on to DynamoDB Local, the others
 * answer from fakes. `load` is that registry's require (a second registry holds a second deployment's handler).
 */
function instrument(load: (id: string) => any): void {
  for (const [pkg, client] of [['@aws-sdk/lib-dynamodb', 'DynamoDBDocumentClient'], ['@aws-sdk/client-dynamodb', 'DynamoDBClient']]) {
    const prototype = load(pkg)[client].prototype;
    const send = prototype.send;
    jest.spyOn(prototype, 'send').mockImplementation(async function (this: unknown, command: any, ...rest: unknown[]) {
      recorder.record(dynamoCalls(command));
      try {
        return await send.call(this, command, ...rest);
      } catch (error) {
        if (recorder.current && recorder.withoutConditionItems) withoutItems(error);
        throw error;
      }
    } as never);
  }
  const fake = (pkg: string, client: string, answer: (command: any) => unknown) =>
    jest.spyOn(load(pkg)[client].prototype, 'send').mockImplementation((async (command: any) => answer(command)) as never);
  fake('@aws-sdk/client-eventbridge', 'EventBridgeClient', (command) => {
    if (command.constructor.name !== 'PutEventsCommand') return recorder.record([[`events:${command.constructor.name} (not mapped)`, '?']]);
    const entries: { EventBusName?: string }[] = command.input.Entries ?? [];
    recorder.record(entries.map((e) => ['events:PutEvents', e.EventBusName === FAKE.bus ? 'bus' : `an unknown bus ${e.EventBusName}`]));
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `evt-${i}` })) };
  });
  fake('@aws-sdk/client-sns', 'SNSClient', (command) => {
    if (command.constructor.name !== 'PublishCommand') return recorder.record([[`sns:${command.constructor.name} (not mapped)`, '?']]);
    const topic = command.input.TopicArn === FAKE.notificationTopicArn ? 'notificationTopic' : `an unknown topic ${command.input.TopicArn}`;
    const key = topicKeyOf(deployments[recorder.current!.deployment]);
    recorder.record([['sns:Publish', topic], ...(key ? ([['kms:GenerateDataKey', key], ['kms:Decrypt', key]] as [string, string][]) : [])]);
    if (recorder.failingPublishes > 0) {
      recorder.failingPublishes--;
      throw Object.assign(new Error('SNS is unavailable (injected)'), { name: 'InternalErrorException' });
    }
    return { MessageId: 'msg-1' };
  });
  fake('@aws-sdk/client-sqs', 'SQSClient', (command) => {
    if (command.constructor.name !== 'SendMessageCommand') return recorder.record([[`sqs:${command.constructor.name} (not mapped)`, '?']]);
    recorder.record([['sqs:SendMessage', command.input.QueueUrl === FAKE.relayDeadLetterQueueUrl ? 'relayDeadLetterQueue' : `an unknown queue ${command.input.QueueUrl}`]]);
    return { MessageId: 'dlq-1' };
  });
}

// ---- running a function as deployed ----

/** The function's environment variables from the template, references replaced by the local resources' names. */
function environmentOf(deployment: Deployment, name: FunctionName): Record<string, string> {
  const s = deployments[deployment];
  const id = (c: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(s.stack, c);
  const local = new Map<string, string>([
    ...TABLE_NAMES.map((t): [string, string] => [id(s.stack.tables[t]), tables.names[t]]),
    [id(s.stack.events.bus), FAKE.bus],
    [id(s.stack.relay.deadLetterQueue), FAKE.relayDeadLetterQueueUrl],
    ...(s.stack.notificationTopic ? [[id(s.stack.notificationTopic), FAKE.notificationTopicArn] as [string, string]] : []),
  ]);
  const fn = resources(s.template, 'AWS::Lambda::Function')[id(s.stack.functions[name])]!;
  const variables: Record<string, unknown> = fn.Properties.Environment?.Variables ?? {};
  return Object.fromEntries(
    Object.entries(variables)
      .filter(([variable]) => variable !== 'NODE_OPTIONS')
      .map(([variable, value]) => {
        if (typeof value === 'string') return [variable, value];
        const resolved = local.get(targetOf(value));
        if (resolved === undefined) throw new Error(`${name}: ${variable} names ${JSON.stringify(value)}, which this test has no local stand-in for`);
        return [variable, resolved];
      }),
  );
}

/** Runs `body` as the function: its template environment only, its commands recorded under its name. */
async function as<T>(name: FunctionName, body: () => Promise<T>, deployment: Deployment = 'table'): Promise<T> {
  for (const variable of Object.values(ENV)) delete process.env[variable];
  Object.assign(process.env, environmentOf(deployment, name), { AWS_LAMBDA_FUNCTION_NAME: `order-pipeline-${name}` });
  recorder.current = { deployment, name };
  ran.add(keyOf(deployment, name));
  try {
    return await body();
  } finally {
    recorder.current = undefined;
  }
}

async function api(request: HttpRequest) {
  const response = (await as('api', () => apiHandler(httpEvent(request), lambdaContext('api')))) as { statusCode: number; headers: Record<string, string>; body?: string };
  return { ...response, json: response.body ? JSON.parse(response.body) : undefined };
}

const consume = (handler: (event: any, context: any) => Promise<SQSBatchResponse>, name: FunctionName, deployment: Deployment = 'table') => (...bodies: unknown[]) =>
  as(name, () => handler(sqsEvent(...bodies.map((body, i) => sqsRecord(body, `msg-${i}`))), lambdaContext(name)), deployment);
const inventory = consume(inventoryHandler, 'inventory');
const notifyByTable = consume(notificationHandler, 'notification');
/** The notification handler of the SNS deployment: its own module registry (its own container), loaded in beforeAll. */
let notifyBySns: (...bodies: unknown[]) => Promise<SQSBatchResponse>;

const repair = (action: 'republish' | 'expire', orderId: string) => as('repairOrder', () => repairOrderHandler({ action, orderId }, lambdaContext('repair-order')));

async function order(orderId: string): Promise<StoredOrder | undefined> {
  return (await tables.client.send(new GetCommand({ TableName: tables.names.orders, Key: { orderId }, ConsistentRead: true }))).Item as StoredOrder | undefined;
}

/** Runs the body on an engine that returns no item with a failed condition. */
async function onEngineWithoutConditionItems(body: () => Promise<void>): Promise<void> {
  recorder.withoutConditionItems = true;
  try {
    await body();
  } finally {
    recorder.withoutConditionItems = false;
  }
}

beforeAll(async () => {
  tables = await startLocalTables();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = tables.endpoint;
  instrument(require);
  jest.isolateModules(() => {
    instrument(require);
    const { handler } = require('../../functions/notification/handler');
    notifyBySns = consume(handler, 'notification', 'sns');
  });
});

afterAll(async () => {
  jest.restoreAllMocks();
  await tables?.stop();
});

// ---- the flows ----

const SKU = 'sku-access';
const ITEMS = [{ sku: SKU, quantity: 1 }];
const placed: Record<'cancelled' | 'paid' | 'unknownSku' | 'stuck', string> = { cancelled: '', paid: '', unknownSku: '', stuck: '' };

async function place(key: string, items = ITEMS): Promise<string> {
  const response = await api({ routeKey: ROUTE.placeOrder, headers: { 'Idempotency-Key': key }, body: { customerId: 'cust-1', items } });
  expect(response.statusCode).toBe(201);
  return response.json.orderId;
}

describe('the flows, each function as deployed', () => {
  test('the API: stock created, refused, read, replaced, adjusted and replayed; orders placed, replayed, read, listed, cancelled twice, paid', async () => {
    const stock = { routeKey: ROUTE.setStock, pathParameters: { sku: SKU }, body: { available: 10 } };
    expect((await api(stock)).statusCode).toBe(201);
    expect((await api(stock)).statusCode).toBe(428);
    const level = await api({ routeKey: ROUTE.getStock, pathParameters: { sku: SKU } });
    expect(level.statusCode).toBe(200);
    expect((await api({ ...stock, headers: { 'If-Match': level.headers.etag }, body: { available: 20 } })).statusCode).toBe(200);
    const adjustment = { routeKey: ROUTE.adjustStock, pathParameters: { sku: SKU }, headers: { 'Idempotency-Key': 'adjust-1' }, body: { delta: 5 } };
    expect((await api(adjustment)).statusCode).toBe(200);
    expect((await api(adjustment)).headers['idempotent-replayed']).toBe('true');

    placed.cancelled = await place('order-1');
    expect((await api({ routeKey: ROUTE.placeOrder, headers: { 'Idempotency-Key': 'order-1' }, body: { customerId: 'cust-1', items: ITEMS } })).headers['idempotent-replayed']).toBe('true');
    expect((await api({ routeKey: ROUTE.getOrder, pathParameters: { orderId: placed.cancelled } })).statusCode).toBe(200);
    const listing = await api({ routeKey: ROUTE.listOrders, queryStringParameters: { customerId: 'cust-1' } });
    expect(listing.json.items.map((o: StoredOrder) => o.orderId)).toEqual([placed.cancelled]);
    const own = await api({ routeKey: ROUTE.listOrders, authorizer: jwtCustomer('cust-1') });
    expect(own.json.items).toHaveLength(1);
    const cancel = { routeKey: ROUTE.cancelOrder, pathParameters: { orderId: placed.cancelled }, authorizer: IAM_SERVICE };
    expect((await api(cancel)).statusCode).toBe(200);
    // The retry re-publishes the cancellation's event.
    expect((await api(cancel)).headers['idempotent-replayed']).toBe('true');

    placed.paid = await place('order-2');
    expect((await inventory(envelope('OrderPlaced', placed.paid, { items: ITEMS }))).batchItemFailures).toEqual([]);
    expect((await order(placed.paid))?.status).toBe('RESERVED');
    const payment = await api({ routeKey: ROUTE.confirmPayment, pathParameters: { orderId: placed.paid }, body: { paymentId: 'pay-1' } });
    expect([payment.statusCode, payment.json.status]).toEqual([200, 'PAID']);
  });

  test('the API on an engine that returns no item with a failed condition: a replayed adjustment reads its record back', async () => {
    await onEngineWithoutConditionItems(async () => {
      const adjustment = { routeKey: ROUTE.adjustStock, pathParameters: { sku: SKU }, headers: { 'Idempotency-Key': 'adjust-1' }, body: { delta: 5 } };
      expect((await api(adjustment)).headers['idempotent-replayed']).toBe('true');
    });
  });

  test('the inventory consumer: a reservation, a rejection for a SKU never stocked, an OrderPlaced for an order that is not there', async () => {
    placed.unknownSku = await place('order-3', [{ sku: 'sku-never-stocked', quantity: 1 }]);
    placed.stuck = await place('order-4');
    expect((await inventory(envelope('OrderPlaced', placed.unknownSku, { items: [{ sku: 'sku-never-stocked', quantity: 1 }] }))).batchItemFailures).toEqual([]);
    expect((await order(placed.unknownSku))?.status).toBe('REJECTED');
    expect((await inventory(envelope('OrderPlaced', 'ord_not_there', { items: ITEMS }))).batchItemFailures).toEqual([]);
    expect(await order('ord_not_there')).toBeUndefined();
    // A duplicate of a delivered OrderPlaced changes nothing.
    expect((await inventory(envelope('OrderPlaced', placed.paid, { items: ITEMS }))).batchItemFailures).toEqual([]);
    expect((await order(placed.paid))?.status).toBe('PAID');
  });

  test('the notification consumer, table channel: a notification and its duplicate', async () => {
    const reserved = envelope('InventoryReserved', placed.paid, { items: ITEMS });
    expect((await notifyByTable(reserved, reserved)).batchItemFailures).toEqual([]);
  });

  test('the notification consumer, SNS channel: a notification, its duplicate (on both engines), a publish that fails and is retried', async () => {
    const reserved = envelope('InventoryReserved', placed.paid, { items: ITEMS });
    expect((await notifyBySns(reserved)).batchItemFailures).toEqual([]);
    expect((await notifyBySns(reserved)).batchItemFailures).toEqual([]);
    await onEngineWithoutConditionItems(async () => {
      expect((await notifyBySns(reserved)).batchItemFailures).toEqual([]);
    });
    recorder.failingPublishes = 1;
    const paid = envelope('OrderPaid', placed.paid, { items: ITEMS, paymentId: 'pay-1' });
    expect((await notifyBySns(paid)).batchItemFailures).toHaveLength(1);
    expect((await notifyBySns(paid)).batchItemFailures).toEqual([]);
  });

  test('the event relay: a change published, a change no event can be built from dead-lettered', async () => {
    const paid = (await order(placed.paid))!;
    const broken = { ...paid, orderId: 'ord_broken', paymentId: undefined };
    const response = await as('relay', () =>
      relayHandler(streamEvent(streamRecord('1', { new: paid }), streamRecord('2', { new: broken })), lambdaContext('relay')),
    );
    expect(response).toEqual({ batchItemFailures: [] });
  });

  test("the sweep: find the work, republish then flag a stuck order, expire a reservation (and one whose SKU is gone), summarise", async () => {
    const past = new Date(Date.now() - 3600_000).toISOString();
    // A reservation past its payment deadline, with its held unit, and one whose SKU item has disappeared.
    await tables.client.send(new PutCommand({ TableName: tables.names.inventory, Item: { sku: 'sku-held', available: 0, reserved: 1, sold: 0, version: 1 } }));
    for (const [orderId, sku] of [['ord_overdue', 'sku-held'], ['ord_overdue_gone', 'sku-gone']]) {
      const reservedOrder = storedOrderOf(orderId, [{ sku, quantity: 1 }], { status: 'RESERVED', statusChangedAt: past, paymentDeadline: past });
      await tables.client.send(new PutCommand({ TableName: tables.names.orders, Item: { ...reservedOrder, openStatus: 'RESERVED' } }));
    }

    const work = await as('findWork', () => findWorkHandler({}, lambdaContext('find-work')));
    expect(work.expire.map((o: { orderId: string }) => o.orderId)).toEqual(expect.arrayContaining(['ord_overdue', 'ord_overdue_gone']));

    const outcomes: string[] = [];
    // Each copy is given stalePendingAfterSeconds before the next: a sweep run sooner waits; then its time passes
    // (the copy's republishedAt is moved an hour back, written outside the function).
    const copyTimePasses = () =>
      tables.client.send(new UpdateCommand({ TableName: tables.names.orders, Key: { orderId: placed.stuck }, UpdateExpression: 'SET republishedAt = :past', ExpressionAttributeValues: { ':past': past } }));
    for (let i = 0; i < 6 && outcomes.at(-1) !== 'needs-attention'; i++) {
      outcomes.push((await repair('republish', placed.stuck)).outcome);
      if (outcomes.at(-1) === 'republished') {
        outcomes.push((await repair('republish', placed.stuck)).outcome);
        await copyTimePasses();
      }
    }
    expect(outcomes).toEqual(['republished', 'waiting', 'republished', 'waiting', 'republished', 'waiting', 'needs-attention']);
    expect((await repair('expire', 'ord_overdue')).outcome).toBe('cancelled');
    await expect(repair('expire', 'ord_overdue_gone')).rejects.toThrow(/not there to release/);

    const summary = await as('summarise', () => summariseHandler({ results: [[{ orderId: 'ord_overdue', action: 'expire', outcome: 'cancelled' }]] }, lambdaContext('summarise')));
    expect(summary.found.expire).toBe(1);
  });
});

describe('what each function sends equals what it is granted (lib/function-access.ts)', () => {
  const cases: [string, Deployment, FunctionName][] = [
    ...FUNCTION_NAMES.map((name): [string, Deployment, FunctionName] => [keyOf('table', name), 'table', name]),
    [keyOf('sns', 'notification'), 'sns', 'notification'],
  ];

  test.each(cases)('%s', (key, deployment, name) => {
    const declared = accessPairs(functionAccess(deployment)[name]).map(([resource, action]) => `${action} on ${resource}`);
    const recorded = [...(sent.get(key) ?? [])];
    expect({ sentButNotGranted: recorded.filter((c) => !declared.includes(c)).sort(), grantedButNeverSent: declared.filter((c) => !recorded.includes(c)).sort() }).toEqual({
      sentButNotGranted: [],
      grantedButNeverSent: [],
    });
  });

  test('every function of the template was run, in each deployment it differs in (the cases cover the template)', () => {
    for (const s of Object.values(deployments)) {
      expect(Object.keys(resources(s.template, 'AWS::Lambda::Function')).sort()).toEqual(FUNCTION_NAMES.map((n) => logicalIdOf(s.stack, s.stack.functions[n])).sort());
    }
    expect(cases.map(([key]) => key).filter((key) => !ran.has(key))).toEqual([]);
  });
});
