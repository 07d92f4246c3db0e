/**
 * DynamoDB: DynamoDB Local (AWS's own engine, a child JVM: local/dynamodb/dynamodb-local.ts), in memory or on
 * SQLite in the data directory, with the template's tables: keys, GSIs/LSIs, streams (StreamSpecification) and TTL
 * (TimeToLiveSpecification, applied with UpdateTimeToLive; DynamoDB Local does delete expired items).
 */
import {
  CreateTableCommand,
  CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  StreamViewType,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBLocal, startDynamoDBLocal } from '../dynamodb/dynamodb-local';

type KeySchema = { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];

export interface TableSpec {
  name: string;
  keySchema: KeySchema;
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  globalSecondaryIndexes?: { IndexName: string; KeySchema: KeySchema; Projection: Record<string, unknown> }[];
  localSecondaryIndexes?: { IndexName: string; KeySchema: KeySchema; Projection: Record<string, unknown> }[];
  /** From the resource's StreamSpecification (CloudFormation has only the view type: a stream is on when it is set). */
  streamViewType?: StreamViewType;
  /** From the resource's TimeToLiveSpecification, when enabled. */
  timeToLiveAttribute?: string;
}

/** A table from an AWS::DynamoDB::Table or AWS::DynamoDB::GlobalTable resource's properties. */
export function tableSpecFrom(name: string, properties: Record<string, unknown>): TableSpec {
  const strip = (indexes: unknown) =>
    Array.isArray(indexes) && indexes.length
      ? indexes.map((i: Record<string, unknown>) => ({ IndexName: i.IndexName as string, KeySchema: i.KeySchema as KeySchema, Projection: (i.Projection ?? { ProjectionType: 'ALL' }) as Record<string, unknown> }))
      : undefined;
  const stream = properties.StreamSpecification as { StreamViewType?: StreamViewType } | undefined;
  const ttl = properties.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean | string } | undefined;
  return {
    name,
    keySchema: properties.KeySchema as TableSpec['keySchema'],
    attributeDefinitions: properties.AttributeDefinitions as TableSpec['attributeDefinitions'],
    globalSecondaryIndexes: strip(properties.GlobalSecondaryIndexes),
    localSecondaryIndexes: strip(properties.LocalSecondaryIndexes),
    streamViewType: stream?.StreamViewType,
    timeToLiveAttribute: ttl?.AttributeName && (ttl.Enabled === true || ttl.Enabled === 'true') ? ttl.AttributeName : undefined,
  };
}

/**
 * Creates the tables that do not exist yet (a data directory keeps them across restarts); on an existing table,
 * turns on the stream and TTL the spec asks for when they are off (keys and indexes are left as they are).
 */
export async function createTables(client: DynamoDBClient, tables: TableSpec[]): Promise<void> {
  for (const t of tables) {
    const input: CreateTableCommandInput = {
      TableName: t.name,
      KeySchema: t.keySchema,
      AttributeDefinitions: t.attributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: t.globalSecondaryIndexes,
      LocalSecondaryIndexes: t.localSecondaryIndexes,
      StreamSpecification: t.streamViewType ? { StreamEnabled: true, StreamViewType: t.streamViewType } : undefined,
    };
    let created = true;
    try {
      await client.send(new CreateTableCommand(input));
    } catch (error) {
      if ((error as Error).name !== 'ResourceInUseException') throw error;
      created = false;
    }
    if (!created && t.streamViewType) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: t.name }));
      if (!Table?.StreamSpecification?.StreamEnabled) {
        await client.send(new UpdateTableCommand({ TableName: t.name, StreamSpecification: { StreamEnabled: true, StreamViewType: t.streamViewType } }));
      }
    }
    if (t.timeToLiveAttribute) {
      const { TimeToLiveDescription } = created ? { TimeToLiveDescription: undefined } : await client.send(new DescribeTimeToLiveCommand({ TableName: t.name }));
      if (TimeToLiveDescription?.TimeToLiveStatus !== 'ENABLED') {
        await client.send(new UpdateTimeToLiveCommand({ TableName: t.name, TimeToLiveSpecification: { AttributeName: t.timeToLiveAttribute, Enabled: true } }));
      }
    }
  }
}

export class TablesEngine {
  private engine?: DynamoDBLocal;
  endpoint = '';
  /** Said at start: a data directory still holding the former engine's (dynalite's) files; DynamoDB Local not on 127.0.0.1 only. */
  readonly warnings: string[] = [];

  constructor(private readonly options: { dataDirectory?: string }) {}

  /**
   * Starts the JVM and resolves once it answers. `onSpawn` is called as soon as the process exists: the runtime
   * synthesizes the app (a busy thread) meanwhile, and the JVM boots in parallel.
   */
  async start(onSpawn?: () => void): Promise<string> {
    const dir = this.options.dataDirectory;
    if (dir && existsSync(path.join(dir, 'CURRENT')) && !existsSync(path.join(dir, 'shared-local-instance.db'))) {
      this.warnings.push(`${dir} holds tables of the former engine (dynalite, LevelDB), which DynamoDB Local does not read: they start empty`);
    }
    this.engine = await startDynamoDBLocal({ dbPath: dir, onSpawn });
    this.endpoint = this.engine.endpoint;
    if (this.engine.listensOn !== '127.0.0.1') {
      this.warnings.push(
        `DynamoDB Local listens on every interface (port ${this.engine.port}, no authentication): this Java runtime has no jdk.compiler module to build the 127.0.0.1 launcher (Debian's openjdk-17-jre-headless and any JDK 17+ have it)`,
      );
    }
    return this.endpoint;
  }

  async createTables(tables: TableSpec[], region: string): Promise<void> {
    const client = new DynamoDBClient({ endpoint: this.endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      await createTables(client, tables);
    } finally {
      client.destroy();
    }
  }

  /** Stops the JVM and waits for it to exit, so the same data directory can be opened again. */
  async stop(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    await engine?.stop();
  }
}
