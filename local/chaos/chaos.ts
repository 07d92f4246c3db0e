/**
 * The chaos run: the local runtime under every fault kind at once, real traffic's races on top, one kill -9 in the
 * middle, then retries, DLQ redrives and the sweep until nothing moves; then the audit. Its report is the figure
 * behind "nothing lost, nothing done twice" (docs/reliability.md).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  DeleteMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NOTIFICATIONS_TABLE } from '../../functions/adapters/table-schema';
import { readCloudAssembly } from '../assembly/cloud-assembly';
import { localName } from '../assembly/local-names';
import { FAULT_KINDS, FaultKind } from '../faults/faults';
import { RuntimeProcess, startRuntimeProcess } from '../runtime-process';
import { synthesize } from '../synth';
import { AuditedOrder, ClientOrder, DeadLetter, QueueDepth, ServerError, StockLevel, Verdict, audit } from './audit';
import { ChaosClient, pause } from './client';
import { PlannedOrder, Workload, drawWorkload } from './workload';

/**
 * The app as the chaos run (and every end-to-end suite) synthesizes it. A 20 s payment window (real time: deadlines
 * are written by the functions) outlasts a scenario but expires within a run; the sweep runs every 2 minutes, 4 s at
 * time scale 30 (each run is a state machine execution and three to four invocations: every 2 s was a tenth of a
 * suite's CPU); an order left PENDING for 60 s (its OrderPlaced lost downstream) is re-published by the next sweep (sooner re-publishes a backlog: a retry storm).
 */
export const CHAOS_CONTEXT = { paymentWindowSeconds: '20', sweepIntervalMinutes: '2', stalePendingAfterSeconds: '60' } as const;
/** The runtime's time scale: what makes the 2-minute sweep interval 4 s. */
export const TIME_SCALE = 30;
/** How often an operator redrives one DLQ (once its source queue has drained) before leaving it for a person to read. */
const MAX_REDRIVES = 20;
/** Pollers per SQS event source: AWS starts with five. */
const SQS_POLLERS = 5;
/** The errors an injected DynamoDB or Lambda fault surfaces as in the API function's log. */
const INJECTED_ERROR_NAMES = ['ProvisionedThroughputExceededException', 'ThrottlingException', 'InternalServerError', 'InjectedFaultError'];

export interface ChaosOptions {
  orders: number;
  faultRate: number;
  seed: number;
  ordersPerSecond: number;
  /** A synthesized assembly to run (synthesized with CHAOS_CONTEXT when absent). */
  assembly?: string;
  /** Kill -9 the runtime half-way through the load (default true). */
  kill: boolean;
  settleTimeoutSeconds: number;
  /** Keep the work directory (data, logs, fault plan) for a post-mortem. */
  keep: boolean;
  progress: (line: string) => void;
}

export interface ChaosReport extends Verdict {
  seed: number;
  orders: number;
  faultRate: number;
  /** Faults injected, per kind, over both runtime processes. */
  faults: Partial<Record<FaultKind, number>>;
  faultsTotal: number;
  kills: number;
  warnings: string[];
  requests: number;
  serverErrors: { total: number; injected: number };
  dlq: { redriven: number; remaining: DeadLetter[] };
  stock: { sku: string; initial: number; adjustments: number; available: number; reserved: number; sold: number }[];
  secondsToQuiescence: number;
  loadSeconds: number;
  workDir?: string;
}

interface RunState {
  workload: Workload;
  client: ChaosClient;
  orders: Map<string, ClientOrder>;
  adjustments: Map<string, number>;
  unexpected: string[];
}

