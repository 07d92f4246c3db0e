/**
 * The runtime's DynamoDB: tables made from template properties (GSIs, StreamSpecification, TimeToLiveSpecification)
 * on DynamoDB Local, reached through the runtime's one AWS endpoint by unchanged SDK clients: DynamoDB
 * (`DynamoDB_20120810.*`) and DynamoDB Streams (`DynamoDBStreams_20120810.*`) are both forwarded to it.
 * Runs on the jest run's shared DynamoDB Local (test/jest-global-setup.ts).
 */
import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, ListStreamsCommand } from '@aws-sdk/client-dynamodb-streams';
import { AwsEndpoint } from '../../local/endpoint';
import { createTables, tableSpecFrom } from '../../local/engines/tables';
import { ENDPOINT_VARIABLE, startLocalTables } from '../support/local-tables';

const engineEndpoint = process.env[ENDPOINT_VARIABLE]!;
const unused = () => ({ status: 400, body: { __type: 'NotInThisTest' } });
const endpoint = new AwsEndpoint({ sqs: unused, events: unused, stepFunctions: unused, dynamodbEndpoint: engineEndpoint });
let config: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
let ddb: DynamoDBClient;
const prefix = `tables-${process.pid}-`;

beforeAll(async () => {
  expect(engineEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  config = { endpoint: await endpoint.listen(0), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  ddb = new DynamoDBClient(config);
});

afterAll(async () => {
  ddb.destroy();
  await endpoint.close();
});

/** Properties as CloudFormation has them (AWS::DynamoDB::Table). */
const ordersLike = {
  KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
  AttributeDefinitions: [
    { AttributeName: 'orderId', AttributeType: 'S' },
    { AttributeName: 'status', AttributeType: 'S' },
    { AttributeName: 'at', AttributeType: 'S' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
  GlobalSecondaryIndexes: [{ IndexName: 'byStatus', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }],
  StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
  TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
};

test('a table resource with a GSI, a stream and TTL becomes that table; creating again (a restart) changes nothing', async () => {
  const spec = tableSpecFrom(`${prefix}orders`, ordersLike);
  expect(spec).toMatchObject({ streamViewType: 'NEW_AND_OLD_IMAGES', timeToLiveAttribute: 'expiresAt' });
  await createTables(ddb, [spec]);
  await createTables(ddb, [spec]);
  const { Table } = await ddb.send(new DescribeTableCommand({ TableName: spec.name }));
  expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
  expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['byStatus']);
  const { TimeToLiveDescription } = await ddb.send(new DescribeTimeToLiveCommand({ TableName: spec.name }));
  expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
});

test('an existing table (kept in a data directory) gets the stream and TTL its resource now asks for', async () => {
  const name = `${prefix}older`;
  await ddb.send(new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }] }));
  await createTables(ddb, [tableSpecFrom(name, { ...ordersLike, AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }], GlobalSecondaryIndexes: undefined })]);
  const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
  expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
  expect((await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
});

test('a table without StreamSpecification or TimeToLiveSpecification has neither', async () => {
  const name = `${prefix}plain`;
  await createTables(ddb, [tableSpecFrom(name, { ...ordersLike, StreamSpecification: undefined, TimeToLiveSpecification: { AttributeName: 'x', Enabled: false } })]);
  const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
  expect(Table?.StreamSpecification).toBeUndefined();
  expect((await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
});

test('the DynamoDB Streams SDK client reads the stream through the one AWS endpoint (X-Amz-Target DynamoDBStreams_20120810.*)', async () => {
  const name = `${prefix}streamed`;
  await createTables(ddb, [tableSpecFrom(name, ordersLike)]);
  await ddb.send(new PutItemCommand({ TableName: name, Item: { orderId: { S: 'o-1' }, status: { S: 'PENDING' }, at: { S: '1' } } }));
  await ddb.send(new UpdateItemCommand({ TableName: name, Key: { orderId: { S: 'o-1' } }, UpdateExpression: 'SET #s = :r', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':r': { S: 'RESERVED' } } }));

  const streams = new DynamoDBStreamsClient(config);
  const targets: string[] = [];
  streams.middlewareStack.add(
    (next) => async (args) => {
      targets.push(String((args.request as { headers: Record<string, string> }).headers['x-amz-target']));
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
  try {
    const { Streams = [] } = await streams.send(new ListStreamsCommand({ TableName: name }));
    expect(Streams).toHaveLength(1);
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: Streams[0].StreamArn }));
    expect(StreamDescription?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    const { ShardIterator } = await streams.send(new GetShardIteratorCommand({ StreamArn: Streams[0].StreamArn, ShardId: StreamDescription!.Shards![0].ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const { Records = [] } = await streams.send(new GetRecordsCommand({ ShardIterator }));
    expect(Records.map((r) => [r.eventName, r.dynamodb?.OldImage?.status?.S, r.dynamodb?.NewImage?.status?.S])).toEqual([
      ['INSERT', undefined, 'PENDING'],
      ['MODIFY', 'PENDING', 'RESERVED'],
    ]);
  } finally {
    streams.destroy();
  }
  expect(targets).toEqual(['ListStreams', 'DescribeStream', 'GetShardIterator', 'GetRecords'].map((op) => `DynamoDBStreams_20120810.${op}`));
});

test('test tables: startLocalTables() puts a NEW_AND_OLD_IMAGES stream on the orders table (and only there), { streams: false } none; stop() deletes them', async () => {
  const withStream = await startLocalTables();
  const without = await startLocalTables({ streams: false });
  try {
    expect(withStream.names.orders).not.toBe(without.names.orders);
    const describe = async (name: string) => (await withStream.raw.send(new DescribeTableCommand({ TableName: name }))).Table?.StreamSpecification;
    expect(await describe(withStream.names.orders)).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(await describe(withStream.names.inventory)).toBeUndefined();
    expect(await describe(without.names.orders)).toBeUndefined();
  } finally {
    await without.stop();
    await withStream.stop();
  }
  await expect(ddb.send(new DescribeTableCommand({ TableName: withStream.names.orders }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
});
