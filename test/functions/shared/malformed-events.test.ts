/**
 * Malformed events on each consumer queue (CONSUMERS in lib/config.ts), through the real handlers over DynamoDB
 * Local: a batch mixing good and malformed messages; the good ones take effect; every malformed one is a batch item
 * failure on each of its maxReceiveCount receives (then SQS dead-letters it), logged once per receive, with no AWS call
 * and no effect on state. The malformed ones aim at a real order (the victim): accepting one would show in the tables.
 */
import { envelope, envelopeOf, lambdaContext, setPipelineEnv, sqsEvent, sqsRecord } from './fixtures';

import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { CONSUMERS, ConsumerName } from '../../../lib/config';
import { EVENT_CATALOGUE, EVENT_SOURCES, EVENT_TYPES, EventType } from '../../../functions/domain/events';
import { ORDER_LIMITS } from '../../../functions/domain/order';
import { dynamo } from '../../../functions/adapters/clients';
import { DynamoDbOrderRepository } from '../../../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';
import { logger } from '../../../functions/shared/observability';
import { handler as inventoryHandler } from '../../../functions/inventory/handler';
import { handler as notificationHandler } from '../../../functions/notification/handler';
import { LocalTables } from '../../support/local-tables';
import { storedOrder, useLocalTables } from '../domain/fixtures';

type ConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Each consumer's handler: a consumer added to CONSUMERS without one here does not compile. */
const HANDLERS: Record<ConsumerName, ConsumerHandler> = {
  inventory: inventoryHandler as unknown as ConsumerHandler,
  notification: notificationHandler as unknown as ConsumerHandler,
};

const tables = useLocalTables();
const SKU = 'ev-apple';
const ITEMS = [{ sku: SKU, quantity: 1 }];

/** Every AWS call the handlers' shared DynamoDB client makes. */
const calls: string[] = [];

beforeAll(async () => {
  const t = tables();
  setPipelineEnv({ ordersTable: t.names.orders, inventoryTable: t.names.inventory, idempotencyTable: t.names.idempotency, notificationsTable: t.names.notifications, notificationChannel: 'table' });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  dynamo().middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  await new DynamoDbStockRepository(t.client, t.names.inventory, t.names.idempotency).set(SKU, 10);
});

afterAll(() => {
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
});

async function contents(t: LocalTables): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of Object.values(t.names)) {
    const { Items = [] } = await t.raw.send(new ScanCommand({ TableName: name, ConsistentRead: true }));
    out[name] = Items.map((item) => JSON.stringify(item)).sort();
  }
  return out;
}

/** What each consumer is given and must do: orders to act on, a good event for one, and how to see it took effect. */
interface Scenario {
  /** A valid message of a type the consumer takes, for the order. */
  good(orderId: string): ReturnType<typeof envelope>;
  tookEffect(t: LocalTables, orderIds: string[]): Promise<void>;
}

const orderStatus = async (t: LocalTables, orderId: string) => (await new DynamoDbOrderRepository(t.client, t.names.orders, t.names.inventory).get(orderId))?.status;

const SCENARIOS: Record<ConsumerName, Scenario> = {
  inventory: {
    good: (orderId) => envelope('OrderPlaced', orderId, { items: ITEMS }),
    async tookEffect(t, orderIds) {
      for (const orderId of orderIds) expect(await orderStatus(t, orderId)).toBe('RESERVED');
    },
  },
  notification: {
    good: (orderId) => envelope('InventoryReserved', orderId, { items: ITEMS }),
    async tookEffect(t, orderIds) {
      const { Items = [] } = await t.raw.send(new ScanCommand({ TableName: t.names.notifications, ConsistentRead: true }));
      const notified = Items.map((item) => item.orderId.S);
      for (const orderId of orderIds) expect(notified).toContain(orderId);
    },
  },
};

/**
 * Every way a message may be malformed, derived from a valid one of the consumer's types and the catalogue; each
 * names the victim order.
 */
