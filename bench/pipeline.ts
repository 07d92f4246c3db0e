/**
 * End to end, locally: orders per second and latency from `POST /orders` to settled (the order's outcome event,
 * InventoryReserved or InventoryRejected, routed by the bus: the live log's event line), through `npm start` as users
 * run it (its own process, a data directory, real time), at a given client concurrency. And the ceiling: the same
 * DynamoDB writes per order (the domain's placeOrder, then reserveOrder, through the real repositories) made
 * in this process against a DynamoDB Local of the same tables, with nothing of the runtime between them.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDbOrderRepository } from '../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../functions/adapters/dynamodb-stock-repository';
import { handleInventoryEvent } from '../functions/domain/inventory';
import { placeOrder } from '../functions/domain/orders';
import { systemClock } from '../functions/domain/ports';
import { eventForStatus } from '../functions/domain/status-events';
import { RuntimeProcess, startRuntimeProcess } from '../local/runtime-process';
import { percentile } from './stats';
import { Template, templateTables } from './tables';

/** The budget: the pipeline at 64 concurrent clients does at least half the ceiling's orders per second. */
export const CEILING_BUDGET = 0.5;

export interface PipelineFigures {
  concurrency: number;
  orders: number;
  ordersPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** p50 and p99 of each stage, in order: the API's answer, the stream to the bus (OrderPlaced routed), then the
   * inventory queue, its consumer and the stream again until the outcome event is routed. */
  stages: { stage: string; p50Ms: number; p99Ms: number }[];
}

export const STAGES = ['API (POST /orders answered)', 'stream -> relay -> bus (OrderPlaced routed)', 'queue wait + inventory consumer + relay (outcome routed)'] as const;


/** The outcome events of an order that reached the bus: when the live log line for each order arrived. */
const OUTCOMES = ['InventoryReserved', 'InventoryRejected'] as const;
const ROUTED = /event +(\S+) order=(\S+)/;

/** When the bus first routed each event of each order, read from the runtime's live log as it arrives. */
export class RoutedEvents {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private scanned: number;
  private readonly scan = () => {
    const text = this.runtime.output();
    const fresh = text.slice(this.scanned, text.lastIndexOf('\n') + 1);
    this.scanned += fresh.length;
    const now = performance.now();
    for (const line of fresh.split('\n')) {
      const match = ROUTED.exec(line);
      if (!match) continue;
      const key = `${match[1]} ${match[2]}`;
      if (this.seen.has(key)) continue;
      this.seen.set(key, now);
      this.waiters.get(match[2]!)?.forEach((wake) => wake());
    }
  };

  constructor(private readonly runtime: RuntimeProcess) {
    this.scanned = runtime.output().length;
    runtime.child.stdout!.on('data', this.scan);
  }

  at(type: string, orderId: string): number | undefined {
    return this.seen.get(`${type} ${orderId}`);
  }

  /** The time the first of `types` was routed for the order, waiting for it if need be. */
  async first(types: readonly string[], orderId: string, timeoutMs: number): Promise<number> {
    const found = () => types.map((t) => this.at(t, orderId)).find((at) => at !== undefined);
    const now = found();
    if (now !== undefined) return now;
    return new Promise<number>((resolve, reject) => {
      const waiters = this.waiters.get(orderId) ?? new Set();
      this.waiters.set(orderId, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (!waiters.size) this.waiters.delete(orderId);
      };
      const wake = () => {
        const at = found();
        if (at !== undefined) (done(), resolve(at));
      };
      const timer = setTimeout(() => (done(), reject(new Error(`no ${types.join(' or ')} for order ${orderId} within ${timeoutMs} ms`))), timeoutMs);
      waiters.add(wake);
    });
  }

  stop(): void {
    this.runtime.child.stdout!.off('data', this.scan);
  }
}
/** Orders of two lines over 100 SKUs, as a shop's traffic spreads (all on one SKU, transactions would queue on it). */
const SKUS = Array.from({ length: 100 }, (_, i) => `bench-sku-${i}`);
export const linesOf = (i: number) => [{ sku: SKUS[i % SKUS.length]!, quantity: 1 }, { sku: SKUS[(i * 7 + 1) % SKUS.length]!, quantity: 2 }];

