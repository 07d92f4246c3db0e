/**
 * No state change without its event: each status an order enters owes the bus one event, built here from the
 * stored order alone. The event relay publishes it from the orders table's stream (so a function that dies right
 * after its write loses nothing), and a client's retry of a change already made publishes it again (the event id
 * is deterministic, so consumers see the same event).
 */
import { EventType, PipelineEvent, buildEvent } from './events';
import { OrderStatus } from './order';
import { StoredOrder } from './ports';

/** The event owed on entering each status; NEEDS_ATTENTION is the sweep's flag for operators and owes none. */
export const EVENT_FOR_STATUS = {
  PENDING: 'OrderPlaced',
  RESERVED: 'InventoryReserved',
  REJECTED: 'InventoryRejected',
  PAID: 'OrderPaid',
  CANCELLED: 'OrderCancelled',
} as const satisfies Partial<Record<OrderStatus, EventType>>;

export type StatusWithEvent = keyof typeof EVENT_FOR_STATUS;

export function owesEvent(status: OrderStatus): status is StatusWithEvent {
  return status in EVENT_FOR_STATUS;
}

/** The event the order's current status owes, or undefined (NEEDS_ATTENTION, or a stored order missing what it needs). */
export function eventForStatus(order: StoredOrder, now: Date): PipelineEvent | undefined {
  const { orderId, customerId, correlationId, items } = order;
  const base = { orderId, customerId, correlationId };
  const occurredAt = order.statusChangedAt;
  switch (order.status) {
    case 'PENDING':
      return buildEvent('OrderPlaced', { ...base, items, occurredAt: order.createdAt }, now);
    case 'RESERVED':
      return buildEvent('InventoryReserved', { ...base, items, occurredAt }, now);
    case 'REJECTED':
      if (!order.rejection) throw new Error(`order ${orderId} is REJECTED without a rejection`);
      return buildEvent('InventoryRejected', { ...base, reason: order.rejection.reason, sku: order.rejection.sku, occurredAt }, now);
    case 'PAID':
      if (!order.paymentId) throw new Error(`order ${orderId} is PAID without a paymentId`);
      return buildEvent('OrderPaid', { ...base, items, paymentId: order.paymentId, occurredAt }, now);
    case 'CANCELLED':
      return buildEvent('OrderCancelled', { ...base, items, reason: order.cancellation?.reason ?? 'CUSTOMER', occurredAt }, now);
    default:
      return undefined;
  }
}

/**
 * The events one write to an order owes: its creation owes OrderPlaced, a change of status the event of the new
 * status, anything else (a republish count, a deletion) nothing.
 */
export function eventsForChange(before: StoredOrder | undefined, after: StoredOrder | undefined, now: Date): PipelineEvent[] {
  if (!after || before?.status === after.status) return [];
  const event = eventForStatus(after, now);
  return event ? [event] : [];
}
