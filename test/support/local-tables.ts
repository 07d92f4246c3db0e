/**
 * A real DynamoDB engine for tests: DynamoDB Local (AWS's own engine, in memory, on 127.0.0.1), with tables made
 * from the shared table schema. Transactions, conditional writes, GSIs, queries, streams and TTL behave as
 * DynamoDB's do (differences: docs/local-runtime.md).
 *
 * Under jest, one DynamoDB Local serves the whole run (test/jest-global-setup.ts puts its endpoint in
 * DYNAMODB_LOCAL_ENDPOINT); each call creates its own tables under a unique prefix, since test files run in
 * parallel, and stop() deletes them. Outside jest (no endpoint given) a call starts, and stop() stops, its own engine.
 */
import { CreateTableCommand, CreateTableCommandInput, DeleteTableCommand, DynamoDBClient, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IDEMPOTENCY_TABLE, INVENTORY_TABLE, NOTIFICATIONS_TABLE, ORDERS_TABLE } from '../../functions/adapters/table-schema';
import { DynamoDBLocal, startDynamoDBLocal } from '../../local/dynamodb/dynamodb-local';

/** Set by the jest global setup: the run's shared DynamoDB Local. */
export const ENDPOINT_VARIABLE = 'DYNAMODB_LOCAL_ENDPOINT';

export interface LocalTables {
  endpoint: string;
  client: DynamoDBDocumentClient;
  /** The same tables without the document layer (attribute values as DynamoDB sends them). */
  raw: DynamoDBClient;
  names: { orders: string; inventory: string; idempotency: string; notifications: string };
  stop(): Promise<void>;
}

export interface LocalTablesOptions {
  /** The orders table's stream (NEW_AND_OLD_IMAGES, as the stack has it): on unless false. */
  streams?: boolean;
}

const key = (partitionKey: string, sortKey?: string): KeySchemaElement[] => [
  { AttributeName: partitionKey, KeyType: 'HASH' },
  ...(sortKey ? [{ AttributeName: sortKey, KeyType: 'RANGE' as const }] : []),
];

let calls = 0;

export async function startLocalTables(options: LocalTablesOptions = {}): Promise<LocalTables> {
  const shared = process.env[ENDPOINT_VARIABLE];
  const own: DynamoDBLocal | undefined = shared ? undefined : await startDynamoDBLocal();
  const endpoint = shared ?? own!.endpoint;
  const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const prefix = `t${process.pid}-${++calls}-`;
  const names = { orders: `${prefix}orders`, inventory: `${prefix}inventory`, idempotency: `${prefix}idempotency`, notifications: `${prefix}notifications` };
  const S = 'S' as const;
  const indexes = Object.values(ORDERS_TABLE.indexes);
  const attributeNames = new Set<string>([ORDERS_TABLE.partitionKey, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])]);
  const tables: CreateTableCommandInput[] = [
    {
      TableName: names.orders,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: key(ORDERS_TABLE.partitionKey),
      AttributeDefinitions: [...attributeNames].map((AttributeName) => ({ AttributeName, AttributeType: S })),
      // The projections the stack declares: a query sees exactly what it would see on AWS.
      GlobalSecondaryIndexes: indexes.map((i) => ({
        IndexName: i.name,
        KeySchema: key(i.partitionKey, i.sortKey),
        Projection: 'keysOnly' in i.projection ? { ProjectionType: 'KEYS_ONLY' } : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...i.projection.include] },
      })),
      // As the stack has it (the event relay's source), unless a test asks for none.
      StreamSpecification: options.streams === false ? undefined : { StreamEnabled: true, StreamViewType: ORDERS_TABLE.stream },
    },
    { TableName: names.inventory, BillingMode: 'PAY_PER_REQUEST', KeySchema: key(INVENTORY_TABLE.partitionKey), AttributeDefinitions: [{ AttributeName: INVENTORY_TABLE.partitionKey, AttributeType: S }] },
    { TableName: names.idempotency, BillingMode: 'PAY_PER_REQUEST', KeySchema: key(IDEMPOTENCY_TABLE.partitionKey), AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_TABLE.partitionKey, AttributeType: S }] },
    {
      TableName: names.notifications,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: key(NOTIFICATIONS_TABLE.partitionKey, NOTIFICATIONS_TABLE.sortKey),
      AttributeDefinitions: [NOTIFICATIONS_TABLE.partitionKey, NOTIFICATIONS_TABLE.sortKey].map((AttributeName) => ({ AttributeName, AttributeType: S })),
    },
  ];
  try {
    for (const table of tables) await raw.send(new CreateTableCommand(table));
  } catch (error) {
    raw.destroy();
    await own?.stop();
    throw error;
  }
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    client,
    raw,
    names,
    stop: () =>
      (stopping ??= (async () => {
        try {
          if (!own) for (const table of tables) await raw.send(new DeleteTableCommand({ TableName: table.TableName }));
        } finally {
          raw.destroy();
          await own?.stop();
        }
      })()),
  };
}
