import { startLocalTables, LocalTables } from '../../support/local-tables';
import { DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';

let tables: LocalTables;
beforeAll(async () => { tables = await startLocalTables(); });
afterAll(() => tables.stop());

const repo = () => new DynamoDbStockRepository(tables.client, tables.names.inventory);
let seq = 0;
const sku = () => `sku-t${++seq}`;

test('50 concurrent one-unit reservations on stock 10: exactly 10 succeed', async () => {
  const stock = new DynamoDbStockRepository(tables.client, tables.names.inventory);
  await stock.set('sku-1', 10);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stock.reserve('sku-1', `ord_${i}`, 1)));
  expect(results.filter((r) => r === 'reserved')).toHaveLength(10);
  expect(results.filter((r) => r === 'insufficient')).toHaveLength(40);
  expect(await stock.get('sku-1')).toEqual({ sku: 'sku-1', available: 0, reserved: 10 });
});

describe('reserve', () => {
  test('takes the quantity once per (sku, order): a second reserve is "already-reserved" and takes nothing', async () => {
    const stock = repo();
    const s = sku();
    await stock.set(s, 5);
    expect(await stock.reserve(s, 'ord_a', 3)).toBe('reserved');
    expect(await stock.reserve(s, 'ord_a', 3)).toBe('already-reserved');
    expect(await stock.get(s)).toEqual({ sku: s, available: 2, reserved: 3 });
  });

  test('never below zero: "insufficient" changes nothing; the exact remainder can be taken', async () => {
    const stock = repo();
    const s = sku();
    await stock.set(s, 4);
    expect(await stock.reserve(s, 'ord_a', 5)).toBe('insufficient');
    expect(await stock.get(s)).toEqual({ sku: s, available: 4, reserved: 0 });
    expect(await stock.reserve(s, 'ord_b', 4)).toBe('reserved');
    expect(await stock.get(s)).toEqual({ sku: s, available: 0, reserved: 4 });
  });

  test('an unknown sku is "unknown-sku" and is not created', async () => {
    const stock = repo();
    const s = sku();
    expect(await stock.reserve(s, 'ord_a', 1)).toBe('unknown-sku');
    expect(await stock.get(s)).toBeUndefined();
  });

  test('the same order reserving the same sku concurrently takes it once', async () => {
    const stock = repo();
    const s = sku();
    await stock.set(s, 100);
    const results = await Promise.all(Array.from({ length: 10 }, () => stock.reserve(s, 'ord_dup', 2)));
    expect(results.filter((r) => r === 'reserved')).toHaveLength(1);
    expect(results.filter((r) => r === 'already-reserved')).toHaveLength(9);
    expect(await stock.get(s)).toEqual({ sku: s, available: 98, reserved: 2 });
  });
});

describe('release / settle', () => {
  test('release gives back exactly once, then is false; another order is untouched', async () => {
    const stock = repo();
    const s = sku();
    await stock.set(s, 10);
    await stock.reserve(s, 'ord_a', 3);
    await stock.reserve(s, 'ord_b', 2);

    expect(await stock.release(s, 'ord_a', 3)).toBe(true);
    expect(await stock.release(s, 'ord_a', 3)).toBe(false);
    expect(await stock.get(s)).toEqual({ sku: s, available: 8, reserved: 2 });
  });

  test('release of a quantity the order does not hold, or of an order holding nothing, changes nothing', async () => {
    const stock = repo();
    const s = sku();
    await stock.set(s, 10);
    await stock.reserve(s, 'ord_a', 3);
    expect(await stock.release(s, 'ord_a', 2)).toBe(false);
    expect(await stock.release(s, 'ord_none', 1)).toBe(false);
    expect(await stock.get(s)).toEqual({ sku: s, available: 7, reserved: 3 });
  });

  test('release and settle on an unknown sku are false and create nothing', async () => {
    const stock = repo();
    const s = sku();
    expect(await stock.release(s, 'ord_a', 1)).toBe(false);
    expect(await stock.settle(s, 'ord_a', 1)).toBe(false);
    expect(await stock.get(s)).toBeUndefined();
  });

  test('settle turns the hold into a sale: reserved down, available unchanged, once', async () => {
    const stock = repo();
    const s = sku();
    await stock.set(s, 10);
    await stock.reserve(s, 'ord_a', 4);

    expect(await stock.settle(s, 'ord_a', 4)).toBe(true);
    expect(await stock.settle(s, 'ord_a', 4)).toBe(false);
    expect(await stock.release(s, 'ord_a', 4)).toBe(false);
    expect(await stock.get(s)).toEqual({ sku: s, available: 6, reserved: 0 });
  });

  test('after a release the same order may reserve again: a fresh hold', async () => {
    const stock = repo();
    const s = sku();
    await stock.set(s, 2);
    await stock.reserve(s, 'ord_a', 2);
    await stock.release(s, 'ord_a', 2);
    expect(await stock.reserve(s, 'ord_a', 2)).toBe('reserved');
    expect(await stock.get(s)).toEqual({ sku: s, available: 0, reserved: 2 });
  });
});

describe('set / get', () => {
  test('set creates a level; setting again keeps the reservations and their holds', async () => {
    const stock = repo();
    const s = sku();
    expect(await stock.set(s, 3)).toEqual({ sku: s, available: 3, reserved: 0 });
    await stock.reserve(s, 'ord_a', 2);
    expect(await stock.set(s, 50)).toEqual({ sku: s, available: 50, reserved: 2 });
    expect(await stock.release(s, 'ord_a', 2)).toBe(true);
    expect(await stock.get(s)).toEqual({ sku: s, available: 52, reserved: 0 });
  });

  test('get of an unknown sku is undefined', async () => {
    expect(await repo().get(sku())).toBeUndefined();
  });
});
