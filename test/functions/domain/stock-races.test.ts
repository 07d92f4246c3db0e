/**
 * Stock under real concurrency on one hot SKU, on the real engine: reservations, cancellations and payments race
 * operators' restocks (relative adjustments and version-checked PUTs), with DynamoDB's TransactionConflict injected
 * into a share of the transactions (the local engine never produces it). Nothing may be lost or invented:
 * initial + adjustments = available + reserved + sold, and reserved / sold are exactly what RESERVED / PAID orders hold.
 */
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderRepository } from '../../../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';
import { PreconditionError } from '../../../functions/domain/errors';
import { adjustStock, getStock, reserveOrder, setStock } from '../../../functions/domain/inventory';
import { cancelOrder, confirmPayment, placeOrder } from '../../../functions/domain/orders';
import { eventForStatus } from '../../../functions/domain/status-events';
import { transactionConflict } from '../../support/interleaving';
import { RecordingPublisher } from '../../support/recording-publisher';
import { service, uid, useLocalTables, world } from './fixtures';
import { seededRandom } from '../../../local/seeded-random';

const tables = useLocalTables();

/** A client that cancels a share of transactions with TransactionConflict, as concurrent ones would on AWS. */
function contended(client: DynamoDBDocumentClient, rate: number, seed: number): { client: DynamoDBDocumentClient; conflicts: () => number } {
  const next = seededRandom(seed);
  let conflicts = 0;
  const wrapped = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: unknown) => {
        if (command instanceof TransactWriteCommand && next() < rate) {
          conflicts++;
          return Promise.reject(transactionConflict(command.input.TransactItems!.length));
        }
        return target.send(command as never);
      };
    },
  });
  return { client: wrapped, conflicts: () => conflicts };
}

jest.setTimeout(120_000);

test('a restock racing 200 reservations (and cancels and payments) on one SKU loses nothing', async () => {
  const w = world(tables());
  const { client, conflicts } = contended(w.tables.client, 0.2, 42);
  const orders = new DynamoDbOrderRepository(client, w.tables.names.orders, w.tables.names.inventory, { attempts: 12, backoffMs: 2 });
  const stock = new DynamoDbStockRepository(client, w.tables.names.inventory, w.tables.names.idempotency, { attempts: 12, backoffMs: 2 });
  const events = new RecordingPublisher();
  const deps = { orders, events, clock: w.clock };
  const sku = uid('hot');
  const INITIAL = 100;
  await setStock(sku, { available: INITIAL }, undefined, stock);

  const placed = await Promise.all(
    Array.from({ length: 200 }, async () => (await placeOrder({ caller: service(), idempotencyKey: uid('k'), body: { customerId: 'c-hot', items: [{ sku, quantity: 1 }] }, correlationId: 'c' }, deps)).order),
  );
  let adjusted = 0;
  const restocks = Array.from({ length: 20 }, async (_, i) => {
    const key = `restock-${sku}-${i}`;
    await adjustStock({ caller: service(), sku, idempotencyKey: key, body: { delta: 10 } }, { stock, clock: w.clock });
    // A client retry of the same adjustment (its answer was lost) changes nothing.
    const { replayed } = await adjustStock({ caller: service(), sku, idempotencyKey: key, body: { delta: 10 } }, { stock, clock: w.clock });
    expect(replayed).toBe(true);
    adjusted += 10;
  });
  // An operator who replaces the level: read, write at that version, and on 412 read again.
  const replacements = Array.from({ length: 5 }, async () => {
    for (;;) {
      const level = await getStock(sku, stock);
      try {
        await setStock(sku, { available: level.available + 3 }, level.version, stock);
        adjusted += 3;
        return;
      } catch (error) {
        if (!(error instanceof PreconditionError)) throw error;
      }
    }
  });
  const flows = placed.map(async (order, i) => {
    const outcome = await reserveOrder(eventForStatus(order, w.clock.now())!.detail as never, { orders, clock: w.clock, paymentWindowSeconds: 900 });
    if (outcome.action !== 'reserved') return outcome.action;
    if (i % 3 === 0) await cancelOrder(order.orderId, service(), deps);
    if (i % 3 === 1) await confirmPayment(order.orderId, { paymentId: `pay-${i}` }, service(), deps);
    return outcome.action;
  });
  const outcomes = await Promise.all([...flows, ...restocks, ...replacements]);

  const final = (await w.stock.get(sku))!;
  const statuses = await Promise.all(placed.map(async (o) => (await w.orders.get(o.orderId))!.status));
  const count = (status: string) => statuses.filter((s) => s === status).length;
  expect(final.available).toBeGreaterThanOrEqual(0);
  expect(final.reserved).toBe(count('RESERVED'));
  expect(final.sold).toBe(count('PAID'));
  expect(final.available + final.reserved + final.sold).toBe(INITIAL + adjusted);
  expect(count('PENDING')).toBe(0);
  expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(count('RESERVED') + count('PAID') + count('CANCELLED'));
  // The contention was real: transactions were cancelled and retried.
  expect(conflicts()).toBeGreaterThan(20);
});
