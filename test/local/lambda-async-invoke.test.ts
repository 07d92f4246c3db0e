/**
 * Conformance cases for Lambda asynchronous invocation (local/engines/lambda-async-invoke.ts), written from
 * "How Lambda handles errors and retries with asynchronous invocation"
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), "Configuring error handling
 * settings for Lambda asynchronous invocations" (invocation-async-configuring.html) and "Asynchronous invocation"
 * (invocation-async.html: destinations, invocation record, dead-letter queue attributes). Time runs on a manual clock.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvokeResult, Invoker } from '../../local/engines/invoker';
import { InvocationRecord, LambdaAsyncInvoke, LambdaAsyncInvokeOptions, MessageAttributes } from '../../local/engines/lambda-async-invoke';
import { FakeClock } from '../support/fake-clock';

/** The clock these cases were written against: real time from 2026-01-01T12:00Z, waits divided by the time scale. */
const MANUAL_START = Date.UTC(2026, 0, 1, 12, 0, 0);

type Outcome = 'ok' | 'error' | 'timeout' | 'throttle' | 'system';

function harness(script: Outcome[] | ((n: number) => Outcome), options: Partial<LambdaAsyncInvokeOptions> & { scale?: number; start?: number } = {}) {
  const clock = new FakeClock({ start: options.start ?? MANUAL_START, scale: options.scale ?? 1, auto: false, waitsScaled: true, settleTurns: 3 });
  const calls: { at: number; event: unknown }[] = [];
  const outcome = (n: number): Outcome => (typeof script === 'function' ? script(n) : (script[n - 1] ?? 'ok'));
  const invoker: Invoker = {
    name: 'ReserveStock',
    async invoke(event): Promise<InvokeResult> {
      calls.push({ at: clock.now(), event });
      const o = outcome(calls.length);
      if (o === 'throttle') throw Object.assign(new Error('Rate Exceeded.'), { name: 'TooManyRequestsException' });
      if (o === 'system') throw Object.assign(new Error('Service unavailable'), { name: 'ServiceException' });
      if (o === 'error') return { ok: false, error: { errorType: 'Error', errorMessage: `boom ${calls.length}`, stackTrace: ['at handler'] }, durationMs: 1 };
      if (o === 'timeout') return { ok: false, error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds' }, durationMs: 3000, timedOut: true };
      return { ok: true, result: { reserved: true }, durationMs: 1 };
    },
  };
  const failures: InvocationRecord[] = [];
  const successes: InvocationRecord[] = [];
  const deadLetters: { payload: string; attributes: MessageAttributes }[] = [];
  const discarded: { condition: string; attempts: number }[] = [];
  const engine = new LambdaAsyncInvoke({
    invoker,
    clock,
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ReserveStock',
    onFailure: (r) => void failures.push(r),
    onSuccess: (r) => void successes.push(r),
    deadLetter: (payload, attributes) => void deadLetters.push({ payload, attributes }),
    onDiscard: (i) => void discarded.push({ condition: i.condition, attempts: i.attempts }),
    ...options,
  });
  const gaps = () => calls.slice(1).map((c, i) => c.at - calls[i].at);
  return { clock, engine, calls, failures, successes, deadLetters, discarded, gaps };
}

describe('asynchronous invocation', () => {
  // invocation-async.html: "Lambda places the event in a queue and returns a success response without additional
  // information" (StatusCode 202).
  test('invokeAsync accepts at once (202) and the function runs in the background', async () => {
    const h = harness(['ok']);
    const accepted = h.engine.invokeAsync({ orderId: 'o-1' });
    expect(accepted.StatusCode).toBe(202);
    expect(accepted.requestId).toMatch(/^[0-9a-f-]{36}$/);
    await h.engine.drain();
    expect(h.calls).toEqual([{ at: expect.any(Number), event: { orderId: 'o-1' } }]);
    expect(h.successes[0]).toMatchObject({ requestContext: { condition: 'Success', approximateInvokeCount: 1 }, responseContext: { statusCode: 200 }, responsePayload: { reserved: true } });
  });

  // "If the function returns an error, by default Lambda attempts to run it two more times, with a one-minute wait
  // between the first two attempts, and two minutes between the second and third attempts."
  test('a function error is retried twice: one minute, then two minutes', async () => {
    const h = harness(['error', 'error', 'error']);
    h.engine.invokeAsync({ orderId: 'o-1' });
    await h.clock.runAll();
    expect(h.calls).toHaveLength(3);
    expect(h.gaps()).toEqual([60_000, 120_000]);
  });

  // invocation-async.html, "Example invocation record": version 1.0, requestContext (requestId, functionArn with
  // $LATEST, condition RetriesExhausted, approximateInvokeCount 3), requestPayload, responseContext (statusCode 200,
  // executedVersion $LATEST, functionError Unhandled), responsePayload (the error).
  test('after the last retry the on-failure destination gets the invocation record (RetriesExhausted)', async () => {
    const h = harness(['error', 'error', 'error']);
    const { requestId } = h.engine.invokeAsync({ orderId: 'o-1' });
    await h.clock.runAll();
    expect(h.failures).toEqual([
      {
        version: '1.0',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        requestContext: { requestId, functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ReserveStock:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
        requestPayload: { orderId: 'o-1' },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: 'Error', errorMessage: 'boom 3', stackTrace: ['at handler'] },
      },
    ]);
    expect(h.successes).toHaveLength(0);
  });

  // invocation-async.html, "Dead-letter queues": "Lambda sends the event to the dead-letter queue as-is, with
  // additional information in attributes": RequestID (String), ErrorCode (Number, the HTTP status code),
  // ErrorMessage (String, the first 1 KB of the error message).
  test('the dead-letter queue gets the event as-is with RequestID, ErrorCode (Number) and ErrorMessage', async () => {
    const h = harness(['error', 'error', 'error']);
    const { requestId } = h.engine.invokeAsync({ orderId: 'o-1' });
    await h.clock.runAll();
    expect(h.deadLetters).toEqual([
      {
        payload: JSON.stringify({ orderId: 'o-1' }),
        attributes: {
          RequestID: { DataType: 'String', StringValue: requestId },
          ErrorCode: { DataType: 'Number', StringValue: '200' },
          ErrorMessage: { DataType: 'String', StringValue: 'boom 3' },
        },
      },
    ]);
  });

  test('ErrorMessage holds the first 1 KB of the error message', async () => {
    const h = harness(() => 'ok', { maximumRetryAttempts: 0 });
    const long = 'é'.repeat(2000);
    const invoker: Invoker = { name: 'Long', invoke: async () => ({ ok: false, error: { errorType: 'Error', errorMessage: long }, durationMs: 1 }) };
    const deadLetters: MessageAttributes[] = [];
    const engine = new LambdaAsyncInvoke({ invoker, clock: h.clock, maximumRetryAttempts: 0, deadLetter: (_p, a) => void deadLetters.push(a) });
    engine.invokeAsync({});
    await h.clock.runAll();
    expect(Buffer.byteLength(deadLetters[0].ErrorMessage.StringValue)).toBe(1024);
  });

  // invocation-async-configuring.html: "Retry attempts – The number of times Lambda retries when the function returns
  // an error, between 0 and 2."
  test('MaximumRetryAttempts 0: one invocation, then discarded', async () => {
    const h = harness(['error'], { maximumRetryAttempts: 0 });
    h.engine.invokeAsync({});
    await h.clock.runAll();
    expect(h.calls).toHaveLength(1);
    expect(h.failures[0].requestContext).toMatchObject({ condition: 'RetriesExhausted', approximateInvokeCount: 1 });
  });

  test('MaximumRetryAttempts 1: two invocations one minute apart', async () => {
    const h = harness(['error', 'error'], { maximumRetryAttempts: 1 });
    h.engine.invokeAsync({});
    await h.clock.runAll();
    expect(h.gaps()).toEqual([60_000]);
  });

  test('a retry that succeeds: the on-success destination gets the record, nothing is discarded', async () => {
    const h = harness(['error', 'ok']);
    h.engine.invokeAsync({ orderId: 'o-2' });
    await h.clock.runAll();
    expect(h.successes[0].requestContext).toMatchObject({ condition: 'Success', approximateInvokeCount: 2 });
    expect(h.failures).toHaveLength(0);
    expect(h.deadLetters).toHaveLength(0);
  });

  // "Function errors include errors returned by the function's code and errors returned by the function's runtime,
  // such as timeouts."
  test('a timeout is a function error: retried the same way', async () => {
    const h = harness(['timeout', 'timeout', 'timeout']);
    h.engine.invokeAsync({});
    await h.clock.runAll();
    expect(h.gaps()).toEqual([60_000, 120_000]);
    expect(h.failures[0].responsePayload).toMatchObject({ errorType: 'Sandbox.Timedout' });
  });

  // "Maximum age of event – The maximum amount of time Lambda retains an event in the asynchronous event queue, up to
  // 6 hours." Condition EventAgeExceeded ("When an event expires or fails all processing attempts, Lambda discards
  // it").
  test('MaximumEventAgeInSeconds 60: the retry a minute later is too late; the event is discarded as EventAgeExceeded', async () => {
    const h = harness(['error', 'error', 'error'], { maximumEventAgeInSeconds: 60 });
    const t0 = h.clock.now();
    h.engine.invokeAsync({});
    await h.clock.runAll();
    expect(h.calls).toHaveLength(1);
    expect(h.failures[0].requestContext).toMatchObject({ condition: 'EventAgeExceeded', approximateInvokeCount: 1 });
    expect(h.clock.now() - t0).toBe(60_000);
    expect(h.discarded).toEqual([{ condition: 'EventAgeExceeded', attempts: 1 }]);
  });

  test('MaximumEventAgeInSeconds 90: the first retry runs, the second (two minutes later) does not', async () => {
    const h = harness(['error', 'error', 'error'], { maximumEventAgeInSeconds: 90 });
    h.engine.invokeAsync({});
    await h.clock.runAll();
    expect(h.calls).toHaveLength(2);
    expect(h.failures[0].requestContext.condition).toBe('EventAgeExceeded');
  });

  // "For throttling errors (429) and system errors (500-series), Lambda returns the event to the queue and attempts
  // to run the function again for up to 6 hours by default. The retry interval increases exponentially from 1 second
  // after the first attempt to a maximum of 5 minutes."
  test('throttling and system errors: retried 1 s, 2 s, 4 s... apart and do not use up the retry attempts', async () => {
    const h = harness(['throttle', 'system', 'throttle', 'system', 'error', 'ok']);
    h.engine.invokeAsync({});
    await h.clock.runAll();
    expect(h.calls).toHaveLength(6);
    expect(h.gaps()).toEqual([1000, 2000, 4000, 8000, 60_000]);
    expect(h.successes).toHaveLength(1);
  });

  test('throttled for 6 hours: the interval grows to 5 minutes, then the event expires (EventAgeExceeded, ErrorCode 429)', async () => {
    const h = harness(() => 'throttle');
    const t0 = h.clock.now();
    h.engine.invokeAsync({});
    await h.clock.runAll();
    const gaps = h.gaps();
    expect(gaps.slice(0, 10)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000]);
    expect(Math.max(...gaps)).toBe(300_000);
    expect(h.clock.now() - t0).toBe(6 * 3600_000);
    expect(h.failures[0].requestContext.condition).toBe('EventAgeExceeded');
    expect(h.failures[0].responseContext).toEqual({ statusCode: 429, executedVersion: '$LATEST' });
    expect(h.deadLetters[0].attributes.ErrorCode).toEqual({ DataType: 'Number', StringValue: '429' });
  });

  test('waits run on the scaled clock: at time scale 60 the one-minute retry comes one real second later', async () => {
    const h = harness(['error', 'ok'], { scale: 60 });
    h.engine.invokeAsync({});
    await h.clock.advance(999);
    expect(h.calls).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.calls).toHaveLength(2);
  });

  test('without a destination or DLQ a discarded event is only reported', async () => {
    const clock = new FakeClock({ start: MANUAL_START, scale: 1, auto: false, waitsScaled: true, settleTurns: 3 });
    const discarded: string[] = [];
    const engine = new LambdaAsyncInvoke({ invoker: { name: 'F', invoke: async () => ({ ok: false, error: { errorType: 'E', errorMessage: 'x' }, durationMs: 0 }) }, clock, maximumRetryAttempts: 0, onDiscard: (i) => void discarded.push(i.condition) });
    engine.invokeAsync({});
    await clock.runAll();
    expect(discarded).toEqual(['RetriesExhausted']);
  });

  test('each invocation gets its own copy of the event', async () => {
    const h = harness(['error', 'ok']);
    const event = { items: [1] };
    // The first invocation may start before invokeAsync returns; neither it nor the retry sees the caller's later
    // change.
    h.engine.invokeAsync(event);
    event.items.push(2);
    await h.clock.runAll();
    expect(h.calls.map((c) => c.event)).toEqual([{ items: [1] }, { items: [1] }]);
  });
});

