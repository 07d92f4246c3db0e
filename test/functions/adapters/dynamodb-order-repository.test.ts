import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderRepository, isConditionFailure } from '../../../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';
import { ContentionError, ValidationError } from '../../../functions/domain/errors';
import { OrderLine } from '../../../functions/domain/order';
import { StoredOrder } from '../../../functions/domain/ports';
import { transactionConflict } from '../../support/interleaving';
import { eraClocks, storedOrder, T0, uid, useLocalTables } from '../domain/fixtures';

const tables = useLocalTables();
const repo = (options = {}) => new DynamoDbOrderRepository(tables().client, tables().names.orders, tables().names.inventory, options);
const stock = () => new DynamoDbStockRepository(tables().client, tables().names.inventory, tables().names.idempotency);
const iso = (base: Date, seconds: number) => new Date(base.getTime() + seconds * 1000).toISOString();

/** The raw item, index bookkeeping included. */
async function rawItem(orderId: string) {
  return (await tables().client.send(new GetCommand({ TableName: tables().names.orders, Key: { orderId }, ConsistentRead: true }))).Item;
}

async function stocked(...available: number[]): Promise<string[]> {
  const skus = available.map(() => uid('sku'));
  for (const [i, sku] of skus.entries()) expect((await stock().set(sku, available[i]!)).outcome).toBe('created');
  return skus;
}

async function counters(skus: string[]) {
  return Promise.all(skus.map(async (sku) => {
    const level = (await stock().get(sku))!;
    return { available: level.available, reserved: level.reserved, sold: level.sold };
  }));
}

async function pending(items: OrderLine[], overrides: Partial<StoredOrder> = {}): Promise<StoredOrder> {
  const order = storedOrder({ items, ...overrides });
  expect(await repo().create(order)).toBe('created');
  return order;
}

describe('create / get', () => {
  test('create is conditional: a second create of the same id is "exists" and does not overwrite', async () => {
    const orders = repo();
    const order = storedOrder({ customerId: 'c-first' });

    expect(await orders.create(order)).toBe('created');
    expect(await orders.create({ ...order, customerId: 'c-second', items: [{ sku: 'other', quantity: 9 }] })).toBe('exists');

    expect(await orders.get(order.orderId)).toEqual(order);
  });

  test('an open order carries its status as the sparse index key; get hides it', async () => {
    const order = await pending([{ sku: 'x', quantity: 1 }]);
    expect(await rawItem(order.orderId)).toMatchObject({ openStatus: 'PENDING' });
    expect(await repo().get(order.orderId)).not.toHaveProperty('openStatus');
  });

  test('get of a missing order is undefined', async () => {
    expect(await repo().get(uid('ord-missing'))).toBeUndefined();
  });
});

