/**
 * End to end: a FIFO queue added to a CDK stack runs under the local runtime. A small app synthesized here (not the
 * order pipeline) has a FIFO queue (content-based deduplication, high throughput mode) with a FIFO dead-letter
 * queue, and a Lambda consumer on an SQS event source with ReportBatchItemFailures. The consumer handles its batch
 * as the Lambda guide says a FIFO consumer should: in order, and once a record fails it stops and reports that
 * record and every later one. It records what it saw in a file. Interleaved messages of three groups are sent
 * through @aws-sdk/client-sqs to the runtime's AWS endpoint: each group is processed in order; a message that fails
 * twice holds back its own group only; a poison message goes to the DLQ after maxReceiveCount (with the message of
 * its group that shared its batches, whose receives counted too) and its group goes on.
 */
import * as sqs from '@aws-sdk/client-sqs';
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { DeduplicationScope, FifoThroughputLimit, Queue } from 'aws-cdk-lib/aws-sqs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalRuntime, startRuntime } from '../../local/runtime';
import { eventually } from '../support/eventually';

jest.setTimeout(60_000);

/** A 30 s visibility timeout lasts 0.5 s: a failed message is back after half a second. */
const TIME_SCALE = 60;
const MAX_RECEIVE_COUNT = 3;

const work = mkdtempSync(path.join(tmpdir(), 'sqs-fifo-e2e-'));
const recordFile = path.join(work, 'seen.jsonl');
let runtime: LocalRuntime;
let client: sqs.SQSClient;
const logLines: string[] = [];

/**
 * The consumer: B2 fails on its first two deliveries, C2 and C3 on every delivery. After a failure it does not process the
 * rest of its batch and reports them all, as a FIFO consumer must (services-sqs-errorhandling.html).
 */
const HANDLER = `
const fs = require('node:fs');
exports.handler = async (event) => {
  const failures = [];
  for (const record of event.Records) {
    const seen = { body: record.body, group: record.attributes.MessageGroupId, receiveCount: Number(record.attributes.ApproximateReceiveCount), sequenceNumber: record.attributes.SequenceNumber };
    if (failures.length) {
      failures.push({ itemIdentifier: record.messageId });
      fs.appendFileSync(process.env.RECORD_FILE, JSON.stringify({ ...seen, outcome: 'unprocessed' }) + '\\n');
      continue;
    }
    const fails = record.body === 'C2' || record.body === 'C3' || (record.body === 'B2' && seen.receiveCount <= 2);
    if (fails) failures.push({ itemIdentifier: record.messageId });
    fs.appendFileSync(process.env.RECORD_FILE, JSON.stringify({ ...seen, outcome: fails ? 'failed' : 'ok' }) + '\\n');
  }
  return { batchItemFailures: failures };
};
`;

/** The test app: a FIFO queue with a FIFO DLQ and a consumer function. */
function synthesizeApp(): string {
  const handlerDir = path.join(work, 'handler');
  mkdirSync(handlerDir, { recursive: true });
  writeFileSync(path.join(handlerDir, 'index.js'), HANDLER);
  // As local/synth.ts synthesizes: asset metadata on (the runtime finds each function's code by it), the CDK's
  // CloudFormation validation off (it only warns, and costs seconds).
  const app = new App({ outdir: path.join(work, 'cdk.out'), builtinCloudFormationValidation: false, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'FifoConsumerStack');
  const dlq = new Queue(stack, 'EventsDlq', { fifo: true });
  const queue = new Queue(stack, 'Events', {
    fifo: true,
    contentBasedDeduplication: true,
    deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
    fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    visibilityTimeout: Duration.seconds(30),
    deadLetterQueue: { queue: dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
  });
  const consumer = new lambda.Function(stack, 'Consumer', {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(handlerDir),
    timeout: Duration.seconds(5),
    environment: { RECORD_FILE: recordFile },
  });
  // Batches of two: the groups' batches run side by side, so one group's failure is seen not to stop the others.
  consumer.addEventSource(new SqsEventSource(queue, { batchSize: 2, reportBatchItemFailures: true }));
  new CfnOutput(stack, 'QueueUrl', { value: queue.queueUrl });
  new CfnOutput(stack, 'DlqUrl', { value: dlq.queueUrl });
  return app.synth().directory;
}

interface Seen {
  body: string;
  group: string;
  receiveCount: number;
  sequenceNumber: string;
  outcome: 'ok' | 'failed' | 'unprocessed';
}

const seen = (): Seen[] => (existsSync(recordFile) ? readFileSync(recordFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Seen) : []);
const output = (key: string) => runtime.outputs[runtime.stackName][key];

beforeAll(async () => {
  const assembly = synthesizeApp();
  runtime = await startRuntime({ port: 0, awsPort: 0, inMemory: true, timeScale: TIME_SCALE, useAssembly: assembly, outputsFile: path.join(work, 'outputs.json'), log: (line) => logLines.push(line) });
  client = new sqs.SQSClient({ endpoint: runtime.endpoints.aws, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  client?.destroy();
  await runtime?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the runtime provisions the FIFO queue and its DLQ from the template', async () => {
  expect(output('QueueUrl')).toMatch(/\/000000000000\/[^/]+\.fifo$/);
  const { Attributes } = await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: output('QueueUrl'), AttributeNames: ['All'] }));
  expect(Attributes).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId', VisibilityTimeout: '30' });
  const dlqArn = (await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: output('DlqUrl'), AttributeNames: ['QueueArn', 'FifoQueue'] }))).Attributes!;
  expect(dlqArn.FifoQueue).toBe('true');
  expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: dlqArn.QueueArn, maxReceiveCount: MAX_RECEIVE_COUNT });
  expect(runtime.warnings.filter((w) => /FIFO|fifo|Events/.test(w) && !/time scale/.test(w))).toEqual([]);
});

