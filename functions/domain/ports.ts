/** What the domain needs from the outside world. Adapters implement these; tests pass fakes or mocked clients. */
import { Order, OrderStatus } from './order';
import { EventType, PipelineEvent } from './events';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** The order as stored: the API view plus intake bookkeeping. */
export interface StoredOrder extends Order {
  /** Hash of the validated request body: a replayed Idempotency-Key must carry the same request. */
  requestHash: string;
  /** Until then the request that created the order may still be running (its Lambda deadline). */
  inFlightUntil: string;
  /** Set only when publishing the event for the current status failed; the sweep publishes it. */
  unpublishedEvent?: EventType;
  correlationId: string;
}

export interface TransitionRequest {
  orderId: string;
  from: readonly OrderStatus[];
  to: OrderStatus;
  at: Date;
  /** Attributes written with the status, in the same conditional write. */
  set?: Partial<Pick<StoredOrder, 'paymentDeadline' | 'paymentId' | 'rejection' | 'cancellation'>>;
  /** Only if the payment deadline has passed by then (the sweep's cancellation). */
  deadlinePassedAt?: Date;
}

export interface OrderPage {
  orders: StoredOrder[];
  cursor?: string;
}

export interface OrderRepository {
  /** Conditional put: 'exists' when an order with this id is already stored. */
  create(order: StoredOrder): Promise<'created' | 'exists'>;
  get(orderId: string): Promise<StoredOrder | undefined>;
  listByCustomer(customerId: string, limit: number, cursor?: string): Promise<OrderPage>;
  /** Conditional status write: the updated order, or undefined when the order was not in an allowed state. */
  transition(request: TransitionRequest): Promise<StoredOrder | undefined>;
  markUnpublished(orderId: string, type: EventType): Promise<void>;
  clearUnpublished(orderId: string, type: EventType): Promise<void>;
  /** Increments the republish count while it is below max and the order is PENDING; false otherwise. */
  countRepublish(orderId: string, max: number, at: Date): Promise<boolean>;
  /** Orders in a status since before a time, oldest first, from the status index (never a scan). */
  findInStatusSince(status: OrderStatus, before: Date, limit: number): Promise<StoredOrder[]>;
  findUnpublished(type: EventType, before: Date, limit: number): Promise<StoredOrder[]>;
}

export class PublishError extends Error {
  readonly name = 'PublishError';
}

export interface EventPublisher {
  /** Publishes all or throws PublishError (a failed entry counts as a failure). */
  publish(events: PipelineEvent[]): Promise<void>;
}

export type ReserveResult = 'reserved' | 'already-reserved' | 'insufficient' | 'unknown-sku';

export interface StockLevel {
  sku: string;
  available: number;
  reserved: number;
}

export interface StockRepository {
  /** Takes quantity for an order with one conditional write; never below zero, at most once per (sku, order). */
  reserve(sku: string, orderId: string, quantity: number): Promise<ReserveResult>;
  /** Gives back what the order holds on the sku; false when it holds nothing (already given back). */
  release(sku: string, orderId: string, quantity: number): Promise<boolean>;
  /** The order is paid: its hold becomes a sale and leaves the item. */
  settle(sku: string, orderId: string, quantity: number): Promise<boolean>;
  set(sku: string, available: number): Promise<StockLevel>;
  get(sku: string): Promise<StockLevel | undefined>;
}

export interface Notification {
  orderId: string;
  customerId: string;
  eventType: EventType;
  subject: string;
  message: string;
  correlationId: string;
}

export interface Notifier {
  send(notification: Notification): Promise<void>;
}