describe('durability and shutdown', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-async-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('stop(): waits for retries stop; with a journal the event is resumed by the next engine, its retries counted', async () => {
    const first = harness(['error'], { journalDirectory: dir });
    const t0 = first.clock.now();
    first.engine.invokeAsync({ orderId: 'o-3' });
    await first.clock.advance(10);
    await first.engine.stop();
    expect(first.clock.pending).toBe(0);

    const second = harness(['error', 'error'], { journalDirectory: dir, start: t0 + 30_000 });
    expect(second.engine.pending).toBe(1);
    second.engine.start();
    await second.clock.advance(29_999);
    expect(second.calls).toHaveLength(0); // the retry is due one minute after the first attempt
    await second.clock.runAll();
    expect(second.calls.map((c) => c.event)).toEqual([{ orderId: 'o-3' }, { orderId: 'o-3' }]);
    expect(second.failures[0].requestContext).toMatchObject({ condition: 'RetriesExhausted', approximateInvokeCount: 3 });
    expect(harness([], { journalDirectory: dir }).engine.pending).toBe(0);
  });

  test('an accepted event is journaled before invokeAsync returns', () => {
    const h = harness(['ok'], { journalDirectory: dir });
    h.engine.invokeAsync({ orderId: 'o-4' });
    const lines = fs.readFileSync(path.join(dir, 'lambda-async-ReserveStock.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0])).toMatchObject({ op: 'put', value: { payload: { orderId: 'o-4' } } });
  });
});
