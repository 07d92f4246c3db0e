/** The order API's use cases: place, read, list, cancel, confirm payment. Each is one conditional write (or transaction). */
import { createHash } from 'node:crypto';
import { Caller, canConfirmPayments, idempotencyScope, mayActFor } from './caller';
import { ContentionError, ForbiddenError, IdempotencyKeyReusedError, NotFoundError, Problem, StateConflictError, ValidationError } from './errors';
import { canTransition, TRANSITIONS } from './order';
import { Clock, EventPublisher, OrderPage, OrderRepository, PublishError, StoredOrder, TransitionRequest, TransitionResult } from './ports';
import { eventForStatus } from './status-events';
import { customerIdSchema, idempotencyKeySchema, orderIdSchema, pageLimitSchema, paymentSchema, placeOrderSchema, toProblems } from './schemas';

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
}

export interface PlaceOrderResult {
  order: StoredOrder;
  replayed: boolean;
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
    correlationId: input.correlationId,
  };

  // The one write: OrderPlaced follows from the table's stream, so nothing here can die between write and event.
  if ((await deps.orders.create(order)) === 'created') return { order, replayed: false };
  const existing = await deps.orders.get(order.orderId);
  if (!existing) throw new Error(`order ${order.orderId} exists but could not be read`);
  if (existing.requestHash !== order.requestHash) {
    throw new IdempotencyKeyReusedError('this Idempotency-Key was already used with a different request body; use a new key for a new order');
  }
  return { order: existing, replayed: true };
}

/** A path's order id no order can have (too long for one, or unprintable) is a 400, never a lookup DynamoDB refuses. */
function orderIdProblems(orderId: string): Problem[] {
  const parsed = orderIdSchema.safeParse(orderId, { reportInput: true });
  return parsed.success ? [] : toProblems(parsed.error, 'orderId');
}

export async function getOrder(orderId: string, caller: Caller, deps: Pick<OrderDeps, 'orders'>): Promise<StoredOrder> {
  const problems = orderIdProblems(orderId);
  if (problems.length) throw new ValidationError(problems);
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
  const problems: Problem[] = [];
  const customerId = query.customerId ?? (caller.kind === 'customer' ? caller.customerId : undefined);
  if (!customerId) problems.push({ field: 'customerId', message: 'customerId query parameter is required' });
  else {
    const parsed = customerIdSchema.safeParse(customerId, { reportInput: true });
    if (!parsed.success) problems.push(...toProblems(parsed.error, 'customerId'));
  }
  const limit = pageLimitSchema.safeParse(query.limit, { reportInput: true });
  if (!limit.success) problems.push(...toProblems(limit.error, 'limit'));
  if (problems.length || !limit.success) throw new ValidationError(problems);
  if (!mayActFor(caller, customerId!)) throw new ForbiddenError(`customer ${customerId} is not the authenticated customer`);
  return deps.orders.listByCustomer(customerId!, limit.data, query.nextToken);
}

export interface ChangeResult {
  order: StoredOrder;
  /** The change had already been made (a client retry): its event was published again. */
  replayed: boolean;
}

/** A status write that lost a race re-reads the order and decides again; a race lost this often is contention. */
const MAX_DECISIONS = 4;

export async function cancelOrder(orderId: string, caller: Caller, deps: OrderDeps): Promise<ChangeResult> {
  let current = await getOrder(orderId, caller, deps);
  for (let attempt = 0; attempt < MAX_DECISIONS; attempt++) {
    if (current.status === 'CANCELLED') return replayed(current, deps);
    if (!canTransition(current.status, 'CANCELLED')) {
      throw new StateConflictError(`order ${orderId} is ${current.status}: only ${TRANSITIONS.CANCELLED.join(', ')} orders can be cancelled`, current.status);
    }
    // Only a RESERVED order holds stock (a reservation leaves PENDING atomically): it gives it back in the same write.
    const request: TransitionRequest = {
      orderId,
      from: [current.status],
      to: 'CANCELLED',
      at: deps.clock.now(),
      set: { cancellation: { reason: 'CUSTOMER' } },
      stock: current.status === 'RESERVED' ? { effect: 'release', lines: current.items } : undefined,
    };
    const result = await deps.orders.transition(request);
    if (result.ok) return { order: result.order ?? written(current, request), replayed: false };
    current = await reread(orderId, result, deps);
  }
  throw new ContentionError(`order ${orderId} kept changing while it was being cancelled; retry`);
}

export async function confirmPayment(orderId: string, body: unknown, caller: Caller, deps: OrderDeps): Promise<ChangeResult> {
  const parsed = paymentSchema.safeParse(body, { reportInput: true });
  const problems = [...orderIdProblems(orderId), ...(parsed.success ? [] : toProblems(parsed.error))];
  if (!parsed.success || problems.length) throw new ValidationError(problems);
  if (!canConfirmPayments(caller)) throw new ForbiddenError('confirming a payment needs the payments or admin scope');
  const { paymentId } = parsed.data;
  let current = await deps.orders.get(orderId);
  for (let attempt = 0; attempt < MAX_DECISIONS; attempt++) {
    if (!current) throw new NotFoundError(`order ${orderId} does not exist`);
    if (current.status === 'PAID') {
      if (current.paymentId === paymentId) return replayed(current, deps);
      throw new StateConflictError(`order ${orderId} is already PAID by payment ${current.paymentId}`, current.status);
    }
    if (!canTransition(current.status, 'PAID')) throw new StateConflictError(`order ${orderId} is ${current.status}: only RESERVED orders can be paid`, current.status);
    // The held units become sales in the same write that makes the order PAID.
    const request: TransitionRequest = { orderId, from: TRANSITIONS.PAID, to: 'PAID', at: deps.clock.now(), set: { paymentId }, stock: { effect: 'settle', lines: current.items } };
    const result = await deps.orders.transition(request);
    if (result.ok) return { order: result.order ?? written(current, request), replayed: false };
    current = await reread(orderId, result, deps);
  }
  throw new ContentionError(`order ${orderId} kept changing while its payment was being confirmed; retry`);
}

/** The order as a transaction wrote it (a transaction returns no item). */
function written(current: StoredOrder, request: TransitionRequest): StoredOrder {
  const at = request.at.toISOString();
  return { ...current, ...request.set, status: request.to, updatedAt: at, statusChangedAt: at };
}

async function reread(orderId: string, failed: Exclude<TransitionResult, { ok: true }>, deps: OrderDeps): Promise<StoredOrder> {
  if (failed.reason === 'stock') throw new Error(`order ${orderId}: the stock it holds is not there to move (${failed.sku}: ${failed.shortage})`);
  const current = failed.current ?? (await deps.orders.get(orderId));
  if (!current) throw new NotFoundError(`order ${orderId} does not exist`);
  return current;
}

/**
 * A retried request for a change already made: the answer is the order as it is, and its event goes out again.
 * The stream has published it already unless something failed; consumers dedupe by the event id. A failure to
 * re-publish does not fail the answer: the change and its stream record stand.
 */
async function replayed(order: StoredOrder, deps: OrderDeps): Promise<ChangeResult> {
  const event = eventForStatus(order, deps.clock.now());
  if (event) {
    try {
      await deps.events.publish([event]);
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
    }
  }
  return { order, replayed: true };
}
