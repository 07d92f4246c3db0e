/**
 * The event relay: the orders table's stream (NEW_AND_OLD_IMAGES) becomes the catalogue's events on the bus, in
 * stream order, ten to a PutEvents, an entry PutEvents rejects sent again alone; a failed publish names the first record not relayed (the batch is retried from
 * there); a change no event can be built from goes to the relay DLQ and does not hold up the rest.
 */
import { EVENT_BUS, RELAY_DLQ_URL, lambdaContext, storedOrderOf, streamEvent, streamRecord } from '../shared/fixtures';

import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { handler } from '../../../functions/event-relay/handler';
import { EVENT_CATALOGUE } from '../../../functions/domain/events';
import { StoredOrder } from '../../../functions/domain/ports';
import { eventForStatus } from '../../../functions/domain/status-events';
import { PUT_EVENTS_ATTEMPTS } from '../../../functions/adapters/eventbridge-publisher';

const eventBridge = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);

const ITEMS = [
  { sku: 'sku-apple', quantity: 2 },
  { sku: 'sku-pear', quantity: 1 },
];

const invoke = (event: DynamoDBStreamEvent) => handler(event, lambdaContext('event-relay'));

/** An order as the table stores it (the stream image), sparse index key included for open statuses. */
function image(orderId: string, overrides: Partial<StoredOrder> = {}): StoredOrder {
  const order = storedOrderOf(orderId, ITEMS, overrides);
  const open = ['PENDING', 'RESERVED', 'NEEDS_ATTENTION'].includes(order.status);
  return { ...order, ...(open ? { openStatus: order.status } : {}) } as StoredOrder;
}

const reserved = (orderId: string, overrides: Partial<StoredOrder> = {}) =>
  image(orderId, { status: 'RESERVED', updatedAt: '2026-01-01T00:00:02.000Z', statusChangedAt: '2026-01-01T00:00:02.000Z', paymentDeadline: '2026-01-01T00:15:02.000Z', ...overrides });
const later = (at: string) => ({ updatedAt: at, statusChangedAt: at });

/** The PutEvents entry the order's status owes, exactly: source and detail-type from the catalogue, detail from eventForStatus. */
function entryFor(order: StoredOrder) {
  const event = eventForStatus(order, new Date())!;
  return { EventBusName: EVENT_BUS, Source: EVENT_CATALOGUE[event.type].source, DetailType: event.type, Detail: JSON.stringify(event.detail) };
}

const putEvents = () => eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
const sent = () => putEvents().flat();

beforeEach(() => {
  eventBridge.reset();
  sqs.reset();
  eventBridge.on(PutEventsCommand).callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_: unknown, i: number) => ({ EventId: `e-${i}` })) }));
  sqs.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
});

test('INSERT of a new order: one OrderPlaced entry, source and detail-type from the catalogue, detail = eventForStatus', async () => {
  const order = image('ord_1');

  const response = await invoke(streamEvent(streamRecord('100', { new: order })));

  expect(response).toEqual({ batchItemFailures: [] });
  expect(putEvents()).toHaveLength(1);
  expect(sent()).toEqual([
    { EventBusName: EVENT_BUS, Source: EVENT_CATALOGUE.OrderPlaced.source, DetailType: 'OrderPlaced', Detail: JSON.stringify(eventForStatus(order, new Date())!.detail) },
  ]);
  expect(JSON.parse(sent()[0].Detail!)).toEqual({
    orderId: 'ord_1',
    customerId: 'cust-1',
    correlationId: 'corr-ord_1',
    items: ITEMS,
    eventId: 'ord_1:OrderPlaced',
    occurredAt: order.createdAt,
  });
  expect(sqs.calls()).toHaveLength(0);
});

