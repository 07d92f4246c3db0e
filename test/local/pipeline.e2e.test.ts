/**
 * End to end through the local runtime: the synthesized stack (bundled functions, rules, queues with redrive,
 * the sweep state machine and its schedule) driven through the HTTP API and the AWS SDK only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { DescribeRuleCommand, EventBridgeClient, ListRulesCommand, PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { EVENT_CATALOGUE } from '../../functions/domain/events';
import { NOTIFICATIONS_TABLE } from '../../functions/adapters/table-schema';
import { CONSUMERS } from '../../lib/config';
import { LocalRuntime, startRuntime } from '../../local/runtime';
import { eventually } from '../support/eventually';
import { E2E_CONTEXT, e2eAssembly } from '../support/e2e-assembly';
import { call, request } from '../support/api-client';
import { checkedAnswers, checkedSummary, DOCUMENTED_OPERATIONS, violations } from '../support/api-contract';

jest.setTimeout(120_000);

/**
 * Fast enough for tests (a 61 s visibility timeout takes ~2 s, the 1 minute sweep schedule 2 s), slow enough that
 * a scaled visibility timeout still outlasts a real cold start, as it does by far on AWS.
 */
const TIME_SCALE = 30;
/** Long enough that no reservation of the other scenarios expires under them (a released unit could be re-reserved). */
const PAYMENT_WINDOW_SECONDS = Number(E2E_CONTEXT.paymentWindowSeconds);
/**
 * A mild fault profile (5%) of the kinds that leave what this suite counts unchanged: receives out of order or
 * short, slow cold starts, failed target deliveries (retried), failed or timed-out sweep tasks (retried by the
 * definition). Duplicates, lost PutEvents entries, throttles and crashes change exact counts (one event per status
 * change, one message in the DLQ); chaos.e2e.test.ts runs every kind, and `npm run test:faults` at 10%.
 */
const MILD_FAULTS = ['sqs.outOfOrder', 'sqs.shortReceive', 'lambda.coldStart', 'events.targetFailure', 'states.taskFailure', 'states.taskTimeout'] as const;
let assembly: string;

const work = mkdtempSync(path.join(tmpdir(), 'order-pipeline-e2e-'));
let runtime: LocalRuntime;
let api: string;
let sqs: SQSClient;
let ddb: DynamoDBDocumentClient;
const logLines: string[] = [];
let unpaidOrderId: string;
/** The fault test's switch: the next N invocations of the inventory consumer fail, as a crashing function does. */
let inventoryFailuresLeft = 0;
const injectedFailures: string[] = [];

function output(key: string): string {
  return runtime.outputs[runtime.stackName][key];
}

/** A request to the API; its answer is held to docs/openapi.json (test/support/api-client.ts). */
const http = (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => request(api, method, route, { body, headers });

let keySeq = 0;
async function placeOrder(customerId: string, items: { sku: string; quantity: number }[]) {
  const answer = await http('POST', '/orders', { customerId, items }, { 'idempotency-key': `e2e-${process.pid}-${++keySeq}` });
  expect(answer.status).toBe(201);
  return answer.body.orderId as string;
}

async function setStock(sku: string, available: number) {
  expect((await http('PUT', `/inventory/${sku}`, { available })).status).toBe(201);
}

async function stock(sku: string) {
  return (await http('GET', `/inventory/${sku}`)).body as { available: number; reserved: number; sold: number };
}

async function statusBecomes(orderId: string, status: string) {
  return eventually(async () => {
    const order = (await http('GET', `/orders/${orderId}`)).body;
    expect(order.status).toBe(status);
    return order;
  });
}

/** The logical id of the queue a consumer reads (its event source mapping's source), from the template. */
function consumerQueues(consumerId: string): { source: string; dlq: string } {
  const resources = runtime.template.Resources;
  const sourceId = Object.keys(resources).find((id) => resources[id].Type === 'AWS::SQS::Queue' && id.startsWith(`${consumerId}Queue`))!;
  const redrive = resources[sourceId].Properties!.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] } };
  return { source: runtime.names(sourceId), dlq: runtime.names(redrive.deadLetterTargetArn['Fn::GetAtt'][0]) };
}

