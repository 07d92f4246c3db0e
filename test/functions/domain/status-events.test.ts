import { StoredOrder } from '../../../functions/domain/ports';
import { ChangeRecord, relayChanges } from '../../../functions/domain/relay';
import { EVENT_FOR_STATUS, eventForStatus, eventsForChange } from '../../../functions/domain/status-events';
import { ORDER_STATUSES } from '../../../functions/domain/order';
import { RecordingPublisher, ManualClock } from '../../support/recording-publisher';
import { storedOrder, T0 } from './fixtures';

const now = new Date('2026-05-05T00:00:00.000Z');
const at = '2026-01-01T00:05:00.000Z';
const items = [{ sku: 'sku-1', quantity: 2 }];
const base = (overrides: Partial<StoredOrder>) => storedOrder({ orderId: 'ord_1', customerId: 'c-1', correlationId: 'corr-1', items, createdAt: T0, statusChangedAt: at, ...overrides });
const detail = { orderId: 'ord_1', customerId: 'c-1', correlationId: 'corr-1' };

describe('the event each status owes', () => {
  test.each([
    ['PENDING', {}, { type: 'OrderPlaced', detail: { ...detail, eventId: 'ord_1:OrderPlaced', items, occurredAt: T0 } }],
    ['RESERVED', {}, { type: 'InventoryReserved', detail: { ...detail, eventId: 'ord_1:InventoryReserved', items, occurredAt: at } }],
    ['REJECTED', { rejection: { reason: 'UNKNOWN_SKU', sku: 'sku-9' } }, { type: 'InventoryRejected', detail: { ...detail, eventId: 'ord_1:InventoryRejected', reason: 'UNKNOWN_SKU', sku: 'sku-9', occurredAt: at } }],
    ['PAID', { paymentId: 'pay-1' }, { type: 'OrderPaid', detail: { ...detail, eventId: 'ord_1:OrderPaid', items, paymentId: 'pay-1', occurredAt: at } }],
    ['CANCELLED', { cancellation: { reason: 'PAYMENT_TIMEOUT' } }, { type: 'OrderCancelled', detail: { ...detail, eventId: 'ord_1:OrderCancelled', items, reason: 'PAYMENT_TIMEOUT', occurredAt: at } }],
  ] as const)('%s -> its event, built from the stored order alone, with a deterministic id', (status, extra, expected) => {
    expect(eventForStatus(base({ status, ...extra }), now)).toEqual(expected);
  });

  test('NEEDS_ATTENTION owes nothing; every other status owes exactly the catalogued event', () => {
    expect(eventForStatus(base({ status: 'NEEDS_ATTENTION' }), now)).toBeUndefined();
    expect(ORDER_STATUSES.filter((s) => s !== 'NEEDS_ATTENTION').sort()).toEqual(Object.keys(EVENT_FOR_STATUS).sort());
  });

  test('a stored order missing what its event needs is refused (it is dead-lettered, never published half-built)', () => {
    expect(() => eventForStatus(base({ status: 'PAID' }), now)).toThrow('PAID without a paymentId');
    expect(() => eventForStatus(base({ status: 'REJECTED' }), now)).toThrow('REJECTED without a rejection');
  });
});

describe('eventsForChange', () => {
  test('a creation owes OrderPlaced; a status change the new status event; other writes nothing', () => {
    const pending = base({ status: 'PENDING' });
    const reserved = base({ status: 'RESERVED' });
    expect(eventsForChange(undefined, pending, now).map((e) => e.type)).toEqual(['OrderPlaced']);
    expect(eventsForChange(pending, reserved, now).map((e) => e.type)).toEqual(['InventoryReserved']);
    expect(eventsForChange(pending, { ...pending, republishCount: 1 }, now)).toEqual([]);
    expect(eventsForChange(pending, base({ status: 'NEEDS_ATTENTION' }), now)).toEqual([]);
    expect(eventsForChange(reserved, undefined, now)).toEqual([]);
  });
});

describe('relayChanges', () => {
  const record = (id: string, before: StoredOrder | undefined, after: StoredOrder | undefined): ChangeRecord => ({ id, before, after });
  const orders = Array.from({ length: 12 }, (_, i) => base({ orderId: `ord_${i}`, status: 'PENDING' }));

  test('publishes in stream order, ten entries per PutEvents', async () => {
    const events = new RecordingPublisher();
    const calls: number[] = [];
    const publish = events.publish.bind(events);
    events.publish = async (batch) => {
      calls.push(batch.length);
      return publish(batch);
    };
    const outcome = await relayChanges(orders.map((o, i) => record(`s${i}`, undefined, o)), { events, clock: new ManualClock(now), deadLetter: async () => undefined });

    expect(outcome).toEqual({ published: 12, deadLettered: 0 });
    expect(calls).toEqual([10, 2]);
    expect(events.published.map((e) => e.detail.orderId)).toEqual(orders.map((o) => o.orderId));
  });

  test('a failed publish stops there: that record and all after it are reported for retry, none skipped', async () => {
    const events = new RecordingPublisher();
    let call = 0;
    const publish = events.publish.bind(events);
    events.publish = async (batch) => {
      if (++call === 2) events.failNext = 1;
      return publish(batch);
    };
    const outcome = await relayChanges(orders.map((o, i) => record(`s${i}`, undefined, o)), { events, clock: new ManualClock(now), deadLetter: async () => undefined });

    expect(outcome).toMatchObject({ published: 10, deadLettered: 0, failedFrom: 's10' });
    expect(outcome.failure).toContain('InternalFailure');
  });

  test('a record no event can be built from is dead-lettered alone; the records around it are published', async () => {
    const events = new RecordingPublisher();
    const dead: string[] = [];
    const broken = base({ orderId: 'ord_broken', status: 'PAID' });
    const outcome = await relayChanges(
      [record('s1', undefined, orders[0]), record('s2', base({ orderId: 'ord_broken', status: 'RESERVED' }), broken), record('s3', undefined, orders[1])],
      { events, clock: new ManualClock(now), deadLetter: async (r, reason) => void dead.push(`${r.id} ${reason}`) },
    );
    expect(outcome).toEqual({ published: 2, deadLettered: 1 });
    expect(dead).toEqual(['s2 order ord_broken is PAID without a paymentId']);
    expect(events.published.map((e) => e.detail.orderId)).toEqual(['ord_0', 'ord_1']);
  });
});

test('a broken record after the retry point is not dead-lettered now (the retry will meet it again)', async () => {
  const events = new RecordingPublisher();
  events.failNext = 1;
  const dead: string[] = [];
  const pending = storedOrder({ orderId: 'ord_ok', status: 'PENDING' });
  const broken = storedOrder({ orderId: 'ord_broken', status: 'PAID' });
  const outcome = await relayChanges(
    [{ id: 's1', after: pending }, { id: 's2', before: { ...broken, status: 'RESERVED' }, after: broken }],
    { events, clock: new ManualClock(new Date(T0)), deadLetter: async (r) => void dead.push(r.id) },
  );
  expect(outcome).toMatchObject({ published: 0, deadLettered: 0, failedFrom: 's1' });
  expect(dead).toEqual([]);
});
