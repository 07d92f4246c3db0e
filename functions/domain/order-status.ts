/**
 * Applies inventory outcomes to orders as conditional transitions from allowed states only, so duplicates and
 * out-of-order deliveries change nothing. A reservation that arrives for an order already cancelled or rejected
 * is handed back to inventory.
 */
import { PipelineEvent, buildEvent } from './events';
import { TRANSITIONS } from './order';
import { Clock, EventPublisher, OrderRepository } from './ports';

export interface OrderStatusDeps {
  orders: OrderRepository;
  events: EventPublisher;
  clock: Clock;
  paymentWindowSeconds: number;
}

export type StatusOutcome =
  | { action: 'transitioned'; to: 'RESERVED' | 'REJECTED' }
  | { action: 'ignored'; status: string }
  | { action: 'orphan-released'; status: string };

export const ORDER_STATUS_EVENTS = ['InventoryReserved', 'InventoryRejected'] as const;

/** A reservation for an order in one of these will never be paid: the stock goes back. */
const RELEASE_WHEN = ['CANCELLED', 'REJECTED'];

export async function applyInventoryOutcome(event: PipelineEvent, deps: OrderStatusDeps): Promise<StatusOutcome> {
  const now = deps.clock.now();
  const { orderId } = event.detail;
  if (event.type === 'InventoryReserved') {
    const paymentDeadline = new Date(now.getTime() + deps.paymentWindowSeconds * 1000).toISOString();
    if (await deps.orders.transition({ orderId, from: TRANSITIONS.RESERVED, to: 'RESERVED', at: now, set: { paymentDeadline } })) {
      return { action: 'transitioned', to: 'RESERVED' };
    }
    const current = await deps.orders.get(orderId);
    const status = current?.status ?? 'MISSING';
    if (current && RELEASE_WHEN.includes(current.status)) {
      const { customerId, correlationId, items } = event.detail;
      await deps.events.publish([buildEvent('ReservationOrphaned', { orderId, customerId, correlationId, items }, now)]);
      return { action: 'orphan-released', status };
    }
    return { action: 'ignored', status };
  }
  if (event.type === 'InventoryRejected') {
    const { reason, sku } = event.detail;
    if (await deps.orders.transition({ orderId, from: TRANSITIONS.REJECTED, to: 'REJECTED', at: now, set: { rejection: { reason, sku } } })) {
      return { action: 'transitioned', to: 'REJECTED' };
    }
    return { action: 'ignored', status: (await deps.orders.get(orderId))?.status ?? 'MISSING' };
  }
  throw new Error(`order-status does not handle ${event.type}`);
}
