/**
 * DynamoDB: dynalite in process, in memory or on LevelDB in the data directory, with the template's tables,
 * keys and GSIs. Missing locally: transactions, TTL expiry (UpdateTimeToLive fails), streams.
 */
import { CreateTableCommand, CreateTableCommandInput, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { mkdirSync } from 'node:fs';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

export interface TableSpec {
  name: string;
  keySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  globalSecondaryIndexes?: { IndexName: string; KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[]; Projection: Record<string, unknown> }[];
  localSecondaryIndexes?: { IndexName: string; KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[]; Projection: Record<string, unknown> }[];
}

/** A table from an AWS::DynamoDB::Table or AWS::DynamoDB::GlobalTable resource's properties. */
export function tableSpecFrom(name: string, properties: Record<string, unknown>): TableSpec {
  const strip = (indexes: unknown) =>
    Array.isArray(indexes) && indexes.length
      ? indexes.map((i: Record<string, unknown>) => ({ IndexName: i.IndexName as string, KeySchema: i.KeySchema as TableSpec['keySchema'], Projection: (i.Projection ?? { ProjectionType: 'ALL' }) as Record<string, unknown> }))
      : undefined;
  return {
    name,
    keySchema: properties.KeySchema as TableSpec['keySchema'],
    attributeDefinitions: properties.AttributeDefinitions as TableSpec['attributeDefinitions'],
    globalSecondaryIndexes: strip(properties.GlobalSecondaryIndexes),
    localSecondaryIndexes: strip(properties.LocalSecondaryIndexes),
  };
}

export class TablesEngine {
  private server?: Server;
  endpoint = '';

  constructor(private readonly options: { dataDirectory?: string }) {}

  async start(): Promise<string> {
    if (this.options.dataDirectory) mkdirSync(this.options.dataDirectory, { recursive: true });
    this.server = dynalite({ path: this.options.dataDirectory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  /** Creates the tables that do not exist yet (a data directory keeps them across restarts). */
  async createTables(tables: TableSpec[], region: string): Promise<void> {
    const client = new DynamoDBClient({ endpoint: this.endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      for (const t of tables) {
        const input: CreateTableCommandInput = {
          TableName: t.name,
          KeySchema: t.keySchema,
          AttributeDefinitions: t.attributeDefinitions,
          BillingMode: 'PAY_PER_REQUEST',
          GlobalSecondaryIndexes: t.globalSecondaryIndexes,
          LocalSecondaryIndexes: t.localSecondaryIndexes,
        };
        try {
          await client.send(new CreateTableCommand(input));
        } catch (error) {
          if (!(error instanceof ResourceInUseException) && (error as Error).name !== 'ResourceInUseException') throw error;
        }
      }
    } finally {
      client.destroy();
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Closing the dynalite server also closes its LevelDB, so the same data directory can be opened again.
  }
}
