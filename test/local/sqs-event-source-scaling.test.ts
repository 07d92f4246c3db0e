/**
 * The Lambda SQS event source's scaling: several pollers, back-off after function errors, throttled batches
 * waiting out their visibility timeout, the default concurrency, and checkTimeScale (function timeouts are real
 * time while the runtime's waits are scaled). Each case names the AWS page it is written from. Time is a FakeClock
 * that jumps from timer to timer: no real waiting, and no assertion depends on how loaded the machine is.
 */
import { InvokeResult, Invoker } from '../../local/engines/invoker';
import { MemoryQueueStore, QueueEngine } from '../../local/engines/queue-engine';
import { DEFAULT_SQS_CONCURRENCY, SqsBatchInfo, SqsEventRecord, SqsEventSource, SqsEventSourceOptions, checkTimeScale } from '../../local/engines/sqs-event-source';
import { FakeClock } from '../support/fake-clock';

/** The clock these cases were written against: 2025-01-01T00:00Z, scale 1, moved only by the case. */
const newClock = () => new FakeClock({ start: Date.UTC(2025, 0, 1), scale: 1, auto: false });

interface Call {
  bodies: string[];
  receiveCounts: string[];
  startedAt: number;
}

type Respond = (records: SqsEventRecord[], call: number) => InvokeResult | Promise<InvokeResult>;
const ok = (): InvokeResult => ({ ok: true, result: null, durationMs: 1 });
const boom = (): InvokeResult => ({ ok: false, error: { errorType: 'Error', errorMessage: 'boom' }, durationMs: 1 });
const throttle = (): InvokeResult => ({ ok: false, error: { errorType: 'TooManyRequestsException', errorMessage: 'Rate Exceeded.' }, durationMs: 0 });

function world(queueAttributes: Record<string, unknown> = {}, respond: Respond = ok, source: Partial<SqsEventSourceOptions> = {}) {
  const clock = newClock();
  const engine = new QueueEngine({ clock, store: new MemoryQueueStore() });
  engine.createQueue('dlq');
  engine.createQueue('q', queueAttributes);
  const calls: Call[] = [];
  const batches: SqsBatchInfo[] = [];
  let active = 0;
  let maxActive = 0;
  const w = {
    clock,
    engine,
    calls,
    batches,
    respond,
    get maxActive() {
      return maxActive;
    },
    resetMaxActive() {
      maxActive = active;
    },
    source: undefined as unknown as SqsEventSource,
    send: (...bodies: string[]) => bodies.map((body) => engine.sendMessage('q', { body }).messageId),
    counts(queue = 'q') {
      const a = engine.getQueueAttributes(queue, ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible']);
      return { visible: Number(a.ApproximateNumberOfMessages), notVisible: Number(a.ApproximateNumberOfMessagesNotVisible) };
    },
    /** Runs the clock until `what` holds (at most an hour of simulated time). */
    async until(what: () => boolean) {
      await clock.runUntil(what, 3_600_000, `condition (calls: ${JSON.stringify(calls.map((c) => c.bodies))})`);
    },
    /** Lets simulated time pass. */
    wait: (ms: number) => clock.advance(ms),
    async close() {
      await w.source.stop();
      engine.close();
    },
  };
  const invoker: Invoker = {
    name: 'fn',
    async invoke(event: unknown) {
      const records = (event as { Records: SqsEventRecord[] }).Records;
      const call = calls.push({ bodies: records.map((r) => r.body), receiveCounts: records.map((r) => r.attributes.ApproximateReceiveCount), startedAt: clock.now() }) - 1;
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        return await w.respond(records, call);
      } finally {
        active--;
      }
    },
  };
  w.source = new SqsEventSource({ engine, queueName: 'q', invoker, clock, onBatch: (b) => batches.push(b), ...source });
  return w;
}

