import { NotFoundError, ValidationError } from '../../../functions/domain/errors';
import { EventDetail, PipelineEvent, buildEvent } from '../../../functions/domain/events';
import { InventoryDeps, getStock, handleInventoryEvent, reserveOrder, setStock } from '../../../functions/domain/inventory';
import { OrderLine, OrderStatus } from '../../../functions/domain/order';
import { placeOrder } from '../../../functions/domain/orders';
import { rejection, service, storedOrder, T0, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();

function deps(w: World): InventoryDeps {
  return { stock: w.stock, events: w.events, orders: w.orders, clock: w.clock };
}

const now = new Date(T0);

function placedEvent(orderId: string, items: OrderLine[]): EventDetail<'OrderPlaced'> {
  return buildEvent('OrderPlaced', { orderId, customerId: 'c-inv', correlationId: 'corr-inv', items }, now).detail;
}

function event(type: 'OrderCancelled' | 'ReservationOrphaned' | 'OrderPaid', orderId: string, items: OrderLine[]): PipelineEvent {
  const base = { orderId, customerId: 'c-inv', correlationId: 'corr-inv', items };
  if (type === 'OrderCancelled') return buildEvent(type, { ...base, reason: 'CUSTOMER' }, now);
  if (type === 'OrderPaid') return buildEvent(type, { ...base, paymentId: 'pay-1' }, now);
  return buildEvent(type, base, now);
}

/** Distinct SKUs stocked for this test, so tests never share stock. */
async function stocked(w: World, ...available: number[]): Promise<string[]> {
  const skus = available.map(() => uid('sku'));
  await Promise.all(skus.map((sku, i) => w.stock.set(sku, available[i]!)));
  return skus;
}

async function levels(w: World, skus: string[]) {
  return Promise.all(skus.map(async (sku) => {
    const level = await w.stock.get(sku);
    return level && { available: level.available, reserved: level.reserved };
  }));
}

/** A stored PENDING order, placed through the API use case. */
async function pendingOrder(w: World, items: OrderLine[]): Promise<string> {
  const { order } = await placeOrder(
    { caller: service(), idempotencyKey: uid('key'), body: { customerId: 'c-inv', items }, correlationId: 'corr-inv', remainingMs: 0 },
    { orders: w.orders, events: w.events, clock: w.clock },
  );
  w.events.published.length = 0;
  return order.orderId;
}

describe('reserveOrder', () => {
  test('takes every line and publishes InventoryReserved', async () => {
    const w = world(tables());
    const [a, b] = await stocked(w, 10, 5);
    const items = [{ sku: a!, quantity: 3 }, { sku: b!, quantity: 5 }];
    const orderId = await pendingOrder(w, items);

    const outcome = await reserveOrder(placedEvent(orderId, items), deps(w));

    expect(outcome).toEqual({ action: 'reserved' });
    expect(await levels(w, [a!, b!])).toEqual([{ available: 7, reserved: 3 }, { available: 0, reserved: 5 }]);
    expect(w.events.published).toEqual([
      {
        type: 'InventoryReserved',
        detail: { eventId: `${orderId}:InventoryReserved`, orderId, customerId: 'c-inv', correlationId: 'corr-inv', occurredAt: T0, items },
      },
    ]);
  });

  test('a later line out of stock: earlier lines are given back exactly, InventoryRejected OUT_OF_STOCK names the sku', async () => {
    const w = world(tables());
    const [a, b, c] = await stocked(w, 5, 7, 1);
    const items = [{ sku: a!, quantity: 2 }, { sku: b!, quantity: 7 }, { sku: c!, quantity: 2 }];
    const orderId = await pendingOrder(w, items);

    const outcome = await reserveOrder(placedEvent(orderId, items), deps(w));

    expect(outcome).toEqual({ action: 'rejected', reason: 'OUT_OF_STOCK', sku: c, givenBack: 2 });
    expect(await levels(w, [a!, b!, c!])).toEqual([{ available: 5, reserved: 0 }, { available: 7, reserved: 0 }, { available: 1, reserved: 0 }]);
    expect(w.events.published).toEqual([
      {
        type: 'InventoryRejected',
        detail: { eventId: `${orderId}:InventoryRejected`, orderId, customerId: 'c-inv', correlationId: 'corr-inv', occurredAt: T0, reason: 'OUT_OF_STOCK', sku: c },
      },
    ]);
  });

  test('an unknown sku -> InventoryRejected UNKNOWN_SKU, the earlier line given back, no stock item invented', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 4);
    const ghost = uid('ghost-sku');
    const items = [{ sku: a!, quantity: 4 }, { sku: ghost, quantity: 1 }];

    const outcome = await reserveOrder(placedEvent(uid('ord'), items), deps(w));

    expect(outcome).toEqual({ action: 'rejected', reason: 'UNKNOWN_SKU', sku: ghost, givenBack: 1 });
    expect(await levels(w, [a!])).toEqual([{ available: 4, reserved: 0 }]);
    expect(await w.stock.get(ghost)).toBeUndefined();
    expect(w.events.published.map((e) => [e.type, 'reason' in e.detail && e.detail.reason])).toEqual([['InventoryRejected', 'UNKNOWN_SKU']]);
  });

  test('the first line out of stock: nothing to give back', async () => {
    const w = world(tables());
    const [a, b] = await stocked(w, 0, 9);
    const items = [{ sku: a!, quantity: 1 }, { sku: b!, quantity: 1 }];
    expect(await reserveOrder(placedEvent(uid('ord'), items), deps(w))).toEqual({ action: 'rejected', reason: 'OUT_OF_STOCK', sku: a, givenBack: 0 });
    expect(await levels(w, [a!, b!])).toEqual([{ available: 0, reserved: 0 }, { available: 9, reserved: 0 }]);
  });

  test('re-running the same OrderPlaced after success takes nothing more and re-emits the same InventoryReserved', async () => {
    const w = world(tables());
    const [a, b] = await stocked(w, 3, 3);
    const items = [{ sku: a!, quantity: 2 }, { sku: b!, quantity: 1 }];
    const orderId = await pendingOrder(w, items);
    const detail = placedEvent(orderId, items);

    await reserveOrder(detail, deps(w));
    w.clock.advance(1000);
    const again = await reserveOrder(detail, deps(w));

    expect(again).toEqual({ action: 'reserved' });
    expect(await levels(w, [a!, b!])).toEqual([{ available: 1, reserved: 2 }, { available: 2, reserved: 1 }]);
    expect(w.events.types()).toEqual(['InventoryReserved', 'InventoryReserved']);
    expect(w.events.published[1]!.detail.eventId).toBe(w.events.published[0]!.detail.eventId);
    expect(w.events.published[1]!.detail.eventId).toBe(`${orderId}:InventoryReserved`);
  });

  test('a re-run that finds a later line out of stock gives back the lines the first run took too', async () => {
    const w = world(tables());
    const [a, b] = await stocked(w, 5, 5);
    const items = [{ sku: a!, quantity: 2 }, { sku: b!, quantity: 2 }];
    const orderId = uid('ord');
    // The first run took the first line only, then stopped (a crash); meanwhile the second SKU sold out.
    expect(await w.stock.reserve(a!, orderId, 2)).toBe('reserved');
    await w.stock.set(b!, 1);

    const outcome = await reserveOrder(placedEvent(orderId, items), deps(w));

    expect(outcome).toEqual({ action: 'rejected', reason: 'OUT_OF_STOCK', sku: b, givenBack: 1 });
    expect(await levels(w, [a!, b!])).toEqual([{ available: 5, reserved: 0 }, { available: 1, reserved: 0 }]);
  });

  test.each<OrderStatus>(['CANCELLED', 'RESERVED', 'PAID', 'REJECTED'])('an order already %s is skipped: nothing taken, nothing published', async (status) => {
    const w = world(tables());
    const [a] = await stocked(w, 5);
    const items = [{ sku: a!, quantity: 1 }];
    const order = storedOrder({ status, items });
    await w.orders.create(order);

    expect(await reserveOrder(placedEvent(order.orderId, items), deps(w))).toEqual({ action: 'skipped', status });
    expect(await levels(w, [a!])).toEqual([{ available: 5, reserved: 0 }]);
    expect(w.events.published).toEqual([]);
  });

  test('an order the sweep flagged NEEDS_ATTENTION is still reserved', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 5);
    const items = [{ sku: a!, quantity: 1 }];
    const order = storedOrder({ status: 'NEEDS_ATTENTION', items });
    await w.orders.create(order);
    expect(await reserveOrder(placedEvent(order.orderId, items), deps(w))).toEqual({ action: 'reserved' });
    expect(await levels(w, [a!])).toEqual([{ available: 4, reserved: 1 }]);
  });

  test('50 concurrent one-unit orders on stock 10: exactly 10 reserved, 40 rejected, none oversold', async () => {
    const w = world(tables());
    const [sku] = await stocked(w, 10);
    const items = [{ sku: sku!, quantity: 1 }];

    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => reserveOrder(placedEvent(`ord_conc_${i}`, items), deps(w))));

    expect(outcomes.filter((o) => o.action === 'reserved')).toHaveLength(10);
    expect(outcomes.filter((o) => o.action === 'rejected')).toHaveLength(40);
    expect(w.events.types().filter((t) => t === 'InventoryReserved')).toHaveLength(10);
    const rejected = w.events.published.filter((e) => e.type === 'InventoryRejected');
    expect(rejected).toHaveLength(40);
    expect(rejected.every((e) => e.type === 'InventoryRejected' && e.detail.reason === 'OUT_OF_STOCK' && e.detail.sku === sku)).toBe(true);
    expect(new Set(w.events.published.map((e) => e.detail.orderId)).size).toBe(50);
    expect(await levels(w, [sku!])).toEqual([{ available: 0, reserved: 10 }]);
  });
});

