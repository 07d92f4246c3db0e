/** The order API's use cases: place, read, list, cancel, confirm payment. */
import { createHash } from 'node:crypto';
import { Caller, canConfirmPayments, idempotencyScope, mayActFor } from './caller';
import { ForbiddenError, IdempotencyKeyReusedError, NotFoundError, RequestInFlightError, StateConflictError, ValidationError } from './errors';
import { buildEvent } from './events';
import { ORDER_LIMITS, TRANSITIONS } from './order';
import { Clock, EventPublisher, OrderPage, OrderRepository, StoredOrder } from './ports';
import { publishOrMark } from './publication';
import { idempotencyKeySchema, paymentSchema, placeOrderSchema, toProblems } from './schemas';

export interface OrderDeps {
  orders: OrderRepository;
  events: EventPublisher;
  clock: Clock;
}

export interface PlaceOrderInput {
  caller: Caller;
  idempotencyKey: unknown;
  body: unknown;
  correlationId: string;
  /** How long the request that writes the order may still run: a replay before then gets 409. */
  remainingMs: number;
}

export interface PlaceOrderResult {
  order: StoredOrder;
  replayed: boolean;
  published: boolean;
}

/** The order id is derived from the caller's idempotency key, so the conditional put is the idempotency check. */
export function orderIdFor(scope: string, idempotencyKey: string): string {
  return `ord_${createHash('sha256').update(`${scope}\u0000${idempotencyKey}`).digest('hex').slice(0, 26)}`;
}

function requestHash(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

export async function placeOrder(input: PlaceOrderInput, deps: OrderDeps): Promise<PlaceOrderResult> {
  const key = idempotencyKeySchema.safeParse(input.idempotencyKey, { reportInput: true });
  const body =
    input.caller.kind === 'customer' && input.body && typeof input.body === 'object' && !Array.isArray(input.body) && !('customerId' in input.body)
      ? { ...input.body, customerId: input.caller.customerId }
      : input.body;
  const request = placeOrderSchema.safeParse(body, { reportInput: true });
  const problems = [
    ...(key.success ? [] : toProblems(key.error, 'Idempotency-Key')),
    ...(request.success ? [] : toProblems(request.error)),
  ];
  if (!key.success || !request.success) throw new ValidationError(problems);
  if (!mayActFor(input.caller, request.data.customerId)) {
    throw new ForbiddenError(`customerId ${request.data.customerId} is not the authenticated customer`);
  }

  const now = deps.clock.now();
  const at = now.toISOString();
  const order: StoredOrder = {
    orderId: orderIdFor(idempotencyScope(input.caller), key.data),
    customerId: request.data.customerId,
    status: 'PENDING',
    items: request.data.items,
    createdAt: at,
    updatedAt: at,
    statusChangedAt: at,
    requestHash: requestHash(request.data),
    inFlightUntil: new Date(now.getTime() + Math.max(0, input.remainingMs)).toISOString(),
    correlationId: input.correlationId,
  };

  if ((await deps.orders.create(order)) === 'exists') {
    return replay(order, now, deps);
  }
  const event = buildEvent('OrderPlaced', { orderId: order.orderId, customerId: order.customerId, correlationId: order.correlationId, items: order.items }, now);
  const published = (await publishOrMark(event, deps)) === 'published';
  return { order: published ? order : { ...order, unpublishedEvent: 'OrderPlaced' }, replayed: false, published };
}

async function replay(attempt: StoredOrder, now: Date, deps: OrderDeps): Promise<PlaceOrderResult> {
  const existing = await deps.orders.get(attempt.orderId);
  if (!existing) throw new Error(`order ${attempt.orderId} exists but could not be read`);
  if (existing.requestHash !== attempt.requestHash) {
    throw new IdempotencyKeyReusedError('this Idempotency-Key was already used with a different request body; use a new key for a new order');
  }
  const inFlightMs = Date.parse(existing.inFlightUntil) - now.getTime();
  if (existing.status === 'PENDING' && !existing.unpublishedEvent && inFlightMs > 0) {
    throw new RequestInFlightError('the first request with this Idempotency-Key is still being processed; retry later', Math.ceil(inFlightMs / 1000));
  }
  return { order: existing, replayed: true, published: !existing.unpublishedEvent };
}

export async function getOrder(orderId: string, caller: Caller, deps: Pick<OrderDeps, 'orders'>): Promise<StoredOrder> {
  const order = await deps.orders.get(orderId);
  // Someone else's order is reported as absent: its existence is not the caller's business.
  if (!order || !mayActFor(caller, order.customerId)) throw new NotFoundError(`order ${orderId} does not exist`);
  return order;
}

export async function listOrders(
  query: { customerId?: string; limit?: string; nextToken?: string },
  caller: Caller,
  deps: Pick<OrderDeps, 'orders'>,
): Promise<OrderPage> {
  const problems = [];
  const customerId = query.customerId ?? (caller.kind === 'customer' ? caller.customerId : undefined);
  if (!customerId) problems.push({ field: 'customerId', message: 'customerId query parameter is required' });
  const { default: defaultLimit, max } = ORDER_LIMITS.listPageSize;
  const limit = query.limit === undefined ? defaultLimit : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    problems.push({ field: 'limit', message: `limit must be an integer from 1 to ${max}` });
  }
  if (problems.length) throw new ValidationError(problems);
  if (!mayActFor(caller, customerId!)) throw new ForbiddenError(`customer ${customerId} is not the authenticated customer`);
  return deps.orders.listByCustomer(customerId!, limit, query.nextToken);
}

