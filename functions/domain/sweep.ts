/**
 * The compensation sweep: finds what fell through and repairs one order at a time.
 * (a) orders whose event was never published, (b) orders stuck PENDING with no outcome,
 * (c) RESERVED orders past their payment deadline.
 */
import { EventType, PipelineEvent, buildEvent } from './events';
import { OrderStatus, TRANSITIONS } from './order';
import { Clock, EventPublisher, OrderRepository, StoredOrder } from './ports';
import { publishOrMark } from './publication';

export interface SweepSettings {
  unpublishedAfterSeconds: number;
  stalePendingAfterSeconds: number;
  maxRepublishAttempts: number;
  maxOrdersPerRun: number;
}

export interface SweepDeps {
  orders: OrderRepository;
  events: EventPublisher;
  clock: Clock;
}

export const SWEEP_ACTIONS = ['publish', 'republish', 'expire'] as const;
export type SweepAction = (typeof SWEEP_ACTIONS)[number];

export interface SweepWork {
  publish: { orderId: string }[];
  republish: { orderId: string }[];
  expire: { orderId: string }[];
}

export interface SweepItemResult {
  orderId: string;
  action: SweepAction;
  outcome: string;
}

/** The event an order in this status owes the bus, if any. */
const EVENT_FOR_STATUS: Partial<Record<OrderStatus, EventType>> = { PENDING: 'OrderPlaced', CANCELLED: 'OrderCancelled', PAID: 'OrderPaid' };
const UNPUBLISHABLE: EventType[] = ['OrderPlaced', 'OrderCancelled', 'OrderPaid'];

function ago(now: Date, seconds: number): Date {
  return new Date(now.getTime() - seconds * 1000);
}

export async function findWork(settings: SweepSettings, deps: SweepDeps): Promise<SweepWork> {
  const now = deps.clock.now();
  const limit = settings.maxOrdersPerRun;
  const unpublished = (await Promise.all(UNPUBLISHABLE.map((t) => deps.orders.findUnpublished(t, ago(now, settings.unpublishedAfterSeconds), limit)))).flat();
  // Unpublished PENDING orders (at most `limit`, handled by the publish branch) are skipped below: read past them.
  const stale = await deps.orders.findInStatusSince('PENDING', ago(now, settings.stalePendingAfterSeconds), 2 * limit);
  // Reserved orders are found by the time they were reserved; the deadline written on each decides.
  const reserved = await deps.orders.findInStatusSince('RESERVED', now, limit);
  const ids = (orders: StoredOrder[]) => orders.slice(0, limit).map((o) => ({ orderId: o.orderId }));
  return {
    publish: ids(unpublished),
    republish: ids(stale.filter((o) => !o.unpublishedEvent)),
    expire: ids(reserved.filter((o) => o.paymentDeadline !== undefined && Date.parse(o.paymentDeadline) <= now.getTime())),
  };
}

function eventFor(order: StoredOrder, type: EventType, now: Date): PipelineEvent {
  const { orderId, customerId, correlationId, items } = order;
  const base = { orderId, customerId, correlationId, items };
  switch (type) {
    case 'OrderPlaced':
      return buildEvent('OrderPlaced', { ...base, occurredAt: order.createdAt }, now);
    case 'OrderCancelled':
      return buildEvent('OrderCancelled', { ...base, reason: order.cancellation?.reason ?? 'CUSTOMER', occurredAt: order.statusChangedAt }, now);
    case 'OrderPaid':
      return buildEvent('OrderPaid', { ...base, paymentId: order.paymentId ?? 'unknown', occurredAt: order.statusChangedAt }, now);
    default:
      throw new Error(`the sweep does not publish ${type}`);
  }
}

