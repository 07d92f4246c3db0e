/**
 * The compensation sweep as deployed: the state machine definition synthesized from the CDK app, run locally by
 * aws-local-stepfunctions, its Task states bound to the sweep's real domain code on DynamoDB Local tables. Each scenario
 * checks the execution's output (the summary) and what the sweep did to the orders table and the bus.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { buildApp } from '../../lib/app-builder';
import { DynamoDbOrderRepository } from '../../functions/adapters/dynamodb-order-repository';
import { PipelineEvent } from '../../functions/domain/events';
import { StoredOrder } from '../../functions/domain/ports';
import {
  expireReservation,
  findWork,
  publishUnpublished,
  republishOrFlag,
  summarise,
  SWEEP_ACTIONS,
  SweepDeps,
  SweepItemResult,
  SweepSettings,
  SweepSummary,
} from '../../functions/domain/sweep';
import { ENV } from '../../functions/shared/env';
import type { RepairInput } from '../../functions/sweep/repair-order';
import { LocalTables, startLocalTables } from '../support/local-tables';
import { ManualClock, RecordingPublisher } from '../support/recording-publisher';
import { allStates, asLambda, catchAllAttempts, Definition, functionLogicalId, retryPausesMs, runLocally, synthesizedDefinition, TaskHandlers } from '../support/sfn-local';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

interface Synthesized {
  definition: Definition;
  /** The function each Task state invokes, by the logical id of its AWS::Lambda::Function. */
  functionOf: Record<string, string>;
  logicalIds: { findWork: string; repairOrder: string; summarise: string };
  /** As the sweep's Lambda functions read them from their environment in the template. */
  settings: SweepSettings;
}

