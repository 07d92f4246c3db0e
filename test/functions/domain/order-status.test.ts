import { PipelineEvent, buildEvent } from '../../../functions/domain/events';
import { InventoryDeps, handleInventoryEvent, reserveOrder } from '../../../functions/domain/inventory';
import { OrderLine, OrderStatus } from '../../../functions/domain/order';
import { applyInventoryOutcome, OrderStatusDeps } from '../../../functions/domain/order-status';
import { cancelOrder, placeOrder } from '../../../functions/domain/orders';
import { StoredOrder } from '../../../functions/domain/ports';
import { service, storedOrder, T0, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();
const WINDOW_SECONDS = 900;

function deps(w: World): OrderStatusDeps {
  return { orders: w.orders, events: w.events, clock: w.clock, paymentWindowSeconds: WINDOW_SECONDS };
}

function inventoryDeps(w: World): InventoryDeps {
  return { stock: w.stock, events: w.events, orders: w.orders, clock: w.clock };
}

function reserved(order: Pick<StoredOrder, 'orderId' | 'customerId' | 'correlationId' | 'items'>): PipelineEvent {
  const { orderId, customerId, correlationId, items } = order;
  return buildEvent('InventoryReserved', { orderId, customerId, correlationId, items }, new Date(T0));
}

function rejected(order: Pick<StoredOrder, 'orderId' | 'customerId' | 'correlationId'>, sku = 'sku-out'): PipelineEvent {
  const { orderId, customerId, correlationId } = order;
  return buildEvent('InventoryRejected', { orderId, customerId, correlationId, reason: 'OUT_OF_STOCK', sku }, new Date(T0));
}

async function orderIn(w: World, status: OrderStatus): Promise<StoredOrder> {
  const order = storedOrder({ status });
  expect(await w.orders.create(order)).toBe('created');
  return order;
}

describe('InventoryReserved', () => {
  test('moves PENDING to RESERVED with paymentDeadline = now + the payment window', async () => {
    const w = world(tables());
    const order = await orderIn(w, 'PENDING');
    w.clock.advance(2000);

    const outcome = await applyInventoryOutcome(reserved(order), deps(w));

    expect(outcome).toEqual({ action: 'transitioned', to: 'RESERVED' });
    expect(await w.orders.get(order.orderId)).toEqual({
      ...order,
      status: 'RESERVED',
      statusChangedAt: '2026-01-01T00:00:02.000Z',
      updatedAt: '2026-01-01T00:00:02.000Z',
      paymentDeadline: '2026-01-01T00:15:02.000Z',
    });
    expect(w.events.published).toEqual([]);
  });

  test('a duplicate is ignored: the deadline is not pushed out', async () => {
    const w = world(tables());
    const order = await orderIn(w, 'PENDING');
    await applyInventoryOutcome(reserved(order), deps(w));
    const first = await w.orders.get(order.orderId);
    w.clock.advance(60_000);

    expect(await applyInventoryOutcome(reserved(order), deps(w))).toEqual({ action: 'ignored', status: 'RESERVED' });
    expect(await w.orders.get(order.orderId)).toEqual(first);
    expect(w.events.published).toEqual([]);
  });

  test('a NEEDS_ATTENTION order is settled by a late reservation', async () => {
    const w = world(tables());
    const order = await orderIn(w, 'NEEDS_ATTENTION');
    expect(await applyInventoryOutcome(reserved(order), deps(w))).toEqual({ action: 'transitioned', to: 'RESERVED' });
    expect((await w.orders.get(order.orderId))?.status).toBe('RESERVED');
  });

  test.each<OrderStatus>(['CANCELLED', 'REJECTED'])('for an order already %s -> ReservationOrphaned published, status kept', async (status) => {
    const w = world(tables());
    const order = await orderIn(w, status);

    expect(await applyInventoryOutcome(reserved(order), deps(w))).toEqual({ action: 'orphan-released', status });

    expect((await w.orders.get(order.orderId))?.status).toBe(status);
    expect(w.events.published).toEqual([
      {
        type: 'ReservationOrphaned',
        detail: {
          eventId: `${order.orderId}:ReservationOrphaned`,
          orderId: order.orderId,
          customerId: order.customerId,
          correlationId: order.correlationId,
          occurredAt: T0,
          items: order.items,
        },
      },
    ]);
  });

  test('for a PAID order it is ignored (nothing to give back)', async () => {
    const w = world(tables());
    const order = await orderIn(w, 'PAID');
    expect(await applyInventoryOutcome(reserved(order), deps(w))).toEqual({ action: 'ignored', status: 'PAID' });
    expect(w.events.published).toEqual([]);
  });

  test('for a missing order it is ignored, and no order is invented', async () => {
    const w = world(tables());
    const ghost = storedOrder();
    expect(await applyInventoryOutcome(reserved(ghost), deps(w))).toEqual({ action: 'ignored', status: 'MISSING' });
    expect(await w.orders.get(ghost.orderId)).toBeUndefined();
  });
});

describe('InventoryRejected', () => {
  test('moves PENDING to REJECTED with the rejection', async () => {
    const w = world(tables());
    const order = await orderIn(w, 'PENDING');
    w.clock.advance(1000);

    expect(await applyInventoryOutcome(rejected(order, 'sku-gone'), deps(w))).toEqual({ action: 'transitioned', to: 'REJECTED' });
    expect(await w.orders.get(order.orderId)).toMatchObject({
      status: 'REJECTED',
      rejection: { reason: 'OUT_OF_STOCK', sku: 'sku-gone' },
      statusChangedAt: '2026-01-01T00:00:01.000Z',
    });
    expect(w.events.published).toEqual([]);
  });

  test('out of order (Rejected after Reserved) is ignored', async () => {
    const w = world(tables());
    const order = await orderIn(w, 'PENDING');
    await applyInventoryOutcome(reserved(order), deps(w));
    const afterReserved = await w.orders.get(order.orderId);

    expect(await applyInventoryOutcome(rejected(order), deps(w))).toEqual({ action: 'ignored', status: 'RESERVED' });
    expect(await w.orders.get(order.orderId)).toEqual(afterReserved);
    expect(afterReserved?.rejection).toBeUndefined();
  });

  test('a duplicate is ignored and a missing order stays missing', async () => {
    const w = world(tables());
    const order = await orderIn(w, 'PENDING');
    await applyInventoryOutcome(rejected(order), deps(w));
    expect(await applyInventoryOutcome(rejected(order), deps(w))).toEqual({ action: 'ignored', status: 'REJECTED' });

    const ghost = storedOrder();
    expect(await applyInventoryOutcome(rejected(ghost), deps(w))).toEqual({ action: 'ignored', status: 'MISSING' });
    expect(await w.orders.get(ghost.orderId)).toBeUndefined();
  });
});

test('events order-status does not handle are refused', async () => {
  const w = world(tables());
  const placed = buildEvent('OrderPlaced', { orderId: 'o', customerId: 'c', correlationId: 'x', items: [{ sku: 's', quantity: 1 }] }, new Date(T0));
  await expect(applyInventoryOutcome(placed, deps(w))).rejects.toThrow('order-status does not handle OrderPlaced');
});

describe('a cancel racing the reservation', () => {
  test('the orphaned reservation goes back to stock exactly once', async () => {
    const w = world(tables());
    const sku = uid('sku');
    await w.stock.set(sku, 5);
    const items: OrderLine[] = [{ sku, quantity: 2 }];
    const orderDeps = { orders: w.orders, events: w.events, clock: w.clock };
    const { order } = await placeOrder({ caller: service(), idempotencyKey: uid('key'), body: { customerId: 'c-race', items }, correlationId: 'corr-race', remainingMs: 0 }, orderDeps);
    const placedEvent = w.events.published[0]!;
    expect(placedEvent.type).toBe('OrderPlaced');
    const readBeforeCancel = await w.orders.get(order.orderId);

    // The customer cancels and inventory handles OrderCancelled before the reservation is written: nothing to release yet.
    await cancelOrder(order.orderId, service(), orderDeps);
    const cancelled = w.events.published.find((e) => e.type === 'OrderCancelled')!;
    expect(await handleInventoryEvent(cancelled, inventoryDeps(w))).toEqual({ action: 'released', lines: 0 });

    // Inventory had read the order while it was still PENDING, so it reserves anyway.
    const raced: InventoryDeps = { ...inventoryDeps(w), orders: { get: async () => readBeforeCancel } };
    expect(await handleInventoryEvent(placedEvent, raced)).toEqual({ action: 'reserved' });
    expect(await w.stock.get(sku)).toEqual({ sku, available: 3, reserved: 2 });

    // order-status sees the reservation for a CANCELLED order and hands it back.
    const reservedEvent = w.events.published.find((e) => e.type === 'InventoryReserved')!;
    expect(await applyInventoryOutcome(reservedEvent, deps(w))).toEqual({ action: 'orphan-released', status: 'CANCELLED' });
    const orphaned = w.events.published.find((e) => e.type === 'ReservationOrphaned')!;
    expect(orphaned.detail).toMatchObject({ orderId: order.orderId, items });

    expect(await handleInventoryEvent(orphaned, inventoryDeps(w))).toEqual({ action: 'released', lines: 1 });
    expect(await handleInventoryEvent(orphaned, inventoryDeps(w))).toEqual({ action: 'released', lines: 0 });
    expect(await w.stock.get(sku)).toEqual({ sku, available: 5, reserved: 0 });
    expect((await w.orders.get(order.orderId))?.status).toBe('CANCELLED');
  });

  test('once the order is CANCELLED, a redelivered OrderPlaced takes nothing', async () => {
    const w = world(tables());
    const sku = uid('sku');
    await w.stock.set(sku, 5);
    const orderDeps = { orders: w.orders, events: w.events, clock: w.clock };
    const { order } = await placeOrder({ caller: service(), idempotencyKey: uid('key'), body: { customerId: 'c-late', items: [{ sku, quantity: 2 }] }, correlationId: 'c', remainingMs: 0 }, orderDeps);
    const placedEvent = w.events.published[0]!;
    await cancelOrder(order.orderId, service(), orderDeps);

    expect(await reserveOrder(placedEvent.detail as Parameters<typeof reserveOrder>[0], inventoryDeps(w))).toEqual({ action: 'skipped', status: 'CANCELLED' });
    expect(await w.stock.get(sku)).toEqual({ sku, available: 5, reserved: 0 });
  });
});