/** (a) Publish the event the order's current status owes, then clear the mark. */
export async function publishUnpublished(orderId: string, deps: SweepDeps): Promise<SweepItemResult> {
  const order = await deps.orders.get(orderId);
  const result = (outcome: string): SweepItemResult => ({ orderId, action: 'publish', outcome });
  if (!order?.unpublishedEvent) return result('nothing-to-publish');
  const owed = EVENT_FOR_STATUS[order.status];
  // A PENDING order that was cancelled before its OrderPlaced went out owes only the cancellation.
  if (owed) await deps.events.publish([eventFor(order, owed, deps.clock.now())]);
  await deps.orders.clearUnpublished(orderId, order.unpublishedEvent);
  return result(owed ? 'published' : 'cleared');
}

/** (b) Re-publish OrderPlaced for an order with no outcome, a bounded number of times, then flag it. */
export async function republishOrFlag(orderId: string, maxAttempts: number, deps: SweepDeps): Promise<SweepItemResult> {
  const now = deps.clock.now();
  const result = (outcome: string): SweepItemResult => ({ orderId, action: 'republish', outcome });
  const order = await deps.orders.get(orderId);
  if (!order) return result('missing');
  // Publish first, count after: a failed publish (the state machine retries it) must not use up an attempt.
  if (order.status === 'PENDING' && (order.republishCount ?? 0) < maxAttempts) {
    await deps.events.publish([eventFor(order, 'OrderPlaced', now)]);
    await deps.orders.countRepublish(orderId, maxAttempts, now);
    return result('republished');
  }
  const flagged = await deps.orders.transition({ orderId, from: TRANSITIONS.NEEDS_ATTENTION, to: 'NEEDS_ATTENTION', at: now });
  return result(flagged ? 'needs-attention' : 'settled-meanwhile');
}

/** (c) Cancel a RESERVED order past its payment deadline and publish the cancellation (inventory gives stock back). */
export async function expireReservation(orderId: string, deps: SweepDeps): Promise<SweepItemResult> {
  const now = deps.clock.now();
  const result = (outcome: string): SweepItemResult => ({ orderId, action: 'expire', outcome });
  let order = await deps.orders.transition({
    orderId,
    from: ['RESERVED'],
    to: 'CANCELLED',
    at: now,
    deadlinePassedAt: now,
    set: { cancellation: { reason: 'PAYMENT_TIMEOUT' } },
  });
  if (!order) {
    // A retry after our own cancel succeeded must still publish; anything else (paid meanwhile) is left alone.
    const current = await deps.orders.get(orderId);
    if (current?.status !== 'CANCELLED' || current.cancellation?.reason !== 'PAYMENT_TIMEOUT') return result(`left-${current?.status ?? 'missing'}`);
    order = current;
  }
  const published = await publishOrMark(eventFor(order, 'OrderCancelled', now), deps);
  return result(published === 'published' ? 'cancelled' : 'cancelled-publish-deferred');
}

export interface SweepSummary {
  found: Record<SweepAction, number>;
  outcomes: Record<string, number>;
  failed: number;
  failures: { orderId: string; action: string; error: string }[];
}

/** Per-order results (successes and caught failures) into the execution's output. */
export function summarise(results: (SweepItemResult | { orderId: string; action: SweepAction; error: unknown })[]): SweepSummary {
  const summary: SweepSummary = { found: { publish: 0, republish: 0, expire: 0 }, outcomes: {}, failed: 0, failures: [] };
  for (const r of results) {
    summary.found[r.action]++;
    if ('error' in r) {
      summary.failed++;
      summary.failures.push({ orderId: r.orderId, action: r.action, error: describeError(r.error) });
      continue;
    }
    const key = `${r.action}:${r.outcome}`;
    summary.outcomes[key] = (summary.outcomes[key] ?? 0) + 1;
  }
  return summary;
}

function describeError(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { Error?: string; Cause?: string };
    if (e.Error) return e.Cause ? `${e.Error}: ${e.Cause}`.slice(0, 500) : e.Error;
  }
  return String(error).slice(0, 500);
}
