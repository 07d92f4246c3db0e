/**
 * The operator's tools against the whole local runtime: the ops page in headless Chromium and its JSON API, then the
 * CLI (`npm run ops`): every command in process (the functions of ops/ with their clients, and runOps for the text
 * and --json answers), its errors and exit codes, and two real `node bin/ops.ts` runs. The acceptance
 * scenario twice, first from the page and then with the CLI: the notification consumer fails, five orders land in its
 * DLQ, the page (or `status`) shows them, the consumer is fixed, the page's "Start DLQ redrive" (or `dlq redrive`)
 * puts them back, and every order is notified once per event type. One runtime serves both: a second would cost a
 * DynamoDB Local boot and a start-up of its own.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DescribeArchiveCommand, DescribeReplayCommand, ListArchivesCommand, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, DescribeStateMachineCommand, GetExecutionHistoryCommand, ListStateMachinesCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { EVENT_CATALOGUE } from '../../functions/domain/events';
import { QUEUE_OUTPUTS } from '../../lib/stack-outputs';
import { LocalRuntime, startRuntime } from '../../local/runtime';
import { createClients, destroyClients, OpsClients } from '../../ops/clients';
import { runOps } from '../../ops/cli';
import { OpsContext } from '../../ops/context';
import { peekDlq, purgeDlq, redriveDlq } from '../../ops/dlq';
import { OrderNotFoundError, UnknownQueueError, UsageError } from '../../ops/errors';
import { replayArchive, replayFailed } from '../../ops/events';
import { orderTimeline } from '../../ops/order';
import { readOutputsFile } from '../../ops/stack';
import { status } from '../../ops/status';
import { runSweep } from '../../ops/sweep';
import type { Browser, Page } from 'playwright-core';
import { request } from '../support/api-client';
import { launchChromium } from '../support/browser';
import { e2eAssembly } from '../support/e2e-assembly';
import { eventually } from '../support/eventually';

jest.setTimeout(120_000);

/**
 * The notification queue's visibility timeout (62 s) is 1.5 s here: five failed receives take ~8 s. At 120 the suite
 * failed once in a loaded fresh-clone run: a peek's 30 s hide (0.25 s real) ran out inside its own loop; at 60 a
 * `sweep run` ended TIMED_OUT (the sweep's 5-minute timeout is 5 s real, and its functions ran in real time on a
 * loaded machine).
 */
const TIME_SCALE = 40;
const work = mkdtempSync(path.join(tmpdir(), 'order-pipeline-ops-cli-'));
const outputsFile = path.join(work, 'outputs.json');
const root = path.join(__dirname, '..', '..');
let runtime: LocalRuntime;
let clients: OpsClients;
let ctx: OpsContext;
let notificationBroken = false;
const progress: string[] = [];
const startedAt = new Date(Math.floor(Date.now() / 1000) * 1000);