const credentials = { accessKeyId: 'chaos', secretAccessKey: 'chaos' };

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const work = mkdtempSync(path.join(tmpdir(), 'order-pipeline-chaos-'));
  const say = options.progress;
  let runtime: RuntimeProcess | undefined;
  try {
    const assembly = options.assembly ?? path.join(work, 'cdk.out');
    if (!options.assembly) {
      say('synthesizing the app for the chaos run...');
      synthesize({ outdir: assembly, context: { ...CHAOS_CONTEXT } });
    }
    const faultPlan = path.join(work, 'faults.json');
    // Every kind at the rate; a slow cold start is half a second.
    writeFileSync(faultPlan, JSON.stringify({ seed: `chaos-${options.seed}`, rate: options.faultRate, rules: [{ kind: 'lambda.coldStart', rate: options.faultRate, latencyMs: 500 }] }));
    const outputsFile = path.join(work, 'outputs.json');
    const functionLogs = path.join(work, 'functions.log');
    // What each runtime process printed (live log, engine warnings), for the post-mortem of a kept run.
    const keepOutput = (r: RuntimeProcess) => options.keep && appendFileSync(path.join(work, 'runtime.log'), r.output());
    const start = () =>
      startRuntimeProcess({
        args: ['--assembly', assembly, '--data-dir', path.join(work, 'data'), '--port', '0', '--aws-port', '0', '--time-scale', String(TIME_SCALE), '--outputs-file', outputsFile, '--function-logs', functionLogs, '--faults', faultPlan, '--sqs-pollers', String(SQS_POLLERS)],
        readyTimeoutMs: 120_000,
      });

    const workload = drawWorkload({ orders: options.orders, seed: options.seed, ordersPerSecond: options.ordersPerSecond });
    // A customer retries a write it got no answer to for up to 20 minutes (same key): under every fault at 10% a
    // 2-core machine takes minutes to work off the load, and a request given up on leaves its outcome unknown.
    const client = new ChaosClient({ runPrefix: `chaos-${options.seed}`, requestTimeoutMs: 30_000, giveUpAfterMs: 20 * 60_000, maxInFlight: 16 });
    const state: RunState = { workload, client, orders: new Map(), adjustments: new Map(), unexpected: [] };

    runtime = await start();
    const outputs = () => Object.values(runtime!.outputs)[0];
    client.serve(outputs().ApiUrl);
    say(`runtime up; ${options.orders} orders over ${workload.loadMs / 1000} s, every fault kind at ${options.faultRate}, seed ${options.seed}`);
    await setInitialStock(state);

    const faults: Partial<Record<FaultKind, number>> = {};
    const addFaults = (counts: { byKind?: Partial<Record<FaultKind, number>> } | undefined) => {
      for (const [kind, n] of Object.entries(counts?.byKind ?? {}) as [FaultKind, number][]) faults[kind] = (faults[kind] ?? 0) + n;
    };
    // Each process's faults by target, judged at the end (when the log names the API function).
    const faultsByTarget: Record<string, number>[] = [];

    const loadStarted = Date.now();
    let kills = 0;
    /** What makes a figure less than exact without breaking a promise (a count the runtime could not give). */
    const warnings: string[] = [];
    const load = driveLoad(state, loadStarted, () => sfnClient(runtime!), outputs, say);
    if (options.kill) {
      await pause(workload.loadMs / 2);
      // The first process's fault counts, read from the runtime itself just before it dies.
      const before = await faultCounts(runtime);
      if (!before) warnings.push('the first runtime did not answer GET /_local/faults before the kill: its fault counts are missing from the report');
      client.down();
      await runtime.kill9();
      keepOutput(runtime);
      kills++;
      say(`kill -9 at ${((Date.now() - loadStarted) / 1000).toFixed(1)} s (${before?.total ?? 0} faults so far); restarting on the same data directory`);
      addFaults(before);
      faultsByTarget.push(before?.byTarget ?? {});
      runtime = await start();
      client.serve(outputs().ApiUrl);
      say(`runtime up again at ${((Date.now() - loadStarted) / 1000).toFixed(1)} s: ${outputs().ApiUrl}`);
    }
    await load;
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    say(`load done in ${loadSeconds.toFixed(1)} s; settling (retries, redrives, the sweep) until nothing moves`);

    const settled = await settle(runtime, options, say);
    const secondsToQuiescence = (Date.now() - loadStarted) / 1000;
    const deadLetters = await listDeadLetters(runtime, settled.queues);
    const snapshot = await readTables(runtime, assembly);
    const last = await faultCounts(runtime);
    addFaults(last);
    faultsByTarget.push(last?.byTarget ?? {});
    const serverErrors = explainServerErrors(client, readLogLines(functionLogs), faultsByTarget);

    const verdict = audit({
      ...snapshot,
      initialStock: new Map(workload.skus.map((s) => [s.sku, s.initial])),
      adjustments: state.adjustments,
      client: [...state.orders.values()],
      queues: settled.queues,
      deadLetters,
      serverErrors,
    });
    verdict.violations.push(...state.unexpected, ...(settled.quiet ? [] : [`nothing stopped moving within ${options.settleTimeoutSeconds} s`]));
    const code = await runtime.stop();
    keepOutput(runtime);
    runtime = undefined;
    if (code !== 0) verdict.violations.push(`the runtime exited ${code} on SIGTERM`);

    return {
      ...verdict,
      seed: options.seed,
      orders: options.orders,
      faultRate: options.faultRate,
      faults: Object.fromEntries((Object.keys(FAULT_KINDS) as FaultKind[]).map((k) => [k, faults[k] ?? 0])),
      faultsTotal: Object.values(faults).reduce((a, b) => a + (b ?? 0), 0),
      kills,
      warnings,
      requests: client.seen.length,
      serverErrors: { total: serverErrors.length, injected: serverErrors.filter((e) => e.cause).length },
      dlq: { redriven: settled.redriven, remaining: deadLetters },
      stock: workload.skus.map((s) => {
        const level = snapshot.levels.find((l) => l.sku === s.sku);
        return { sku: s.sku, initial: s.initial, adjustments: state.adjustments.get(s.sku) ?? 0, available: level?.available ?? NaN, reserved: level?.reserved ?? NaN, sold: level?.sold ?? NaN };
      }),
      secondsToQuiescence: Math.round(secondsToQuiescence),
      loadSeconds: Math.round(loadSeconds),
      ...(options.keep ? { workDir: work } : {}),
    };
  } finally {
    await runtime?.kill9();
    if (!options.keep) rmSync(work, { recursive: true, force: true });
  }
}

