/**
 * SQS FIFO conformance: the real @aws-sdk/client-sqs against the local AWS endpoint (AwsEndpoint on port 0) over a
 * QueueEngine on a FileQueueStore in a temp directory, and the Lambda SQS event source over the same engine with a
 * fake function. Checked against the SQS API reference (CreateQueue, SendMessage, SendMessageBatch, ReceiveMessage,
 * SetQueueAttributes, StartMessageMoveTask), the SQS developer guide ("FIFO queue delivery logic", "Exactly-once
 * processing", "Using the message deduplication ID", "Using the ReceiveRequestAttemptId request parameter",
 * "High throughput for FIFO queues", "Dead-letter queues") and the Lambda developer guide ("Using Lambda with Amazon
 * SQS", "Lambda parameters for Amazon SQS event source mappings", "Handling errors for an SQS event source in
 * Lambda": partial batch responses and FIFO). Where the documents are silent the test name says what was chosen.
 *
 * The clock runs 600x: the 5-minute deduplication interval is 500 ms, a 60 s visibility timeout 100 ms.
 */
import * as sqs from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock } from '../../local/clock';
import { AwsEndpoint } from '../../local/endpoint';
import { InvokeResult, Invoker } from '../../local/engines/invoker';
import { FileQueueStore, QueueEngine } from '../../local/engines/queue-engine';
import { handleSqsRequest } from '../../local/engines/sqs-api';
import { SqsBatchInfo, SqsEventRecord, SqsEventSource } from '../../local/engines/sqs-event-source';
import { eventually } from '../support/eventually';

const SCALE = 600;
const REGION = 'us-east-1';
/** Real milliseconds of a simulated duration. */
const real = (simulatedMs: number) => simulatedMs / SCALE;
const sleep = (realMs: number) => new Promise((r) => setTimeout(r, realMs));

let dir: string;
let engine: QueueEngine;
let endpoint: AwsEndpoint;
let url: string;
let client: sqs.SQSClient;
let n = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqs-fifo-'));
  engine = new QueueEngine({ clock: systemClock(SCALE), store: new FileQueueStore(dir), region: REGION });
  endpoint = new AwsEndpoint({
    // The engine is looked up per request: a restart replaces it.
    sqs: (target, body, { signal }) => handleSqsRequest(engine, target, body, { endpoint: url, region: REGION, signal }),
    events: () => ({ status: 400, body: {} }),
    stepFunctions: () => ({ status: 400, body: {} }),
    dynamodbEndpoint: 'http://127.0.0.1:9',
  });
  url = await endpoint.listen(0);
  engine.endpoint = url;
  client = new sqs.SQSClient({ endpoint: url, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});

afterAll(async () => {
  client.destroy();
  engine.close();
  await endpoint.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A new engine on the same journal, as after a restart of the runtime. */
function restart(scale = SCALE): void {
  engine.close();
  engine = new QueueEngine({ clock: systemClock(scale), store: new FileQueueStore(dir), region: REGION, endpoint: url });
}

/* eslint-disable @typescript-eslint/no-explicit-any */
async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  const e: any = await p.then(() => undefined, (err) => err);
  if (!e) throw new Error('expected the call to fail');
  return { name: e.name, message: e.message };
}

async function fifoQueue(attributes: Record<string, string> = {}, base = 'q'): Promise<string> {
  const out = await client.send(new sqs.CreateQueueCommand({ QueueName: `${base}-${++n}.fifo`, Attributes: { FifoQueue: 'true', VisibilityTimeout: '60', ...attributes } }));
  return out.QueueUrl!;
}

const arnOf = async (queueUrl: string) =>
  (await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;

const send = (queueUrl: string, body: string, group: string, extra: Partial<sqs.SendMessageRequest> = {}) =>
  client.send(new sqs.SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: extra.MessageDeduplicationId ?? `${group}:${body}`, ...extra }));

async function receive(queueUrl: string, extra: Partial<sqs.ReceiveMessageRequest> = {}): Promise<sqs.Message[]> {
  const out = await client.send(new sqs.ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], ...extra }));
  return out.Messages ?? [];
}

const bodies = (messages: sqs.Message[]) => messages.map((m) => m.Body);
const del = (queueUrl: string, m: sqs.Message) => client.send(new sqs.DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));

