/**
 * What the chaos run does, drawn from its seed before it starts: the orders (many customers, a few SKUs with limited
 * stock) and what races each one, the restocks, and the extra sweep runs. The same seed draws the same workload;
 * timing (and so which call meets which fault) still varies from run to run.
 */
import { ORDER_LIMITS, OrderLine } from '../../functions/domain/order';
import { seededRandom } from '../seeded-random';

/** What the client does with an order once it is placed: each races something real traffic races. */
export type OrderAction =
  /** Nothing: it is reserved or rejected, and an unpaid reservation is cancelled by the sweep. */
  | { kind: 'none' }
  /** Cancel at once: races the inventory consumer's reservation. */
  | { kind: 'cancelNow' }
  /** Pay once it is reserved. */
  | { kind: 'pay' }
  /** Pay around the payment deadline (offset ms, either side): races the sweep's expiry. */
  | { kind: 'payAtDeadline'; offsetMs: number }
  /** Pay and cancel at once once reserved: at most one of them may win. */
  | { kind: 'payAndCancel' };

export interface PlannedOrder {
  index: number;
  key: string;
  customerId: string;
  items: OrderLine[];
  /** Send the same POST twice at once (same Idempotency-Key): one order. */
  duplicatePost: boolean;
  action: OrderAction;
  /** When to place it, from the start of the load (ms). */
  atMs: number;
}

export interface PlannedRestock {
  key: string;
  sku: string;
  delta: number;
  atMs: number;
}

export interface Workload {
  seed: number;
  skus: { sku: string; initial: number }[];
  orders: PlannedOrder[];
  restocks: PlannedRestock[];
  /** When to start extra sweep executions, two at a time (they overlap each other and the scheduled one). */
  sweepRunsAtMs: number[];
  loadMs: number;
}

export interface WorkloadOptions {
  orders: number;
  seed: number;
  /** Orders placed per second. */
  ordersPerSecond: number;
}

const SKU_COUNT = 5;

export function drawWorkload(options: WorkloadOptions): Workload {
  const random = seededRandom(options.seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const loadMs = Math.ceil((options.orders / options.ordersPerSecond) * 1000);
  const customers = Math.max(2, Math.ceil(options.orders / 8));

  // Limited stock: about two fifths of the units ordered (restocks add a little more), so SKUs run out and orders
  // are rejected while others are cancelled and give units back.
  const skuNames = Array.from({ length: SKU_COUNT }, (_, i) => `chaos-${options.seed}-sku-${i}`);
  const orders: PlannedOrder[] = [];
  for (let index = 0; index < options.orders; index++) {
    const lineCount = pick([1, 1, 1, 2, 2, 3]);
    const skus = shuffled(skuNames, random).slice(0, lineCount);
    const roll = random();
    const action: OrderAction =
      roll < 0.15 ? { kind: 'cancelNow' }
      : roll < 0.5 ? { kind: 'pay' }
      : roll < 0.6 ? { kind: 'payAtDeadline', offsetMs: int(-1500, 1500) }
      : roll < 0.65 ? { kind: 'payAndCancel' }
      : { kind: 'none' };
    orders.push({
      index,
      key: `chaos-${options.seed}-order-${index}`,
      customerId: `c-${options.seed}-${int(1, customers)}`,
      items: skus.map((sku) => ({ sku, quantity: int(ORDER_LIMITS.quantity.min, 3) })),
      duplicatePost: random() < 0.1,
      action,
      atMs: Math.floor((index / options.orders) * loadMs),
    });
  }
  const demand = new Map<string, number>();
  for (const o of orders) for (const line of o.items) demand.set(line.sku, (demand.get(line.sku) ?? 0) + line.quantity);
  const skus = skuNames.map((sku) => ({ sku, initial: Math.floor(((demand.get(sku) ?? 0) * 2) / 5) }));

  const restocks: PlannedRestock[] = Array.from({ length: Math.max(1, Math.floor(options.orders / 50)) }, (_, i) => ({
    key: `chaos-${options.seed}-restock-${i}`,
    sku: pick(skuNames),
    delta: int(1, 5),
    atMs: int(0, loadMs),
  }));
  const sweepRunsAtMs = Array.from({ length: Math.max(1, Math.floor(loadMs / 10_000)) }, () => int(0, loadMs));
  return { seed: options.seed, skus, orders, restocks, sweepRunsAtMs, loadMs };
}

/** Fisher-Yates, from the run's generator. */
function shuffled<T>(values: readonly T[], random: () => number): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
