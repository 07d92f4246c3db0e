/** Stops the run's DynamoDB Local (started by test/jest-global-setup.ts) and waits for the JVM to exit. */
import { rmSync } from 'node:fs';
import type { DynamoDBLocal } from '../local/dynamodb/dynamodb-local';
import { E2E_ASSEMBLY_VARIABLE } from './support/e2e-assembly';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { dynamoDBLocal?: DynamoDBLocal };
  await holder.dynamoDBLocal?.stop();
  holder.dynamoDBLocal = undefined;
  const assembly = process.env[E2E_ASSEMBLY_VARIABLE];
  if (assembly && (globalThis as { ownsE2eAssembly?: boolean }).ownsE2eAssembly) rmSync(assembly, { recursive: true, force: true });
  const runTmp = (globalThis as { runTmp?: string }).runTmp;
  if (runTmp) rmSync(runTmp, { recursive: true, force: true });
}
