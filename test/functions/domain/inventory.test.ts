import { IdempotencyKeyReusedError, NotFoundError, PreconditionError, StateConflictError, ValidationError } from '../../../functions/domain/errors';
import { EventDetail, buildEvent } from '../../../functions/domain/events';
import { adjustStock, getStock, handleInventoryEvent, InventoryDeps, reserveOrder, setStock } from '../../../functions/domain/inventory';
import { OrderLine, OrderStatus } from '../../../functions/domain/order';
import { placeOrder } from '../../../functions/domain/orders';
import { customer, rejection, service, storedOrder, T0, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();
const PAYMENT_WINDOW_SECONDS = 900;

function deps(w: World): InventoryDeps {
  return { orders: w.orders, clock: w.clock, paymentWindowSeconds: PAYMENT_WINDOW_SECONDS };
}

const now = new Date(T0);

function placedEvent(orderId: string, items: OrderLine[]): EventDetail<'OrderPlaced'> {
  return buildEvent('OrderPlaced', { orderId, customerId: 'c-inv', correlationId: 'corr-inv', items }, now).detail;
}

/** Distinct SKUs stocked for this test, so tests never share stock. */
async function stocked(w: World, ...available: number[]): Promise<string[]> {
  const skus = available.map(() => uid('sku'));
  await Promise.all(skus.map((sku, i) => w.stock.set(sku, available[i]!)));
  return skus;
}

async function levels(w: World, skus: string[]) {
  return Promise.all(
    skus.map(async (sku) => {
      const level = await w.stock.get(sku);
      return level && { available: level.available, reserved: level.reserved, sold: level.sold };
    }),
  );
}

/** A stored PENDING order, placed through the API use case. */
async function pendingOrder(w: World, items: OrderLine[]): Promise<string> {
  const { order } = await placeOrder({ caller: service(), idempotencyKey: uid('key'), body: { customerId: 'c-inv', items }, correlationId: 'corr-inv' }, { orders: w.orders, events: w.events, clock: w.clock });
  return order.orderId;
}

describe('reserveOrder: one transaction, all lines or none', () => {
  test('takes every line and moves the order to RESERVED with its payment deadline', async () => {
    const w = world(tables());
    const [a, b] = await stocked(w, 10, 5);
    const items = [{ sku: a!, quantity: 3 }, { sku: b!, quantity: 5 }];
    const orderId = await pendingOrder(w, items);

    expect(await reserveOrder(placedEvent(orderId, items), deps(w))).toEqual({ action: 'reserved' });

    expect(await levels(w, [a!, b!])).toEqual([{ available: 7, reserved: 3, sold: 0 }, { available: 0, reserved: 5, sold: 0 }]);
    expect(await w.orders.get(orderId)).toMatchObject({ status: 'RESERVED', statusChangedAt: T0, paymentDeadline: new Date(now.getTime() + PAYMENT_WINDOW_SECONDS * 1000).toISOString() });
    // The consumer publishes nothing: InventoryReserved comes from the order's stream record.
    expect(w.events.published).toEqual([]);
  });

  test('a line out of stock: nothing taken from any line, the order REJECTED naming the SKU', async () => {
    const w = world(tables());
    const [a, b, c] = await stocked(w, 5, 7, 1);
    const items = [{ sku: a!, quantity: 2 }, { sku: b!, quantity: 7 }, { sku: c!, quantity: 2 }];
    const orderId = await pendingOrder(w, items);

    expect(await reserveOrder(placedEvent(orderId, items), deps(w))).toEqual({ action: 'rejected', reason: 'OUT_OF_STOCK', sku: c });

    expect(await levels(w, [a!, b!, c!])).toEqual([{ available: 5, reserved: 0, sold: 0 }, { available: 7, reserved: 0, sold: 0 }, { available: 1, reserved: 0, sold: 0 }]);
    expect(await w.orders.get(orderId)).toMatchObject({ status: 'REJECTED', rejection: { reason: 'OUT_OF_STOCK', sku: c } });
  });

  test('an unknown SKU: REJECTED UNKNOWN_SKU, no stock item invented', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 5);
    const ghost = uid('ghost');
    const items = [{ sku: a!, quantity: 1 }, { sku: ghost, quantity: 1 }];
    const orderId = await pendingOrder(w, items);

    expect(await reserveOrder(placedEvent(orderId, items), deps(w))).toEqual({ action: 'rejected', reason: 'UNKNOWN_SKU', sku: ghost });
    expect(await w.stock.get(ghost)).toBeUndefined();
    expect(await levels(w, [a!])).toEqual([{ available: 5, reserved: 0, sold: 0 }]);
  });

  test.each<OrderStatus>(['RESERVED', 'PAID', 'CANCELLED', 'REJECTED'])('a duplicate or late OrderPlaced for a %s order takes nothing', async (status) => {
    const w = world(tables());
    const [a] = await stocked(w, 5);
    const items = [{ sku: a!, quantity: 2 }];
    const order = storedOrder({ status, items });
    await w.orders.create(order);

    expect(await reserveOrder(placedEvent(order.orderId, items), deps(w))).toEqual({ action: 'skipped', status });
    expect(await levels(w, [a!])).toEqual([{ available: 5, reserved: 0, sold: 0 }]);
  });

  test('delivered twice: the second delivery finds the order RESERVED and takes nothing more', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 5);
    const items = [{ sku: a!, quantity: 2 }];
    const orderId = await pendingOrder(w, items);
    await reserveOrder(placedEvent(orderId, items), deps(w));
    expect(await reserveOrder(placedEvent(orderId, items), deps(w))).toEqual({ action: 'skipped', status: 'RESERVED' });
    expect(await levels(w, [a!])).toEqual([{ available: 3, reserved: 2, sold: 0 }]);
  });

  test('an order the sweep flagged NEEDS_ATTENTION is still reserved', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 5);
    const items = [{ sku: a!, quantity: 1 }];
    const order = storedOrder({ status: 'NEEDS_ATTENTION', items });
    await w.orders.create(order);
    expect(await reserveOrder(placedEvent(order.orderId, items), deps(w))).toEqual({ action: 'reserved' });
    expect(await levels(w, [a!])).toEqual([{ available: 4, reserved: 1, sold: 0 }]);
  });

  test('a missing order: skipped, nothing taken, nothing created', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 5);
    const orderId = uid('ord-missing');
    expect(await reserveOrder(placedEvent(orderId, [{ sku: a!, quantity: 1 }]), deps(w))).toEqual({ action: 'skipped', status: 'MISSING' });
    expect(await w.orders.get(orderId)).toBeUndefined();
    expect(await levels(w, [a!])).toEqual([{ available: 5, reserved: 0, sold: 0 }]);
  });

  test('50 concurrent one-unit orders on stock 10: exactly 10 reserved, 40 rejected, none oversold', async () => {
    const w = world(tables());
    const [sku] = await stocked(w, 10);
    const items = [{ sku: sku!, quantity: 1 }];
    const orderIds = await Promise.all(Array.from({ length: 50 }, () => pendingOrder(w, items)));

    const outcomes = await Promise.all(orderIds.map((orderId) => reserveOrder(placedEvent(orderId, items), deps(w))));

    expect(outcomes.filter((o) => o.action === 'reserved')).toHaveLength(10);
    expect(outcomes.filter((o) => o.action === 'rejected')).toEqual(Array.from({ length: 40 }, () => ({ action: 'rejected', reason: 'OUT_OF_STOCK', sku })));
    expect(await levels(w, [sku!])).toEqual([{ available: 0, reserved: 10, sold: 0 }]);
  });
});

