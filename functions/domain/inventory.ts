/**
 * Stock: reserve an order's lines all or nothing, in one transaction with the order's move out of PENDING; and the
 * operator's stock routes. Releasing and settling happen in the transactions that cancel or pay an order
 * (functions/domain/orders.ts, sweep.ts): stock only ever moves together with the order status that explains it.
 */
import { createHash } from 'node:crypto';
import { Caller, idempotencyScope } from './caller';
import { EventDetail, PipelineEvent } from './events';
import { IdempotencyKeyReusedError, NotFoundError, PreconditionError, StateConflictError, ValidationError } from './errors';
import { RejectionReason, TRANSITIONS } from './order';
import { Clock, OrderRepository, StockLevel, StockRepository } from './ports';
import { adjustStockSchema, idempotencyKeySchema, setStockSchema, skuSchema, toProblems } from './schemas';

export interface InventoryDeps {
  orders: Pick<OrderRepository, 'transition'>;
  clock: Clock;
  paymentWindowSeconds: number;
}

export type InventoryOutcome =
  | { action: 'reserved' }
  | { action: 'rejected'; reason: RejectionReason; sku: string }
  | { action: 'skipped'; status: string };

export const INVENTORY_EVENTS = ['OrderPlaced'] as const;

export async function handleInventoryEvent(event: PipelineEvent, deps: InventoryDeps): Promise<InventoryOutcome> {
  if (event.type !== 'OrderPlaced') throw new Error(`inventory does not handle ${event.type}`);
  return reserveOrder(event.detail, deps);
}

/**
 * One transaction: every line's stock is taken and the order moves to RESERVED, or nothing is written. A duplicate,
 * late or redelivered OrderPlaced finds the order out of PENDING and changes nothing, whatever happened meanwhile
 * (reserved, paid, cancelled, expired). A line short of stock rejects the order instead.
 */
export async function reserveOrder(placed: EventDetail<'OrderPlaced'>, deps: InventoryDeps): Promise<InventoryOutcome> {
  const now = deps.clock.now();
  const { orderId } = placed;
  const paymentDeadline = new Date(now.getTime() + deps.paymentWindowSeconds * 1000).toISOString();
  const reserved = await deps.orders.transition({
    orderId,
    from: TRANSITIONS.RESERVED,
    to: 'RESERVED',
    at: now,
    set: { paymentDeadline },
    stock: { effect: 'reserve', lines: placed.items },
  });
  if (reserved.ok) return { action: 'reserved' };
  if (reserved.reason === 'status') return { action: 'skipped', status: reserved.current?.status ?? 'MISSING' };
  const { sku, shortage: reason } = reserved;
  const rejected = await deps.orders.transition({ orderId, from: TRANSITIONS.REJECTED, to: 'REJECTED', at: now, set: { rejection: { reason, sku } } });
  if (rejected.ok) return { action: 'rejected', reason, sku };
  return { action: 'skipped', status: rejected.reason === 'status' ? (rejected.current?.status ?? 'MISSING') : 'MISSING' };
}

export async function getStock(sku: string, stock: StockRepository): Promise<StockLevel> {
  const parsed = skuSchema.safeParse(sku, { reportInput: true });
  if (!parsed.success) throw new ValidationError(toProblems(parsed.error, 'sku'));
  const level = await stock.get(sku);
  if (!level) throw new NotFoundError(`sku ${sku} is not stocked`);
  return level;
}

/**
 * PUT: creates a SKU, or replaces its `available` count only at the version the caller read (If-Match), so a
 * reservation that landed between the operator's read and write is never undone. Relative changes go through
 * adjustStock, which needs no version.
 */
export async function setStock(sku: string, body: unknown, ifMatch: number | undefined, stock: StockRepository): Promise<{ level: StockLevel; created: boolean }> {
  const skuResult = skuSchema.safeParse(sku, { reportInput: true });
  const parsed = setStockSchema.safeParse(body, { reportInput: true });
  const problems = [...(skuResult.success ? [] : toProblems(skuResult.error, 'sku')), ...(parsed.success ? [] : toProblems(parsed.error))];
  if (!skuResult.success || !parsed.success) throw new ValidationError(problems);
  const result = await stock.set(skuResult.data, parsed.data.available, ifMatch);
  switch (result.outcome) {
    case 'created':
    case 'replaced':
      return { level: result.level, created: result.outcome === 'created' };
    case 'exists':
      throw new PreconditionError(
        `sku ${sku} is already stocked: replacing its level needs If-Match with the ETag GET /inventory/${sku} returned, or POST /inventory/${sku}/adjustments to add or remove units`,
        428,
        result.level?.version,
      );
    case 'version-mismatch':
      if (!result.level) throw new NotFoundError(`sku ${sku} is not stocked: PUT it without If-Match to create it`);
      throw new PreconditionError(`sku ${sku} changed since that ETag was read (now version ${result.level.version}): read it again, or adjust it relatively`, 412, result.level.version);
  }
}

export interface AdjustStockInput {
  caller: Caller;
  sku: string;
  idempotencyKey: unknown;
  body: unknown;
}

/** POST /inventory/{sku}/adjustments {"delta": N}: adds or removes units atomically, once per Idempotency-Key. */
export async function adjustStock(input: AdjustStockInput, deps: { stock: StockRepository; clock: Clock }): Promise<{ level: StockLevel; replayed: boolean }> {
  const key = idempotencyKeySchema.safeParse(input.idempotencyKey, { reportInput: true });
  const skuResult = skuSchema.safeParse(input.sku, { reportInput: true });
  const parsed = adjustStockSchema.safeParse(input.body, { reportInput: true });
  const problems = [
    ...(key.success ? [] : toProblems(key.error, 'Idempotency-Key')),
    ...(skuResult.success ? [] : toProblems(skuResult.error, 'sku')),
    ...(parsed.success ? [] : toProblems(parsed.error)),
  ];
  if (!key.success || !skuResult.success || !parsed.success) throw new ValidationError(problems);
  const sku = skuResult.data;
  const scope = idempotencyScope(input.caller);
  const hash = (text: string) => createHash('sha256').update(text).digest('hex');
  const result = await deps.stock.adjust({
    sku,
    delta: parsed.data.delta,
    recordId: `stock-adjustment#${hash(`${scope}\u0000${key.data}`).slice(0, 32)}`,
    requestHash: hash(JSON.stringify({ sku, delta: parsed.data.delta })),
    at: deps.clock.now(),
  });
  switch (result.outcome) {
    case 'adjusted':
    case 'replayed':
      return { level: result.level, replayed: result.outcome === 'replayed' };
    case 'unknown-sku':
      throw new NotFoundError(`sku ${sku} is not stocked: PUT /inventory/${sku} creates it`);
    case 'insufficient':
      throw new StateConflictError(`sku ${sku} has ${result.level.available} units available: removing ${-parsed.data.delta} would make it negative`, 'INSUFFICIENT_STOCK');
    case 'key-reused':
      throw new IdempotencyKeyReusedError('this Idempotency-Key was already used for a different adjustment; use a new key for a new adjustment');
  }
}
