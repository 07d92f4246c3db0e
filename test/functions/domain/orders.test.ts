import { Caller } from '../../../functions/domain/caller';
import { ForbiddenError, NotFoundError, StateConflictError, ValidationError } from '../../../functions/domain/errors';
import { OrderStatus } from '../../../functions/domain/order';
import { OrderDeps, cancelOrder, confirmPayment, getOrder, listOrders, placeOrder } from '../../../functions/domain/orders';
import { StoredOrder } from '../../../functions/domain/ports';
import { customer, racedOnce, rejection, service, T0, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();

function deps(w: World): OrderDeps {
  return { orders: w.orders, events: w.events, clock: w.clock };
}

/** A PENDING order of 2 units of its own SKU, stocked with 10. */
async function placed(w: World, customerId = uid('cust')): Promise<StoredOrder> {
  const sku = uid('sku');
  await w.stock.set(sku, 10);
  const { order } = await placeOrder(
    { caller: service(), idempotencyKey: uid('key'), body: { customerId, items: [{ sku, quantity: 2 }] }, correlationId: 'corr-1' },
    deps(w),
  );
  return order;
}

/** Moves a PENDING order along the saga with the repository's own writes (stock moved as the saga moves it). */
async function inStatus(w: World, status: OrderStatus, customerId?: string): Promise<StoredOrder> {
  const order = await placed(w, customerId);
  const at = w.clock.now();
  const move = (from: OrderStatus, to: OrderStatus, set?: Parameters<World['orders']['transition']>[0]['set'], stock?: 'reserve' | 'settle') =>
    w.orders.transition({ orderId: order.orderId, from: [from], to, at, set, stock: stock && { effect: stock, lines: order.items } });
  if (status === 'RESERVED' || status === 'PAID') await move('PENDING', 'RESERVED', { paymentDeadline: new Date(at.getTime() + 900_000).toISOString() }, 'reserve');
  if (status === 'PAID') await move('RESERVED', 'PAID', { paymentId: 'pay-earlier' }, 'settle');
  if (status === 'REJECTED') await move('PENDING', 'REJECTED', { rejection: { reason: 'OUT_OF_STOCK', sku: 'sku-a' } });
  if (status === 'CANCELLED') await move('PENDING', 'CANCELLED', { cancellation: { reason: 'CUSTOMER' } });
  if (status === 'NEEDS_ATTENTION') await move('PENDING', 'NEEDS_ATTENTION');
  const current = await w.orders.get(order.orderId);
  expect(current?.status).toBe(status);
  return current!;
}

describe('getOrder', () => {
  test('the owner, an admin customer and a service see the order', async () => {
    const w = world(tables());
    const order = await placed(w, 'c-owner');
    for (const caller of [customer('c-owner'), customer('c-admin', ['orders/admin']), service()]) {
      expect(await getOrder(order.orderId, caller, deps(w))).toEqual(order);
    }
  });

  test("another customer's order is reported exactly like a missing one (404)", async () => {
    const w = world(tables());
    const order = await placed(w, 'c-owner');
    const foreign = await rejection(getOrder(order.orderId, customer('c-stranger', ['orders/payments']), deps(w)), NotFoundError);
    const missing = await rejection(getOrder('ord_missing', customer('c-stranger'), deps(w)), NotFoundError);
    expect(foreign.message).toBe(`order ${order.orderId} does not exist`);
    expect(missing.message).toBe('order ord_missing does not exist');
  });
});

describe('listOrders', () => {
  async function placeSeries(w: World, customerId: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push((await placed(w, customerId)).orderId);
      w.clock.advance(1000);
    }
    return ids;
  }

  async function allPages(w: World, customerId: string, limit: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await listOrders({ customerId, limit: String(limit), nextToken }, service(), deps(w));
      expect(page.orders.length).toBeLessThanOrEqual(limit);
      ids.push(...page.orders.map((o) => o.orderId));
      nextToken = page.cursor;
      pages++;
      if (pages > 20) throw new Error('paging does not end');
    } while (nextToken);
    return { ids, pages };
  }

  test("newest first, only the customer's orders", async () => {
    const w = world(tables());
    const customerId = uid('cust');
    const ids = await placeSeries(w, customerId, 4);
    await placed(w, uid('someone-else'));

    const page = await listOrders({ customerId }, service(), deps(w));

    expect(page.orders.map((o) => o.orderId)).toEqual([...ids].reverse());
    expect(page.orders.every((o) => o.customerId === customerId)).toBe(true);
    expect(page.cursor).toBeUndefined();
  });

  test.each([1, 2, 3, 7])('pages of %s walk every order once, newest first', async (limit) => {
    const w = world(tables());
    const customerId = uid('cust');
    const ids = await placeSeries(w, customerId, 7);

    const { ids: listed, pages } = await allPages(w, customerId, limit);

    expect(listed).toEqual([...ids].reverse());
    expect(new Set(listed).size).toBe(7);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(7 / limit));
  });

  test('a customer lists its own orders without naming itself', async () => {
    const w = world(tables());
    const customerId = uid('cust');
    const ids = await placeSeries(w, customerId, 2);
    const page = await listOrders({}, customer(customerId), deps(w));
    expect(page.orders.map((o) => o.orderId)).toEqual([...ids].reverse());
  });

  test("a customer may not list another customer's orders", async () => {
    const w = world(tables());
    await rejection(listOrders({ customerId: 'c-other' }, customer('c-me'), deps(w)), ForbiddenError);
  });

  test('a service must name the customer', async () => {
    const w = world(tables());
    const error = await rejection(listOrders({}, service(), deps(w)), ValidationError);
    expect(error.problems.map((p) => p.field)).toEqual(['customerId']);
  });

  test.each(['0', '101', '-1', '1.5', 'abc', ''])('limit %p -> ValidationError on limit', async (limit) => {
    const w = world(tables());
    const error = await rejection(listOrders({ customerId: 'c-1', limit }, service(), deps(w)), ValidationError);
    expect(error.problems).toEqual([{ field: 'limit', message: 'limit must be an integer from 1 to 100' }]);
  });

  test('both a missing customer and a bad limit are reported together', async () => {
    const w = world(tables());
    const error = await rejection(listOrders({ limit: '0' }, service(), deps(w)), ValidationError);
    expect(error.problems.map((p) => p.field).sort()).toEqual(['customerId', 'limit']);
  });

  test.each(['1', '100'])('limit %p is accepted', async (limit) => {
    const w = world(tables());
    await expect(listOrders({ customerId: uid('cust'), limit }, service(), deps(w))).resolves.toEqual({ orders: [], cursor: undefined });
  });

  test.each([
    ['garbage', 'not a token!'],
    ['base64 of a non-object', Buffer.from('[1,2]').toString('base64url')],
    ['base64 of non-JSON', Buffer.from('{{{').toString('base64url')],
  ])('a bad nextToken (%s) -> ValidationError on nextToken', async (_name, nextToken) => {
    const w = world(tables());
    const error = await rejection(listOrders({ customerId: 'c-1', nextToken }, service(), deps(w)), ValidationError);
    expect(error.problems.map((p) => p.field)).toEqual(['nextToken']);
  });

  test("a nextToken from another customer's listing is refused", async () => {
    const w = world(tables());
    const a = uid('cust');
    await placeSeries(w, a, 3);
    const first = await listOrders({ customerId: a, limit: '1' }, service(), deps(w));
    expect(first.cursor).toEqual(expect.any(String));

    const error = await rejection(listOrders({ customerId: uid('cust'), nextToken: first.cursor }, service(), deps(w)), ValidationError);
    expect(error.problems.map((p) => p.field)).toEqual(['nextToken']);
  });
});

