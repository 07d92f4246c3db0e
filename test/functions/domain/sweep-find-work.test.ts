/**
 * findWork reads the "older than" open-orders index, so every test here takes its own era, one year earlier than
 * the test before (see eraClocks): orders other tests wrote are never old enough to be found.
 */
import { cancelOrder, confirmPayment, OrderDeps, placeOrder } from '../../../functions/domain/orders';
import { findWork, SweepSettings } from '../../../functions/domain/sweep';
import { ManualClock } from '../../support/recording-publisher';
import { eraClocks, service, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();
const nextEra = eraClocks(1999);

const settings: SweepSettings = { stalePendingAfterSeconds: 300, maxRepublishAttempts: 3, maxOrdersPerRun: 100 };

function deps(w: World): OrderDeps {
  return { orders: w.orders, events: w.events, clock: w.clock };
}

const SKU = uid('sku-fw');
beforeAll(async () => {
  await world(tables()).stock.set(SKU, 1_000_000);
});

async function place(w: World): Promise<string> {
  const { order } = await placeOrder({ caller: service(), idempotencyKey: uid('key'), body: { customerId: 'c-fw', items: [{ sku: SKU, quantity: 1 }] }, correlationId: 'corr' }, deps(w));
  return order.orderId;
}

/** Reserves a PENDING order (its stock taken) with its own payment window. */
async function reserve(w: World, orderId: string, paymentWindowSeconds: number): Promise<void> {
  const at = w.clock.now();
  const paymentDeadline = new Date(at.getTime() + paymentWindowSeconds * 1000).toISOString();
  const moved = await w.orders.transition({ orderId, from: ['PENDING'], to: 'RESERVED', at, set: { paymentDeadline }, stock: { effect: 'reserve', lines: [{ sku: SKU, quantity: 1 }] } });
  expect(moved.ok).toBe(true);
}

const ids = (list: { orderId: string }[]) => list.map((o) => o.orderId);

function eraWorld(): World {
  const clock: ManualClock = nextEra();
  return world(tables(), clock);
}

test('stale PENDING orders (older than stalePendingAfterSeconds) are to be republished, oldest first', async () => {
  const w = eraWorld();
  const stale1 = await place(w);
  w.clock.advance(1000);
  const stale2 = await place(w);
  const settled = await place(w);
  await reserve(w, settled, 10_000);
  const cancelled = await place(w);
  await cancelOrder(cancelled, service(), deps(w));
  w.clock.advance(299_000);
  const fresh = await place(w);
  w.clock.advance(2000); // cut-off is now - 300 s = 2 s after stale1: stale1 and stale2 are older, fresh is not

  const work = await findWork(settings, deps(w));

  expect(ids(work.republish)).toEqual([stale1, stale2]);
  expect(ids(work.republish)).not.toContain(fresh);
  expect(ids(work.expire)).toEqual([]);
});

test('RESERVED orders past their paymentDeadline are to be expired, the others not', async () => {
  const w = eraWorld();
  const shortWindow = await place(w);
  const longWindow = await place(w);
  const exactlyDue = await place(w);
  const paid = await place(w);
  await reserve(w, shortWindow, 60);
  await reserve(w, longWindow, 600);
  await reserve(w, exactlyDue, 120);
  await reserve(w, paid, 60);
  await confirmPayment(paid, { paymentId: 'p' }, service(), deps(w));
  w.clock.advance(120_000);

  const work = await findWork(settings, deps(w));

  expect(ids(work.expire).sort()).toEqual([shortWindow, exactlyDue].sort());
  expect(work.republish).toEqual([]);
});

test('maxOrdersPerRun bounds each kind of work, oldest first', async () => {
  const w = eraWorld();
  const stale: string[] = [];
  const due: string[] = [];
  for (let i = 0; i < 3; i++) {
    stale.push(await place(w));
    const r = await place(w);
    await reserve(w, r, 10);
    due.push(r);
    w.clock.advance(1000);
  }
  w.clock.advance(400_000);

  const work = await findWork({ ...settings, maxOrdersPerRun: 2 }, deps(w));

  expect(ids(work.republish)).toEqual(stale.slice(0, 2));
  expect(ids(work.expire)).toEqual(due.slice(0, 2));
});

test('a settled order has left the index: PAID, REJECTED and CANCELLED orders are never read by the sweep', async () => {
  const w = eraWorld();
  const paid = await place(w);
  await reserve(w, paid, 10);
  await confirmPayment(paid, { paymentId: 'p' }, service(), deps(w));
  const cancelled = await place(w);
  await reserve(w, cancelled, 10);
  await cancelOrder(cancelled, service(), deps(w));
  w.clock.advance(10_000_000);

  const work = await findWork(settings, deps(w));

  expect([...ids(work.republish), ...ids(work.expire)]).not.toEqual(expect.arrayContaining([paid]));
  expect([...ids(work.republish), ...ids(work.expire)]).not.toEqual(expect.arrayContaining([cancelled]));
});

test('nothing old enough: no work', async () => {
  const w = eraWorld();
  await place(w);
  const r = await place(w);
  await reserve(w, r, 60);
  w.clock.advance(59_000);

  expect(await findWork(settings, deps(w))).toEqual({ republish: [], expire: [] });
});
