/**
 * Lambda's DynamoDB stream event source, emulated on DynamoDB Local's real stream: record format, order, filters,
 * partial batch responses, retries with bisection, the on-failure destination, and the position kept across restarts
 * (Lambda developer guide: "Using Lambda with DynamoDB", "Filtering events", "Batch item failures").
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { systemClock } from '../../local/clock';
import { DynamoDBStreamEventSource, DynamoDBStreamEventSourceOptions } from '../../local/engines/dynamodb-stream-event-source';
import { InvokeResult, Invoker } from '../../local/engines/invoker';
import { eventually } from '../support/eventually';
import { LocalTables, startLocalTables } from '../support/local-tables';

let tables: LocalTables;
let streamArn: string;
const dir = mkdtempSync(path.join(tmpdir(), 'stream-esm-'));
beforeAll(async () => {
  tables = await startLocalTables();
  streamArn = (await tables.raw.send(new DescribeTableCommand({ TableName: tables.names.orders }))).Table!.LatestStreamArn!;
});
afterAll(async () => {
  await tables.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Batch = { Records: { eventName: string; eventSource: string; eventSourceARN: string; dynamodb: { SequenceNumber: string; Keys: unknown; NewImage?: Record<string, { S?: string }>; OldImage?: unknown } }[] };

/** A function that records each batch it gets and answers what the test says. */
class RecordingFunction implements Invoker {
  readonly name = 'relay';
  readonly batches: Batch[] = [];
  answer: (batch: Batch, call: number) => InvokeResult = () => ({ ok: true, result: { batchItemFailures: [] }, durationMs: 1 });
  async invoke(event: unknown): Promise<InvokeResult> {
    this.batches.push(event as Batch);
    return this.answer(event as Batch, this.batches.length);
  }
  ids(): string[] {
    return this.batches.flatMap((b) => b.Records.map((r) => r.dynamodb.NewImage?.orderId?.S ?? '?'));
  }
}

let marker = 0;
/** Orders written for one test only: each test's filter passes only its own marker. */
async function write(tag: string, ...ids: string[]) {
  for (const orderId of ids) await tables.client.send(new PutCommand({ TableName: tables.names.orders, Item: { orderId, tag, status: 'PENDING' } }));
}

function source(fn: Invoker, tag: string, options: Partial<DynamoDBStreamEventSourceOptions> = {}) {
  return new DynamoDBStreamEventSource({
    endpoint: tables.endpoint,
    region: 'us-east-1',
    tableName: tables.names.orders,
    streamArn,
    eventSourceArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/local',
    invoker: fn,
    startingPosition: 'TRIM_HORIZON',
    filterPatterns: [JSON.stringify({ dynamodb: { NewImage: { tag: { S: [tag] } } } })],
    reportBatchItemFailures: true,
    clock: systemClock(1000),
    ...options,
  });
}

async function run(esm: DynamoDBStreamEventSource, until: () => void): Promise<void> {
  esm.start();
  try {
    await eventually(async () => until(), 10_000);
  } finally {
    await esm.stop();
  }
}

test('delivers records in stream order in the Lambda format; filtered-out records cost no invocation', async () => {
  const tag = `t${++marker}`;
  await write(tag, 'o1', 'o2');
  await write('someone-else', 'x1');
  await tables.client.send(new UpdateCommand({ TableName: tables.names.orders, Key: { orderId: 'o1' }, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': 'RESERVED' } }));
  const fn = new RecordingFunction();

  await run(source(fn, tag), () => expect(fn.ids()).toEqual(['o1', 'o2', 'o1']));

  const records = fn.batches.flatMap((b) => b.Records);
  expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'INSERT', 'MODIFY']);
  expect(records[2]).toMatchObject({ eventSource: 'aws:dynamodb', eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/local', dynamodb: { Keys: { orderId: { S: 'o1' } }, NewImage: { status: { S: 'RESERVED' } }, OldImage: { status: { S: 'PENDING' } } } });
  const numbers = records.map((r) => BigInt(r.dynamodb.SequenceNumber));
  expect([...numbers].sort((a, b) => (a < b ? -1 : 1))).toEqual(numbers);
});

test('a partial batch response retries from the reported record; the records before it are not delivered again', async () => {
  const tag = `t${++marker}`;
  await write(tag, 'p1', 'p2', 'p3');
  const fn = new RecordingFunction();
  fn.answer = (batch, call) => ({ ok: true, result: { batchItemFailures: call === 1 ? [{ itemIdentifier: batch.Records[1]!.dynamodb.SequenceNumber }] : [] }, durationMs: 1 });

  await run(source(fn, tag), () => expect(fn.batches).toHaveLength(2));

  expect(fn.batches.map((b) => b.Records.map((r) => r.dynamodb.NewImage!.orderId!.S))).toEqual([['p1', 'p2', 'p3'], ['p2', 'p3']]);
});

test('a failing batch is split and retried; after its retries, its positions go to the on-failure destination and the rest goes on', async () => {
  const tag = `t${++marker}`;
  await write(tag, 'f1', 'poison', 'f3');
  const fn = new RecordingFunction();
  fn.answer = (batch) =>
    batch.Records.some((r) => r.dynamodb.NewImage!.orderId!.S === 'poison') ? { ok: false, error: { errorType: 'Error', errorMessage: 'cannot' }, durationMs: 1 } : { ok: true, result: null, durationMs: 1 };
  const failures: string[] = [];

  await run(source(fn, tag, { bisectBatchOnFunctionError: true, maximumRetryAttempts: 2, onFailure: async (m) => void failures.push(m) }), () => expect(failures).toHaveLength(1));

  const delivered = fn.batches.filter((b) => !b.Records.some((r) => r.dynamodb.NewImage!.orderId!.S === 'poison')).flatMap((b) => b.Records.map((r) => r.dynamodb.NewImage!.orderId!.S));
  expect(delivered).toEqual(expect.arrayContaining(['f1', 'f3']));
  const failure = JSON.parse(failures[0]!);
  expect(failure).toMatchObject({ requestContext: { condition: 'RetryAttemptsExhausted' }, responseContext: { functionError: 'Error: cannot' }, DDBStreamBatchInfo: { batchSize: 1 } });
});

test('the position survives a restart: nothing is delivered twice, what came meanwhile is delivered', async () => {
  const tag = `t${++marker}`;
  const checkpointFile = path.join(dir, 'esm.json');
  await write(tag, 'r1');
  const first = new RecordingFunction();
  await run(source(first, tag, { checkpointFile }), () => expect(first.ids()).toEqual(['r1']));

  await write(tag, 'r2');
  const second = new RecordingFunction();
  await run(source(second, tag, { checkpointFile }), () => expect(second.ids()).toEqual(['r2']));
});

test('LATEST passes over what the stream held when the mapping started', async () => {
  const tag = `t${++marker}`;
  await write(tag, 'old');
  const fn = new RecordingFunction();
  const esm = source(fn, tag, { startingPosition: 'LATEST' });
  esm.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await write(tag, 'new');
    await eventually(async () => expect(fn.ids()).toEqual(['new']), 10_000);
  } finally {
    await esm.stop();
  }
});