describe('MODIFY with a status change: the event the new status owes', () => {
  const cases: [string, StoredOrder, StoredOrder, string][] = [
    ['PENDING -> RESERVED', image('ord_1'), reserved('ord_1'), 'InventoryReserved'],
    [
      'PENDING -> REJECTED',
      image('ord_1'),
      image('ord_1', { status: 'REJECTED', rejection: { reason: 'OUT_OF_STOCK', sku: 'sku-pear' }, ...later('2026-01-01T00:00:02.000Z') }),
      'InventoryRejected',
    ],
    ['RESERVED -> PAID', reserved('ord_1'), image('ord_1', { ...reserved('ord_1'), status: 'PAID', paymentId: 'pay-1', ...later('2026-01-01T00:05:00.000Z') }), 'OrderPaid'],
    [
      'RESERVED -> CANCELLED (expired)',
      reserved('ord_1'),
      image('ord_1', { ...reserved('ord_1'), status: 'CANCELLED', cancellation: { reason: 'PAYMENT_TIMEOUT' }, ...later('2026-01-01T00:16:00.000Z') }),
      'OrderCancelled',
    ],
    ['PENDING -> CANCELLED', image('ord_1'), image('ord_1', { status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' }, ...later('2026-01-01T00:01:00.000Z') }), 'OrderCancelled'],
    ['NEEDS_ATTENTION -> RESERVED', image('ord_1', { status: 'NEEDS_ATTENTION' }), reserved('ord_1'), 'InventoryReserved'],
  ];

  test.each(cases)('%s', async (_name, before, after, type) => {
    const response = await invoke(streamEvent(streamRecord('200', { old: before, new: after })));

    expect(response.batchItemFailures).toEqual([]);
    expect(sent()).toEqual([entryFor(after)]);
    expect(sent()[0].DetailType).toBe(type);
    expect(JSON.parse(sent()[0].Detail!)).toMatchObject({ eventId: `ord_1:${type}`, occurredAt: after.statusChangedAt });
  });
});

test('changes that owe nothing send nothing: MODIFY without a status change, -> NEEDS_ATTENTION, REMOVE', async () => {
  const response = await invoke(
    streamEvent(
      streamRecord('300', { old: image('ord_1'), new: image('ord_1', { republishCount: 1, updatedAt: '2026-01-01T00:20:00.000Z' }) }),
      streamRecord('301', { old: image('ord_2'), new: image('ord_2', { status: 'NEEDS_ATTENTION', ...later('2026-01-01T01:00:00.000Z') }) }),
      streamRecord('302', { old: image('ord_3', { status: 'CANCELLED', cancellation: { reason: 'CUSTOMER' } }) }),
    ),
  );

  expect(response).toEqual({ batchItemFailures: [] });
  expect(eventBridge.calls()).toHaveLength(0);
  expect(sqs.calls()).toHaveLength(0);
});

test('events go out in stream order, ten entries to a PutEvents', async () => {
  const records = Array.from({ length: 12 }, (_, i) => streamRecord(String(1000 + i), { new: image(`ord_${i}`) }));

  const response = await invoke(streamEvent(...records));

  expect(response.batchItemFailures).toEqual([]);
  expect(putEvents().map((entries) => entries.length)).toEqual([10, 2]);
  expect(sent().map((e) => JSON.parse(e.Detail!).orderId)).toEqual(Array.from({ length: 12 }, (_, i) => `ord_${i}`));
  expect(sent().every((e) => e.EventBusName === EVENT_BUS && e.DetailType === 'OrderPlaced')).toBe(true);
});

test('the changes of one order in one batch are relayed in the order they happened', async () => {
  const placed = image('ord_1');
  const held = reserved('ord_1');
  const paid = image('ord_1', { ...held, status: 'PAID', paymentId: 'pay-1', ...later('2026-01-01T00:05:00.000Z') });

  await invoke(streamEvent(streamRecord('1', { new: placed }), streamRecord('2', { old: placed, new: held }), streamRecord('3', { old: held, new: paid })));

  expect(sent().map((e) => e.DetailType)).toEqual(['OrderPlaced', 'InventoryReserved', 'OrderPaid']);
});

test('an entry PutEvents rejects is sent again alone; once accepted, the batch is relayed', async () => {
  eventBridge
    .on(PutEventsCommand)
    .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'e-0' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }, { EventId: 'e-2' }] })
    .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  const orders = ['ord_0', 'ord_1', 'ord_2'].map((id) => image(id));

  const response = await invoke(streamEvent(...orders.map((order, i) => streamRecord(String(300 + i), { new: order }))));

  expect(response).toEqual({ batchItemFailures: [] });
  // The accepted entries are not sent twice: only the rejected one goes again.
  expect(putEvents()).toEqual([orders.map(entryFor), [entryFor(orders[1]!)]]);
});

