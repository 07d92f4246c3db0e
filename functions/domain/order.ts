/** The order aggregate: its statuses, its shape, and the transitions the saga may make. */
import type { OrderView } from './schemas';

export const ORDER_STATUSES = ['PENDING', 'RESERVED', 'PAID', 'REJECTED', 'CANCELLED', 'NEEDS_ATTENTION'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Limits on what one order may hold; the API validates against these and nothing else restates them. */
export const ORDER_LIMITS = {
  idempotencyKeyLength: { min: 1, max: 255 },
  lines: { min: 1, max: 50 },
  quantity: { min: 1, max: 999 },
  skuLength: { min: 1, max: 64 },
  /** Ours are `ord_` + 26 hex digits; a longer one names no order (and could exceed DynamoDB's key size). */
  orderIdLength: { min: 1, max: 64 },
  customerIdLength: { min: 1, max: 128 },
  paymentIdLength: { min: 1, max: 255 },
  available: { min: 0, max: 1_000_000_000 },
  /** One stock adjustment adds or removes at most this many units (and never 0). */
  adjustment: { min: -1_000_000_000, max: 1_000_000_000 },
  listPageSize: { default: 20, max: 100 },
} as const;

export interface OrderLine {
  sku: string;
  quantity: number;
}

export const REJECTION_REASONS = ['OUT_OF_STOCK', 'UNKNOWN_SKU'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];
export const CANCELLATION_REASONS = ['CUSTOMER', 'PAYMENT_TIMEOUT'] as const;
export type CancellationReason = (typeof CANCELLATION_REASONS)[number];

export interface Order {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  items: OrderLine[];
  createdAt: string;
  updatedAt: string;
  /** When the order entered its current status: the sweep finds stale orders by status and this. */
  statusChangedAt: string;
  /** Set when RESERVED: the order is cancelled if unpaid by then. */
  paymentDeadline?: string;
  paymentId?: string;
  rejection?: { reason: RejectionReason; sku: string };
  cancellation?: { reason: CancellationReason };
  /** Set when NEEDS_ATTENTION: why the sweep gave up on the order, for the operator who picks it up. */
  attention?: { reason: string };
  /** Times the sweep re-published OrderPlaced for this order. */
  republishCount?: number;
  /** When the sweep last re-published OrderPlaced. */
  republishedAt?: string;
}

/** Where each status may be entered from: every status write is conditional on these. */
export const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING: [],
  // A late inventory outcome also settles an order the sweep gave up on.
  RESERVED: ['PENDING', 'NEEDS_ATTENTION'],
  REJECTED: ['PENDING', 'NEEDS_ATTENTION'],
  PAID: ['RESERVED'],
  // A stuck order holds no stock (only a reservation leaves PENDING with stock): its customer may give up on it.
  CANCELLED: ['PENDING', 'RESERVED', 'NEEDS_ATTENTION'],
  NEEDS_ATTENTION: ['PENDING'],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[to].includes(from);
}

/** The order as the API shows it (orderViewSchema): internal bookkeeping stays inside. */
export function orderView(order: Order): OrderView {
  const { orderId, customerId, status, items, createdAt, updatedAt, statusChangedAt } = order;
  const view: OrderView = { orderId, customerId, status, items, createdAt, updatedAt, statusChangedAt };
  if (order.paymentDeadline) view.paymentDeadline = order.paymentDeadline;
  if (order.paymentId) view.paymentId = order.paymentId;
  if (order.rejection) view.rejection = order.rejection;
  if (order.cancellation) view.cancellation = order.cancellation;
  if (order.attention) view.attention = order.attention;
  return view;
}
