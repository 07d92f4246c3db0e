/**
 * The compensation sweep as deployed: the state machine definition synthesized from the CDK app, run locally by
 * aws-local-stepfunctions, its Task states bound to the sweep's real domain code on DynamoDB Local tables made
 * from the template (keys, index projections, stream). Each scenario checks the execution's output (the summary),
 * what the sweep did to the orders and inventory tables and to the bus, and what the orders table's stream hands
 * the event relay through the relay's synthesized filters (the relay publishes what the sweep's writes owe).
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { DynamoDbOrderRepository } from '../../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../../functions/adapters/dynamodb-stock-repository';
import { INVENTORY_TABLE } from '../../functions/adapters/table-schema';
import { Caller } from '../../functions/domain/caller';
import { PipelineEvent } from '../../functions/domain/events';
import { reserveOrder } from '../../functions/domain/inventory';
import { OrderLine } from '../../functions/domain/order';
import { confirmPayment } from '../../functions/domain/orders';
import { StoredOrder } from '../../functions/domain/ports';
import { relayChanges } from '../../functions/domain/relay';
import { eventForStatus } from '../../functions/domain/status-events';
import { expireReservation, findWork, republishOrFlag, summarise, SWEEP_ACTIONS, SweepAction, SweepDeps, SweepItemResult, SweepSettings, SweepSummary } from '../../functions/domain/sweep';
import { changeRecord } from '../../functions/event-relay/handler';
import { ENV } from '../../functions/shared/env';
import type { RepairInput } from '../../functions/sweep/repair-order';
import { ManualClock, RecordingPublisher } from '../support/recording-publisher';
import { allStates, asLambda, catchAllAttempts, Definition, functionLogicalId, retryPausesMs, runLocally, synthesizedDefinition, TaskHandlers } from '../support/sfn-local';
import { CfnResource, delivers, resources, targetOf } from './cfn';
import { createTablesFromTemplate, DynamoDBLocal, startDynamoDBLocal, streamRecords } from './template-tables';
import { logicalIdOf, synth } from './synth';

// Each scenario makes its tables and runs a few executions against a JVM: generous on a busy two-core machine.
jest.setTimeout(30_000);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

const { stack, template } = synth();
const templateJson = template.toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
const functionResources = resources(template, 'AWS::Lambda::Function');
const logicalId = (construct: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, construct);
const logicalIds = { findWork: logicalId(stack.sweep.functions.findWork), repairOrder: logicalId(stack.sweep.functions.repairOrder), summarise: logicalId(stack.sweep.functions.summarise) };
const definition: Definition = synthesizedDefinition(templateJson, logicalId(stack.sweep.stateMachine));
/** The function each Task state invokes, by the logical id of its AWS::Lambda::Function. */
const functionOf = Object.fromEntries(
  allStates(definition)
    .filter(([, s]) => s.Type === 'Task')
    .map(([name, s]) => [name, functionLogicalId(s.Resource as string)]),
);
const env = (id: string) => functionResources[id].Properties.Environment.Variables as Record<string, unknown>;
const num = (id: string, name: string) => {
  const value = Number(env(id)[name]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${id} has no usable ${name}`);
  return value;
};
/** As the sweep's Lambda functions read them from their environment in the template. */
const settings: SweepSettings = {
  stalePendingAfterSeconds: num(logicalIds.findWork, ENV.sweepStalePendingAfterSeconds),
  maxOrdersPerRun: num(logicalIds.findWork, ENV.sweepMaxOrdersPerRun),
  maxRepublishAttempts: num(logicalIds.repairOrder, ENV.sweepMaxRepublishAttempts),
};
/** The inventory consumer's payment window, from its environment in the template: it sets each reservation's deadline. */
const paymentWindowSeconds = num(logicalId(stack.consumers.inventory.function), ENV.paymentWindowSeconds);
/** The tables the sweep's functions name (logical ids), and the stock table's once-only records. */
const tableIds = {
  orders: targetOf(env(logicalIds.repairOrder)[ENV.ordersTable]),
  inventory: targetOf(env(logicalIds.repairOrder)[ENV.inventoryTable]),
  idempotency: logicalId(stack.tables.idempotency),
};
/** The event relay's mapping on the orders table's stream: its filters decide what the relay is handed. */
const relayMapping: CfnResource = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping')).find(
  (m) => targetOf(m.Properties.FunctionName) === logicalId(stack.relay.function),
)!;

/** The bus, failing with a plain (non-PublishError) error for chosen orders, every time. */
class BrokenForSomeOrders extends RecordingPublisher {
  readonly brokenFor = new Set<string>();
  async publish(events: PipelineEvent[]): Promise<void> {
    const broken = events.find((e) => this.brokenFor.has(e.detail.orderId));
    if (broken) throw new TypeError(`bus client blew up on ${broken.detail.orderId}`);
    return super.publish(events);
  }
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const SKU = 'sku-1';
const LINES: OrderLine[] = [{ sku: SKU, quantity: 2 }];
const caller: Caller = { kind: 'service', principal: 'sweep-test' };

/** A summary's `found`, every action present. */
const found = (counts: Partial<Record<SweepAction, number>> = {}) => Object.fromEntries(SWEEP_ACTIONS.map((a) => [a, counts[a] ?? 0]));

describe('compensation sweep state machine (synthesized definition, run locally on DynamoDB Local)', () => {
  let db: DynamoDBLocal;
  let names: Record<string, string>;
  let orders: DynamoDbOrderRepository;
  let stock: DynamoDbStockRepository;
  let bus: BrokenForSomeOrders;
  let clock: ManualClock;
  /** Every Task invocation, in order, with the input it was given. */
  let calls: { state: string; input: unknown }[];
  let run = 0;

  beforeAll(async () => {
    db = await startDynamoDBLocal();
  }, 60_000);

  afterAll(async () => {
    await db?.stop();
  });

  beforeEach(async () => {
    names = await createTablesFromTemplate(db, template, `sweep${++run}`);
    orders = new DynamoDbOrderRepository(db.client, names[tableIds.orders], names[tableIds.inventory]);
    stock = new DynamoDbStockRepository(db.client, names[tableIds.inventory], names[tableIds.idempotency]);
    bus = new BrokenForSomeOrders();
    clock = new ManualClock();
    calls = [];
    expect((await stock.set(SKU, 10)).outcome).toBe('created');
  });

  const deps = (): SweepDeps => ({ orders, events: bus, clock });

  /** What repair-order.ts's repair() does, with the deps built here instead of from the environment. */
  async function repair(input: RepairInput): Promise<SweepItemResult> {
    if (!SWEEP_ACTIONS.includes(input?.action) || typeof input?.orderId !== 'string') throw new Error(`repair needs {action, orderId}, got ${JSON.stringify(input)}`);
    switch (input.action) {
      case 'republish':
        return republishOrFlag(input.orderId, settings, deps());
      case 'expire':
        return expireReservation(input.orderId, deps());
    }
  }

  function handlers(): TaskHandlers {
    const bound = <I, O>(state: string, fn: (input: I) => Promise<O> | O) =>
      asLambda<I, O>((input) => {
        calls.push({ state, input });
        return fn(input);
      });
    return {
      // find-work.ts: the input is ignored.
      FindWork: bound('FindWork', () => findWork(settings, deps())),
      ...Object.fromEntries(SWEEP_ACTIONS.map((action) => [`Repair-${action}`, bound(`Repair-${action}`, repair)])),
      // summarise.ts: the branches' results, flattened.
      Summarise: bound('Summarise', (input: { results?: Parameters<typeof summarise>[0][] }) => summarise((input?.results ?? []).flat())),
    };
  }

  const sweep = () => runLocally<SweepSummary>(definition, {}, handlers());

  const ago = (ms: number) => new Date(clock.now().getTime() - ms);
  const isoAgo = (ms: number) => ago(ms).toISOString();
  /** A little past a threshold, or a little short of it. */
  const past = (seconds: number) => isoAgo(seconds * SECOND + SECOND);
  const short = (seconds: number) => isoAgo(seconds * SECOND - 10 * SECOND);

  /** A PENDING order, as the API stores it, created at `at`. */
  async function place(orderId: string, at: string, items: OrderLine[] = LINES): Promise<void> {
    const order: StoredOrder = { orderId, customerId: 'cust-1', status: 'PENDING', items, createdAt: at, updatedAt: at, statusChangedAt: at, requestHash: 'hash', correlationId: `corr-${orderId}` };
    expect(await orders.create(order)).toBe('created');
  }

  /** The inventory consumer handling the order's OrderPlaced at `at`: it reserves the stock (or rejects the order). */
  async function inventoryAnswers(orderId: string, at: Date) {
    const placed = eventForStatus(await stored(orderId), at);
    if (placed?.type !== 'OrderPlaced') throw new Error(`${orderId} owes no OrderPlaced`);
    return reserveOrder(placed.detail, { orders, clock: new ManualClock(at), paymentWindowSeconds });
  }

  /** Placed, then reserved by the inventory consumer at `reservedAt` (its deadline: the template's payment window later). */
  async function reserved(orderId: string, reservedAt: Date): Promise<void> {
    await place(orderId, new Date(reservedAt.getTime() - SECOND).toISOString());
    expect(await inventoryAnswers(orderId, reservedAt)).toEqual({ action: 'reserved' });
  }

  /** Reserved so long ago that its payment deadline passed a minute ago. */
  const overdue = (orderId: string) => reserved(orderId, ago(paymentWindowSeconds * SECOND + MINUTE));

  const stored = async (orderId: string) => {
    const order = await orders.get(orderId);
    if (!order) throw new Error(`${orderId} is gone`);
    return order;
  };
  const level = async () => {
    const { available, reserved: held, sold } = (await stock.get(SKU))!;
    return { available, reserved: held, sold };
  };
  const published = () => bus.published.map((e) => ({ type: e.type, orderId: e.detail.orderId }));
  const callsTo = (state: string, orderId?: string) => calls.filter((c) => c.state === state && (orderId === undefined || (c.input as { orderId?: string }).orderId === orderId)).length;
  const byOrder = (x: { orderId: string; type: string }, y: { orderId: string; type: string }) => x.orderId.localeCompare(y.orderId) || x.type.localeCompare(y.type);

  /**
   * The orders table's stream so far, filtered as the relay's event source mapping filters it, then relayed by
   * the relay's own code: what reaches the bus from the table.
   */
  async function relay() {
    const records = await streamRecords(db, names[tableIds.orders]);
    const handed = records.filter((r) => delivers(relayMapping, r));
    const relayBus = new RecordingPublisher();
    const outcome = await relayChanges(
      handed.map((r) => changeRecord(r as unknown as DynamoDBRecord)),
      { events: relayBus, clock, deadLetter: async (_record, reason) => { throw new Error(`the relay dead-lettered a record: ${reason}`); } },
    );
    expect(outcome.failedFrom).toBeUndefined();
    const orderOf = (r: (typeof records)[number]) => (r.dynamodb?.Keys as Record<string, { S?: string }>)?.orderId?.S;
    return {
      /** Stream records per order, and how many of them the filters hand the relay. */
      records: (orderId: string) => records.filter((r) => orderOf(r) === orderId).length,
      handed: (orderId: string) => handed.filter((r) => orderOf(r) === orderId).length,
      events: relayBus.published,
      published: relayBus.published.map((e) => ({ type: e.type, orderId: e.detail.orderId })).sort(byOrder),
    };
  }

  describe('the synthesized definition', () => {
    it('is valid ASL (asl-validator) and binds each Task state to the function whose code it runs here', () => {
      const { isValid, errorsText } = aslValidator(structuredClone(definition));
      expect(errorsText('\n')).toBe('');
      expect(isValid).toBe(true);
      expect(definition.StartAt).toBe('FindWork');
      expect(functionOf).toEqual({
        FindWork: logicalIds.findWork,
        ...Object.fromEntries(SWEEP_ACTIONS.map((action) => [`Repair-${action}`, logicalIds.repairOrder])),
        Summarise: logicalIds.summarise,
      });
      expect(Object.keys(handlers()).sort()).toEqual(Object.keys(functionOf).sort());
    });

    it('names the tables made here: the sweep functions point at the orders table with the stream the relay reads', () => {
      expect(tableIds.orders).toBe(logicalId(stack.tables.orders));
      expect(tableIds.inventory).toBe(logicalId(stack.tables.inventory));
      expect(relayMapping.Properties.EventSourceArn).toEqual({ 'Fn::GetAtt': [tableIds.orders, 'StreamArn'] });
    });
  });

  it('1. nothing to do: empty tables give an empty summary and touch nothing', async () => {
    const { output } = await sweep();

    expect(output).toEqual({ found: found(), outcomes: {}, failed: 0, failures: [] });
    expect(callsTo('FindWork')).toBe(1);
    expect(callsTo('Summarise')).toBe(1);
    expect(calls.filter((c) => c.state.startsWith('Repair-'))).toEqual([]);
    expect(bus.published).toEqual([]);
    expect(await level()).toEqual({ available: 10, reserved: 0, sold: 0 });
  });

  it('2. settled orders (paid, rejected, cancelled) are not the sweep\'s work however old: they have left the open-orders index', async () => {
    const long = 10 * paymentWindowSeconds * SECOND;
    await reserved('ord-paid', ago(long));
    await confirmPayment('ord-paid', { paymentId: 'pay-1' }, caller, { orders, events: bus, clock: new ManualClock(ago(long - MINUTE)) });
    await place('ord-rejected', isoAgo(long), [{ sku: 'sku-unknown', quantity: 1 }]);
    expect(await inventoryAnswers('ord-rejected', ago(long - SECOND))).toMatchObject({ action: 'rejected', reason: 'UNKNOWN_SKU' });
    await place('ord-cancelled', isoAgo(long));
    expect(await orders.transition({ orderId: 'ord-cancelled', from: ['PENDING'], to: 'CANCELLED', at: ago(long - SECOND), set: { cancellation: { reason: 'CUSTOMER' } } })).toMatchObject({ ok: true });
    const before = await Promise.all(['ord-paid', 'ord-rejected', 'ord-cancelled'].map(stored));
    bus.published.length = 0;

    const { output } = await sweep();

    expect(output).toEqual({ found: found(), outcomes: {}, failed: 0, failures: [] });
    expect(calls.filter((c) => c.state.startsWith('Repair-'))).toEqual([]);
    expect(await Promise.all(['ord-paid', 'ord-rejected', 'ord-cancelled'].map(stored))).toEqual(before);
    expect(bus.published).toEqual([]);
    expect(await level()).toEqual({ available: 8, reserved: 0, sold: 2 });
  });

  it('3. (b) re-publishes a stale PENDING order once per run, and flags it NEEDS_ATTENTION after maxRepublishAttempts runs', async () => {
    const { stalePendingAfterSeconds, maxRepublishAttempts } = settings;
    await place('ord-stuck', past(stalePendingAfterSeconds));
    await place('ord-young', short(stalePendingAfterSeconds));

    const first = await sweep();
    expect(first.output).toEqual({ found: found({ republish: 1 }), outcomes: { 'republish:republished': 1 }, failed: 0, failures: [] });
    expect(await stored('ord-stuck')).toMatchObject({ status: 'PENDING', republishCount: 1 });
    expect(published()).toEqual([{ type: 'OrderPlaced', orderId: 'ord-stuck' }]);
    expect(bus.published[0].detail.eventId).toBe('ord-stuck:OrderPlaced');
    // Not stale yet: left alone. Inventory then answers for it, so it leaves PENDING before it would become stale.
    expect(callsTo('Repair-republish', 'ord-young')).toBe(0);
    expect((await stored('ord-young')).republishCount).toBeUndefined();
    expect(await inventoryAnswers('ord-young', clock.now())).toEqual({ action: 'reserved' });

    for (let n = 2; n <= maxRepublishAttempts; n++) {
      clock.advance(5 * MINUTE);
      const { output } = await sweep();
      expect(output).toEqual({ found: found({ republish: 1 }), outcomes: { 'republish:republished': 1 }, failed: 0, failures: [] });
      expect(await stored('ord-stuck')).toMatchObject({ status: 'PENDING', republishCount: n });
    }
    expect(published()).toEqual(Array.from({ length: maxRepublishAttempts }, () => ({ type: 'OrderPlaced', orderId: 'ord-stuck' })));

    clock.advance(5 * MINUTE);
    const last = await sweep();
    expect(last.output).toEqual({ found: found({ republish: 1 }), outcomes: { 'republish:needs-attention': 1 }, failed: 0, failures: [] });
    expect(await stored('ord-stuck')).toMatchObject({ status: 'NEEDS_ATTENTION', republishCount: maxRepublishAttempts, statusChangedAt: clock.now().toISOString() });
    expect(bus.published).toHaveLength(maxRepublishAttempts);

    // A flagged order is no longer the sweep's work.
    clock.advance(5 * MINUTE);
    const after = await sweep();
    expect(after.output).toEqual({ found: found(), outcomes: {}, failed: 0, failures: [] });
    expect((await stored('ord-stuck')).status).toBe('NEEDS_ATTENTION');
    expect(bus.published).toHaveLength(maxRepublishAttempts);

    // The stream: each re-publish count and the flag are records too, but the relay's filters hand it only the
    // creation (its one OrderPlaced); the young order's creation and reservation go out as theirs.
    const relayed = await relay();
    expect(relayed.records('ord-stuck')).toBe(1 + maxRepublishAttempts + 1);
    expect(relayed.handed('ord-stuck')).toBe(1);
    expect(relayed.published).toEqual([
      { type: 'OrderPlaced', orderId: 'ord-stuck' },
      { type: 'InventoryReserved', orderId: 'ord-young' },
      { type: 'OrderPlaced', orderId: 'ord-young' },
    ]);
  });

  it('3b. (b) a bus failure while re-publishing is retried by the state machine without using up an attempt', async () => {
    await place('ord-stuck', past(settings.stalePendingAfterSeconds));
    bus.failNext = 2; // PublishError twice, as PutEvents would: the Retry's third try goes through

    const { output } = await sweep();

    expect(callsTo('Repair-republish', 'ord-stuck')).toBe(3);
    expect(output).toEqual({ found: found({ republish: 1 }), outcomes: { 'republish:republished': 1 }, failed: 0, failures: [] });
    expect(published()).toEqual([{ type: 'OrderPlaced', orderId: 'ord-stuck' }]);
    // One re-publish went out, so one attempt is used.
    expect(await stored('ord-stuck')).toMatchObject({ status: 'PENDING', republishCount: 1 });
  });

  it('4. (c) cancels a RESERVED order past its payment deadline with PAYMENT_TIMEOUT and gives its stock back in the same write; the stream publishes OrderCancelled', async () => {
    await overdue('ord-overdue');
    await reserved('ord-due-later', ago(5 * MINUTE));
    expect(await level()).toEqual({ available: 6, reserved: 4, sold: 0 });
    const untouched = await stored('ord-due-later');

    const { output } = await sweep();

    expect(output).toEqual({ found: found({ expire: 1 }), outcomes: { 'expire:cancelled': 1 }, failed: 0, failures: [] });
    expect(await stored('ord-overdue')).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' }, statusChangedAt: clock.now().toISOString() });
    // The overdue order's two units are available again; the one due later still holds its two.
    expect(await level()).toEqual({ available: 8, reserved: 2, sold: 0 });
    expect(await stored('ord-due-later')).toEqual(untouched);
    expect(callsTo('Repair-expire', 'ord-due-later')).toBe(0);
    // The sweep itself publishes nothing for an expiry: the cancellation's stream record is its event's source.
    expect(bus.published).toEqual([]);
    const relayed = await relay();
    const cancelled = relayed.events.filter((e) => e.type === 'OrderCancelled');
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]).toMatchObject({ detail: { orderId: 'ord-overdue', reason: 'PAYMENT_TIMEOUT', eventId: 'ord-overdue:OrderCancelled', items: LINES } });
  });

  it('4b. (c) an expiry whose held stock is not there fails as a whole: retried, caught and counted, the order stays RESERVED', async () => {
    await overdue('ord-overdue');
    // Its held units vanish behind the pipeline's back (a bad manual edit): the release cannot apply.
    await db.client.send(new UpdateCommand({ TableName: names[tableIds.inventory], Key: { [INVENTORY_TABLE.partitionKey]: SKU }, UpdateExpression: 'SET reserved = :zero', ExpressionAttributeValues: { ':zero': 0 } }));
    const before = await stored('ord-overdue');
    const repairExpire = allStates(definition).find(([name]) => name === 'Repair-expire')![1];

    const { output } = await sweep();

    expect(callsTo('Repair-expire', 'ord-overdue')).toBe(catchAllAttempts(repairExpire));
    expect(output).toEqual({ found: found({ expire: 1 }), outcomes: {}, failed: 1, failures: [{ orderId: 'ord-overdue', action: 'expire', error: 'Error' }] });
    // One transaction: neither the order nor the stock changed.
    expect(await stored('ord-overdue')).toEqual(before);
    expect(await level()).toEqual({ available: 8, reserved: 0, sold: 0 });
    expect((await relay()).published.filter((e) => e.type === 'OrderCancelled')).toEqual([]);
  });

  it('5. one order that fails every time is retried, caught and counted; the others in the run are repaired and the execution succeeds', async () => {
    const { stalePendingAfterSeconds } = settings;
    for (const id of ['ord-a', 'ord-broken', 'ord-c']) await place(id, past(stalePendingAfterSeconds));
    await overdue('ord-overdue');
    bus.brokenFor.add('ord-broken');
    const repairRepublish = allStates(definition).find(([name]) => name === 'Repair-republish')![1];
    const attempts = catchAllAttempts(repairRepublish);
    expect(attempts).toBe(4); // one try and MaxAttempts 3 of the States.ALL retrier
    expect(retryPausesMs(repairRepublish)).toBe(7000); // IntervalSeconds 1, BackoffRate 2: 1 s + 2 s + 4 s

    const { output, events, elapsedMs } = await sweep();

    // The Retry: every attempt reached the function; the others were repaired with one call each.
    expect(callsTo('Repair-republish', 'ord-broken')).toBe(attempts);
    expect(callsTo('Repair-republish', 'ord-a')).toBe(1);
    expect(callsTo('Repair-republish', 'ord-c')).toBe(1);
    expect(events.filter((e) => e.type === 'StateRetried' && e.state.name === 'Repair-republish')).toHaveLength(attempts - 1);
    expect(events.filter((e) => e.type === 'StateCaught').map((e) => e.state.name)).toEqual(['Repair-republish']);
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
    // The retry pauses in the definition (1 s, 2 s, 4 s) were overridden: the whole run took less than they add up to.
    expect(elapsedMs).toBeLessThan(retryPausesMs(repairRepublish));

    // The Catch: the failure is in the summary, with what Lambda reports as its error.
    expect(output).toEqual({
      found: found({ republish: 3, expire: 1 }),
      outcomes: { 'republish:republished': 2, 'expire:cancelled': 1 },
      failed: 1,
      failures: [{ orderId: 'ord-broken', action: 'republish', error: 'TypeError' }],
    });

    // The table and the bus: the others went through; the broken one used no attempt (publish first, count after).
    expect(published().sort(byOrder)).toEqual([
      { type: 'OrderPlaced', orderId: 'ord-a' },
      { type: 'OrderPlaced', orderId: 'ord-c' },
    ]);
    expect((await stored('ord-a')).republishCount).toBe(1);
    expect((await stored('ord-c')).republishCount).toBe(1);
    expect((await stored('ord-broken')).republishCount).toBeUndefined();
    expect((await stored('ord-overdue')).status).toBe('CANCELLED');

    // Once the bus works again, the next sweep re-publishes it too (all three are still PENDING, and the copies
    // published have had their time).
    bus.brokenFor.clear();
    clock.advance(stalePendingAfterSeconds * SECOND);
    const next = await sweep();
    expect(next.output).toEqual({ found: found({ republish: 3 }), outcomes: { 'republish:republished': 3 }, failed: 0, failures: [] });
    expect((await stored('ord-broken')).republishCount).toBe(1);
    expect((await stored('ord-a')).republishCount).toBe(2);
  });

  it('6. both kinds of work in one run, and only those orders touched', async () => {
    const { stalePendingAfterSeconds } = settings;
    await place('ord-stuck', past(stalePendingAfterSeconds));
    await place('ord-young', short(stalePendingAfterSeconds));
    await overdue('ord-overdue');
    await reserved('ord-due-later', ago(MINUTE));
    await reserved('ord-paid', ago(2 * paymentWindowSeconds * SECOND));
    await confirmPayment('ord-paid', { paymentId: 'pay-1' }, caller, { orders, events: bus, clock: new ManualClock(ago(2 * paymentWindowSeconds * SECOND - MINUTE)) });
    bus.published.length = 0;
    const untouched = await Promise.all(['ord-young', 'ord-due-later', 'ord-paid'].map(stored));

    const { output } = await sweep();

    expect(output).toEqual({ found: found({ republish: 1, expire: 1 }), outcomes: { 'republish:republished': 1, 'expire:cancelled': 1 }, failed: 0, failures: [] });
    expect(calls.filter((c) => c.state.startsWith('Repair-')).map((c) => `${c.state} ${(c.input as RepairInput).orderId}`).sort()).toEqual([
      'Repair-expire ord-overdue',
      'Repair-republish ord-stuck',
    ]);
    expect(published()).toEqual([{ type: 'OrderPlaced', orderId: 'ord-stuck' }]);
    expect(await stored('ord-stuck')).toMatchObject({ status: 'PENDING', republishCount: 1 });
    expect(await stored('ord-overdue')).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' } });
    expect(await Promise.all(['ord-young', 'ord-due-later', 'ord-paid'].map(stored))).toEqual(untouched);
    // Started with 10; the paid order sold 2, the one due later holds 2, the expired one's 2 are back.
    expect(await level()).toEqual({ available: 6, reserved: 2, sold: 2 });
  });
});