describe('handleInventoryEvent', () => {
  test('OrderPlaced reserves', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 2);
    const items = [{ sku: a!, quantity: 2 }];
    expect(await handleInventoryEvent({ type: 'OrderPlaced', detail: placedEvent(uid('ord'), items) }, deps(w))).toEqual({ action: 'reserved' });
    expect(await levels(w, [a!])).toEqual([{ available: 0, reserved: 2 }]);
  });

  test('OrderCancelled after a reservation releases exactly once, however often it is delivered', async () => {
    const w = world(tables());
    const [a, b] = await stocked(w, 10, 10);
    const items = [{ sku: a!, quantity: 4 }, { sku: b!, quantity: 6 }];
    const orderId = uid('ord');
    await reserveOrder(placedEvent(orderId, items), deps(w));
    expect(await levels(w, [a!, b!])).toEqual([{ available: 6, reserved: 4 }, { available: 4, reserved: 6 }]);

    const cancelled = event('OrderCancelled', orderId, items);
    expect(await handleInventoryEvent(cancelled, deps(w))).toEqual({ action: 'released', lines: 2 });
    expect(await handleInventoryEvent(cancelled, deps(w))).toEqual({ action: 'released', lines: 0 });

    expect(await levels(w, [a!, b!])).toEqual([{ available: 10, reserved: 0 }, { available: 10, reserved: 0 }]);
  });

  test('OrderCancelled and ReservationOrphaned for the same order release once between them', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 3);
    const items = [{ sku: a!, quantity: 3 }];
    const orderId = uid('ord');
    await reserveOrder(placedEvent(orderId, items), deps(w));

    expect(await handleInventoryEvent(event('ReservationOrphaned', orderId, items), deps(w))).toEqual({ action: 'released', lines: 1 });
    expect(await handleInventoryEvent(event('OrderCancelled', orderId, items), deps(w))).toEqual({ action: 'released', lines: 0 });
    expect(await levels(w, [a!])).toEqual([{ available: 3, reserved: 0 }]);
  });

  test('OrderCancelled for an order that never reserved releases nothing', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 3);
    expect(await handleInventoryEvent(event('OrderCancelled', uid('ord'), [{ sku: a!, quantity: 1 }]), deps(w))).toEqual({ action: 'released', lines: 0 });
    expect(await levels(w, [a!])).toEqual([{ available: 3, reserved: 0 }]);
  });

  test('OrderPaid settles: reserved goes down, available stays; a later cancel gives nothing back', async () => {
    const w = world(tables());
    const [a, b] = await stocked(w, 10, 4);
    const items = [{ sku: a!, quantity: 3 }, { sku: b!, quantity: 4 }];
    const orderId = uid('ord');
    await reserveOrder(placedEvent(orderId, items), deps(w));

    const paid = event('OrderPaid', orderId, items);
    expect(await handleInventoryEvent(paid, deps(w))).toEqual({ action: 'settled', lines: 2 });
    expect(await handleInventoryEvent(paid, deps(w))).toEqual({ action: 'settled', lines: 0 });
    expect(await levels(w, [a!, b!])).toEqual([{ available: 7, reserved: 0 }, { available: 0, reserved: 0 }]);

    expect(await handleInventoryEvent(event('OrderCancelled', orderId, items), deps(w))).toEqual({ action: 'released', lines: 0 });
    expect(await levels(w, [a!, b!])).toEqual([{ available: 7, reserved: 0 }, { available: 0, reserved: 0 }]);
  });

  test('events inventory does not handle are refused', async () => {
    const w = world(tables());
    const reserved = buildEvent('InventoryReserved', { orderId: 'o', customerId: 'c', correlationId: 'x', items: [{ sku: 's', quantity: 1 }] }, now);
    await expect(handleInventoryEvent(reserved, deps(w))).rejects.toThrow('inventory does not handle InventoryReserved');
  });
});

