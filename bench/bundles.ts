/**
 * Bundles against their baselines (issue 10, item 1). For each function: the bundle CDK ships (from the synthesized
 * assembly) and a baseline bundle holding only the AWS SDK clients that function's access map says it calls
 * (lib/function-access.ts), with the commands it sends, built by esbuild with the same settings (ESBUILD_OPTIONS). Figures:
 * bytes, and cold load: a fresh Node process requiring the bundle with the function's own NODE_OPTIONS (time from
 * before require to after it, measured inside the process), baseline and bundle in alternating rounds, medians.
 *
 * What it does not measure yet: the first event served against the local endpoints (INIT plus the first calls).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { Access, FunctionName, FUNCTION_NAMES, functionAccess } from '../lib/function-access';
import { ESBUILD_OPTIONS } from '../lib/pipeline-function';
import { median } from './stats';

/** The budget: a bundle at most 1.25x its baseline, in bytes and in cold load time. */
export const BUNDLE_BUDGET = 1.25;

export interface BundleFigures {
  bytes: number;
  baselineBytes: number;
  sizeRatio: number;
  initMs: number;
  baselineInitMs: number;
  initRatio: number;
  nodeOptions: string;
}

export interface DeployedBundle {
  /** index.js of the function's asset. */
  file: string;
  nodeOptions: string;
}

const DOCUMENT_COMMANDS: Record<string, string> = {
  'dynamodb:GetItem': 'GetCommand',
  'dynamodb:BatchGetItem': 'BatchGetCommand',
  'dynamodb:PutItem': 'PutCommand',
  'dynamodb:UpdateItem': 'UpdateCommand',
  'dynamodb:DeleteItem': 'DeleteCommand',
  'dynamodb:ConditionCheckItem': 'TransactWriteCommand',
};

/**
 * A handler that makes the function's calls by hand: each SDK client it uses, created once, and one send of each
 * command its access map names (a transaction when it writes two tables, as the saga does).
 */
export function baselineSource(access: Access): string {
  const lines: string[] = [];
  const calls: string[] = [];
  const tableActions = Object.values(access.tables ?? {}).flat();
  if (tableActions.length || access.queries?.length) {
    const commands = new Set(tableActions.map((a) => DOCUMENT_COMMANDS[a]!));
    if (access.queries?.length) commands.add('QueryCommand');
    const writes = Object.values(access.tables ?? {}).filter((actions) => actions.some((a) => a !== 'dynamodb:GetItem' && a !== 'dynamodb:BatchGetItem'));
    if (writes.length > 1) commands.add('TransactWriteCommand');
    lines.push(`import { DynamoDBClient } from '@aws-sdk/client-dynamodb';`);
    lines.push(`import { DynamoDBDocumentClient, ${[...commands].sort().join(', ')} } from '@aws-sdk/lib-dynamodb';`);
    lines.push(`const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));`);
    for (const command of [...commands].sort()) calls.push(`await dynamo.send(new ${command}(event.${command}));`);
  }
  if (access.bus?.length) {
    lines.push(`import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';`, `const events = new EventBridgeClient({});`);
    calls.push(`await events.send(new PutEventsCommand(event.PutEvents));`);
  }
  if (access.notificationTopic?.length) {
    lines.push(`import { SNSClient, PublishCommand } from '@aws-sdk/client-sns';`, `const sns = new SNSClient({});`);
    calls.push(`await sns.send(new PublishCommand(event.Publish));`);
  }
  if (access.relayDeadLetterQueue?.length) {
    lines.push(`import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';`, `const sqs = new SQSClient({});`);
    calls.push(`await sqs.send(new SendMessageCommand(event.SendMessage));`);
  }
  lines.push(`export const handler = async (event) => {`, ...calls.map((c) => `  ${c}`), `  return {};`, `};`);
  return `${lines.join('\n')}\n`;
}

/** Builds the baseline bundle of each function into dir/<name>/index.js. */
export function buildBaselines(dir: string, channel: 'table' | 'sns' = 'table'): Record<FunctionName, string> {
  const access = functionAccess(channel);
  const out = {} as Record<FunctionName, string>;
  for (const name of FUNCTION_NAMES) {
    const src = path.join(dir, name, 'baseline.mjs');
    mkdirSync(path.dirname(src), { recursive: true });
    writeFileSync(src, baselineSource(access[name]));
    out[name] = path.join(dir, name, 'index.js');
    buildSync({
      entryPoints: [src],
      outfile: out[name],
      ...ESBUILD_OPTIONS,
      // Resolved from this repository's node_modules, as the functions' own bundles are.
      absWorkingDir: path.resolve(__dirname, '..'),
      nodePaths: [path.resolve(__dirname, '..', 'node_modules')],
      logLevel: 'silent',
    });
  }
  return out;
}

/** One cold load: a fresh process requires the bundle; the milliseconds require took, measured inside it. */
export function coldLoadMs(file: string, nodeOptions: string): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const run = spawnSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', POWERTOOLS_SERVICE_NAME: 'bench', NODE_OPTIONS: nodeOptions },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`loading ${file} failed: ${run.stderr}`);
  return Number(run.stdout);
}

/** Bytes and cold load of each deployed bundle against its baseline, in `rounds` alternating rounds. */
export function measureBundles(deployed: Record<FunctionName, DeployedBundle>, baselines: Record<FunctionName, string>, rounds: number): Record<FunctionName, BundleFigures> {
  const result = {} as Record<FunctionName, BundleFigures>;
  for (const name of FUNCTION_NAMES) {
    const { file, nodeOptions } = deployed[name];
    const loads: number[] = [];
    const baselineLoads: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternating, so that a slower moment of a shared machine hits both alike.
      baselineLoads.push(coldLoadMs(baselines[name], nodeOptions));
      loads.push(coldLoadMs(file, nodeOptions));
    }
    const bytes = statSync(file).size;
    const baselineBytes = statSync(baselines[name]).size;
    const initMs = median(loads);
    const baselineInitMs = median(baselineLoads);
    result[name] = { bytes, baselineBytes, sizeRatio: bytes / baselineBytes, initMs, baselineInitMs, initRatio: initMs / baselineInitMs, nodeOptions };
  }
  return result;
}