async function attributes(queueUrl: string): Promise<Record<string, string>> {
  return (await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes ?? {};
}

describe('FIFO queues: names, attributes, deduplication, message groups, delays and sequence numbers', () => {
  test('CreateQueue with a .fifo name and FifoQueue=true makes a FIFO queue; GetQueueAttributes gives its FIFO attributes with their defaults', async () => {
    const q = await fifoQueue();
    expect(q).toMatch(/\/000000000000\/q-\d+\.fifo$/);
    expect(await attributes(q)).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'false', DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' });
    const some = await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: q, AttributeNames: ['FifoQueue', 'ContentBasedDeduplication'] }));
    expect(some.Attributes).toEqual({ FifoQueue: 'true', ContentBasedDeduplication: 'false' });
  });

  test('a .fifo name needs FifoQueue=true, and FifoQueue=true needs a .fifo name (InvalidParameterValue)', async () => {
    expect((await errorOf(client.send(new sqs.CreateQueueCommand({ QueueName: `plain-${++n}.fifo` })))).name).toBe('InvalidParameterValue');
    const e = await errorOf(client.send(new sqs.CreateQueueCommand({ QueueName: `plain-${++n}`, Attributes: { FifoQueue: 'true' } })));
    expect(e.name).toBe('InvalidParameterValue');
    expect(e.message).toMatch(/must end with \.fifo suffix/);
    // 80 characters at most, the suffix included.
    expect((await errorOf(client.send(new sqs.CreateQueueCommand({ QueueName: `${'x'.repeat(76)}.fifo`, Attributes: { FifoQueue: 'true' } })))).name).toBe('InvalidParameterValue');
    await client.send(new sqs.CreateQueueCommand({ QueueName: `${'y'.repeat(75)}.fifo`, Attributes: { FifoQueue: 'true' } }));
  });

  test('a standard queue given FifoQueue, even "false", or another FIFO attribute is refused with InvalidAttributeName (as AWS answers)', async () => {
    for (const attrs of [{ FifoQueue: 'false' }, { ContentBasedDeduplication: 'false' }, { DeduplicationScope: 'queue' }, { FifoThroughputLimit: 'perQueue' }]) {
      expect((await errorOf(client.send(new sqs.CreateQueueCommand({ QueueName: `std-${++n}`, Attributes: attrs })))).name).toBe('InvalidAttributeName');
    }
    const std = (await client.send(new sqs.CreateQueueCommand({ QueueName: `std-${++n}` }))).QueueUrl!;
    expect((await errorOf(client.send(new sqs.SetQueueAttributesCommand({ QueueUrl: std, Attributes: { ContentBasedDeduplication: 'true' } })))).name).toBe('InvalidAttributeName');
  });

  test('FifoQueue cannot be changed on an existing queue (local choice of error: InvalidAttributeName); the other FIFO attributes can', async () => {
    const q = await fifoQueue();
    expect((await errorOf(client.send(new sqs.SetQueueAttributesCommand({ QueueUrl: q, Attributes: { FifoQueue: 'true' } })))).name).toBe('InvalidAttributeName');
    await client.send(new sqs.SetQueueAttributesCommand({ QueueUrl: q, Attributes: { ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup' } }));
    expect(await attributes(q)).toMatchObject({ ContentBasedDeduplication: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perQueue' });
  });

  test('DeduplicationScope is queue | messageGroup, FifoThroughputLimit perQueue | perMessageGroupId, and perMessageGroupId only with messageGroup (high throughput mode)', async () => {
    const bad = (attrs: Record<string, string>) => errorOf(fifoQueue(attrs)).then((e) => e.name);
    expect(await bad({ DeduplicationScope: 'group' })).toBe('InvalidAttributeValue');
    expect(await bad({ FifoThroughputLimit: 'perGroup' })).toBe('InvalidAttributeValue');
    expect(await bad({ ContentBasedDeduplication: 'yes' })).toBe('InvalidAttributeValue');
    expect(await bad({ FifoThroughputLimit: 'perMessageGroupId' })).toBe('InvalidAttributeValue');
    expect(await bad({ DeduplicationScope: 'queue', FifoThroughputLimit: 'perMessageGroupId' })).toBe('InvalidAttributeValue');
    const high = await fifoQueue({ DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
    expect(await attributes(high)).toMatchObject({ DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
    // Any other combination is normal throughput, and allowed.
    const mixed = await fifoQueue({ DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perQueue' });
    // Going back to queue scope while the limit is per group would leave an invalid pair.
    expect((await errorOf(client.send(new sqs.SetQueueAttributesCommand({ QueueUrl: high, Attributes: { DeduplicationScope: 'queue' } })))).name).toBe('InvalidAttributeValue');
    await client.send(new sqs.SetQueueAttributesCommand({ QueueUrl: mixed, Attributes: { FifoThroughputLimit: 'perMessageGroupId' } }));
    expect((await attributes(mixed)).FifoThroughputLimit).toBe('perMessageGroupId');
  });

  test('SendMessage to a FIFO queue needs MessageGroupId (MissingParameter) and a MessageDeduplicationId unless ContentBasedDeduplication (InvalidParameterValue)', async () => {
    const q = await fifoQueue();
    expect((await errorOf(client.send(new sqs.SendMessageCommand({ QueueUrl: q, MessageBody: 'x', MessageDeduplicationId: 'd' })))).name).toBe('MissingParameter');
    const e = await errorOf(client.send(new sqs.SendMessageCommand({ QueueUrl: q, MessageBody: 'x', MessageGroupId: 'g' })));
    expect(e.name).toBe('InvalidParameterValue');
    expect(e.message).toMatch(/ContentBasedDeduplication/);
    expect((await errorOf(send(q, 'x', 'g', { MessageDeduplicationId: 'd'.repeat(129) }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(send(q, 'x', 'g with space'))).name).toBe('InvalidParameterValue');
    expect(await receive(q)).toEqual([]);
  });

  test('DelaySeconds per message is refused on a FIFO queue (InvalidParameterValue); the queue-level DelaySeconds delays every message', async () => {
    const q = await fifoQueue({ DelaySeconds: '60' });
    expect((await errorOf(send(q, 'late', 'g', { DelaySeconds: 5 }))).name).toBe('InvalidParameterValue');
    await send(q, 'm1', 'g');
    expect(await receive(q)).toEqual([]);
    expect((await attributes(q)).ApproximateNumberOfMessagesDelayed).toBe('1');
    await sleep(real(60_000) + 30);
    expect(bodies(await receive(q))).toEqual(['m1']);
  });

  test('a MessageDeduplicationId sent again within 5 minutes is accepted with the original MessageId and not enqueued again, even after the first was deleted; after the interval it is a new message', async () => {
    const q = await fifoQueue();
    const first = await send(q, 'pay order 1', 'g', { MessageDeduplicationId: 'order-1' });
    const again = await send(q, 'pay order 1 (retry)', 'g', { MessageDeduplicationId: 'order-1' });
    expect(again.MessageId).toBe(first.MessageId);
    // The answer's MD5 is of the body this request sent (what the SDK checks).
    expect(again.MD5OfMessageBody).toBe(createHash('md5').update('pay order 1 (retry)').digest('hex'));
    const got = await receive(q);
    expect(bodies(got)).toEqual(['pay order 1']);
    expect(got[0].Attributes).toMatchObject({ MessageDeduplicationId: 'order-1', MessageGroupId: 'g' });
    await del(q, got[0]);
    expect((await send(q, 'pay order 1', 'g', { MessageDeduplicationId: 'order-1' })).MessageId).toBe(first.MessageId);
    expect(await receive(q)).toEqual([]);
    await sleep(real(5 * 60_000) + 50);
    const later = await send(q, 'pay order 1', 'g', { MessageDeduplicationId: 'order-1' });
    expect(later.MessageId).not.toBe(first.MessageId);
    expect(bodies(await receive(q))).toEqual(['pay order 1']);
  });

  test('ContentBasedDeduplication: the SHA-256 of the body (not its attributes) is the deduplication id; an explicit id overrides it and can duplicate it', async () => {
    const q = await fifoQueue({ ContentBasedDeduplication: 'true' });
    const a = await client.send(new sqs.SendMessageCommand({ QueueUrl: q, MessageBody: 'hello', MessageGroupId: 'g' }));
    const sameBodyOtherAttributes = await client.send(new sqs.SendMessageCommand({ QueueUrl: q, MessageBody: 'hello', MessageGroupId: 'g', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } }));
    expect(sameBodyOtherAttributes.MessageId).toBe(a.MessageId);
    const other = await client.send(new sqs.SendMessageCommand({ QueueUrl: q, MessageBody: 'hello', MessageGroupId: 'g', MessageDeduplicationId: 'explicit' }));
    expect(other.MessageId).not.toBe(a.MessageId);
    const sha = createHash('sha256').update('hello').digest('hex');
    const bySha = await client.send(new sqs.SendMessageCommand({ QueueUrl: q, MessageBody: 'different body', MessageGroupId: 'g', MessageDeduplicationId: sha }));
    expect(bySha.MessageId).toBe(a.MessageId);
    const got = await receive(q);
    expect(bodies(got)).toEqual(['hello', 'hello']);
    expect(got.map((m) => m.Attributes!.MessageDeduplicationId)).toEqual([sha, 'explicit']);
  });

  test('DeduplicationScope queue: an id is a duplicate in any group; messageGroup: only in the same group', async () => {
    const perQueue = await fifoQueue();
    const x = await send(perQueue, 'x', 'g1', { MessageDeduplicationId: 'same' });
    expect((await send(perQueue, 'y', 'g2', { MessageDeduplicationId: 'same' })).MessageId).toBe(x.MessageId);
    expect(bodies(await receive(perQueue))).toEqual(['x']);

    const perGroup = await fifoQueue({ DeduplicationScope: 'messageGroup' });
    const p = await send(perGroup, 'x', 'g1', { MessageDeduplicationId: 'same' });
    const q = await send(perGroup, 'y', 'g2', { MessageDeduplicationId: 'same' });
    expect(q.MessageId).not.toBe(p.MessageId);
    expect((await send(perGroup, 'z', 'g1', { MessageDeduplicationId: 'same' })).MessageId).toBe(p.MessageId);
    expect(bodies(await receive(perGroup)).sort()).toEqual(['x', 'y']);
  });

  test('SequenceNumber: a string of digits from SendMessage and SendMessageBatch, increasing per queue, the same as the received system attribute; a duplicate answers the original one (local choice: AWS does not document it)', async () => {
    const q = await fifoQueue();
    const one = await send(q, 'm1', 'a');
    const two = await send(q, 'm2', 'b');
    const batch = await client.send(new sqs.SendMessageBatchCommand({
      QueueUrl: q,
      Entries: [
        { Id: 'e3', MessageBody: 'm3', MessageGroupId: 'a', MessageDeduplicationId: 'd3' },
        { Id: 'nogroup', MessageBody: 'mx', MessageDeduplicationId: 'dx' },
        { Id: 'e4', MessageBody: 'm4', MessageGroupId: 'b', MessageDeduplicationId: 'd4' },
      ],
    }));
    expect(batch.Failed?.map((f) => [f.Id, f.Code])).toEqual([['nogroup', 'MissingParameter']]);
    const seqs = [one.SequenceNumber, two.SequenceNumber, ...batch.Successful!.map((s) => s.SequenceNumber)].map(String);
    for (const s of seqs) expect(s).toMatch(/^\d+$/);
    const asBig = seqs.map((s) => BigInt(s));
    for (let i = 1; i < asBig.length; i++) expect(asBig[i] > asBig[i - 1]).toBe(true);
    expect((await send(q, 'm1', 'a')).SequenceNumber).toBe(one.SequenceNumber);
    const got = await receive(q);
    expect(Object.fromEntries(got.map((m) => [m.Body, m.Attributes!.SequenceNumber]))).toEqual({ m1: seqs[0], m2: seqs[1], m3: seqs[2], m4: seqs[3] });
    // A standard queue's messages have none.
    const std = (await client.send(new sqs.CreateQueueCommand({ QueueName: `std-${++n}` }))).QueueUrl!;
    expect((await client.send(new sqs.SendMessageCommand({ QueueUrl: std, MessageBody: 'x' }))).SequenceNumber).toBeUndefined();
  });

  test('persistence: deduplication ids within the interval, sequence numbers and a group in flight survive a restart from the journal', async () => {
    const q = await fifoQueue({ VisibilityTimeout: '300' });
    const first = await send(q, 'm1', 'g', { MessageDeduplicationId: 'kept' });
    await send(q, 'm2', 'g');
    const inFlight = await receive(q, { MaxNumberOfMessages: 1 });
    expect(bodies(inFlight)).toEqual(['m1']);
    await del(q, inFlight[0]);
    const m2 = await receive(q, { MaxNumberOfMessages: 1 });
    expect(bodies(m2)).toEqual(['m2']);
    await send(q, 'm3', 'g');
    restart();
    // m1 was deleted, yet its deduplication id is remembered.
    expect((await send(q, 'm1', 'g', { MessageDeduplicationId: 'kept' })).MessageId).toBe(first.MessageId);
    // m2 is still in flight: group g gives nothing, not m3.
    expect(await receive(q)).toEqual([]);
    // The receipt handle from before the restart still deletes it; then m3 comes, with a larger sequence number.
    await del(q, m2[0]);
    const m3 = await receive(q);
    expect(bodies(m3)).toEqual(['m3']);
    const after = await send(q, 'm4', 'g');
    expect(BigInt(after.SequenceNumber!) > BigInt(m3[0].Attributes!.SequenceNumber!)).toBe(true);
    expect(BigInt(after.SequenceNumber!) > BigInt(first.SequenceNumber!)).toBe(true);
    // Again from the compacted journal (the deduplication entries are records of their own there).
    restart();
    expect((await send(q, 'm1', 'g', { MessageDeduplicationId: 'kept' })).MessageId).toBe(first.MessageId);
    expect(fs.readFileSync(path.join(dir, 'sqs-journal.jsonl'), 'utf8')).toMatch(/"op":"deduplication".*"deduplicationId":"kept"/);
    expect(await receive(q)).toEqual([]); // m3 still in flight
  });
});

describe('ordering: a group in order, one batch of a group in flight at a time', () => {
  /** Interleaved sends of groups A, B and C. */
  async function interleaved(q: string): Promise<void> {
    for (const [body, group] of [['A1', 'A'], ['B1', 'B'], ['A2', 'A'], ['C1', 'C'], ['B2', 'B'], ['A3', 'A']]) await send(q, body, group);
  }

  test('a receive returns as many messages of the oldest group as it can, in order, then the next groups, each in order', async () => {
    const q = await fifoQueue();
    await interleaved(q);
    expect(bodies(await receive(q))).toEqual(['A1', 'A2', 'A3', 'B1', 'B2', 'C1']);
  });

  test("while a group has a message in flight no other message of that group is delivered; other groups' are", async () => {
    const q = await fifoQueue();
    await interleaved(q);
    const a = await receive(q, { MaxNumberOfMessages: 2 });
    expect(bodies(a)).toEqual(['A1', 'A2']);
    expect(bodies(await receive(q))).toEqual(['B1', 'B2', 'C1']);
    expect(await receive(q)).toEqual([]);
    await del(q, a[0]);
    // A2 is still in flight, so A3 waits behind it.
    expect(await receive(q)).toEqual([]);
    await del(q, a[1]);
    expect(bodies(await receive(q))).toEqual(['A3']);
  });

  test('when the visibility timeout ends the group is delivered again from the same message, with its receive count raised', async () => {
    const q = await fifoQueue();
    await interleaved(q);
    expect(bodies(await receive(q, { MaxNumberOfMessages: 1 }))).toEqual(['A1']);
    await sleep(real(60_000) + 30);
    const again = await receive(q, { MaxNumberOfMessages: 3 });
    expect(bodies(again)).toEqual(['A1', 'A2', 'A3']);
    expect(again.map((m) => m.Attributes!.ApproximateReceiveCount)).toEqual(['2', '1', '1']);
  });

  test('DeleteMessage with a receipt handle whose visibility timeout ended is InvalidParameterValue "The receipt handle has expired" on a FIFO queue (as AWS answers; a standard queue accepts it)', async () => {
    const q = await fifoQueue();
    await send(q, 'A1', 'A');
    const [first] = await receive(q);
    await sleep(real(60_000) + 30);
    const e = await errorOf(del(q, first));
    expect(e).toEqual({ name: 'InvalidParameterValue', message: expect.stringMatching(/The receipt handle has expired/) });
    // Received again: the old handle stays expired, the new one deletes.
    const [second] = await receive(q);
    expect((await errorOf(del(q, first))).name).toBe('InvalidParameterValue');
    await del(q, second);
    expect((await attributes(q)).ApproximateNumberOfMessagesNotVisible).toBe('0');
    const std = (await client.send(new sqs.CreateQueueCommand({ QueueName: `std-${++n}`, Attributes: { VisibilityTimeout: '60' } }))).QueueUrl!;
    await client.send(new sqs.SendMessageCommand({ QueueUrl: std, MessageBody: 'x' }));
    const [m] = await receive(std);
    await sleep(real(60_000) + 30);
    await del(std, m);
  });

  test('ChangeMessageVisibility to 0 on a whole in-flight group makes it deliverable again, in order', async () => {
    const q = await fifoQueue();
    await interleaved(q);
    const a = await receive(q, { MaxNumberOfMessages: 2 });
    await client.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: q, ReceiptHandle: a[1].ReceiptHandle!, VisibilityTimeout: 0 }));
    // A1 is still in flight: the group stays held.
    expect(bodies(await receive(q, { MaxNumberOfMessages: 10 }))).toEqual(['B1', 'B2', 'C1']);
    await client.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: q, ReceiptHandle: a[0].ReceiptHandle!, VisibilityTimeout: 0 }));
    expect(bodies(await receive(q))).toEqual(['A1', 'A2', 'A3']);
  });

  test("a long poll waiting on a held group returns as soon as the group's in-flight message is deleted", async () => {
    // At 10x a 20 s long poll lasts 2 s, long enough to delete meanwhile.
    restart(10);
    try {
      const q = await fifoQueue();
      await send(q, 'A1', 'A');
      await send(q, 'A2', 'A');
      const a1 = await receive(q, { MaxNumberOfMessages: 1 });
      const started = Date.now();
      const polling = receive(q, { WaitTimeSeconds: 20 });
      await sleep(100);
      await del(q, a1[0]);
      expect(bodies(await polling)).toEqual(['A2']);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      restart();
    }
  });

  test('ReceiveRequestAttemptId: a retry within 5 minutes returns the same messages and receipt handles and starts their visibility timeout again', async () => {
    // A 240 s visibility timeout (400 ms real), within the 5-minute attempt interval, with margins for a loaded machine.
    const q = await fifoQueue({ VisibilityTimeout: '240' });
    await interleaved(q);
    const first = await receive(q, { MaxNumberOfMessages: 2, ReceiveRequestAttemptId: 'attempt-1' });
    expect(bodies(first)).toEqual(['A1', 'A2']);
    await sleep(real(150_000));
    const retry = await receive(q, { MaxNumberOfMessages: 2, ReceiveRequestAttemptId: 'attempt-1' });
    expect(retry.map((m) => [m.MessageId, m.ReceiptHandle])).toEqual(first.map((m) => [m.MessageId, m.ReceiptHandle]));
    expect(retry.map((m) => m.Attributes!.ApproximateReceiveCount)).toEqual(['1', '1']);
    // 150 s + 150 s after the first receive: past its 240 s timeout, within the retry's.
    await sleep(real(150_000));
    expect(bodies(await receive(q))).toEqual(['B1', 'B2', 'C1']);
    // Another attempt id is another receive: group A is in flight.
    expect(await receive(q, { ReceiveRequestAttemptId: 'attempt-2' })).toEqual([]);
  });

  test('ReceiveRequestAttemptId can be used for 5 minutes: after that the same id is a new receive', async () => {
    const q = await fifoQueue({ VisibilityTimeout: '900' });
    await interleaved(q);
    expect(bodies(await receive(q, { MaxNumberOfMessages: 3, ReceiveRequestAttemptId: 'late' }))).toEqual(['A1', 'A2', 'A3']);
    await sleep(real(5 * 60_000) + 50);
    // Group A is still in flight (900 s), so the new receive gives the other groups.
    expect(bodies(await receive(q, { ReceiveRequestAttemptId: 'late' }))).toEqual(['B1', 'B2', 'C1']);
  });

  test('ReceiveRequestAttemptId: once one of its messages was deleted a retry is a new receive (local choice: AWS only says the retry needs unmodified messages); a malformed id is InvalidParameterValue', async () => {
    const q = await fifoQueue();
    await interleaved(q);
    const first = await receive(q, { MaxNumberOfMessages: 1, ReceiveRequestAttemptId: 'attempt-x' });
    await del(q, first[0]);
    // Not A1 again: a new receive, whose oldest available message is now B1.
    expect(bodies(await receive(q, { MaxNumberOfMessages: 1, ReceiveRequestAttemptId: 'attempt-x' }))).toEqual(['B1']);
    expect((await errorOf(receive(q, { ReceiveRequestAttemptId: 'x'.repeat(129) }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(receive(q, { ReceiveRequestAttemptId: 'with space' }))).name).toBe('InvalidParameterValue');
  });
});

describe('FIFO dead-letter queues: same queue type, redrive in group order, message move tasks', () => {
  test("a FIFO queue's dead-letter queue must be FIFO, and a standard queue's standard (InvalidParameterValue)", async () => {
    const fifoDlq = await fifoQueue({}, 'dlq');
    const stdDlq = (await client.send(new sqs.CreateQueueCommand({ QueueName: `std-dlq-${++n}` }))).QueueUrl!;
    const policy = async (dlq: string) => JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount: 2 });
    expect((await errorOf(fifoQueue({ RedrivePolicy: await policy(stdDlq) }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(client.send(new sqs.CreateQueueCommand({ QueueName: `std-${++n}`, Attributes: { RedrivePolicy: await policy(fifoDlq) } })))).name).toBe('InvalidParameterValue');
    const ok = await fifoQueue({ RedrivePolicy: await policy(fifoDlq) });
    expect(JSON.parse((await attributes(ok)).RedrivePolicy).deadLetterTargetArn).toBe(await arnOf(fifoDlq));
  });

  test('after maxReceiveCount receives the message moves to the FIFO DLQ (group, deduplication id and sequence number kept) and its group continues with the next message', async () => {
    const dlq = await fifoQueue({}, 'dlq');
    const q = await fifoQueue({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount: 2 }) });
    const sent = await send(q, 'A1', 'A');
    await send(q, 'A2', 'A');
    await send(q, 'B1', 'B');
    for (let i = 0; i < 2; i++) {
      expect(bodies(await receive(q, { MaxNumberOfMessages: 1 }))).toEqual(['A1']);
      await sleep(real(60_000) + 30);
    }
    expect(bodies(await receive(q, { MaxNumberOfMessages: 1 }))).toEqual(['A2']);
    const dead = await receive(dlq);
    expect(bodies(dead)).toEqual(['A1']);
    expect(dead[0].MessageId).toBe(sent.MessageId);
    expect(dead[0].Attributes).toMatchObject({ MessageGroupId: 'A', MessageDeduplicationId: 'A:A1', SequenceNumber: sent.SequenceNumber, DeadLetterQueueSourceArn: await arnOf(q) });
  });

  test("messages of one group redriven together arrive in the DLQ in the group's order", async () => {
    const dlq = await fifoQueue({}, 'dlq');
    const q = await fifoQueue({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount: 1 }) });
    for (const b of ['A1', 'A2', 'A3']) await send(q, b, 'A');
    expect(bodies(await receive(q))).toEqual(['A1', 'A2', 'A3']);
    await sleep(real(60_000) + 30);
    expect(await receive(q)).toEqual([]);
    expect(bodies(await receive(dlq))).toEqual(['A1', 'A2', 'A3']);
  });

  test('StartMessageMoveTask moves FIFO DLQ messages back to their FIFO source in group order (new sequence numbers); a standard destination is refused (local choice: InvalidParameterValue)', async () => {
    const dlq = await fifoQueue({}, 'dlq');
    const q = await fifoQueue({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount: 1 }) });
    for (const [b, g] of [['A1', 'A'], ['B1', 'B'], ['A2', 'A']]) await send(q, b, g);
    const firstTime = await receive(q);
    await sleep(real(60_000) + 30);
    expect(await receive(q)).toEqual([]);
    const std = (await client.send(new sqs.CreateQueueCommand({ QueueName: `std-${++n}` }))).QueueUrl!;
    const refused = await errorOf(client.send(new sqs.StartMessageMoveTaskCommand({ SourceArn: await arnOf(dlq), DestinationArn: await arnOf(std) })));
    expect(refused.name).toBe('InvalidParameterValue');
    await client.send(new sqs.StartMessageMoveTaskCommand({ SourceArn: await arnOf(dlq) }));
    let back: sqs.Message[] = [];
    for (let i = 0; i < 100 && back.length < 3; i++) {
      await sleep(10);
      if ((await attributes(q)).ApproximateNumberOfMessages === '3') back = await receive(q);
    }
    expect(bodies(back)).toEqual(['A1', 'A2', 'B1']);
    const before = Object.fromEntries(firstTime.map((m) => [m.Body, BigInt(m.Attributes!.SequenceNumber!)]));
    for (const m of back) expect(BigInt(m.Attributes!.SequenceNumber!) > before[m.Body!]).toBe(true);
  });
});

describe('Lambda event source on a FIFO queue', () => {
  interface Invocation {
    bodies: string[];
    groups: string[];
    records: SqsEventRecord[];
  }

  /** A fake function; `handle` decides each invocation's answer, `active` tracks the groups in flight. */
  function world(q: string, handle: (records: SqsEventRecord[], call: number) => Promise<unknown> | unknown, options: Partial<ConstructorParameters<typeof SqsEventSource>[0]> = {}) {
    const name = engine.queueNameFromUrl(q);
    const invocations: Invocation[] = [];
    const batches: SqsBatchInfo[] = [];
    const active = new Map<string, number>();
    let concurrent = 0;
    let maxConcurrent = 0;
    let overlap = false;
    const invoker: Invoker = {
      name: 'consumer',
      async invoke(event): Promise<InvokeResult> {
        const records = (event as { Records: SqsEventRecord[] }).Records;
        const groups = [...new Set(records.map((r) => r.attributes.MessageGroupId))];
        for (const g of groups) {
          if (active.get(g)) overlap = true;
          active.set(g, (active.get(g) ?? 0) + 1);
        }
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        invocations.push({ bodies: records.map((r) => r.body), groups, records });
        try {
          const answer = await handle(records, invocations.length);
          if (answer instanceof Error) return { ok: false, error: { errorType: 'Error', errorMessage: answer.message }, durationMs: 1 };
          return { ok: true, result: answer, durationMs: 1 };
        } finally {
          concurrent--;
          for (const g of groups) active.set(g, active.get(g)! - 1);
        }
      },
    };
    const source = new SqsEventSource({ engine, queueName: name, invoker, onBatch: (b) => batches.push(b), ...options });
    return { source, invocations, batches, stats: () => ({ maxConcurrent, overlap }) };
  }

  const until = (condition: () => boolean, timeoutMs = 3000) => eventually(async () => expect(condition()).toBe(true), timeoutMs, 5);

  test('a batching window or a batch size above 10 is refused for a FIFO queue (services-sqs-parameters.html)', async () => {
    const q = await fifoQueue();
    expect(() => world(q, () => null, { maximumBatchingWindowSeconds: 1 })).toThrow('Batching window is not supported for FIFO queues');
    expect(() => world(q, () => null, { batchSize: 11 })).toThrow('BatchSize must be an integer from 1 to 10 for a FIFO queue');
    expect(() => world(q, () => null, { batchSize: 10 })).not.toThrow();
  });

  test('records carry MessageGroupId, MessageDeduplicationId and SequenceNumber; a batch holds each group in order', async () => {
    const q = await fifoQueue();
    for (const [b, g] of [['A1', 'A'], ['B1', 'B'], ['A2', 'A'], ['B2', 'B']]) await send(q, b, g);
    const w = world(q, () => null);
    w.source.start();
    await until(() => w.batches.length === 1);
    await w.source.stop();
    expect(w.invocations[0].bodies).toEqual(['A1', 'A2', 'B1', 'B2']);
    expect(w.invocations[0].records[0].attributes).toMatchObject({ MessageGroupId: 'A', MessageDeduplicationId: 'A:A1', SequenceNumber: expect.stringMatching(/^\d+$/), ApproximateReceiveCount: '1' });
    expect(w.batches[0].outcome).toBe('success');
  });

  test("a failed batch blocks its groups until its messages return, and they come back in order; the other groups' messages keep flowing", async () => {
    const q = await fifoQueue({ VisibilityTimeout: '60' });
    await send(q, 'A1', 'A');
    await send(q, 'A2', 'A');
    const w = world(q, (_records, call) => (call === 1 ? new Error('boom') : null), { batchSize: 2 });
    w.source.start();
    await until(() => w.invocations.length === 1);
    await send(q, 'B1', 'B');
    await send(q, 'A3', 'A');
    await until(() => w.invocations.length >= 3, 4000);
    await w.source.stop();
    // B1 went while A's batch was failing; A came back from A1, in order, then A3.
    expect(w.invocations.slice(0, 3).map((i) => i.bodies.join(','))).toEqual(['A1,A2', 'B1', 'A1,A2']);
    expect(w.invocations[2].records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['2', '2']);
  });

  test('ReportBatchItemFailures: the failed message and every later one of its group stay (held back if the function did not report them); earlier ones and other groups are deleted', async () => {
    const q = await fifoQueue({ VisibilityTimeout: '60' });
    for (const [b, g] of [['A1', 'A'], ['B1', 'B'], ['A2', 'A'], ['A3', 'A'], ['B2', 'B']]) await send(q, b, g);
    const w = world(
      q,
      (records, call) => (call === 1 ? { batchItemFailures: records.filter((r) => r.body === 'A2').map((r) => ({ itemIdentifier: r.messageId })) } : null),
      { reportBatchItemFailures: true },
    );
    w.source.start();
    await until(() => w.invocations.length >= 2, 4000);
    await w.source.stop();
    const [first, second] = w.invocations;
    expect(first.bodies).toEqual(['A1', 'A2', 'A3', 'B1', 'B2']);
    const id = (body: string) => first.records.find((r) => r.body === body)!.messageId;
    expect(w.batches[0]).toMatchObject({ outcome: 'partial', failedMessageIds: [id('A2'), id('A3')], heldBackMessageIds: [id('A3')] });
    expect(w.batches[0].deletedMessageIds.sort()).toEqual([id('A1'), id('B1'), id('B2')].sort());
    // The group is retried from its failure, in order.
    expect(second.bodies).toEqual(['A2', 'A3']);
  });

  test('concurrency follows the message groups: with batches of one, three groups run three at a time, never two batches of one group at once', async () => {
    const q = await fifoQueue();
    for (let i = 1; i <= 3; i++) for (const g of ['A', 'B', 'C']) await send(q, `${g}${i}`, g);
    const w = world(q, () => sleep(40).then(() => null), { batchSize: 1, maximumConcurrency: 5 });
    w.source.start();
    await until(() => w.batches.length === 9, 5000);
    await w.source.stop();
    expect(w.stats()).toEqual({ maxConcurrent: 3, overlap: false });
    for (const g of ['A', 'B', 'C']) {
      expect(w.invocations.filter((i) => i.groups[0] === g).map((i) => i.bodies[0])).toEqual([`${g}1`, `${g}2`, `${g}3`]);
    }
  });
});
