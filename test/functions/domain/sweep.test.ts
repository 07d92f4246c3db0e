import { cancelOrder, confirmPayment, OrderDeps, placeOrder } from '../../../functions/domain/orders';
import { PublishError, StoredOrder } from '../../../functions/domain/ports';
import { expireReservation, publishUnpublished, republishOrFlag, summarise, SweepDeps } from '../../../functions/domain/sweep';
import { service, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();

function deps(w: World): SweepDeps & OrderDeps {
  return { orders: w.orders, events: w.events, clock: w.clock };
}

async function placed(w: World, { publishFails = false } = {}): Promise<StoredOrder> {
  if (publishFails) w.events.failNext = 1;
  const { order } = await placeOrder(
    { caller: service(), idempotencyKey: uid('key'), body: { customerId: 'c-sweep', items: [{ sku: 'sku-s', quantity: 1 }] }, correlationId: 'corr-s', remainingMs: 0 },
    deps(w),
  );
  return order;
}

/** A RESERVED order whose payment deadline is `deadlineInMs` from the clock's now. */
async function reserved(w: World, deadlineInMs: number): Promise<StoredOrder> {
  const order = await placed(w);
  const paymentDeadline = new Date(w.clock.now().getTime() + deadlineInMs).toISOString();
  const moved = await w.orders.transition({ orderId: order.orderId, from: ['PENDING'], to: 'RESERVED', at: w.clock.now(), set: { paymentDeadline } });
  expect(moved?.status).toBe('RESERVED');
  w.events.published.length = 0;
  return moved!;
}

describe('publishUnpublished', () => {
  test('a PENDING order owes OrderPlaced: published with its original occurredAt, mark cleared', async () => {
    const w = world(tables());
    const order = await placed(w, { publishFails: true });
    expect(w.events.published).toEqual([]);
    w.clock.advance(120_000);

    expect(await publishUnpublished(order.orderId, deps(w))).toEqual({ orderId: order.orderId, action: 'publish', outcome: 'published' });

    expect(w.events.published).toEqual([
      {
        type: 'OrderPlaced',
        detail: { eventId: `${order.orderId}:OrderPlaced`, orderId: order.orderId, customerId: 'c-sweep', correlationId: 'corr-s', items: order.items, occurredAt: order.createdAt },
      },
    ]);
    expect((await w.orders.get(order.orderId))?.unpublishedEvent).toBeUndefined();

    expect(await publishUnpublished(order.orderId, deps(w))).toMatchObject({ outcome: 'nothing-to-publish' });
    expect(w.events.published).toHaveLength(1);
  });

  test('a CANCELLED order owes OrderCancelled (even if its OrderPlaced never went out)', async () => {
    const w = world(tables());
    const order = await placed(w, { publishFails: true });
    w.events.failNext = 1;
    await cancelOrder(order.orderId, service(), deps(w));
    expect((await w.orders.get(order.orderId))?.unpublishedEvent).toBe('OrderCancelled');

    expect(await publishUnpublished(order.orderId, deps(w))).toMatchObject({ outcome: 'published' });

    expect(w.events.published).toEqual([
      { type: 'OrderCancelled', detail: expect.objectContaining({ eventId: `${order.orderId}:OrderCancelled`, reason: 'CUSTOMER', items: order.items }) },
    ]);
    expect((await w.orders.get(order.orderId))?.unpublishedEvent).toBeUndefined();
  });

  test('a PAID order owes OrderPaid, with its paymentId', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    w.events.failNext = 1;
    await confirmPayment(order.orderId, { paymentId: 'pay-sw' }, service(), deps(w));

    expect(await publishUnpublished(order.orderId, deps(w))).toMatchObject({ outcome: 'published' });
    expect(w.events.published).toEqual([{ type: 'OrderPaid', detail: expect.objectContaining({ eventId: `${order.orderId}:OrderPaid`, paymentId: 'pay-sw' }) }]);
    expect((await w.orders.get(order.orderId))?.unpublishedEvent).toBeUndefined();
  });

  test('an order whose status owes nothing (RESERVED) has its stale mark cleared, nothing published', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    await w.orders.markUnpublished(order.orderId, 'OrderPlaced');

    expect(await publishUnpublished(order.orderId, deps(w))).toMatchObject({ outcome: 'cleared' });
    expect(w.events.published).toEqual([]);
    expect((await w.orders.get(order.orderId))?.unpublishedEvent).toBeUndefined();
  });

  test('publishing fails again: the error propagates and the mark stays for the next try', async () => {
    const w = world(tables());
    const order = await placed(w, { publishFails: true });
    w.events.failNext = 1;
    await expect(publishUnpublished(order.orderId, deps(w))).rejects.toBeInstanceOf(PublishError);
    expect((await w.orders.get(order.orderId))?.unpublishedEvent).toBe('OrderPlaced');
  });

  test('a missing order has nothing to publish', async () => {
    const w = world(tables());
    expect(await publishUnpublished('ord_absent', deps(w))).toMatchObject({ outcome: 'nothing-to-publish' });
  });
});

