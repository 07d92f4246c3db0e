import { envelope, envelopeOf, lambdaContext, sqsEvent, sqsRecord } from './fixtures';

import type { Context, SQSBatchResponse } from 'aws-lambda';
import { makeConsumerHandler } from '../../../functions/shared/sqs-consumer';
import { PipelineEvent } from '../../../functions/domain/events';
import { logger } from '../../../functions/shared/observability';

const ITEMS = [{ sku: 'sku-apple', quantity: 1 }];
const failedIds = (response: SQSBatchResponse) => response.batchItemFailures.map((f) => f.itemIdentifier).sort();

function consumer(handle: (event: PipelineEvent, context: Context) => Promise<{ action: string }>) {
  const seen: PipelineEvent[] = [];
  const handler = makeConsumerHandler({
    accepts: ['OrderPlaced', 'OrderPaid'],
    handle: async (event, context) => {
      seen.push(event);
      return handle(event, context);
    },
  });
  return { handler, seen };
}

test('each accepted record is parsed against the catalogue and handed over with the Lambda context', async () => {
  const contexts: Context[] = [];
  const { handler, seen } = consumer(async (_event, context) => {
    contexts.push(context);
    return { action: 'done' };
  });
  const context = lambdaContext('consumer');

  const response = await handler(
    sqsEvent(sqsRecord(envelope('OrderPlaced', 'ord_1', { items: ITEMS })), sqsRecord(envelope('OrderPaid', 'ord_2', { items: ITEMS, paymentId: 'p' }))),
    context,
  );

  expect(response).toEqual({ batchItemFailures: [] });
  expect(seen.map((e) => [e.type, e.detail.orderId])).toEqual([
    ['OrderPlaced', 'ord_1'],
    ['OrderPaid', 'ord_2'],
  ]);
  expect(seen[0].detail).toMatchObject({ eventId: 'ord_1:OrderPlaced', correlationId: 'corr-ord_1', items: ITEMS });
  expect(contexts.every((c) => c.awsRequestId === context.awsRequestId)).toBe(true);
});

test('records of different orders run at once; those of one order one after another, in batch order', async () => {
  const running = new Set<string>();
  const overlapped: string[][] = [];
  const order: string[] = [];
  const { handler } = consumer(async (event) => {
    const id = `${event.detail.orderId}/${event.type}`;
    running.add(id);
    overlapped.push([...running].sort());
    await new Promise((resolve) => setTimeout(resolve, 5));
    order.push(id);
    running.delete(id);
    return { action: 'done' };
  });
  const records = [
    sqsRecord(envelope('OrderPlaced', 'ord_a', { items: ITEMS }), 'a1'),
    sqsRecord(envelope('OrderPlaced', 'ord_b', { items: ITEMS }), 'b1'),
    sqsRecord(envelope('OrderPaid', 'ord_a', { items: ITEMS, paymentId: 'p' }), 'a2'),
  ];

  expect(await handler(sqsEvent(...records), lambdaContext())).toEqual({ batchItemFailures: [] });

  // ord_a and ord_b overlapped; ord_a's two records never did, and ran in batch order.
  expect(overlapped).toContainEqual(['ord_a/OrderPlaced', 'ord_b/OrderPlaced']);
  expect(overlapped.some((ids) => ids.includes('ord_a/OrderPlaced') && ids.includes('ord_a/OrderPaid'))).toBe(false);
  expect(order.filter((id) => id.startsWith('ord_a'))).toEqual(['ord_a/OrderPlaced', 'ord_a/OrderPaid']);
});

test("a record of an order whose earlier record failed still runs, after it", async () => {
  const { handler, seen } = consumer(async (event) => {
    if (event.type === 'OrderPlaced') throw new Error('down');
    return { action: 'done' };
  });
  const response = await handler(
    sqsEvent(sqsRecord(envelope('OrderPlaced', 'ord_a', { items: ITEMS }), 'a1'), sqsRecord(envelope('OrderPaid', 'ord_a', { items: ITEMS, paymentId: 'p' }), 'a2')),
    lambdaContext(),
  );
  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'a1' }] });
  expect(seen.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderPaid']);
});