/** PUT each SKU's level; a retried PUT that finds the level made (428: it exists) checks it is the one we set. */
async function setInitialStock(state: RunState): Promise<void> {
  for (const { sku, initial } of state.workload.skus) {
    const put = await state.client.send('PUT', `inventory/${sku}`, { available: initial }, {}, 'PUT /inventory/{sku}');
    if (put.status === 201) continue;
    const level = await state.client.send('GET', `inventory/${sku}`, undefined, {}, 'GET /inventory/{sku}');
    if (level.body.available !== initial) throw new Error(`initial stock of ${sku}: set ${initial}, found ${JSON.stringify(level.body)}`);
  }
}

async function driveLoad(state: RunState, started: number, sfn: () => SFNClient, outputs: () => Record<string, string>, progress: (line: string) => void): Promise<void> {
  const at = (ms: number) => pause(Math.max(0, started + ms - Date.now()));
  const { workload, client } = state;
  const restocks = workload.restocks.map(async (r) => {
    await at(r.atMs);
    try {
      const answer = await client.send('POST', `inventory/${r.sku}/adjustments`, { delta: r.delta }, { 'idempotency-key': r.key }, 'POST /inventory/{sku}/adjustments');
      if (answer.status >= 300) state.unexpected.push(`restock ${r.key}: ${answer.status} ${JSON.stringify(answer.body)}`);
      else state.adjustments.set(r.sku, (state.adjustments.get(r.sku) ?? 0) + r.delta);
    } catch (error) {
      // Its outcome is unknown: the audit's stock equation cannot be exact, and says so.
      state.unexpected.push(`restock ${r.key}: ${(error as Error).message}`);
    }
  });
  // Extra sweep executions, two at a time: they overlap each other and the scheduled one.
  const sweeps = workload.sweepRunsAtMs.map(async (ms) => {
    await at(ms);
    await Promise.all([0, 1].map(() => sfn().send(new StartExecutionCommand({ stateMachineArn: outputs().SweepStateMachineArn, input: '{}' })).catch(() => undefined)));
  });
  let slowest = { ms: 0, what: '' };
  const orders = workload.orders.map(async (o) => {
    await at(o.atMs);
    const began = Date.now();
    try {
      await driveOrder(state, o);
    } catch (error) {
      state.unexpected.push(`order ${o.key}: ${(error as Error).message}`);
    }
    if (Date.now() - began > slowest.ms) slowest = { ms: Date.now() - began, what: `${o.key} (${o.action.kind}${o.duplicatePost ? ', duplicate POST' : ''})` };
  });
  await Promise.all([...restocks, ...sweeps, ...orders]);
  progress(`the slowest order flow: ${slowest.what}, ${(slowest.ms / 1000).toFixed(1)} s`);
}

