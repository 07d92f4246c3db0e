import { confirmPayment, OrderDeps, placeOrder } from '../../../functions/domain/orders';
import { PublishError, StoredOrder } from '../../../functions/domain/ports';
import { expireReservation, republishOrFlag, summarise, SweepDeps } from '../../../functions/domain/sweep';
import { racedOnce, service, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();

function deps(w: World): SweepDeps & OrderDeps {
  return { orders: w.orders, events: w.events, clock: w.clock };
}

/** A PENDING order of one unit of its own SKU, stocked with 5. */
async function placed(w: World): Promise<StoredOrder> {
  const sku = uid('sku');
  await w.stock.set(sku, 5);
  const { order } = await placeOrder({ caller: service(), idempotencyKey: uid('key'), body: { customerId: 'c-sweep', items: [{ sku, quantity: 1 }] }, correlationId: 'corr-s' }, deps(w));
  return order;
}

/** A RESERVED order (its stock taken) whose payment deadline is `deadlineInMs` from the clock's now. */
async function reserved(w: World, deadlineInMs: number): Promise<StoredOrder> {
  const order = await placed(w);
  const paymentDeadline = new Date(w.clock.now().getTime() + deadlineInMs).toISOString();
  const moved = await w.orders.transition({ orderId: order.orderId, from: ['PENDING'], to: 'RESERVED', at: w.clock.now(), set: { paymentDeadline }, stock: { effect: 'reserve', lines: order.items } });
  expect(moved.ok).toBe(true);
  return (await w.orders.get(order.orderId))!;
}

describe('republishOrFlag', () => {
  /** The sweep's settings in these tests: each copy gets 60 s. */
  const settings = (maxRepublishAttempts: number) => ({ maxRepublishAttempts, stalePendingAfterSeconds: 60 });

  test('republishes OrderPlaced up to maxAttempts, a copy each stalePendingAfterSeconds, then moves the order to NEEDS_ATTENTION', async () => {
    const w = world(tables());
    const order = await placed(w);
    w.events.published.length = 0;

    const outcomes = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push((await republishOrFlag(order.orderId, settings(2), deps(w))).outcome);
      w.clock.advance(60_000);
    }

    expect(outcomes).toEqual(['republished', 'republished', 'needs-attention', 'settled-meanwhile']);
    expect(w.events.types()).toEqual(['OrderPlaced', 'OrderPlaced']);
    expect(w.events.published.every((e) => e.detail.eventId === `${order.orderId}:OrderPlaced`)).toBe(true);
    expect(await w.orders.get(order.orderId)).toMatchObject({ status: 'NEEDS_ATTENTION', republishCount: 2, attention: { reason: expect.stringContaining('re-published 2 times') } });
  });

  test('a copy gets as long as the first event had: a sweep before that neither re-publishes nor flags', async () => {
    const w = world(tables());
    const order = await placed(w);
    w.events.published.length = 0;

    expect(await republishOrFlag(order.orderId, settings(1), deps(w))).toMatchObject({ outcome: 'republished' });
    const republished = (await w.orders.get(order.orderId))!;
    expect(republished.republishedAt).toBe(w.clock.now().toISOString());
    w.clock.advance(59_999);
    // The sweep runs again (every few seconds, or its queue is behind): the copy may still be waiting in the queue.
    expect(await republishOrFlag(order.orderId, settings(1), deps(w))).toMatchObject({ outcome: 'waiting' });
    expect(await republishOrFlag(order.orderId, settings(3), deps(w))).toMatchObject({ outcome: 'waiting' });
    expect(w.events.published).toHaveLength(1);
    expect(await w.orders.get(order.orderId)).toEqual(republished);
    w.clock.advance(1);
    expect(await republishOrFlag(order.orderId, settings(1), deps(w))).toMatchObject({ outcome: 'needs-attention' });
  });

  test('an order that got its outcome meanwhile is left alone', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    expect(await republishOrFlag(order.orderId, settings(3), deps(w))).toEqual({ orderId: order.orderId, action: 'republish', outcome: 'settled-meanwhile' });
    expect(await w.orders.get(order.orderId)).toEqual(order);
    expect(w.events.published).toEqual([]);
  });

  test('a failed publish does not use up an attempt', async () => {
    const w = world(tables());
    const order = await placed(w);
    w.events.failNext = 1;
    await expect(republishOrFlag(order.orderId, settings(1), deps(w))).rejects.toBeInstanceOf(PublishError);
    expect((await w.orders.get(order.orderId))?.status).toBe('PENDING');
    expect(await republishOrFlag(order.orderId, settings(1), deps(w))).toMatchObject({ outcome: 'republished' });
  });

  test('a missing order is neither published nor created', async () => {
    const w = world(tables());
    const result = await republishOrFlag('ord_none', settings(3), deps(w));
    expect(['republished', 'needs-attention']).not.toContain(result.outcome);
    expect(w.events.published).toEqual([]);
    expect(await w.orders.get('ord_none')).toBeUndefined();
  });
});

