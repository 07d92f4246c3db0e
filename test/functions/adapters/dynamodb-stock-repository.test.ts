import { startLocalTables, LocalTables } from '../../support/dynalite';
import { DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';

let tables: LocalTables;
beforeAll(async () => { tables = await startLocalTables(); });
afterAll(() => tables.stop());

test('50 concurrent one-unit reservations on stock 10: exactly 10 succeed', async () => {
  const stock = new DynamoDbStockRepository(tables.client, tables.names.inventory);
  await stock.set('sku-1', 10);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stock.reserve('sku-1', `ord_${i}`, 1)));
  expect(results.filter((r) => r === 'reserved')).toHaveLength(10);
  expect(results.filter((r) => r === 'insufficient')).toHaveLength(40);
  expect(await stock.get('sku-1')).toEqual({ sku: 'sku-1', available: 0, reserved: 10 });
});
