/**
 * The compensation sweep: finds what fell through and repairs one order at a time.
 * (b) orders stuck PENDING with no outcome (their OrderPlaced was dead-lettered or lost): re-published a bounded
 * number of times, then flagged; (c) RESERVED orders past their payment deadline: cancelled, stock released, in
 * one transaction. (What the sweep once did first, publishing events a function died before publishing, the
 * table's stream now does: no status change is written without its stream record.)
 */
import { buildEvent } from './events';
import { TRANSITIONS } from './order';
import { Clock, EventPublisher, OrderRepository } from './ports';

export interface SweepSettings {
  stalePendingAfterSeconds: number;
  maxRepublishAttempts: number;
  maxOrdersPerRun: number;
}

export interface SweepDeps {
  orders: OrderRepository;
  events: EventPublisher;
  clock: Clock;
}

export const SWEEP_ACTIONS = ['republish', 'expire'] as const;
export type SweepAction = (typeof SWEEP_ACTIONS)[number];

export type SweepWork = Record<SweepAction, { orderId: string }[]>;

export interface SweepItemResult {
  orderId: string;
  action: SweepAction;
  outcome: string;
}

function ago(now: Date, seconds: number): Date {
  return new Date(now.getTime() - seconds * 1000);
}

export async function findWork(settings: SweepSettings, deps: SweepDeps): Promise<SweepWork> {
  const now = deps.clock.now();
  const limit = settings.maxOrdersPerRun;
  const [stale, reserved] = await Promise.all([
    deps.orders.findInStatusSince('PENDING', ago(now, settings.stalePendingAfterSeconds), limit),
    // Reserved orders are found by the time they were reserved, oldest (earliest deadline) first; the deadline decides.
    deps.orders.findInStatusSince('RESERVED', now, limit),
  ]);
  return {
    republish: stale.map((o) => ({ orderId: o.orderId })),
    expire: reserved.filter((o) => o.paymentDeadline !== undefined && Date.parse(o.paymentDeadline) <= now.getTime()).map((o) => ({ orderId: o.orderId })),
  };
}

export type RepublishSettings = Pick<SweepSettings, 'stalePendingAfterSeconds' | 'maxRepublishAttempts'>;

/**
 * (b) Re-publish OrderPlaced for an order with no outcome, a bounded number of times, then flag it. Each copy gets
 * as long to be handled as the first one had (stalePendingAfterSeconds) before the next copy or the flag: a sweep
 * that runs more often than that, or an inventory queue working off a backlog, must not pile copies onto the
 * backlog (each one a delivery, an invocation and an idempotency lookup) and flag orders that are only waiting.
 */
export async function republishOrFlag(orderId: string, settings: RepublishSettings, deps: SweepDeps): Promise<SweepItemResult> {
  const now = deps.clock.now();
  const result = (outcome: string): SweepItemResult => ({ orderId, action: 'republish', outcome });
  const order = await deps.orders.get(orderId);
  if (!order) return result('missing');
  if (order.status !== 'PENDING') return result('settled-meanwhile');
  if (order.republishedAt && now.getTime() - Date.parse(order.republishedAt) < settings.stalePendingAfterSeconds * 1000) return result('waiting');
  const maxAttempts = settings.maxRepublishAttempts;
  // Publish first, count after: a failed publish (the state machine retries it) must not use up an attempt.
  if ((order.republishCount ?? 0) < maxAttempts) {
    const { customerId, correlationId, items } = order;
    await deps.events.publish([buildEvent('OrderPlaced', { orderId, customerId, correlationId, items, occurredAt: order.createdAt }, now)]);
    await deps.orders.countRepublish(orderId, maxAttempts, now);
    return result('republished');
  }
  const reason = `no outcome after OrderPlaced was re-published ${order.republishCount ?? 0} times: check the inventory DLQ and the event relay's`;
  const flagged = await deps.orders.transition({ orderId, from: TRANSITIONS.NEEDS_ATTENTION, to: 'NEEDS_ATTENTION', at: now, set: { attention: { reason } } });
  return result(flagged.ok ? 'needs-attention' : 'settled-meanwhile');
}

/**
 * (c) Cancel a RESERVED order past its payment deadline and give its stock back, in one transaction; the stream
 * publishes OrderCancelled. A retry after a crash finds the order CANCELLED and has nothing left to do.
 */
export async function expireReservation(orderId: string, deps: SweepDeps): Promise<SweepItemResult> {
  const now = deps.clock.now();
  const result = (outcome: string): SweepItemResult => ({ orderId, action: 'expire', outcome });
  const order = await deps.orders.get(orderId);
  if (order?.status !== 'RESERVED') return result(`left-${order?.status ?? 'missing'}`);
  const cancelled = await deps.orders.transition({
    orderId,
    from: ['RESERVED'],
    to: 'CANCELLED',
    at: now,
    deadlinePassedAt: now,
    set: { cancellation: { reason: 'PAYMENT_TIMEOUT' } },
    stock: { effect: 'release', lines: order.items },
  });
  if (cancelled.ok) return result('cancelled');
  if (cancelled.reason === 'stock') throw new Error(`order ${orderId}: its held stock is not there to release (${cancelled.sku})`);
  return result(`left-${cancelled.current?.status ?? 'missing'}`);
}

export interface SweepSummary {
  found: Record<SweepAction, number>;
  outcomes: Record<string, number>;
  failed: number;
  failures: { orderId: string; action: string; error: string }[];
}

/** Per-order results (successes and caught failures) into the execution's output. */
export function summarise(results: (SweepItemResult | { orderId: string; action: SweepAction; error: unknown })[]): SweepSummary {
  const summary: SweepSummary = { found: { republish: 0, expire: 0 }, outcomes: {}, failed: 0, failures: [] };
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