describe('setStock / getStock', () => {
  test('sets and reads a level; re-setting keeps what is reserved', async () => {
    const w = world(tables());
    const sku = uid('sku');
    expect(await setStock(sku, { available: 8 }, w.stock)).toEqual({ sku, available: 8, reserved: 0 });
    await reserveOrder(placedEvent(uid('ord'), [{ sku, quantity: 3 }]), deps(w));

    expect(await setStock(sku, { available: 20 }, w.stock)).toEqual({ sku, available: 20, reserved: 3 });
    expect(await getStock(sku, w.stock)).toEqual({ sku, available: 20, reserved: 3 });
  });

  test.each([0, 1_000_000_000])('available %s (a bound) is accepted', async (available) => {
    const w = world(tables());
    const sku = uid('sku');
    expect(await setStock(sku, { available }, w.stock)).toEqual({ sku, available, reserved: 0 });
  });

  test.each([
    ['negative', { available: -1 }, 'available', 'available must be an integer from 0 to 1000000000'],
    ['non-integer', { available: 2.5 }, 'available', 'available must be an integer from 0 to 1000000000'],
    ['too large', { available: 1_000_000_001 }, 'available', 'available must be an integer from 0 to 1000000000'],
    ['a string', { available: '5' }, 'available', 'available must be an integer from 0 to 1000000000'],
    ['missing', {}, 'available', 'available is required'],
    ['unknown field', { available: 1, reserved: 0 }, '(body)', 'unknown field(s): reserved'],
  ])('%s -> ValidationError, nothing written', async (_name, body, field, message) => {
    const w = world(tables());
    const sku = uid('sku');
    const error = await rejection(setStock(sku, body, w.stock), ValidationError);
    expect(error.problems).toEqual([{ field, message }]);
    expect(await w.stock.get(sku)).toBeUndefined();
  });

  test('a bad sku and a bad body are reported together', async () => {
    const w = world(tables());
    const error = await rejection(setStock('s'.repeat(65), { available: -5 }, w.stock), ValidationError);
    expect(error.problems.map((p) => p.field).sort()).toEqual(['available', 'sku']);
  });

  test('an empty sku -> ValidationError on sku', async () => {
    const w = world(tables());
    const error = await rejection(setStock('', { available: 1 }, w.stock), ValidationError);
    expect(error.problems).toEqual([{ field: 'sku', message: 'sku must be 1 to 64 characters' }]);
  });

  test('getStock of an unstocked sku -> NotFoundError', async () => {
    const w = world(tables());
    const sku = uid('never-stocked');
    const error = await rejection(getStock(sku, w.stock), NotFoundError);
    expect(error.message).toContain(sku);
  });
});
