/**
 * SQS conformance: the real @aws-sdk/client-sqs against handleSqsRequest on a 127.0.0.1 server (port 0), one table
 * of cases written from the SQS API reference and developer guide. The engine runs on a FileQueueStore in a temp
 * directory (so every case also exercises the journal) with a 100x clock: a 10 s visibility timeout is 100 ms.
 */
import * as sqs from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock } from '../../local/clock';
import { FileQueueStore, MemoryQueueStore, QueueEngine, QueueStore } from '../../local/engines/queue-engine';
import { handleSqsRequest } from '../../local/engines/sqs-api';

const SCALE = 100;
const REGION = 'us-east-1';

const COMMANDS = {
  CreateQueue: sqs.CreateQueueCommand,
  DeleteQueue: sqs.DeleteQueueCommand,
  GetQueueUrl: sqs.GetQueueUrlCommand,
  ListQueues: sqs.ListQueuesCommand,
  GetQueueAttributes: sqs.GetQueueAttributesCommand,
  SetQueueAttributes: sqs.SetQueueAttributesCommand,
  SendMessage: sqs.SendMessageCommand,
  SendMessageBatch: sqs.SendMessageBatchCommand,
  ReceiveMessage: sqs.ReceiveMessageCommand,
  DeleteMessage: sqs.DeleteMessageCommand,
  DeleteMessageBatch: sqs.DeleteMessageBatchCommand,
  ChangeMessageVisibility: sqs.ChangeMessageVisibilityCommand,
  ChangeMessageVisibilityBatch: sqs.ChangeMessageVisibilityBatchCommand,
  PurgeQueue: sqs.PurgeQueueCommand,
  ListDeadLetterSourceQueues: sqs.ListDeadLetterSourceQueuesCommand,
  StartMessageMoveTask: sqs.StartMessageMoveTaskCommand,
  ListMessageMoveTasks: sqs.ListMessageMoveTasksCommand,
  CancelMessageMoveTask: sqs.CancelMessageMoveTaskCommand,
  TagQueue: sqs.TagQueueCommand,
  ListQueueTags: sqs.ListQueueTagsCommand,
};
type Op = keyof typeof COMMANDS;

// ----- the tiny HTTP server: POST / routed by X-Amz-Target -----

