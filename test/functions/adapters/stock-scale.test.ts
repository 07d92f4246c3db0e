/**
 * A SKU item holds counters only: with 50,000 open reservations it is as small, and costs as much per write, as
 * with one. The reservations are made through the repository (one transaction each, on the real engine).
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbOrderRepository } from '../../../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';
import { INVENTORY_TABLE } from '../../../functions/adapters/table-schema';
import { storedOrder, T0, uid, useLocalTables } from '../domain/fixtures';
import { itemSize } from '../../support/item-size';

const tables = useLocalTables();
// `npm run test:scale` makes the 50,000 (about 8 minutes on DynamoDB Local here); `npm test` 300: the same property, since
// nothing in the item grows with them.
const OPEN_RESERVATIONS = Number(process.env.OPEN_RESERVATIONS ?? 300);
const CONCURRENCY = 32;

jest.setTimeout(1_800_000);

test(`a SKU with ${OPEN_RESERVATIONS} open reservations takes the next one, and its item stays under 1 KB`, async () => {
  const { client, names } = tables();
  const orders = new DynamoDbOrderRepository(client, names.orders, names.inventory);
  const stock = new DynamoDbStockRepository(client, names.inventory, names.idempotency);
  const sku = uid('scale');
  await stock.set(sku, OPEN_RESERVATIONS + 1);
  const raw = async () => (await client.send(new GetCommand({ TableName: names.inventory, Key: { [INVENTORY_TABLE.partitionKey]: sku }, ConsistentRead: true }))).Item!;
  const sizeWithNone = itemSize(marshall(await raw()));

  let next = 0;
  const reserveOne = async () => {
    const order = storedOrder({ items: [{ sku, quantity: 1 }] });
    expect(await orders.create(order)).toBe('created');
    const result = await orders.transition({ orderId: order.orderId, from: ['PENDING'], to: 'RESERVED', at: new Date(T0), stock: { effect: 'reserve', lines: order.items } });
    expect(result.ok).toBe(true);
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < OPEN_RESERVATIONS) {
        next++;
        await reserveOne();
      }
    }),
  );
  expect(await stock.get(sku)).toMatchObject({ available: 1, reserved: OPEN_RESERVATIONS });

  await reserveOne();

  const item = await raw();
  expect(item).toMatchObject({ available: 0, reserved: OPEN_RESERVATIONS + 1, sold: 0 });
  // Only the counters: no per-order data, so the write cost is independent of the open reservations.
  expect(Object.keys(item).sort()).toEqual(['available', 'reserved', 'sku', 'sold', 'version']);
  const size = itemSize(marshall(item));
  expect(size).toBeLessThan(1024);
  expect(size - sizeWithNone).toBeLessThanOrEqual(16);
});