describe('cancelOrder', () => {
  test('from PENDING -> CANCELLED in one conditional write; nothing published (the stream carries OrderCancelled)', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'PENDING', 'c-cancel');
    w.clock.advance(10_000);

    const result = await cancelOrder(order.orderId, customer('c-cancel'), deps(w));

    const at = '2026-01-01T00:00:10.000Z';
    expect(result.replayed).toBe(false);
    expect(result.order).toMatchObject({ orderId: order.orderId, status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' }, statusChangedAt: at, updatedAt: at });
    expect(await w.orders.get(order.orderId)).toEqual(result.order);
    expect(w.events.published).toEqual([]);
  });

  test('from RESERVED -> CANCELLED and its stock given back, in one transaction', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED', 'c-cancel');
    const sku = order.items[0]!.sku;
    expect(await w.stock.get(sku)).toMatchObject({ available: 8, reserved: 2 });

    const result = await cancelOrder(order.orderId, customer('c-cancel'), deps(w));

    expect(result.order).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' }, paymentDeadline: order.paymentDeadline });
    expect(await w.orders.get(order.orderId)).toEqual(result.order);
    expect(await w.stock.get(sku)).toMatchObject({ available: 10, reserved: 0, sold: 0 });
  });

  test('from NEEDS_ATTENTION (a stuck order holds no stock) -> CANCELLED', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'NEEDS_ATTENTION');
    expect((await cancelOrder(order.orderId, service(), deps(w))).order.status).toBe('CANCELLED');
  });

  test('a retry of a cancel already made answers the order as replayed and publishes OrderCancelled again, once', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED', 'c-cancel');
    const first = await cancelOrder(order.orderId, customer('c-cancel'), deps(w));
    const sku = order.items[0]!.sku;
    w.clock.advance(60_000);

    const again = await cancelOrder(order.orderId, customer('c-cancel'), deps(w));

    expect(again).toEqual({ order: first.order, replayed: true });
    expect(w.events.published).toEqual([
      {
        type: 'OrderCancelled',
        detail: {
          eventId: `${order.orderId}:OrderCancelled`,
          orderId: order.orderId,
          customerId: 'c-cancel',
          correlationId: 'corr-1',
          occurredAt: first.order.statusChangedAt,
          items: order.items,
          reason: 'CUSTOMER',
        },
      },
    ]);
    // Given back once, not twice.
    expect(await w.stock.get(sku)).toMatchObject({ available: 10, reserved: 0 });
  });

  test('a retry whose re-publish fails still answers (the change and its stream record stand)', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'PENDING');
    await cancelOrder(order.orderId, service(), deps(w));
    w.events.failNext = 1;
    expect(await cancelOrder(order.orderId, service(), deps(w))).toMatchObject({ replayed: true, order: { status: 'CANCELLED' } });
  });

  test.each<OrderStatus>(['PAID', 'REJECTED'])('from %s -> StateConflictError with currentStatus, nothing changed', async (status) => {
    const w = world(tables());
    const order = await inStatus(w, status);

    const error = await rejection(cancelOrder(order.orderId, service(), deps(w)), StateConflictError);

    expect(error.currentStatus).toBe(status);
    expect(error.message).toContain(status);
    expect(await w.orders.get(order.orderId)).toEqual(order);
    expect(w.events.published).toEqual([]);
  });

  test('a reservation that lands between the read and the write: the cancel decides again and gives the stock back', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'PENDING');
    const sku = order.items[0]!.sku;
    // The inventory consumer reserves right after the cancel read PENDING: the PENDING-only write fails, is re-decided.
    const racing = racedOnce(w.orders, () => w.orders.transition({ orderId: order.orderId, from: ['PENDING'], to: 'RESERVED', at: w.clock.now(), set: { paymentDeadline: T0 }, stock: { effect: 'reserve', lines: order.items } }));

    const result = await cancelOrder(order.orderId, service(), { ...deps(w), orders: racing });

    expect(result.order.status).toBe('CANCELLED');
    expect(await w.stock.get(sku)).toMatchObject({ available: 10, reserved: 0 });
  });

  test("another customer's order -> NotFoundError, still PENDING", async () => {
    const w = world(tables());
    const order = await placed(w, 'c-owner');
    await rejection(cancelOrder(order.orderId, customer('c-stranger'), deps(w)), NotFoundError);
    expect((await w.orders.get(order.orderId))?.status).toBe('PENDING');
  });

  test('a missing order -> NotFoundError', async () => {
    const w = world(tables());
    await rejection(cancelOrder('ord_nope', service(), deps(w)), NotFoundError);
    expect(await w.orders.get('ord_nope')).toBeUndefined();
  });
});

