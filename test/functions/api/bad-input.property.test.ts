/**
 * Bad input, 10,000 requests: fast-check generates requests to every route, each broken in one known way
 * (bad-requests.ts), and the real API handler answers them over DynamoDB Local. Every answer must be the 4xx the
 * defect calls for, as application/problem+json naming the problem, one docs/openapi.json documents for the route;
 * never a 5xx; nothing written, nothing published.
 *
 * Seeded: FUZZ_SEED=<n> replays a run (a failure prints its seed and path), FUZZ_RUNS=<n> changes the total.
 */
import { httpEvent, lambdaContext } from '../shared/fixtures';

import fc from 'fast-check';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { makeApiHandler } from '../../../functions/api/handler';
import { RouteName, ROUTES, routeKey } from '../../../functions/api/routes';
import { reserveOrder } from '../../../functions/domain/inventory';
import { DynamoDbOrderRepository } from '../../../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';
import { LocalTables } from '../../support/local-tables';
import { ManualClock, RecordingPublisher } from '../../support/recording-publisher';
import { T0, useLocalTables } from '../domain/fixtures';
import { BAD_REQUESTS, BadRequest, Baseline, RouteWithInput } from './bad-requests';
import { checkAnswer, checkedSummary } from '../../support/api-contract';

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_108);
const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const ROUTE_NAMES = Object.keys(BAD_REQUESTS) as RouteWithInput[];
const RUNS_PER_ROUTE = Math.ceil(TOTAL_RUNS / ROUTE_NAMES.length);
/** Every this many requests, the tables are compared item by item with the baseline (besides the write count per request). */
const COMPARE_EVERY = 1000;

jest.setTimeout(120_000);

const tables = useLocalTables();

/** Commands that only read: anything else that succeeds has written (a refused condition or transaction writes nothing). */
const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);
const writes: string[] = [];
const events = new RecordingPublisher();
let api: ReturnType<typeof makeApiHandler>;
let client: DynamoDBClient;
let base: Baseline;
let snapshot: Record<string, string[]>;

const byStatus = new Map<number, number>();
const byDefect = new Map<string, number>();
let requests = 0;
/** This process's CPU and wall time over the runs: on a shared machine wall time says more about the neighbours. */
const spent = { cpu: 0, wallMs: 0 };

/** Every item of every table, as sorted JSON lines. */
async function contents(t: LocalTables): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of Object.values(t.names)) {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await t.raw.send(new ScanCommand({ TableName: name, ConsistentRead: true, ExclusiveStartKey: start as never }));
      items.push(...(page.Items ?? []).map((item) => JSON.stringify(item)));
      start = page.LastEvaluatedKey;
    } while (start);
    out[name] = items.sort();
  }
  return out;
}

function eventOf(bad: BadRequest): APIGatewayProxyEventV2 {
  const event = httpEvent({ routeKey: bad.routeKey, pathParameters: bad.pathParameters, queryStringParameters: bad.queryStringParameters });
  event.headers = { host: 'api.example.com' };
  for (const [name, value] of Object.entries(bad.headers)) if (value !== undefined) event.headers[name] = value;
  if (bad.body !== undefined) event.body = bad.body;
  event.isBase64Encoded = bad.isBase64Encoded ?? false;
  return event;
}

/** For a failure report: what was wrong, and the request, long strings cut short. */
function summary(bad: BadRequest): string {
  const short = (v: unknown) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return text && text.length > 200 ? `${text.slice(0, 200)}... (${text.length} chars)` : text;
  };
  const { defect, expect: wanted, ...rest } = bad;
  return `${defect} (want ${JSON.stringify(wanted)}): ${Object.entries(rest).map(([k, v]) => `${k}=${short(v)}`).join(' ')}`;
}

/** A failure prints the request this way, not as a megabyte of JSON. */
const described = (bad: BadRequest): BadRequest => Object.assign(bad, { [fc.toStringMethod]: () => summary(bad) });

async function check(bad: BadRequest): Promise<void> {
  writes.length = 0;
  events.published.length = 0;
  const response = await api(eventOf(bad), lambdaContext('order-api'));
  requests++;
  byStatus.set(response.statusCode, (byStatus.get(response.statusCode) ?? 0) + 1);
  byDefect.set(bad.defect, (byDefect.get(bad.defect) ?? 0) + 1);

  const body = JSON.parse(response.body ?? 'null');
  const answer = { status: response.statusCode, contentType: response.headers['content-type'], detail: body?.detail, errors: body?.errors };
  const fail = (why: string) => {
    throw new Error(`${why}\n  request: ${summary(bad)}\n  answer: ${JSON.stringify(answer).slice(0, 600)}`);
  };
  try {
    checkAnswer(bad.routeKey, { status: response.statusCode, header: (name) => response.headers[name.toLowerCase()], body: response.body ?? '' });
  } catch (error) {
    fail((error as Error).message);
  }
  if (response.statusCode >= 500) fail('a 5xx');
  if (response.statusCode !== bad.expect.status) fail(`status ${response.statusCode}, not ${bad.expect.status}`);
  if (answer.contentType !== 'application/problem+json' || body?.status !== response.statusCode) fail('not a problem+json answer');
  if (bad.expect.field !== undefined) {
    const fields = ((body.errors ?? []) as { field: string }[]).map((e) => e.field);
    // One defect, so one field: anything else named is a wrong report.
    if (fields.length === 0 || fields.some((f) => f !== bad.expect.field)) fail(`errors name ${JSON.stringify(fields)}, not ${bad.expect.field}`);
  }
  if (bad.expect.detail !== undefined && !String(body.detail).toLowerCase().includes(bad.expect.detail.toLowerCase())) fail(`detail does not mention ${bad.expect.detail}`);
  if (writes.length) fail(`it wrote: ${writes.join(', ')}`);
  if (events.published.length) fail(`it published ${events.published.map((e) => e.type).join(', ')}`);
  if (requests % COMPARE_EVERY === 0) expect(await contents(tables())).toEqual(snapshot);
}

