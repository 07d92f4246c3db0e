/**
 * findWork reads "older than" indexes, so every test here takes its own era, one year earlier than the test
 * before (see eraClocks): orders other tests wrote are never old enough to be found.
 */
import { applyInventoryOutcome } from '../../../functions/domain/order-status';
import { cancelOrder, confirmPayment, OrderDeps, placeOrder } from '../../../functions/domain/orders';
import { buildEvent } from '../../../functions/domain/events';
import { findWork, SweepSettings } from '../../../functions/domain/sweep';
import { ManualClock } from '../../support/recording-publisher';
import { eraClocks, service, uid, useLocalTables, World, world } from './fixtures';

const tables = useLocalTables();
const nextEra = eraClocks(1999);

const settings: SweepSettings = { unpublishedAfterSeconds: 60, stalePendingAfterSeconds: 300, maxRepublishAttempts: 3, maxOrdersPerRun: 100 };

function deps(w: World): OrderDeps {
  return { orders: w.orders, events: w.events, clock: w.clock };
}

async function place(w: World, { publishFails = false } = {}): Promise<string> {
  if (publishFails) w.events.failNext = 1;
  const { order } = await placeOrder(
    { caller: service(), idempotencyKey: uid('key'), body: { customerId: 'c-fw', items: [{ sku: 'sku-fw', quantity: 1 }] }, correlationId: 'corr', remainingMs: 0 },
    deps(w),
  );
  return order.orderId;
}

/** Reserves a PENDING order through order-status, with its own payment window. */
async function reserve(w: World, orderId: string, paymentWindowSeconds: number): Promise<void> {
  const event = buildEvent('InventoryReserved', { orderId, customerId: 'c-fw', correlationId: 'corr', items: [{ sku: 'sku-fw', quantity: 1 }] }, w.clock.now());
  expect(await applyInventoryOutcome(event, { ...deps(w), paymentWindowSeconds })).toEqual({ action: 'transitioned', to: 'RESERVED' });
}

const ids = (list: { orderId: string }[]) => list.map((o) => o.orderId);

function eraWorld(): World {
  const clock: ManualClock = nextEra();
  return world(tables(), clock);
}

test('unpublished orders are found once older than unpublishedAfterSeconds, whatever event they owe', async () => {
  const w = eraWorld();
  const oldPlaced = await place(w, { publishFails: true });
  const oldCancelled = await place(w);
  w.events.failNext = 1;
  await cancelOrder(oldCancelled, service(), deps(w));
  w.clock.advance(50_000);
  const young = await place(w, { publishFails: true });
  w.clock.advance(20_000); // oldPlaced and oldCancelled are 70 s old, young is 20 s old

  const work = await findWork(settings, deps(w));

  expect(ids(work.publish).sort()).toEqual([oldPlaced, oldCancelled].sort());
  expect(ids(work.publish)).not.toContain(young);
});

test('an unpublished OrderPaid is found too', async () => {
  const w = eraWorld();
  const orderId = await place(w);
  await reserve(w, orderId, 900);
  w.events.failNext = 1;
  await confirmPayment(orderId, { paymentId: 'pay-fw' }, service(), deps(w));
  w.clock.advance(61_000);

  expect(ids((await findWork(settings, deps(w))).publish)).toEqual([orderId]);
});

test('stale PENDING orders (older than stalePendingAfterSeconds, not unpublished) are to be republished, oldest first', async () => {
  const w = eraWorld();
  const stale1 = await place(w);
  w.clock.advance(1000);
  const stale2 = await place(w);
  const staleUnpublished = await place(w, { publishFails: true });
  const settled = await place(w);
  await reserve(w, settled, 10_000);
  w.clock.advance(299_000);
  const fresh = await place(w);
  w.clock.advance(2000); // cut-off is now - 300 s = 2 s after stale1: stale1, stale2 and staleUnpublished are older, fresh is not

  const work = await findWork(settings, deps(w));

  expect(ids(work.republish)).toEqual([stale1, stale2]);
  expect(ids(work.publish)).toEqual([staleUnpublished]);
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
  const unpublished: string[] = [];
  for (let i = 0; i < 3; i++) {
    stale.push(await place(w));
    const r = await place(w);
    await reserve(w, r, 10);
    due.push(r);
    w.clock.advance(1000);
  }
  w.clock.advance(400_000);
  for (let i = 0; i < 3; i++) {
    unpublished.push(await place(w, { publishFails: true }));
    w.clock.advance(1000);
  }
  w.clock.advance(100_000); // stale ones ~500 s old; unpublished ~100 s old (not yet stale)

  const work = await findWork({ ...settings, maxOrdersPerRun: 2 }, deps(w));

  expect(ids(work.publish)).toEqual(unpublished.slice(0, 2));
  expect(ids(work.republish)).toEqual(stale.slice(0, 2));
  expect(ids(work.expire)).toEqual(due.slice(0, 2));
});

test('maxOrdersPerRun also bounds the unpublished orders of all event types together', async () => {
  const w = eraWorld();
  const marked = [await place(w, { publishFails: true }), await place(w, { publishFails: true })];
  const cancelled = await place(w);
  w.events.failNext = 1;
  await cancelOrder(cancelled, service(), deps(w));
  marked.push(cancelled);
  w.clock.advance(120_000);

  const work = await findWork({ ...settings, maxOrdersPerRun: 2 }, deps(w));

  expect(work.publish).toHaveLength(2);
  expect(marked).toEqual(expect.arrayContaining(ids(work.publish)));
  expect((await findWork(settings, deps(w))).publish).toHaveLength(3);
});

test('nothing old enough: no work', async () => {
  const w = eraWorld();
  await place(w, { publishFails: true });
  await place(w);
  const r = await place(w);
  await reserve(w, r, 60);
  w.clock.advance(59_000);

  expect(await findWork(settings, deps(w))).toEqual({ publish: [], republish: [], expire: [] });
});

test('unpublished PENDING orders at the head of the stale list do not crowd out the ones to re-publish', async () => {
  const w = eraWorld();
  const limit = 2;
  const unpublished = [await place(w, { publishFails: true }), await place(w, { publishFails: true })];
  const stale = [await place(w), await place(w)];
  w.clock.advance((settings.stalePendingAfterSeconds + 1) * 1000);

  const work = await findWork({ ...settings, maxOrdersPerRun: limit }, deps(w));

  expect(ids(work.publish).sort()).toEqual(unpublished.sort());
  expect(ids(work.republish).sort()).toEqual(stale.sort());
});
