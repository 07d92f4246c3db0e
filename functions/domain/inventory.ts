/**
 * Stock: reserve every line of an order or none, give back on cancellation, settle on payment.
 * Each step is one conditional write per line keyed by (sku, order), so replays and duplicates change nothing,
 * and no DynamoDB transaction is needed.
 */
import { EventDetail, PipelineEvent, buildEvent } from './events';
import { NotFoundError, ValidationError } from './errors';
import { OrderLine, RejectionReason } from './order';
import { Clock, EventPublisher, OrderRepository, StockLevel, StockRepository } from './ports';
import { setStockSchema, skuSchema, toProblems } from './schemas';

export interface InventoryDeps {
  stock: StockRepository;
  events: EventPublisher;
  /** Read only, to skip reserving for an order that has already left PENDING. */
  orders: Pick<OrderRepository, 'get'>;
  clock: Clock;
}

export type InventoryOutcome =
  | { action: 'reserved' }
  | { action: 'rejected'; reason: RejectionReason; sku: string; givenBack: number }
  | { action: 'skipped'; status: string }
  | { action: 'released'; lines: number }
  | { action: 'settled'; lines: number };

export const INVENTORY_EVENTS = ['OrderPlaced', 'OrderCancelled', 'ReservationOrphaned', 'OrderPaid'] as const;

export async function handleInventoryEvent(event: PipelineEvent, deps: InventoryDeps): Promise<InventoryOutcome> {
  switch (event.type) {
    case 'OrderPlaced':
      return reserveOrder(event.detail, deps);
    case 'OrderCancelled':
    case 'ReservationOrphaned':
      return { action: 'released', lines: await forEachLine(event.detail, (l) => deps.stock.release(l.sku, event.detail.orderId, l.quantity)) };
    case 'OrderPaid':
      return { action: 'settled', lines: await forEachLine(event.detail, (l) => deps.stock.settle(l.sku, event.detail.orderId, l.quantity)) };
    default:
      throw new Error(`inventory does not handle ${event.type}`);
  }
}

async function forEachLine(detail: { items: OrderLine[] }, change: (line: OrderLine) => Promise<boolean>): Promise<number> {
  let changed = 0;
  for (const line of detail.items) if (await change(line)) changed++;
  return changed;
}

export async function reserveOrder(order: EventDetail<'OrderPlaced'>, deps: InventoryDeps): Promise<InventoryOutcome> {
  const current = await deps.orders.get(order.orderId);
  if (current && current.status !== 'PENDING' && current.status !== 'NEEDS_ATTENTION') {
    return { action: 'skipped', status: current.status };
  }
  const taken: OrderLine[] = [];
  for (const line of order.items) {
    const result = await deps.stock.reserve(line.sku, order.orderId, line.quantity);
    if (result === 'reserved' || result === 'already-reserved') {
      taken.push(line);
      continue;
    }
    // Give back what this order took before the failing line, then report why.
    let givenBack = 0;
    for (const held of taken) if (await deps.stock.release(held.sku, order.orderId, held.quantity)) givenBack++;
    const reason: RejectionReason = result === 'unknown-sku' ? 'UNKNOWN_SKU' : 'OUT_OF_STOCK';
    const { orderId, customerId, correlationId } = order;
    await deps.events.publish([buildEvent('InventoryRejected', { orderId, customerId, correlationId, reason, sku: line.sku }, deps.clock.now())]);
    return { action: 'rejected', reason, sku: line.sku, givenBack };
  }
  const { orderId, customerId, correlationId, items } = order;
  await deps.events.publish([buildEvent('InventoryReserved', { orderId, customerId, correlationId, items }, deps.clock.now())]);
  return { action: 'reserved' };
}

export async function setStock(sku: string, body: unknown, stock: StockRepository): Promise<StockLevel> {
  const parsedSku = skuSchema.safeParse(sku, { reportInput: true });
  const parsed = setStockSchema.safeParse(body, { reportInput: true });
  const problems = [...(parsedSku.success ? [] : toProblems(parsedSku.error, 'sku')), ...(parsed.success ? [] : toProblems(parsed.error))];
  if (!parsedSku.success || !parsed.success) throw new ValidationError(problems);
  return stock.set(parsedSku.data, parsed.data.available);
}

export async function getStock(sku: string, stock: StockRepository): Promise<StockLevel> {
  const level = await stock.get(sku);
  if (!level) throw new NotFoundError(`sku ${sku} is not stocked`);
  return level;
}