describe('transition without stock', () => {
  test('applies from an allowed state, writes status, times and extra attributes, returns the new order', async () => {
    const orders = repo();
    const order = await pending([{ sku: 'x', quantity: 1 }]);
    const at = new Date('2026-01-01T00:01:00.000Z');

    const moved = await orders.transition({ orderId: order.orderId, from: ['PENDING'], to: 'REJECTED', at, set: { rejection: { reason: 'OUT_OF_STOCK', sku: 'x' } } });

    const expected = { ...order, status: 'REJECTED', updatedAt: at.toISOString(), statusChangedAt: at.toISOString(), rejection: { reason: 'OUT_OF_STOCK', sku: 'x' } };
    expect(moved).toEqual({ ok: true, order: expected });
    expect(await orders.get(order.orderId)).toEqual(expected);
    // A settled order leaves the sweep's index.
    expect(await rawItem(order.orderId)).not.toHaveProperty('openStatus');
  });

  test('NEEDS_ATTENTION stays in the sweep index under its own key', async () => {
    const order = await pending([{ sku: 'x', quantity: 1 }]);
    await repo().transition({ orderId: order.orderId, from: ['PENDING'], to: 'NEEDS_ATTENTION', at: new Date(T0) });
    expect(await rawItem(order.orderId)).toMatchObject({ openStatus: 'NEEDS_ATTENTION' });
  });

  test('from a state not allowed: the order as it is, nothing written', async () => {
    const orders = repo();
    const order = await pending([{ sku: 'x', quantity: 1 }]);

    expect(await orders.transition({ orderId: order.orderId, from: ['RESERVED'], to: 'PAID', at: new Date(), set: { paymentId: 'p' } })).toEqual({ ok: false, reason: 'status', current: order });
    expect(await orders.get(order.orderId)).toEqual(order);
  });

  test('a missing order: no current order, and no item is created', async () => {
    const orders = repo();
    const orderId = uid('ord-none');
    expect(await orders.transition({ orderId, from: ['PENDING'], to: 'CANCELLED', at: new Date() })).toEqual({ ok: false, reason: 'status', current: undefined });
    expect(await orders.get(orderId)).toBeUndefined();
  });

  test('deadlinePassedAt: only once the payment deadline has passed (inclusive)', async () => {
    const orders = repo();
    const order = await pending([{ sku: 'x', quantity: 1 }], { status: 'RESERVED', paymentDeadline: '2026-01-01T00:30:00.000Z' });
    const cancel = (at: string) => orders.transition({ orderId: order.orderId, from: ['RESERVED'], to: 'CANCELLED', at: new Date(at), deadlinePassedAt: new Date(at) });

    expect(await cancel('2026-01-01T00:29:59.999Z')).toMatchObject({ ok: false, reason: 'status' });
    expect(await cancel('2026-01-01T00:30:00.000Z')).toMatchObject({ ok: true, order: { status: 'CANCELLED' } });
  });

  test('deadlinePassedAt on an order without a deadline never applies', async () => {
    const order = await pending([{ sku: 'x', quantity: 1 }], { status: 'RESERVED' });
    const at = new Date('2030-01-01T00:00:00.000Z');
    expect(await repo().transition({ orderId: order.orderId, from: ['RESERVED'], to: 'CANCELLED', at, deadlinePassedAt: at })).toMatchObject({ ok: false, reason: 'status' });
  });
});