function malformed(consumer: ConsumerName, victim: string): [string, string][] {
  const sample = SCENARIOS[consumer].good(victim);
  const { consumes } = CONSUMERS[consumer];
  const type = sample['detail-type'] as EventType;
  const detail = sample.detail as Record<string, unknown>;
  const text = JSON.stringify(sample);
  const notHere = EVENT_TYPES.find((t) => !consumes.includes(t as never))!;
  const otherSource = Object.values(EVENT_SOURCES).find((s) => s !== EVENT_CATALOGUE[type].source)!;
  const { orderId: _orderId, ...withoutOrderId } = detail;
  const cases: [string, unknown][] = [
    ['not JSON', text.slice(0, text.length - 9)],
    ['JSON, not an object', '[1,2,3]'],
    ['null', 'null'],
    ['an unknown detail-type', { ...sample, 'detail-type': 'OrderShipped' }],
    [`a type this consumer does not take (${notHere})`, envelopeOf(notHere, detail)],
    ['its type from the wrong source', { ...sample, source: otherSource }],
    ['no detail', { ...sample, detail: undefined }],
    ['a detail without orderId', { ...sample, detail: withoutOrderId }],
    ['an ill-typed orderId', { ...sample, detail: { ...detail, orderId: 42 } }],
    ['ill-typed items', { ...sample, detail: { ...detail, items: 'apple' } }],
    ['a quantity as a string', { ...sample, detail: { ...detail, items: [{ sku: SKU, quantity: '1' }] } }],
    ['an orderId over the key size', { ...sample, detail: { ...detail, orderId: `${victim}${'o'.repeat(3000)}` } }],
    ['more lines than an order may hold', { ...sample, detail: { ...detail, items: Array.from({ length: ORDER_LIMITS.lines.max + 1 }, (_, i) => ({ sku: `${SKU}-${i}`, quantity: 1 })) } }],
    // SQS takes up to 256 KiB.
    ['a 200 KB customerId', { ...sample, detail: { ...detail, customerId: 'c'.repeat(200_000) } }],
  ];
  return cases.map(([name, body]) => [name, typeof body === 'string' ? body : JSON.stringify(body)]);
}

describe.each(Object.keys(CONSUMERS) as ConsumerName[])('the %s queue', (consumer) => {
  test('malformed messages fail alone on every receive up to maxReceiveCount, cost no AWS call, leave state alone; the good ones take effect once', async () => {
    const t = tables();
    const orders = new DynamoDbOrderRepository(t.client, t.names.orders, t.names.inventory);
    const [victim, ...good] = [`${consumer}-victim`, `${consumer}-good-1`, `${consumer}-good-2`];
    for (const orderId of [victim, ...good]) await orders.create(storedOrder({ orderId, customerId: 'cust-1', items: ITEMS }));
    const bad = malformed(consumer, victim).map(([name, body], i) => ({ name, record: sqsRecord(body, `bad-${i}`) }));
    const goodRecords = good.map((orderId) => sqsRecord(SCENARIOS[consumer].good(orderId), `good-${orderId}`));
    // Interleaved: a good record between malformed ones.
    const batch = [bad[0].record, goodRecords[0], ...bad.slice(1).map((b) => b.record), goodRecords[1]];
    const receive = (records: SQSRecord[], attempt: number) =>
      HANDLERS[consumer](sqsEvent(...records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: String(attempt) } }))), lambdaContext(consumer));
    const errors = jest.spyOn(logger, 'error');
    try {
      const before = await contents(t);
      const first = await receive(batch, 1);
      expect(first.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(bad.map((b) => b.record.messageId).sort());
      await SCENARIOS[consumer].tookEffect(t, good);
      expect(await orderStatus(t, victim)).toBe('PENDING');
      const afterGood = await contents(t);
      expect(afterGood).not.toEqual(before);

      // SQS deletes the good ones and redelivers the failed ones after their visibility timeout, up to maxReceiveCount.
      const { maxReceiveCount } = CONSUMERS[consumer];
      errors.mockClear();
      for (let attempt = 2; attempt <= maxReceiveCount; attempt++) {
        calls.length = 0;
        const again = await receive(bad.map((b) => b.record), attempt);
        expect(again.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(bad.map((b) => b.record.messageId).sort());
        expect(calls).toEqual([]);
      }
      // One line per malformed message per receive, saying it goes to the DLQ, with the reason.
      const logged = errors.mock.calls.map(([message, extra]) => [message, (extra as { messageId?: string }).messageId]);
      expect(logged).toHaveLength(bad.length * (maxReceiveCount - 1));
      expect(new Set(logged.map(([message]) => message))).toEqual(new Set(['malformed event: it will reach the DLQ after its retries']));
      for (const { record } of bad) expect(logged.filter(([, id]) => id === record.messageId)).toHaveLength(maxReceiveCount - 1);
      expect(await contents(t)).toEqual(afterGood);
    } finally {
      errors.mockRestore();
    }
  });
});
