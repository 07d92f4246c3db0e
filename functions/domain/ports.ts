/** What the domain needs from the outside world. Adapters implement these; tests pass the real adapters on a local engine. */
import { Order, OrderLine, OrderStatus, RejectionReason } from './order';
import { PipelineEvent } from './events';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** The order as stored: the API view plus intake bookkeeping. */
export interface StoredOrder extends Order {
  /** Hash of the validated request body: a replayed Idempotency-Key must carry the same request. */
  requestHash: string;
  correlationId: string;
}

/**
 * What a status change does to stock, in the same transaction as the change:
 * `reserve` takes every line (all or nothing), `release` gives a RESERVED order's lines back, `settle` turns them
 * into sales. The order's status is the reservation's record: an order enters RESERVED once and never returns to
 * PENDING, so no duplicate, late or out-of-order delivery can take, give back or sell its stock twice.
 */
export type StockEffect = 'reserve' | 'release' | 'settle';

export interface TransitionRequest {
  orderId: string;
  from: readonly OrderStatus[];
  to: OrderStatus;
  at: Date;
  /** Attributes written with the status, in the same conditional write. */
  set?: Partial<Pick<StoredOrder, 'paymentDeadline' | 'paymentId' | 'rejection' | 'cancellation' | 'attention'>>;
  /** Only if the payment deadline has passed by then (the sweep's cancellation). */
  deadlinePassedAt?: Date;
  /** Stock moved atomically with the status change. */
  stock?: { effect: StockEffect; lines: readonly OrderLine[] };
}

export type TransitionResult =
  /** `order` is the order as written when the store returns it (a plain update; not a transaction). */
  | { ok: true; order?: StoredOrder }
  /** The order was not in an allowed state (or the deadline had not passed); `current` is the order as it was, if it exists. */
  | { ok: false; reason: 'status'; current?: StoredOrder }
  /** A line could not be reserved: nothing was written. */
  | { ok: false; reason: 'stock'; sku: string; shortage: RejectionReason };

export interface OrderPage {
  orders: StoredOrder[];
  cursor?: string;
}

export interface OrderRepository {
  /** Conditional put: 'exists' when an order with this id is already stored. */
  create(order: StoredOrder): Promise<'created' | 'exists'>;
  get(orderId: string): Promise<StoredOrder | undefined>;
  listByCustomer(customerId: string, limit: number, cursor?: string): Promise<OrderPage>;
  /** Conditional status write, with its stock effect in one transaction when it has one. */
  transition(request: TransitionRequest): Promise<TransitionResult>;
  /** Increments the republish count while it is below max and the order is PENDING; false otherwise. */
  countRepublish(orderId: string, max: number, at: Date): Promise<boolean>;
  /** Open orders (PENDING, RESERVED, NEEDS_ATTENTION) in a status since before a time, oldest first (never a scan). */
  findInStatusSince(status: OpenStatus, before: Date, limit: number): Promise<OpenOrder[]>;
}

export const OPEN_STATUSES = ['PENDING', 'RESERVED', 'NEEDS_ATTENTION'] as const satisfies readonly OrderStatus[];
export type OpenStatus = (typeof OPEN_STATUSES)[number];
/** What the open-orders index holds about an order. */
export interface OpenOrder {
  orderId: string;
  statusChangedAt: string;
  paymentDeadline?: string;
}

export class PublishError extends Error {
  readonly name = 'PublishError';
  /** The position (in the events given to publish) of the first event not published: all before it were. */
  readonly firstUnpublished: number;

  constructor(message: string, options: { firstUnpublished?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.firstUnpublished = options.firstUnpublished ?? 0;
  }
}

export interface EventPublisher {
  /** Publishes all or throws PublishError naming the first event not published (a failed entry counts as a failure). */
  publish(events: PipelineEvent[]): Promise<void>;
}

export interface StockLevel {
  sku: string;
  /** Units that can be reserved. */
  available: number;
  /** Units held for RESERVED orders. */
  reserved: number;
  /** Units of PAID orders. */
  sold: number;
  /** Changes with every write to the SKU: the ETag a replacing PUT must match. */
  version: number;
}

export type SetStockResult = { outcome: 'created' | 'replaced'; level: StockLevel } | { outcome: 'exists' | 'version-mismatch'; level?: StockLevel };

export interface StockAdjustment {
  sku: string;
  delta: number;
  /** Caller-scoped idempotency record id: the adjustment applies at most once. */
  recordId: string;
  requestHash: string;
  at: Date;
}

export type AdjustResult =
  | { outcome: 'adjusted' | 'replayed'; level: StockLevel }
  | { outcome: 'unknown-sku' }
  | { outcome: 'insufficient'; level: StockLevel }
  | { outcome: 'key-reused' };

export interface StockRepository {
  get(sku: string): Promise<StockLevel | undefined>;
  /** Creates the SKU, or replaces `available` only if the SKU is still at `ifVersion` (no lost concurrent reservation). */
  set(sku: string, available: number, ifVersion?: number): Promise<SetStockResult>;
  /** Adds `delta` (negative: removes) to `available`, never below zero, once per record id. */
  adjust(adjustment: StockAdjustment): Promise<AdjustResult>;
}

export interface Notification {
  orderId: string;
  customerId: string;
  eventType: PipelineEvent['type'];
  subject: string;
  message: string;
  correlationId: string;
}

export interface Notifier {
  send(notification: Notification): Promise<void>;
}