describe('republishOrFlag', () => {
  test('republishes OrderPlaced up to maxAttempts, then moves the order to NEEDS_ATTENTION', async () => {
    const w = world(tables());
    const order = await placed(w);
    w.events.published.length = 0;

    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await republishOrFlag(order.orderId, 2, deps(w))).outcome);

    expect(outcomes).toEqual(['republished', 'republished', 'needs-attention', 'settled-meanwhile']);
    expect(w.events.types()).toEqual(['OrderPlaced', 'OrderPlaced']);
    expect(w.events.published.every((e) => e.detail.eventId === `${order.orderId}:OrderPlaced`)).toBe(true);
    expect(await w.orders.get(order.orderId)).toMatchObject({ status: 'NEEDS_ATTENTION', republishCount: 2 });
  });

  test('an order that got its outcome meanwhile is left alone', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    expect(await republishOrFlag(order.orderId, 3, deps(w))).toEqual({ orderId: order.orderId, action: 'republish', outcome: 'settled-meanwhile' });
    expect(await w.orders.get(order.orderId)).toEqual(order);
    expect(w.events.published).toEqual([]);
  });

  test('a failed publish does not use up an attempt', async () => {
    const w = world(tables());
    const order = await placed(w);
    w.events.failNext = 1;
    await expect(republishOrFlag(order.orderId, 1, deps(w))).rejects.toBeInstanceOf(PublishError);
    expect((await w.orders.get(order.orderId))?.status).toBe('PENDING');
    expect(await republishOrFlag(order.orderId, 1, deps(w))).toMatchObject({ outcome: 'republished' });
  });

  test('a missing order is neither published nor created', async () => {
    const w = world(tables());
    const result = await republishOrFlag('ord_none', 3, deps(w));
    expect(['republished', 'needs-attention']).not.toContain(result.outcome);
    expect(w.events.published).toEqual([]);
    expect(await w.orders.get('ord_none')).toBeUndefined();
  });
});

