/**
 * Lambda SQS event source mapping conformance: one table of cases written from the Lambda developer guide
 * ("Using Lambda with Amazon SQS", "Handling errors", "Implementing partial batch responses") driving
 * SqsEventSource over an in-process QueueEngine with a fake function. The clock runs 100x: a 5 s visibility
 * timeout is 50 ms.
 */
import { systemClock } from '../../local/clock';
import { InvokeResult, Invoker } from '../../local/engines/invoker';
import { MemoryQueueStore, QueueEngine } from '../../local/engines/queue-engine';
import { SqsBatchInfo, SqsEventRecord, SqsEventSource, SqsEventSourceOptions } from '../../local/engines/sqs-event-source';

const SCALE = 100;
const sleep = (realMs: number) => new Promise((r) => setTimeout(r, realMs));

/** What the fake function does with one invocation. */
type Outcome = { result?: unknown } | { error: string } | { timeout: true };

interface Invocation {
  records: SqsEventRecord[];
  bodies: string[];
  startedAt: number;
  endedAt?: number;
}

interface World {
  engine: QueueEngine;
  source: SqsEventSource;
  invocations: Invocation[];
  batches: SqsBatchInfo[];
  maxActive: number;
  sent: Record<string, string>; // body -> messageId
  send(body: string, attributes?: Record<string, { DataType: string; StringValue?: string }>): void;
  counts(queue?: string): { visible: number; notVisible: number };
  drainDlq(): Promise<{ body: string; messageId: string; receiveCount: string }[]>;
  startedAt: number;
  stoppedIn?: number;
  /** Date.now() when stop() resolved. */
  stoppedAt?: number;
}

interface Case {
  name: string;
  /** Source queue attributes (the DLQ, if any, is wired with RedrivePolicy). */
  queue?: Record<string, string>;
  maxReceiveCount?: number;
  source?: Partial<SqsEventSourceOptions>;
  handler: (records: SqsEventRecord[], call: number) => Outcome | Promise<Outcome>;
  /** Sent before start() (so the first receives find them), unless `act` sends. */
  messages?: string[];
  act?: (w: World) => Promise<void>;
  until: (w: World) => boolean;
  expect: (w: World) => void;
}

const bodiesOf = (w: World) => w.invocations.map((i) => i.bodies.join(','));
const failures = (...ids: string[]) => ({ batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) });
const idsOf = (records: SqsEventRecord[], ...bodies: string[]) => records.filter((r) => bodies.includes(r.body)).map((r) => r.messageId);

