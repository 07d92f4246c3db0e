/**
 * An order of two lines placed and paid through the saga harness, with every DynamoDB call billed by the cost meter
 * (test/support/cost-meter.ts): what test/functions/domain/cost-per-order.test.ts pins and `npm run bench` prices.
 */
import { IDEMPOTENCY_TABLE, INVENTORY_TABLE, NOTIFICATIONS_TABLE, ORDERS_TABLE } from '../../functions/adapters/table-schema';
import { CostMeter, TableModel } from './cost-meter';
import { Scheduler } from './interleaving';
import { LocalTables } from './local-tables';
import { SagaSystem } from './saga-system';

function models(tables: LocalTables): Record<string, TableModel> {
  const { names } = tables;
  return {
    [names.orders]: {
      keys: [ORDERS_TABLE.partitionKey],
      indexes: Object.values(ORDERS_TABLE.indexes).map((i) => ({ name: i.name, partitionKey: i.partitionKey, sortKey: i.sortKey, projects: 'keysOnly' in i.projection ? [] : i.projection.include })),
    },
    [names.inventory]: { keys: [INVENTORY_TABLE.partitionKey], indexes: [] },
    [names.notifications]: { keys: [NOTIFICATIONS_TABLE.partitionKey, NOTIFICATIONS_TABLE.sortKey], indexes: [] },
    [names.idempotency]: { keys: [IDEMPOTENCY_TABLE.partitionKey], indexes: [] },
  };
}

/** The meter of one order placed and paid, with `openReservationsPerSku` other customers' holds on its SKUs. */
export async function meterPlaceAndPay(tables: LocalTables, openReservationsPerSku = 0): Promise<{ meter: CostMeter; system: SagaSystem; orderId: string }> {
  const meter = new CostMeter(tables.client, models(tables));
  const system = new SagaSystem(tables, { meter });
  const scheduler = new Scheduler();
  const skus = [system.sku('a'), system.sku('b')];
  for (const sku of skus) await system.stock(sku, 1_000_000);
  // Other customers' open reservations on the same SKUs: with counters, they change nothing in the SKU items.
  for (let i = 0; i < openReservationsPerSku; i++) await system.place(skus.map((sku) => ({ sku, quantity: 1 })));
  if (openReservationsPerSku) await scheduler.runFree(system.deliver());

  meter.start();
  const orderId = (await scheduler.runFree(system.placeStep(skus.map((sku) => ({ sku, quantity: 1 })), `cost-${skus[0]}`))) as string;
  await scheduler.runFree(system.deliver());
  await scheduler.runFree(system.pay(orderId));
  await scheduler.runFree(system.deliver());
  meter.stop();
  return { meter, system, orderId };
}