beforeAll(async () => {
  const t = tables();
  client = new DynamoDBClient({ endpoint: t.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      if (!READS.has(context.commandName ?? '')) writes.push(context.commandName ?? 'unknown');
      return output;
    },
    { step: 'initialize', name: 'recordWrites' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const clock = new ManualClock(new Date(T0));
  const deps = {
    orders: new DynamoDbOrderRepository(doc, t.names.orders, t.names.inventory),
    stock: new DynamoDbStockRepository(doc, t.names.inventory, t.names.idempotency),
    events,
    clock,
  };
  api = makeApiHandler(() => deps);

  // The baseline, through the API itself (and the inventory consumer's use case): a stocked SKU, one adjustment,
  // and an order in each status a bad request may aim at.
  const call = async (route: RouteName, init: { pathParameters?: Record<string, string>; headers?: Record<string, string>; body?: unknown }) => {
    const response = await api(httpEvent({ routeKey: routeKey(ROUTES[route]), ...init }), lambdaContext('order-api'));
    expect(response.statusCode).toBeLessThan(300);
    return JSON.parse(response.body!);
  };
  const stockedSku = 'fz-apple';
  writes.length = 0;
  await call('setStock', { pathParameters: { sku: stockedSku }, body: { available: 500 } });
  // The write detector sees writes (else "nothing written" below could not fail).
  expect(writes).toEqual(['PutItemCommand']);
  await call('adjustStock', { pathParameters: { sku: stockedSku }, headers: { 'idempotency-key': 'fz-base-adjustment' }, body: { delta: 7 } });
  const customerId = 'fz-base-customer';
  const place = (n: number, sku = stockedSku) => call('placeOrder', { headers: { 'idempotency-key': `fz-base-${n}` }, body: { customerId, items: [{ sku, quantity: 2 }] } });
  const [pending, reserved, paid, cancelled, rejected] = await Promise.all([place(1), place(2), place(3), place(4), place(5, 'fz-never-stocked')]);
  for (const order of [reserved, paid, cancelled, rejected]) await reserveOrder({ ...order, eventId: 'x', occurredAt: T0, correlationId: 'c' }, { orders: deps.orders, clock, paymentWindowSeconds: 900 });
  await call('confirmPayment', { pathParameters: { orderId: paid.orderId }, body: { paymentId: 'fz-base-payment' } });
  await call('cancelOrder', { pathParameters: { orderId: cancelled.orderId } });
  const level = await call('getStock', { pathParameters: { sku: stockedSku } });
  const version = (await deps.stock.get(stockedSku))!.version;
  base = {
    customerId,
    orders: { PENDING: pending.orderId, RESERVED: reserved.orderId, PAID: paid.orderId, CANCELLED: cancelled.orderId, REJECTED: rejected.orderId },
    placedKey: 'fz-base-1',
    stockedSku,
    stockedAvailable: level.available,
    stockedVersion: version,
    adjustmentKey: 'fz-base-adjustment',
    adjustmentDelta: 7,
  };
  for (const [status, orderId] of Object.entries(base.orders)) expect((await deps.orders.get(orderId))?.status).toBe(status);
  snapshot = await contents(t);
});

afterAll(() => {
  client?.destroy();
  const sorted = (m: Map<string | number, number>) => Object.fromEntries([...m].sort(([a], [b]) => String(a).localeCompare(String(b))));
  const seconds = (n: number) => (n / 1000).toFixed(1);
  console.log(`bad input: ${requests} requests (seed ${SEED}) in ${seconds(spent.wallMs)} s (${seconds(spent.cpu / 1000)} s CPU), by status ${JSON.stringify(sorted(byStatus))}\nby defect ${JSON.stringify(sorted(byDefect))}`);
  console.log(checkedSummary('bad input'));
});

describe.each(ROUTE_NAMES.map((name, i) => [name, i] as const))('%s', (name, i) => {
  test(`${RUNS_PER_ROUTE} bad requests: each its 4xx problem+json naming the problem, nothing written`, async () => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(BAD_REQUESTS[name](base).map(described), (bad) => check(bad)),
      // No shrinking: a request that slipped through has written, so a shrunk replay would meet other state.
      { seed: SEED + i, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
    );
    const used = process.cpuUsage(cpu);
    spent.cpu += used.user + used.system;
    spent.wallMs += performance.now() - started;
    expect(await contents(tables())).toEqual(snapshot);
  });
});