test('malformed and failing records are reported by message id; the others still run', async () => {
  const { handler, seen } = consumer(async (event) => {
    if (event.detail.orderId === 'ord_fail') throw new Error('downstream unavailable');
    return { action: 'done' };
  });

  const response = await handler(
    sqsEvent(
      sqsRecord('{', 'bad-json'),
      sqsRecord(envelope('OrderPlaced', 'ord_fail', { items: ITEMS }), 'fails'),
      sqsRecord(envelope('OrderCancelled', 'ord_x', { items: ITEMS, reason: 'CUSTOMER' }), 'not-accepted'),
      sqsRecord(envelope('OrderPlaced', 'ord_ok', { items: ITEMS }), 'ok'),
      sqsRecord(envelopeOf('OrderPlaced', { orderId: 'ord_y' }), 'missing-fields'),
    ),
    lambdaContext(),
  );

  // In the order they finished (records run at once): SQS reads the list as a set.
  expect(failedIds(response)).toEqual(['bad-json', 'fails', 'missing-fields', 'not-accepted']);
  expect(seen.map((e) => e.detail.orderId)).toEqual(['ord_fail', 'ord_ok']);
});

test('a batch where every record fails is answered, not thrown: every id returns to the queue', async () => {
  const { handler } = consumer(async () => {
    throw new Error('down');
  });
  const response = await handler(
    sqsEvent(sqsRecord(envelope('OrderPlaced', 'ord_1', { items: ITEMS }), 'm1'), sqsRecord('nope', 'm2')),
    lambdaContext(),
  );
  expect(failedIds(response)).toEqual(['m1', 'm2']);
});

test("each record's log lines carry its own keys, even while other records are in flight", async () => {
  const { handler } = consumer(async (event) => {
    await new Promise((resolve) => setTimeout(resolve, event.detail.orderId === 'ord_1' ? 10 : 1));
    if (event.detail.orderId === 'ord_2') throw new Error('down');
    return { action: 'done' };
  });
  const info = jest.spyOn(logger, 'info');
  const error = jest.spyOn(logger, 'error');
  const append = jest.spyOn(logger, 'appendKeys');
  try {
    await handler(
      sqsEvent(sqsRecord(envelope('OrderPlaced', 'ord_1', { items: ITEMS })), sqsRecord(envelope('OrderPlaced', 'ord_2', { items: ITEMS }))),
      lambdaContext(),
    );
    const keysOf = (id: string) => ({ orderId: id, correlationId: `corr-${id}`, eventId: `${id}:OrderPlaced`, eventType: 'OrderPlaced' });
    expect(info.mock.calls).toEqual([['event handled', { ...keysOf('ord_1'), outcome: { action: 'done' } }]]);
    expect(error.mock.calls).toEqual([['event failed: it returns to the queue', { ...keysOf('ord_2'), error: expect.objectContaining({ message: 'down' }) }]]);
    // Nothing appended to the logger itself: those keys would be shared by the records in flight.
    expect(append.mock.calls.filter(([keys]) => 'orderId' in keys)).toEqual([]);
  } finally {
    info.mockRestore();
    error.mockRestore();
    append.mockRestore();
  }
});

test('near its timeout the consumer starts no more records: they return to the queue, the done ones do not', async () => {
  let remainingMs = 10_000;
  const { handler, seen } = consumer(async () => {
    remainingMs -= 4_000; // each record takes 4 s of the invocation (SDK retries backing off under throttling)
    return { action: 'done' };
  });
  const context = { ...lambdaContext('consumer'), getRemainingTimeInMillis: () => remainingMs };
  // One order's records run one after another: the later ones start with less time left.
  const records = ['OrderPlaced', 'OrderPaid', 'OrderPaid', 'OrderPaid'].map((type, i) => sqsRecord(envelope(type as 'OrderPaid', 'ord_1', { items: ITEMS, paymentId: `p${i}` }), `m${i}`));

  const response = await handler(sqsEvent(...records), context);

  // 10 s, 6 s left: started; 2 s left (< RECORD_START_RESERVE_MS): the last two are sent back unstarted.
  expect(seen).toHaveLength(2);
  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }] });
});
