/** Stops the run's DynamoDB Local (started by test/jest-global-setup.ts) and waits for the JVM to exit. */
import type { DynamoDBLocal } from '../local/dynamodb/dynamodb-local';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { dynamoDBLocal?: DynamoDBLocal };
  await holder.dynamoDBLocal?.stop();
  holder.dynamoDBLocal = undefined;
}