describe('default concurrency and pollers', () => {
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html: "When messages are available, Lambda
  // starts processing five batches at a time with five concurrent invocations of your function." MaximumConcurrency
  // (ScalingConfig) is 2 to 1,000: https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html
  it('unset MaximumConcurrency means 5 concurrent batches; one poller unless asked', () => {
    const w = world();
    expect(DEFAULT_SQS_CONCURRENCY).toBe(5);
    expect(w.source.maximumConcurrency).toBe(5);
    expect(w.source.currentConcurrency).toBe(5);
    expect(w.source.pollers).toBe(1);
    w.engine.close();
    const make = (o: Partial<SqsEventSourceOptions>) => () => world({}, ok, o);
    expect(make({ pollers: 0 })).toThrow(/pollers/);
    expect(make({ maximumConcurrency: 1001 })).toThrow(/MaximumConcurrency/);
  });

  it('with one poller a batching window collects every message sent during it into one batch', async () => {
    const w = world({}, ok, { batchSize: 10, maximumBatchingWindowSeconds: 2 });
    w.source.start();
    await w.wait(100);
    w.send(...Array.from({ length: 10 }, (_, i) => `m${i}`));
    await w.until(() => w.batches.length === 1);
    expect(w.calls.map((c) => c.bodies.length)).toEqual([10]);
    await w.close();
  });

  it('with pollers: 5 the same messages are spread over several batches (batch boundaries depend on which poller receives)', async () => {
    const w = world({}, ok, { batchSize: 10, maximumBatchingWindowSeconds: 2, pollers: 5 });
    w.source.start();
    await w.wait(100); // past every poller's jitter: all are long-polling
    const ids = w.send(...Array.from({ length: 10 }, (_, i) => `m${i}`));
    await w.until(() => w.batches.reduce((n, b) => n + b.deletedMessageIds.length, 0) === 10);
    expect(w.batches.length).toBeGreaterThan(1);
    expect(w.batches.every((b) => b.messageIds.length <= 10)).toBe(true);
    expect(w.batches.flatMap((b) => b.deletedMessageIds).sort()).toEqual([...ids].sort());
    expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
    await w.close();
  });

  it('pollers never exceed MaximumConcurrency batches at once', async () => {
    const w = world({}, async () => {
      await w.clock.sleep(2_000);
      return ok();
    }, { batchSize: 1, pollers: 8, maximumConcurrency: 3 });
    w.send(...Array.from({ length: 9 }, (_, i) => `m${i}`));
    w.source.start();
    await w.until(() => w.batches.length === 9);
    expect(w.maxActive).toBe(3);
    await w.close();
  });
});

describe('back-off after function errors', () => {
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html: "If your function code caused the
  // error, Lambda will stop processing and retrying the invocation. In the meantime, Lambda gradually backs off,
  // reducing the amount of concurrency allocated to your Amazon SQS event source mapping." "When
  // ReportBatchItemFailures is activated, Lambda doesn't scale down message polling when function invocations fail."
  it('each failed batch in a row halves the concurrency and pauses polling longer (1 s, 2 s, 4 s, 8 s); a success restores it', async () => {
    const w = world({ VisibilityTimeout: '600' }, boom, { batchSize: 1, maximumConcurrency: 2 });
    w.send('m1', 'm2', 'm3', 'm4', 'm5');
    w.source.start();
    await w.until(() => w.batches.length === 2);
    expect(w.source.currentConcurrency).toBe(1);
    w.resetMaxActive();
    await w.until(() => w.batches.length === 5);
    const t = w.calls.map((c) => c.startedAt);
    // after the 3rd failure in a row polling pauses 4 s, after the 4th 8 s
    expect(t[3] - t[2]).toBeGreaterThanOrEqual(4_000);
    expect(t[4] - t[3]).toBeGreaterThanOrEqual(8_000);
    expect(t[4] - t[3]).toBeLessThan(8_100);
    expect(w.maxActive).toBe(1);
    expect(w.source.backOffLevel).toBe(5);
    expect(w.batches.every((b) => b.outcome === 'failure')).toBe(true);
    // the failed messages are still in flight (their visibility timeout is 600 s): nothing was returned early
    expect(w.counts()).toEqual({ visible: 0, notVisible: 5 });
    // the function recovers: the next batch (after the pause, at most 10 s) succeeds and the back-off ends
    w.respond = ok;
    w.send('healthy');
    await w.until(() => w.batches.length === 6);
    expect(w.batches[5]).toMatchObject({ outcome: 'success' });
    expect(w.source.backOffLevel).toBe(0);
    expect(w.source.currentConcurrency).toBe(2);
    await w.close();
  });

  it('with ReportBatchItemFailures a failing function does not slow polling down', async () => {
    const w = world({ VisibilityTimeout: '600' }, boom, { batchSize: 1, maximumConcurrency: 2, reportBatchItemFailures: true });
    w.send('m1', 'm2', 'm3', 'm4', 'm5');
    const started = w.clock.now();
    w.source.start();
    await w.until(() => w.batches.length === 5);
    // with back-off this would take at least 1 + 2 + 4 + 8 s
    expect(w.clock.now() - started).toBeLessThan(1_000);
    expect(w.source.backOffLevel).toBe(0);
    expect(w.source.currentConcurrency).toBe(2);
    await w.close();
  });
});

