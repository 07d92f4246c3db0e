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
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderRepository } from '../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../functions/adapters/dynamodb-stock-repository';
import { handleInventoryEvent } from '../functions/domain/inventory';
import { placeOrder } from '../functions/domain/orders';
import { systemClock } from '../functions/domain/ports';
import { eventForStatus } from '../functions/domain/status-events';
import { startDynamoDBLocal } from '../local/dynamodb/dynamodb-local';
import { createTables, tableSpecFrom } from '../local/engines/tables';
import { RuntimeProcess, startRuntimeProcess } from '../local/runtime-process';
import { percentile } from './stats';

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

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** The outcome events of an order that reached the bus: when the live log line for each order arrived. */
const SETTLED = /event +(InventoryReserved|InventoryRejected) order=(\S+)/;
const PLACED = /event +OrderPlaced order=(\S+)/;
/** Orders of two lines over 100 SKUs, as a shop's traffic spreads (all on one SKU, transactions would queue on it). */
const SKUS = Array.from({ length: 100 }, (_, i) => `bench-sku-${i}`);
const linesOf = (i: number) => [{ sku: SKUS[i % SKUS.length]!, quantity: 1 }, { sku: SKUS[(i * 7 + 1) % SKUS.length]!, quantity: 2 }];

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
  const settledAt = new Map<string, number>();
  const placedAt = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  let scanned = runtime.output().length;
  const scan = () => {
    const text = runtime.output();
    const fresh = text.slice(scanned, text.lastIndexOf('\n') + 1);
    scanned += fresh.length;
    const now = performance.now();
    for (const line of fresh.split('\n')) {
      const placed = PLACED.exec(line);
      if (placed && !placedAt.has(placed[1]!)) placedAt.set(placed[1]!, now);
      const match = SETTLED.exec(line);
      if (!match || settledAt.has(match[2]!)) continue;
      settledAt.set(match[2]!, now);
      waiting.get(match[2]!)?.();
    }
  };
  runtime.child.stdout!.on('data', scan);
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
      if (!settledAt.has(orderId)) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`order ${orderId} did not settle within ${timeoutMs} ms`)), timeoutMs);
          waiting.set(orderId, () => (clearTimeout(timer), resolve()));
        });
        waiting.delete(orderId);
      }
      const settled = settledAt.get(orderId)!;
      latencies.push(settled - t0);
      // OrderPlaced can be routed before the client has read the answer: that stage is then 0.
      const placed = Math.max(answered, placedAt.get(orderId) ?? answered);
      [answered - t0, placed - answered, settled - placed].forEach((ms, k) => stageMs[k]!.push(ms));
    });
  } finally {
    runtime.child.stdout!.off('data', scan);
  }
  const seconds = (performance.now() - started) / 1000;
  const stages = STAGES.map((stage, k) => ({ stage, p50Ms: percentile(stageMs[k]!, 0.5), p99Ms: percentile(stageMs[k]!, 0.99) }));
  return { concurrency, orders, ordersPerSecond: orders / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), stages };
}

/** The same writes per order as the pipeline makes to settle it, straight from the domain to DynamoDB Local. */
export async function measureCeiling(options: { template: Template; concurrency: number; orders: number; paymentWindowSeconds: number; dynamodbEndpoint?: string }): Promise<{ ordersPerSecond: number }> {
  const engine = options.dynamodbEndpoint ? { endpoint: options.dynamodbEndpoint, stop: async () => undefined } : await startDynamoDBLocal();
  const client = new DynamoDBClient({ endpoint: engine.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    const tables = Object.entries(options.template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::DynamoDB::GlobalTable');
    await createTables(client, tables.map(([id, r]) => tableSpecFrom(id, r.Properties ?? {})));
    const named = (prefix: string) => tables.find(([id]) => id.startsWith(prefix))?.[0] ?? '';
    const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const orders = new DynamoDbOrderRepository(documents, named('TablesOrders'), named('TablesInventory'));
    const stock = new DynamoDbStockRepository(documents, named('TablesInventory'), named('TablesIdempotency'));
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
    client.destroy();
    await engine.stop();
  }
}
