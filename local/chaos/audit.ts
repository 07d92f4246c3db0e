/**
 * The chaos run's verdict, from what the tables hold at the end and what the client was told on the way: every
 * promise the pipeline makes, checked exactly. Pure: the run gathers the snapshot, this judges it.
 */
import { OrderLine, OrderStatus } from '../../functions/domain/order';
import { EVENT_FOR_STATUS } from '../../functions/domain/status-events';

export interface AuditedOrder {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  items: OrderLine[];
  paymentId?: string;
  paymentDeadline?: string;
  cancellation?: { reason: string };
  attention?: { reason: string };
}

export interface StockLevel {
  sku: string;
  available: number;
  reserved: number;
  sold: number;
}

/** What the client learnt about one Idempotency-Key's order. */
export interface ClientOrder {
  key: string;
  /** Every orderId an answer named for this key (one, if idempotency holds). */
  orderIds: string[];
  /** paymentIds the API confirmed (200) for this order. */
  paymentsConfirmed: string[];
  /** The API accepted (200) a cancel of this order. */
  cancelAccepted: boolean;
}

export interface QueueDepth {
  name: string;
  deadLetter: boolean;
  messages: number;
}

export interface DeadLetter {
  queue: string;
  messageId: string;
  summary: string;
  reason: string;
}

export interface ServerError {
  route: string;
  status: number;
  correlationId: string;
  /** What explains it: an injected fault, or undefined (a 5xx nobody injected: a defect). */
  cause?: string;
}

export interface Snapshot {
  orders: AuditedOrder[];
  levels: StockLevel[];
  notifications: { orderId: string; eventType: string }[];
  initialStock: Map<string, number>;
  /** Units added or removed by accepted adjustments, per SKU. */
  adjustments: Map<string, number>;
  client: ClientOrder[];
  queues: QueueDepth[];
  deadLetters: DeadLetter[];
  serverErrors: ServerError[];
}

export interface Verdict {
  /** Accepted orders (a 201 named them) missing from the table. */
  lost: number;
  /** Effects that happened more than once: a key with two orders, units held or sold beyond the orders, an order both paid and cancelled. */
  duplicateEffects: number;
  stockConserved: boolean;
  byStatus: Record<string, number>;
  unexplained5xx: number;
  violations: string[];
}

const SETTLED: readonly OrderStatus[] = ['PAID', 'REJECTED', 'CANCELLED', 'NEEDS_ATTENTION'];

/** The notifications an order's history owes, from its final state (a reservation leaves its payment deadline). */
function owedNotifications(order: AuditedOrder): string[] {
  const wasReserved = order.paymentDeadline !== undefined;
  switch (order.status) {
    case 'PAID':
      return [EVENT_FOR_STATUS.RESERVED, EVENT_FOR_STATUS.PAID];
    case 'CANCELLED':
      return wasReserved ? [EVENT_FOR_STATUS.RESERVED, EVENT_FOR_STATUS.CANCELLED] : [EVENT_FOR_STATUS.CANCELLED];
    case 'REJECTED':
      return [EVENT_FOR_STATUS.REJECTED];
    case 'RESERVED':
      return [EVENT_FOR_STATUS.RESERVED];
    default:
      return [];
  }
}

