/**
 * The warm API bench measures what it says: the deployed API bundle (bundled as the stack bundles it, with the
 * function's template environment) answers POST /orders against DynamoDB Local, the raw call beside it writes the same
 * item to the same table, and the figures are the ratios of the percentiles it reports.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { build } from 'esbuild';
import { CfnElement } from 'aws-cdk-lib';
import { ESBUILD_OPTIONS } from '../../lib/pipeline-function';
import { measureWarmApi } from '../../bench/warm-api';
import { functionEnvironment } from '../../bench/tables';
import { ENV } from '../../functions/shared/env';
import { ENDPOINT_VARIABLE } from '../support/local-tables';
import { synth } from '../lib/synth';

jest.setTimeout(60_000);

const dir = mkdtempSync(path.join(tmpdir(), 'warm-api-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('POST /orders through the bundle and the raw PutItem each write one order per request; the ratios are of the reported percentiles', async () => {
  const { stack, template } = synth();
  const api = stack.functions.api;
  const apiLogicalId = stack.getLogicalId(api.node.defaultChild as CfnElement);
  const bundle = path.join(dir, 'index.js');
  await build({ ...ESBUILD_OPTIONS, entryPoints: [api.entryPath], outfile: bundle, logLevel: 'silent' });
  const resources = template.toJSON() as Parameters<typeof measureWarmApi>[0]['template'];
  const endpoint = process.env[ENDPOINT_VARIABLE]!;

  const figures = await measureWarmApi({ template: resources, apiLogicalId, bundle, requests: 20, warmup: 2, dynamodbEndpoint: endpoint });

  expect(figures.requests).toBe(20);
  expect(figures.p50Ratio).toBeCloseTo(figures.p50Ms / figures.rawP50Ms, 10);
  expect(figures.p99Ratio).toBeCloseTo(figures.p99Ms / figures.rawP99Ms, 10);
  expect(figures.p99Ms).toBeGreaterThanOrEqual(figures.p50Ms);
  expect(figures.rawP50Ms).toBeGreaterThan(0);
  // The function logs (Powertools JSON on stdout), and those bytes were counted, not printed.
  expect(figures.logBytesPerRequest).toBeGreaterThan(100);
  // One order per request on each path: 1 to copy + 2 x 2 warm-up + 2 x 20 measured.
  const ordersTable = functionEnvironment(resources, apiLogicalId)[ENV.ordersTable]!;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const { Count } = await client.send(new ScanCommand({ TableName: ordersTable, Select: 'COUNT' }));
  client.destroy();
  expect(Count).toBe(1 + 2 * 2 + 2 * 20);
});