const api = () => runtime.outputs[runtime.stackName].ApiUrl;
const logLines: string[] = [];
/** The template's only resource of a type: [logical id, properties]. */
function only(type: string): [string, Record<string, unknown>] {
  const found = Object.entries(runtime.template.Resources).filter(([, r]) => r.Type === type);
  expect(found).toHaveLength(1);
  return [found[0][0], (found[0][1].Properties ?? {}) as Record<string, unknown>];
}
const getAttTarget = (value: unknown) => (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

async function placeOrder(customerId: string, sku: string, quantity: number): Promise<string> {
  const placed = await request(api(), 'POST', '/orders', { body: { customerId, items: [{ sku, quantity }] }, headers: { 'idempotency-key': `${customerId}-${sku}-${Math.random()}` } });
  expect(placed.status).toBe(201);
  return placed.body.orderId as string;
}

async function notificationsOf(orderId: string): Promise<string[]> {
  const { Items = [] } = await clients.ddb.send(
    new QueryCommand({ TableName: ctx.stack.outputs.NotificationsTableName, KeyConditionExpression: 'orderId = :id', ExpressionAttributeValues: { ':id': orderId } }),
  );
  return Items.map((n) => String(n.eventType)).sort();
}

/** runOps in process: its exit code, stdout and stderr. */
async function ops(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runOps([...argv, '--outputs-file', outputsFile], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, clients, pollIntervalMs: 100 });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  runtime = await startRuntime({
    port: 0,
    awsPort: 0,
    inMemory: true,
    timeScale: TIME_SCALE,
    useAssembly: await e2eAssembly(),
    outputsFile,
    log: (line) => logLines.push(line),
    // The drill's switch: the notification consumer fails every invocation while it is on.
    wrapInvoker: (fn) =>
      fn.name.startsWith('notification')
        ? { name: fn.name, invoke: async (event) => (notificationBroken ? { ok: false, error: { errorType: 'Drill', errorMessage: 'notification consumer broken on purpose' }, durationMs: 0 } : fn.invoke(event)) }
        : fn,
  });
  clients = createClients({ endpoint: runtime.endpoints.aws, region: 'us-east-1' });
  ctx = { stack: readOutputsFile(outputsFile), clients, where: runtime.endpoints.aws, local: true, progress: (line) => progress.push(line), pollIntervalMs: 100 };
});