const queueUrl = (name: string) => `${runtime.endpoints.aws}/000000000000/${name}`;

async function visibleMessages(name: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl(name), AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages);
}

function envelope(type: keyof typeof EVENT_CATALOGUE, detail: Record<string, unknown>) {
  return JSON.stringify({ version: '0', id: `e2e-${Math.random()}`, 'detail-type': type, source: EVENT_CATALOGUE[type].source, account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail });
}

beforeAll(async () => {
  runtime = await startRuntime({
    port: 0,
    awsPort: 0,
    inMemory: true,
    timeScale: TIME_SCALE,
    useAssembly: (assembly = await e2eAssembly()),
    outputsFile: path.join(work, 'outputs.json'),
    log: (line) => logLines.push(line),
    faults: { seed: 'pipeline', rules: MILD_FAULTS.map((kind) => ({ kind, rate: 0.05, ...(kind === 'lambda.coldStart' ? { latencyMs: 300 } : {}) })) },
    wrapInvoker: (fn) =>
      fn.name.startsWith('inventory')
        ? {
            name: fn.name,
            async invoke(event) {
              if (inventoryFailuresLeft > 0) {
                inventoryFailuresLeft--;
                injectedFailures.push(fn.name);
                return { ok: false, error: { errorType: 'Injected', errorMessage: 'injected consumer failure' }, durationMs: 0 };
              }
              return fn.invoke(event);
            },
          }
        : fn,
  });
  api = output('ApiUrl');
  const clientConfig = { endpoint: runtime.endpoints.aws, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  sqs = new SQSClient(clientConfig);
  ddb = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig));
  // Placed first: its payment window runs out while the other scenarios run.
  await setStock('e2e-unpaid', 2);
  unpaidOrderId = await placeOrder('c-unpaid', [{ sku: 'e2e-unpaid', quantity: 2 }]);
});

afterAll(async () => {
  sqs?.destroy();
  ddb?.destroy();
  await runtime?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the stack runs locally: outputs resolved, every queue and DLQ listed through the SDK', async () => {
  expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  expect(output('EventBusName')).toBeTruthy();
  const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
  const templateQueues = Object.entries(runtime.template.Resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue').map(([id]) => queueUrl(runtime.names(id)));
  expect(QueueUrls.sort()).toEqual(templateQueues.sort());
  // What cannot run locally is named at start (the alarm topic: alarms are not evaluated locally).
  // And each consumer's queue says that at this time scale its in-flight batches are held for the function's timeout.
  expect(runtime.warnings).toEqual([
    expect.stringMatching(/^not run locally: AWS::SNS::Topic/),
    ...Object.keys(CONSUMERS).map(() => expect.stringMatching(new RegExp(`at time scale ${TIME_SCALE} .* in-flight batches are held invisible`))),
  ]);
});

test('50 concurrent one-unit orders on a SKU with stock 10: exactly 10 reserved', async () => {
  await setStock('e2e-rush', 10);
  const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => placeOrder(`c-rush-${i}`, [{ sku: 'e2e-rush', quantity: 1 }])));
  const statuses = await eventually(async () => {
    const all = await Promise.all(ids.map(async (id) => (await http('GET', `/orders/${id}`)).body.status as string));
    expect(all.filter((s) => s === 'PENDING')).toHaveLength(0);
    return all;
  }, 60_000);
  expect(statuses.filter((s) => s === 'RESERVED')).toHaveLength(10);
  expect(statuses.filter((s) => s === 'REJECTED')).toHaveLength(40);
  const level = await stock('e2e-rush');
  expect(level).toMatchObject({ available: 0, reserved: 10 });
});

