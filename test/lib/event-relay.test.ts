/**
 * The event relay (lib/event-relay.ts): a function on the orders table's stream that publishes the event each
 * status change owes. Its event source mapping (order, retries, filters, failure destination), its function and
 * DLQ and its alarms, against EVENT_RELAY, EVENT_FOR_STATUS and the order's TRANSITIONS.
 */
import { Duration } from 'aws-cdk-lib';
import { marshall } from '@aws-sdk/util-dynamodb';
import { EVENT_RELAY, QUEUE_RETENTION_DAYS } from '../../lib/config';
import { ORDER_STATUSES, OrderStatus, TRANSITIONS } from '../../functions/domain/order';
import { StoredOrder } from '../../functions/domain/ports';
import { EVENT_FOR_STATUS, eventsForChange } from '../../functions/domain/status-events';
import { ENV } from '../../functions/shared/env';
import { alarmsOn, delivers, filterPatterns, firesAt, resources, targetOf } from './cfn';
import { logicalIdOf, synth } from './synth';

const { stack, template } = synth();
const relayFn = logicalIdOf(stack, stack.relay.function);
const relayDlq = logicalIdOf(stack, stack.relay.deadLetterQueue);
const ordersTable = logicalIdOf(stack, stack.tables.orders);
const bus = logicalIdOf(stack, stack.events.bus);
const functions = resources(template, 'AWS::Lambda::Function');
const queues = resources(template, 'AWS::SQS::Queue');

/** The relay's event source mapping (exactly one). */
function relayMapping() {
  const found = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping')).filter((m) => targetOf(m.Properties.FunctionName) === relayFn);
  expect(found).toHaveLength(1);
  return found[0];
}

/** Statuses an order can only be created in (no transition enters them): their event is owed by the creation. */
const creationStatuses = ORDER_STATUSES.filter((s) => TRANSITIONS[s].length === 0);
/** Statuses owing an event that a modification can enter. */
const owedOnModify = (Object.keys(EVENT_FOR_STATUS) as OrderStatus[]).filter((s) => !creationStatuses.includes(s));

