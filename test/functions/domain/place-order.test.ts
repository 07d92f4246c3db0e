import { ForbiddenError, IdempotencyKeyReusedError, ValidationError } from '../../../functions/domain/errors';
import { eventsForChange } from '../../../functions/domain/status-events';
import { OrderDeps, PlaceOrderInput, orderIdFor, placeOrder } from '../../../functions/domain/orders';
import { Caller } from '../../../functions/domain/caller';
import { countItems, customer, linesOf, rejection, service, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();

function deps(w: World): OrderDeps {
  return { orders: w.orders, events: w.events, clock: w.clock };
}

function input(overrides: Partial<PlaceOrderInput> = {}): PlaceOrderInput {
  return {
    caller: service(),
    idempotencyKey: uid('key'),
    body: { customerId: uid('cust'), items: [{ sku: 'sku-a', quantity: 2 }, { sku: 'sku-b', quantity: 1 }] },
    correlationId: 'corr-1',
    ...overrides,
  };
}

function scopeOf(caller: Caller): string {
  return caller.kind === 'service' ? `service:${caller.principal}` : `customer:${caller.customerId}`;
}

describe('placeOrder: a valid order', () => {
  test('is stored PENDING in one conditional write; the OrderPlaced its stream record owes has the deterministic event id', async () => {
    const w = world(tables());
    const req = input();
    const body = req.body as { customerId: string };

    const result = await placeOrder(req, deps(w));

    const orderId = orderIdFor('service:svc-test', req.idempotencyKey as string);
    expect(result).toMatchObject({ replayed: false });
    expect(result.order).toEqual({
      orderId,
      customerId: body.customerId,
      status: 'PENDING',
      items: [
        { sku: 'sku-a', quantity: 2 },
        { sku: 'sku-b', quantity: 1 },
      ],
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      statusChangedAt: '2026-01-01T00:00:00.000Z',
      requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      correlationId: 'corr-1',
    });
    expect(await w.orders.get(orderId)).toEqual(result.order);
    // The API publishes nothing itself: the relay publishes what the new item owes.
    expect(w.events.published).toEqual([]);
    expect(eventsForChange(undefined, result.order, new Date())).toEqual([
      {
        type: 'OrderPlaced',
        detail: {
          eventId: `${orderId}:OrderPlaced`,
          orderId,
          customerId: body.customerId,
          correlationId: 'corr-1',
          occurredAt: '2026-01-01T00:00:00.000Z',
          items: [
            { sku: 'sku-a', quantity: 2 },
            { sku: 'sku-b', quantity: 1 },
          ],
        },
      },
    ]);
  });

  test.each([
    ['1 line', 1],
    ['50 lines (the maximum)', 50],
  ])('accepts %s', async (_name, count) => {
    const w = world(tables());
    const result = await placeOrder(input({ body: { customerId: 'c-lines', items: linesOf(count) } }), deps(w));
    expect(result.order.items).toHaveLength(count);
    expect((await w.orders.get(result.order.orderId))?.items).toHaveLength(count);
  });

  test.each([1, 999])('accepts quantity %s (the bounds)', async (quantity) => {
    const w = world(tables());
    const result = await placeOrder(input({ body: { customerId: 'c-q', items: [{ sku: 's', quantity }] } }), deps(w));
    expect(result.order.items).toEqual([{ sku: 's', quantity }]);
  });
});

describe('placeOrder: invalid input', () => {
  const base = { customerId: 'c-1', items: [{ sku: 'sku-a', quantity: 1 }] };
  const items = (...lines: unknown[]) => ({ ...base, items: lines });
  const line = (quantity: unknown, sku = 'sku-a') => ({ sku, quantity });

  // [case, idempotency key, body, every field the problems must name (exactly), messages that must appear]
  const cases: [string, unknown, unknown, string[], string[]][] = [
    ['missing Idempotency-Key', undefined, base, ['Idempotency-Key'], ['Idempotency-Key is required']],
    ['empty Idempotency-Key', '', base, ['Idempotency-Key'], ['Idempotency-Key header must be 1 to 255 characters']],
    ['Idempotency-Key of 256 characters', 'k'.repeat(256), base, ['Idempotency-Key'], []],
    ['Idempotency-Key not a string', 42, base, ['Idempotency-Key'], ['Idempotency-Key header must be a string']],
    ['missing customerId', 'k', { items: base.items }, ['customerId'], ['customerId is required']],
    ['empty customerId', 'k', { ...base, customerId: '' }, ['customerId'], ['customerId must be 1 to 128 characters']],
    ['customerId of 129 characters', 'k', { ...base, customerId: 'c'.repeat(129) }, ['customerId'], []],
    ['customerId not a string', 'k', { ...base, customerId: 7 }, ['customerId'], ['customerId must be a string']],
    ['0 lines', 'k', items(), ['items'], ['items must hold 1 to 50 lines']],
    ['51 lines', 'k', { ...base, items: linesOf(51) }, ['items'], ['items must hold 1 to 50 lines']],
    ['items not an array', 'k', { ...base, items: 'sku-a' }, ['items'], ['items must be an array of {sku, quantity}']],
    ['missing items', 'k', { customerId: 'c-1' }, ['items'], []],
    ['quantity 0', 'k', items(line(0)), ['items[0].quantity'], ['items[0].quantity must be an integer from 1 to 999']],
    ['quantity 1000', 'k', items(line(1000)), ['items[0].quantity'], ['items[0].quantity must be an integer from 1 to 999']],
    ['quantity 1.5', 'k', items(line(1.5)), ['items[0].quantity'], ['items[0].quantity must be an integer from 1 to 999']],
    ['quantity -1', 'k', items(line(-1)), ['items[0].quantity'], ['items[0].quantity must be an integer from 1 to 999']],
    ['quantity as a string', 'k', items(line('2')), ['items[0].quantity'], ['items[0].quantity must be an integer from 1 to 999']],
    ['missing quantity', 'k', items({ sku: 'sku-a' }), ['items[0].quantity'], ['items[0].quantity is required']],
    ['empty sku', 'k', items(line(1, '')), ['items[0].sku'], ['items[0].sku must be 1 to 64 characters']],
    ['sku of 65 characters', 'k', items(line(1, 's'.repeat(65))), ['items[0].sku'], []],
    ['duplicate sku', 'k', items(line(1, 'a'), line(2, 'b'), line(3, 'a')), ['items[2].sku'], ['"a" appears on an earlier line too: put the total quantity on one line']],
    ['unknown top-level field', 'k', { ...base, coupon: 'FREE' }, ['(body)'], ['unknown field(s): coupon']],
    ['unknown line field', 'k', items(line(1), { sku: 'b', quantity: 1, colour: 'red' }), ['items[1]'], ['unknown field(s): colour']],
    ['a null body', 'k', null, ['(body)'], []],
    ['an array body', 'k', [base], ['(body)'], []],
  ];

  test.each(cases)('%s -> ValidationError naming exactly the wrong fields, nothing written or published', async (_name, key, body, fields, messages) => {
    const w = world(tables());
    const before = await countItems(w.tables, w.tables.names.orders);
    const idempotencyKey = key === 'k' ? uid('key') : key;

    const error = await rejection(placeOrder(input({ idempotencyKey, body }), deps(w)), ValidationError);

    expect(error.problems.map((p) => p.field).sort()).toEqual([...fields].sort());
    for (const message of messages) expect(error.problems.map((p) => p.message)).toContain(message);
    if (typeof idempotencyKey === 'string') expect(await w.orders.get(orderIdFor('service:svc-test', idempotencyKey))).toBeUndefined();
    expect(await countItems(w.tables, w.tables.names.orders)).toBe(before);
    expect(w.events.published).toEqual([]);
  });

  test('every wrong field at once is named, each with its own message', async () => {
    const w = world(tables());
    const before = await countItems(w.tables, w.tables.names.orders);
    const body = {
      customerId: '',
      coupon: 'FREE',
      items: [line(1, 'a'), line(1, 'b'), line(1, 'a'), line(0, 'c'), line(1000, 'd'), line(1.5, 'e'), { sku: 'f', quantity: 1, colour: 'red' }, line('2', 'g')],
    };

    const error = await rejection(placeOrder(input({ idempotencyKey: '', body }), deps(w)), ValidationError);

    expect(error.problems).toEqual(
      expect.arrayContaining([
        { field: 'Idempotency-Key', message: 'Idempotency-Key header must be 1 to 255 characters' },
        { field: 'customerId', message: 'customerId must be 1 to 128 characters' },
        { field: '(body)', message: 'unknown field(s): coupon' },
        { field: 'items[2].sku', message: '"a" appears on an earlier line too: put the total quantity on one line' },
        { field: 'items[3].quantity', message: 'items[3].quantity must be an integer from 1 to 999' },
        { field: 'items[4].quantity', message: 'items[4].quantity must be an integer from 1 to 999' },
        { field: 'items[5].quantity', message: 'items[5].quantity must be an integer from 1 to 999' },
        { field: 'items[6]', message: 'unknown field(s): colour' },
        { field: 'items[7].quantity', message: 'items[7].quantity must be an integer from 1 to 999' },
      ]),
    );
    expect(error.problems).toHaveLength(9);
    expect(error.message).toContain('unknown field(s): coupon');
    expect(await countItems(w.tables, w.tables.names.orders)).toBe(before);
    expect(w.events.published).toEqual([]);
  });
});

describe('placeOrder: idempotency', () => {
  test('same key and body -> replayed with the same order, at once (the first write decided everything)', async () => {
    const w = world(tables());
    const req = input();
    const first = await placeOrder(req, deps(w));

    const again = await placeOrder({ ...req, correlationId: 'corr-2' }, deps(w));

    expect(again).toEqual({ order: first.order, replayed: true });
    expect(w.events.published).toEqual([]);
  });

  test('a replay after the order moved on answers it as it is now', async () => {
    const w = world(tables());
    const req = input();
    const first = await placeOrder(req, deps(w));
    await w.orders.transition({ orderId: first.order.orderId, from: ['PENDING'], to: 'CANCELLED', at: w.clock.now() });

    expect(await placeOrder(req, deps(w))).toMatchObject({ replayed: true, order: { status: 'CANCELLED' } });
  });

  test('same key with a different body -> IdempotencyKeyReusedError, stored order untouched', async () => {
    const w = world(tables());
    const req = input();
    const first = await placeOrder(req, deps(w));
    w.clock.advance(60_000);

    const changed = { ...(req.body as object), items: [{ sku: 'sku-a', quantity: 3 }] };
    await rejection(placeOrder({ ...req, body: changed }, deps(w)), IdempotencyKeyReusedError);

    expect(await w.orders.get(first.order.orderId)).toEqual(first.order);
  });

  test('the same body with keys in another order is the same request', async () => {
    const w = world(tables());
    const key = uid('key');
    const first = await placeOrder(input({ idempotencyKey: key, body: { customerId: 'c-order', items: [{ sku: 'x', quantity: 1 }] } }), deps(w));
    const again = await placeOrder(input({ idempotencyKey: key, body: { items: [{ quantity: 1, sku: 'x' }], customerId: 'c-order' } }), deps(w));
    expect(again).toMatchObject({ replayed: true, order: { orderId: first.order.orderId } });
  });

  test('a customer sending its own customerId or leaving it out is the same request', async () => {
    const w = world(tables());
    const caller = customer('c-same');
    const key = uid('key');
    const first = await placeOrder(input({ caller, idempotencyKey: key, body: { items: [{ sku: 'x', quantity: 1 }] } }), deps(w));
    const again = await placeOrder(input({ caller, idempotencyKey: key, body: { customerId: 'c-same', items: [{ sku: 'x', quantity: 1 }] } }), deps(w));
    expect(again).toMatchObject({ replayed: true, order: { orderId: first.order.orderId } });
  });

  test('keys are scoped per caller: two callers with the same key place two orders', async () => {
    const w = world(tables());
    const key = uid('key');
    const body = { customerId: 'c-shared', items: [{ sku: 'x', quantity: 1 }] };

    const a = await placeOrder(input({ caller: service('svc-a'), idempotencyKey: key, body }), deps(w));
    const b = await placeOrder(input({ caller: service('svc-b'), idempotencyKey: key, body }), deps(w));
    const c = await placeOrder(input({ caller: customer('c-shared'), idempotencyKey: key, body }), deps(w));

    expect(new Set([a.order.orderId, b.order.orderId, c.order.orderId]).size).toBe(3);
    expect([a, b, c].map((r) => r.replayed)).toEqual([false, false, false]);
    expect(a.order.orderId).toBe(orderIdFor(scopeOf(service('svc-a')), key));
    expect(c.order.orderId).toBe(orderIdFor(scopeOf(customer('c-shared')), key));
  });
});

describe('placeOrder: who may place for whom', () => {
  test('a customer placing for another customerId -> ForbiddenError, nothing written or published', async () => {
    const w = world(tables());
    const caller = customer('c-me');
    const key = uid('key');
    const error = await rejection(placeOrder(input({ caller, idempotencyKey: key, body: { customerId: 'c-other', items: [{ sku: 'x', quantity: 1 }] } }), deps(w)), ForbiddenError);
    expect(error.message).toContain('c-other');
    expect(await w.orders.get(orderIdFor(scopeOf(caller), key))).toBeUndefined();
    expect(w.events.published).toEqual([]);
  });

  test('a customer leaving customerId out orders for itself', async () => {
    const w = world(tables());
    const caller = customer('c-self');
    const key = uid('key');
    const result = await placeOrder(input({ caller, idempotencyKey: key, body: { items: [{ sku: 'x', quantity: 1 }] } }), deps(w));
    expect(result.order.customerId).toBe('c-self');
    expect(result.order.orderId).toBe(orderIdFor('customer:c-self', key));
    expect((await w.orders.get(result.order.orderId))?.customerId).toBe('c-self');
  });

  test.each([
    ['an array', [{ sku: 'x', quantity: 1 }]],
    ['null', null],
    ['a string', 'items'],
  ])('a customer sending %s as the body is told the body must be an object', async (_name, body) => {
    const w = world(tables());
    const error = await rejection(placeOrder(input({ caller: customer('c-shape'), body }), deps(w)), ValidationError);
    expect(error.problems).toEqual([{ field: '(body)', message: 'the request body must be a JSON object' }]);
  });

  test('a customer with the admin scope may place for another customer', async () => {
    const w = world(tables());
    const result = await placeOrder(input({ caller: customer('c-admin', ['orders/admin']), body: { customerId: 'c-else', items: [{ sku: 'x', quantity: 1 }] } }), deps(w));
    expect(result.order.customerId).toBe('c-else');
  });

  test('a service caller must name the customer', async () => {
    const w = world(tables());
    const error = await rejection(placeOrder(input({ body: { items: [{ sku: 'x', quantity: 1 }] } }), deps(w)), ValidationError);
    expect(error.problems).toEqual([{ field: 'customerId', message: 'customerId is required' }]);
  });
});