test('happy path: placed, reserved, paid; the units sold in the same write; every event relayed from the stream, the customer told', async () => {
  await setStock('e2e-happy', 5);
  const orderId = await placeOrder('c-happy', [{ sku: 'e2e-happy', quantity: 2 }]);
  const reserved = await statusBecomes(orderId, 'RESERVED');
  expect(reserved.paymentDeadline).toBeDefined();
  expect(await stock('e2e-happy')).toEqual({ sku: 'e2e-happy', available: 3, reserved: 2, sold: 0 });
  const paid = await http('POST', `/orders/${orderId}/payment`, { paymentId: 'pay-1' });
  expect(paid.status).toBe(200);
  expect(paid.body.status).toBe('PAID');
  expect(await stock('e2e-happy')).toEqual({ sku: 'e2e-happy', available: 3, reserved: 0, sold: 2 });
  const notificationsTable = runtime.names(Object.keys(runtime.template.Resources).find((id) => id.startsWith('TablesNotifications'))!);
  await eventually(async () => {
    const { Items = [] } = await ddb.send(
      new QueryCommand({ TableName: notificationsTable, KeyConditionExpression: '#pk = :o', ExpressionAttributeNames: { '#pk': NOTIFICATIONS_TABLE.partitionKey }, ExpressionAttributeValues: { ':o': orderId } }),
    );
    expect(Items.map((i) => i.eventType).sort()).toEqual(['InventoryReserved', 'OrderPaid']);
  });
  // The relay published each event once, from the orders table's stream.
  for (const type of ['OrderPlaced', 'InventoryReserved', 'OrderPaid']) {
    expect(logLines.filter((l) => l.includes(`event    ${type} order=${orderId}`))).toHaveLength(1);
  }
  expect(logLines.some((l) => /stream\s+EventRelay\S* <- \S*Orders\S* stream: \d+ record\(s\) success/.test(l))).toBe(true);
});

test('stock: PUT creates, replaces only with the ETag read (412 when stale, 428 without), adjustments add once per key', async () => {
  expect((await http('PUT', '/inventory/e2e-etag', { available: 5 })).status).toBe(201);
  const read = await http('GET', '/inventory/e2e-etag');
  const etag = read.headers.get('etag')!;
  expect(etag).toMatch(/^"\d+"$/);
  expect((await http('PUT', '/inventory/e2e-etag', { available: 9 })).status).toBe(428);
  const orderId = await placeOrder('c-etag', [{ sku: 'e2e-etag', quantity: 1 }]);
  await statusBecomes(orderId, 'RESERVED');
  // The reservation moved the version: the operator's replace at the old one is refused, nothing lost.
  const stale = await http('PUT', '/inventory/e2e-etag', { available: 9 }, { 'if-match': etag });
  expect(stale.status).toBe(412);
  expect(stale.headers.get('content-type')).toBe('application/problem+json');
  const fresh = await http('PUT', '/inventory/e2e-etag', { available: 9 }, { 'if-match': stale.headers.get('etag')! });
  expect(fresh).toMatchObject({ status: 200, body: { available: 9, reserved: 1, sold: 0 } });
  const adjust = () => http('POST', '/inventory/e2e-etag/adjustments', { delta: 50 }, { 'idempotency-key': 'e2e-adjust-1' });
  expect(await adjust()).toMatchObject({ status: 200, body: { available: 59, reserved: 1 } });
  const again = await adjust();
  expect(again).toMatchObject({ status: 200, body: { available: 59 } });
  expect(again.headers.get('idempotent-replayed')).toBe('true');
});