describe('expireReservation', () => {
  test('a RESERVED order past its deadline is cancelled with PAYMENT_TIMEOUT and its stock given back, in one transaction', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    const sku = order.items[0]!.sku;
    expect(await w.stock.get(sku)).toMatchObject({ available: 4, reserved: 1 });
    w.clock.advance(60_000);

    expect(await expireReservation(order.orderId, deps(w))).toEqual({ orderId: order.orderId, action: 'expire', outcome: 'cancelled' });

    const at = w.clock.now().toISOString();
    expect(await w.orders.get(order.orderId)).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' }, statusChangedAt: at });
    expect(await w.stock.get(sku)).toMatchObject({ available: 5, reserved: 0, sold: 0 });
    // OrderCancelled comes from the stream record of that write.
    expect(w.events.published).toEqual([]);
  });

  test('a RESERVED order not yet past its deadline is left alone', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    w.clock.advance(59_999);
    expect(await expireReservation(order.orderId, deps(w))).toMatchObject({ outcome: 'left-RESERVED' });
    expect(await w.orders.get(order.orderId)).toEqual(order);
  });

  test('a PAID order is left alone, its sale kept', async () => {
    const w = world(tables());
    const order = await reserved(w, 60_000);
    await confirmPayment(order.orderId, { paymentId: 'pay-in-time' }, service(), deps(w));
    w.clock.advance(120_000);

    expect(await expireReservation(order.orderId, deps(w))).toMatchObject({ outcome: 'left-PAID' });
    expect((await w.orders.get(order.orderId))?.status).toBe('PAID');
    expect(await w.stock.get(order.items[0]!.sku)).toMatchObject({ available: 4, reserved: 0, sold: 1 });
  });

  test('a retry after its own cancel changes nothing and gives nothing back twice', async () => {
    const w = world(tables());
    const order = await reserved(w, 1000);
    w.clock.advance(5000);
    await expireReservation(order.orderId, deps(w));
    w.clock.advance(1000);

    expect(await expireReservation(order.orderId, deps(w))).toMatchObject({ outcome: 'left-CANCELLED' });
    expect(await w.stock.get(order.items[0]!.sku)).toMatchObject({ available: 5, reserved: 0 });
  });

  test('a payment between the read and the write wins: the order stays PAID', async () => {
    const w = world(tables());
    const order = await reserved(w, 1000);
    w.clock.advance(5000);
    const racing = racedOnce(w.orders, () => confirmPayment(order.orderId, { paymentId: 'pay-just-in-time' }, service(), deps(w)));
    expect(await expireReservation(order.orderId, { ...deps(w), orders: racing })).toMatchObject({ outcome: 'left-PAID' });
    expect(await w.stock.get(order.items[0]!.sku)).toMatchObject({ available: 4, reserved: 0, sold: 1 });
  });

  test('a missing order is reported, not created', async () => {
    const w = world(tables());
    expect(await expireReservation('ord_vanished', deps(w))).toMatchObject({ outcome: 'left-missing' });
    expect(await w.orders.get('ord_vanished')).toBeUndefined();
  });
});

describe('summarise', () => {
  test('counts what was found, each outcome, and each failure with its cause', () => {
    const summary = summarise([
      { orderId: 'o1', action: 'republish', outcome: 'republished' },
      { orderId: 'o2', action: 'republish', outcome: 'republished' },
      { orderId: 'o3', action: 'expire', outcome: 'left-PAID' },
      { orderId: 'o4', action: 'republish', outcome: 'needs-attention' },
      { orderId: 'o5', action: 'expire', outcome: 'cancelled' },
      { orderId: 'o6', action: 'expire', error: { Error: 'ContentionError', Cause: 'the transaction was cancelled 6 times for contention' } },
      { orderId: 'o7', action: 'republish', error: { Error: 'States.Timeout' } },
      { orderId: 'o8', action: 'republish', error: new Error('boom') },
    ]);

    expect(summary).toEqual({
      found: { republish: 5, expire: 3 },
      outcomes: { 'republish:republished': 2, 'expire:left-PAID': 1, 'republish:needs-attention': 1, 'expire:cancelled': 1 },
      failed: 3,
      failures: [
        { orderId: 'o6', action: 'expire', error: 'ContentionError: the transaction was cancelled 6 times for contention' },
        { orderId: 'o7', action: 'republish', error: 'States.Timeout' },
        { orderId: 'o8', action: 'republish', error: 'Error: boom' },
      ],
    });
  });

  test('nothing to do is an empty summary', () => {
    expect(summarise([])).toEqual({ found: { republish: 0, expire: 0 }, outcomes: {}, failed: 0, failures: [] });
  });

  test('long causes are cut to 500 characters', () => {
    const summary = summarise([{ orderId: 'o', action: 'expire', error: { Error: 'E', Cause: 'x'.repeat(2000) } }]);
    expect(summary.failures[0]!.error).toHaveLength(500);
  });
});

