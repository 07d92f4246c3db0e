/**
 * Cost per million orders on AWS: orders placed and paid through the runtime as `npm start` runs it, with what each
 * order made the stack do measured in that window (Lambda invocations and their billed durations from the REPORT
 * lines, log bytes as CloudWatch Logs would ingest them, events put on the bus, SQS batches), DynamoDB's units counted
 * by the cost meter's model of DynamoDB billing (test/support/order-cost.ts), and the scheduled sweep's transitions
 * spread over a month's orders. Prices: bench/prices.ts.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { RuntimeProcess } from '../local/runtime-process';
import { costTable } from '../test/support/cost-meter';
import { meterPlaceAndPay } from '../test/support/order-cost';
import { startLocalTables } from '../test/support/local-tables';
import { linesOf, RoutedEvents } from './pipeline';
import { PRICES } from './prices';
import type { Template } from './tables';

export interface CostItem {
  what: string;
  perOrder: number;
  unit: string;
  usdPerMillionOrders: number;
  measured: boolean;
}

export interface CostFigures {
  orders: number;
  items: CostItem[];
  costPerMillionOrdersUsd: number;
  biggest: string;
  /** The calls the flow cannot avoid: 2 API requests, 3 events, the DynamoDB units, one invocation per hop. */
  floorUsd: number;
  /** Log bytes per order, by function. */
  logBytesPerOrder: Record<string, number>;
}


/** CloudWatch Logs counts an event as its message plus 26 bytes (PutLogEvents' sizing; ingestion is billed by size). */
const LOG_EVENT_OVERHEAD = 26;
/** Assumed volume to spread the schedule's fixed cost over. */
const ORDERS_PER_MONTH = 1_000_000;

/** Each function's MemorySize (MB), by logical id, from the template (Lambda's default 128). */
export function memoryOf(template: Template): Record<string, number> {
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id, r]) => [id, Number((r.Properties as { MemorySize?: number }).MemorySize ?? 128)]),
  );
}

export interface Usage {
  byFunction: Record<string, { invocations: number; gbSeconds: number; logBytes: number }>;
  /** The live log's event lines that name an order: one PutEvents entry each. */
  eventLines: number;
  /** Rule targets the bus delivered to (each a SendMessage to a queue). */
  deliveries: number;
  /** SQS event source batches (each one ReceiveMessage, one DeleteMessageBatch). */
  batches: number;
}

/**
 * What a window of the runtime's function log (`<function> | <line>`) and live log say the stack did: per function,
 * its invocations (platform.report lines), billed GB-seconds (billedDurationMs x MemorySize) and log bytes (each
 * line plus CloudWatch's 26 bytes per event); the events the bus routed, their deliveries, and the SQS batches.
 */
export function usageIn(functionLog: string, liveLog: string, memory: Record<string, number>): Usage {
  const byFunction: Usage['byFunction'] = {};
  for (const line of functionLog.split('\n')) {
    const at = line.indexOf(' | ');
    if (at < 0) continue;
    const fn = line.slice(0, at);
    const message = line.slice(at + 3);
    const f = (byFunction[fn] ??= { invocations: 0, gbSeconds: 0, logBytes: 0 });
    f.logBytes += Buffer.byteLength(message) + LOG_EVENT_OVERHEAD;
    if (!message.includes('"type":"platform.report"')) continue;
    const billed = (JSON.parse(message) as { record: { metrics: { billedDurationMs: number } } }).record.metrics.billedDurationMs;
    f.invocations++;
    f.gbSeconds += (billed / 1000) * ((memory[fn] ?? 128) / 1024);
  }
  const live = liveLog.split('\n');
  const events = live.filter((l) => / event +\S+ order=/.test(l));
  const deliveries = events.reduce((sum, l) => sum + (l.includes('-> no rule') ? 0 : l.split(' -> ')[1]!.split(', ').length), 0);
  const batches = live.filter((l) => / consume +/.test(l)).length;
  return { byFunction, eventLines: events.length, deliveries, batches };
}

async function quiet(file: string, forMs: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let size = statSync(file).size;
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = statSync(file).size;
    if (now !== size) [size, since] = [now, Date.now()];
    else if (Date.now() - since >= forMs) return;
  }
  throw new Error(`${file} kept growing for ${timeoutMs} ms`);
}

