import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderRepository, isConditionFailure } from '../../../functions/adapters/dynamodb-order-repository';
import { ValidationError } from '../../../functions/domain/errors';
import { eraClocks, storedOrder, T0, uid, useLocalTables } from '../domain/fixtures';

const tables = useLocalTables();
const repo = () => new DynamoDbOrderRepository(tables().client, tables().names.orders);
const iso = (base: Date, seconds: number) => new Date(base.getTime() + seconds * 1000).toISOString();

describe('create / get', () => {
  test('create is conditional: a second create of the same id is "exists" and does not overwrite', async () => {
    const orders = repo();
    const order = storedOrder({ customerId: 'c-first' });

    expect(await orders.create(order)).toBe('created');
    expect(await orders.create({ ...order, customerId: 'c-second', items: [{ sku: 'other', quantity: 9 }] })).toBe('exists');

    expect(await orders.get(order.orderId)).toEqual(order);
  });

  test('get of a missing order is undefined', async () => {
    expect(await repo().get(uid('ord-missing'))).toBeUndefined();
  });
});

describe('transition', () => {
  test('applies from an allowed state, writes status, times and extra attributes, returns the new order', async () => {
    const orders = repo();
    const order = storedOrder();
    await orders.create(order);
    const at = new Date('2026-01-01T00:01:00.000Z');

    const moved = await orders.transition({ orderId: order.orderId, from: ['PENDING', 'NEEDS_ATTENTION'], to: 'RESERVED', at, set: { paymentDeadline: '2026-01-01T00:16:00.000Z' } });

    const expected = { ...order, status: 'RESERVED', updatedAt: at.toISOString(), statusChangedAt: at.toISOString(), paymentDeadline: '2026-01-01T00:16:00.000Z' };
    expect(moved).toEqual(expected);
    expect(await orders.get(order.orderId)).toEqual(expected);
  });

  test('several attributes, nested values, in one write', async () => {
    const orders = repo();
    const order = storedOrder({ status: 'RESERVED' });
    await orders.create(order);
    const moved = await orders.transition({ orderId: order.orderId, from: ['RESERVED'], to: 'CANCELLED', at: new Date(T0), set: { cancellation: { reason: 'PAYMENT_TIMEOUT' }, paymentId: 'x' } });
    expect(moved).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' }, paymentId: 'x' });
  });

  test('from a state not allowed: undefined, nothing written', async () => {
    const orders = repo();
    const order = storedOrder({ status: 'PENDING' });
    await orders.create(order);

    expect(await orders.transition({ orderId: order.orderId, from: ['RESERVED'], to: 'PAID', at: new Date(), set: { paymentId: 'p' } })).toBeUndefined();
    expect(await orders.get(order.orderId)).toEqual(order);
  });

  test('a missing order: undefined, and no item is created', async () => {
    const orders = repo();
    const orderId = uid('ord-none');
    expect(await orders.transition({ orderId, from: ['PENDING'], to: 'CANCELLED', at: new Date() })).toBeUndefined();
    expect(await orders.get(orderId)).toBeUndefined();
  });

  test('deadlinePassedAt: only once the payment deadline has passed (inclusive)', async () => {
    const orders = repo();
    const deadline = new Date('2026-01-01T00:15:00.000Z');
    const order = storedOrder({ status: 'RESERVED', paymentDeadline: deadline.toISOString() });
    await orders.create(order);
    const expire = (at: Date) => orders.transition({ orderId: order.orderId, from: ['RESERVED'], to: 'CANCELLED', at, deadlinePassedAt: at });

    expect(await expire(new Date(deadline.getTime() - 1))).toBeUndefined();
    expect((await orders.get(order.orderId))?.status).toBe('RESERVED');
    expect(await expire(deadline)).toMatchObject({ status: 'CANCELLED' });
  });

  test('deadlinePassedAt on an order without a deadline never applies', async () => {
    const orders = repo();
    const order = storedOrder({ status: 'RESERVED' });
    await orders.create(order);
    expect(await orders.transition({ orderId: order.orderId, from: ['RESERVED'], to: 'CANCELLED', at: new Date('2099-01-01'), deadlinePassedAt: new Date('2099-01-01') })).toBeUndefined();
  });
});

