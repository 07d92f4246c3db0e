/**
 * What DynamoDB Local (the engine of the tests and the local runtime) does where it matters to this pipeline, and
 * where it differs from AWS: the evidence behind the DynamoDB rows of docs/local-runtime.md. If DynamoDB Local
 * changes (a new jar), a failure here says which line of the document to revisit.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, ScanCommand, TransactionCanceledException, TransactWriteItemsCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { networkInterfaces } from 'node:os';
import { IDEMPOTENCY_TABLE, INVENTORY_TABLE } from '../../functions/adapters/table-schema';
import { eventually } from '../support/eventually';
import { LocalTables, startLocalTables } from '../support/local-tables';

jest.setTimeout(60_000);

let tables: LocalTables;
beforeAll(async () => {
  tables = await startLocalTables();
});
afterAll(() => tables?.stop());

const PK = INVENTORY_TABLE.partitionKey;
const s = (value: string) => ({ S: value });

/** A hold item plus a conditional decrement of one hot item, in one transaction (the shape of a reservation). */
const reserve = (holdId: string) =>
  new TransactWriteItemsCommand({
    TransactItems: [
      { Put: { TableName: tables.names.inventory, Item: { [PK]: s(`hold-${holdId}`) }, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } } },
      {
        Update: {
          TableName: tables.names.inventory,
          Key: { [PK]: s('hot') },
          UpdateExpression: 'SET available = available - :one',
          ConditionExpression: 'available >= :one',
          ExpressionAttributeValues: { ':one': { N: '1' } },
        },
      },
    ],
  });

test('transactions are atomic under concurrency, and never cancelled with TransactionConflict (AWS would cancel some)', async () => {
  await tables.raw.send(new PutItemCommand({ TableName: tables.names.inventory, Item: { [PK]: s('hot'), available: { N: '100' } } }));
  const outcomes = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      tables.raw.send(reserve(String(i))).then(
        () => 'ok',
        (error) => (error instanceof TransactionCanceledException ? error.CancellationReasons!.map((r) => r.Code).join(',') : String(error)),
      ),
    ),
  );
  const counts = outcomes.reduce<Record<string, number>>((all, o) => ({ ...all, [o]: (all[o] ?? 0) + 1 }), {});
  expect(counts).toEqual({ ok: 100, 'None,ConditionalCheckFailed': 100 });
  const { Item } = await tables.raw.send(new GetItemCommand({ TableName: tables.names.inventory, Key: { [PK]: s('hot') }, ConsistentRead: true }));
  expect(Item?.available).toEqual({ N: '0' });
});

test('ReturnConsumedCapacity: right for a plain write (1 unit per KB), undercounted for transactions (2 for 2 items; AWS bills 4)', async () => {
  const plain = await tables.raw.send(new PutItemCommand({ TableName: tables.names.inventory, ReturnConsumedCapacity: 'TOTAL', Item: { [PK]: s('five-kb'), blob: s('x'.repeat(5 * 1024 - 40)) } }));
  expect(plain.ConsumedCapacity?.CapacityUnits).toBe(5);
  const transaction = await tables.raw.send(
    new TransactWriteItemsCommand({
      ReturnConsumedCapacity: 'TOTAL',
      TransactItems: [{ Put: { TableName: tables.names.inventory, Item: { [PK]: s('cap-a') } } }, { Put: { TableName: tables.names.inventory, Item: { [PK]: s('cap-b') } } }],
    }),
  );
  expect(transaction.ConsumedCapacity).toEqual([{ TableName: tables.names.inventory, CapacityUnits: 2 }]);
});

test('ReturnValuesOnConditionCheckFailure returns the item as it is, on a write and in a transaction', async () => {
  const item = { [PK]: s('rvoccf'), available: { N: '3' } };
  await tables.raw.send(new PutItemCommand({ TableName: tables.names.inventory, Item: item }));
  const failed = await tables.raw
    .send(new PutItemCommand({ TableName: tables.names.inventory, Item: { [PK]: s('rvoccf') }, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }))
    .catch((error) => error);
  expect(failed).toBeInstanceOf(ConditionalCheckFailedException);
  expect((failed as ConditionalCheckFailedException).Item).toEqual(item);
  const cancelled = await tables.raw
    .send(
      new TransactWriteItemsCommand({
        TransactItems: [{ ConditionCheck: { TableName: tables.names.inventory, Key: { [PK]: s('rvoccf') }, ConditionExpression: 'available > :n', ExpressionAttributeValues: { ':n': { N: '10' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } }],
      }),
    )
    .catch((error) => error);
  expect(cancelled).toBeInstanceOf(TransactionCanceledException);
  expect((cancelled as TransactionCanceledException).CancellationReasons).toEqual([expect.objectContaining({ Code: 'ConditionalCheckFailed', Item: item })]);
});

test('TTL: an expired item stays readable at first, then DynamoDB Local deletes it within seconds (AWS: in the background, documented as within a few days)', async () => {
  const table = tables.names.idempotency;
  const key = IDEMPOTENCY_TABLE.partitionKey;
  const ttl = IDEMPOTENCY_TABLE.timeToLiveAttribute;
  await tables.raw.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: ttl, Enabled: true } }));
  const now = Math.floor(Date.now() / 1000);
  await tables.raw.send(new PutItemCommand({ TableName: table, Item: { [key]: s('expired'), [ttl]: { N: String(now - 60) } } }));
  await tables.raw.send(new PutItemCommand({ TableName: table, Item: { [key]: s('later'), [ttl]: { N: String(now + 3600) } } }));
  expect((await tables.raw.send(new GetItemCommand({ TableName: table, Key: { [key]: s('expired') } }))).Item).toBeDefined();
  await eventually(async () => {
    const { Items = [] } = await tables.raw.send(new ScanCommand({ TableName: table }));
    expect(Items.map((i) => i[key].S)).toEqual(['later']);
  }, 30_000, 250);
});

test('it is bound to 127.0.0.1 only (through local/dynamodb/LoopbackDynamoDBLocal.java: DynamoDB Local alone listens on 0.0.0.0)', async () => {
  const port = new URL(tables.endpoint).port;
  const other = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  // A machine with only a loopback interface cannot show it.
  if (!other) return;
  const reached = await fetch(`http://${other.address}:${port}/`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  );
  expect(reached).toBe(false);
  expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(400); // DynamoDB Local's answer to a request without credentials
});