test(`an entry still rejected after ${PUT_EVENTS_ATTEMPTS} attempts: batchItemFailures names its record, the batch is retried from it`, async () => {
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });

  const response = await invoke(streamEvent(streamRecord('400', { old: image('ord_0'), new: image('ord_0', { republishCount: 1 }) }), streamRecord('401', { new: image('ord_1') })));

  // The first record owed nothing: the failure is the first record whose event was not relayed.
  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '401' }] });
  expect(putEvents()).toEqual(Array.from({ length: PUT_EVENTS_ATTEMPTS }, () => [entryFor(image('ord_1'))]));
  expect(sqs.calls()).toHaveLength(0);
});

test('a rejection in the second PutEvents names the first record not published; those before it stay relayed', async () => {
  const ids = (entries: { Detail?: string }[]) => entries.map((e) => JSON.parse(e.Detail!).orderId as string);
  // ord_11 is always rejected; everything else is accepted.
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: { Detail: string }[] }) => {
    const results = ids(input.Entries).map((id, i) => (id === 'ord_11' ? { ErrorCode: 'ThrottlingException' } : { EventId: `e-${i}` }));
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  });
  const records = Array.from({ length: 13 }, (_, i) => streamRecord(String(2000 + i), { new: image(`ord_${i}`) }));

  const response = await invoke(streamEvent(...records));

  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '2011' }] });
  expect(putEvents().map(ids)).toEqual([
    Array.from({ length: 10 }, (_, i) => `ord_${i}`),
    ['ord_10', 'ord_11', 'ord_12'],
    ...Array.from({ length: PUT_EVENTS_ATTEMPTS - 1 }, () => ['ord_11']),
  ]);
});

test('PutEvents throwing: the same partial failure, not a thrown invocation', async () => {
  eventBridge.on(PutEventsCommand).rejects(new Error('socket hang up'));

  const response = await invoke(streamEvent(streamRecord('500', { new: image('ord_1') }), streamRecord('501', { new: image('ord_2') })));

  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '500' }] });
});

test('a PAID image without paymentId goes to the relay DLQ; the records around it are relayed and the batch succeeds', async () => {
  const broken = image('ord_bad', { ...reserved('ord_bad'), status: 'PAID', ...later('2026-01-01T00:05:00.000Z') });

  const response = await invoke(
    streamEvent(
      streamRecord('600', { new: image('ord_1') }),
      streamRecord('601', { old: reserved('ord_bad'), new: broken }),
      streamRecord('602', { new: image('ord_2') }),
    ),
  );

  expect(response).toEqual({ batchItemFailures: [] });
  const messages = sqs.commandCalls(SendMessageCommand);
  expect(messages).toHaveLength(1);
  const message = messages[0].args[0].input;
  expect(message.QueueUrl).toBe(RELAY_DLQ_URL);
  const body = JSON.parse(message.MessageBody!);
  expect(body.reason).toContain('PAID without a paymentId');
  expect(body.record).toMatchObject({ id: '601', after: { orderId: 'ord_bad', status: 'PAID' } });
  expect(sent().map((e) => JSON.parse(e.Detail!).orderId)).toEqual(['ord_1', 'ord_2']);
});

test('a DLQ that cannot be written fails the invocation: the whole batch is retried (what it published is published again, deduplicated downstream)', async () => {
  sqs.on(SendMessageCommand).rejects(new Error('SQS unavailable'));
  const broken = image('ord_bad', { ...reserved('ord_bad'), status: 'PAID' });

  await expect(invoke(streamEvent(streamRecord('700', { new: image('ord_1') }), streamRecord('701', { old: reserved('ord_bad'), new: broken })))).rejects.toThrow('SQS unavailable');

  // Published before the dead-letter attempt, in stream order; the retry publishes it again with the same event id.
  expect(sent().map((e) => JSON.parse(e.Detail!).eventId)).toEqual(['ord_1:OrderPlaced']);
});
