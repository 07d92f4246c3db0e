/**
 * A DynamoDB Local with the template's tables, for the sections that call DynamoDB without the runtime (warm API,
 * ceiling), and the table names as a function of the template sees them (its environment, by the names in ENV).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from '../functions/shared/env';
import { CfnTemplate } from '../local/assembly/cloud-assembly';
import { localName } from '../local/assembly/local-names';
import { startDynamoDBLocal } from '../local/dynamodb/dynamodb-local';
import { createTables, tableSpecFrom } from '../local/engines/tables';

export type Template = CfnTemplate;

/** A function's environment as Lambda gives it here: a `Ref` is the resource's local name (a table's name). */
export function functionEnvironment(template: Template, logicalId: string): Record<string, string> {
  const variables = ((template.Resources[logicalId]?.Properties ?? {}) as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables ?? {};
  return Object.fromEntries(
    Object.entries(variables).map(([key, value]) => {
      if (typeof value === 'string') return [key, value];
      const ref = (value as { Ref?: string }).Ref;
      if (!ref) throw new Error(`cannot resolve ${key} = ${JSON.stringify(value)} for the bench`);
      return [key, localName(template, ref)];
    }),
  );
}

export interface BenchTables {
  endpoint: string;
  client: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  /** The orders, inventory and idempotency tables, as the API function is told them. */
  names: { orders: string; inventory: string; idempotency: string };
  stop(): Promise<void>;
}

/** `endpoint`: a DynamoDB Local already running (the tests'); else one of its own, stopped by stop(). */
export async function templateTables(template: Template, apiLogicalId: string, endpoint?: string): Promise<BenchTables> {
  const engine = endpoint ? { endpoint, stop: async () => undefined } : await startDynamoDBLocal();
  const client = new DynamoDBClient({ endpoint: engine.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const tables = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::DynamoDB::GlobalTable');
  await createTables(client, tables.map(([id, r]) => tableSpecFrom(localName(template, id), (r.Properties ?? {}) as Record<string, unknown>)));
  const env = functionEnvironment(template, apiLogicalId);
  return {
    endpoint: engine.endpoint,
    client,
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    names: { orders: env[ENV.ordersTable]!, inventory: env[ENV.inventoryTable]!, idempotency: env[ENV.idempotencyTable]! },
    async stop() {
      client.destroy();
      await engine.stop();
    },
  };
}