test('interleaved messages of three groups: each group in order, a failing message holds back only its own group, a poison message goes to the FIFO DLQ with the rest of its batch', async () => {
  const bodies = ['A1', 'B1', 'C1', 'A2', 'B2', 'C2', 'A3', 'B3', 'C3', 'A4', 'B4', 'C4'];
  for (const body of bodies) {
    await client.send(new sqs.SendMessageCommand({ QueueUrl: output('QueueUrl'), MessageBody: body, MessageGroupId: body[0] }));
  }
  // Content-based deduplication: the same body again within 5 minutes is not delivered again.
  await client.send(new sqs.SendMessageCommand({ QueueUrl: output('QueueUrl'), MessageBody: 'A1', MessageGroupId: 'A' }));

  // C2 and C3 are poison. Whether C3 comes in C2's batch (reported unprocessed: its receive counts all the same, as on
  // AWS) or after it is the batching's timing; either way both reach maxReceiveCount and the DLQ, in group order.
  const processed = bodies.filter((b) => b !== 'C2' && b !== 'C3');
  const okBodies = () => seen().filter((s) => s.outcome === 'ok').map((s) => s.body);
  await eventually(async () => expect(okBodies().sort()).toEqual([...processed].sort()), 15_000);
  const log = seen();
  const oks = log.filter((s) => s.outcome === 'ok');
  // Each message processed once, and each group in send order.
  for (const group of ['A', 'B', 'C']) {
    expect(oks.filter((s) => s.group === group).map((s) => s.body)).toEqual(processed.filter((b) => b[0] === group));
    const numbers = oks.filter((s) => s.group === group).map((s) => BigInt(s.sequenceNumber));
    expect(numbers.every((x, i) => i === 0 || x > numbers[i - 1])).toBe(true);
  }
  const history = (body: string) => log.filter((s) => s.body === body).map((s) => `${s.outcome}@${s.receiveCount}`);
  const at = (body: string, outcome: Seen['outcome'] = 'ok') => log.findIndex((s) => s.body === body && s.outcome === outcome);
  // B2 failed twice, then succeeded on its third delivery. B3 came in some of its batches (which ones is the batching's
  // timing), reported unprocessed each time, and was processed only after B2.
  expect(history('B2')).toEqual(['failed@1', 'failed@2', 'ok@3']);
  const b3 = history('B3');
  expect(b3.at(-1)).toMatch(/^ok@/);
  expect(b3.slice(0, -1).every((h) => h.startsWith('unprocessed@'))).toBe(true);
  expect(at('B3')).toBeGreaterThan(at('B2'));
  expect(at('B4')).toBeGreaterThan(at('B2'));
  // Meanwhile the other groups went on: group A ran to its end before B2 succeeded.
  expect(at('A4')).toBeLessThan(at('B2'));
  // C2 failed on each of its maxReceiveCount deliveries, and C3 was received as many times (never processed: failed
  // or unprocessed); C4 was processed only after both left for the DLQ.
  expect(history('C2')).toEqual(['failed@1', 'failed@2', 'failed@3']);
  expect(history('C3').map((h) => h.replace(/^(failed|unprocessed)@/, 'not ok@'))).toEqual(['not ok@1', 'not ok@2', 'not ok@3']);
  expect(at('C4')).toBeGreaterThan(log.map((s) => s.body).lastIndexOf('C3'));
  // The duplicate send of A1 was never delivered.
  expect(history('A1')).toEqual(['ok@1']);

  const dead = await client.send(new sqs.ReceiveMessageCommand({ QueueUrl: output('DlqUrl'), MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
  // In the group's order; the receive count carried over, plus this receive.
  expect(dead.Messages?.map((m) => [m.Body, m.Attributes?.MessageGroupId, m.Attributes?.ApproximateReceiveCount])).toEqual([
    ['C2', 'C', String(MAX_RECEIVE_COUNT + 1)],
    ['C3', 'C', String(MAX_RECEIVE_COUNT + 1)],
  ]);
});