describe('transition with stock, one transaction', () => {
  const reserve = (order: StoredOrder, at = new Date(T0)) =>
    repo().transition({ orderId: order.orderId, from: ['PENDING', 'NEEDS_ATTENTION'], to: 'RESERVED', at, set: { paymentDeadline: '2026-01-01T01:00:00.000Z' }, stock: { effect: 'reserve', lines: order.items } });

  test('reserve takes every line and moves the order; release gives it back; settle sells it', async () => {
    const [a, b] = await stocked(10, 5);
    const order = await pending([{ sku: a!, quantity: 3 }, { sku: b!, quantity: 5 }]);

    expect(await reserve(order)).toEqual({ ok: true });
    expect(await repo().get(order.orderId)).toMatchObject({ status: 'RESERVED', paymentDeadline: '2026-01-01T01:00:00.000Z' });
    expect(await rawItem(order.orderId)).toMatchObject({ openStatus: 'RESERVED' });
    expect(await counters([a!, b!])).toEqual([{ available: 7, reserved: 3, sold: 0 }, { available: 0, reserved: 5, sold: 0 }]);

    const paid = await repo().transition({ orderId: order.orderId, from: ['RESERVED'], to: 'PAID', at: new Date(T0), set: { paymentId: 'p-1' }, stock: { effect: 'settle', lines: order.items } });
    expect(paid).toEqual({ ok: true });
    expect(await counters([a!, b!])).toEqual([{ available: 7, reserved: 0, sold: 3 }, { available: 0, reserved: 0, sold: 5 }]);
    expect(await rawItem(order.orderId)).not.toHaveProperty('openStatus');

    const other = await pending([{ sku: a!, quantity: 2 }]);
    await reserve(other);
    const released = await repo().transition({ orderId: other.orderId, from: ['RESERVED'], to: 'CANCELLED', at: new Date(T0), stock: { effect: 'release', lines: other.items } });
    expect(released).toEqual({ ok: true });
    expect(await counters([a!])).toEqual([{ available: 7, reserved: 0, sold: 3 }]);
  });

  test('a line short of stock: nothing is written, the SKU named', async () => {
    const [a, b, c] = await stocked(5, 7, 1);
    const order = await pending([{ sku: a!, quantity: 2 }, { sku: b!, quantity: 7 }, { sku: c!, quantity: 2 }]);

    expect(await reserve(order)).toEqual({ ok: false, reason: 'stock', sku: c, shortage: 'OUT_OF_STOCK' });
    expect(await counters([a!, b!, c!])).toEqual([{ available: 5, reserved: 0, sold: 0 }, { available: 7, reserved: 0, sold: 0 }, { available: 1, reserved: 0, sold: 0 }]);
    expect(await repo().get(order.orderId)).toEqual(order);
  });

  test('a SKU nobody stocked: UNKNOWN_SKU, nothing written, no SKU item created', async () => {
    const [a] = await stocked(5);
    const ghost = uid('ghost');
    const order = await pending([{ sku: a!, quantity: 1 }, { sku: ghost, quantity: 1 }]);

    expect(await reserve(order)).toEqual({ ok: false, reason: 'stock', sku: ghost, shortage: 'UNKNOWN_SKU' });
    expect(await stock().get(ghost)).toBeUndefined();
    expect(await counters([a!])).toEqual([{ available: 5, reserved: 0, sold: 0 }]);
  });

  test('an order no longer PENDING: the status decides (even when stock is short too), nothing written', async () => {
    const [a] = await stocked(0);
    const order = await pending([{ sku: a!, quantity: 1 }], { status: 'CANCELLED' });
    expect(await reserve(order)).toEqual({ ok: false, reason: 'status', current: order });
  });

  test('the largest order, 50 lines: one transaction of 51 items', async () => {
    const skus = await stocked(...Array.from({ length: 50 }, () => 2));
    const order = await pending(skus.map((sku) => ({ sku, quantity: 2 })));
    expect(await reserve(order)).toEqual({ ok: true });
    expect((await counters(skus)).every((c) => c.available === 0 && c.reserved === 2)).toBe(true);
  });

  test('every stock change moves the SKU version (a replacing PUT at the old version then fails)', async () => {
    const [a] = await stocked(4);
    const before = (await stock().get(a!))!.version;
    await reserve(await pending([{ sku: a!, quantity: 1 }]));
    expect((await stock().get(a!))!.version).toBe(before + 1);
    expect((await stock().set(a!, 100, before)).outcome).toBe('version-mismatch');
  });
});