describe('its event source mapping', () => {
  test('reads the orders table stream from TRIM_HORIZON, with the batch size, window and parallelization of EVENT_RELAY', () => {
    const mapping = relayMapping();
    expect(mapping.Properties).toEqual(
      expect.objectContaining({
        EventSourceArn: { 'Fn::GetAtt': [ordersTable, 'StreamArn'] },
        // From the oldest record: nothing written before the mapping first polls is skipped.
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: EVENT_RELAY.batchSize,
        MaximumBatchingWindowInSeconds: EVENT_RELAY.maxBatchingWindow,
        ParallelizationFactor: EVENT_RELAY.parallelizationFactor,
      }),
    );
    expect(mapping.Properties.Enabled).not.toBe(false);
  });

  test("splits a failing batch, reports batch item failures, and sends what it gives up on to the relay's DLQ", () => {
    const { Properties } = relayMapping();
    expect(Properties.BisectBatchOnFunctionError).toBe(true);
    expect(Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(Properties.DestinationConfig).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': [relayDlq, 'Arn'] } } });
  });

  test('has no limit on attempts, and gives up on a record only while the stream still holds it', () => {
    const { Properties } = relayMapping();
    // Unset and -1 both mean no limit on attempts.
    expect([undefined, -1]).toContain(Properties.MaximumRetryAttempts);
    // Retried for hours, then the positions reach the DLQ while the stream (24 h) still holds the records.
    expect(Properties.MaximumRecordAgeInSeconds).toBe(EVENT_RELAY.maxRecordAgeHours * 3600);
    expect(EVENT_RELAY.maxRecordAgeHours).toBeLessThan(24);
  });

  test('filters: creations (INSERT), and modifications (MODIFY) whose new image is in a status owing an event other than the creation one', () => {
    expect(creationStatuses.length).toBeGreaterThan(0);
    expect(owedOnModify.length).toBeGreaterThan(0);
    const normalised = filterPatterns(relayMapping()).map((p: any) => (p.dynamodb?.NewImage?.status?.S ? { ...p, dynamodb: { NewImage: { status: { S: [...p.dynamodb.NewImage.status.S].sort() } } } } : p));
    expect(normalised).toEqual([
      { eventName: ['INSERT'] },
      { eventName: ['MODIFY'], dynamodb: { NewImage: { status: { S: [...owedOnModify].sort() } } } },
    ]);
  });

  describe('what the filters deliver (stream records built from orders in every status)', () => {
    const at = '2026-01-01T00:00:00.000Z';
    /** An order with every optional attribute, so that any status can build its event. */
    const order = (status: OrderStatus, extra: Partial<StoredOrder> = {}): StoredOrder => ({
      orderId: 'ord-1',
      customerId: 'cust-1',
      status,
      items: [{ sku: 'sku-1', quantity: 1 }],
      createdAt: at,
      updatedAt: at,
      statusChangedAt: at,
      paymentDeadline: at,
      paymentId: 'pay-1',
      rejection: { reason: 'OUT_OF_STOCK', sku: 'sku-1' },
      cancellation: { reason: 'CUSTOMER' },
      requestHash: 'hash',
      correlationId: 'corr-1',
      ...extra,
    });
    interface Change {
      label: string;
      eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
      before?: StoredOrder;
      after?: StoredOrder;
    }
    /** The record as Lambda filters it: DynamoDB JSON images under `dynamodb`. */
    const record = (c: Change) => ({
      eventName: c.eventName,
      eventSource: 'aws:dynamodb',
      dynamodb: {
        Keys: marshall({ orderId: (c.after ?? c.before)!.orderId }),
        ...(c.before ? { OldImage: marshall(c.before) } : {}),
        ...(c.after ? { NewImage: marshall(c.after) } : {}),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    const owes = (c: Change) => eventsForChange(c.before, c.after, new Date(at)).map((e) => e.type);

    const creations: Change[] = creationStatuses.map((s) => ({ label: `create ${s}`, eventName: 'INSERT', after: order(s) }));
    const transitions: Change[] = ORDER_STATUSES.flatMap((to) =>
      TRANSITIONS[to].map((from): Change => ({ label: `${from} -> ${to}`, eventName: 'MODIFY', before: order(from), after: order(to) })),
    );

    test('every creation and every allowed transition that owes an event is delivered, and together they owe every event EVENT_FOR_STATUS names', () => {
      const mapping = relayMapping();
      const owing = [...creations, ...transitions].filter((c) => owes(c).length > 0);
      expect(owing.length).toBeGreaterThan(0);
      expect(owing.filter((c) => !delivers(mapping, record(c))).map((c) => c.label)).toEqual([]);
      expect([...new Set(owing.flatMap(owes))].sort()).toEqual([...new Set(Object.values(EVENT_FOR_STATUS))].sort());
    });

    test('writes that owe nothing cost no invocation: transitions into a status owing no event, a republish count, a deletion', () => {
      const mapping = relayMapping();
      const pending = creationStatuses[0];
      const nothingOwed: Change[] = [
        ...transitions.filter((c) => !(c.after!.status in EVENT_FOR_STATUS)),
        { label: `republish count on ${pending}`, eventName: 'MODIFY', before: order(pending), after: order(pending, { republishCount: 1 }) },
        ...ORDER_STATUSES.map((s): Change => ({ label: `delete ${s}`, eventName: 'REMOVE', before: order(s) })),
      ];
      // A transition into NEEDS_ATTENTION (the sweep's flag) is among them.
      expect(nothingOwed.filter((c) => c.eventName === 'MODIFY' && c.before!.status !== c.after!.status).length).toBeGreaterThan(0);
      for (const c of nothingOwed) expect([c.label, owes(c)]).toEqual([c.label, []]);
      expect(nothingOwed.filter((c) => delivers(mapping, record(c))).map((c) => c.label)).toEqual([]);
    });
  });
});

describe('its function and DLQ', () => {
  test('the function has the timeout and memory of EVENT_RELAY, and names the bus and its DLQ in its environment', () => {
    const fn = functions[relayFn];
    expect(fn.Properties).toEqual(expect.objectContaining({ Timeout: EVENT_RELAY.timeout, MemorySize: EVENT_RELAY.memorySize }));
    expect(fn.Properties.Environment.Variables).toEqual(
      expect.objectContaining({ [ENV.eventBus]: { Ref: bus }, [ENV.relayDeadLetterQueueUrl]: { Ref: relayDlq } }),
    );
  });

  test('the DLQ keeps messages QUEUE_RETENTION_DAYS.deadLetter and redrives nowhere', () => {
    const dlq = queues[relayDlq];
    expect(dlq.Properties.MessageRetentionPeriod).toBe(Duration.days(QUEUE_RETENTION_DAYS.deadLetter).toSeconds());
    expect(dlq.Properties.RedrivePolicy).toBeUndefined();
  });
});

// Its permissions (exactly what its code sends, plus the stream reads and on-failure sends of its event source):
// test/lib/security.test.ts.

describe('its alarms', () => {
  test('its DLQ alarms on the first message', () => {
    const found = alarmsOn(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', relayDlq);
    expect(found).toHaveLength(1);
    expect(firesAt(found[0][1], 1)).toBe(true);
    expect(firesAt(found[0][1], 0)).toBe(false);
  });

  test('its iterator age (maximum) alarms at EVENT_RELAY.iteratorAgeAlarmSeconds, long before a record could leave the stream (24 h)', () => {
    const found = alarmsOn(template, 'AWS/Lambda', 'IteratorAge', 'FunctionName', relayFn);
    expect(found).toHaveLength(1);
    const alarm = found[0][1];
    expect(alarm.Properties.Statistic).toBe('Maximum');
    const thresholdMs = Duration.seconds(EVENT_RELAY.iteratorAgeAlarmSeconds).toMilliseconds();
    expect(firesAt(alarm, thresholdMs)).toBe(true);
    expect(firesAt(alarm, thresholdMs - 1)).toBe(false);
    expect(thresholdMs).toBeLessThan(Duration.hours(24).toMilliseconds());
  });

  test.each(['Errors', 'Throttles'])('its function has a %s alarm that fires on the first one', (metric) => {
    const found = alarmsOn(template, 'AWS/Lambda', metric, 'FunctionName', relayFn);
    expect(found).toHaveLength(1);
    expect(firesAt(found[0][1], 1)).toBe(true);
  });
});