interface Harness {
  engine: QueueEngine;
  dir: string;
  endpoint: string;
  client: sqs.SQSClient;
  restart(options?: { scale?: number; memory?: boolean }): QueueStore;
  close(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqs-api-'));
  const h = {} as Harness;
  h.dir = dir;
  h.engine = new QueueEngine({ clock: systemClock(SCALE), store: new FileQueueStore(dir), region: REGION });
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        body = null;
      }
      const answer = await handleSqsRequest(h.engine, String(req.headers['x-amz-target'] ?? ''), body, {
        endpoint: h.endpoint,
        region: REGION,
        signal: abort.signal,
      });
      res.writeHead(answer.status, answer.headers);
      res.end(JSON.stringify(answer.body));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  h.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h.client = new sqs.SQSClient({ endpoint: h.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  h.restart = (options = {}) => {
    h.engine.close();
    const store = options.memory ? new MemoryQueueStore() : new FileQueueStore(dir);
    h.engine = new QueueEngine({ clock: systemClock(options.scale ?? SCALE), store, region: REGION });
    return store;
  };
  h.close = async () => {
    h.client.destroy();
    h.engine.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return h;
}

// ----- the case table -----

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Scope {
  h: Harness;
  /** Queue name / URL / ARN for an alias, unique to the case. */
  name(alias: string): string;
  url(alias: string): string;
  arn(alias: string): string;
  vars: Record<string, any>;
  call(op: Op, input: Record<string, unknown>): Promise<any>;
}

type Input = Record<string, unknown> | ((s: Scope) => Record<string, unknown>);
type Step =
  | { call: Op; input: Input; error?: string; expect?: (out: any, s: Scope) => void }
  | { wait: number } // simulated milliseconds
  | { run: (s: Scope) => Promise<void> | void };

interface Case {
  name: string;
  /** Queues created before the steps, in order: alias -> attributes. */
  queues?: Record<string, Input>;
  steps: Step[];
}

const call = (op: Op, input: Input, expect?: (out: any, s: Scope) => void): Step => ({ call: op, input, expect });
const fails = (op: Op, input: Input, error: string): Step => ({ call: op, input, error });
const wait = (simulatedMs: number): Step => ({ wait: simulatedMs });
const run = (fn: (s: Scope) => Promise<void> | void): Step => ({ run: fn });
const send = (q: string, body: string, extra: Record<string, unknown> = {}, save?: string): Step =>
  call('SendMessage', (s) => ({ QueueUrl: s.url(q), MessageBody: body, ...extra }), (out, s) => {
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    if (save) s.vars[save] = out;
  });
const receive = (q: string, input: Record<string, unknown>, check: (msgs: sqs.Message[], s: Scope) => void): Step =>
  call('ReceiveMessage', (s) => ({ QueueUrl: s.url(q), MessageSystemAttributeNames: ['All'], ...input }), (out, s) =>
    check(out.Messages ?? [], s),
  );
const counts = (q: string, expected: { visible?: number; notVisible?: number; delayed?: number }): Step =>
  call('GetQueueAttributes', (s) => ({ QueueUrl: s.url(q), AttributeNames: ['All'] }), (out) => {
    const a = out.Attributes;
    if (expected.visible !== undefined) expect(a.ApproximateNumberOfMessages).toBe(String(expected.visible));
    if (expected.notVisible !== undefined) expect(a.ApproximateNumberOfMessagesNotVisible).toBe(String(expected.notVisible));
    if (expected.delayed !== undefined) expect(a.ApproximateNumberOfMessagesDelayed).toBe(String(expected.delayed));
  });
const redrive = (dlq: string, maxReceiveCount: number) => (s: Scope) => ({
  RedrivePolicy: JSON.stringify({ deadLetterTargetArn: s.arn(dlq), maxReceiveCount }),
});
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const CASES: Case[] = [
  // ----- queues -----
  {
    name: 'CreateQueue returns the URL http://127.0.0.1:<port>/000000000000/<name>; GetQueueUrl finds it; defaults per the API reference',
    queues: { q: {} },
    steps: [
      call('GetQueueUrl', (s) => ({ QueueName: s.name('q') }), (out, s) => {
        expect(out.QueueUrl).toBe(`${s.h.endpoint}/000000000000/${s.name('q')}`);
      }),
      call('GetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), AttributeNames: ['All'] }), (out, s) => {
        expect(out.Attributes).toMatchObject({
          QueueArn: `arn:aws:sqs:us-east-1:000000000000:${s.name('q')}`,
          VisibilityTimeout: '30',
          MessageRetentionPeriod: '345600',
          DelaySeconds: '0',
          ReceiveMessageWaitTimeSeconds: '0',
          MaximumMessageSize: '1048576',
          SqsManagedSseEnabled: 'true',
          ApproximateNumberOfMessages: '0',
          ApproximateNumberOfMessagesNotVisible: '0',
          ApproximateNumberOfMessagesDelayed: '0',
        });
        expect(Number(out.Attributes.CreatedTimestamp)).toBeGreaterThan(1_600_000_000);
        expect(out.Attributes.RedrivePolicy).toBeUndefined();
      }),
      call('GetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), AttributeNames: ['QueueArn', 'VisibilityTimeout'] }), (out) => {
        expect(Object.keys(out.Attributes).sort()).toEqual(['QueueArn', 'VisibilityTimeout']);
      }),
    ],
  },
  {
    name: 'CreateQueue is idempotent with the same attributes and fails with QueueNameExists (query code QueueAlreadyExists) on different ones',
    queues: { q: { VisibilityTimeout: '45' } },
    steps: [
      call('CreateQueue', (s) => ({ QueueName: s.name('q'), Attributes: { VisibilityTimeout: '45' } }), (out, s) => expect(out.QueueUrl).toBe(s.url('q'))),
      run(async (s) => {
        const err: any = await s.call('CreateQueue', { QueueName: s.name('q'), Attributes: { VisibilityTimeout: '46' } }).catch((e) => e);
        expect(err.name).toBe('QueueNameExists');
        expect(err.Code).toBe('QueueAlreadyExists');
        expect(err.$metadata.httpStatusCode).toBe(400);
      }),
    ],
  },
  {
    name: 'SetQueueAttributes changes attributes (and SSE-KMS replaces SSE-SQS); invalid values and names are rejected',
    queues: { q: {} },
    steps: [
      call('SetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), Attributes: { VisibilityTimeout: '120', DelaySeconds: '3', KmsMasterKeyId: 'alias/aws/sqs' } })),
      call('GetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), AttributeNames: ['All'] }), (out) => {
        expect(out.Attributes).toMatchObject({ VisibilityTimeout: '120', DelaySeconds: '3', KmsMasterKeyId: 'alias/aws/sqs', KmsDataKeyReusePeriodSeconds: '300', SqsManagedSseEnabled: 'false' });
      }),
      fails('SetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), Attributes: { VisibilityTimeout: '43201' } }), 'InvalidAttributeValue'),
      fails('SetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), Attributes: { Colour: 'blue' } }), 'InvalidAttributeName'),
      fails('SetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), Attributes: { QueueArn: 'x' } }), 'InvalidAttributeName'),
      fails('GetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), AttributeNames: ['Colour'] }), 'InvalidAttributeName'),
    ],
  },
  {
    name: 'ListQueues filters by prefix and paginates with MaxResults/NextToken',
    queues: { a1: {}, a2: {}, a3: {}, b1: {} },
    steps: [
      run(async (s) => {
        const prefix = s.name('a');
        const first = await s.call('ListQueues', { QueueNamePrefix: prefix, MaxResults: 2 });
        expect(first.QueueUrls).toEqual([s.url('a1'), s.url('a2')]);
        expect(first.NextToken).toBeDefined();
        const second = await s.call('ListQueues', { QueueNamePrefix: prefix, MaxResults: 2, NextToken: first.NextToken });
        expect(second.QueueUrls).toEqual([s.url('a3')]);
        expect(second.NextToken).toBeUndefined();
        const all = await s.call('ListQueues', { QueueNamePrefix: s.name('') });
        expect(all.QueueUrls).toEqual([s.url('a1'), s.url('a2'), s.url('a3'), s.url('b1')]);
      }),
    ],
  },
  {
    name: 'DeleteQueue removes the queue: later calls fail with QueueDoesNotExist (HTTP 400, x-amzn-query-error)',
    queues: { q: {} },
    steps: [
      call('DeleteQueue', (s) => ({ QueueUrl: s.url('q') })),
      fails('GetQueueUrl', (s) => ({ QueueName: s.name('q') }), 'QueueDoesNotExist'),
      fails('SendMessage', (s) => ({ QueueUrl: s.url('q'), MessageBody: 'x' }), 'QueueDoesNotExist'),
      run(async (s) => {
        const raw = await fetch(s.h.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.GetQueueUrl' },
          body: JSON.stringify({ QueueName: s.name('q') }),
        });
        expect(raw.status).toBe(400);
        expect(raw.headers.get('x-amzn-query-error')).toBe('AWS.SimpleQueueService.NonExistentQueue;Sender');
        expect(await raw.json()).toMatchObject({ __type: 'com.amazonaws.sqs#QueueDoesNotExist' });
      }),
    ],
  },
  {
    name: 'errors: a .fifo name without FifoQueue, bad names, bad URL, bad receive parameters, missing body, unknown operation',
    steps: [
      fails('CreateQueue', { QueueName: 'orders.fifo' }, 'InvalidParameterValue'),
      fails('CreateQueue', { QueueName: 'has space' }, 'InvalidParameterValue'),
      fails('CreateQueue', { QueueName: 'x'.repeat(81) }, 'InvalidParameterValue'),
      fails('SendMessage', { QueueUrl: 'not a url', MessageBody: 'x' }, 'InvalidAddress'),
      fails('GetQueueUrl', { QueueName: 'nope', QueueOwnerAWSAccountId: '123456789012' }, 'QueueDoesNotExist'),
      run(async (s) => {
        await s.call('CreateQueue', { QueueName: s.name('e') });
      }),
      fails('ReceiveMessage', (s) => ({ QueueUrl: s.url('e'), MaxNumberOfMessages: 11 }), 'InvalidParameterValue'),
      fails('ReceiveMessage', (s) => ({ QueueUrl: s.url('e'), WaitTimeSeconds: 21 }), 'InvalidParameterValue'),
      fails('ReceiveMessage', (s) => ({ QueueUrl: s.url('e'), VisibilityTimeout: 43201 }), 'InvalidParameterValue'),
      fails('SendMessage', (s) => ({ QueueUrl: s.url('e') }), 'MissingParameter'),
      fails('SendMessage', (s) => ({ QueueUrl: s.url('e'), MessageBody: 'x', DelaySeconds: 901 }), 'InvalidParameterValue'),
      fails('SendMessage', (s) => ({ QueueUrl: s.url('e'), MessageBody: 'x', MessageAttributes: { 'AWS.x': { DataType: 'String', StringValue: 'v' } } }), 'InvalidParameterValue'),
      fails('SendMessage', (s) => ({ QueueUrl: s.url('e'), MessageBody: 'x', MessageAttributes: { n: { DataType: 'Number', StringValue: 'abc' } } }), 'InvalidParameterValue'),
      fails('SendMessage', (s) => ({ QueueUrl: s.url('e'), MessageBody: 'x', MessageDeduplicationId: 'd' }), 'InvalidParameterValue'),
      run(async (s) => {
        const raw = await fetch(s.h.endpoint, {
          method: 'POST',
          // (AddPermission was unknown here once; it is implemented now, see sqs-standard.conformance.test.ts)
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.NoSuchOperation' },
          body: '{}',
        });
        expect(raw.status).toBe(400);
        expect(((await raw.json()) as { __type: string }).__type).toMatch(/UnknownOperationException$/);
      }),
    ],
  },
  {
    name: 'MaximumMessageSize: a larger message fails with InvalidParameterValue; the limit counts attributes too',
    queues: { q: { MaximumMessageSize: '1024' } },
    steps: [
      send('q', 'x'.repeat(1024)),
      fails('SendMessage', (s) => ({ QueueUrl: s.url('q'), MessageBody: 'x'.repeat(1025) }), 'InvalidParameterValue'),
      fails('SendMessage', (s) => ({ QueueUrl: s.url('q'), MessageBody: 'x'.repeat(1000), MessageAttributes: { attr: { DataType: 'String', StringValue: 'y'.repeat(30) } } }), 'InvalidParameterValue'),
    ],
  },
  {
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html (MessageBody: at most 1 MiB, 1,048,576 bytes)
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html (name, type and value count)
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html (MessageSystemAttributes do not count)
    name: 'the 1 MiB message limit (default MaximumMessageSize 1048576): body + attributes; AWS\'s InvalidParameterValue "Message must be shorter than 1048576 bytes."',
    queues: { q: {} },
    steps: [
      send('q', 'x'.repeat(1_048_576)),
      run(async (s) => {
        const err: any = await s.call('SendMessage', { QueueUrl: s.url('q'), MessageBody: 'x'.repeat(1_048_577) }).catch((e) => e);
        expect(err.name).toBe('InvalidParameterValue');
        expect(err.message).toBe('One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.');
        expect(err.$metadata.httpStatusCode).toBe(400);
      }),
      // 1,048,566 + 'k' (1) + 'String' (6) + 'abcd' (4) = 1,048,577 bytes
      fails('SendMessage', (s) => ({ QueueUrl: s.url('q'), MessageBody: 'x'.repeat(1_048_566), MessageAttributes: { k: { DataType: 'String', StringValue: 'abcd' } } }), 'InvalidParameterValue'),
      send('q', 'x'.repeat(1_048_566), { MessageAttributes: { k: { DataType: 'String', StringValue: 'abc' } } }),
      // a multi-byte body counts its UTF-8 bytes: 349,526 x 3 bytes = 1,048,578
      fails('SendMessage', (s) => ({ QueueUrl: s.url('q'), MessageBody: '€'.repeat(349_526) }), 'InvalidParameterValue'),
      send('q', 'x'.repeat(1_048_576), { MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1' } } }),
      counts('q', { visible: 3 }),
    ],
  },
  {
    name: 'tags: CreateQueue tags, TagQueue, ListQueueTags',
    steps: [
      run(async (s) => {
        await s.call('CreateQueue', { QueueName: s.name('t'), tags: { team: 'orders' } });
        await s.call('TagQueue', { QueueUrl: s.url('t'), Tags: { env: 'local' } });
        expect((await s.call('ListQueueTags', { QueueUrl: s.url('t') })).Tags).toEqual({ team: 'orders', env: 'local' });
      }),
    ],
  },

  // ----- messages, MD5s -----
  {
    name: 'SendMessage/ReceiveMessage: the SDK verifies MD5OfMessageBody and MD5OfBody (multi-byte UTF-8 body); system attributes are returned',
    queues: { q: {} },
    steps: [
      send('q', 'héllo wörld ✓ 🚀', {}, 'sent'),
      run((s) => expect(s.vars.sent.MD5OfMessageBody).toBe(md5('héllo wörld ✓ 🚀'))),
      receive('q', { VisibilityTimeout: 0 }, (msgs, s) => {
        expect(msgs).toHaveLength(1);
        const m = msgs[0];
        expect(m.MessageId).toBe(s.vars.sent.MessageId);
        expect(m.Body).toBe('héllo wörld ✓ 🚀');
        expect(m.MD5OfBody).toBe(md5('héllo wörld ✓ 🚀'));
        expect(m.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: '000000000000' });
        expect(Math.abs(Number(m.Attributes!.SentTimestamp) - Date.now())).toBeLessThan(5000);
        expect(Number(m.Attributes!.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(m.Attributes!.SentTimestamp));
        expect(m.ReceiptHandle).toBeTruthy();
      }),
      receive('q', { MessageSystemAttributeNames: undefined, VisibilityTimeout: 0 }, (msgs) => {
        expect(msgs).toHaveLength(1);
        expect(msgs[0].Attributes).toBeUndefined();
      }),
      receive('q', { MessageSystemAttributeNames: undefined, AttributeNames: ['SentTimestamp'], VisibilityTimeout: 0 }, (msgs) => {
        expect(msgs).toHaveLength(1);
        expect(Object.keys(msgs[0].Attributes ?? {})).toEqual(['SentTimestamp']);
      }),
      receive('q', { MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SenderId'] }, (msgs) => {
        expect(msgs[0].Attributes).toEqual({ ApproximateReceiveCount: '4', SenderId: '000000000000' });
      }),
    ],
  },
  {
    name: 'message attributes: MD5OfMessageAttributes per the documented encoding (known vectors), String/Number/Binary round-trip, selection by name, prefix and All',
    queues: { q: {} },
    steps: [
      send('q', 'a', { MessageAttributes: { ordinal: { DataType: 'Number', StringValue: '1' }, category: { DataType: 'String', StringValue: 'test' } } }, 'v1'),
      run((s) => expect(s.vars.v1.MD5OfMessageAttributes).toBe('d21ae90c49061e927f57df5f5d72be1f')),
      send('q', 'b', { MessageAttributes: { SellerName: { DataType: 'String', StringValue: 'Example Store' } } }, 'v2'),
      run((s) => expect(s.vars.v2.MD5OfMessageAttributes).toBe('cd28f3b68aeee4b2eac9c66f2f694b58')),
      call('PurgeQueue', (s) => ({ QueueUrl: s.url('q') })),
      send(
        'q',
        'c',
        {
          MessageAttributes: {
            'order.id': { DataType: 'String', StringValue: 'o-1' },
            'order.total': { DataType: 'Number.float', StringValue: '12.5' },
            blob: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 255]) },
          },
          MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' } },
        },
        'v3',
      ),
      run((s) => {
        expect(s.vars.v3.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
        expect(s.vars.v3.MD5OfMessageSystemAttributes).toMatch(/^[0-9a-f]{32}$/);
      }),
      receive('q', { MessageAttributeNames: ['All'], VisibilityTimeout: 0 }, (msgs, s) => {
        const m = msgs[0];
        expect(m.MD5OfMessageAttributes).toBe(s.vars.v3.MD5OfMessageAttributes);
        expect(m.MessageAttributes!['order.total']).toEqual({ DataType: 'Number.float', StringValue: '12.5' });
        expect([...(m.MessageAttributes!.blob.BinaryValue as Uint8Array)]).toEqual([0, 1, 2, 255]);
        expect(m.Attributes!.AWSTraceHeader).toBe('Root=1-5759e988-bd862e3fe1be46a994272793');
      }),
      receive('q', { MessageAttributeNames: ['order.*'], VisibilityTimeout: 0 }, (msgs) => {
        expect(Object.keys(msgs[0].MessageAttributes!).sort()).toEqual(['order.id', 'order.total']);
        expect(msgs[0].MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
      }),
      receive('q', {}, (msgs) => {
        expect(msgs[0].MessageAttributes).toBeUndefined();
        expect(msgs[0].MD5OfMessageAttributes).toBeUndefined();
      }),
    ],
  },
  {
    name: 'SendMessageBatch: per-entry results with MD5s, per-entry failures, and the batch errors',
    queues: { q: {} },
    steps: [
      call(
        'SendMessageBatch',
        (s) => ({
          QueueUrl: s.url('q'),
          Entries: [
            { Id: 'a', MessageBody: 'one' },
            { Id: 'b', MessageBody: 'two', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } },
            { Id: 'bad', MessageBody: 'three', MessageAttributes: { k: { DataType: 'Number', StringValue: 'NaN!' } } },
          ],
        }),
        (out) => {
          expect(out.Successful.map((e: any) => e.Id)).toEqual(['a', 'b']);
          expect(out.Successful[0].MD5OfMessageBody).toBe(md5('one'));
          expect(out.Successful[1].MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
          expect(out.Failed).toEqual([expect.objectContaining({ Id: 'bad', SenderFault: true, Code: 'InvalidParameterValue' })]);
        },
      ),
      counts('q', { visible: 2 }),
      fails('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' })) }), 'TooManyEntriesInBatchRequest'),
      fails('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: [{ Id: 'same', MessageBody: 'x' }, { Id: 'same', MessageBody: 'y' }] }), 'BatchEntryIdsNotDistinct'),
      fails('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: [] }), 'EmptyBatchRequest'),
      fails('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: [{ Id: 'no spaces', MessageBody: 'x' }] }), 'InvalidBatchEntryId'),
    ],
  },
  {
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html: the individual
    // message size and the total payload (the sum of the batched messages) are both at most 1 MiB (1,048,576 bytes);
    // a message's size is its body plus its attributes (API_MessageAttributeValue.html).
    name: 'SendMessageBatch: BatchRequestTooLong when the entries together exceed 1 MiB, message attributes included',
    queues: { q: {}, small: { MaximumMessageSize: '1024' } },
    steps: [
      // exactly 1 MiB in two bodies
      call('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: [{ Id: 'a', MessageBody: 'x'.repeat(524_288) }, { Id: 'b', MessageBody: 'y'.repeat(524_288) }] }), (out) => {
        expect(out.Successful).toHaveLength(2);
        expect(out.Failed ?? []).toEqual([]);
      }),
      fails('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: [{ Id: 'a', MessageBody: 'x'.repeat(600_000) }, { Id: 'b', MessageBody: 'y'.repeat(600_000) }] }), 'BatchRequestTooLong'),
      run(async (s) => {
        // bodies alone 1,048,000 bytes; with one attribute of 1,000 bytes each the request is 1,050,000 bytes
        const attribute = { big: { DataType: 'String', StringValue: 'v'.repeat(1_000 - 'big'.length - 'String'.length) } };
        const err: any = await s
          .call('SendMessageBatch', {
            QueueUrl: s.url('q'),
            Entries: [
              { Id: 'a', MessageBody: 'x'.repeat(524_000), MessageAttributes: attribute },
              { Id: 'b', MessageBody: 'y'.repeat(524_000), MessageAttributes: attribute },
            ],
          })
          .catch((e) => e);
        expect(err.name).toBe('BatchRequestTooLong');
        expect(err.message).toBe('Batch requests cannot be longer than 1048576 bytes. You have sent 1050000 bytes.');
        expect(err.$metadata.httpStatusCode).toBe(400);
      }),
      counts('q', { visible: 2 }),
      // the queue's own MaximumMessageSize holds each entry on its own (a per-entry failure), not the request
      call('SendMessageBatch', (s) => ({ QueueUrl: s.url('small'), Entries: [{ Id: 'ok1', MessageBody: 'x'.repeat(1000) }, { Id: 'ok2', MessageBody: 'x'.repeat(1000) }, { Id: 'big', MessageBody: 'x'.repeat(1025) }] }), (out) => {
        expect(out.Successful.map((e: any) => e.Id)).toEqual(['ok1', 'ok2']);
        expect(out.Failed).toEqual([expect.objectContaining({ Id: 'big', SenderFault: true, Code: 'InvalidParameterValue' })]);
      }),
    ],
  },
  {
    name: 'ReceiveMessage returns up to MaxNumberOfMessages (at most 10)',
    queues: { q: {} },
    steps: [
      call('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `a${i}`, MessageBody: `m${i}` })) })),
      call('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: Array.from({ length: 2 }, (_, i) => ({ Id: `b${i}`, MessageBody: `n${i}` })) })),
      receive('q', { MaxNumberOfMessages: 3 }, (msgs) => expect(msgs).toHaveLength(3)),
      receive('q', { MaxNumberOfMessages: 10 }, (msgs) => expect(msgs).toHaveLength(9)),
      receive('q', { MaxNumberOfMessages: 10 }, (msgs) => expect(msgs).toHaveLength(0)),
      counts('q', { visible: 0, notVisible: 12 }),
    ],
  },

  // ----- visibility -----
  {
    name: 'visibility timeout: a received message is hidden, then returns with a new receipt handle and a higher receive count',
    // 30 s (300 ms real): the steps before the wait must finish within it even on a loaded machine
    queues: { q: { VisibilityTimeout: '30' } },
    steps: [
      send('q', 'hello', {}, 'sent'),
      receive('q', {}, (msgs, s) => {
        expect(msgs).toHaveLength(1);
        s.vars.first = msgs[0].ReceiptHandle;
      }),
      receive('q', {}, (msgs) => expect(msgs).toHaveLength(0)),
      counts('q', { visible: 0, notVisible: 1 }),
      wait(31_000),
      counts('q', { visible: 1, notVisible: 0 }),
      receive('q', {}, (msgs, s) => {
        expect(msgs[0].MessageId).toBe(s.vars.sent.MessageId);
        expect(msgs[0].Attributes!.ApproximateReceiveCount).toBe('2');
        expect(msgs[0].ReceiptHandle).not.toBe(s.vars.first);
        s.vars.second = msgs[0].ReceiptHandle;
      }),
      // A stale receipt handle: the request succeeds but the message is not deleted.
      call('DeleteMessage', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.first })),
      counts('q', { notVisible: 1 }),
      call('DeleteMessage', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.second })),
      counts('q', { visible: 0, notVisible: 0 }),
      // Deleting again (already deleted) also succeeds; a malformed handle does not.
      call('DeleteMessage', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.second })),
      fails('DeleteMessage', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: 'garbage!' }), 'ReceiptHandleIsInvalid'),
    ],
  },
  {
    name: 'ReceiveMessage VisibilityTimeout overrides the queue default for that receive only',
    queues: { q: { VisibilityTimeout: '600' } },
    steps: [
      send('q', 'x'),
      receive('q', { VisibilityTimeout: 0 }, (msgs) => expect(msgs).toHaveLength(1)),
      receive('q', {}, (msgs) => expect(msgs[0].Attributes!.ApproximateReceiveCount).toBe('2')),
      receive('q', {}, (msgs) => expect(msgs).toHaveLength(0)),
    ],
  },
  {
    // Not in flight and an earlier receive's handle: 200, as SQS answers (recorded); see sqs-standard.conformance.test.ts.
    name: 'ChangeMessageVisibility: 0 makes the message visible now; longer extends; not in flight is a no-op; an earlier handle reaches the current receive',
    queues: { q: { VisibilityTimeout: '600' } },
    steps: [
      send('q', 'x'),
      receive('q', {}, (msgs, s) => (s.vars.h1 = msgs[0].ReceiptHandle)),
      call('ChangeMessageVisibility', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.h1, VisibilityTimeout: 0 })),
      counts('q', { visible: 1, notVisible: 0 }),
      call('ChangeMessageVisibility', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.h1, VisibilityTimeout: 10 })),
      counts('q', { visible: 1, notVisible: 0 }),
      // 20 s (200 ms real) leaves room for the change on a loaded machine; extended to 60 s it outlasts the 25 s wait
      receive('q', { VisibilityTimeout: 20 }, (msgs, s) => (s.vars.h2 = msgs[0].ReceiptHandle)),
      call('ChangeMessageVisibility', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.h2, VisibilityTimeout: 60 })),
      wait(25_000),
      receive('q', {}, (msgs) => expect(msgs).toHaveLength(0)),
      // h1 is from the first receive: the call succeeds and makes the message visible now
      call('ChangeMessageVisibility', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.h1, VisibilityTimeout: 0 })),
      counts('q', { visible: 1, notVisible: 0 }),
      fails('ChangeMessageVisibility', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.h2, VisibilityTimeout: 43201 }), 'InvalidParameterValue'),
    ],
  },
  {
    name: 'DeleteMessageBatch and ChangeMessageVisibilityBatch report per-entry success and failure',
    queues: { q: { VisibilityTimeout: '600' } },
    steps: [
      call('SendMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: [0, 1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `b${i}` })) })),
      receive('q', { MaxNumberOfMessages: 10 }, (msgs, s) => {
        expect(msgs).toHaveLength(4);
        s.vars.handles = msgs.map((m) => m.ReceiptHandle);
      }),
      call(
        'ChangeMessageVisibilityBatch',
        (s) => ({
          QueueUrl: s.url('q'),
          Entries: [
            { Id: 'a', ReceiptHandle: s.vars.handles[0], VisibilityTimeout: 0 },
            { Id: 'bad', ReceiptHandle: 'nope', VisibilityTimeout: 0 },
          ],
        }),
        (out) => {
          expect(out.Successful).toEqual([{ Id: 'a' }]);
          expect(out.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
        },
      ),
      counts('q', { visible: 1, notVisible: 3 }),
      call(
        'DeleteMessageBatch',
        (s) => ({ QueueUrl: s.url('q'), Entries: [1, 2, 3].map((i) => ({ Id: `d${i}`, ReceiptHandle: s.vars.handles[i] })).concat([{ Id: 'x', ReceiptHandle: '%%' }]) }),
        (out) => {
          expect(out.Successful.map((e: any) => e.Id)).toEqual(['d1', 'd2', 'd3']);
          expect(out.Failed.map((e: any) => e.Code)).toEqual(['ReceiptHandleIsInvalid']);
        },
      ),
      counts('q', { visible: 1, notVisible: 0 }),
      fails('DeleteMessageBatch', (s) => ({ QueueUrl: s.url('q'), Entries: [] }), 'EmptyBatchRequest'),
    ],
  },

  // ----- delay, long polling, purge, retention -----
  {
    name: 'DelaySeconds (queue default and per message) hides new messages, counted as ApproximateNumberOfMessagesDelayed',
    // 20 s (200 ms real): the first steps must finish within the delay even on a loaded machine. The long delay (the
    // maximum, 9 s real) and the visibility timeout (10 min, 6 s real) outlast the rest of the case however slow the
    // machine: a 60 s delay and the 30 s default timeout ran out under a loaded `npm test` (notVisible 1, not 2).
    queues: { q: { DelaySeconds: '20', VisibilityTimeout: '600' } },
    steps: [
      send('q', 'queue-delay'),
      send('q', 'no-delay', { DelaySeconds: 0 }),
      send('q', 'long-delay', { DelaySeconds: 900 }),
      counts('q', { visible: 1, delayed: 2 }),
      receive('q', { MaxNumberOfMessages: 10 }, (msgs) => expect(msgs.map((m) => m.Body)).toEqual(['no-delay'])),
      wait(21_000),
      receive('q', { MaxNumberOfMessages: 10 }, (msgs) => expect(msgs.map((m) => m.Body)).toEqual(['queue-delay'])),
      counts('q', { delayed: 1, notVisible: 2 }),
    ],
  },
  {
    name: 'long polling: WaitTimeSeconds returns as soon as a message arrives, and returns empty after the wait otherwise',
    queues: { q: {}, q2: {}, lp: { ReceiveMessageWaitTimeSeconds: '20' } },
    steps: [
      run(async (s) => {
        const started = Date.now();
        const pending = s.call('ReceiveMessage', { QueueUrl: s.url('q'), WaitTimeSeconds: 20 });
        await new Promise((r) => setTimeout(r, 40));
        await s.call('SendMessage', { QueueUrl: s.url('q'), MessageBody: 'arrived' });
        const out = await pending;
        expect(out.Messages?.map((m: sqs.Message) => m.Body)).toEqual(['arrived']);
        expect(Date.now() - started).toBeLessThan(180); // the full wait would be 200 ms real
      }),
      run(async (s) => {
        const started = Date.now();
        const out = await s.call('ReceiveMessage', { QueueUrl: s.url('q'), WaitTimeSeconds: 5 });
        expect(out.Messages).toBeUndefined();
        expect(Date.now() - started).toBeGreaterThanOrEqual(45); // 5 s at 100x
      }),
      run(async (s) => {
        // The queue's ReceiveMessageWaitTimeSeconds applies when the call gives no WaitTimeSeconds.
        const started = Date.now();
        const out = await s.call('ReceiveMessage', { QueueUrl: s.url('lp') });
        expect(out.Messages).toBeUndefined();
        expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      }),
      run(async (s) => {
        // A long poll also wakes up when an in-flight message's visibility timeout expires.
        await s.call('SendMessage', { QueueUrl: s.url('q2'), MessageBody: 'again' });
        await s.call('ReceiveMessage', { QueueUrl: s.url('q2'), VisibilityTimeout: 3 });
        const started = Date.now();
        const out = await s.call('ReceiveMessage', { QueueUrl: s.url('q2'), WaitTimeSeconds: 20 });
        expect(out.Messages?.[0].Body).toBe('again');
        expect(Date.now() - started).toBeLessThan(180); // visible after 30 ms real; the full wait would be 200 ms
      }),
    ],
  },
  {
    name: 'PurgeQueue deletes every message (in flight too); a second purge within 60 s fails with PurgeQueueInProgress',
    queues: { q: {} },
    steps: [
      send('q', 'a'),
      send('q', 'b'),
      send('q', 'c', { DelaySeconds: 30 }),
      receive('q', {}, (msgs) => expect(msgs).toHaveLength(1)),
      call('PurgeQueue', (s) => ({ QueueUrl: s.url('q') })),
      counts('q', { visible: 0, notVisible: 0, delayed: 0 }),
      run(async (s) => {
        const err: any = await s.call('PurgeQueue', { QueueUrl: s.url('q') }).catch((e) => e);
        expect(err.name).toBe('PurgeQueueInProgress');
        expect(err.$metadata.httpStatusCode).toBe(403);
      }),
      send('q', 'after'),
      counts('q', { visible: 1 }),
    ],
  },
  {
    name: 'MessageRetentionPeriod: messages expire; in a DLQ expiry counts from the original enqueue time (200x clock)',
    steps: [
      run(async (s) => {
        s.h.restart({ scale: 200, memory: true });
        await s.call('CreateQueue', { QueueName: s.name('short'), Attributes: { MessageRetentionPeriod: '60' } });
        await s.call('CreateQueue', { QueueName: s.name('dlq'), Attributes: { MessageRetentionPeriod: '60' } });
        await s.call('CreateQueue', { QueueName: s.name('src'), Attributes: { MessageRetentionPeriod: '1209600', ...redrive('dlq', 1)(s) } });
        await s.call('SendMessage', { QueueUrl: s.url('short'), MessageBody: 'x' });
        await s.call('SendMessage', { QueueUrl: s.url('src'), MessageBody: 'old' });
        await new Promise((r) => setTimeout(r, 200)); // 40 s simulated
        await s.call('ReceiveMessage', { QueueUrl: s.url('src'), VisibilityTimeout: 0 });
        await s.call('ReceiveMessage', { QueueUrl: s.url('src') }); // receive 2 > maxReceiveCount 1: moved to the DLQ
        const inDlq = await s.call('GetQueueAttributes', { QueueUrl: s.url('dlq'), AttributeNames: ['ApproximateNumberOfMessages'] });
        expect(inDlq.Attributes.ApproximateNumberOfMessages).toBe('1');
        await new Promise((r) => setTimeout(r, 125)); // 25 s more: about 27 s in the DLQ, 67 s since sent
        const dlq = await s.call('ReceiveMessage', { QueueUrl: s.url('dlq') });
        expect(dlq.Messages).toBeUndefined();
        const short = await s.call('ReceiveMessage', { QueueUrl: s.url('short') });
        expect(short.Messages).toBeUndefined();
      }),
    ],
  },

  // ----- dead-letter queues and redrive -----
  {
    name: 'redrive: the receive that would exceed maxReceiveCount moves the message to the DLQ with its id, body, attributes and SentTimestamp',
    queues: { dlq: {}, src: redrive('dlq', 2) },
    steps: [
      send('src', 'poison', { MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } }, 'sent'),
      receive('src', { VisibilityTimeout: 0 }, (msgs, s) => {
        expect(msgs[0].Attributes!.ApproximateReceiveCount).toBe('1');
        s.vars.sentTimestamp = msgs[0].Attributes!.SentTimestamp;
      }),
      receive('src', { VisibilityTimeout: 0 }, (msgs) => expect(msgs[0].Attributes!.ApproximateReceiveCount).toBe('2')),
      receive('src', { VisibilityTimeout: 0 }, (msgs) => expect(msgs).toHaveLength(0)),
      counts('src', { visible: 0, notVisible: 0 }),
      receive('dlq', { MessageAttributeNames: ['All'] }, (msgs, s) => {
        expect(msgs).toHaveLength(1);
        expect(msgs[0].MessageId).toBe(s.vars.sent.MessageId);
        expect(msgs[0].Body).toBe('poison');
        expect(msgs[0].MessageAttributes!.k.StringValue).toBe('v');
        expect(msgs[0].Attributes!.SentTimestamp).toBe(s.vars.sentTimestamp);
        expect(msgs[0].Attributes!.DeadLetterQueueSourceArn).toBe(s.arn('src'));
      }),
      call('GetQueueAttributes', (s) => ({ QueueUrl: s.url('src'), AttributeNames: ['RedrivePolicy'] }), (out, s) => {
        expect(JSON.parse(out.Attributes.RedrivePolicy)).toEqual({ deadLetterTargetArn: s.arn('dlq'), maxReceiveCount: 2 });
      }),
    ],
  },
  {
    name: 'RedrivePolicy: the DLQ must exist; RedriveAllowPolicy denyAll / byQueue deny other sources, byQueue allows listed ones',
    queues: {
      deny: { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'denyAll' }) },
      other: {},
      only: (s) => ({ RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [s.arn('allowed')] }) }),
      src: {},
    },
    steps: [
      fails('SetQueueAttributes', (s) => ({ QueueUrl: s.url('src'), Attributes: redrive('missing', 3)(s) }), 'InvalidParameterValue'),
      fails('SetQueueAttributes', (s) => ({ QueueUrl: s.url('src'), Attributes: redrive('deny', 3)(s) }), 'InvalidParameterValue'),
      fails('CreateQueue', (s) => ({ QueueName: s.name('src2'), Attributes: redrive('deny', 3)(s) }), 'InvalidParameterValue'),
      fails('SetQueueAttributes', (s) => ({ QueueUrl: s.url('src'), Attributes: redrive('only', 3)(s) }), 'InvalidParameterValue'),
      call('CreateQueue', (s) => ({ QueueName: s.name('allowed'), Attributes: redrive('only', 3)(s) })),
      call('SetQueueAttributes', (s) => ({ QueueUrl: s.url('src'), Attributes: redrive('other', 3)(s) })),
      fails('SetQueueAttributes', (s) => ({ QueueUrl: s.url('src'), Attributes: { RedrivePolicy: '{"maxReceiveCount":0}' } }), 'InvalidParameterValue'),
      fails('SetQueueAttributes', (s) => ({ QueueUrl: s.url('other'), Attributes: { RedriveAllowPolicy: '{"redrivePermission":"byQueue"}' } }), 'InvalidParameterValue'),
      call('ListDeadLetterSourceQueues', (s) => ({ QueueUrl: s.url('only') }), (out, s) => expect(out.queueUrls).toEqual([s.url('allowed')])),
      call('ListDeadLetterSourceQueues', (s) => ({ QueueUrl: s.url('deny') }), (out) => expect(out.queueUrls).toEqual([])),
    ],
  },
  {
    name: 'ListDeadLetterSourceQueues lists every queue whose RedrivePolicy targets the DLQ (paginated)',
    queues: { dlq: {}, s1: redrive('dlq', 3), s2: redrive('dlq', 3), s3: redrive('dlq', 3), unrelated: {} },
    steps: [
      call('ListDeadLetterSourceQueues', (s) => ({ QueueUrl: s.url('dlq') }), (out, s) => expect(out.queueUrls).toEqual([s.url('s1'), s.url('s2'), s.url('s3')])),
      call('ListDeadLetterSourceQueues', (s) => ({ QueueUrl: s.url('dlq'), MaxResults: 2 }), (out, s) => {
        expect(out.queueUrls).toEqual([s.url('s1'), s.url('s2')]);
        s.vars.token = out.NextToken;
      }),
      call('ListDeadLetterSourceQueues', (s) => ({ QueueUrl: s.url('dlq'), MaxResults: 2, NextToken: s.vars.token }), (out, s) => expect(out.queueUrls).toEqual([s.url('s3')])),
    ],
  },
  {
    name: 'StartMessageMoveTask moves DLQ messages back to their source queues with new ids; ListMessageMoveTasks reports COMPLETED',
    queues: { dlq: {}, src: redrive('dlq', 1) },
    steps: [
      send('src', 'one', {}, 'one'),
      send('src', 'two'),
      receive('src', { MaxNumberOfMessages: 10, VisibilityTimeout: 0 }, (msgs) => expect(msgs).toHaveLength(2)),
      receive('src', { MaxNumberOfMessages: 10 }, (msgs) => expect(msgs).toHaveLength(0)),
      counts('dlq', { visible: 2 }),
      call('StartMessageMoveTask', (s) => ({ SourceArn: s.arn('dlq') }), (out) => expect(out.TaskHandle).toBeTruthy()),
      run(async (s) => {
        const task = await until(async () => {
          const out = await s.call('ListMessageMoveTasks', { SourceArn: s.arn('dlq') });
          return out.Results[0].Status === 'COMPLETED' ? out.Results[0] : undefined;
        });
        expect(task).toMatchObject({ SourceArn: s.arn('dlq'), ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: 2 });
        expect(task.TaskHandle).toBeUndefined();
        expect(task.DestinationArn).toBeUndefined();
      }),
      counts('dlq', { visible: 0 }),
      receive('src', { MaxNumberOfMessages: 10 }, (msgs, s) => {
        expect(msgs.map((m) => m.Body).sort()).toEqual(['one', 'two']);
        expect(msgs.map((m) => m.MessageId)).not.toContain(s.vars.one.MessageId);
        expect(msgs.every((m) => m.Attributes!.ApproximateReceiveCount === '1')).toBe(true);
      }),
    ],
  },
  {
    name: 'StartMessageMoveTask: DestinationArn and rate; source must be a DLQ; one running task per source; CancelMessageMoveTask',
    queues: { dlq: {}, src: redrive('dlq', 1), elsewhere: {} },
    steps: [
      fails('StartMessageMoveTask', (s) => ({ SourceArn: s.arn('src') }), 'InvalidParameterValue'),
      fails('StartMessageMoveTask', (s) => ({ SourceArn: s.arn('nope') }), 'ResourceNotFoundException'),
      fails('StartMessageMoveTask', (s) => ({ SourceArn: s.arn('dlq'), DestinationArn: s.arn('nope') }), 'ResourceNotFoundException'),
      fails('ListMessageMoveTasks', (s) => ({ SourceArn: s.arn('nope') }), 'ResourceNotFoundException'),
      fails('CancelMessageMoveTask', { TaskHandle: 'bm9wZQ==' }, 'ResourceNotFoundException'),
      send('dlq', 'direct-1'),
      send('dlq', 'direct-2'),
      send('dlq', 'direct-3'),
      // One message in flight keeps the task RUNNING until it becomes visible again.
      receive('dlq', { VisibilityTimeout: 600 }, (msgs) => expect(msgs).toHaveLength(1)),
      call('StartMessageMoveTask', (s) => ({ SourceArn: s.arn('dlq'), DestinationArn: s.arn('elsewhere'), MaxNumberOfMessagesPerSecond: 1 }), (out, s) => (s.vars.handle = out.TaskHandle)),
      fails('StartMessageMoveTask', (s) => ({ SourceArn: s.arn('dlq') }), 'UnsupportedOperation'),
      run(async (s) => {
        await until(async () => {
          const c = await s.call('GetQueueAttributes', { QueueUrl: s.url('elsewhere'), AttributeNames: ['ApproximateNumberOfMessages'] });
          return c.Attributes.ApproximateNumberOfMessages === '2' ? true : undefined;
        });
        const running = (await s.call('ListMessageMoveTasks', { SourceArn: s.arn('dlq'), MaxResults: 10 })).Results;
        expect(running).toEqual([
          expect.objectContaining({ Status: 'RUNNING', TaskHandle: s.vars.handle, DestinationArn: s.arn('elsewhere'), MaxNumberOfMessagesPerSecond: 1, ApproximateNumberOfMessagesToMove: 3 }),
        ]);
      }),
      call('CancelMessageMoveTask', (s) => ({ TaskHandle: s.vars.handle }), (out) => expect(out.ApproximateNumberOfMessagesMoved).toBe(2)),
      // CANCELLING while the task stops (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html),
      // then CANCELLED; test/local/sqs-faults.test.ts catches CANCELLING deterministically on the engine.
      call('ListMessageMoveTasks', (s) => ({ SourceArn: s.arn('dlq') }), (out) => {
        expect(['CANCELLING', 'CANCELLED']).toContain(out.Results[0].Status);
        expect(out.Results[0].TaskHandle).toBeUndefined();
      }),
      run(async (s) => {
        const task = await until(async () => {
          const out = await s.call('ListMessageMoveTasks', { SourceArn: s.arn('dlq') });
          return out.Results[0].Status === 'CANCELLED' ? out.Results[0] : undefined;
        });
        expect(task.ApproximateNumberOfMessagesMoved).toBe(2);
      }),
      counts('dlq', { notVisible: 1 }),
    ],
  },

  // ----- persistence -----
  {
    name: 'persistence: queues, attributes, messages and in-flight state survive a restart from the file journal; a torn last line is ignored',
    queues: { dlq: {}, q: (s) => ({ VisibilityTimeout: '600', ...redrive('dlq', 5)(s) }) },
    steps: [
      send('q', 'visible', { MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } }, 'visible'),
      send('q', 'inflight', {}, 'inflight'),
      send('q', 'deleted'),
      receive('q', { MaxNumberOfMessages: 10 }, (msgs, s) => {
        s.vars.handles = Object.fromEntries(msgs.map((m) => [m.Body, m.ReceiptHandle]));
      }),
      run(async (s) => {
        await s.call('DeleteMessage', { QueueUrl: s.url('q'), ReceiptHandle: s.vars.handles.deleted });
        await s.call('ChangeMessageVisibility', { QueueUrl: s.url('q'), ReceiptHandle: s.vars.handles.visible, VisibilityTimeout: 0 });
        // Simulate SIGKILL in the middle of writing a journal line.
        fs.appendFileSync(path.join(s.h.dir, 'sqs-journal.jsonl'), '{"op":"putMessage","message":{"queue":"' + s.name('q') + '","id":"torn');
        const store = s.h.restart() as FileQueueStore;
        expect(store.skippedLines).toBe(1);
      }),
      counts('q', { visible: 1, notVisible: 1 }),
      call('GetQueueAttributes', (s) => ({ QueueUrl: s.url('q'), AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] }), (out, s) => {
        expect(out.Attributes.VisibilityTimeout).toBe('600');
        expect(JSON.parse(out.Attributes.RedrivePolicy).deadLetterTargetArn).toBe(s.arn('dlq'));
      }),
      receive('q', { MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }, (msgs, s) => {
        expect(msgs.map((m) => m.Body)).toEqual(['visible']);
        expect(msgs[0].MessageId).toBe(s.vars.visible.MessageId);
        expect(msgs[0].Attributes!.ApproximateReceiveCount).toBe('2');
        expect(msgs[0].MessageAttributes!.k.StringValue).toBe('v');
      }),
      // The receipt handle issued before the restart still deletes the in-flight message.
      call('DeleteMessage', (s) => ({ QueueUrl: s.url('q'), ReceiptHandle: s.vars.handles.inflight })),
      counts('q', { visible: 0, notVisible: 1 }),
      run((s) => {
        const text = fs.readFileSync(path.join(s.h.dir, 'sqs-journal.jsonl'), 'utf8');
        expect(text).not.toContain('"id":"torn');
        // Compaction left one line per queue and message, then the appends since the restart.
        for (const line of text.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
      }),
    ],
  },
];