describe('throttled batches wait while their visibility timeout runs', () => {
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html: "If the invocation fails due to
  // throttling, Lambda gradually backs off retries by reducing the amount of concurrency allocated to your Amazon
  // SQS event source mapping. Lambda continues to retry the message until the message's timestamp exceeds your
  // queue's visibility timeout, at which point Lambda drops the message."
  it('no free environment: the batch is retried and runs once one frees up, within its visibility timeout', async () => {
    let busyUntil = 0;
    const w = world({ VisibilityTimeout: '10' }, ok, { isThrottled: () => w.clock.now() < busyUntil });
    busyUntil = w.clock.now() + 4_000;
    const [id] = w.send('waits');
    w.source.start();
    await w.wait(2_000);
    expect(w.calls).toHaveLength(0);
    expect(w.counts()).toEqual({ visible: 0, notVisible: 1 }); // received and held, not given back
    await w.until(() => w.batches.length === 1);
    expect(w.batches[0]).toMatchObject({ outcome: 'success', deletedMessageIds: [id] });
    expect(w.batches[0].throttles).toBe(4); // retried after 0.5, 1, 2 and 4 s: runs at 7.5 s, before the 10 s timeout
    expect(w.calls[0].receiveCounts).toEqual(['1']);
    expect(w.counts()).toEqual({ visible: 0, notVisible: 0 });
    await w.close();
  });

  it('throttled until the visibility timeout ends: dropped, never invoked, not returned early; visible again and the receive counted', async () => {
    let throttled = true;
    const w = world({ VisibilityTimeout: '5' }, ok, { isThrottled: () => throttled });
    const started = w.clock.now();
    const [id] = w.send('throttled');
    w.source.start();
    await w.wait(4_999);
    expect(w.counts()).toEqual({ visible: 0, notVisible: 1 });
    expect(w.batches).toHaveLength(0);
    await w.until(() => w.batches.length === 1);
    expect(w.clock.now() - started).toBe(5_000);
    // visible again at 5 s, and the poller (long-polling meanwhile) receives it again at once: receive count 2
    expect(w.batches[0]).toMatchObject({ outcome: 'throttled', messageIds: [id], deletedMessageIds: [], failedMessageIds: [id] });
    expect(w.batches[0].reason).toMatch(/visibility timeout/);
    expect(w.calls).toHaveLength(0);
    throttled = false;
    await w.until(() => w.batches.length === 2);
    expect(w.batches[1]).toMatchObject({ outcome: 'success', deletedMessageIds: [id] });
    expect(w.calls[0].receiveCounts).toEqual(['2']);
    await w.close();
  });

  it('throttled until the timeout with maxReceiveCount 1: the message goes to the DLQ (AWS warns of this with low reserved concurrency)', async () => {
    // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html: do not set maximum concurrency above
    // the function's reserved concurrency, "otherwise, Lambda may throttle your messages".
    const attributes = { VisibilityTimeout: '3', RedrivePolicy: { deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:dlq', maxReceiveCount: 1 } };
    const w = world(attributes, ok, { isThrottled: () => true });
    const [id] = w.send('starved');
    w.source.start();
    await w.until(() => w.counts('dlq').visible === 1);
    expect(w.calls).toHaveLength(0);
    const [dead] = await w.engine.receiveMessage('dlq', {});
    expect(dead.messageId).toBe(id);
    await w.close();
  });

  it('an invocation answered with TooManyRequestsException is retried with back-off, then runs', async () => {
    const w = world({ VisibilityTimeout: '30' }, (_r, call) => (call < 2 ? throttle() : ok()));
    const [id] = w.send('retried');
    w.source.start();
    await w.until(() => w.batches.length === 1);
    expect(w.calls).toHaveLength(3);
    expect(w.calls[1].startedAt - w.calls[0].startedAt).toBe(500);
    expect(w.calls[2].startedAt - w.calls[1].startedAt).toBe(1_000);
    expect(w.batches[0]).toMatchObject({ outcome: 'success', throttles: 2, deletedMessageIds: [id] });
    await w.close();
  });

  it('reaching MaximumConcurrency is not throttling: further messages stay in the queue, not received', async () => {
    const w = world({}, async () => {
      await w.clock.sleep(4_000);
      return ok();
    }, { batchSize: 1, maximumConcurrency: 2 });
    w.send('a', 'b', 'c', 'd', 'e');
    w.source.start();
    await w.until(() => w.calls.length === 2);
    await w.wait(3_000);
    expect(w.calls).toHaveLength(2);
    expect(w.counts()).toEqual({ visible: 3, notVisible: 2 });
    await w.until(() => w.batches.length === 5);
    expect(w.batches.every((b) => b.outcome === 'success' && !b.throttles)).toBe(true);
    await w.close();
  });

  it('stop() during a throttle wait gives the never-invoked batch back to the queue at once', async () => {
    const w = world({ VisibilityTimeout: '600' }, ok, { isThrottled: () => true });
    w.send('held');
    w.source.start();
    await w.until(() => w.counts().notVisible === 1);
    await w.source.stop();
    expect(w.batches).toEqual([expect.objectContaining({ outcome: 'throttled', reason: expect.stringMatching(/stopped/) })]);
    expect(w.counts()).toEqual({ visible: 1, notVisible: 0 });
    w.engine.close();
  });
});

describe('checkTimeScale: a scaled visibility timeout must outlast the function timeout (real time)', () => {
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html: "Your function's timeout must be less
  // than or equal to the queue's visibility timeout"; AWS advises six times the function timeout (lib/config.ts
  // visibilityTimeoutFor: 6 x timeout + batching window).
  const consumer = { queueName: 'inventory-queue', visibilityTimeoutSeconds: 61, functionName: 'InventoryFn', functionTimeoutSeconds: 10, maximumBatchingWindowSeconds: 1 };

  it('accepts every scale up to (visibility timeout - batching window) / function timeout', () => {
    expect(checkTimeScale({ ...consumer, timeScale: 1 })).toBeUndefined();
    expect(checkTimeScale({ ...consumer, timeScale: 6 })).toBeUndefined();
    expect(checkTimeScale({ ...consumer, maximumBatchingWindowSeconds: 0, timeScale: 6.1 })).toBeUndefined();
    expect(checkTimeScale({ ...consumer, timeScale: 0.5 })).toBeUndefined();
  });

  it('refuses a larger scale, naming the queue, the function and the largest allowed scale', () => {
    const message = checkTimeScale({ ...consumer, timeScale: 30 });
    expect(message).toContain('inventory-queue');
    expect(message).toContain('InventoryFn');
    expect(message).toContain('lasts 2 s of real time'); // (61 - 1) / 30
    expect(message).toMatch(/largest time scale for this queue and function is 6\.$/);
    expect(checkTimeScale({ ...consumer, timeScale: 6.01 })).toMatch(/is 6\.$/);
    expect(checkTimeScale({ ...consumer, maximumBatchingWindowSeconds: 0, timeScale: 7 })).toMatch(/is 6\.1\.$/);
    expect(checkTimeScale({ queueName: 'q', visibilityTimeoutSeconds: 30, functionName: 'f', functionTimeoutSeconds: 7, timeScale: 5 })).toMatch(/is 4\.285\.$/);
  });

  it('a function timeout above the visibility timeout is refused at any scale (AWS rejects the mapping)', () => {
    const message = checkTimeScale({ queueName: 'q', visibilityTimeoutSeconds: 5, functionName: 'f', functionTimeoutSeconds: 6, timeScale: 1 });
    expect(message).toMatch(/AWS rejects this event source mapping/);
    expect(message).toContain('q');
    expect(message).toContain('f');
  });

  it('at scale 1 a batching window as long as the visibility timeout is AWS behaviour, not refused; faster it is', () => {
    const tight = { queueName: 'q', visibilityTimeoutSeconds: 30, functionName: 'f', functionTimeoutSeconds: 10, maximumBatchingWindowSeconds: 30 };
    expect(checkTimeScale({ ...tight, timeScale: 1 })).toBeUndefined();
    expect(checkTimeScale({ ...tight, timeScale: 2 })).toMatch(/largest time scale for this queue and function is 1\.$/);
  });

  it('nonsense input is reported, not accepted', () => {
    expect(checkTimeScale({ ...consumer, functionTimeoutSeconds: 0, timeScale: 2 })).toMatch(/cannot check/);
    expect(checkTimeScale({ ...consumer, timeScale: Number.NaN })).toMatch(/cannot check/);
  });
});

// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html: AWS refuses a mapping whose function
// timeout exceeds the queue's visibility timeout, so a message is never visible again while its function runs. At a
// time scale the visibility timeout shrinks but the function's timeout does not: given the function's timeout, the
// event source holds the batch invisible until the invocation ends, then gives the message its own timeout back.
describe('time scale: in-flight batches held for the function timeout', () => {
  async function run(functionTimeoutSeconds: number | undefined) {
    // Scale 30: a 60 s visibility timeout lasts 2 s of real time; each invocation runs 5 s of real time, then fails.
    const clock = new FakeClock({ start: Date.UTC(2025, 0, 1), scale: 30, auto: false, waitsScaled: true });
    const engine = new QueueEngine({ clock, store: new MemoryQueueStore() });
    engine.createQueue('q', { VisibilityTimeout: '60' });
    const starts: number[] = [];
    const invoker: Invoker = {
      name: 'fn',
      async invoke() {
        // The first invocation works 5 s of real time; later ones answer at once.
        if (starts.push(clock.now()) === 1) await clock.sleep(5_000 * 30);
        return boom();
      },
    };
    const source = new SqsEventSource({ engine, queueName: 'q', invoker, clock, functionTimeoutSeconds });
    engine.sendMessage('q', { body: 'one' });
    source.start();
    const t0 = clock.now();
    await clock.runUntil(() => starts.length >= 2, 60_000, 'a second delivery');
    // stop() waits for invocations in flight: keep the clock running until it has.
    const stopped = source.stop();
    await clock.runAll();
    await stopped;
    engine.close();
    return starts[1] - t0;
  }

  test('held: the message is delivered again only after the invocation ended, not when the scaled timeout ran out', async () => {
    expect(await run(10)).toBeGreaterThanOrEqual(5_000);
  });

  test('not held (no function timeout given): the scaled timeout lets it be delivered again mid-invocation', async () => {
    expect(await run(undefined)).toBeLessThan(5_000);
  });
});
