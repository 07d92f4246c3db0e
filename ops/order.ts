/**
 * `ops order <orderId>`: the order and its timeline. The orders table keeps an order's current state, not its
 * history: the timeline is what that state, the notifications table and the sweep runs still show. A status the
 * order passed through (RESERVED before PAID) has no stored time of its own: it is placed at the notification it
 * caused, marked approximate, or left without a time.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { StoredOrder } from '../functions/domain/ports';
import { EVENT_FOR_STATUS } from '../functions/domain/status-events';
import { NOTIFICATIONS_TABLE, ORDERS_TABLE } from '../functions/adapters/table-schema';
import { aws, OpsContext } from './context';
import { OrderNotFoundError } from './errors';
import { output } from './stack';
import { lastSweeps } from './sweep';

export type TimelineKind = 'status' | 'stock' | 'event' | 'notification' | 'sweep';

export interface TimelineEntry {
  /** ISO time; absent when nothing stored says when. */
  at?: string;
  /** The time is another entry's (the notification a status change caused). */
  approximate?: true;
  kind: TimelineKind;
  what: string;
}

export interface OrderReport {
  order: StoredOrder;
  notifications: { eventType: string; sentAt?: string; subject?: string }[];
  timeline: TimelineEntry[];
}

export async function orderTimeline(ctx: OpsContext, orderId: string, options: { sweeps?: number } = {}): Promise<OrderReport> {
  const ordersTable = output(ctx.stack, 'OrdersTableName');
  const { Item } = await aws(ctx, `GetItem ${ordersTable}`, () => ctx.clients.ddb.send(new GetCommand({ TableName: ordersTable, Key: { [ORDERS_TABLE.partitionKey]: orderId }, ConsistentRead: true })));
  if (!Item) throw new OrderNotFoundError(`no order ${orderId} in ${ordersTable}`);
  const order = Item as StoredOrder;
  const notificationsTable = ctx.stack.outputs.NotificationsTableName;
  const notifications = notificationsTable
    ? ((
        await aws(ctx, `Query ${notificationsTable}`, () =>
          ctx.clients.ddb.send(new QueryCommand({ TableName: notificationsTable, KeyConditionExpression: '#pk = :id', ExpressionAttributeNames: { '#pk': NOTIFICATIONS_TABLE.partitionKey }, ExpressionAttributeValues: { ':id': orderId } })),
        )
      ).Items ?? []).map((n) => ({ eventType: String(n.eventType), ...(n.sentAt ? { sentAt: String(n.sentAt) } : {}), ...(n.subject ? { subject: String(n.subject) } : {}) }))
    : [];
  const sweepFailures = (await lastSweeps(ctx, options.sweeps ?? 10)).flatMap((run) =>
    (run.summary?.failures ?? []).filter((f) => f.orderId === orderId).map((f): TimelineEntry => ({ at: run.startedAt, kind: 'sweep', what: `sweep ${run.name} could not ${f.action} it: ${f.error}` })),
  );
  return { order, notifications, timeline: sortTimeline([...timelineOf(order, notifications), ...sweepFailures]) };
}

const lines = (order: StoredOrder) => order.items.map((l) => `${l.sku} x${l.quantity}`).join(', ');

/** The timeline the stored order and its notifications show. */
export function timelineOf(order: StoredOrder, notifications: OrderReport['notifications']): TimelineEntry[] {
  const sentAt = (type: string) => notifications.find((n) => n.eventType === type)?.sentAt;
  const at = (time: string | undefined, approximate = false): Pick<TimelineEntry, 'at' | 'approximate'> => (time ? { at: time, ...(approximate ? { approximate: true as const } : {}) } : {});
  const t: TimelineEntry[] = [
    { at: order.createdAt, kind: 'status', what: `placed by ${order.customerId}: PENDING (${lines(order)})` },
    { at: order.createdAt, kind: 'event', what: 'OrderPlaced (published from the table stream)' },
  ];
  if (order.republishCount) t.push({ at: order.republishedAt, kind: 'sweep', what: `the sweep re-published OrderPlaced (${order.republishCount} time${order.republishCount > 1 ? 's' : ''}, last at this time)` });
  // paymentDeadline is written with RESERVED: an order that has one was reserved, whatever it became.
  const wasReserved = order.status === 'RESERVED' || order.status === 'PAID' || Boolean(order.paymentDeadline);
  const reservedAt = order.status === 'RESERVED' ? order.statusChangedAt : undefined;
  if (wasReserved) {
    const when = reservedAt ? at(reservedAt) : at(sentAt('InventoryReserved'), true);
    t.push({ ...when, kind: 'status', what: `RESERVED${order.paymentDeadline ? ` (pay by ${order.paymentDeadline})` : ''}` });
    t.push({ ...when, kind: 'stock', what: `reserved ${lines(order)} (available -> reserved)` });
    t.push({ ...when, kind: 'event', what: 'InventoryReserved' });
  }
  const current = order.statusChangedAt;
  switch (order.status) {
    case 'REJECTED':
      t.push({ at: current, kind: 'status', what: `REJECTED: ${order.rejection?.reason ?? '?'} (${order.rejection?.sku ?? '?'}); no stock taken` });
      break;
    case 'PAID':
      t.push({ at: current, kind: 'status', what: `PAID (payment ${order.paymentId ?? '?'})` });
      t.push({ at: current, kind: 'stock', what: `sold ${lines(order)} (reserved -> sold)` });
      break;
    case 'CANCELLED':
      t.push({ at: current, kind: 'status', what: `CANCELLED (${order.cancellation?.reason ?? '?'})` });
      if (wasReserved) t.push({ at: current, kind: 'stock', what: `released ${lines(order)} (reserved -> available)` });
      break;
    case 'NEEDS_ATTENTION':
      t.push({ at: current, kind: 'status', what: `NEEDS_ATTENTION: ${order.attention?.reason ?? 'the sweep gave up on it'}` });
      break;
    default:
      break;
  }
  const event = order.status !== 'RESERVED' && order.status !== 'PENDING' ? EVENT_FOR_STATUS[order.status as keyof typeof EVENT_FOR_STATUS] : undefined;
  if (event) t.push({ at: current, kind: 'event', what: event });
  for (const n of notifications) t.push({ ...at(n.sentAt), kind: 'notification', what: `${n.eventType}${n.subject ? `: ${n.subject}` : ''}` });
  return t;
}

/** By time, stable; entries without a time stay after the one before them. */
function sortTimeline(entries: TimelineEntry[]): TimelineEntry[] {
  let last = '';
  const keyed = entries.map((e, i) => {
    if (e.at) last = e.at;
    return { e, key: e.at ?? last, i };
  });
  return keyed.sort((a, b) => (a.key === b.key ? a.i - b.i : a.key < b.key ? -1 : 1)).map((k) => k.e);
}