async function driveOrder(state: RunState, o: PlannedOrder): Promise<void> {
  const { client } = state;
  const record: ClientOrder = { key: o.key, orderIds: [], paymentsConfirmed: [], cancelAccepted: false };
  state.orders.set(o.key, record);
  const post = () => client.send('POST', 'orders', { customerId: o.customerId, items: o.items }, { 'idempotency-key': o.key }, 'POST /orders');
  const answers = await Promise.all(o.duplicatePost ? [post(), post()] : [post()]);
  for (const a of answers) {
    if (a.status !== 201) throw new Error(`POST /orders answered ${a.status} ${JSON.stringify(a.body)}`);
    record.orderIds.push(String(a.body.orderId));
  }
  const orderId = record.orderIds[0];
  const cancel = async () => {
    const a = await client.send('POST', `orders/${orderId}/cancel`, undefined, {}, 'POST /orders/{orderId}/cancel');
    if (a.status === 200) record.cancelAccepted = true;
    else if (a.status !== 409) throw new Error(`cancel answered ${a.status} ${JSON.stringify(a.body)}`);
  };
  const pay = async () => {
    const paymentId = `pay-${o.key}`;
    const a = await client.send('POST', `orders/${orderId}/payment`, { paymentId }, {}, 'POST /orders/{orderId}/payment');
    if (a.status === 200) record.paymentsConfirmed.push(paymentId);
    else if (a.status !== 409) throw new Error(`payment answered ${a.status} ${JSON.stringify(a.body)}`);
  };
  switch (o.action.kind) {
    case 'none':
      return;
    case 'cancelNow':
      return cancel();
    case 'pay':
    case 'payAndCancel':
    case 'payAtDeadline': {
      const reserved = await reservation(client, orderId);
      if (!reserved) return;
      if (o.action.kind === 'pay') return pay();
      if (o.action.kind === 'payAndCancel') {
        await Promise.all([pay(), cancel()]);
        return;
      }
      await pause(Math.max(0, Date.parse(reserved.paymentDeadline) + o.action.offsetMs - Date.now()));
      return pay();
    }
  }
}

/**
 * How long a customer waits for a reservation before giving up on paying: an order whose OrderPlaced was lost waits
 * for the sweep's re-publish, and nobody watches a spinner that long (the order then settles on its own).
 */
const CUSTOMER_PATIENCE_MS = 30_000;

/** Polls the order until it leaves PENDING; its payment deadline if it was reserved. */
async function reservation(client: ChaosClient, orderId: string): Promise<{ paymentDeadline: string } | undefined> {
  const deadline = Date.now() + CUSTOMER_PATIENCE_MS;
  while (Date.now() < deadline) {
    const a = await client.send('GET', `orders/${orderId}`, undefined, {}, 'GET /orders/{orderId}');
    if (a.status !== 200) throw new Error(`GET /orders/${orderId} answered ${a.status}`);
    if (a.body.status === 'RESERVED') return { paymentDeadline: String(a.body.paymentDeadline) };
    if (a.body.status !== 'PENDING') return undefined;
    await pause(1000 + Math.random() * 2000);
  }
  return undefined;
}

const sqsClient = (r: RuntimeProcess) => new SQSClient({ endpoint: r.awsEndpoint, region: 'us-east-1', credentials, maxAttempts: 20 });
// An extra sweep run that cannot start (the runtime is down) is skipped, not retried for minutes.
const sfnClient = (r: RuntimeProcess) => new SFNClient({ endpoint: r.awsEndpoint, region: 'us-east-1', credentials, maxAttempts: 2 });
// Injected DynamoDB faults answer the audit's reads too: it retries them as any client would.
const dynamoClient = (r: RuntimeProcess) => DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: r.awsEndpoint, region: 'us-east-1', credentials, maxAttempts: 50 }));

