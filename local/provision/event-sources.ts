/**
 * AWS::Lambda::EventSourceMapping -> an SQS event source (a queue polled into batches) or a DynamoDB stream event
 * source (DynamoDB Local's stream of the table), each invoking its local function.
 */
import * as path from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamEventSource } from '../engines/dynamodb-stream-event-source';
import { Invoker } from '../engines/invoker';
import { checkTimeScale, SqsEventSource } from '../engines/sqs-event-source';
import { Provisioning } from './context';

const STREAM_ARN = /^arn:aws:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\//;

export async function provisionEventSources(p: Provisioning): Promise<void> {
  const { eventSources, streamSources } = p.engines;
  for (const [id, r] of p.resources('AWS::Lambda::EventSourceMapping')) {
    const props = p.resolve<Record<string, unknown>>(p.properties(r));
    const source = String(props.EventSourceArn ?? '');
    const fn = p.invoker(String(props.FunctionName));
    const streamTable = STREAM_ARN.exec(source)?.[1];
    if (fn && streamTable) {
      if (props.Enabled !== false) streamSources.push(await streamSource(p, id, props, streamTable, source, fn));
      continue;
    }
    const queueName = p.engines.queues.queueNameFromArn(source);
    if (!queueName || !fn) {
      p.warnings.push(`event source mapping ${id}: only SQS and DynamoDB stream sources to local functions run locally (${source})`);
      continue;
    }
    if (props.Enabled === false) continue;
    eventSources.push(sqsSource(p, id, props, queueName, fn));
  }
  eventSources.forEach((s) => s.start());
  p.onStop(() => Promise.all(eventSources.map((s) => s.stop())).then(() => undefined));
  streamSources.forEach((s) => s.start());
  p.onStop(() => Promise.all(streamSources.map((s) => s.stop())).then(() => undefined));
}

function reportsBatchItemFailures(props: Record<string, unknown>): boolean {
  return ((props.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures');
}

function sqsSource(p: Provisioning, id: string, props: Record<string, unknown>, queueName: string, fn: Invoker): SqsEventSource {
  const local = p.engines.functions.get(fn.name);
  if (local) {
    const visibilityTimeoutSeconds = Number(p.engines.queues.getQueueAttributes(queueName, ['VisibilityTimeout']).VisibilityTimeout);
    const check = { queueName, visibilityTimeoutSeconds, functionName: local.name, functionTimeoutSeconds: local.timeoutSeconds, maximumBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0) };
    // AWS's own rule (the function's timeout within the visibility timeout) is checked at scale 1: refused as AWS refuses it.
    const refused = checkTimeScale({ ...check, timeScale: 1 });
    if (refused) throw new Error(`event source mapping ${id}: ${refused}`);
    // Faster than that, the event source holds in-flight batches invisible for the function's real timeout.
    if (checkTimeScale({ ...check, timeScale: p.clock.scale })) {
      p.warnings.push(`event source mapping ${id}: at time scale ${p.clock.scale} the visibility timeout of ${queueName} (${visibilityTimeoutSeconds} s) is shorter in real time than the ${local.timeoutSeconds} s timeout of ${local.name}: in-flight batches are held invisible until the invocation ends (failed messages come back when their own visibility timeout ends)`);
    }
  }
  return new SqsEventSource({
    functionTimeoutSeconds: local?.timeoutSeconds,
    pollers: p.sqsPollers,
    isThrottled: local ? () => local.stats().busy >= local.maxConcurrency : undefined,
    engine: p.engines.queues,
    queueName,
    invoker: fn,
    batchSize: Number(props.BatchSize ?? 10),
    maximumBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
    maximumConcurrency: (props.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency,
    reportBatchItemFailures: reportsBatchItemFailures(props),
    clock: p.clock,
    region: p.identity.region,
    onBatch: (info) => p.live.batch(info),
    onError: (error) => p.live.warn(`event source ${id}: ${(error as Error).message}`),
  });
}

/** A stream mapping reads DynamoDB Local's stream of the table (its ARN is DynamoDB Local's own, not the template's). */
async function streamSource(p: Provisioning, id: string, props: Record<string, unknown>, tableName: string, eventSourceArn: string, fn: Invoker): Promise<DynamoDBStreamEventSource> {
  const endpoint = p.engines.tables.endpoint;
  const region = p.identity.region;
  const client = new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  let streamArn: string | undefined;
  try {
    streamArn = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn;
  } finally {
    client.destroy();
  }
  if (!streamArn) throw new Error(`event source mapping ${id}: table ${tableName} has no stream (StreamSpecification)`);
  const queues = p.engines.queues;
  const onFailureArn = (props.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)?.OnFailure?.Destination;
  const onFailureQueue = onFailureArn ? queues.queueNameFromArn(onFailureArn) : undefined;
  if (onFailureArn && !onFailureQueue) p.warnings.push(`event source mapping ${id}: on-failure destination ${onFailureArn} is not a local queue (discarded batches are only logged)`);
  return new DynamoDBStreamEventSource({
    endpoint,
    region,
    tableName,
    streamArn,
    eventSourceArn,
    invoker: fn,
    startingPosition: props.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
    batchSize: Number(props.BatchSize ?? 100),
    filterPatterns: ((props.FilterCriteria as { Filters?: { Pattern: string }[] } | undefined)?.Filters ?? []).map((f) => f.Pattern),
    reportBatchItemFailures: reportsBatchItemFailures(props),
    bisectBatchOnFunctionError: props.BisectBatchOnFunctionError === true,
    maximumRetryAttempts: props.MaximumRetryAttempts === undefined ? undefined : Number(props.MaximumRetryAttempts),
    maximumRecordAgeInSeconds: props.MaximumRecordAgeInSeconds === undefined ? undefined : Number(props.MaximumRecordAgeInSeconds),
    onFailure: onFailureQueue ? async (message) => void queues.sendMessage(onFailureQueue, { body: message }) : undefined,
    checkpointFile: p.dataDir ? path.join(p.dataDir, 'lambda', `${id}.stream-position.json`) : undefined,
    clock: p.clock,
    onBatch: (info) => p.live.streamBatch(info),
    onError: (error) => p.live.warn(`event source ${id}: ${(error as Error).message}`),
  });
}