describe('unpublished marks', () => {
  test('mark and clear; clearing another event type leaves the mark', async () => {
    const orders = repo();
    const order = storedOrder();
    await orders.create(order);

    await orders.markUnpublished(order.orderId, 'OrderPlaced');
    expect((await orders.get(order.orderId))?.unpublishedEvent).toBe('OrderPlaced');

    await orders.clearUnpublished(order.orderId, 'OrderCancelled');
    expect((await orders.get(order.orderId))?.unpublishedEvent).toBe('OrderPlaced');

    await orders.clearUnpublished(order.orderId, 'OrderPlaced');
    expect(await orders.get(order.orderId)).toEqual(order);
  });

  test('marking a missing order fails and creates nothing; clearing one is a no-op', async () => {
    const orders = repo();
    const orderId = uid('ord-none');
    const error = await orders.markUnpublished(orderId, 'OrderPlaced').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isConditionFailure(error)).toBe(true);
    await expect(orders.clearUnpublished(orderId, 'OrderPlaced')).resolves.toBeUndefined();
    expect(await orders.get(orderId)).toBeUndefined();
  });
});

describe('countRepublish', () => {
  test('counts while below max and PENDING, then refuses', async () => {
    const orders = repo();
    const order = storedOrder();
    await orders.create(order);
    const at = new Date('2026-01-01T00:10:00.000Z');

    expect(await orders.countRepublish(order.orderId, 2, at)).toBe(true);
    expect(await orders.countRepublish(order.orderId, 2, at)).toBe(true);
    expect(await orders.countRepublish(order.orderId, 2, at)).toBe(false);

    expect(await orders.get(order.orderId)).toEqual({ ...order, republishCount: 2, updatedAt: at.toISOString() });
  });

  test('never for an order that is not PENDING, nor a missing one', async () => {
    const orders = repo();
    const order = storedOrder({ status: 'RESERVED' });
    await orders.create(order);
    expect(await orders.countRepublish(order.orderId, 5, new Date())).toBe(false);
    expect(await orders.get(order.orderId)).toEqual(order);

    const ghost = uid('ord-none');
    expect(await orders.countRepublish(ghost, 5, new Date())).toBe(false);
    expect(await orders.get(ghost)).toBeUndefined();
  });
});

describe('listByCustomer', () => {
  test('newest first, paged with a cursor that only this customer can use', async () => {
    const orders = repo();
    const customerId = uid('cust');
    const base = new Date(T0);
    const created = [];
    for (let i = 0; i < 5; i++) {
      const order = storedOrder({ customerId, createdAt: iso(base, i) });
      await orders.create(order);
      created.push(order.orderId);
    }
    await orders.create(storedOrder({ customerId: uid('cust'), createdAt: iso(base, 10) }));

    const first = await orders.listByCustomer(customerId, 2);
    const second = await orders.listByCustomer(customerId, 2, first.cursor);
    const third = await orders.listByCustomer(customerId, 2, second.cursor);

    expect([first, second, third].map((p) => p.orders.map((o) => o.orderId))).toEqual([
      [created[4], created[3]],
      [created[2], created[1]],
      [created[0]],
    ]);
    expect(third.cursor).toBeUndefined();
    await expect(orders.listByCustomer(uid('cust'), 2, first.cursor)).rejects.toBeInstanceOf(ValidationError);
    await expect(orders.listByCustomer(customerId, 2, 'garbage')).rejects.toBeInstanceOf(ValidationError);
  });

  const token = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');
  test.each([
    ['without the sort key', { orderId: 'ord_x', customerId: 'c-forge' }],
    ['with a sort key of the wrong type', { orderId: 'ord_x', customerId: 'c-forge', createdAt: 5 }],
    ['with an extra attribute', { orderId: 'ord_x', customerId: 'c-forge', createdAt: T0, status: 'PAID' }],
    ['without the order id', { customerId: 'c-forge', createdAt: T0 }],
    ['for another customer', { orderId: 'ord_x', customerId: 'c-other', createdAt: T0 }],
  ])('a forged cursor %s is a ValidationError (never a DynamoDB error)', async (_name, key) => {
    const error = await repo().listByCustomer('c-forge', 2, token(key)).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems).toEqual([{ field: 'nextToken', message: 'nextToken is not a token this listing returned' }]);
  });

  test('a well-formed cursor of this customer is accepted', async () => {
    expect(await repo().listByCustomer('c-forge', 2, token({ orderId: 'ord_x', customerId: 'c-forge', createdAt: T0 }))).toEqual({ orders: [], cursor: undefined });
  });

  test('an unknown customer has no orders', async () => {
    expect(await repo().listByCustomer(uid('cust'), 10)).toEqual({ orders: [], cursor: undefined });
  });
});

