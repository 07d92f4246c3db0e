/**
 * Step Functions failure paths, case by case from the AWS pages named above each block, through StateMachineEngine
 * (aws-local-stepfunctions with the engine's Task handling) and stub invokers. Time is a FakeClock: a retry's wait,
 * a task's TimeoutSeconds and the state machine's TimeoutSeconds take no real time, and every instant an invocation
 * starts is read off the clock, so the intervals are checked to the millisecond.
 */
import { SFNClient, DescribeExecutionCommand, ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { systemClock } from '../../local/clock';
import { AwsEndpoint } from '../../local/endpoint';
import { FaultKind, Faults } from '../../local/faults/faults';
import { InvokeResult, Invoker } from '../../local/engines/invoker';
import { handleSfnRequest } from '../../local/engines/sfn-api';
import { errorMatches, retryDelayMs, StateMachineEngine, StateMachineOptions } from '../../local/engines/state-machines';
import { FakeClock } from '../support/fake-clock';

jest.setTimeout(10_000);

const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:conformance';
const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
type Definition = { StartAt: string; States: Record<string, Record<string, unknown>>; TimeoutSeconds?: number };

/** A function's error as the local runner reports it (Node's error fields and stack). */
function fnError(errorType: string, errorMessage: string): InvokeResult {
  return { ok: false, error: { errorType, errorMessage, stackTrace: [`${errorType}: ${errorMessage}`, '    at Runtime.handler (file:///var/task/index.mjs:3:9)'] }, durationMs: 1 };
}
const okResult = (result: unknown): InvokeResult => ({ ok: true, result, durationMs: 1 });

/** A stub function: answers from `behave`, recording when (clock time) and with what each invocation started. */
class StubFunction implements Invoker {
  readonly calls: { at: number; event: unknown }[] = [];
  constructor(
    readonly name: string,
    private readonly clock: FakeClock,
    private readonly behave: (event: unknown, n: number) => InvokeResult | Promise<InvokeResult>,
  ) {}
  async invoke(event: unknown): Promise<InvokeResult> {
    this.calls.push({ at: this.clock.now(), event });
    return this.behave(event, this.calls.length);
  }
  /** When each invocation started, relative to the first. */
  get starts(): number[] {
    return this.calls.map((c) => c.at - this.calls[0].at);
  }
}

/** Fails with these errors in turn, then succeeds with {ok: true}. */
const failing = (clock: FakeClock, ...errors: string[]) => new StubFunction('F', clock, (_e, n) => (n <= errors.length ? fnError(errors[n - 1], `failure ${n}`) : okResult({ ok: true })));
/** Runs for `ms` of clock time, then answers. */
const slow = (clock: FakeClock, ms: number, result: unknown = { done: true }) =>
  new StubFunction('Slow', clock, async () => {
    await clock.sleep(ms);
    return okResult(result);
  });

/**
 * An engine on these functions. Definitions are not validated (asl-validator takes ~0.5 s a machine): one case
 * checks that they are by default.
 */
function engine(definition: Definition, functions: StubFunction[], clock: FakeClock, options: StateMachineOptions = {}) {
  const byArn = new Map(functions.map((f) => [fnArn(f.name), f] as const));
  return new StateMachineEngine(ARN, 'conformance', definition as never, (ref) => byArn.get(ref) ?? functions.find((f) => f.name === ref), clock, undefined, { validate: false, ...options });
}

async function run(definition: Definition, functions: StubFunction[], clock: FakeClock, options: StateMachineOptions = {}, input: unknown = {}) {
  const machine = engine(definition, functions, clock, options);
  const execution = await machine.start(input);
  await machine.drain();
  return { execution, output: execution.output === undefined ? undefined : JSON.parse(execution.output), machine };
}

const task = (fn: string, more: Record<string, unknown> = {}) => ({ Type: 'Task', Resource: fnArn(fn), ...more });
const pass = (result: unknown) => ({ Type: 'Pass', Result: result, End: true });

// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error
describe('Retry: intervals per retrier (IntervalSeconds * BackoffRate^n, MaxDelaySeconds, JitterStrategy)', () => {
  it('defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0: waits 1, 2 and 4 s, then the error stands', async () => {
    const clock = new FakeClock();
    const f = failing(clock, 'Error', 'Error', 'Error', 'Error');
    const { execution } = await run({ StartAt: 'T', States: { T: task('F', { Retry: [{ ErrorEquals: ['States.ALL'] }], End: true }) } }, [f], clock);
    expect(f.starts).toEqual([0, 1000, 3000, 7000]);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'Error' });
  });

  it('"IntervalSeconds 3, MaxAttempts 3, BackoffRate 2": retries 3, 6 and 12 s apart', async () => {
    const clock = new FakeClock();
    const f = failing(clock, 'E', 'E', 'E');
    const { execution } = await run(
      { StartAt: 'T', States: { T: task('F', { Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 3, MaxAttempts: 3, BackoffRate: 2 }], End: true }) } },
      [f],
      clock,
    );
    expect(f.starts).toEqual([0, 3000, 9000, 21000]);
    expect(execution.status).toBe('SUCCEEDED');
  });

  it('Example 1, BackoffRate 1: two retries, each three seconds after the error', async () => {
    const clock = new FakeClock();
    const f = failing(clock, 'E', 'E', 'E');
    await run({ StartAt: 'T', States: { T: task('F', { Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 3, MaxAttempts: 2, BackoffRate: 1 }], End: true }) } }, [f], clock);
    expect(f.starts).toEqual([0, 3000, 6000]);
  });

  it('Example 2, MaxDelaySeconds 5: waits 3, 5, 5 (6 and 12 without it); with JitterStrategy FULL each lies in [0, that]', async () => {
    const retrier = { ErrorEquals: ['E'], IntervalSeconds: 3, MaxAttempts: 3, BackoffRate: 2, MaxDelaySeconds: 5 };
    const clock = new FakeClock();
    const f = failing(clock, 'E', 'E', 'E');
    await run({ StartAt: 'T', States: { T: task('F', { Retry: [retrier], End: true }) } }, [f], clock);
    expect(f.starts).toEqual([0, 3000, 8000, 13000]);

    // The example as written (FULL jitter), with the random source pinned: 0.5 of each capped interval.
    const jittered = new FakeClock();
    const g = failing(jittered, 'E', 'E', 'E');
    await run({ StartAt: 'T', States: { T: task('F', { Retry: [{ ...retrier, JitterStrategy: 'FULL' }], End: true }) } }, [g], jittered, { random: () => 0.5 });
    expect(g.starts).toEqual([0, 1500, 4000, 6500]);
  });

  it('JitterStrategy FULL: "randomized between 0 and 2 seconds ... 0 and 4 ... 0 and 8"', () => {
    const retrier = { ErrorEquals: ['E'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: 'FULL' as const };
    for (const [n, max] of [[0, 2000], [1, 4000], [2, 8000]]) {
      expect(retryDelayMs(retrier, n, () => 0)).toBe(0);
      expect(retryDelayMs(retrier, n, () => 0.999999)).toBe(max);
      for (let i = 0; i < 50; i++) {
        const delay = retryDelayMs(retrier, n);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(max);
      }
    }
    expect(retryDelayMs({ ...retrier, JitterStrategy: 'NONE' }, 2)).toBe(8000);
  });

  it('Example 3: MaxAttempts 0 never retries States.Timeout; States.ALL retries everything else', async () => {
    const Retry = [{ ErrorEquals: ['States.Timeout'], MaxAttempts: 0 }, { ErrorEquals: ['States.ALL'] }];
    const clock = new FakeClock();
    const f = failing(clock, 'Error', 'TypeError');
    const first = await run({ StartAt: 'T', States: { T: task('F', { Retry, End: true }) } }, [f], clock);
    expect(f.starts).toEqual([0, 1000, 3000]);
    expect(first.execution.status).toBe('SUCCEEDED');

    const timing = new FakeClock();
    const s = slow(timing, 10_000);
    const second = await run({ StartAt: 'T', States: { T: { ...task('Slow'), TimeoutSeconds: 2, Retry, End: true } } }, [s], timing);
    expect(s.calls).toHaveLength(1);
    expect(second.execution).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('Example 4, complex retry scenario: ErrorA, ErrorB, ErrorC, ErrorB wait 1, 2, 5 s, then the first retrier is spent and Catch goes to Z', async () => {
    const clock = new FakeClock();
    const f = failing(clock, 'ErrorA', 'ErrorB', 'ErrorC', 'ErrorB', 'ErrorB');
    const { execution, output } = await run(
      {
        StartAt: 'X',
        States: {
          X: task('F', {
            Next: 'Y',
            Retry: [
              { ErrorEquals: ['ErrorA', 'ErrorB'], IntervalSeconds: 1, BackoffRate: 2.0, MaxAttempts: 2 },
              { ErrorEquals: ['ErrorC'], IntervalSeconds: 5 },
            ],
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Z' }],
          }),
          Y: pass('Y'),
          Z: { Type: 'Pass', End: true },
        },
      },
      [f],
      clock,
    );
    expect(f.starts).toEqual([0, 1000, 3000, 8000]);
    expect(execution.status).toBe('SUCCEEDED');
    expect(output).toMatchObject({ Error: 'ErrorB' });
  });

  it('each visit to the state starts its retriers afresh (a retrier\'s parameters apply within a single-state execution)', async () => {
    const clock = new FakeClock();
    const tries = new Map<unknown, number>();
    // Each item fails twice, then succeeds: MaxAttempts 2 suffices for each because each visit counts its own.
    const f = new StubFunction('F', clock, (item) => {
      tries.set(item, (tries.get(item) ?? 0) + 1);
      return tries.get(item)! <= 2 ? fnError('E', 'not yet') : okResult(item);
    });
    // The Map runs the same Task twice, one item after the other: each item gets its own 1 s, 2 s.
    const { execution } = await run(
      {
        StartAt: 'Each',
        States: {
          Each: { Type: 'Map', ItemsPath: '$.items', MaxConcurrency: 1, ItemProcessor: { StartAt: 'T', States: { T: task('F', { Retry: [{ ErrorEquals: ['E'], MaxAttempts: 2 }], End: true }) } }, End: true },
        },
      },
      [f],
      clock,
      {},
      { items: [1, 2] },
    );
    expect(execution.status).toBe('SUCCEEDED');
    expect(f.starts).toEqual([0, 1000, 3000, 3000, 4000, 6000]);
  });

  it('Parallel and Map states keep their own Retry (the library\'s, its intervals scaled)', async () => {
    const clock = new FakeClock();
    const f = failing(clock, 'BranchError');
    const { execution, output } = await run(
      {
        StartAt: 'Both',
        States: {
          Both: { Type: 'Parallel', Branches: [{ StartAt: 'T', States: { T: task('F', { End: true }) } }], Retry: [{ ErrorEquals: ['BranchError'], IntervalSeconds: 30 }], End: true },
        },
      },
      [f],
      clock,
    );
    expect(execution.status).toBe('SUCCEEDED');
    expect(f.calls).toHaveLength(2);
    expect(output).toEqual([{ ok: true }]);
  });
});

// https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
//   (TimeoutSeconds: "If not provided, the default value is 99999999")
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-examples
describe('Task timeouts: TimeoutSeconds -> States.Timeout, none by default', () => {
  afterEach(() => jest.useRealTimers());

  it('a Task without TimeoutSeconds runs as long as it takes (no 60 s default, checked on real timers made fake)', async () => {
    jest.useFakeTimers();
    const clock = systemClock(1);
    const f: Invoker = { name: 'Long', invoke: () => clock.sleep(90_000).then(() => okResult({ after: '90 s' })) };
    const machine = new StateMachineEngine(ARN, 'conformance', { StartAt: 'T', States: { T: task('Long', { End: true }) } } as never, () => f, clock, undefined, { validate: false });
    const execution = await machine.start({});
    await jest.advanceTimersByTimeAsync(91_000);
    await machine.drain();
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: JSON.stringify({ after: '90 s' }) });
  });

  it('"Handling a timeout using Catch": sleep10 with TimeoutSeconds 2 goes to fallback at 2 s; the Cause of a timeout is empty', async () => {
    const clock = new FakeClock();
    const s = slow(clock, 10_000);
    const { output, execution } = await run(
      {
        StartAt: 'HelloWorld',
        States: {
          HelloWorld: { ...task('Slow'), TimeoutSeconds: 2, Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'fallback', ResultPath: '$.error' }], End: true },
          fallback: { Type: 'Pass', Parameters: { 'error.$': '$.error' }, End: true },
        },
      },
      [s],
      clock,
    );
    expect(output.error).toEqual({ Error: 'States.Timeout', Cause: '' });
    expect((execution.stopDate ?? 0) - execution.startDate).toBe(2000);
  });

  it('"Handling a timeout using Retry": TimeoutSeconds 2, retried twice after 1 and 2 s, then fails with States.Timeout', async () => {
    const clock = new FakeClock();
    const s = slow(clock, 10_000);
    const { execution } = await run(
      {
        StartAt: 'HelloWorld',
        States: { HelloWorld: { ...task('Slow'), TimeoutSeconds: 2, Retry: [{ ErrorEquals: ['States.Timeout'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2.0 }], End: true } },
      },
      [s],
      clock,
    );
    // Each attempt gets its own 2 s: 0-2, wait 1, 3-5, wait 2, 7-9.
    expect(s.starts).toEqual([0, 3000, 7000]);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.Timeout', cause: '' });
    expect((execution.stopDate ?? 0) - execution.startDate).toBe(9000);
  });

  it('States.TaskFailed "matches any known error name except for States.Timeout": a timeout passes it by', async () => {
    const Catch = [
      { ErrorEquals: ['States.TaskFailed'], Next: 'TaskFailed' },
      { ErrorEquals: ['States.ALL'], Next: 'All' },
    ];
    const clock = new FakeClock();
    const timedOut = await run({ StartAt: 'T', States: { T: { ...task('Slow'), TimeoutSeconds: 1, Catch, End: true }, TaskFailed: pass('TaskFailed'), All: pass('All') } }, [slow(clock, 5000)], clock);
    expect(timedOut.output).toBe('All');
    const failed = await run({ StartAt: 'T', States: { T: { ...task('F'), TimeoutSeconds: 1, Catch, End: true }, TaskFailed: pass('TaskFailed'), All: pass('All') } }, [failing(clock, 'Error')], clock);
    expect(failed.output).toBe('TaskFailed');
    // ... and a States.TaskFailed retrier does not retry a timeout.
    const s = slow(clock, 5000);
    await run({ StartAt: 'T', States: { T: { ...task('Slow'), TimeoutSeconds: 1, Retry: [{ ErrorEquals: ['States.TaskFailed'] }], End: true } } }, [s], clock);
    expect(s.calls).toHaveLength(1);
  });

  it('TimeoutSecondsPath reads the timeout from the state\'s input', async () => {
    const clock = new FakeClock();
    const { execution } = await run({ StartAt: 'T', States: { T: { ...task('Slow'), TimeoutSecondsPath: '$.limits.seconds', End: true } } }, [slow(clock, 5000)], clock, {}, { limits: { seconds: 3 } });
    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect((execution.stopDate ?? 0) - execution.startDate).toBe(3000);
  });

  it('a task that answers within its TimeoutSeconds succeeds', async () => {
    const clock = new FakeClock();
    const { execution } = await run({ StartAt: 'T', States: { T: { ...task('Slow'), TimeoutSeconds: 5, End: true } } }, [slow(clock, 4999)], clock);
    expect(execution.status).toBe('SUCCEEDED');
  });
});