test('GET /openapi.json serves the committed document; a client typed by it (docs/openapi.d.ts) places and lists orders', async () => {
  const served = await call(api, 'get', '/openapi.json');
  expect(served).toEqual({ status: 200, body: JSON.parse(readFileSync(path.join(__dirname, '../../docs/openapi.json'), 'utf8')) });

  // README: typed client
  const placed = await call(api, 'post', '/orders', {
    headers: { 'Idempotency-Key': 'typed-1' },
    body: { customerId: 'c-typed', items: [{ sku: 'e2e-typed', quantity: 2 }] },
  });
  if (placed.status === 400) throw new Error(placed.body.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  if (placed.status !== 201) throw new Error(`the order was refused: ${placed.status}`);
  const page = await call(api, 'get', '/orders', { query: { customerId: 'c-typed', limit: 10 } });
  const orderIds = page.status === 200 ? page.body.items.map((order) => order.orderId) : [];
  // README: end

  expect(placed.body).toMatchObject({ customerId: 'c-typed', status: 'PENDING' });
  expect([page.status, orderIds]).toEqual([200, [placed.body.orderId]]);
});

test('out of stock: REJECTED with the stock intact', async () => {
  await setStock('e2e-scarce', 1);
  const orderId = await placeOrder('c-scarce', [{ sku: 'e2e-scarce', quantity: 2 }]);
  const order = await statusBecomes(orderId, 'REJECTED');
  expect(order.rejection).toEqual({ reason: 'OUT_OF_STOCK', sku: 'e2e-scarce' });
  expect(await stock('e2e-scarce')).toMatchObject({ available: 1, reserved: 0 });
});

test('a multi-line order whose last line fails takes nothing from any line', async () => {
  await setStock('e2e-a', 4);
  await setStock('e2e-b', 4);
  await setStock('e2e-c', 0);
  const orderId = await placeOrder('c-multi', [
    { sku: 'e2e-a', quantity: 1 },
    { sku: 'e2e-b', quantity: 3 },
    { sku: 'e2e-c', quantity: 1 },
  ]);
  expect((await statusBecomes(orderId, 'REJECTED')).rejection).toEqual({ reason: 'OUT_OF_STOCK', sku: 'e2e-c' });
  await eventually(async () => {
    expect(await stock('e2e-a')).toMatchObject({ available: 4, reserved: 0 });
    expect(await stock('e2e-b')).toMatchObject({ available: 4, reserved: 0 });
  });
});

test('cancel gives the stock back', async () => {
  await setStock('e2e-cancel', 3);
  const orderId = await placeOrder('c-cancel', [{ sku: 'e2e-cancel', quantity: 3 }]);
  await statusBecomes(orderId, 'RESERVED');
  const cancelled = await http('POST', `/orders/${orderId}/cancel`);
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.status).toBe('CANCELLED');
  // Given back in the same write as the cancel.
  expect(await stock('e2e-cancel')).toMatchObject({ available: 3, reserved: 0 });
  // A retried cancel answers the order as it is, and announces it again.
  const retried = await http('POST', `/orders/${orderId}/cancel`);
  expect(retried).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });
  expect(retried.headers.get('idempotent-replayed')).toBe('true');
  expect(await stock('e2e-cancel')).toMatchObject({ available: 3, reserved: 0 });
});