/** The runtime's own fault counts; a busy runtime is asked again (a count lost here would understate the faults). */
async function faultCounts(r: RuntimeProcess): Promise<{ total: number; byKind: Partial<Record<FaultKind, number>>; byTarget: Record<string, number> } | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const response = await fetch(`${r.awsEndpoint}/_local/faults`, { signal: AbortSignal.timeout(30_000) });
      return (await response.json()) as { total: number; byKind: Partial<Record<FaultKind, number>>; byTarget: Record<string, number> };
    } catch {
      await pause(1000);
    }
  }
  return undefined;
}

interface QueueInfo {
  url: string;
  name: string;
  arn: string;
  /** Source queues have a redrive policy; every other queue of the stack is a dead-letter queue of some kind. */
  deadLetter: boolean;
  /** A source queue's redrive policy: where its messages go after maxReceiveCount receives. */
  deadLetterTargetArn?: string;
  /** A DLQ some source queue's redrive policy names: StartMessageMoveTask moves its messages back. */
  redrivesTo?: string;
}

async function queues(sqs: SQSClient): Promise<QueueInfo[]> {
  const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
  const infos: QueueInfo[] = [];
  for (const url of QueueUrls) {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    const redrive = Attributes.RedrivePolicy ? (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn: string }) : undefined;
    infos.push({ url, name: url.slice(url.lastIndexOf('/') + 1), arn: Attributes.QueueArn ?? '', deadLetter: !redrive, ...(redrive ? { deadLetterTargetArn: redrive.deadLetterTargetArn } : {}) });
  }
  for (const q of infos) {
    const source = infos.find((s) => s.deadLetterTargetArn === q.arn);
    if (source) q.redrivesTo = source.arn;
  }
  return infos;
}

async function depth(sqs: SQSClient, q: QueueInfo): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
}

/**
 * What an operator does after an incident: redrive each DLQ (a consumer DLQ back to its queue; a rule target's
 * DLQ by sending each event to the target it missed), until the queues are empty, no order is still open, and two
 * looks in a row see the same thing.
 */
async function settle(r: RuntimeProcess, options: ChaosOptions, say: (line: string) => void): Promise<{ quiet: boolean; queues: QueueDepth[]; redriven: number }> {
  const sqs = sqsClient(r);
  const ddb = dynamoClient(r);
  const ordersTable = Object.values(r.outputs)[0].OrdersTableName;
  const all = await queues(sqs);
  const redrives = new Map<string, number>();
  let redriven = 0;
  let last = '';
  let stable = 0;
  const deadline = Date.now() + options.settleTimeoutSeconds * 1000;
  let depths: QueueDepth[] = [];
  while (Date.now() < deadline) {
    depths = [];
    for (const q of all) depths.push({ name: q.name, deadLetter: q.deadLetter, messages: await depth(sqs, q) });
    const open = await openOrders(ddb, ordersTable);
    for (const q of all.filter((x) => x.deadLetter)) {
      const n = depths.find((d) => d.name === q.name)!.messages;
      if (!n || (redrives.get(q.name) ?? 0) >= MAX_REDRIVES) continue;
      // After the incident, not during it: a redrive into a queue still working off its backlog only lengthens it.
      const source = all.find((x) => x.arn === q.redrivesTo);
      if (source && depths.find((d) => d.name === source.name)!.messages > 0) continue;
      redrives.set(q.name, (redrives.get(q.name) ?? 0) + 1);
      redriven += await redrive(sqs, q, all).catch((error: Error) => {
        say(`  redrive of ${q.name} failed: ${error.name}: ${error.message}`);
        return 0;
      });
    }
    const digest = JSON.stringify([depths, open]);
    const sourcesEmpty = depths.every((d) => d.deadLetter || d.messages === 0);
    const deadLettersDone = all.filter((q) => q.deadLetter).every((q) => depths.find((d) => d.name === q.name)!.messages === 0 || (redrives.get(q.name) ?? 0) >= MAX_REDRIVES);
    if (sourcesEmpty && deadLettersDone && open.PENDING === 0 && open.RESERVED === 0 && digest === last) {
      if (++stable >= 2) return { quiet: true, queues: depths, redriven };
    } else stable = 0;
    if (digest !== last) say(`  open orders ${JSON.stringify(open)}; messages ${depths.filter((d) => d.messages).map((d) => `${d.name}=${d.messages}`).join(' ') || 'none'}`);
    last = digest;
    await pause(3000);
  }
  return { quiet: false, queues: depths, redriven };
}