describe('handleInventoryEvent', () => {
  test('OrderPlaced reserves', async () => {
    const w = world(tables());
    const [a] = await stocked(w, 2);
    const items = [{ sku: a!, quantity: 2 }];
    const orderId = await pendingOrder(w, items);
    expect(await handleInventoryEvent({ type: 'OrderPlaced', detail: placedEvent(orderId, items) }, deps(w))).toEqual({ action: 'reserved' });
  });

  test('events inventory does not handle are refused', async () => {
    const w = world(tables());
    const reserved = buildEvent('InventoryReserved', { orderId: 'o', customerId: 'c', correlationId: 'x', items: [{ sku: 's', quantity: 1 }] }, now);
    await expect(handleInventoryEvent(reserved, deps(w))).rejects.toThrow('inventory does not handle InventoryReserved');
  });
});

describe('setStock: create, or replace at the version read', () => {
  test('creates a SKU; a second PUT without If-Match is refused (428) naming the ways forward, nothing changed', async () => {
    const w = world(tables());
    const sku = uid('sku');
    expect(await setStock(sku, { available: 8 }, undefined, w.stock)).toEqual({ created: true, level: { sku, available: 8, reserved: 0, sold: 0, version: 1 } });

    const error = await rejection(setStock(sku, { available: 20 }, undefined, w.stock), PreconditionError);
    expect(error.status).toBe(428);
    expect(error.currentVersion).toBe(1);
    expect(error.message).toContain('If-Match');
    expect(error.message).toContain('adjustments');
    expect((await w.stock.get(sku))?.available).toBe(8);
  });

  test('replaces available at the version read, keeping reserved and sold', async () => {
    const w = world(tables());
    const sku = uid('sku');
    await setStock(sku, { available: 8 }, undefined, w.stock);
    const orderId = await pendingOrder(w, [{ sku, quantity: 3 }]);
    await reserveOrder(placedEvent(orderId, [{ sku, quantity: 3 }]), deps(w));
    const { version } = (await w.stock.get(sku))!;

    expect(await setStock(sku, { available: 20 }, version, w.stock)).toEqual({ created: false, level: { sku, available: 20, reserved: 3, sold: 0, version: version + 1 } });
  });

  test('a reservation between the read and the write: 412 with the current version, the reservation kept', async () => {
    const w = world(tables());
    const sku = uid('sku');
    await setStock(sku, { available: 8 }, undefined, w.stock);
    const read = (await getStock(sku, w.stock)).version;
    const orderId = await pendingOrder(w, [{ sku, quantity: 3 }]);
    await reserveOrder(placedEvent(orderId, [{ sku, quantity: 3 }]), deps(w));

    const error = await rejection(setStock(sku, { available: 100 }, read, w.stock), PreconditionError);
    expect(error.status).toBe(412);
    expect(error.currentVersion).toBe(read + 1);
    expect(await w.stock.get(sku)).toMatchObject({ available: 5, reserved: 3 });
  });

  test('If-Match on a SKU that does not exist -> NotFoundError, nothing created', async () => {
    const w = world(tables());
    const sku = uid('sku');
    await rejection(setStock(sku, { available: 1 }, 1, w.stock), NotFoundError);
    expect(await w.stock.get(sku)).toBeUndefined();
  });

  test.each([0, 1_000_000_000])('available %s (a bound) is accepted', async (available) => {
    const w = world(tables());
    const sku = uid('sku');
    expect((await setStock(sku, { available }, undefined, w.stock)).level.available).toBe(available);
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
    const error = await rejection(setStock(sku, body, undefined, w.stock), ValidationError);
    expect(error.problems).toEqual([{ field, message }]);
    expect(await w.stock.get(sku)).toBeUndefined();
  });

  test('a bad sku and a bad body are reported together', async () => {
    const w = world(tables());
    const error = await rejection(setStock('s'.repeat(65), { available: -5 }, undefined, w.stock), ValidationError);
    expect(error.problems.map((p) => p.field).sort()).toEqual(['available', 'sku']);
  });

  test('an empty sku -> ValidationError on sku', async () => {
    const w = world(tables());
    const error = await rejection(setStock('', { available: 1 }, undefined, w.stock), ValidationError);
    expect(error.problems).toEqual([{ field: 'sku', message: 'sku must be 1 to 64 characters' }]);
  });
});

