/**
 * One DynamoDB Local (in memory) for the whole jest run: its endpoint goes to the workers in
 * DYNAMODB_LOCAL_ENDPOINT (test/support/local-tables.ts), and the global teardown stops it.
 */
import { startDynamoDBLocal } from '../local/dynamodb/dynamodb-local';
import { checkJava } from '../local/requirements';
import { ENDPOINT_VARIABLE } from './support/local-tables';

export default async function globalSetup(): Promise<void> {
  const java = checkJava();
  if (!java.ok) {
    // One line (what to install), not a stack trace.
    const error = new Error(java.message);
    error.stack = java.message;
    throw error;
  }
  const engine = await startDynamoDBLocal();
  (globalThis as { dynamoDBLocal?: typeof engine }).dynamoDBLocal = engine;
  process.env[ENDPOINT_VARIABLE] = engine.endpoint;
}