// ----- the runner -----

describe('SQS API conformance (AWS SDK v3 over HTTP)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, index) => {
    const prefix = `c${index}-`;
    const s: Scope = {
      h,
      name: (alias) => `${prefix}${alias}`,
      url: (alias) => `${h.endpoint}/000000000000/${prefix}${alias}`,
      arn: (alias) => `arn:aws:sqs:${REGION}:000000000000:${prefix}${alias}`,
      vars: {},
      call: (op, input) => h.client.send(new (COMMANDS[op] as any)(input)),
    };
    for (const [alias, attrs] of Object.entries(c.queues ?? {})) {
      const Attributes = typeof attrs === 'function' ? attrs(s) : attrs;
      await s.call('CreateQueue', { QueueName: s.name(alias), Attributes });
    }
    for (const [i, step] of c.steps.entries()) {
      const where = `step ${i + 1}`;
      if ('wait' in step) {
        await new Promise((r) => setTimeout(r, step.wait / h.engine.clock.scale));
      } else if ('run' in step) {
        await step.run(s);
      } else {
        const input = typeof step.input === 'function' ? step.input(s) : step.input;
        let out: any;
        let error: any;
        try {
          out = await s.call(step.call, input);
        } catch (e) {
          error = e;
        }
        if (step.error) {
          if (!error) throw new Error(`${where} ${step.call}: expected ${step.error}, got success`);
          expect({ where, name: error.name }).toEqual({ where, name: step.error });
        } else {
          if (error) throw new Error(`${where} ${step.call} failed: ${error.name}: ${error.message}`);
          step.expect?.(out, s);
        }
      }
    }
    if (h.engine.clock.scale !== SCALE) h.restart();
  });
});