describe('confirmPayment', () => {
  const payer: Caller = customer('c-payments-service', ['orders/payments']);

  test('RESERVED -> PAID and the held units sold, in one transaction; nothing published (the stream carries OrderPaid)', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED', 'c-pay');
    w.clock.advance(5000);

    const result = await confirmPayment(order.orderId, { paymentId: 'pay-1' }, payer, deps(w));

    expect(result.replayed).toBe(false);
    expect(result.order).toMatchObject({ status: 'PAID', paymentId: 'pay-1', statusChangedAt: '2026-01-01T00:00:05.000Z' });
    expect(await w.orders.get(order.orderId)).toEqual(result.order);
    expect(await w.stock.get(order.items[0]!.sku)).toMatchObject({ available: 8, reserved: 0, sold: 2 });
    expect(w.events.published).toEqual([]);
  });

  test('the same paymentId again is a replay: OrderPaid published again, nothing sold twice', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED');
    const first = await confirmPayment(order.orderId, { paymentId: 'pay-2' }, service(), deps(w));
    w.clock.advance(60_000);

    const again = await confirmPayment(order.orderId, { paymentId: 'pay-2' }, service(), deps(w));

    expect(again).toEqual({ order: first.order, replayed: true });
    expect(w.events.published.map((e) => [e.type, e.detail.eventId, 'paymentId' in e.detail ? e.detail.paymentId : undefined])).toEqual([['OrderPaid', `${order.orderId}:OrderPaid`, 'pay-2']]);
    expect(await w.stock.get(order.items[0]!.sku)).toMatchObject({ available: 8, reserved: 0, sold: 2 });
  });

  test('a different paymentId on a PAID order -> StateConflictError', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED');
    await confirmPayment(order.orderId, { paymentId: 'pay-3' }, service(), deps(w));

    const error = await rejection(confirmPayment(order.orderId, { paymentId: 'pay-other' }, service(), deps(w)), StateConflictError);

    expect(error.currentStatus).toBe('PAID');
    expect(error.message).toContain('pay-3');
    expect((await w.orders.get(order.orderId))?.paymentId).toBe('pay-3');
  });

  test.each<OrderStatus>(['PENDING', 'REJECTED', 'CANCELLED', 'NEEDS_ATTENTION'])('from %s -> StateConflictError, nothing published', async (status) => {
    const w = world(tables());
    const order = await inStatus(w, status);

    const error = await rejection(confirmPayment(order.orderId, { paymentId: 'pay-4' }, service(), deps(w)), StateConflictError);

    expect(error.currentStatus).toBe(status);
    expect(await w.orders.get(order.orderId)).toEqual(order);
    expect(w.events.published).toEqual([]);
  });

  test('a cancel that lands between the read and the write: 409 CANCELLED, nothing sold', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED');
    const racing = racedOnce(w.orders, () => cancelOrder(order.orderId, service(), deps(w)));

    const error = await rejection(confirmPayment(order.orderId, { paymentId: 'pay-late' }, service(), { ...deps(w), orders: racing }), StateConflictError);

    expect(error.currentStatus).toBe('CANCELLED');
    expect(await w.stock.get(order.items[0]!.sku)).toMatchObject({ available: 10, reserved: 0, sold: 0 });
  });

  test('a missing order -> NotFoundError, and no item is created', async () => {
    const w = world(tables());
    await rejection(confirmPayment('ord_ghost', { paymentId: 'pay-5' }, service(), deps(w)), NotFoundError);
    expect(await w.orders.get('ord_ghost')).toBeUndefined();
  });

  test.each([
    ['no paymentId', {}, 'paymentId', 'paymentId is required'],
    ['empty paymentId', { paymentId: '' }, 'paymentId', 'paymentId must be 1 to 255 characters'],
    ['paymentId not a string', { paymentId: 12 }, 'paymentId', 'paymentId must be a string'],
    ['unknown field', { paymentId: 'p', amount: 3 }, '(body)', 'unknown field(s): amount'],
  ])('%s -> ValidationError', async (_name, body, field, message) => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED');
    const error = await rejection(confirmPayment(order.orderId, body, service(), deps(w)), ValidationError);
    expect(error.problems).toEqual([{ field, message }]);
    expect((await w.orders.get(order.orderId))?.status).toBe('RESERVED');
  });

  test('a customer without the payments scope -> ForbiddenError, even for its own order', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED', 'c-own');
    await rejection(confirmPayment(order.orderId, { paymentId: 'pay-6' }, customer('c-own'), deps(w)), ForbiddenError);
    expect((await w.orders.get(order.orderId))?.status).toBe('RESERVED');
  });

  test('a customer with the admin scope may confirm', async () => {
    const w = world(tables());
    const order = await inStatus(w, 'RESERVED');
    const result = await confirmPayment(order.orderId, { paymentId: 'pay-7' }, customer('c-ops', ['orders/admin']), deps(w));
    expect(result.order.status).toBe('PAID');
  });
});
