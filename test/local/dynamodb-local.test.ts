/**
 * The DynamoDB Local process (local/dynamodb/dynamodb-local.ts): started on a free port, stopped by its pid and
 * waited for, kept on disk with -dbPath, and never orphaned: when the Node process that started it is killed with
 * SIGKILL, its watchdog stops the JVM, which frees the port and the database file for the next start.
 */
import { DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startDynamoDBLocal } from '../../local/dynamodb/dynamodb-local';
import { eventually } from '../support/eventually';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'dynamodb-local-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const client = (endpoint: string) => new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'any', secretAccessKey: 'any' }, maxAttempts: 1 });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The command line of a running process (ps works on Linux and macOS). */
const commandOf = (pid: number) => spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();

async function refuses(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}

async function putAndCreate(endpoint: string, value: string): Promise<void> {
  const ddb = client(endpoint);
  try {
    await ddb.send(new CreateTableCommand({ TableName: 'kept', BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }));
    await ddb.send(new PutItemCommand({ TableName: 'kept', Item: { pk: { S: 'a' }, value: { S: value } } }));
  } finally {
    ddb.destroy();
  }
}

async function read(endpoint: string): Promise<string | undefined> {
  const ddb = client(endpoint);
  try {
    return (await ddb.send(new GetItemCommand({ TableName: 'kept', Key: { pk: { S: 'a' } }, ConsistentRead: true }))).Item?.value?.S;
  } finally {
    ddb.destroy();
  }
}

test('in memory, bound to 127.0.0.1: answers once started; stop() ends the JVM by its pid, waits for it and frees the port', async () => {
  const engine = await startDynamoDBLocal();
  expect(engine.endpoint).toBe(`http://127.0.0.1:${engine.port}`);
  expect(engine.listensOn).toBe('127.0.0.1');
  expect(commandOf(engine.pid)).toMatch(/^java .*DynamoDBLocal\.jar.* LoopbackDynamoDBLocal -port \d+ -inMemory -sharedDb -disableTelemetry$/);
  const ddb = client(engine.endpoint);
  expect((await ddb.send(new ListTablesCommand({}))).TableNames).toEqual([]);
  ddb.destroy();
  await engine.stop();
  expect(alive(engine.pid)).toBe(false);
  expect(await refuses(engine.endpoint)).toBe(true);
  await engine.stop(); // a second stop is a no-op
});

test('-dbPath: what was written is there after a stop and a new start on the same directory, whatever region and keys', async () => {
  const dbPath = path.join(work, 'stopped');
  const first = await startDynamoDBLocal({ dbPath });
  await putAndCreate(first.endpoint, 'written before stop');
  await first.stop();
  const second = await startDynamoDBLocal({ dbPath });
  try {
    expect(second.port).not.toBe(0);
    expect(await read(second.endpoint)).toBe('written before stop');
  } finally {
    await second.stop();
  }
});

test('kill -9 of the Node process that started it: the JVM stops too (no orphan), and the data survives a restart', async () => {
  const dbPath = path.join(work, 'killed');
  const script = `require('./local/dynamodb/dynamodb-local').startDynamoDBLocal({ dbPath: ${JSON.stringify(dbPath)} }).then((e) => console.log(JSON.stringify({ pid: e.pid, endpoint: e.endpoint })));`;
  const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const started = await new Promise<{ pid: number; endpoint: string }>((resolve, reject) => {
    let out = '';
    parent.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
    parent.once('exit', (code) => reject(new Error(`the parent exited early (${code}): ${out}`)));
  });
  expect(commandOf(started.pid)).toContain('DynamoDBLocal.jar');
  await putAndCreate(started.endpoint, 'written before kill -9');

  const parentExited = new Promise((resolve) => parent.once('exit', resolve));
  parent.kill('SIGKILL');
  await parentExited;
  await eventually(async () => expect(alive(started.pid)).toBe(false), 10_000);
  expect(await refuses(started.endpoint)).toBe(true);

  const again = await startDynamoDBLocal({ dbPath });
  try {
    expect(await read(again.endpoint)).toBe('written before kill -9');
  } finally {
    await again.stop();
  }
});
