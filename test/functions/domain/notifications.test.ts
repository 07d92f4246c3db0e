import { PipelineEvent, buildEvent } from '../../../functions/domain/events';
import { NOTIFICATION_EVENTS, notificationFor, notificationKey } from '../../../functions/domain/notifications';

const now = new Date('2026-01-01T00:00:00.000Z');
const base = { orderId: 'ord_n1', customerId: 'c-n', correlationId: 'corr-n' };
const items = [{ sku: 'sku-1', quantity: 1 }];

const reserved = buildEvent('InventoryReserved', { ...base, items }, now);
const outOfStock = buildEvent('InventoryRejected', { ...base, reason: 'OUT_OF_STOCK', sku: 'sku-9' }, now);
const unknownSku = buildEvent('InventoryRejected', { ...base, reason: 'UNKNOWN_SKU', sku: 'sku-x' }, now);
const paid = buildEvent('OrderPaid', { ...base, items, paymentId: 'pay-77' }, now);
const cancelledByCustomer = buildEvent('OrderCancelled', { ...base, items, reason: 'CUSTOMER' }, now);
const cancelledTimeout = buildEvent('OrderCancelled', { ...base, items, reason: 'PAYMENT_TIMEOUT' }, now);

describe('notificationKey', () => {
  test('is per (orderId, type)', () => {
    expect(notificationKey(reserved)).toBe('ord_n1#InventoryReserved');
    expect(notificationKey(paid)).toBe('ord_n1#OrderPaid');
    expect(notificationKey(paid)).not.toBe(notificationKey(reserved));
    const otherOrder = buildEvent('OrderPaid', { ...base, orderId: 'ord_n2', items, paymentId: 'pay-77' }, now);
    expect(notificationKey(otherOrder)).not.toBe(notificationKey(paid));
  });

  test('a re-published event (later occurredAt, other details) shares the key', () => {
    const republished = buildEvent('OrderCancelled', { ...base, correlationId: 'corr-sweep', items, reason: 'PAYMENT_TIMEOUT' }, new Date('2026-02-01T00:00:00Z'));
    expect(notificationKey(republished)).toBe(notificationKey(cancelledByCustomer));
    expect(notificationKey(unknownSku)).toBe(notificationKey(outOfStock));
  });
});

describe('notificationFor', () => {
  test.each<[string, PipelineEvent, string, string]>([
    ['reserved', reserved, 'Order ord_n1 confirmed', 'Your items are reserved. Please complete payment to finish your order.'],
    ['out of stock', outOfStock, 'Order ord_n1 could not be fulfilled', 'Item sku-9 is out of stock.'],
    ['unknown sku', unknownSku, 'Order ord_n1 could not be fulfilled', 'Item sku-x is not sold here.'],
    ['paid', paid, 'Order ord_n1 paid', 'Payment pay-77 received. Thank you!'],
    ['cancelled by the customer', cancelledByCustomer, 'Order ord_n1 cancelled', 'Your order was cancelled as you asked.'],
    ['cancelled for non-payment', cancelledTimeout, 'Order ord_n1 cancelled', 'Payment was not received in time, so the order was cancelled.'],
  ])('%s', (_name, event, subject, message) => {
    expect(notificationFor(event)).toEqual({ ...base, eventType: event.type, subject, message });
  });

  test('every notified event type has a message; others are refused', () => {
    const byType = new Map<string, PipelineEvent>([reserved, outOfStock, paid, cancelledByCustomer].map((e) => [e.type, e]));
    for (const type of NOTIFICATION_EVENTS) expect(notificationFor(byType.get(type)!).eventType).toBe(type);
    const placed = buildEvent('OrderPlaced', { ...base, items }, now);
    expect(() => notificationFor(placed)).toThrow('no notification for OrderPlaced');
  });
});
