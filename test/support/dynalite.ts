/**
 * A real DynamoDB engine for tests: dynalite in memory on 127.0.0.1, with tables made from the shared table
 * schema. Conditional writes, GSIs and queries behave as DynamoDB's do (no transactions, no TTL).
 */
import { CreateTableCommand, DynamoDBClient, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AddressInfo } from 'node:net';
import { IDEMPOTENCY_TABLE, INVENTORY_TABLE, NOTIFICATIONS_TABLE, ORDERS_TABLE } from '../../functions/adapters/table-schema';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => import('node:http').Server;

export interface LocalTables {
  endpoint: string;
  client: DynamoDBDocumentClient;
  names: { orders: string; inventory: string; idempotency: string; notifications: string };
  stop(): Promise<void>;
}

const key = (partitionKey: string, sortKey?: string): KeySchemaElement[] => [
  { AttributeName: partitionKey, KeyType: 'HASH' },
  ...(sortKey ? [{ AttributeName: sortKey, KeyType: 'RANGE' as const }] : []),
];

export async function startLocalTables(): Promise<LocalTables> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const names = { orders: 'orders', inventory: 'inventory', idempotency: 'idempotency', notifications: 'notifications' };
  const S = 'S' as const;
  const indexes = Object.values(ORDERS_TABLE.indexes);
  const attributeNames = new Set<string>([ORDERS_TABLE.partitionKey, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])]);
  await raw.send(
    new CreateTableCommand({
      TableName: names.orders,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: key(ORDERS_TABLE.partitionKey),
      AttributeDefinitions: [...attributeNames].map((AttributeName) => ({ AttributeName, AttributeType: S })),
      GlobalSecondaryIndexes: indexes.map((i) => ({ IndexName: i.name, KeySchema: key(i.partitionKey, i.sortKey), Projection: { ProjectionType: 'ALL' } })),
    }),
  );
  await raw.send(new CreateTableCommand({ TableName: names.inventory, BillingMode: 'PAY_PER_REQUEST', KeySchema: key(INVENTORY_TABLE.partitionKey), AttributeDefinitions: [{ AttributeName: INVENTORY_TABLE.partitionKey, AttributeType: S }] }));
  await raw.send(new CreateTableCommand({ TableName: names.idempotency, BillingMode: 'PAY_PER_REQUEST', KeySchema: key(IDEMPOTENCY_TABLE.partitionKey), AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_TABLE.partitionKey, AttributeType: S }] }));
  await raw.send(
    new CreateTableCommand({
      TableName: names.notifications,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: key(NOTIFICATIONS_TABLE.partitionKey, NOTIFICATIONS_TABLE.sortKey),
      AttributeDefinitions: [NOTIFICATIONS_TABLE.partitionKey, NOTIFICATIONS_TABLE.sortKey].map((AttributeName) => ({ AttributeName, AttributeType: S })),
    }),
  );
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return {
    endpoint,
    client,
    names,
    async stop() {
      raw.destroy();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