test('a poison message, and a malformed event put on the bus, reach the DLQ after maxReceiveCount while the rest succeeds; a redrive brings them back', async () => {
  const { source, dlq } = consumerQueues('inventory');
  await setStock('e2e-batch', 1);
  // A real order: the good message is (a duplicate of) its OrderPlaced, which the consumer handles successfully.
  const orderId = await placeOrder('c-batch', [{ sku: 'e2e-batch', quantity: 1 }]);
  const good = envelope('OrderPlaced', {
    eventId: `${orderId}:OrderPlaced`,
    orderId,
    customerId: 'c-batch',
    correlationId: 'batch',
    occurredAt: new Date().toISOString(),
    items: [{ sku: 'e2e-batch', quantity: 1 }],
  });
  const deadLettered: { messageId: string; receiveCount: number }[] = [];
  runtime.engines.queues.events.on('dead-lettered', (e: { queue: string; messageId: string; receiveCount: number }) => {
    if (e.queue === source) deadLettered.push(e);
  });
  // One SendMessageBatch: both are in the queue when the event source polls, so they arrive in one batch.
  const sent = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl(source),
      Entries: [
        { Id: 'poison', MessageBody: '{"detail-type": "OrderPlaced", "not": "an event"' },
        { Id: 'good', MessageBody: good },
      ],
    }),
  );
  // Routed by its source and detail-type to the same queue, where it fails the catalogue (items must be lines).
  const events = new EventBridgeClient({ endpoint: runtime.endpoints.aws, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    const malformed = { eventId: `${orderId}:OrderPlaced`, orderId, customerId: 'c-batch', correlationId: 'batch', occurredAt: new Date().toISOString(), items: 'e2e-batch' };
    const put = await events.send(
      new PutEventsCommand({ Entries: [{ EventBusName: output('EventBusName'), Source: EVENT_CATALOGUE.OrderPlaced.source, DetailType: 'OrderPlaced', Detail: JSON.stringify(malformed) }] }),
    );
    expect(put.FailedEntryCount).toBe(0);
  } finally {
    events.destroy();
  }
  const poisonId = sent.Successful!.find((e) => e.Id === 'poison')!.MessageId!;
  await eventually(async () => expect(await stock('e2e-batch')).toMatchObject({ available: 0, reserved: 1 }));
  // A partial batch: the good message done, the poison (and the malformed event, when it shares the batch) failed.
  await eventually(async () => expect(logLines.some((l) => l.includes(`<- ${source}: `) && /partial failed=[12]\b/.test(l))).toBe(true));
  await eventually(async () => expect(await visibleMessages(dlq)).toBe(2), 30_000);
  const { maxReceiveCount } = CONSUMERS.inventory;
  expect(deadLettered).toHaveLength(2);
  expect(deadLettered).toContainEqual({ type: 'dead-lettered', queue: source, deadLetterQueue: dlq, messageId: poisonId, receiveCount: maxReceiveCount });
  expect(deadLettered.every((e) => e.receiveCount === maxReceiveCount)).toBe(true);
  // Neither touched the order or its stock.
  expect(await stock('e2e-batch')).toMatchObject({ available: 0, reserved: 1 });

  const dlqArn = `arn:aws:sqs:us-east-1:000000000000:${dlq}`;
  await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
  await eventually(async () => {
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
    expect(Results[0]).toMatchObject({ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 2 });
  });
  // Back in their source queue (they would dead-letter again after maxReceiveCount receives: still poison).
  expect(await visibleMessages(dlq)).toBe(0);
  expect(deadLettered).toHaveLength(2);
});

test('a duplicate delivery gives one reservation and one notification', async () => {
  await setStock('e2e-dup', 5);
  const orderId = await placeOrder('c-dup', [{ sku: 'e2e-dup', quantity: 2 }]);
  await statusBecomes(orderId, 'RESERVED');
  const { source } = consumerQueues('inventory');
  const replay = envelope('OrderPlaced', {
    eventId: `${orderId}:OrderPlaced`,
    orderId,
    customerId: 'c-dup',
    correlationId: 'dup',
    occurredAt: new Date().toISOString(),
    items: [{ sku: 'e2e-dup', quantity: 2 }],
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(source), MessageBody: replay }));
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(source), MessageBody: replay }));
  const notificationsTable = runtime.names(Object.keys(runtime.template.Resources).find((id) => id.startsWith('TablesNotifications'))!);
  await eventually(async () => {
    const { Items = [] } = await ddb.send(
      new QueryCommand({ TableName: notificationsTable, KeyConditionExpression: '#pk = :o', ExpressionAttributeNames: { '#pk': NOTIFICATIONS_TABLE.partitionKey }, ExpressionAttributeValues: { ':o': orderId } }),
    );
    expect(Items.map((i) => i.eventType)).toEqual(['InventoryReserved']);
    expect(await visibleMessages(source)).toBe(0);
  });
  // Give the duplicates time to be processed, then check nothing was taken twice.
  await new Promise((r) => setTimeout(r, 1500));
  expect(await stock('e2e-dup')).toMatchObject({ available: 3, reserved: 2 });
});