async function openOrders(ddb: DynamoDBDocumentClient, table: string): Promise<Record<'PENDING' | 'RESERVED' | 'NEEDS_ATTENTION', number>> {
  const counts = { PENDING: 0, RESERVED: 0, NEEDS_ATTENTION: 0 };
  for (const item of await scanAll(ddb, table, 'orderId, #s')) {
    const status = item.status as keyof typeof counts;
    if (status in counts) counts[status]++;
  }
  return counts;
}

async function redrive(sqs: SQSClient, q: QueueInfo, all: QueueInfo[]): Promise<number> {
  if (q.redrivesTo) {
    const { ApproximateNumberOfMessages } = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes ?? {};
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.arn }));
    return Number(ApproximateNumberOfMessages ?? 0);
  }
  // A rule target's DLQ holds the events it could not deliver, each naming its target: deliver them there.
  let moved = 0;
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 30 }));
    if (!Messages.length) return moved;
    for (const m of Messages) {
      const target = all.find((x) => x.arn === m.MessageAttributes?.TARGET_ARN?.StringValue);
      if (!target) continue; // not an EventBridge dead letter (e.g. the relay's stream failures): left for a person
      await sqs.send(new SendMessageCommand({ QueueUrl: target.url, MessageBody: m.Body ?? '' }));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: q.url, ReceiptHandle: m.ReceiptHandle! }));
      moved++;
    }
  }
}

/** What is left in the DLQs after the redrives, each with why it is there. */
async function listDeadLetters(r: RuntimeProcess, depths: QueueDepth[]): Promise<DeadLetter[]> {
  const sqs = sqsClient(r);
  const all = await queues(sqs);
  const letters: DeadLetter[] = [];
  for (const q of all.filter((x) => x.deadLetter && depths.find((d) => d.name === x.name)?.messages)) {
    for (;;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], AttributeNames: ['All'], VisibilityTimeout: 300 }));
      if (!Messages.length) break;
      for (const m of Messages) {
        const attributes = m.MessageAttributes ?? {};
        const source = q.redrivesTo ? all.find((x) => x.arn === q.redrivesTo)?.name : undefined;
        const reason = attributes.ERROR_CODE
          ? `${attributes.ERROR_CODE.StringValue}: ${attributes.ERROR_MESSAGE?.StringValue ?? ''}`
          : source
            ? `received ${m.Attributes?.ApproximateReceiveCount ?? '?'} times from ${source} without success`
            : (safeJson(m.Body)?.requestContext as { condition?: string } | undefined)?.condition ?? 'unknown';
        // A receive may hand out a message twice (sqs.duplicate faults answer these reads too): list it once.
        if (!letters.some((l) => l.messageId === m.MessageId)) letters.push({ queue: q.name, messageId: m.MessageId ?? '', summary: (m.Body ?? '').slice(0, 200), reason });
      }
    }
  }
  return letters;
}

function safeJson(text: string | undefined): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text ?? '') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function scanAll(ddb: DynamoDBDocumentClient, table: string, projection?: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: start, ...(projection ? { ProjectionExpression: projection, ExpressionAttributeNames: { '#s': 'status' } } : {}) }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The notifications table: the one whose keys table-schema.ts gives it. */
function notificationsTableName(assembly: string): string {
  const stack = readCloudAssembly(assembly)[0];
  const [id] = Object.entries(stack.template.Resources).find(([, r]) => {
    const keys = (r.Properties?.KeySchema ?? []) as { AttributeName: string; KeyType: string }[];
    return r.Type.startsWith('AWS::DynamoDB::') && keys.some((k) => k.AttributeName === NOTIFICATIONS_TABLE.partitionKey && k.KeyType === 'HASH') && keys.some((k) => k.AttributeName === NOTIFICATIONS_TABLE.sortKey);
  })!;
  return localName(stack.template, id);
}