describe('adjustStock: relative, once per Idempotency-Key', () => {
  const adjust = (w: World, sku: string, body: unknown, idempotencyKey: unknown = uid('key'), caller = service()) => adjustStock({ caller, sku, idempotencyKey, body }, { stock: w.stock, clock: w.clock });

  test('adds and removes units; the same key again is a replay that changes nothing', async () => {
    const w = world(tables());
    const [sku] = await stocked(w, 10);
    const key = uid('key');
    expect(await adjust(w, sku!, { delta: 50 }, key)).toEqual({ replayed: false, level: { sku, available: 60, reserved: 0, sold: 0, version: 2 } });
    expect(await adjust(w, sku!, { delta: 50 }, key)).toEqual({ replayed: true, level: { sku, available: 60, reserved: 0, sold: 0, version: 2 } });
    expect((await adjust(w, sku!, { delta: -60 })).level.available).toBe(0);
  });

  test('keys are scoped per caller: the same key from another caller is another adjustment', async () => {
    const w = world(tables());
    const [sku] = await stocked(w, 0);
    await adjust(w, sku!, { delta: 1 }, 'shared-key', service('svc-a'));
    await adjust(w, sku!, { delta: 1 }, 'shared-key', customer('c-ops', ['orders/admin']));
    expect((await w.stock.get(sku!))?.available).toBe(2);
  });

  test('the same key for a different adjustment -> IdempotencyKeyReusedError, nothing changed', async () => {
    const w = world(tables());
    const [sku] = await stocked(w, 10);
    await adjust(w, sku!, { delta: 5 }, 'k-reuse');
    await rejection(adjust(w, sku!, { delta: 6 }, 'k-reuse'), IdempotencyKeyReusedError);
    expect((await w.stock.get(sku!))?.available).toBe(15);
  });

  test('removing more than is available -> StateConflictError, nothing changed', async () => {
    const w = world(tables());
    const [sku] = await stocked(w, 3);
    const error = await rejection(adjust(w, sku!, { delta: -4 }), StateConflictError);
    expect(error.message).toContain('3 units available');
    expect((await w.stock.get(sku!))?.available).toBe(3);
  });

  test('an unknown SKU -> NotFoundError, nothing created', async () => {
    const w = world(tables());
    const sku = uid('sku');
    await rejection(adjust(w, sku, { delta: 5 }), NotFoundError);
    expect(await w.stock.get(sku)).toBeUndefined();
  });

  test.each([
    ['zero', { delta: 0 }, 'delta', 'delta must not be 0'],
    ['non-integer', { delta: 1.5 }, 'delta', 'delta must be an integer from -1000000000 to 1000000000'],
    ['missing', {}, 'delta', 'delta is required'],
    ['unknown field', { delta: 1, reason: 'x' }, '(body)', 'unknown field(s): reason'],
  ])('%s -> ValidationError, nothing written', async (_name, body, field, message) => {
    const w = world(tables());
    const [sku] = await stocked(w, 3);
    const error = await rejection(adjust(w, sku!, body), ValidationError);
    expect(error.problems).toEqual([{ field, message }]);
    expect((await w.stock.get(sku!))?.version).toBe(1);
  });

  test('a missing Idempotency-Key and a bad body are reported together', async () => {
    const w = world(tables());
    const error = await rejection(adjustStock({ caller: service(), sku: 'sku-x', idempotencyKey: undefined, body: { delta: 'lots' } }, { stock: w.stock, clock: w.clock }), ValidationError);
    expect(error.problems.map((p) => p.field).sort()).toEqual(['Idempotency-Key', 'delta']);
  });
});

test('getStock of an unstocked sku -> NotFoundError', async () => {
  const w = world(tables());
  const sku = uid('never-stocked');
  const error = await rejection(getStock(sku, w.stock), NotFoundError);
  expect(error.message).toContain(sku);
});