// https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html
//   (TimeoutSeconds: "If it runs longer than the specified time, the execution fails with a States.Timeout Error name")
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html (status TIMED_OUT)
describe('the state machine\'s TimeoutSeconds: the execution ends TIMED_OUT', () => {
  it('ends where it is at TimeoutSeconds, runs no further state, and has neither error nor cause', async () => {
    const clock = new FakeClock();
    const s = slow(clock, 120_000);
    const after = new StubFunction('F', clock, () => okResult(1));
    const { execution } = await run({ StartAt: 'T', TimeoutSeconds: 60, States: { T: { ...task('Slow'), Next: 'After' }, After: { ...task('F'), End: true } } }, [s, after], clock);
    expect(execution.status).toBe('TIMED_OUT');
    expect(execution.stopDate! - execution.startDate).toBe(60_000);
    expect(execution.error).toBeUndefined();
    expect(execution.cause).toBeUndefined();
    expect(execution.output).toBeUndefined();
    expect(after.calls).toHaveLength(0);
  });

  it('a retry waiting when the execution times out is not made', async () => {
    const clock = new FakeClock();
    const f = failing(clock, 'E', 'E', 'E');
    const { execution } = await run({ StartAt: 'T', TimeoutSeconds: 5, States: { T: task('F', { Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 4 }], End: true }) } }, [f], clock);
    await clock.advance(60_000);
    expect(execution.status).toBe('TIMED_OUT');
    expect(f.starts).toEqual([0, 4000]);
  });

  it('an execution that finishes in time is not touched by its TimeoutSeconds', async () => {
    const clock = new FakeClock();
    const { execution } = await run({ StartAt: 'T', TimeoutSeconds: 60, States: { T: { ...task('Slow'), End: true } } }, [slow(clock, 59_000)], clock);
    expect(execution.status).toBe('SUCCEEDED');
    expect(clock.pending).toBe(0);
  });
});

// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
//   (the Note on Lambda.Unknown and Sandbox.Timedout; "Cause payloads and service integrations")
// https://docs.aws.amazon.com/step-functions/latest/dg/tutorial-handling-error-conditions.html (CustomError, Catch order)
// https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html (the payload: errorType, errorMessage, trace)
describe('Lambda task errors as Step Functions names them', () => {
  const tutorialCatch = {
    Catch: [
      { ErrorEquals: ['CustomError'], Next: 'CustomErrorFallback' },
      { ErrorEquals: ['States.TaskFailed'], Next: 'ReservedTypeFallback' },
      { ErrorEquals: ['States.ALL'], Next: 'CatchAllFallback' },
    ],
    End: true,
  };
  const tutorial = (fn: string): Definition => ({
    StartAt: 'CreateAccount',
    States: {
      CreateAccount: task(fn, tutorialCatch),
      CustomErrorFallback: pass('This is a fallback from a custom Lambda function exception'),
      ReservedTypeFallback: pass('This is a fallback from a reserved error code'),
      CatchAllFallback: pass('This is a fallback from any error code'),
    },
  });

  it('the tutorial\'s CustomError is caught by the CustomError catcher: the Error is the function\'s errorType', async () => {
    const clock = new FakeClock();
    const { output } = await run(tutorial('F'), [failing(clock, 'CustomError')], clock);
    expect(output).toBe('This is a fallback from a custom Lambda function exception');
  });

  it('any other function error (TypeError, Error, a string thrown) falls to States.TaskFailed', async () => {
    for (const errorType of ['TypeError', 'Error', 'string']) {
      const clock = new FakeClock();
      expect((await run(tutorial('F'), [failing(clock, errorType)], clock)).output).toBe('This is a fallback from a reserved error code');
    }
  });

  it('the caught Cause is Lambda\'s error payload as a JSON string; States.StringToJson turns it back into an object', async () => {
    const clock = new FakeClock();
    const f = new StubFunction('F', clock, () => fnError('ReferenceError', 'x is not defined'));
    const { output } = await run(
      {
        StartAt: 'T',
        States: {
          T: task('F', { Catch: [{ ErrorEquals: ['ReferenceError'], ResultPath: '$.error-info', Next: 'RecoveryState' }], End: true }),
          RecoveryState: { Type: 'Pass', Parameters: { 'input.$': '$.order', 'error.$': '$.error-info.Error', 'cause.$': 'States.StringToJson($.error-info.Cause)', 'raw.$': '$.error-info.Cause' }, End: true },
        },
      },
      [f],
      clock,
      {},
      { order: 'o-1' },
    );
    expect(output.input).toBe('o-1');
    expect(output.error).toBe('ReferenceError');
    expect(output.cause).toEqual({ errorType: 'ReferenceError', errorMessage: 'x is not defined', trace: ['ReferenceError: x is not defined', '    at Runtime.handler (file:///var/task/index.mjs:3:9)'] });
    expect(Object.keys(JSON.parse(output.raw))).toEqual(['errorType', 'errorMessage', 'trace']);
  });

  it('an uncaught function error fails the execution with that Error and Cause', async () => {
    const clock = new FakeClock();
    const { execution } = await run({ StartAt: 'T', States: { T: task('F', { End: true }) } }, [failing(clock, 'ValidationError')], clock);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(JSON.parse(execution.cause!)).toMatchObject({ errorType: 'ValidationError', errorMessage: 'failure 1' });
  });

  // https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
  it('the execution\'s error and cause are the failing state\'s: a Fail state\'s Error/Cause, a function error from inside a Parallel branch', async () => {
    const clock = new FakeClock();
    const failState = await run({ StartAt: 'F', States: { F: { Type: 'Fail', Error: 'ErrorA', Cause: 'Kaiju attack' } } }, [], clock);
    expect(failState.execution).toMatchObject({ status: 'FAILED', error: 'ErrorA', cause: 'Kaiju attack' });
    const nested = await run({ StartAt: 'P', States: { P: { Type: 'Parallel', Branches: [{ StartAt: 'T', States: { T: task('F', { End: true }) } }], End: true } } }, [failing(clock, 'InventoryError')], clock);
    expect(nested.execution).toMatchObject({ status: 'FAILED', error: 'InventoryError' });
    expect(JSON.parse(nested.execution.cause!)).toMatchObject({ errorType: 'InventoryError' });
  });

  it('a function that runs out of its own timeout is Sandbox.Timedout (not States.Timeout): States.TaskFailed and States.ALL match it', async () => {
    const clock = new FakeClock();
    const timeout = new StubFunction('F', clock, () => ({ ok: false, timedOut: true, error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds' }, durationMs: 3000 }));
    const { output } = await run(
      {
        StartAt: 'T',
        States: {
          T: task('F', { Retry: [{ ErrorEquals: ['States.Timeout'] }], Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Wrong' }, { ErrorEquals: ['States.TaskFailed'], Next: 'Caught' }], End: true }),
          Wrong: pass('wrong'),
          Caught: { Type: 'Pass', End: true },
        },
      },
      [timeout],
      clock,
    );
    expect(timeout.calls).toHaveLength(1);
    expect(output.Error).toBe('Sandbox.Timedout');
    expect(JSON.parse(output.Cause)).toEqual({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds' });
    expect(errorMatches(['States.ALL'], 'Sandbox.Timedout')).toBe(true);
    expect(errorMatches(['Sandbox.Timedout'], 'Sandbox.Timedout')).toBe(true);
  });

  it('an error without an error type is Lambda.Unknown: "match on Lambda.Unknown, Sandbox.Timedout, and States.TaskFailed"', async () => {
    for (const catcher of ['Lambda.Unknown', 'States.TaskFailed', 'States.ALL']) {
      const clock = new FakeClock();
      const f = new StubFunction('F', clock, () => ({ ok: false, error: { errorType: '', errorMessage: 'Runtime exited without providing a reason' }, durationMs: 1 }));
      const { output } = await run({ StartAt: 'T', States: { T: task('F', { Catch: [{ ErrorEquals: [catcher], Next: 'C' }], End: true }), C: { Type: 'Pass', End: true } } }, [f], clock);
      expect(output.Error).toBe('Lambda.Unknown');
      expect(output.Cause).toMatch(/^The cause could not be determined because Lambda did not return an error type\. Returned payload: /);
    }
  });

  it('a function that does not exist is Lambda.ResourceNotFoundException', async () => {
    const clock = new FakeClock();
    const { execution } = await run({ StartAt: 'T', States: { T: task('Missing', { End: true }) } }, [], clock);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'Lambda.ResourceNotFoundException' });
    expect(execution.cause).toMatch(/^Function not found: .*Missing \(Service: Lambda, Status Code: 404, Request ID: /);
  });

  it('"States.TaskFailed, which matches any error that a Lambda function outputs": a States.TaskFailed retrier retries function errors', async () => {
    const clock = new FakeClock();
    const f = failing(clock, 'HandledError', 'Error');
    const { execution } = await run(
      { StartAt: 'HelloWorld', States: { HelloWorld: task('F', { Retry: [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2.0 }], End: true }) } },
      [f],
      clock,
    );
    expect(f.starts).toEqual([0, 1000, 3000]);
    expect(execution.status).toBe('SUCCEEDED');
  });

  // https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
  it('arn:aws:states:::lambda:invoke: the same error names; a success answers with Payload and StatusCode', async () => {
    const clock = new FakeClock();
    const f = new StubFunction('F', clock, (event, n) => (n === 1 ? fnError('CustomError', 'first') : okResult({ got: event })));
    const invoke = (more: Record<string, unknown>) => ({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: fnArn('F'), 'Payload.$': '$' }, ...more });
    const { output } = await run(
      { StartAt: 'T', States: { T: invoke({ Retry: [{ ErrorEquals: ['CustomError'] }], ResultSelector: { 'payload.$': '$.Payload', 'status.$': '$.StatusCode' }, End: true }) } },
      [f],
      clock,
      {},
      { a: 1 },
    );
    expect(f.calls.map((c) => c.event)).toEqual([{ a: 1 }, { a: 1 }]);
    expect(output).toEqual({ payload: { got: { a: 1 } }, status: 200 });
  });
});

/** A fault plan answering from a script, recording every question. */
class ScriptedFaults implements Faults {
  readonly asked: { kind: FaultKind; target: string; operation?: string }[] = [];
  constructor(private readonly yes: Partial<Record<FaultKind, number[]>>) {}
  inject(kind: FaultKind, target: string, operation?: string): boolean {
    this.asked.push({ kind, target, operation });
    const n = this.asked.filter((q) => q.kind === kind).length;
    return (this.yes[kind] ?? []).includes(n);
  }
  random(): number {
    return 0;
  }
  parameter(): undefined {
    return undefined;
  }
}

// https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
describe('fault seam: states.taskFailure and states.taskTimeout', () => {
  const serviceRetry = { ErrorEquals: ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 };

  it('taskFailure fails the attempt with Lambda.ServiceException before the function runs; the documented retrier recovers', async () => {
    const clock = new FakeClock();
    const f = failing(clock);
    const faults = new ScriptedFaults({ 'states.taskFailure': [1, 2] });
    const { execution } = await run({ StartAt: 'T', States: { T: task('F', { Retry: [serviceRetry], End: true }) } }, [f], clock, { faults });
    expect(execution.status).toBe('SUCCEEDED');
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0].at - execution.startDate).toBe(2000 + 4000);
    expect(faults.asked.filter((q) => q.kind === 'states.taskFailure')).toEqual(Array.from({ length: 3 }, () => ({ kind: 'states.taskFailure', target: 'conformance', operation: 'T' })));
  });

  it('taskFailure, uncaught: the execution fails with Lambda.ServiceException; States.TaskFailed catches it', async () => {
    const clock = new FakeClock();
    const failed = await run({ StartAt: 'T', States: { T: task('F', { End: true }) } }, [failing(clock)], clock, { faults: new ScriptedFaults({ 'states.taskFailure': [1] }) });
    expect(failed.execution).toMatchObject({ status: 'FAILED', error: 'Lambda.ServiceException' });
    expect(failed.execution.cause).toMatch(/\(Service: Lambda, Status Code: 500, Request ID: /);
    const caught = await run({ StartAt: 'T', States: { T: task('F', { Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'C' }], End: true }), C: { Type: 'Pass', End: true } } }, [failing(clock)], clock, {
      faults: new ScriptedFaults({ 'states.taskFailure': [1] }),
    });
    expect(caught.output.Error).toBe('Lambda.ServiceException');
  });

  it('taskTimeout: the function runs, its answer is lost, the task fails with States.Timeout (which States.TaskFailed does not catch)', async () => {
    const clock = new FakeClock();
    const f = failing(clock);
    const { output } = await run(
      { StartAt: 'T', States: { T: task('F', { Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'Wrong' }, { ErrorEquals: ['States.Timeout'], Next: 'C' }], End: true }), Wrong: pass('wrong'), C: { Type: 'Pass', End: true } } },
      [f],
      clock,
      { faults: new ScriptedFaults({ 'states.taskTimeout': [1] }) },
    );
    expect(f.calls).toHaveLength(1);
    expect(output).toEqual({ Error: 'States.Timeout', Cause: '' });
  });

  it('taskTimeout is retried by a States.Timeout retrier, the function running once per attempt', async () => {
    const clock = new FakeClock();
    const f = failing(clock);
    const { execution } = await run({ StartAt: 'T', States: { T: task('F', { Retry: [{ ErrorEquals: ['States.Timeout'], IntervalSeconds: 5 }], End: true }) } }, [f], clock, {
      faults: new ScriptedFaults({ 'states.taskTimeout': [1] }),
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(f.starts).toEqual([0, 5000]);
  });

  it('without a fault plan nothing is injected', async () => {
    const clock = new FakeClock();
    const f = failing(clock);
    const { execution } = await run({ StartAt: 'T', States: { T: task('F', { End: true }) } }, [f], clock);
    expect(execution.status).toBe('SUCCEEDED');
    expect(f.calls).toHaveLength(1);
  });
});

// https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
describe('the API (the real @aws-sdk/client-sfn): TIMED_OUT in DescribeExecution and ListExecutions', () => {
  let endpoint: AwsEndpoint;
  let sfn: SFNClient;
  const clock = new FakeClock();
  const machines = new Map<string, StateMachineEngine>();

  beforeAll(async () => {
    const fns = [slow(clock, 120_000), failing(clock, 'Error')];
    const byName = new Map(fns.map((f) => [fnArn(f.name), f] as const));
    machines.set(
      ARN,
      new StateMachineEngine(
        ARN,
        'conformance',
        { StartAt: 'Pick', TimeoutSeconds: 60, States: { Pick: { Type: 'Choice', Choices: [{ Variable: '$.fail', BooleanEquals: true, Next: 'Fails' }], Default: 'Slow' }, Slow: { ...task('Slow'), End: true }, Fails: { ...task('F'), End: true } } } as never,
        (ref) => byName.get(ref),
        clock,
        undefined,
        { validate: false },
      ),
    );
    const unsupported = () => ({ status: 400, body: {} });
    endpoint = new AwsEndpoint({ sqs: unsupported, events: unsupported, stepFunctions: (op, body) => handleSfnRequest(machines, op, body), dynamodbEndpoint: 'http://127.0.0.1:9' });
    const url = await endpoint.listen(0);
    sfn = new SFNClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });

  afterAll(async () => {
    sfn.destroy();
    await endpoint.close();
  });

  it('DescribeExecution: TIMED_OUT with its stopDate and no error, cause or output; FAILED with error and cause', async () => {
    const timedOut = await sfn.send(new StartExecutionCommand({ stateMachineArn: ARN, name: 'slow', input: '{"fail":false}' }));
    const failed = await sfn.send(new StartExecutionCommand({ stateMachineArn: ARN, name: 'fails', input: '{"fail":true}' }));
    await machines.get(ARN)!.drain();

    const t = await sfn.send(new DescribeExecutionCommand({ executionArn: timedOut.executionArn }));
    expect(t).toMatchObject({ status: 'TIMED_OUT', name: 'slow', input: '{"fail":false}' });
    expect(t.stopDate!.getTime() - t.startDate!.getTime()).toBe(60_000);
    expect(t.error).toBeUndefined();
    expect(t.cause).toBeUndefined();
    expect(t.output).toBeUndefined();

    const f = await sfn.send(new DescribeExecutionCommand({ executionArn: failed.executionArn }));
    expect(f).toMatchObject({ status: 'FAILED', error: 'Error' });
    expect(JSON.parse(f.cause!)).toMatchObject({ errorType: 'Error', errorMessage: 'failure 1' });
  });

  it('ListExecutions: statusFilter TIMED_OUT lists the timed-out execution only', async () => {
    const list = async (statusFilter?: 'TIMED_OUT' | 'FAILED' | 'SUCCEEDED') => (await sfn.send(new ListExecutionsCommand({ stateMachineArn: ARN, statusFilter }))).executions!.map((e) => `${e.name}:${e.status}`);
    expect(await list('TIMED_OUT')).toEqual(['slow:TIMED_OUT']);
    expect(await list('FAILED')).toEqual(['fails:FAILED']);
    expect(await list('SUCCEEDED')).toEqual([]);
    expect((await list()).sort()).toEqual(['fails:FAILED', 'slow:TIMED_OUT']);
  });

  it('the definition is validated by default: a machine whose Next names no state does not start', async () => {
    const invalid = new StateMachineEngine(`${ARN}-invalid`, 'invalid', { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } } as never, () => undefined, clock);
    await expect(invalid.start({})).rejects.toThrow(/definition is invalid/);
  });

  it('errors keep AWS\'s shapes: an unknown statusFilter is a ValidationException, an unknown execution ExecutionDoesNotExist', async () => {
    await expect(sfn.send(new ListExecutionsCommand({ stateMachineArn: ARN, statusFilter: 'DONE' as never }))).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining("Value 'DONE' at 'statusFilter'") });
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: `${ARN.replace(':stateMachine:', ':execution:')}:nope` }))).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
    await expect(sfn.send(new ListExecutionsCommand({ stateMachineArn: `${ARN}-missing` }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });
});
