/**
 * Warm API: `POST /orders` through the deployed API bundle, loaded in this process (middy, Powertools logger and
 * metrics, validation, the repository), against DynamoDB Local, versus the one call the route must make: the
 * conditional PutItem of the order, sent by hand with the same SDK, the same item and the same condition. Calls
 * alternate, so drift hits both alike; the figures are p50 and p99 of each and their ratios.
 *
 * The function's log lines are counted, not printed: their bytes per request feed the cost section.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ORDERS_TABLE } from '../functions/adapters/table-schema';
import { httpEvent, lambdaContext } from '../test/functions/shared/fixtures';
import { percentile } from './stats';
import { functionEnvironment, Template, templateTables } from './tables';

/** The budget: the handler within 1.15x of the raw call, at p50 and at p99. */
export const WARM_API_BUDGET = 1.15;

export interface WarmApiFigures {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  rawP50Ms: number;
  rawP99Ms: number;
  p50Ratio: number;
  p99Ratio: number;
  /** What the function wrote to its log per request (CloudWatch Logs ingests it). */
  logBytesPerRequest: number;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** `dynamodbEndpoint`: a DynamoDB Local already running (the tests'); else the bench starts its own. */
export async function measureWarmApi(options: { template: Template; apiLogicalId: string; bundle: string; requests: number; warmup?: number; dynamodbEndpoint?: string }): Promise<WarmApiFigures> {
  const tables = await templateTables(options.template, options.apiLogicalId, options.dynamodbEndpoint);
  const saved = { env: { ...process.env }, write: process.stdout.write };
  let logBytes = 0;
  try {
    const fn = options.template.Resources[options.apiLogicalId]!.Properties as { LoggingConfig?: { LogFormat?: string; ApplicationLogLevel?: string } };
    // The function's environment as Lambda gives it, and nothing of this process's (a test's POWERTOOLS_DEV, say).
    process.env = {
      ...functionEnvironment(options.template, options.apiLogicalId),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL_DYNAMODB: tables.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: options.apiLogicalId,
      AWS_LAMBDA_LOG_FORMAT: fn.LoggingConfig?.LogFormat ?? 'Text',
      ...(fn.LoggingConfig?.ApplicationLogLevel ? { AWS_LAMBDA_LOG_LEVEL: fn.LoggingConfig.ApplicationLogLevel } : {}),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    // The bundle's log lines (Powertools writes through console to stdout) are counted, as CloudWatch would.
    process.stdout.write = ((chunk: string | Uint8Array) => {
      logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      return true;
    }) as typeof process.stdout.write;
    const { handler } = require(options.bundle) as { handler: Handler };
    const context: Context = lambdaContext(options.apiLogicalId);
    const place = async () => {
      const event = httpEvent({ routeKey: 'POST /orders', headers: { 'idempotency-key': randomUUID() }, body: { customerId: 'c-bench', items: [{ sku: 'sku-bench-1', quantity: 1 }, { sku: 'sku-bench-2', quantity: 2 }] } });
      const answer = await handler(event, context);
      if (answer.statusCode !== 201) throw new Error(`POST /orders answered ${answer.statusCode}: ${answer.body}`);
      return JSON.parse(answer.body!) as { orderId: string };
    };

    // The raw call: the item the handler wrote, under a new key, with the handler's condition.
    const { documents, names } = tables;
    const hashKey = ORDERS_TABLE.partitionKey;
    const first = await place();
    const template = (await documents.send(new GetCommand({ TableName: names.orders, Key: { [hashKey]: first.orderId } }))).Item!;
    const raw = () =>
      documents.send(new PutCommand({ TableName: names.orders, Item: { ...template, [hashKey]: randomUUID() }, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': hashKey } }));

    for (let i = 0; i < (options.warmup ?? 50); i++) await Promise.all([place(), raw()]); // warm both paths (JIT, connections)
    logBytes = 0;
    const handlerMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < options.requests; i++) {
      const t0 = performance.now();
      await place();
      const t1 = performance.now();
      await raw();
      handlerMs.push(t1 - t0);
      rawMs.push(performance.now() - t1);
    }
    const figures = { p50Ms: percentile(handlerMs, 0.5), p99Ms: percentile(handlerMs, 0.99), rawP50Ms: percentile(rawMs, 0.5), rawP99Ms: percentile(rawMs, 0.99) };
    return { requests: options.requests, ...figures, p50Ratio: figures.p50Ms / figures.rawP50Ms, p99Ratio: figures.p99Ms / figures.rawP99Ms, logBytesPerRequest: logBytes / options.requests };
  } finally {
    process.stdout.write = saved.write;
    process.env = saved.env;
    await tables.stop();
  }
}