const CASES: Case[] = [
  {
    name: 'event shape: Records with messageId, receiptHandle, body, attributes, messageAttributes, md5OfBody, eventSource, eventSourceARN, awsRegion',
    handler: () => ({ result: null }),
    act: async (w) => w.send('hello', { kind: { DataType: 'String', StringValue: 'order' } }),
    until: (w) => w.batches.length === 1,
    expect: (w) => {
      const [r] = w.invocations[0].records;
      expect(r).toEqual({
        messageId: w.sent.hello,
        receiptHandle: expect.any(String),
        body: 'hello',
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: expect.stringMatching(/^\d{13}$/),
          SenderId: '000000000000',
          ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
        },
        messageAttributes: { kind: { stringValue: 'order', stringListValues: [], binaryListValues: [], dataType: 'String' } },
        md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
        md5OfBody: '5d41402abc4b2a76b9719d911017c592',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:orders',
        awsRegion: 'eu-west-1',
      });
      expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
      expect(w.batches[0]).toMatchObject({ outcome: 'success', functionName: 'fake-fn', queueName: 'orders' });
    },
  },
  {
    name: 'batch size: no invocation carries more than BatchSize records; every record is delivered once and deleted on success',
    source: { batchSize: 3 },
    messages: ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'],
    handler: () => ({ result: undefined }),
    until: (w) => w.batches.reduce((n, b) => n + b.deletedMessageIds.length, 0) === 7,
    expect: (w) => {
      expect(w.invocations.map((i) => i.records.length)).toEqual([3, 3, 1]);
      expect(w.invocations.flatMap((i) => i.bodies).sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
      expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
    },
  },
  {
    name: 'batching window: records arriving during MaximumBatchingWindowInSeconds go into one invocation, made when the window ends',
    // 20 s (200 ms real): the three sends, 10 ms apart, fit in the window even on a loaded machine
    source: { batchSize: 10, maximumBatchingWindowSeconds: 20 },
    handler: () => ({}),
    act: async (w) => {
      w.send('a');
      await sleep(10);
      w.send('b');
      await sleep(10);
      w.send('c');
    },
    until: (w) => w.batches.length >= 1,
    expect: (w) => {
      expect(bodiesOf(w)).toEqual(['a,b,c']);
      // the window (20 s = 200 ms real) started with the first record
      expect(w.invocations[0].startedAt - w.startedAt).toBeGreaterThanOrEqual(195);
    },
  },
  {
    name: 'batching window: a full batch is invoked at once, without waiting for the window',
    source: { batchSize: 2, maximumBatchingWindowSeconds: 60 },
    messages: ['a', 'b'],
    handler: () => ({}),
    until: (w) => w.batches.length >= 1,
    expect: (w) => {
      expect(bodiesOf(w)).toEqual(['a,b']);
      expect(w.invocations[0].startedAt - w.startedAt).toBeLessThan(300); // the window would be 600 ms real
    },
  },
  {
    name: 'batch size above 10 (with a window) gathers over several receives',
    source: { batchSize: 25, maximumBatchingWindowSeconds: 3 },
    messages: Array.from({ length: 25 }, (_, i) => `m${i}`),
    handler: () => ({}),
    until: (w) => w.batches.length >= 1,
    expect: (w) => expect(w.invocations.map((i) => i.records.length)).toEqual([25]),
  },
  {
    name: 'partial batch response: only the batchItemFailures come back (after the visibility timeout); the rest are deleted',
    queue: { VisibilityTimeout: '5' },
    source: { reportBatchItemFailures: true },
    messages: ['ok1', 'bad', 'ok2'],
    handler: (records, call) => ({ result: call === 0 ? failures(...idsOf(records, 'bad')) : { batchItemFailures: [] } }),
    until: (w) => w.batches.length === 2,
    expect: (w) => {
      expect(bodiesOf(w)).toEqual(['ok1,bad,ok2', 'bad']);
      expect(w.batches[0]).toMatchObject({ outcome: 'partial', failedMessageIds: [w.sent.bad] });
      expect(w.batches[0].deletedMessageIds.sort()).toEqual([w.sent.ok1, w.sent.ok2].sort());
      expect(w.invocations[1].records[0].attributes.ApproximateReceiveCount).toBe('2');
      expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
    },
  },
  {
    name: 'function error: nothing is deleted, the whole batch returns after the visibility timeout with receive count 2',
    queue: { VisibilityTimeout: '5' },
    source: { reportBatchItemFailures: true },
    messages: ['a', 'b', 'c'],
    handler: (_records, call) => (call === 0 ? { error: 'Boom' } : { result: {} }),
    until: (w) => w.batches.length === 2,
    expect: (w) => {
      expect(w.batches[0]).toMatchObject({ outcome: 'failure', deletedMessageIds: [], error: { errorType: 'Error', errorMessage: 'Boom' } });
      expect(w.invocations[1].bodies.sort()).toEqual(['a', 'b', 'c']);
      expect(w.invocations[1].records.every((r) => r.attributes.ApproximateReceiveCount === '2')).toBe(true);
      // the retry came only after the visibility timeout (5 s = 50 ms real) that began with the first receive
      const firstReceive = Number(w.invocations[1].records[0].attributes.ApproximateFirstReceiveTimestamp);
      expect(w.invocations[1].startedAt - firstReceive).toBeGreaterThanOrEqual(48);
      expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
    },
  },
  {
    name: 'function timeout: treated as an error (nothing deleted, messages return)',
    queue: { VisibilityTimeout: '5' },
    messages: ['slow'],
    handler: (_records, call) => (call === 0 ? { timeout: true } : { result: null }),
    until: (w) => w.batches.length === 2,
    expect: (w) => {
      expect(w.batches[0]).toMatchObject({ outcome: 'failure', timedOut: true, deletedMessageIds: [] });
      expect(w.batches[1]).toMatchObject({ outcome: 'success' });
      expect(bodiesOf(w)).toEqual(['slow', 'slow']);
    },
  },
  ...(
    [
      ['an itemIdentifier that is not in the batch', () => failures('00000000-0000-0000-0000-000000000000')],
      ['an empty itemIdentifier', () => failures('')],
      ['a null itemIdentifier', () => ({ batchItemFailures: [{ itemIdentifier: null }] })],
      ['an itemIdentifier with a bad key name', (records: SqsEventRecord[]) => ({ batchItemFailures: [{ itemIdentifer: records[0].messageId }] })],
      ['batchItemFailures that is not a list', () => ({ batchItemFailures: 'a' })],
      ['a response that is not a JSON object', () => 'done'],
    ] as Array<[string, (records: SqsEventRecord[]) => unknown]>
  ).map(
    ([what, respond]): Case => ({
      name: `invalid partial batch response (${what}): the whole batch fails and returns`,
      queue: { VisibilityTimeout: '5' },
      source: { reportBatchItemFailures: true },
      messages: ['a', 'b'],
      handler: (records, call) => ({ result: call === 0 ? respond(records) : null }),
      until: (w) => w.batches.length === 2,
      expect: (w) => {
        expect(w.batches[0]).toMatchObject({ outcome: 'failure', deletedMessageIds: [], reason: expect.stringMatching(/invalid partial batch response/) });
        expect(w.invocations[1].bodies.sort()).toEqual(['a', 'b']);
        expect(w.batches[1].outcome).toBe('success');
      },
    }),
  ),
  ...(
    [
      ['null', null],
      ['an empty object', {}],
      ['batchItemFailures: null', { batchItemFailures: null }],
      ['batchItemFailures: []', { batchItemFailures: [] }],
    ] as Array<[string, unknown]>
  ).map(
    ([what, result]): Case => ({
      name: `partial batch response ${what} is a complete success`,
      source: { reportBatchItemFailures: true },
      messages: ['a', 'b'],
      handler: () => ({ result }),
      until: (w) => w.batches.length === 1,
      expect: (w) => {
        expect(w.batches[0]).toMatchObject({ outcome: 'success' });
        expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
      },
    }),
  ),
  {
    name: 'without ReportBatchItemFailures a returned batchItemFailures is ignored: the whole batch is deleted',
    source: { reportBatchItemFailures: false },
    messages: ['a', 'b'],
    handler: (records) => ({ result: failures(records[0].messageId) }),
    until: (w) => w.batches.length === 1,
    expect: (w) => {
      expect(w.batches[0]).toMatchObject({ outcome: 'success', failedMessageIds: [] });
      expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
    },
  },
  {
    name: 'maximum concurrency: never more than MaximumConcurrency invocations at once',
    source: { batchSize: 1, maximumConcurrency: 2 },
    messages: ['1', '2', '3', '4', '5', '6', '7', '8'],
    handler: async () => {
      await sleep(25);
      return { result: null };
    },
    until: (w) => w.batches.length === 8,
    expect: (w) => {
      expect(w.maxActive).toBe(2);
      expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
    },
  },
  {
    name: 'default concurrency (unset) is 5 locally, and batches run in parallel',
    source: { batchSize: 1 },
    messages: ['1', '2', '3', '4', '5', '6', '7', '8'],
    handler: async () => {
      await sleep(25);
      return { result: null };
    },
    until: (w) => w.batches.length === 8,
    expect: (w) => expect(w.maxActive).toBe(5),
  },
  {
    name: 'poison message: reported as failed each time, it reaches the DLQ after maxReceiveCount while the rest of its batch succeeds',
    queue: { VisibilityTimeout: '3' },
    maxReceiveCount: 2,
    source: { reportBatchItemFailures: true },
    messages: ['good1', 'poison', 'good2'],
    handler: (records) => ({ result: failures(...idsOf(records, 'poison')) }),
    until: (w) => w.counts('orders-dlq').visible === 1,
    expect: (w) => {
      expect(bodiesOf(w)).toEqual(['good1,poison,good2', 'poison']);
      expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
    },
  },
  {
    name: 'poison message without partial responses: each failing receive counts, the DLQ gets it with its original id after maxReceiveCount',
    queue: { VisibilityTimeout: '3' },
    maxReceiveCount: 3,
    messages: ['poison'],
    handler: () => ({ error: 'cannot parse' }),
    until: (w) => w.counts('orders-dlq').visible === 1,
    expect: async (w) => {
      expect(w.invocations.map((i) => i.records[0].attributes.ApproximateReceiveCount)).toEqual(['1', '2', '3']);
    },
  },
  {
    name: 'stop() waits for the in-flight batch (its messages are deleted) and polls no more',
    handler: async () => {
      await sleep(80);
      return { result: null };
    },
    act: async (w) => {
      w.send('in-flight');
      while (w.invocations.length === 0) await sleep(2);
      const t = Date.now();
      await w.source.stop();
      w.stoppedAt = Date.now();
      w.stoppedIn = w.stoppedAt - t;
      w.send('after-stop');
      await sleep(50);
    },
    until: (w) => w.stoppedIn !== undefined,
    expect: (w) => {
      // stop() resolved only once the 80 ms handler had ended (not a fixed time: the start may be noticed late)
      expect(w.invocations[0].endedAt).toBeDefined();
      expect(w.invocations[0].endedAt!).toBeLessThanOrEqual(w.stoppedAt!);
      expect(w.stoppedAt! - w.invocations[0].startedAt).toBeGreaterThanOrEqual(75);
      expect(w.batches).toEqual([expect.objectContaining({ outcome: 'success', deletedMessageIds: [w.sent['in-flight']] })]);
      expect(bodiesOf(w)).toEqual(['in-flight']);
      expect(w.counts()).toEqual({ visible: 1, notVisible: 0 }); // 'after-stop' waits in the queue
      expect(w.source.running).toBe(false);
    },
  },
  {
    name: 'stop() during a batching window gives the gathered messages back to the queue at once',
    source: { batchSize: 10, maximumBatchingWindowSeconds: 60 },
    handler: () => ({ result: null }),
    act: async (w) => {
      w.send('gathered');
      await sleep(20);
      await w.source.stop();
    },
    until: () => true,
    expect: (w) => {
      expect(w.invocations).toHaveLength(0);
      expect(w.counts()).toEqual({ visible: 1, notVisible: 0 });
    },
  },
];

