/**
 * One DynamoDB Local (in memory) for the whole jest run: its endpoint goes to the workers in
 * DYNAMODB_LOCAL_ENDPOINT (test/support/local-tables.ts), and the global teardown stops it.
 */
import { startDynamoDBLocal } from '../local/dynamodb/dynamodb-local';
import { checkJava } from '../local/requirements';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ENDPOINT_VARIABLE } from './support/local-tables';
import { E2E_ASSEMBLY_VARIABLE } from './support/e2e-assembly';

export default async function globalSetup(): Promise<void> {
  const java = checkJava();
  if (!java.ok) {
    // One line (what to install), not a stack trace.
    const error = new Error(java.message);
    error.stack = java.message;
    throw error;
  }
  // Everything the run puts in the temp directory (each CDK synth's cdk.out, tables' and queues' data directories,
  // bundles) goes under one directory of its own, removed at teardown: a run used to leave ~250 cdk.out directories.
  const runTmp = mkdtempSync(path.join(tmpdir(), 'order-pipeline-test-'));
  (globalThis as { runTmp?: string }).runTmp = runTmp;
  process.env.TMPDIR = runTmp;
  const engine = await startDynamoDBLocal();
  (globalThis as { dynamoDBLocal?: typeof engine }).dynamoDBLocal = engine;
  process.env[ENDPOINT_VARIABLE] = engine.endpoint;
  // Where the end-to-end suites share one synthesized assembly (test/support/e2e-assembly.ts); removed at teardown.
  // A directory given by the caller is kept (a development loop can reuse its assembly across runs).
  if (!process.env[E2E_ASSEMBLY_VARIABLE]) {
    process.env[E2E_ASSEMBLY_VARIABLE] = mkdtempSync(path.join(tmpdir(), 'order-pipeline-assembly-'));
    (globalThis as { ownsE2eAssembly?: boolean }).ownsE2eAssembly = true;
  }
}