afterAll(async () => {
  if (clients) destroyClients(clients);
  await runtime?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the local ops page, in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  const pageUrl = () => `${runtime.endpoints.aws}/_local/ops/`;
  const queueCell = (role: string, column: 'visible' | 'in-flight') => page.locator(`#queues tr[data-role="${role}"] td.${column}`);
  const chartHistory = async () => (await (await fetch(`${pageUrl()}api/history`)).json()) as { samples: { depths: Record<string, number>; events: Record<string, number> }[] };
  const cellsOf = (selector: string) => page.locator(selector).evaluateAll((rows) => rows.map((row) => Array.from((row as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells, (c) => c.textContent ?? '')));

  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('acceptance: 5 messages in the notification DLQ shown live, fixed, "Start DLQ redrive" drains it with progress: one notification per event type each', async () => {
    // Out of stock: each order ends REJECTED (final: no sweep acts on it later, when the CLI's drill below has the
    // consumer broken again) and owes exactly one notification, InventoryRejected.
    expect((await request(api(), 'PUT', '/inventory/ops-page', { body: { available: 0 } })).status).toBe(201);
    await page.goto(pageUrl());
    await queueCell('notification-dlq', 'visible').filter({ hasText: /^0$/ }).waitFor();
    notificationBroken = true;
    const orders = await Promise.all([1, 2, 3, 4, 5].map((i) => placeOrder(`c-page-${i}`, 'ops-page', 1)));
    // The page refreshes itself: nothing is clicked until the DLQ's count shows 5.
    await queueCell('notification-dlq', 'visible').filter({ hasText: /^5$/ }).waitFor({ timeout: 30_000 });
    await expect(page.locator('#queues tr[data-role="notification-dlq"]').getAttribute('class')).resolves.toBe('nonempty');
    // The chart's sampler (every 2 s) records the 5 too: the DLQ holds them until the redrive below.
    await eventually(async () => expect((await chartHistory()).samples.some((s) => s.depths['notification-dlq'] === 5)).toBe(true), 15_000, 250);

    await page.click('#queues tr[data-role="notification-dlq"] button.peek');
    await page.locator('#messages tbody tr').nth(4).waitFor();
    const messages = await cellsOf('#messages tbody tr');
    expect(messages.map((cells) => cells[1]).sort()).toEqual([...orders].sort());
    expect(new Set(messages.map((cells) => cells[0]))).toEqual(new Set(['InventoryRejected']));
    for (const orderId of orders) expect(await notificationsOf(orderId)).toEqual([]);
    if (process.env.OPS_PAGE_SCREENSHOT) {
      await page.click(`#orders tr[data-order-id="${orders[0]}"]`);
      await page.locator('#timeline li').first().waitFor();
      await page.screenshot({ path: process.env.OPS_PAGE_SCREENSHOT, fullPage: true });
    }

    notificationBroken = false;
    await page.click('button.redrive[data-role="notification-dlq"]');
    await page.locator('#redrive-status').filter({ hasText: 'COMPLETED' }).waitFor({ timeout: 30_000 });
    expect(await page.textContent('#redrive-status')).toBe('5/5 COMPLETED');
    expect(await page.textContent('#redrive-label')).toBe('redrive notification-dlq → OrderPipeline-notification');
    expect(await page.getAttribute('#redrive-bar', 'value')).toBe('5');
    await queueCell('notification-dlq', 'visible').filter({ hasText: /^0$/ }).waitFor({ timeout: 30_000 });
    await eventually(async () => {
      for (const orderId of orders) expect(await notificationsOf(orderId)).toEqual(['InventoryRejected']);
    });

    // Orders by status, and one's timeline: the notification the redrive let through is on it.
    await page.click('#statuses button[data-status="REJECTED"]');
    await page.locator(`#orders tr[data-order-id="${orders[0]}"]`).click();
    await page.locator('#timeline li[data-kind="notification"]').filter({ hasText: 'InventoryRejected' }).waitFor({ timeout: 10_000 });
    expect(await page.textContent('#timeline-order')).toBe(`${orders[0]} (REJECTED)`);
    expect(await page.textContent('#statuses button[data-status="REJECTED"]')).toMatch(/^REJECTED \d+$/);

    // The chart's samples saw the orders placed (the DLQ's 5 was seen above); it draws one line per series.
    expect((await chartHistory()).samples.reduce((n, s) => n + (s.events.OrderPlaced ?? 0), 0)).toBeGreaterThanOrEqual(5);
    expect(await page.locator('#chart polyline').evaluateAll((lines) => lines.map((l) => l.getAttribute('data-series')))).toEqual(['placed', 'events', 'depth', 'dlq']);
    expect(await page.textContent('#error')).toBe('');
  });

  test('its API answers problem+json: unknown names 404, bad arguments 400, a wrong method 405, a POST that is not JSON 415', async () => {
    const call = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${pageUrl()}api/${path}`, init);
      return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, any>, allow: response.headers.get('allow') };
    };
    const notFound = await call('dlq/nope');
    expect(notFound).toMatchObject({ status: 404, type: 'application/problem+json', body: { title: 'Not Found', status: 404 } });
    expect(notFound.body.detail).toContain("unknown queue 'nope'");
    expect(notFound.body.detail).toContain('notification-dlq');
    expect(await call('orders?status=SHIPPED')).toMatchObject({ status: 400, body: { detail: expect.stringContaining('PENDING, RESERVED, PAID') } });
    expect(await call('orders/ord_nobody')).toMatchObject({ status: 404, body: { detail: expect.stringContaining('no order ord_nobody') } });
    expect(await call('dlq/notification-dlq?limit=0')).toMatchObject({ status: 400 });
    expect(await call('status', { method: 'DELETE' })).toMatchObject({ status: 405, allow: 'GET' });
    expect(await call('dlq/notification/redrive', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })).toMatchObject({ status: 415, type: 'application/problem+json' });
    expect(await call('dlq/notification-target-dlq/redrive', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).toMatchObject({
      status: 400,
      body: { detail: expect.stringContaining('events replay-failed') },
    });
    expect(await call('dlq/notification-dlq/redrive', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).toMatchObject({ status: 200, body: { status: 'NOTHING_TO_MOVE', moved: 0 } });
    // The last move task, as ListMessageMoveTasks keeps it: the page's redrive above.
    expect(await call('dlq/notification-dlq/redrive')).toMatchObject({ status: 200, body: { status: 'COMPLETED', moved: 5, toMove: 5 } });
    expect(await call('inventory-dlq/redrive')).toMatchObject({ status: 404 });
    const orders = await call('orders?limit=2');
    expect(orders.status).toBe(200);
    expect(orders.body.orders).toHaveLength(2);
    expect(Object.keys(orders.body.counts)).toEqual(['PENDING', 'RESERVED', 'PAID', 'REJECTED', 'CANCELLED', 'NEEDS_ATTENTION']);
    const redirect = await fetch(`${runtime.endpoints.aws}/_local/ops`, { redirect: 'manual' });
    expect({ status: redirect.status, location: redirect.headers.get('location') }).toEqual({ status: 301, location: '/_local/ops/' });
    const html = await fetch(pageUrl());
    expect({ status: html.status, type: html.headers.get('content-type') }).toEqual({ status: 200, type: 'text/html; charset=utf-8' });
  });
});

test('acceptance: the notification consumer fails, 5 orders land in its DLQ (status, peek), it is fixed, dlq redrive puts them back: one notification per event type each', async () => {
  expect((await request(api(), 'PUT', '/inventory/ops-drill', { body: { available: 0 } })).status).toBe(201);
  notificationBroken = true;
  // Out of stock: each order ends REJECTED and owes exactly one notification, InventoryRejected.
  const orders = await Promise.all([1, 2, 3, 4, 5].map((i) => placeOrder(`c-drill-${i}`, 'ops-drill', 1)));
  const dlq = async () => (await status(ctx)).queues.find((q) => q.role === 'notification-dlq')!;
  await eventually(async () => expect((await dlq()).visible).toBe(5), 30_000, 250);
  const shown = await dlq();
  expect(shown.oldestAgeSeconds).toEqual(expect.any(Number));

  const peeked = await peekDlq(ctx, 'notification', { limit: 10 });
  expect(peeked).toMatchObject({ queue: 'notification-dlq', kind: 'dlq', visible: 5 });
  expect(peeked.messages.map((m) => m.orderId).sort()).toEqual([...orders].sort());
  for (const m of peeked.messages) {
    expect(m).toMatchObject({ eventType: 'InventoryRejected', receiveCount: expect.any(Number), sentAt: expect.any(String), firstReceivedAt: expect.any(String) });
    expect(m.receiveCount).toBeGreaterThan(5); // five by the consumer, one by this peek
  }
  // Peeking consumed nothing.
  expect((await dlq()).visible).toBe(5);
  for (const orderId of orders) expect(await notificationsOf(orderId)).toEqual([]);

  notificationBroken = false;
  const redrive = await redriveDlq(ctx, 'notification', { rate: 50 });
  expect(redrive).toMatchObject({ queue: 'notification-dlq', destination: 'OrderPipeline-notification', status: 'COMPLETED', moved: 5, toMove: 5 });
  expect(progress.some((l) => /^redrive notification-dlq -> OrderPipeline-notification: \[[#.]{20}\] \d\/5 /.test(l))).toBe(true);
  await eventually(async () => {
    for (const orderId of orders) expect(await notificationsOf(orderId)).toEqual(['InventoryRejected']);
  });
  expect((await dlq()).visible).toBe(0);
});

test('status --json: every queue of the stack outputs with its counts, and the last sweep runs', async () => {
  await eventually(async () => expect((await status(ctx)).sweeps.length).toBeGreaterThan(0), 30_000, 250); // the schedule fires every 2 s here
  const { code, stdout } = await ops('status', '--json');
  expect(code).toBe(0);
  const report = JSON.parse(stdout);
  expect(Object.keys(report).sort()).toEqual(['alarms', 'queues', 'stack', 'sweeps']);
  expect(report.alarms).toBeNull(); // no CloudWatch locally
  expect(report.queues.map((q: { role: string }) => q.role)).toEqual(QUEUE_OUTPUTS.map((q) => q.role));
  for (const q of report.queues) expect(q).toEqual({ role: expect.any(String), kind: expect.any(String), name: expect.any(String), url: expect.any(String), visible: expect.any(Number), inFlight: expect.any(Number), delayed: expect.any(Number), oldestAgeSeconds: q.visible ? expect.any(Number) : null });
  expect(report.sweeps[0]).toMatchObject({ name: expect.any(String), executionArn: expect.stringContaining(':execution:'), status: 'SUCCEEDED', startedAt: expect.any(String), summary: { found: { republish: expect.any(Number), expire: expect.any(Number) }, failed: 0 } });

  const text = await ops('status');
  expect(text.stdout).toMatch(/^stack OrderPipeline\nQUEUE +KIND +VISIBLE +IN FLIGHT +OLDEST +NAME\n/);
  expect(text.stdout).toContain('notification-target-dlq  rule-target-dlq');
  expect(text.stdout).toContain('alarms: none evaluated here (the local runtime runs no CloudWatch');
});

test('sweep run: starts the sweep, waits, prints its summary (--json: the run)', async () => {
  const run = await runSweep(ctx);
  expect(run).toMatchObject({ status: 'SUCCEEDED', summary: { found: expect.any(Object), outcomes: expect.any(Object), failed: 0, failures: [] } });
  const { code, stdout } = await ops('sweep', 'run', '--json');
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ name: expect.stringMatching(/^ops-/), status: 'SUCCEEDED', summary: { failed: 0 } });
});

test('order: a reserved order the customer cancelled, its timeline from the tables (status, stock, events, notifications)', async () => {
  expect((await request(api(), 'PUT', '/inventory/ops-timeline', { body: { available: 3 } })).status).toBe(201);
  const orderId = await placeOrder('c-timeline', 'ops-timeline', 2);
  await eventually(async () => expect(await notificationsOf(orderId)).toEqual(['InventoryReserved']), 20_000, 100);
  expect((await request(api(), 'POST', `/orders/${orderId}/cancel`)).status).toBe(200);
  await eventually(async () => expect(await notificationsOf(orderId)).toEqual(['InventoryReserved', 'OrderCancelled']), 20_000, 100);
  const report = await orderTimeline(ctx, orderId);
  expect(report.order).toMatchObject({ orderId, status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } });
  expect(report.timeline.map((e) => `${e.kind} ${e.what.split(' (')[0].split(':')[0]}`)).toEqual([
    'status placed by c-timeline',
    'event OrderPlaced',
    'status RESERVED',
    'stock reserved ops-timeline x2',
    'event InventoryReserved',
    'notification InventoryReserved',
    'status CANCELLED',
    'stock released ops-timeline x2',
    'event OrderCancelled',
    'notification OrderCancelled',
  ]);
  expect(report.timeline.every((e) => e.at)).toBe(true);

  const { code, stdout } = await ops('order', orderId, '--json');
  expect(code).toBe(0);
  expect(Object.keys(JSON.parse(stdout)).sort()).toEqual(['notifications', 'order', 'timeline']);
  expect((await ops('order', orderId)).stdout).toMatch(new RegExp(`^order ${orderId}  CANCELLED  customer c-timeline`));

  await expect(orderTimeline(ctx, 'ord_nosuchorder')).rejects.toThrow(OrderNotFoundError);
  const missing = await ops('order', 'ord_nosuchorder', '--json');
  expect(missing.code).toBe(1);
  expect(JSON.parse(missing.stdout)).toEqual({ error: { message: `no order ord_nosuchorder in ${ctx.stack.outputs.OrdersTableName}`, exitCode: 1, type: 'OrderNotFoundError' } });
});

test('events replay-failed: a delivery failure EventBridge left in a rule-target DLQ (ERROR_CODE shown by peek) goes back on the bus, then out of the DLQ', async () => {
  const queue = ctx.stack.outputs.NotificationRuleTargetDLQUrl;
  const orderId = `ord_replayfailed${process.pid}`;
  const event = {
    version: '0', id: 'failed-1', 'detail-type': 'InventoryRejected', source: EVENT_CATALOGUE.InventoryRejected.source, account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [],
    detail: EVENT_CATALOGUE.InventoryRejected.detail.parse({ eventId: 'evt-replay-failed', orderId, customerId: 'c-replay', correlationId: 'corr-replay', reason: 'OUT_OF_STOCK', sku: 'ops-drill', occurredAt: new Date().toISOString() }),
  };
  // What EventBridge sends a target's DLQ when delivery fails (the event, with its error as message attributes).
  await clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: queue,
      MessageBody: JSON.stringify(event),
      MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' }, ERROR_MESSAGE: { DataType: 'String', StringValue: 'the queue was unreachable' }, RETRY_ATTEMPTS: { DataType: 'String', StringValue: '20' } },
    }),
  );
  await clients.sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: 'not an event' }));

  const peeked = await peekDlq(ctx, 'notification-target-dlq');
  expect(peeked.kind).toBe('rule-target-dlq');
  expect(peeked.messages.find((m) => m.orderId === orderId)).toMatchObject({ eventType: 'InventoryRejected', attributes: { ERROR_CODE: 'SDK_CLIENT_ERROR', ERROR_MESSAGE: 'the queue was unreachable', RETRY_ATTEMPTS: '20' } });
  const text = await ops('dlq', 'peek', 'notification-target-dlq');
  expect(text.stdout).toContain('SDK_CLIENT_ERROR: the queue was unreachable (after 20 retries)');

  // `notification` means its rule-target DLQ here; the message that is no event stays, reported.
  const report = await replayFailed(ctx, 'notification');
  expect(report).toMatchObject({ queue: 'notification-target-dlq', sent: 1, failed: [{ error: expect.stringContaining('not JSON') }] });
  await eventually(async () => expect(await notificationsOf(orderId)).toEqual(['InventoryRejected']));
  expect((await peekDlq(ctx, 'notification-target-dlq')).messages.map((m) => m.body)).toEqual(['not an event']);

  // dlq purge: refused without --yes (exit 2), then the DLQ emptied.
  const refused = await ops('dlq', 'purge', 'notification-target-dlq');
  expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('add --yes') });
  await expect(purgeDlq(ctx, 'notification-target-dlq', { yes: true })).resolves.toEqual({ queue: 'notification-target-dlq', name: expect.any(String), purged: 1 });
  expect(JSON.parse((await ops('events', 'replay-failed', 'notification-target-dlq', '--json')).stdout)).toMatchObject({ sent: 0, failed: [] });
});

test('events replay: the archive window to the rules that take --type, until COMPLETED', async () => {
  await new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000))); // the window ends in the next second
  const report = await replayArchive(ctx, { from: startedAt, to: new Date(), type: 'OrderPlaced' });
  expect(report).toMatchObject({ archive: ctx.stack.outputs.EventArchiveName, state: 'COMPLETED', rules: [expect.stringMatching(/^inventoryRule/)], eventLastReplayedTime: expect.any(String) });
  const { code, stdout } = await ops('events', 'replay', '--from', startedAt.toISOString(), '--to', 'now', '--json');
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ state: 'COMPLETED', rules: [expect.stringMatching(/^inventoryRule/), expect.stringMatching(/^notificationRule/)] });
  // The inventory consumer took the replayed OrderPlaced as the duplicates they are: no order changed, nothing notified twice.
  await expect(ops('events', 'replay', '--from', 'now', '--to', '1h')).resolves.toMatchObject({ code: 2, stderr: 'ops: --from must be before --to\n' });
});

describe('errors: one line, the names that exist, exit codes', () => {
  test.each([
    [['dlq', 'peek', 'nope'], 2, "ops: unknown queue 'nope': dlq peek takes inventory-dlq, inventory-target-dlq, notification-dlq, notification-target-dlq, relay-dlq, sweep-schedule-dlq (or a queue name or URL)"],
    [['dlq', 'redrive', 'notification-target-dlq'], 2, 'is a rule-target DLQ: dlq redrive takes inventory-dlq, notification-dlq; a rule-target DLQ holds delivery failures with no source queue: re-send them with `events replay-failed`'],
    [['dlq', 'purge', 'OrderPipeline-inventory', '--yes'], 2, 'ops: inventory (OrderPipeline-inventory) is a consumer queue: dlq purge takes'],
    [['events', 'replay-failed', 'inventory-dlq'], 2, 'a redrive DLQ goes back to its queue with `dlq redrive`'],
    [['dlq', 'redrive', 'inventory', '--rate', '0'], 2, 'ops: --rate must be an integer from 1 to 500'],
    [['dlq', 'peek'], 2, 'ops: dlq peek needs a queue'],
    [['frobnicate'], 2, "ops: unknown command 'frobnicate'"],
    [['status', '-n', '3'], 2, 'ops: status takes no -n'],
    [['events', 'replay', '--to', 'now'], 2, 'ops: events replay needs --from T'],
  ])('%j: exit %d, %s', async (argv, exitCode, message) => {
    const { code, stderr, stdout } = await ops(...(argv as string[]));
    expect(code).toBe(exitCode);
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(stderr).toContain(message);
    expect(stdout).toBe('');
  });

  test('the functions throw typed errors', async () => {
    await expect(peekDlq(ctx, 'nope')).rejects.toThrow(UnknownQueueError);
    await expect(redriveDlq(ctx, 'notification-target-dlq')).rejects.toThrow(UsageError);
  });

  test('nothing answering at the endpoint: exit 1, named', async () => {
    let stderr = '';
    const code = await runOps(['dlq', 'peek', 'notification', '--outputs-file', outputsFile, '--endpoint-url', 'http://127.0.0.1:9'], { stdout: () => undefined, stderr: (t) => (stderr += t), env: {} });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^ops: nothing answers at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\): start the local runtime \(npm start\) or pass --endpoint-url \/ AWS_ENDPOINT_URL\n$/);
  });

  test('--json errors are one JSON object on stdout too', async () => {
    const { code, stdout } = await ops('dlq', 'peek', 'nope', '--json');
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ error: { exitCode: 2, type: 'UnknownQueueError', message: expect.stringContaining("unknown queue 'nope'") } });
  });
});

describe('bin/ops.ts as a process (npm run ops)', () => {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/ops.ts', ...args], { cwd: root, env: { ...process.env, AWS_ENDPOINT_URL: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  test('status --json from the outputs file (the endpoint from its queue URLs): exit 0; a bad option: exit 2', async () => {
    const [ok, usage] = await Promise.all([run(['status', '--json', '--outputs-file', outputsFile]), run(['status', '--bogus'])]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).queues).toHaveLength(QUEUE_OUTPUTS.length);
    expect(usage).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining("ops: Unknown option '--bogus'") });
  });
});

// The operator APIs the commands stand on, through the SDK on the same runtime (one runtime start for both).
describe('Step Functions and the archive as the SDK sees them', () => {
  test('ListStateMachines and DescribeStateMachine: the sweep as the template declares it', async () => {
    const stateMachineArn = runtime.outputs[runtime.stackName].SweepStateMachineArn;
    const { stateMachines = [] } = await clients.sfn.send(new ListStateMachinesCommand({}));
    expect(stateMachines.map((m) => m.stateMachineArn)).toEqual([stateMachineArn]);
    const [, props] = only('AWS::StepFunctions::StateMachine');
    const described = await clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    const logging = props.LoggingConfiguration as { Level: string; IncludeExecutionData: boolean };
    expect(described).toMatchObject({
      status: 'ACTIVE',
      type: props.StateMachineType,
      roleArn: expect.stringMatching(new RegExp(`:role/${runtime.names(getAttTarget(props.RoleArn))}$`)),
      loggingConfiguration: { level: logging.Level, includeExecutionData: logging.IncludeExecutionData },
      tracingConfiguration: { enabled: (props.TracingConfiguration as { Enabled: boolean }).Enabled },
    });
    // The definition with its function ARNs resolved to the local functions.
    expect(described.definition).not.toContain('Fn::GetAtt');
    expect(JSON.parse(described.definition!).StartAt).toBeTruthy();
  });

  test('GetExecutionHistory of a sweep run: its states in the order the definition chains them, then ExecutionSucceeded', async () => {
    const stateMachineArn = runtime.outputs[runtime.stackName].SweepStateMachineArn;
    const definition = JSON.parse((await clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).definition!) as { StartAt: string; States: Record<string, { Type: string; Next?: string }> };
    const { executionArn } = await clients.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'ops-history', input: '{}' }));
    await eventually(async () => expect((await clients.sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('SUCCEEDED'), 60_000);
    const { events: history = [] } = await clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const chain: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; name = definition.States[name].Next) chain.push(name);
    const topLevel = history.filter((e) => chain.includes((e.stateEnteredEventDetails ?? e.stateExitedEventDetails)?.name ?? '')).map((e) => e.type);
    expect(topLevel).toEqual(chain.flatMap((n) => [`${definition.States[n].Type}StateEntered`, `${definition.States[n].Type}StateExited`]));
    expect(history[0].type).toBe('ExecutionStarted');
    expect(history.at(-1)!.type).toBe('ExecutionSucceeded');
  });

  test("the archive keeps the order's events; a replay sends each once more to each rule that took it, with replay-name, and archives nothing", async () => {
    const [archiveId, props] = only('AWS::Events::Archive');
    const archiveName = runtime.names(archiveId);
    const { Archives = [] } = await clients.events.send(new ListArchivesCommand({}));
    expect(Archives).toMatchObject([{ ArchiveName: archiveName, RetentionDays: props.RetentionDays, State: 'ENABLED' }]);
    const before = (await clients.events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }))).EventCount!;

    const from = new Date(Math.floor(Date.now() / 1000) * 1000);
    expect((await request(api(), 'PUT', '/inventory/ops-replay', { body: { available: 5 } })).status).toBe(201);
    const placed = await request(api(), 'POST', '/orders', { body: { customerId: 'c-ops', items: [{ sku: 'ops-replay', quantity: 1 }] }, headers: { 'idempotency-key': `ops-${process.pid}` } });
    const orderId = placed.body.orderId as string;
    await eventually(async () => expect((await request(api(), 'GET', `/orders/${orderId}`)).body.status).toBe('RESERVED'));
    /** The live log's event lines for this order, without their time. */
    const routed = () => logLines.filter((l) => / event +/.test(l) && l.includes(`order=${orderId} `)).map((l) => l.replace(/^\S+ event +/, ''));
    await eventually(async () => expect(routed()).toHaveLength(2)); // OrderPlaced, InventoryReserved
    const live = routed();
    const archived = (await clients.events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }))).EventCount!;
    expect(archived - before).toBeGreaterThanOrEqual(2);

    const described = await clients.events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
    // EventEndTime may not be in the future and an event's time is whole seconds: the window ends in the next second.
    await new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000)));
    await clients.events.send(
      new StartReplayCommand({ ReplayName: 'ops-replay', EventSourceArn: described.ArchiveArn, EventStartTime: from, EventEndTime: new Date(), Destination: { Arn: described.EventSourceArn } }),
    );
    await eventually(async () => expect((await clients.events.send(new DescribeReplayCommand({ ReplayName: 'ops-replay' }))).State).toBe('COMPLETED'));
    await runtime.engines.bus.drain();
    const replayed = routed().filter((l) => l.endsWith(' (replay ops-replay)'));
    expect(replayed.map((l) => l.replace(' (replay ops-replay)', '')).sort()).toEqual([...live].sort());
    expect((await clients.events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }))).EventCount).toBe(archived);
    // The inventory consumer took the copy of OrderPlaced as the duplicate it is: one unit held, not two.
    await runtime.engines.bus.drain();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const level = (await request(api(), 'GET', '/inventory/ops-replay')).body as { available: number; reserved: number };
    expect(level.available).toBeGreaterThanOrEqual(4);
    expect(level.reserved).toBeLessThanOrEqual(1);
  });
});