export function audit(s: Snapshot): Verdict {
  const violations: string[] = [];
  let lost = 0;
  let duplicateEffects = 0;
  const byId = new Map(s.orders.map((o) => [o.orderId, o]));

  // Every accepted order exists, one per Idempotency-Key, and the table holds no order nobody asked for.
  const known = new Set<string>();
  for (const c of s.client) {
    const ids = [...new Set(c.orderIds)];
    if (ids.length > 1) {
      duplicateEffects += ids.length - 1;
      violations.push(`key ${c.key} gave ${ids.length} orders: ${ids.join(', ')}`);
    }
    for (const id of ids) {
      known.add(id);
      if (!byId.has(id)) {
        lost++;
        violations.push(`order ${id} (key ${c.key}) was accepted and is not in the table`);
      }
    }
  }
  for (const o of s.orders) {
    if (!known.has(o.orderId)) {
      duplicateEffects++;
      violations.push(`order ${o.orderId} is in the table but no answer named it (a second order for some key?)`);
    }
  }

  // One settled state each; NEEDS_ATTENTION says why.
  const byStatus: Record<string, number> = {};
  for (const o of s.orders) {
    byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    if (!SETTLED.includes(o.status)) violations.push(`order ${o.orderId} never settled: ${o.status}`);
    if (o.status === 'NEEDS_ATTENTION' && !o.attention?.reason) violations.push(`order ${o.orderId} needs attention without a reason`);
  }

  // What the client was told stands: a confirmed payment is never undone, an accepted cancel never undone, never both.
  for (const c of s.client) {
    const order = c.orderIds[0] === undefined ? undefined : byId.get(c.orderIds[0]);
    if (!order) continue;
    if (c.paymentsConfirmed.length && c.cancelAccepted) {
      duplicateEffects++;
      violations.push(`order ${order.orderId}: both a payment and a cancel were accepted (now ${order.status})`);
    }
    if (c.paymentsConfirmed.length && (order.status !== 'PAID' || !c.paymentsConfirmed.includes(order.paymentId ?? ''))) {
      violations.push(`order ${order.orderId}: payment ${c.paymentsConfirmed.join(', ')} was confirmed, the order is ${order.status} (${order.paymentId ?? 'no payment'})`);
    }
    if (c.cancelAccepted && order.status !== 'CANCELLED') violations.push(`order ${order.orderId}: its cancel was accepted, the order is ${order.status}`);
  }

  // Stock: nothing made or lost, exactly; held and sold units are those of the RESERVED and PAID orders.
  let stockConserved = true;
  const held = new Map<string, number>();
  const bought = new Map<string, number>();
  for (const o of s.orders) {
    const into = o.status === 'RESERVED' ? held : o.status === 'PAID' ? bought : undefined;
    if (into) for (const line of o.items) into.set(line.sku, (into.get(line.sku) ?? 0) + line.quantity);
  }
  for (const [sku, initial] of s.initialStock) {
    const level = s.levels.find((l) => l.sku === sku);
    const fail = (message: string) => {
      stockConserved = false;
      violations.push(`stock ${sku}: ${message}`);
    };
    if (!level) {
      fail('its level is gone');
      continue;
    }
    const expectedTotal = initial + (s.adjustments.get(sku) ?? 0);
    const total = level.available + level.reserved + level.sold;
    if (total !== expectedTotal) fail(`initial ${initial} + adjustments ${s.adjustments.get(sku) ?? 0} = ${expectedTotal}, but available ${level.available} + reserved ${level.reserved} + sold ${level.sold} = ${total}`);
    if (level.available < 0 || level.reserved < 0 || level.sold < 0) fail(`a counter is negative: ${JSON.stringify(level)}`);
    if (level.reserved !== (held.get(sku) ?? 0)) {
      if (level.reserved > (held.get(sku) ?? 0)) duplicateEffects++;
      fail(`reserved ${level.reserved}, but RESERVED orders hold ${held.get(sku) ?? 0}`);
    }
    if (level.sold !== (bought.get(sku) ?? 0)) {
      if (level.sold > (bought.get(sku) ?? 0)) duplicateEffects++;
      fail(`sold ${level.sold}, but PAID orders bought ${bought.get(sku) ?? 0}`);
    }
  }

  // One notification per (order, event type) its history owes; none it does not owe.
  const told = new Map<string, string[]>();
  for (const n of s.notifications) told.set(n.orderId, [...(told.get(n.orderId) ?? []), n.eventType]);
  for (const o of s.orders) {
    const owed = owedNotifications(o).sort();
    const got = (told.get(o.orderId) ?? []).sort();
    if (owed.join() !== got.join()) violations.push(`order ${o.orderId} (${o.status}): owed notifications [${owed.join(', ')}], sent [${got.join(', ')}]`);
  }

  // Every message processed or dead-lettered with its reason; source queues drained.
  for (const q of s.queues) if (!q.deadLetter && q.messages > 0) violations.push(`queue ${q.name} still holds ${q.messages} message(s)`);
  for (const d of s.deadLetters) if (!d.reason) violations.push(`dead letter ${d.messageId} in ${d.queue} has no reason`);

  const unexplained = s.serverErrors.filter((e) => !e.cause);
  for (const e of unexplained) violations.push(`${e.status} to a valid request (${e.route}, correlation ${e.correlationId}) that no injected fault explains`);

  return { lost, duplicateEffects, stockConserved, byStatus, unexplained5xx: unexplained.length, violations };
}