describe('expireReservation', () => {
  test('a RESERVED order past its deadline is cancelled with PAYMENT_TIMEOUT and OrderCancelled is published', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    w.clock.advance(60_000);

    expect(await expireReservation(order.orderId, deps(w))).toEqual({ orderId: order.orderId, action: 'expire', outcome: 'cancelled' });

    const at = w.clock.now().toISOString();
    expect(await w.orders.get(order.orderId)).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' }, statusChangedAt: at });
    expect(w.events.published).toEqual([
      {
        type: 'OrderCancelled',
        detail: { eventId: `${order.orderId}:OrderCancelled`, orderId: order.orderId, customerId: 'c-sweep', correlationId: 'corr-s', items: order.items, reason: 'PAYMENT_TIMEOUT', occurredAt: at },
      },
    ]);
  });

  test('a RESERVED order not yet past its deadline is left alone', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    w.clock.advance(59_999);
    expect(await expireReservation(order.orderId, deps(w))).toMatchObject({ outcome: 'left-RESERVED' });
    expect(await w.orders.get(order.orderId)).toEqual(order);
    expect(w.events.published).toEqual([]);
  });

  test('a PAID order is left alone', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    await confirmPayment(order.orderId, { paymentId: 'pay-in-time' }, service(), deps(w));
    w.events.published.length = 0;
    w.clock.advance(120_000);

    expect(await expireReservation(order.orderId, deps(w))).toMatchObject({ outcome: 'left-PAID' });
    expect((await w.orders.get(order.orderId))?.status).toBe('PAID');
    expect(w.events.published).toEqual([]);
  });

  test('a retry after its own cancel publishes again (the first publish may have been lost)', async () => {
    const w = world(tables());
    const order = await reserved(w, 1000);
    w.clock.advance(5000);
    await expireReservation(order.orderId, deps(w));
    w.clock.advance(1000);

    expect(await expireReservation(order.orderId, deps(w))).toMatchObject({ outcome: 'cancelled' });
    expect(w.events.types()).toEqual(['OrderCancelled', 'OrderCancelled']);
    expect(w.events.published[1]!.detail).toEqual(w.events.published[0]!.detail);
  });

  test('an order the customer cancelled is not re-announced as a timeout', async () => {
    const w = world(tables());
    const order = await reserved(w, 1000);
    await cancelOrder(order.orderId, service(), deps(w));
    w.events.published.length = 0;
    w.clock.advance(5000);

    expect(await expireReservation(order.orderId, deps(w))).toMatchObject({ outcome: 'left-CANCELLED' });
    expect(w.events.published).toEqual([]);
  });

  test('a missing order is reported, not created', async () => {
    const w = world(tables());
    expect(await expireReservation('ord_vanished', deps(w))).toMatchObject({ outcome: 'left-missing' });
    expect(await w.orders.get('ord_vanished')).toBeUndefined();
  });

  test('publishing fails: cancelled all the same, marked for the sweep', async () => {
    const w = world(tables());
    const order = await reserved(w, 1000);
    w.clock.advance(1000);
    w.events.failNext = 1;
    expect(await expireReservation(order.orderId, deps(w))).toMatchObject({ outcome: 'cancelled-publish-deferred' });
    expect(await w.orders.get(order.orderId)).toMatchObject({ status: 'CANCELLED', unpublishedEvent: 'OrderCancelled' });
  });
});

describe('summarise', () => {
  test('counts what was found, each outcome, and each failure with its cause', () => {
    const summary = summarise([
      { orderId: 'o1', action: 'publish', outcome: 'published' },
      { orderId: 'o2', action: 'publish', outcome: 'published' },
      { orderId: 'o3', action: 'publish', outcome: 'cleared' },
      { orderId: 'o4', action: 'republish', outcome: 'needs-attention' },
      { orderId: 'o5', action: 'expire', outcome: 'cancelled' },
      { orderId: 'o6', action: 'expire', error: { Error: 'PublishError', Cause: 'PutEvents rejected 1 of 1 entries' } },
      { orderId: 'o7', action: 'republish', error: { Error: 'States.Timeout' } },
      { orderId: 'o8', action: 'publish', error: new Error('boom') },
    ]);

    expect(summary).toEqual({
      found: { publish: 4, republish: 2, expire: 2 },
      outcomes: { 'publish:published': 2, 'publish:cleared': 1, 'republish:needs-attention': 1, 'expire:cancelled': 1 },
      failed: 3,
      failures: [
        { orderId: 'o6', action: 'expire', error: 'PublishError: PutEvents rejected 1 of 1 entries' },
        { orderId: 'o7', action: 'republish', error: 'States.Timeout' },
        { orderId: 'o8', action: 'publish', error: 'Error: boom' },
      ],
    });
  });

  test('nothing to do is an empty summary', () => {
    expect(summarise([])).toEqual({ found: { publish: 0, republish: 0, expire: 0 }, outcomes: {}, failed: 0, failures: [] });
  });

  test('long causes are cut to 500 characters', () => {
    const summary = summarise([{ orderId: 'o', action: 'expire', error: { Error: 'E', Cause: 'x'.repeat(2000) } }]);
    expect(summary.failures[0]!.error).toHaveLength(500);
  });
});

