/**
 * Tables made from the synthesized template (keys, indexes with their projections, stream), under a fresh prefix
 * each time, on DynamoDB Local: a test runs against the tables as deployed.
 */
import { startDynamoDBLocal as startEngine } from '../../local/dynamodb/dynamodb-local';
import { ENDPOINT_VARIABLE } from '../support/local-tables';
import { CreateTableCommand, CreateTableCommandInput, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, _Record } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Template } from 'aws-cdk-lib/assertions';
import { resources } from './cfn';

export interface DynamoDBLocal {
  endpoint: string;
  raw: DynamoDBClient;
  client: DynamoDBDocumentClient;
  streams: DynamoDBStreamsClient;
  stop(): Promise<void>;
}

/**
 * The run's shared DynamoDB Local (test/jest-global-setup.ts), or an engine of its own outside jest
 * (local/dynamodb/dynamodb-local.ts: loopback only, never orphaned).
 */
export async function startDynamoDBLocal(): Promise<DynamoDBLocal> {
  const shared = process.env[ENDPOINT_VARIABLE];
  const own = shared ? undefined : await startEngine();
  const endpoint = shared ?? own!.endpoint;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  const streams = new DynamoDBStreamsClient({ endpoint, region: 'us-east-1', credentials });
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return {
    endpoint,
    raw,
    client,
    streams,
    async stop() {
      raw.destroy();
      streams.destroy();
      await own?.stop();
    },
  };
}

/**
 * Creates every AWS::DynamoDB::GlobalTable of the template as `<prefix>-<logical id>`, with its key schema,
 * attribute definitions, global secondary indexes (projections included) and stream; returns the names by logical id.
 */
export async function createTablesFromTemplate(db: DynamoDBLocal, template: Template, prefix: string): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const [id, table] of Object.entries(resources(template, 'AWS::DynamoDB::GlobalTable'))) {
    const p = table.Properties;
    const input: CreateTableCommandInput = {
      TableName: `${prefix}-${id}`,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: p.KeySchema,
      AttributeDefinitions: p.AttributeDefinitions,
      ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes.map((i: any) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection })) } : {}),
      ...(p.StreamSpecification ? { StreamSpecification: { StreamEnabled: true, StreamViewType: p.StreamSpecification.StreamViewType } } : {}),
    };
    await db.raw.send(new CreateTableCommand(input));
    names[id] = input.TableName!;
  }
  return names;
}

/** Every record of the table's stream so far, shard by shard from TRIM_HORIZON, in order. */
export async function streamRecords(db: DynamoDBLocal, tableName: string): Promise<_Record[]> {
  const { Table } = await db.raw.send(new DescribeTableCommand({ TableName: tableName }));
  if (!Table?.LatestStreamArn) throw new Error(`${tableName} has no stream`);
  const { StreamDescription } = await db.streams.send(new DescribeStreamCommand({ StreamArn: Table.LatestStreamArn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator: iterator } = await db.streams.send(new GetShardIteratorCommand({ StreamArn: Table.LatestStreamArn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
    while (iterator) {
      const { Records = [], NextShardIterator } = await db.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      records.push(...Records);
      if (!Records.length) break;
      iterator = NextShardIterator;
    }
  }
  return records;
}