/** Runs `work(i)` for i in 0..n-1 with at most `concurrency` at once. */
async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await work(next++);
  }));
}

/** `functionLogs`: where the runtime appends every function's log lines (the cost section reads them). */
export async function startPipeline(assembly: string, work: string, functionLogs = path.join(work, 'pipeline-functions.log')): Promise<RuntimeProcess & { api: string }> {
  const runtime = await startRuntimeProcess({
    args: ['--assembly', assembly, '--data-dir', path.join(work, 'pipeline-data'), '--port', '0', '--aws-port', '0', '--outputs-file', path.join(work, 'pipeline-outputs.json'), '--function-logs', functionLogs],
  });
  const api = Object.values(runtime.outputs)[0]!.ApiUrl!;
  for (const sku of SKUS) {
    const answer = await fetch(new URL(`inventory/${sku}`, api), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ available: 10_000_000 }) });
    if (answer.status !== 201 && answer.status !== 200) throw new Error(`PUT /inventory/${sku} answered ${answer.status}`);
  }
  return Object.assign(runtime, { api });
}

/** `orders` orders at `concurrency` clients, each placed and waited for until settled. */
export async function measurePipeline(runtime: RuntimeProcess & { api: string }, concurrency: number, orders: number, timeoutMs = 300_000): Promise<PipelineFigures> {
  const routed = new RoutedEvents(runtime);
  const latencies: number[] = [];
  const stageMs: number[][] = STAGES.map(() => []);
  const started = performance.now();
  try {
    await pool(orders, concurrency, async (i) => {
      const t0 = performance.now();
      const answer = await fetch(new URL('orders', runtime.api), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ customerId: 'c-bench', items: linesOf(i) }),
      });
      if (answer.status !== 201) throw new Error(`POST /orders answered ${answer.status}: ${await answer.text()}`);
      const { orderId } = (await answer.json()) as { orderId: string };
      const answered = performance.now();
      const settled = await routed.first(OUTCOMES, orderId, timeoutMs);
      latencies.push(settled - t0);
      // OrderPlaced can be routed before the client has read the answer: that stage is then 0.
      const placed = Math.max(answered, routed.at('OrderPlaced', orderId) ?? answered);
      [answered - t0, placed - answered, settled - placed].forEach((ms, k) => stageMs[k]!.push(ms));
    });
  } finally {
    routed.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const stages = STAGES.map((stage, k) => ({ stage, p50Ms: percentile(stageMs[k]!, 0.5), p99Ms: percentile(stageMs[k]!, 0.99) }));
  return { concurrency, orders, ordersPerSecond: orders / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), stages };
}

/** The same writes per order as the pipeline makes to settle it, straight from the domain to DynamoDB Local. */
export async function measureCeiling(options: { template: Template; apiLogicalId: string; concurrency: number; orders: number; paymentWindowSeconds: number; dynamodbEndpoint?: string }): Promise<{ ordersPerSecond: number }> {
  const tables = await templateTables(options.template, options.apiLogicalId, options.dynamodbEndpoint);
  try {
    const { documents, names } = tables;
    const orders = new DynamoDbOrderRepository(documents, names.orders, names.inventory);
    const stock = new DynamoDbStockRepository(documents, names.inventory, names.idempotency);
    for (const sku of SKUS) await stock.set(sku, 10_000_000);
    const caller = { kind: 'service', principal: 'bench' } as const;
    const events = { publish: async () => undefined };
    const started = performance.now();
    await pool(options.orders, options.concurrency, async (i) => {
      const { order } = await placeOrder({ caller, idempotencyKey: randomUUID(), body: { customerId: 'c-bench', items: linesOf(i) }, correlationId: 'bench' }, { orders, events, clock: systemClock });
      // What the relay publishes for the new order, handled as the inventory consumer handles it.
      const outcome = await handleInventoryEvent(eventForStatus(order, new Date())!, { orders, clock: systemClock, paymentWindowSeconds: options.paymentWindowSeconds });
      if (outcome.action !== 'reserved') throw new Error(`ceiling: order ${order.orderId} ${JSON.stringify(outcome)}`);
    });
    return { ordersPerSecond: options.orders / ((performance.now() - started) / 1000) };
  } finally {
    await tables.stop();
  }
}