describe('Lambda SQS event source mapping emulation', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const clock = systemClock(SCALE);
    const engine = new QueueEngine({ clock, store: new MemoryQueueStore(), region: 'eu-west-1' });
    engine.createQueue('orders-dlq');
    const attributes: Record<string, unknown> = { ...(c.queue ?? {}) };
    if (c.maxReceiveCount) {
      // CloudFormation form (an object, as in a resolved template); the engine stores it as the API's JSON string.
      attributes.RedrivePolicy = { deadLetterTargetArn: engine.queueArn('orders-dlq'), maxReceiveCount: c.maxReceiveCount };
    }
    engine.createQueue('orders', attributes);

    let active = 0;
    const w = { invocations: [], batches: [], maxActive: 0, sent: {} } as unknown as World;
    const invoker: Invoker = {
      name: 'fake-fn',
      async invoke(event: unknown): Promise<InvokeResult> {
        const records = (event as { Records: SqsEventRecord[] }).Records;
        const inv: Invocation = { records, bodies: records.map((r) => r.body), startedAt: Date.now() };
        const call = w.invocations.push(inv) - 1;
        active++;
        w.maxActive = Math.max(w.maxActive, active);
        try {
          const outcome = await c.handler(records, call);
          if ('error' in outcome) return { ok: false, error: { errorType: 'Error', errorMessage: outcome.error }, durationMs: 1 };
          if ('timeout' in outcome) return { ok: false, error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out' }, durationMs: 3000, timedOut: true };
          return { ok: true, result: outcome.result, durationMs: 1 };
        } finally {
          active--;
          inv.endedAt = Date.now();
        }
      },
    };
    w.engine = engine;
    w.send = (body, messageAttributes) => {
      w.sent[body] = engine.sendMessage('orders', { body, messageAttributes }).messageId;
    };
    w.counts = (queue = 'orders') => {
      const a = engine.getQueueAttributes(queue, ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible']);
      return { visible: Number(a.ApproximateNumberOfMessages), notVisible: Number(a.ApproximateNumberOfMessagesNotVisible) };
    };
    w.source = new SqsEventSource({
      engine,
      queueName: 'orders',
      invoker,
      clock,
      region: 'eu-west-1',
      onBatch: (info) => w.batches.push(info),
      ...c.source,
    });

    for (const body of c.messages ?? []) w.send(body);
    w.startedAt = Date.now();
    w.source.start();
    try {
      if (c.act) await c.act(w);
      const deadline = Date.now() + 3000;
      while (!c.until(w)) {
        if (Date.now() > deadline) throw new Error(`timed out; invocations so far: ${JSON.stringify(bodiesOf(w))}`);
        await sleep(3);
      }
      await c.expect(w);
      if (c.maxReceiveCount) {
        const [dead] = await engine.receiveMessage('orders-dlq', {});
        const poison = Object.entries(w.sent).find(([body]) => body === 'poison');
        expect(dead.messageId).toBe(poison?.[1]);
        expect(dead.attributes.DeadLetterQueueSourceArn).toBe(engine.queueArn('orders'));
      }
    } finally {
      await w.source.stop();
      engine.close();
    }
  });

  it('rejects configurations AWS rejects', () => {
    const engine = new QueueEngine({ clock: systemClock(SCALE) });
    engine.createQueue('q');
    const invoker: Invoker = { name: 'f', invoke: async () => ({ ok: true, result: null, durationMs: 0 }) };
    const make = (o: Partial<SqsEventSourceOptions>) => () => new SqsEventSource({ engine, queueName: 'q', invoker, ...o });
    expect(make({ batchSize: 11 })).toThrow(/batch window/);
    expect(make({ batchSize: 10_001, maximumBatchingWindowSeconds: 1 })).toThrow(/BatchSize/);
    expect(make({ maximumBatchingWindowSeconds: 301 })).toThrow(/MaximumBatchingWindowInSeconds/);
    expect(make({ maximumConcurrency: 1 })).toThrow(/MaximumConcurrency/);
    expect(make({ batchSize: 11, maximumBatchingWindowSeconds: 1, maximumConcurrency: 2 })).not.toThrow();
    engine.close();
  });
});
