/**
 * The AWS endpoint's DynamoDB fault seam, against the run's DynamoDB Local (test/jest-global-setup.ts): a request
 * whose table a stub Faults object names is answered as DynamoDB answers that fault, and not forwarded; the SDK
 * reads each answer as the right error and retries it.
 * Error shapes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
 */
import { request } from 'node:http';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { AwsEndpoint } from '../../local/endpoint';
import { FaultKind, Faults } from '../../local/faults/faults';
import { tableNames } from '../../local/http/dynamodb-faults';
import { ENDPOINT_VARIABLE } from '../support/local-tables';

const engineEndpoint = process.env[ENDPOINT_VARIABLE]!;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const prefix = `faults-${process.pid}-`;
const A = `${prefix}a`;
const B = `${prefix}b`;
const C = `${prefix}c`;

/** Deterministic: a rule injects `kind` on `table` (for `operation`, when given) the next `times` calls; every question is recorded. */
type Rule = { kind: FaultKind; table: string; operation?: string; times: number };
let rules: Rule[] | 'always' | 'throw' = [];
const asked: [FaultKind, string, string | undefined][] = [];
const faults: Faults = {
  inject(kind, target, operation) {
    asked.push([kind, target, operation]);
    if (rules === 'always') return true;
    if (rules === 'throw') throw new Error('fault plan bug');
    const rule = rules.find((r) => r.kind === kind && r.table === target && (!r.operation || r.operation === operation) && r.times > 0);
    if (rule) rule.times -= 1;
    return rule !== undefined;
  },
  random: () => 0,
  parameter: () => undefined,
};
const unused = () => ({ status: 400, body: { __type: 'NotInThisTest' } });
const errors: unknown[] = [];
const endpoint = new AwsEndpoint({ sqs: unused, events: unused, stepFunctions: unused, dynamodbEndpoint: engineEndpoint, faults, onError: (e) => errors.push(e) });
const direct = new DynamoDBClient({ endpoint: engineEndpoint, region: 'us-east-1', credentials });
let url = '';
const client = (maxAttempts?: number) => new DynamoDBClient({ endpoint: url, region: 'us-east-1', credentials, ...(maxAttempts ? { maxAttempts } : {}) });
const item = (pk: string) => ({ pk: { S: pk } });
function post(target: string, body: unknown): Promise<{ status?: number; type?: string; body: string }> {
  return new Promise((resolve, reject) => {
    // DynamoDB Local wants an Authorization header (its access key and region pick the tables); it checks no signature.
    const authorization = 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0';
    const req = request(url, { method: 'POST', headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.0', authorization } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
const stored = async (table: string, pk: string) => (await direct.send(new GetItemCommand({ TableName: table, Key: item(pk), ConsistentRead: true }))).Item;

beforeAll(async () => {
  url = await endpoint.listen(0);
  for (const TableName of [A, B, C]) {
    await direct.send(new CreateTableCommand({ TableName, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }));
  }
});
afterAll(async () => {
  for (const TableName of [A, B, C]) await direct.send(new DeleteTableCommand({ TableName }));
  direct.destroy();
  await endpoint.close();
});
beforeEach(() => {
  rules = [];
  asked.length = 0;
});

const KINDS: [FaultKind, number, string][] = [
  ['dynamodb.provisionedThroughputExceeded', 400, 'ProvisionedThroughputExceededException'],
  ['dynamodb.throttling', 400, 'ThrottlingException'],
  ['dynamodb.internalServerError', 500, 'InternalServerError'],
];

test.each(KINDS)('%s: HTTP %i com.amazonaws.dynamodb.v20120810#%s, application/x-amz-json-1.0, nothing written', async (kind, status, name) => {
  rules = [{ kind, table: A, times: 1 }];
  const answer = await post('DynamoDB_20120810.PutItem', { TableName: A, Item: item(`raw-${name}`) });
  expect(answer.status).toBe(status);
  expect(answer.type).toBe('application/x-amz-json-1.0');
  expect(JSON.parse(answer.body)).toEqual({ __type: `com.amazonaws.dynamodb.v20120810#${name}`, message: expect.any(String) });
  expect(await stored(A, `raw-${name}`)).toBeUndefined();

  // The SDK (maxAttempts 1) reads it as that error.
  rules = [{ kind, table: A, times: 1 }];
  const once = client(1);
  try {
    await expect(once.send(new PutItemCommand({ TableName: A, Item: item(`sdk-${name}`) }))).rejects.toMatchObject({ name, $metadata: { httpStatusCode: status, attempts: 1 } });
  } finally {
    once.destroy();
  }
  expect(await stored(A, `sdk-${name}`)).toBeUndefined();
  expect(asked).toContainEqual([kind, A, 'PutItem']);
});

test('with default retries the SDK retries each (throttling or transient) and the second attempt is forwarded', async () => {
  const sdk = client();
  try {
    // One table per kind, all at once: the SDK backs off up to 1 s before retrying a throttling error.
    const tables = [A, B, C];
    rules = KINDS.map(([kind], i) => ({ kind, table: tables[i], times: 1 }));
    const results = await Promise.all(tables.map((TableName) => sdk.send(new PutItemCommand({ TableName, Item: item('retried') }))));
    expect(results.map((r) => r.$metadata.attempts)).toEqual([2, 2, 2]);
    for (const table of tables) expect(await stored(table, 'retried')).toEqual(item('retried'));
  } finally {
    sdk.destroy();
  }
});

test('Batch* and Transact* requests are asked about every table they name (operation: the target suffix)', async () => {
  const sdk = client(1);
  try {
    rules = [{ kind: 'dynamodb.throttling', table: B, operation: 'TransactWriteItems', times: 1 }];
    const transact = new TransactWriteItemsCommand({
      TransactItems: [{ Put: { TableName: A, Item: item('tx') } }, { Update: { TableName: B, Key: item('tx'), UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': { N: '1' } } } }],
    });
    await expect(sdk.send(transact)).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect([await stored(A, 'tx'), await stored(B, 'tx')]).toEqual([undefined, undefined]);
    expect(asked.slice(0, 2)).toEqual([
      ['dynamodb.provisionedThroughputExceeded', A, 'TransactWriteItems'],
      ['dynamodb.provisionedThroughputExceeded', B, 'TransactWriteItems'],
    ]);

    // A rule for another operation does not fire; the transaction then goes through.
    rules = [{ kind: 'dynamodb.throttling', table: B, operation: 'PutItem', times: 1 }];
    await sdk.send(transact);
    expect(await stored(B, 'tx')).toMatchObject({ n: { N: '1' } });

    rules = [{ kind: 'dynamodb.internalServerError', table: B, times: 1 }];
    const batch = new BatchWriteItemCommand({ RequestItems: { [A]: [{ PutRequest: { Item: item('batch') } }], [B]: [{ PutRequest: { Item: item('batch') } }] } });
    await expect(sdk.send(batch)).rejects.toMatchObject({ name: 'InternalServerError', $fault: 'server' });
    expect(await stored(A, 'batch')).toBeUndefined();

    rules = [{ kind: 'dynamodb.provisionedThroughputExceeded', table: A, times: 1 }];
    await expect(sdk.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: B, Key: item('tx') } }, { Get: { TableName: A, Key: item('tx') } }] }))).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
  } finally {
    sdk.destroy();
  }
});

test('DynamoDB Streams requests and requests naming no table are never faulted', async () => {
  rules = 'always';
  const sdk = client(1);
  try {
    // Streams' ListStreams and DescribeStream name a table (TableName, or a stream ARN holding it): still not faulted.
    const streams = await post('DynamoDBStreams_20120810.ListStreams', { TableName: A });
    expect([streams.status, JSON.parse(streams.body)]).toEqual([200, { Streams: [] }]);
    await expect(sdk.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: expect.arrayContaining([A, B]) });
    expect(asked).toEqual([]);
  } finally {
    sdk.destroy();
  }
});

test('a fault plan that throws is logged and answered 500 InternalFailure; nothing is forwarded', async () => {
  rules = 'throw';
  const answer = await post('DynamoDB_20120810.PutItem', { TableName: A, Item: item('plan-bug') });
  expect([answer.status, JSON.parse(answer.body).__type]).toEqual([500, 'InternalFailure']);
  expect(errors).toEqual([expect.objectContaining({ message: 'fault plan bug' })]);
  expect(await stored(A, 'plan-bug')).toBeUndefined();
});

test('tableNames: TableName (or its ARN), RequestItems keys, TransactItems actions; anything else names none', () => {
  expect(tableNames({ TableName: 'arn:aws:dynamodb:us-east-1:000000000000:table/orders' })).toEqual(['orders']);
  expect(tableNames({ RequestItems: { a: [], b: [] } })).toEqual(['a', 'b']);
  expect(tableNames({ TransactItems: [{ ConditionCheck: { TableName: 'c' } }, { Delete: { TableName: 'd' } }, { Put: { TableName: 'c' } }, null, { Get: {} }] })).toEqual(['c', 'd']);
  for (const junk of [null, 'x', [], { TableName: 1 }, { RequestItems: 'x' }, { TransactItems: {} }]) expect(tableNames(junk)).toEqual([]);
});