export async function cancelOrder(orderId: string, caller: Caller, deps: OrderDeps): Promise<StoredOrder> {
  const current = await getOrder(orderId, caller, deps);
  const now = deps.clock.now();
  const cancelled = await deps.orders.transition({
    orderId,
    from: TRANSITIONS.CANCELLED,
    to: 'CANCELLED',
    at: now,
    set: { cancellation: { reason: 'CUSTOMER' } },
  });
  if (!cancelled) {
    const latest = (await deps.orders.get(orderId)) ?? current;
    throw new StateConflictError(`order ${orderId} is ${latest.status}: only ${TRANSITIONS.CANCELLED.join(' or ')} orders can be cancelled`, latest.status);
  }
  const event = buildEvent(
    'OrderCancelled',
    { orderId, customerId: cancelled.customerId, correlationId: cancelled.correlationId, items: cancelled.items, reason: 'CUSTOMER' },
    now,
  );
  await publishOrMark(event, deps);
  return cancelled;
}

export async function confirmPayment(orderId: string, body: unknown, caller: Caller, deps: OrderDeps): Promise<{ order: StoredOrder; replayed: boolean }> {
  const parsed = paymentSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) throw new ValidationError(toProblems(parsed.error));
  if (!canConfirmPayments(caller)) throw new ForbiddenError('confirming a payment needs the payments or admin scope');
  const { paymentId } = parsed.data;
  const now = deps.clock.now();
  const paid = await deps.orders.transition({ orderId, from: TRANSITIONS.PAID, to: 'PAID', at: now, set: { paymentId } });
  if (!paid) {
    const latest = await deps.orders.get(orderId);
    if (!latest) throw new NotFoundError(`order ${orderId} does not exist`);
    if (latest.status === 'PAID' && latest.paymentId === paymentId) return { order: latest, replayed: true };
    const why = latest.status === 'PAID' ? `is already PAID by payment ${latest.paymentId}` : `is ${latest.status}: only RESERVED orders can be paid`;
    throw new StateConflictError(`order ${orderId} ${why}`, latest.status);
  }
  const event = buildEvent('OrderPaid', { orderId, customerId: paid.customerId, correlationId: paid.correlationId, items: paid.items, paymentId }, now);
  await publishOrMark(event, deps);
  return { order: paid, replayed: false };
}