async function readTables(r: RuntimeProcess, assembly: string): Promise<{ orders: AuditedOrder[]; levels: StockLevel[]; notifications: { orderId: string; eventType: string }[] }> {
  const ddb = dynamoClient(r);
  const outputs = Object.values(r.outputs)[0];
  const notifications = notificationsTableName(assembly);
  return {
    orders: (await scanAll(ddb, outputs.OrdersTableName)) as unknown as AuditedOrder[],
    levels: (await scanAll(ddb, outputs.InventoryTableName)) as unknown as StockLevel[],
    notifications: (await scanAll(ddb, notifications)) as unknown as { orderId: string; eventType: string }[],
  };
}

interface LogLine {
  fn: string;
  correlationId?: string;
  message?: string;
  routeKey?: string;
  error?: { name?: string };
  function_request_id?: string;
  type?: string;
  record?: { requestId?: string; status?: string };
}

function readLogLines(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  const lines: LogLine[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const bar = raw.indexOf(' | ');
    if (bar < 0) continue;
    const parsed = safeJson(raw.slice(bar + 3));
    if (parsed) lines.push({ fn: raw.slice(0, bar), ...(parsed as Omit<LogLine, 'fn'>) });
  }
  return lines;
}


/**
 * Which injected fault explains each 5xx. The API handler never throws (it answers every error itself), so a 5xx
 * is an injected fault's when: the handler logged the failure with an injected error's name (a DynamoDB fault its
 * retries did not outlast); or the runtime reported the invocation that handled it as failed or timed out (an
 * injected Lambda fault ended it, even after the handler logged its answer); or the handler logged nothing for it,
 * at most as many times as Lambda faults were injected into the API function (a fault before the handler ran).
 */
function explainServerErrors(client: ChaosClient, lines: LogLine[], faultsByTarget: Record<string, number>[]): ServerError[] {
  const byCorrelation = new Map<string, LogLine[]>();
  const endedBadly = new Map<string, string>();
  // The API function (the one whose lines carry a route key) and its own lines only: the order's consumers log the
  // same correlation id.
  const api = lines.find((l) => l.routeKey !== undefined)?.fn;
  for (const line of lines) {
    if (line.correlationId && line.fn === api) byCorrelation.set(line.correlationId, [...(byCorrelation.get(line.correlationId) ?? []), line]);
    if (line.type === 'platform.report' && line.record?.requestId && line.record.status !== 'success') endedBadly.set(line.record.requestId, line.record.status ?? 'error');
  }
  let lambdaBudget = 0;
  for (const counts of faultsByTarget) {
    for (const [key, n] of Object.entries(counts)) {
      const [kind, target] = key.split(' ');
      if (kind.startsWith('lambda.') && kind !== 'lambda.coldStart' && target === api) lambdaBudget += n;
    }
  }
  return client.seen
    .filter((s) => s.status >= 500)
    .map((s) => {
      const handled = byCorrelation.get(s.correlationId) ?? [];
      const failed = handled.find((l) => l.message === 'request failed');
      const died = handled.map((l) => (l.function_request_id ? endedBadly.get(l.function_request_id) : undefined)).find(Boolean);
      let cause: string | undefined;
      if (failed?.error?.name && INJECTED_ERROR_NAMES.includes(failed.error.name)) cause = `injected DynamoDB fault (${failed.error.name})`;
      else if (died) cause = `injected Lambda fault (the invocation ended: ${died})`;
      else if (!handled.length && lambdaBudget > 0) {
        lambdaBudget--;
        cause = 'injected Lambda fault (before the handler ran)';
      }
      return { route: s.route, status: s.status, correlationId: s.correlationId, ...(cause ? { cause } : {}) };
    });
}