describe('TransactionConflict, which DynamoDB Local never produces, injected', () => {
  /** A client whose first `conflicts` transactions are cancelled as DynamoDB cancels colliding ones. */
  function conflicting(conflicts: number) {
    const { client } = tables();
    let left = conflicts;
    const sent: string[] = [];
    const wrapped = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return (command: { constructor: { name: string }; input: { TransactItems?: unknown[] } }) => {
          sent.push(command.constructor.name);
          if (command instanceof TransactWriteCommand && left-- > 0) return Promise.reject(transactionConflict(command.input.TransactItems!.length));
          return target.send(command as never);
        };
      },
    });
    return { wrapped, sent };
  }

  test('retried with back-off until it goes through; a conflict is never taken for a short SKU', async () => {
    const [a] = await stocked(3);
    const order = await pending([{ sku: a!, quantity: 2 }]);
    const { wrapped, sent } = conflicting(3);
    const orders = new DynamoDbOrderRepository(wrapped, tables().names.orders, tables().names.inventory, { attempts: 5, backoffMs: 1 });

    expect(await orders.transition({ orderId: order.orderId, from: ['PENDING'], to: 'RESERVED', at: new Date(T0), stock: { effect: 'reserve', lines: order.items } })).toEqual({ ok: true });
    expect(sent).toEqual(['TransactWriteCommand', 'TransactWriteCommand', 'TransactWriteCommand', 'TransactWriteCommand']);
    expect(await counters([a!])).toEqual([{ available: 1, reserved: 2, sold: 0 }]);
  });

  test('past its attempts: ContentionError, and nothing was written', async () => {
    const [a] = await stocked(3);
    const order = await pending([{ sku: a!, quantity: 2 }]);
    const { wrapped } = conflicting(10);
    const orders = new DynamoDbOrderRepository(wrapped, tables().names.orders, tables().names.inventory, { attempts: 3, backoffMs: 1 });

    await expect(orders.transition({ orderId: order.orderId, from: ['PENDING'], to: 'RESERVED', at: new Date(T0), stock: { effect: 'reserve', lines: order.items } })).rejects.toBeInstanceOf(ContentionError);
    expect(await counters([a!])).toEqual([{ available: 3, reserved: 0, sold: 0 }]);
    expect(await repo().get(order.orderId)).toEqual(order);
  });

  test('a cancellation for another reason (a validation error) is not retried', async () => {
    const error = new TransactionCanceledException({ message: 'x', $metadata: {}, CancellationReasons: [{ Code: 'ValidationError' }] });
    const { client } = tables();
    const order = await pending([{ sku: 'x', quantity: 1 }]);
    const send = jest.spyOn(client, 'send').mockRejectedValueOnce(error as never);
    try {
      await expect(repo().transition({ orderId: order.orderId, from: ['PENDING'], to: 'RESERVED', at: new Date(T0), stock: { effect: 'reserve', lines: order.items } })).rejects.toBe(error);
      expect(send).toHaveBeenCalledTimes(1);
    } finally {
      send.mockRestore();
    }
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

    expect(await orders.get(order.orderId)).toEqual({ ...order, republishCount: 2, republishedAt: at.toISOString(), updatedAt: at.toISOString() });
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

describe('open orders index', () => {
  // Each test takes an era one year earlier than the previous one, so other tests' orders are never "before".
  const nextEra = eraClocks(1989);

  test('findInStatusSince: that open status only, older than `before` (exclusive), oldest first, up to limit', async () => {
    const orders = repo();
    const t0 = nextEra().now();
    const at = (s: number) => iso(t0, s);
    const o3 = storedOrder({ statusChangedAt: at(3) });
    const o1 = storedOrder({ statusChangedAt: at(1) });
    const o2 = storedOrder({ statusChangedAt: at(2) });
    const atCutoff = storedOrder({ statusChangedAt: at(5) });
    const later = storedOrder({ statusChangedAt: at(10) });
    const reserved = storedOrder({ status: 'RESERVED', statusChangedAt: at(1), paymentDeadline: at(100) });
    for (const o of [o3, o1, o2, atCutoff, later, reserved]) await orders.create(o);
    const before = new Date(at(5));

    expect((await orders.findInStatusSince('PENDING', before, 10)).map((o) => o.orderId)).toEqual([o1.orderId, o2.orderId, o3.orderId]);
    expect((await orders.findInStatusSince('PENDING', before, 2)).map((o) => o.orderId)).toEqual([o1.orderId, o2.orderId]);
    // The index projects what the sweep decides on, nothing more.
    expect(await orders.findInStatusSince('RESERVED', before, 10)).toEqual([{ orderId: reserved.orderId, statusChangedAt: at(1), paymentDeadline: at(100) }]);
    expect(await orders.findInStatusSince('NEEDS_ATTENTION', before, 10)).toEqual([]);
  });

  test('findInStatusSince queries the openOrders index and never scans', async () => {
    const { client } = tables();
    const send = jest.spyOn(client, 'send');
    try {
      await repo().findInStatusSince('PENDING', nextEra().now(), 5);
      const commands = send.mock.calls.map(([command]) => command);
      expect(commands.some((c) => c instanceof ScanCommand)).toBe(false);
      expect(commands.map((c) => (c instanceof QueryCommand ? c.input.IndexName : c.constructor.name))).toEqual(['openOrders']);
    } finally {
      send.mockRestore();
    }
  });
});

test('isConditionFailure recognises only a failed condition', () => {
  expect(isConditionFailure(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }))).toBe(true);
  expect(isConditionFailure({ name: 'ConditionalCheckFailedException' })).toBe(true);
  expect(isConditionFailure(new Error('ConditionalCheckFailedException'))).toBe(false);
  expect(isConditionFailure({ name: 'ProvisionedThroughputExceededException' })).toBe(false);
  expect(isConditionFailure(undefined)).toBe(false);
});
