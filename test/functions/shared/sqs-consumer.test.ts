import { envelope, envelopeOf, lambdaContext, sqsEvent, sqsRecord } from './fixtures';

import type { Context } from 'aws-lambda';
import { makeConsumerHandler } from '../../../functions/shared/sqs-consumer';
import { PipelineEvent } from '../../../functions/domain/events';
import { logger } from '../../../functions/shared/observability';

const ITEMS = [{ sku: 'sku-apple', quantity: 1 }];

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

test('records are processed one after another, in order', async () => {
  let running = 0;
  let maxRunning = 0;
  const { handler, seen } = consumer(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((resolve) => setImmediate(resolve));
    running--;
    return { action: 'done' };
  });
  const records = ['a', 'b', 'c'].map((id) => sqsRecord(envelope('OrderPlaced', `ord_${id}`, { items: ITEMS }), id));
  await handler(sqsEvent(...records), lambdaContext());
  expect(maxRunning).toBe(1);
  expect(seen.map((e) => e.detail.orderId)).toEqual(['ord_a', 'ord_b', 'ord_c']);
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

  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad-json' }, { itemIdentifier: 'fails' }, { itemIdentifier: 'not-accepted' }, { itemIdentifier: 'missing-fields' }]);
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
  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
});

test("each record's log keys are added for it and removed after it, even when it fails", async () => {
  const { handler } = consumer(async (event) => {
    if (event.detail.orderId === 'ord_2') throw new Error('down');
    return { action: 'done' };
  });
  const append = jest.spyOn(logger, 'appendKeys');
  const remove = jest.spyOn(logger, 'removeKeys');
  try {
    await handler(
      sqsEvent(sqsRecord(envelope('OrderPlaced', 'ord_1', { items: ITEMS })), sqsRecord(envelope('OrderPlaced', 'ord_2', { items: ITEMS }))),
      lambdaContext(),
    );
    expect(append.mock.calls.map(([keys]) => keys)).toEqual([
      { orderId: 'ord_1', correlationId: 'corr-ord_1', eventId: 'ord_1:OrderPlaced', eventType: 'OrderPlaced' },
      { orderId: 'ord_2', correlationId: 'corr-ord_2', eventId: 'ord_2:OrderPlaced', eventType: 'OrderPlaced' },
    ]);
    expect(remove).toHaveBeenCalledTimes(2);
    for (const [keys] of remove.mock.calls) expect([...keys].sort()).toEqual(['correlationId', 'eventId', 'eventType', 'orderId']);
  } finally {
    append.mockRestore();
    remove.mockRestore();
  }
});

test('near its timeout the consumer starts no more records: they return to the queue, the done ones do not', async () => {
  let remainingMs = 10_000;
  const { handler, seen } = consumer(async () => {
    remainingMs -= 4_000; // each record takes 4 s of the invocation (SDK retries backing off under throttling)
    return { action: 'done' };
  });
  const context = { ...lambdaContext('consumer'), getRemainingTimeInMillis: () => remainingMs };
  const records = ['ord_1', 'ord_2', 'ord_3', 'ord_4'].map((id) => sqsRecord(envelope('OrderPlaced', id, { items: ITEMS })));

  const response = await handler(sqsEvent(...records), context);

  // 10 s, 6 s left: started; 2 s left (< RECORD_START_RESERVE_MS): the last two are sent back unstarted.
  expect(seen.map((e) => e.detail.orderId)).toEqual(['ord_1', 'ord_2']);
  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[2].messageId }, { itemIdentifier: records[3].messageId }] });
});