function synthesize(): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = buildApp(app);
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const { sweep } = stack;
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnFunction | CfnStateMachine);
  const definition = synthesizedDefinition(template, logicalId(sweep.stateMachine));
  const functionOf = Object.fromEntries(
    allStates(definition)
      .filter(([, s]) => s.Type === 'Task')
      .map(([name, s]) => [name, functionLogicalId(s.Resource as string)]),
  );
  const logicalIds = { findWork: logicalId(sweep.functions.findWork), repairOrder: logicalId(sweep.functions.repairOrder), summarise: logicalId(sweep.functions.summarise) };
  const env = (id: string) => (template.Resources[id].Properties as { Environment: { Variables: Record<string, string> } }).Environment.Variables;
  const num = (id: string, name: string) => {
    const value = Number(env(id)[name]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${id} has no usable ${name}`);
    return value;
  };
  const settings: SweepSettings = {
    unpublishedAfterSeconds: num(logicalIds.findWork, ENV.sweepUnpublishedAfterSeconds),
    stalePendingAfterSeconds: num(logicalIds.findWork, ENV.sweepStalePendingAfterSeconds),
    maxOrdersPerRun: num(logicalIds.findWork, ENV.sweepMaxOrdersPerRun),
    maxRepublishAttempts: num(logicalIds.repairOrder, ENV.sweepMaxRepublishAttempts),
  };
  return { definition, functionOf, logicalIds, settings };
}

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

describe('compensation sweep state machine (synthesized definition, run locally)', () => {
  let sm: Synthesized;
  let tables: LocalTables;
  let orders: DynamoDbOrderRepository;
  let bus: BrokenForSomeOrders;
  let clock: ManualClock;
  /** Every Task invocation, in order, with the input it was given. */
  let calls: { state: string; input: unknown }[];

  beforeAll(() => {
    sm = synthesize();
  }, 30_000);

  beforeEach(async () => {
    tables = await startLocalTables();
    orders = new DynamoDbOrderRepository(tables.client, tables.names.orders);
    bus = new BrokenForSomeOrders();
    clock = new ManualClock();
    calls = [];
  });

  afterEach(async () => {
    await tables.stop();
  });

  const deps = (): SweepDeps => ({ orders, events: bus, clock });

  /** What repair-order.ts's repair() does, with the deps built here instead of from the environment. */
  async function repair(input: RepairInput): Promise<SweepItemResult> {
    if (!SWEEP_ACTIONS.includes(input?.action) || typeof input?.orderId !== 'string') throw new Error(`repair needs {action, orderId}, got ${JSON.stringify(input)}`);
    switch (input.action) {
      case 'publish':
        return publishUnpublished(input.orderId, deps());
      case 'republish':
        return republishOrFlag(input.orderId, sm.settings.maxRepublishAttempts, deps());
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
      FindWork: bound('FindWork', () => findWork(sm.settings, deps())),
      ...Object.fromEntries(SWEEP_ACTIONS.map((action) => [`Repair-${action}`, bound(`Repair-${action}`, repair)])),
      // summarise.ts: the branches' results, flattened.
      Summarise: bound('Summarise', (input: { results?: Parameters<typeof summarise>[0][] }) => summarise((input?.results ?? []).flat())),
    };
  }

  const sweep = () => runLocally<SweepSummary>(sm.definition, {}, handlers());

  const isoAgo = (ms: number) => new Date(clock.now().getTime() - ms).toISOString();

  async function store(orderId: string, fields: Partial<StoredOrder> & { statusChangedAt: string }): Promise<void> {
    const order: StoredOrder = {
      orderId,
      customerId: 'cust-1',
      status: 'PENDING',
      items: [{ sku: 'sku-1', quantity: 2 }],
      createdAt: fields.statusChangedAt,
      updatedAt: fields.statusChangedAt,
      requestHash: 'hash',
      inFlightUntil: fields.statusChangedAt,
      correlationId: `corr-${orderId}`,
      ...fields,
    };
    expect(await orders.create(order)).toBe('created');
  }

  const stored = async (orderId: string) => {
    const order = await orders.get(orderId);
    if (!order) throw new Error(`${orderId} is gone`);
    return order;
  };
  const published = () => bus.published.map((e) => ({ type: e.type, orderId: e.detail.orderId }));
  const callsTo = (state: string, orderId?: string) => calls.filter((c) => c.state === state && (orderId === undefined || (c.input as { orderId?: string }).orderId === orderId)).length;

  /** Stored a little past each threshold, or a little short of it. */
  const past = (seconds: number) => isoAgo(seconds * SECOND + SECOND);
  const short = (seconds: number) => isoAgo(seconds * SECOND - 10 * SECOND);

  describe('the synthesized definition', () => {
    it('is valid ASL (asl-validator) and binds each Task state to the function whose code it runs here', () => {
      const { isValid, errorsText } = aslValidator(structuredClone(sm.definition));
      expect(errorsText('\n')).toBe('');
      expect(isValid).toBe(true);
      expect(sm.definition.StartAt).toBe('FindWork');
      expect(sm.functionOf).toEqual({
        FindWork: sm.logicalIds.findWork,
        'Repair-publish': sm.logicalIds.repairOrder,
        'Repair-republish': sm.logicalIds.repairOrder,
        'Repair-expire': sm.logicalIds.repairOrder,
        Summarise: sm.logicalIds.summarise,
      });
      expect(Object.keys(handlers()).sort()).toEqual(Object.keys(sm.functionOf).sort());
    });
  });

  it('1. nothing to do: empty tables give an empty summary and touch nothing', async () => {
    const { output } = await sweep();

    expect(output).toEqual({ found: { publish: 0, republish: 0, expire: 0 }, outcomes: {}, failed: 0, failures: [] });
    expect(callsTo('FindWork')).toBe(1);
    expect(callsTo('Summarise')).toBe(1);
    expect(calls.filter((c) => c.state.startsWith('Repair-'))).toEqual([]);
    expect(bus.published).toEqual([]);
  });

  it('2. (a) publishes the event an order owes once its mark is older than unpublishedAfterSeconds, and clears the mark', async () => {
    const { unpublishedAfterSeconds } = sm.settings;
    await store('ord-unpublished', { status: 'PENDING', unpublishedEvent: 'OrderPlaced', statusChangedAt: past(unpublishedAfterSeconds) });
    await store('ord-cancelled-unpublished', { status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' }, unpublishedEvent: 'OrderCancelled', statusChangedAt: past(unpublishedAfterSeconds) });
    await store('ord-marked-just-now', { status: 'PENDING', unpublishedEvent: 'OrderPlaced', statusChangedAt: short(unpublishedAfterSeconds) });

    const { output } = await sweep();

    expect(output).toEqual({ found: { publish: 2, republish: 0, expire: 0 }, outcomes: { 'publish:published': 2 }, failed: 0, failures: [] });
    expect(calls.filter((c) => c.state === 'Repair-publish').map((c) => c.input)).toEqual(
      expect.arrayContaining([
        { action: 'publish', orderId: 'ord-unpublished' },
        { action: 'publish', orderId: 'ord-cancelled-unpublished' },
      ]),
    );
    expect(published()).toEqual(
      expect.arrayContaining([
        { type: 'OrderPlaced', orderId: 'ord-unpublished' },
        { type: 'OrderCancelled', orderId: 'ord-cancelled-unpublished' },
      ]),
    );
    expect(bus.published).toHaveLength(2);
    const placed = bus.published.find((e) => e.type === 'OrderPlaced')!;
    expect(placed.detail).toMatchObject({ eventId: 'ord-unpublished:OrderPlaced', customerId: 'cust-1', correlationId: 'corr-ord-unpublished', items: [{ sku: 'sku-1', quantity: 2 }] });
    expect((await stored('ord-unpublished')).unpublishedEvent).toBeUndefined();
    expect((await stored('ord-unpublished')).status).toBe('PENDING');
    expect((await stored('ord-cancelled-unpublished')).unpublishedEvent).toBeUndefined();
    // Not yet due: still marked, nothing published for it.
    expect((await stored('ord-marked-just-now')).unpublishedEvent).toBe('OrderPlaced');
  });

  it('3. (b) re-publishes a stale PENDING order once per run, and flags it NEEDS_ATTENTION after maxRepublishAttempts runs', async () => {
    const { stalePendingAfterSeconds, maxRepublishAttempts } = sm.settings;
    await store('ord-stuck', { status: 'PENDING', statusChangedAt: past(stalePendingAfterSeconds) });
    await store('ord-young', { status: 'PENDING', statusChangedAt: short(stalePendingAfterSeconds) });

    const first = await sweep();
    expect(first.output).toEqual({ found: { publish: 0, republish: 1, expire: 0 }, outcomes: { 'republish:republished': 1 }, failed: 0, failures: [] });
    expect(await stored('ord-stuck')).toMatchObject({ status: 'PENDING', republishCount: 1 });
    expect(published()).toEqual([{ type: 'OrderPlaced', orderId: 'ord-stuck' }]);
    expect(bus.published[0].detail.eventId).toBe('ord-stuck:OrderPlaced');
    // Not stale yet: left alone. Inventory then answers for it, so it leaves PENDING before it would become stale.
    expect(callsTo('Repair-republish', 'ord-young')).toBe(0);
    expect((await stored('ord-young')).republishCount).toBeUndefined();
    await orders.transition({ orderId: 'ord-young', from: ['PENDING'], to: 'RESERVED', at: clock.now(), set: { paymentDeadline: isoAgo(-30 * MINUTE) } });

    for (let run = 2; run <= maxRepublishAttempts; run++) {
      clock.advance(5 * MINUTE);
      const { output } = await sweep();
      expect(output).toEqual({ found: { publish: 0, republish: 1, expire: 0 }, outcomes: { 'republish:republished': 1 }, failed: 0, failures: [] });
      expect(await stored('ord-stuck')).toMatchObject({ status: 'PENDING', republishCount: run });
    }
    expect(published()).toEqual(Array.from({ length: maxRepublishAttempts }, () => ({ type: 'OrderPlaced', orderId: 'ord-stuck' })));

    clock.advance(5 * MINUTE);
    const last = await sweep();
    expect(last.output).toEqual({ found: { publish: 0, republish: 1, expire: 0 }, outcomes: { 'republish:needs-attention': 1 }, failed: 0, failures: [] });
    expect(await stored('ord-stuck')).toMatchObject({ status: 'NEEDS_ATTENTION', republishCount: maxRepublishAttempts, statusChangedAt: clock.now().toISOString() });
    expect(bus.published).toHaveLength(maxRepublishAttempts);

    // A flagged order is no longer the sweep's work.
    clock.advance(5 * MINUTE);
    const after = await sweep();
    expect(after.output).toEqual({ found: { publish: 0, republish: 0, expire: 0 }, outcomes: {}, failed: 0, failures: [] });
    expect((await stored('ord-stuck')).status).toBe('NEEDS_ATTENTION');
    expect(bus.published).toHaveLength(maxRepublishAttempts);
  });

  it('3b. (b) a bus failure while re-publishing is retried by the state machine without using up an attempt', async () => {
    await store('ord-stuck', { status: 'PENDING', statusChangedAt: past(sm.settings.stalePendingAfterSeconds) });
    bus.failNext = 2; // PublishError twice, as PutEvents would: the Retry's third try goes through

    const { output } = await sweep();

    expect(callsTo('Repair-republish', 'ord-stuck')).toBe(3);
    expect(output).toEqual({ found: { publish: 0, republish: 1, expire: 0 }, outcomes: { 'republish:republished': 1 }, failed: 0, failures: [] });
    expect(published()).toEqual([{ type: 'OrderPlaced', orderId: 'ord-stuck' }]);
    // One re-publish went out, so one attempt is used.
    expect(await stored('ord-stuck')).toMatchObject({ status: 'PENDING', republishCount: 1 });
  });

  it('4. (c) cancels a RESERVED order past its payment deadline with PAYMENT_TIMEOUT and publishes OrderCancelled; one not yet due is untouched', async () => {
    await store('ord-overdue', { status: 'RESERVED', statusChangedAt: isoAgo(31 * MINUTE), paymentDeadline: isoAgo(MINUTE) });
    await store('ord-due-later', { status: 'RESERVED', statusChangedAt: isoAgo(5 * MINUTE), paymentDeadline: isoAgo(-25 * MINUTE) });
    const untouched = await stored('ord-due-later');

    const { output } = await sweep();

    expect(output).toEqual({ found: { publish: 0, republish: 0, expire: 1 }, outcomes: { 'expire:cancelled': 1 }, failed: 0, failures: [] });
    expect(await stored('ord-overdue')).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' }, statusChangedAt: clock.now().toISOString() });
    expect(bus.published).toHaveLength(1);
    expect(bus.published[0]).toMatchObject({ type: 'OrderCancelled', detail: { orderId: 'ord-overdue', reason: 'PAYMENT_TIMEOUT', eventId: 'ord-overdue:OrderCancelled', items: [{ sku: 'sku-1', quantity: 2 }] } });
    expect(await stored('ord-due-later')).toEqual(untouched);
    expect(callsTo('Repair-expire', 'ord-due-later')).toBe(0);
  });

  it('5. one order that fails every time is retried, caught and counted; the others in the run are repaired and the execution succeeds', async () => {
    const { unpublishedAfterSeconds } = sm.settings;
    for (const id of ['ord-a', 'ord-broken', 'ord-c']) await store(id, { status: 'PENDING', unpublishedEvent: 'OrderPlaced', statusChangedAt: past(unpublishedAfterSeconds) });
    await store('ord-overdue', { status: 'RESERVED', statusChangedAt: isoAgo(31 * MINUTE), paymentDeadline: isoAgo(MINUTE) });
    bus.brokenFor.add('ord-broken');
    const repairPublish = allStates(sm.definition).find(([name]) => name === 'Repair-publish')![1];
    const attempts = catchAllAttempts(repairPublish);
    expect(attempts).toBe(4); // one try and MaxAttempts 3 of the States.ALL retrier
    expect(retryPausesMs(repairPublish)).toBe(7000); // IntervalSeconds 1, BackoffRate 2: 1 s + 2 s + 4 s

    const { output, events, elapsedMs } = await sweep();

    // The Retry: every attempt reached the function; the others were repaired with one call each.
    expect(callsTo('Repair-publish', 'ord-broken')).toBe(attempts);
    expect(callsTo('Repair-publish', 'ord-a')).toBe(1);
    expect(callsTo('Repair-publish', 'ord-c')).toBe(1);
    expect(events.filter((e) => e.type === 'StateRetried' && e.state.name === 'Repair-publish')).toHaveLength(attempts - 1);
    expect(events.filter((e) => e.type === 'StateCaught').map((e) => e.state.name)).toEqual(['Repair-publish']);
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
    // The retry pauses in the definition (1 s, 2 s, 4 s) were overridden: the whole run took less than they add up to.
    expect(elapsedMs).toBeLessThan(retryPausesMs(repairPublish));

    // The Catch: the failure is in the summary, with what Lambda reports as its error.
    expect(output).toMatchObject({
      found: { publish: 3, republish: 0, expire: 1 },
      outcomes: { 'publish:published': 2, 'expire:cancelled': 1 },
      failed: 1,
      failures: [{ orderId: 'ord-broken', action: 'publish', error: 'TypeError' }],
    });

    // The table and the bus: the others went through; the broken one keeps its mark for the next sweep.
    expect(published()).toEqual(
      expect.arrayContaining([
        { type: 'OrderPlaced', orderId: 'ord-a' },
        { type: 'OrderPlaced', orderId: 'ord-c' },
        { type: 'OrderCancelled', orderId: 'ord-overdue' },
      ]),
    );
    expect(bus.published).toHaveLength(3);
    expect((await stored('ord-a')).unpublishedEvent).toBeUndefined();
    expect((await stored('ord-c')).unpublishedEvent).toBeUndefined();
    expect((await stored('ord-broken')).unpublishedEvent).toBe('OrderPlaced');
    expect((await stored('ord-overdue')).status).toBe('CANCELLED');

    // Once the bus works again, a later sweep publishes it (a minute on, before the others could turn stale).
    bus.brokenFor.clear();
    clock.advance(MINUTE);
    const next = await sweep();
    expect(next.output).toEqual({ found: { publish: 1, republish: 0, expire: 0 }, outcomes: { 'publish:published': 1 }, failed: 0, failures: [] });
    expect((await stored('ord-broken')).unpublishedEvent).toBeUndefined();
  });

  it('6. all three kinds of work in one run', async () => {
    const { unpublishedAfterSeconds, stalePendingAfterSeconds } = sm.settings;
    await store('ord-unpublished', { status: 'PENDING', unpublishedEvent: 'OrderPlaced', statusChangedAt: past(unpublishedAfterSeconds) });
    await store('ord-stuck', { status: 'PENDING', statusChangedAt: past(stalePendingAfterSeconds) });
    // Stale and unpublished: the publish branch owns it, the republish branch leaves it alone.
    await store('ord-stuck-unpublished', { status: 'PENDING', unpublishedEvent: 'OrderPlaced', statusChangedAt: past(stalePendingAfterSeconds) });
    await store('ord-overdue', { status: 'RESERVED', statusChangedAt: isoAgo(31 * MINUTE), paymentDeadline: isoAgo(MINUTE) });
    await store('ord-paid', { status: 'PAID', paymentId: 'pay-1', statusChangedAt: isoAgo(60 * MINUTE), paymentDeadline: isoAgo(40 * MINUTE) });

    const { output } = await sweep();

    expect(output).toEqual({
      found: { publish: 2, republish: 1, expire: 1 },
      outcomes: { 'publish:published': 2, 'republish:republished': 1, 'expire:cancelled': 1 },
      failed: 0,
      failures: [],
    });
    expect(calls.filter((c) => c.state.startsWith('Repair-')).map((c) => `${c.state} ${(c.input as RepairInput).orderId}`).sort()).toEqual([
      'Repair-expire ord-overdue',
      'Repair-publish ord-stuck-unpublished',
      'Repair-publish ord-unpublished',
      'Repair-republish ord-stuck',
    ]);
    expect(published().sort((x, y) => x.orderId.localeCompare(y.orderId))).toEqual([
      { type: 'OrderCancelled', orderId: 'ord-overdue' },
      { type: 'OrderPlaced', orderId: 'ord-stuck' },
      { type: 'OrderPlaced', orderId: 'ord-stuck-unpublished' },
      { type: 'OrderPlaced', orderId: 'ord-unpublished' },
    ]);
    expect((await stored('ord-unpublished')).unpublishedEvent).toBeUndefined();
    expect((await stored('ord-stuck-unpublished')).unpublishedEvent).toBeUndefined();
    expect((await stored('ord-stuck-unpublished')).republishCount).toBeUndefined();
    expect(await stored('ord-stuck')).toMatchObject({ status: 'PENDING', republishCount: 1 });
    expect(await stored('ord-overdue')).toMatchObject({ status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' } });
    expect(await stored('ord-paid')).toMatchObject({ status: 'PAID' });
  });
});
