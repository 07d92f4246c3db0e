/** What the customer is told, once per (order, event type). Delivery is the Notifier's job. */
import { PipelineEvent } from './events';
import { Notification } from './ports';

export const NOTIFICATION_EVENTS = ['InventoryReserved', 'InventoryRejected', 'OrderPaid', 'OrderCancelled'] as const;

/** The key that makes a notification happen once: a re-published event or a second delivery shares it. */
export function notificationKey(event: PipelineEvent): string {
  return `${event.detail.orderId}#${event.type}`;
}

export function notificationFor(event: PipelineEvent): Notification {
  const { orderId, customerId, correlationId } = event.detail;
  const base = { orderId, customerId, correlationId, eventType: event.type };
  switch (event.type) {
    case 'InventoryReserved':
      return { ...base, subject: `Order ${orderId} confirmed`, message: 'Your items are reserved. Please complete payment to finish your order.' };
    case 'InventoryRejected':
      return {
        ...base,
        subject: `Order ${orderId} could not be fulfilled`,
        message: event.detail.reason === 'UNKNOWN_SKU' ? `Item ${event.detail.sku} is not sold here.` : `Item ${event.detail.sku} is out of stock.`,
      };
    case 'OrderPaid':
      return { ...base, subject: `Order ${orderId} paid`, message: `Payment ${event.detail.paymentId} received. Thank you!` };
    case 'OrderCancelled':
      return {
        ...base,
        subject: `Order ${orderId} cancelled`,
        message: event.detail.reason === 'PAYMENT_TIMEOUT' ? 'Payment was not received in time, so the order was cancelled.' : 'Your order was cancelled as you asked.',
      };
    default:
      throw new Error(`no notification for ${event.type}`);
  }
}