test('an unpaid order (placed at the start) is cancelled by the scheduled sweep after paymentWindowSeconds, and its stock released', async () => {
  await statusBecomes(unpaidOrderId, 'RESERVED').catch(() => undefined);
  const order = await eventually(async () => {
    const o = (await http('GET', `/orders/${unpaidOrderId}`)).body;
    expect(o.status).toBe('CANCELLED');
    return o;
  }, PAYMENT_WINDOW_SECONDS * 1000 + 30_000);
  expect(order.cancellation).toEqual({ reason: 'PAYMENT_TIMEOUT' });
  expect(Date.parse(order.statusChangedAt) - Date.parse(order.paymentDeadline)).toBeGreaterThanOrEqual(0);
  await eventually(async () => expect(await stock('e2e-unpaid')).toMatchObject({ available: 2, reserved: 0 }));
  expect(logLines.some((l) => /sfn .*SUCCEEDED/.test(l))).toBe(true);
});

test('a restart on the same data directory loses nothing: tables and queued messages', async () => {
  const dataDir = path.join(work, 'data');
  const start = () =>
    startRuntime({ port: 0, awsPort: 0, dataDir, timeScale: TIME_SCALE, useAssembly: assembly, outputsFile: path.join(work, 'restart-outputs.json'), log: () => undefined });
  let first: LocalRuntime | undefined = await start();
  let second: LocalRuntime | undefined;
  try {
    const base = first.outputs[first.stackName].ApiUrl;
    const send = (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => request(base, method, route, { body, headers });
    expect((await send('PUT', 'inventory/e2e-restart', { available: 4 })).status).toBe(201);
    const placed = await send('POST', 'orders', { customerId: 'c-restart', items: [{ sku: 'e2e-restart', quantity: 1 }] }, { 'idempotency-key': 'restart-1' });
    expect(placed.status).toBe(201);
    await eventually(async () => expect((await send('GET', `orders/${placed.body.orderId}`)).body.status).toBe('RESERVED'));
    const { dlq } = consumerQueues('notification');
    const dlqUrl = `${first.endpoints.aws}/000000000000/${dlq}`;
    const firstSqs = new SQSClient({ endpoint: first.endpoints.aws, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await firstSqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: 'kept across restarts' }));
    firstSqs.destroy();
    await first.stop();
    first = undefined;

    second = await start();
    const base2 = second.outputs[second.stackName].ApiUrl;
    const order = (await request(base2, 'GET', `orders/${placed.body.orderId}`)).body;
    expect(order).toMatchObject({ orderId: placed.body.orderId, status: 'RESERVED' });
    expect((await request(base2, 'GET', 'inventory/e2e-restart')).body).toMatchObject({ available: 3, reserved: 1 });
    // The relay's stream position survived too: the events of before the restart are not published again.
    const payment = await request(base2, 'POST', `orders/${placed.body.orderId}/payment`, { body: { paymentId: 'p-restart' } });
    expect(payment.status).toBe(200);
    const secondSqs = new SQSClient({ endpoint: second.endpoints.aws, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const { Attributes } = await secondSqs.send(new GetQueueAttributesCommand({ QueueUrl: `${second.endpoints.aws}/000000000000/${dlq}`, AttributeNames: ['ApproximateNumberOfMessages'] }));
    secondSqs.destroy();
    expect(Attributes?.ApproximateNumberOfMessages).toBe('1');
  } finally {
    await first?.stop();
    await second?.stop();
  }
});

test('fault injection through the invoker seam: the inventory consumer failing twice is retried from its queue, and the order still settles', async () => {
  await setStock('e2e-faulty', 1);
  inventoryFailuresLeft = 2;
  const orderId = await placeOrder('c-faulty', [{ sku: 'e2e-faulty', quantity: 1 }]);
  await statusBecomes(orderId, 'RESERVED');
  expect(injectedFailures).toHaveLength(2);
  expect(injectedFailures.every((name) => name.startsWith('inventory'))).toBe(true);
});

describe('the AWS endpoint speaks EventBridge and Step Functions to the unchanged SDK', () => {
  const config = () => ({ endpoint: runtime.endpoints.aws, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

  test('EventBridge: PutEvents answers per entry, TestEventPattern, ListRules and DescribeRule; errors carry AWS names', async () => {
    const events = new EventBridgeClient(config());
    try {
      const bus = output('EventBusName');
      const put = await events.send(
        new PutEventsCommand({
          Entries: [
            { EventBusName: bus, Source: 'e2e.test', DetailType: 'Unrouted', Detail: '{"ok": true}' },
            { EventBusName: bus, Source: 'e2e.test', DetailType: 'Broken', Detail: 'not json' },
            { EventBusName: 'no-such-bus', Source: 'e2e.test', DetailType: 'Lost', Detail: '{}' },
          ],
        }),
      );
      expect(put.FailedEntryCount).toBe(2);
      expect(put.Entries![0].EventId).toBeDefined();
      expect(put.Entries![1]).toMatchObject({ ErrorCode: 'MalformedDetail' });
      expect(put.Entries![2].ErrorCode).toBeDefined();

      const { Rules = [] } = await events.send(new ListRulesCommand({ EventBusName: bus }));
      const templateRules = Object.entries(runtime.template.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule').map(([id]) => runtime.names(id));
      expect(Rules.map((r) => r.Name).sort()).toEqual(templateRules.sort());
      const described = await events.send(new DescribeRuleCommand({ Name: Rules[0].Name, EventBusName: bus }));
      expect(JSON.parse(described.EventPattern!)).toEqual(JSON.parse(Rules[0].EventPattern!));
      await expect(events.send(new DescribeRuleCommand({ Name: 'missing', EventBusName: bus }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

      const event = JSON.stringify({ id: '1', account: '000000000000', source: EVENT_CATALOGUE.OrderPlaced.source, time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], 'detail-type': 'OrderPlaced', detail: {} });
      expect((await events.send(new TestEventPatternCommand({ EventPattern: described.EventPattern!, Event: event }))).Result).toBe(described.Name!.startsWith('inventory'));
      await expect(events.send(new TestEventPatternCommand({ EventPattern: '{"source": "not-a-list"}', Event: event }))).rejects.toMatchObject({ name: 'InvalidEventPatternException' });
    } finally {
      events.destroy();
    }
  });

  test('Step Functions: StartExecution of the sweep, DescribeExecution to its summary, ListExecutions; unknown ARNs named as AWS does', async () => {
    const sfn = new SFNClient(config());
    try {
      const stateMachineArn = output('SweepStateMachineArn');
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'manual-sweep', input: '{}' }));
      const done = await eventually(async () => {
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        expect(d.status).toBe('SUCCEEDED');
        return d;
      });
      expect(JSON.parse(done.output!)).toMatchObject({ failed: 0, found: { republish: expect.any(Number), expire: expect.any(Number) } });
      const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
      expect(executions.map((e) => e.name)).toContain('manual-sweep');
      await expect(sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'manual-sweep' }))).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
      await expect(sfn.send(new DescribeExecutionCommand({ executionArn: `${executionArn}-missing` }))).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
      await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: `${stateMachineArn}-missing` }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    } finally {
      sfn.destroy();
    }
  });
});

test('the suite ran under its mild fault profile: every injected fault counted by the runtime and logged', () => {
  const counts = runtime.faults.counts();
  console.log(`pipeline e2e faults: ${JSON.stringify(counts.byKind)} of ${JSON.stringify(counts.calls)} calls`);
  expect(counts.total).toBeGreaterThan(0);
  expect(Object.keys(counts.byKind).every((kind) => (MILD_FAULTS as readonly string[]).includes(kind))).toBe(true);
  expect(logLines.filter((l) => / fault {4}/.test(l))).toHaveLength(counts.total);
});

test('every answer this suite received is one docs/openapi.json describes, and every documented operation answered', () => {
  console.log(checkedSummary('pipeline e2e'));
  // Also the violations a retry loop (eventually) swallowed.
  expect(violations).toEqual([]);
  const checked = checkedAnswers();
  expect(DOCUMENTED_OPERATIONS.filter((operation) => !checked[operation])).toEqual([]);
});
