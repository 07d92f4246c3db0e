/**
 * `npm start` killed with SIGKILL in the middle of a load, then started again on the same data directory:
 * every accepted order is still there and reaches an outcome, queued work resumes, the stock adds up, and a client
 * retrying its unanswered requests with the same Idempotency-Key gets exactly one order each.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RuntimeProcess, startRuntimeProcess } from '../../local/runtime-process';
import { e2eAssembly } from '../support/e2e-assembly';
import { eventually } from '../support/eventually';

jest.setTimeout(150_000);

const work = mkdtempSync(path.join(tmpdir(), 'order-pipeline-crash-'));
let assembly: string;
const outputsFile = path.join(work, 'outputs.json');
const ORDERS = 40;
/**
 * Every fault kind at this rate (the mild profile's 5% by default; `npm run test:faults` runs this suite at 10%),
 * from a fixed seed: duplicates, lost PutEvents entries, throttled DynamoDB calls, functions killed after their k-th
 * AWS call, on top of the kill -9.
 */
const FAULT_RATE = Number(process.env.FAULT_RATE ?? 0.05);
const faultPlan = path.join(work, 'faults.json');
writeFileSync(faultPlan, JSON.stringify({ seed: 'crash-recovery', rate: FAULT_RATE, rules: [{ kind: 'lambda.coldStart', rate: FAULT_RATE, latencyMs: 500 }] }));
const STOCK = 50;

/** Starts the CLI as a user would (node + tsx), on free ports, through the runtime's process API. */
function startCli(): Promise<RuntimeProcess> {
  return startRuntimeProcess({
    args: ['--assembly', assembly, '--data-dir', path.join(work, 'data'), '--port', '0', '--aws-port', '0', '--time-scale', '30', '--outputs-file', outputsFile, '--function-logs', path.join(work, 'functions.log'), '--faults', faultPlan],
  });
}

const apiOf = (started: RuntimeProcess) => Object.values(started.outputs)[0].ApiUrl;

async function call(api: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(new URL(route, api), { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

let running: RuntimeProcess | undefined;

beforeAll(async () => {
  // The end-to-end context: the sweep runs every 4 s here and cancels orders left unpaid for 20 s.
  assembly = await e2eAssembly();
});

afterAll(async () => {
  await running?.kill9();
  rmSync(work, { recursive: true, force: true });
});

test('kill -9 mid-load, restart on the same data directory: nothing accepted is lost, nothing is done twice', async () => {
  const first = await startCli();
  running = first;
  // A client retries a failed create (a 500 from an injected fault); a retry after a create that did land finds it.
  await eventually(async () => {
    if ((await call(apiOf(first), 'PUT', 'inventory/crash-sku', { available: STOCK })).status === 201) return;
    expect((await call(apiOf(first), 'GET', 'inventory/crash-sku')).body).toMatchObject({ available: STOCK });
  });

  const requests = Array.from({ length: ORDERS }, (_, i) => ({ key: `crash-${i}`, body: { customerId: 'c-crash', items: [{ sku: 'crash-sku', quantity: 1 + (i % 3) }] } }));
  const answers = new Map<string, number>();
  const load = Promise.all(
    requests.map(async (r, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 15));
      try {
        answers.set(r.key, (await call(apiOf(first), 'POST', 'orders', r.body, { 'idempotency-key': r.key })).status);
      } catch {
        // The process died under this request: its outcome is unknown to the client.
      }
    }),
  );
  // Kill once some orders are accepted and others are still arriving and being processed.
  await eventually(async () => expect(answers.size).toBeGreaterThanOrEqual(ORDERS / 4), 30_000);
  // The first process's fault counts, read from the runtime itself before it dies.
  const before = (await (await fetch(`${first.awsEndpoint}/_local/faults`)).json()) as { total: number };
  await first.kill9();
  await load;
  const accepted = [...answers].filter(([, status]) => status === 201).map(([key]) => key);
  expect(accepted.length).toBeGreaterThan(0);
  expect(accepted.length).toBeLessThan(ORDERS);

  const second = await startCli();
  running = second;
  // The client retries every request it has no answer for (or that failed), with the same key.
  const orderIds = new Map<string, string>();
  // Any answer but 201 (a 5xx while the runtime came up, a connection refused) is retried with the same key.
  await Promise.all(
    requests.map((r) =>
      eventually(async () => {
        const answer = await call(apiOf(second), 'POST', 'orders', r.body, { 'idempotency-key': r.key });
        expect(answer.status).toBe(201);
        orderIds.set(r.key, String(answer.body.orderId));
      }, 60_000),
    ),
  );
  expect(new Set(orderIds.values()).size).toBe(ORDERS);
  // Accepted before the kill: still there, the same order (a replay, not a second one).
  for (const key of accepted) expect(orderIds.get(key)).toBeDefined();

  // Every order reaches an outcome (a reservation unpaid for 20 s is cancelled by the sweep); the stock adds up to
  // what was there, read in the same attempt as the orders: exactly the reserved quantities are held.
  await eventually(async () => {
    const listed: { orderId: string; status: string; items: { quantity: number }[] }[] = [];
    let nextToken: string | undefined;
    do {
      const page = await call(apiOf(second), 'GET', `orders?customerId=c-crash&limit=100${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`);
      listed.push(...(page.body.items as typeof listed));
      nextToken = page.body.nextToken as string | undefined;
    } while (nextToken);
    expect(listed).toHaveLength(ORDERS);
    expect(listed.filter((o) => !['RESERVED', 'REJECTED', 'CANCELLED'].includes(o.status))).toEqual([]);
    const reservedUnits = listed.filter((o) => o.status === 'RESERVED').reduce((sum, o) => sum + o.items[0].quantity, 0);
    const level = await call(apiOf(second), 'GET', 'inventory/crash-sku');
    expect(level.body).toMatchObject({ reserved: reservedUnits, available: STOCK - reservedUnits, sold: 0 });
  }, 90_000);

  // SIGTERM stops it cleanly.
  expect(await second.stop()).toBe(0);
  expect(second.output()).toContain('SIGTERM: stopping');
  const counts = /^faults injected: (.*)$/m.exec(second.output())?.[1];
  console.log(`faults at ${FAULT_RATE}, before the kill -9: ${JSON.stringify(before)}\nafter the restart: ${counts}`);
  if (FAULT_RATE > 0) expect(JSON.parse(counts ?? '{}').total + before.total).toBeGreaterThan(0);
});
