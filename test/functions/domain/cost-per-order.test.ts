/**
 * What an order placed and paid (2 lines) costs on AWS, counted from what the code sends (test/support/cost-meter.ts)
 * and priced per million orders. The design must not cost more than the saga it replaced: that figure was measured
 * the same way on the code before (docs/evidence/cost-before.txt) and is the budget here. docs/cost.md itemises both.
 */
import { CostMeter, costTable } from '../../support/cost-meter';
import { meterPlaceAndPay } from '../../support/order-cost';
import { useLocalTables } from './fixtures';

const tables = useLocalTables();

/** docs/evidence/cost-before.txt: $23.15 per million orders with fresh SKUs, $103.15 with 1,000 open holds per SKU. */
const BEFORE_PER_MILLION = { freshSkus: 23.15, thousandOpenHolds: 103.15 };

async function placeAndPay(openReservationsPerSku: number) {
  const { meter, system, orderId } = await meterPlaceAndPay(tables(), openReservationsPerSku);
  expect(await system.orderStatus(orderId)).toBe('PAID');
  expect(await system.violations()).toEqual([]);
  return meter;
}

function report(title: string, meter: CostMeter): number {
  const { rows, totalPerMillion } = costTable(meter.lines);
  process.stdout.write(`\n### ${title}\n| what | per order | per million orders |\n|---|---|---|\n${rows.join('\n')}\n| **total** | | **$${totalPerMillion.toFixed(2)}** |\n`);
  process.stdout.write(`totals: ${(['write units', 'read units', 'events', 'SQS requests', 'invocations', 'HTTP requests'] as const).map((u) => `${u} ${meter.total(u)}`).join(', ')}\n`);
  return totalPerMillion;
}

jest.setTimeout(120_000);

test('an order of 2 lines placed and paid costs no more than before, and every item is as designed', async () => {
  const meter = await placeAndPay(0);
  const total = report('after, fresh SKUs', meter);

  expect(total).toBeLessThanOrEqual(BEFORE_PER_MILLION.freshSkus);
  // Three events (OrderPlaced, InventoryReserved, OrderPaid), each relayed once from the stream.
  expect(meter.total('events')).toBe(3);
  // Three deliveries: OrderPlaced to inventory, InventoryReserved and OrderPaid to notification.
  expect(meter.total('SQS requests')).toBe(9);
  expect(meter.lines.filter((l) => l.unit === 'write units' && l.what.includes('(condition failed)'))).toEqual([]);
});

test('with other open reservations on its SKUs the order costs the same (counters, not holds)', async () => {
  const fresh = await placeAndPay(0);
  const crowded = await placeAndPay(50);
  const total = report('after, 50 other open reservations per SKU', crowded);
  expect(crowded.total('write units')).toBe(fresh.total('write units'));
  expect(total).toBeLessThan(BEFORE_PER_MILLION.thousandOpenHolds);
});