describe('index queries', () => {
  // Each test takes an era one year earlier than the previous one, so other tests' orders are never "before".
  const nextEra = eraClocks(1989);

  test('findInStatusSince: that status only, older than `before` (exclusive), oldest first, up to limit', async () => {
    const orders = repo();
    const t0 = nextEra().now();
    const at = (s: number) => iso(t0, s);
    const o3 = storedOrder({ statusChangedAt: at(3) });
    const o1 = storedOrder({ statusChangedAt: at(1) });
    const o2 = storedOrder({ statusChangedAt: at(2) });
    const atCutoff = storedOrder({ statusChangedAt: at(5) });
    const later = storedOrder({ statusChangedAt: at(10) });
    const otherStatus = storedOrder({ status: 'RESERVED', statusChangedAt: at(1) });
    for (const o of [o3, o1, o2, atCutoff, later, otherStatus]) await orders.create(o);
    const before = new Date(at(5));

    expect((await orders.findInStatusSince('PENDING', before, 10)).map((o) => o.orderId)).toEqual([o1.orderId, o2.orderId, o3.orderId]);
    expect((await orders.findInStatusSince('PENDING', before, 2)).map((o) => o.orderId)).toEqual([o1.orderId, o2.orderId]);
    expect((await orders.findInStatusSince('RESERVED', before, 10)).map((o) => o.orderId)).toEqual([otherStatus.orderId]);
    expect(await orders.findInStatusSince('PAID', before, 10)).toEqual([]);
    // Whole items come back (the index projects everything).
    expect((await orders.findInStatusSince('PENDING', before, 1))[0]).toEqual(o1);
  });

  test('findInStatusSince queries the byStatus index and never scans', async () => {
    const { client } = tables();
    const orders = repo();
    const send = jest.spyOn(client, 'send');
    try {
      await orders.findInStatusSince('PENDING', nextEra().now(), 5);
      await orders.findUnpublished('OrderPlaced', new Date(), 5);
      const commands = send.mock.calls.map(([command]) => command);
      expect(commands.some((c) => c instanceof ScanCommand)).toBe(false);
      expect(commands.map((c) => (c instanceof QueryCommand ? c.input.IndexName : c.constructor.name))).toEqual(['byStatus', 'byUnpublishedEvent']);
    } finally {
      send.mockRestore();
    }
  });

  test('findUnpublished: a sparse index of marked orders, per event type, oldest first', async () => {
    const orders = repo();
    const t0 = nextEra().now();
    const at = (s: number) => iso(t0, s);
    const placedLate = storedOrder({ statusChangedAt: at(2) });
    const placedEarly = storedOrder({ statusChangedAt: at(1) });
    const paid = storedOrder({ status: 'PAID', statusChangedAt: at(1) });
    const unmarked = storedOrder({ statusChangedAt: at(1) });
    const tooYoung = storedOrder({ statusChangedAt: at(30) });
    for (const o of [placedLate, placedEarly, paid, unmarked, tooYoung]) await orders.create(o);
    await orders.markUnpublished(placedLate.orderId, 'OrderPlaced');
    await orders.markUnpublished(placedEarly.orderId, 'OrderPlaced');
    await orders.markUnpublished(paid.orderId, 'OrderPaid');
    await orders.markUnpublished(tooYoung.orderId, 'OrderPlaced');
    const before = new Date(at(20));

    expect((await orders.findUnpublished('OrderPlaced', before, 10)).map((o) => o.orderId)).toEqual([placedEarly.orderId, placedLate.orderId]);
    expect((await orders.findUnpublished('OrderPaid', before, 10)).map((o) => o.orderId)).toEqual([paid.orderId]);
    expect(await orders.findUnpublished('OrderCancelled', before, 10)).toEqual([]);

    await orders.clearUnpublished(placedEarly.orderId, 'OrderPlaced');
    expect((await orders.findUnpublished('OrderPlaced', before, 10)).map((o) => o.orderId)).toEqual([placedLate.orderId]);
  });
});

test('isConditionFailure recognises only a failed condition', () => {
  expect(isConditionFailure(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }))).toBe(true);
  expect(isConditionFailure({ name: 'ConditionalCheckFailedException' })).toBe(true);
  expect(isConditionFailure(new Error('ConditionalCheckFailedException'))).toBe(false);
  expect(isConditionFailure({ name: 'ProvisionedThroughputExceededException' })).toBe(false);
  expect(isConditionFailure(undefined)).toBe(false);
});