export async function measureCost(options: { runtime: RuntimeProcess & { api: string }; functionLogs: string; template: Template; orders: number; sweepIntervalMinutes: number }): Promise<CostFigures> {
  const { runtime, template } = options;
  await quiet(options.functionLogs, 3000);
  const logStart = statSync(options.functionLogs).size;
  const liveStart = runtime.output().length;
  const post = async (route: string, body: unknown) => {
    const answer = await fetch(new URL(route, runtime.api), { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() }, body: JSON.stringify(body) });
    if (answer.status >= 300) throw new Error(`POST ${route} answered ${answer.status}: ${await answer.text()}`);
    return (await answer.json()) as { orderId: string };
  };
  const routed = new RoutedEvents(runtime);
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < options.orders) {
          const i = next++;
          const { orderId } = await post('orders', { customerId: 'c-cost', items: linesOf(i) });
          await routed.first(['InventoryReserved'], orderId, 60_000);
          await post(`orders/${orderId}/payment`, { paymentId: `pay-${orderId}` });
          await routed.first(['OrderPaid'], orderId, 60_000);
        }
      }),
    );
  } finally {
    routed.stop();
  }
  await quiet(options.functionLogs, 4000);
  const n = options.orders;

  const window = readFileSync(options.functionLogs).subarray(logStart).toString('utf8');
  const { byFunction, eventLines, deliveries, batches } = usageIn(window, runtime.output().slice(liveStart), memoryOf(template));

  // The sweep: one run's state transitions (its history), every sweepIntervalMinutes, over a month's orders.
  const sfn = new SFNClient({ endpoint: runtime.awsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const stateMachineArn = Object.values(runtime.outputs)[0]!.SweepStateMachineArn!;
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{}' }));
  while ((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status === 'RUNNING') await new Promise((resolve) => setTimeout(resolve, 100));
  const history = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
  sfn.destroy();
  const transitionsPerRun = history.filter((e) => e.type?.endsWith('StateEntered')).length;
  const runsPerMonth = (30 * 24 * 60) / options.sweepIntervalMinutes;

  // DynamoDB: the cost meter's units for the same order (DynamoDB Local does not bill transactions as AWS does).
  const tables = await startLocalTables();
  let units: { writes: number; reads: number; floorUsd: number };
  try {
    const { meter } = await meterPlaceAndPay(tables);
    // The floor: the calls the flow cannot do without (2 requests, 3 events, its DynamoDB units, one invocation and
    // one delivery per hop, batches of one), as the meter counts them (docs/cost.md), with no logs and no compute.
    units = { writes: meter.total('write units'), reads: meter.total('read units'), floorUsd: costTable(meter.lines).totalPerMillion };
  } finally {
    await tables.stop();
  }

  const invocations = Object.values(byFunction).reduce((s, f) => s + f.invocations, 0) / n;
  const gbSeconds = Object.values(byFunction).reduce((s, f) => s + f.gbSeconds, 0) / n;
  const logBytes = Object.values(byFunction).reduce((s, f) => s + f.logBytes, 0) / n;
  const item = (what: string, perOrder: number, unit: string, usdPerUnit: number, measured: boolean): CostItem => ({ what, perOrder, unit, usdPerMillionOrders: perOrder * usdPerUnit * 1e6, measured });
  const items = [
    item('HTTP API requests (place, pay)', 2, 'requests', PRICES.httpApiPerMillionRequests / 1e6, false),
    item('Lambda invocations (measured)', invocations, 'invocations', PRICES.lambdaPerMillionRequests / 1e6, true),
    item('Lambda compute (billed durations on this machine, arm64 price)', gbSeconds, 'GB-seconds', PRICES.lambdaArmPerGbSecond, true),
    item('CloudWatch Logs ingestion (measured: every line, platform lines included)', logBytes, 'bytes', PRICES.cloudWatchLogsPerGbIngested / 1024 ** 3, true),
    item('EventBridge events (measured)', eventLines / n, 'events', PRICES.eventBridgePerMillionEvents / 1e6, true),
    item('SQS: sends by the bus, one receive and one delete per batch (measured)', (deliveries + 2 * batches) / n, 'requests', PRICES.sqsPerMillionRequests / 1e6, true),
    item('DynamoDB write units (cost meter)', units.writes, 'write units', PRICES.dynamodbPerMillionWriteUnits / 1e6, false),
    item('DynamoDB read units (cost meter)', units.reads, 'read units', PRICES.dynamodbPerMillionReadUnits / 1e6, false),
    item(`Step Functions: the sweep every ${options.sweepIntervalMinutes} min, ${transitionsPerRun} transitions a run, over ${ORDERS_PER_MONTH.toLocaleString('en')} orders a month`, (transitionsPerRun * runsPerMonth) / ORDERS_PER_MONTH, 'transitions', PRICES.stepFunctionsPerThousandTransitions / 1000, true),
  ];
  const total = items.reduce((s, i) => s + i.usdPerMillionOrders, 0);
  const biggest = [...items].sort((a, b) => b.usdPerMillionOrders - a.usdPerMillionOrders)[0]!.what;
  return {
    orders: n,
    items,
    costPerMillionOrdersUsd: total,
    biggest,
    floorUsd: units.floorUsd,
    logBytesPerOrder: Object.fromEntries(Object.entries(byFunction).map(([fn, f]) => [fn, f.logBytes / n])),
  };
}
