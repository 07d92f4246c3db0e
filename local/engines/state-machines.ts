/**
 * Step Functions: the synthesized definition run by aws-local-stepfunctions, each Lambda task bound to the local
 * function it names. Executions are kept in memory for DescribeExecution / ListExecutions.
 *
 * aws-local-stepfunctions 3.0.0 runs the states, their paths, Choice, Map, Parallel and Catch as AWS documents them;
 * where it is not faithful the engine takes over through its options:
 *  - Task states: the library gives every Task a 60 s timeout when it has no TimeoutSeconds (AWS: no timeout beyond
 *    the execution's) and sleeps on real timers. The engine hands the library each Task with its Retry removed and an
 *    out-of-reach TimeoutSeconds, and runs the Retry (per-retrier attempts, BackoffRate, MaxDelaySeconds,
 *    JitterStrategy), the state's TimeoutSeconds / TimeoutSecondsPath (per attempt) and the invocation itself in the
 *    task handler, every wait on the runtime's Clock. The library still applies the Catch: a timeout is thrown as the
 *    library's own States.Timeout error, so its `States.TaskFailed` wildcard excludes it as AWS's does.
 *  - Lambda errors reach Retry/Catch named as Step Functions names them (the function's errorType, Sandbox.Timedout,
 *    Lambda.Unknown, Lambda.ServiceException...) with Lambda's JSON as the Cause, not the library's message.
 *  - The state machine's TimeoutSeconds runs on the Clock and ends the execution TIMED_OUT (the library would end it
 *    after the unscaled time, as a failure).
 *  - Parallel and Map states keep the library's own retry (it computes the documented intervals); their intervals are
 *    divided by the time scale. Wait states with `Seconds` wait the scaled time.
 */
import { randomUUID } from 'node:crypto';
import { Clock } from '../clock';
import { Faults, NO_FAULTS } from '../faults/faults';
import { ExecutionHistory, HISTORY_TAP, tapLibrary } from './execution-history';
import { InvokeError, Invoker } from './invoker';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node >= 22); this is the whole of what it needs on Node 20.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= function withResolvers<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

type AslState = Record<string, unknown> & { Type: string };
type AslDefinition = { StartAt: string; States: Record<string, AslState>; QueryLanguage?: string; TimeoutSeconds?: number };
type LocalStateMachine = import('aws-local-stepfunctions').StateMachine;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  /** FAILED only (AWS gives a TIMED_OUT execution neither error nor cause). */
  error?: string;
  cause?: string;
  /** GetExecutionHistory: what the execution did so far. */
  history: ExecutionHistory;
}

/**
 * What DescribeStateMachine answers beyond the name and ARN, as the template gives it (intrinsics resolved).
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachine.html
 */
export interface StateMachineDescription {
  /** The definition as the template's DefinitionString resolves (default: the definition as JSON). */
  definition?: string;
  roleArn?: string;
  type?: 'STANDARD' | 'EXPRESS';
  /** Epoch ms; locally the moment the runtime provisioned it. */
  creationDate?: number;
  loggingConfiguration?: Record<string, unknown>;
  tracingConfiguration?: Record<string, unknown>;
}

export interface StateMachineOptions {
  /** The fault plan's seam: `states.taskFailure` / `states.taskTimeout` before each Lambda task attempt. Default: none. */
  faults?: Faults;
  /** [0, 1) source for `JitterStrategy: FULL` (default Math.random). */
  random?: () => number;
  /**
   * Validate the definition (asl-validator, at the first StartExecution) as CreateStateMachine would. Default true;
   * each validation compiles the ASL schemas (~0.5 s), which engine tests that make many machines skip.
   */
  validate?: boolean;
  /** DescribeStateMachine's fields (and the roleArn of ExecutionStarted). */
  description?: StateMachineDescription;
}

/**
 * A retrier as the Amazon States Language defines it, with its documented defaults.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error
 */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/**
 * Whether an error name matches an ErrorEquals list: by name, `States.ALL` (any error), or `States.TaskFailed`
 * ("acts as a wildcard that matches any known error name except for States.Timeout").
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-representation
 */
export function errorMatches(errorEquals: string[], name: string): boolean {
  return errorEquals.includes(name) || errorEquals.includes('States.ALL') || (errorEquals.includes('States.TaskFailed') && name !== 'States.Timeout');
}

/**
 * Milliseconds before the retry that follows `retriesSoFar` retries by this retrier:
 * IntervalSeconds * BackoffRate^retriesSoFar, capped at MaxDelaySeconds, then with `JitterStrategy: FULL` a random
 * value between 0 and that. Defaults: IntervalSeconds 1, BackoffRate 2.0.
 */
export function retryDelayMs(retrier: Retrier, retriesSoFar: number, random: () => number = Math.random): number {
  const interval = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** retriesSoFar;
  const capped = retrier.MaxDelaySeconds !== undefined ? Math.min(interval, retrier.MaxDelaySeconds) : interval;
  const ms = capped * 1000;
  return retrier.JitterStrategy === 'FULL' ? Math.floor(random() * (ms + 1)) : ms;
}

/**
 * An error thrown into the state machine: `name` is the Error a Retry/Catch matches, `message` the Cause. A
 * `States.Runtime` error is neither retried nor caught, as AWS documents (the library reads these two flags).
 */
class TaskError extends Error {
  readonly isRetryable: boolean;
  readonly isCatchable: boolean;
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
    this.isRetryable = this.isCatchable = name !== 'States.Runtime';
  }
}

/**
 * How Step Functions reports a failed Lambda invocation: the function's errorType as the Error and Lambda's error
 * payload, as a JSON string, as the Cause (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html);
 * a function that ran out of its timeout as `Sandbox.Timedout`; a payload without an error type as `Lambda.Unknown`
 * (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
 */
export function lambdaFunctionError(error: InvokeError, timedOut = false): { error: string; cause: string } {
  if (timedOut) return { error: 'Sandbox.Timedout', cause: JSON.stringify({ errorType: 'Sandbox.Timedout', errorMessage: error.errorMessage }) };
  if (!error.errorType) {
    return {
      error: 'Lambda.Unknown',
      cause: `The cause could not be determined because Lambda did not return an error type. Returned payload: ${JSON.stringify({ errorMessage: error.errorMessage })}`,
    };
  }
  return { error: error.errorType, cause: JSON.stringify({ errorType: error.errorType, errorMessage: error.errorMessage, trace: error.stackTrace ?? [] }) };
}

/** A Lambda API exception as Step Functions reports it: `Lambda.<Exception>`, the SDK's message as the Cause. */
function lambdaServiceError(exception: string, status: number, message: string): TaskError {
  return new TaskError(`Lambda.${exception}`, `${message} (Service: Lambda, Status Code: ${status}, Request ID: ${randomUUID()})`);
}

/** Every state of a definition, nested Map and Parallel states included. */
function* allStates(definition: AslDefinition): Generator<[string, AslState]> {
  for (const [name, state] of Object.entries(definition.States)) {
    yield [name, state];
    const processor = (state.ItemProcessor ?? state.Iterator) as AslDefinition | undefined;
    if (processor) yield* allStates(processor);
    for (const branch of (state.Branches as AslDefinition[] | undefined) ?? []) yield* allStates(branch);
  }
}

/** The longest timer the library can set (setTimeout's 2^31-1 ms): a Task's TimeoutSeconds that never fires. */
const UNREACHABLE_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * The definition the library runs: Task states without Retry and with an unreachable TimeoutSeconds (the engine
 * does both), no top-level TimeoutSeconds (the engine's Clock does it), Parallel/Map retry intervals scaled.
 */
function libraryDefinition(definition: AslDefinition, scale: number): AslDefinition {
  const copy = structuredClone(definition);
  delete copy.TimeoutSeconds;
  for (const [, state] of allStates(copy)) {
    if (state.Type === 'Task') {
      delete state.Retry;
      delete state.TimeoutSecondsPath;
      delete state.HeartbeatSeconds;
      delete state.HeartbeatSecondsPath;
      state.TimeoutSeconds = UNREACHABLE_TIMEOUT_SECONDS;
    } else if (Array.isArray(state.Retry)) {
      state.Retry = (state.Retry as Retrier[]).map((r) => ({
        ...r,
        IntervalSeconds: (r.IntervalSeconds ?? 1) / scale,
        ...(r.MaxDelaySeconds !== undefined ? { MaxDelaySeconds: r.MaxDelaySeconds / scale } : {}),
      }));
    }
  }
  return copy;
}

/** A reference path ($.a.b, $.a[0]) read from a state's input. */
function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.replace(/^\$\.?/, '').match(/[^.[\]]+/g) ?? []) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

type Library = typeof import('aws-local-stepfunctions');
let library: Promise<{ StateMachine: Library['StateMachine']; timeoutError: () => Error }> | undefined;

/**
 * The library, and a maker of its own States.Timeout error (which it does not export): its Catch tells a timeout
 * from other task failures by class, to keep `States.TaskFailed` from catching it. One probe run with a 1 ms Task
 * timeout hands us an instance.
 */
function loadLibrary() {
  return (library ??= (async () => {
    const { StateMachine } = await import('aws-local-stepfunctions');
    const probe = new StateMachine(
      { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:probe', TimeoutSeconds: 0.001, End: true } } } as never,
      { validationOptions: { noValidate: true } },
    );
    const outcome = await probe.run({}, { overrides: { taskResourceLocalHandlers: { T: (() => new Promise(() => undefined)) as never } } }).result.then(
      () => undefined,
      (error: { cause?: Error }) => error.cause,
    );
    if (outcome?.name !== 'States.Timeout') throw new Error('aws-local-stepfunctions did not time out its probe Task: this version is not the one the engine was written for');
    const TimeoutError = outcome.constructor as new () => Error;
    tapLibrary(StateMachine);
    return {
      StateMachine,
      timeoutError: () => {
        const error = new TimeoutError();
        error.message = ''; // the Cause of a task timeout is empty
        return error;
      },
    };
  })());
}

/** Resolves with the promise, or rejects with the signal's reason once it is aborted. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** What a task handler needs of its execution. */
interface ExecutionScope {
  signal: AbortSignal;
  timeoutError: () => Error;
  history: ExecutionHistory;
}

/** Definitions that passed validation in this process (a restarted runtime runs the same ones). */
const VALIDATED_DEFINITIONS = new Set<string>();

export class StateMachineEngine {
  readonly executions = new Map<string, Execution>();
  private readonly running = new Set<Promise<void>>();
  private machine?: LocalStateMachine;
  private readonly faults: Faults;
  private readonly random: () => number;
  private readonly validate: boolean;
  readonly description: Required<Pick<StateMachineDescription, 'definition' | 'roleArn' | 'type' | 'creationDate'>> & StateMachineDescription;

  constructor(
    readonly arn: string,
    readonly name: string,
    private readonly definition: AslDefinition,
    /** Resolves a Lambda function ARN (or name) to its local invoker. */
    private readonly functionFor: (arnOrName: string) => Invoker | undefined,
    private readonly clock: Clock,
    private readonly onFinish?: (execution: Execution) => void,
    options: StateMachineOptions = {},
  ) {
    if (definition.QueryLanguage === 'JSONata') throw new Error(`state machine ${name}: JSONata definitions are not supported locally (aws-local-stepfunctions ignores them)`);
    this.faults = options.faults ?? NO_FAULTS;
    this.random = options.random ?? Math.random;
    this.validate = options.validate ?? true;
    this.description = {
      definition: JSON.stringify(definition),
      roleArn: '',
      type: 'STANDARD',
      creationDate: clock.now(),
      ...options.description,
    };
  }

  private async load() {
    const { StateMachine, timeoutError } = await loadLibrary();
    if (!this.machine) {
      // Validated as written (the validator writes into what it is given), run as the engine rewrote it. Once per
      // definition per process: asl-validator compiles its schemas on every call (~0.5 s).
      const text = JSON.stringify(this.definition);
      if (this.validate && !VALIDATED_DEFINITIONS.has(text)) {
        new StateMachine(structuredClone(this.definition) as never, { validationOptions: { checkPaths: false, checkArn: false } });
        VALIDATED_DEFINITIONS.add(text);
      }
      this.machine = new StateMachine(libraryDefinition(this.definition, this.clock.scale) as never, { validationOptions: { noValidate: true } });
    }
    return { machine: this.machine, timeoutError };
  }

  private overrides(scope: ExecutionScope) {
    const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const waitTimeOverrides: Record<string, number> = {};
    for (const [stateName, state] of allStates(this.definition)) {
      if (state.Type === 'Task') taskResourceLocalHandlers[stateName] = this.taskHandler(stateName, state, scope);
      if (state.Type === 'Wait' && typeof state.Seconds === 'number') waitTimeOverrides[stateName] = this.clock.scaled(state.Seconds * 1000);
    }
    return { taskResourceLocalHandlers, waitTimeOverrides };
  }

  /** A Task state: its Retry around attempts, each attempt bounded by the state's TimeoutSeconds and recorded in the history. */
  private taskHandler(stateName: string, state: AslState, scope: ExecutionScope) {
    const retriers = (state.Retry as Retrier[] | undefined) ?? [];
    return async (input: unknown) => {
      // Synchronously after this state's TaskStateEntered (see execution-history.ts): its thread of events.
      const thread = scope.history.takeTaskThread();
      const events = taskEvents(String(state.Resource), this.arn.split(':')[3]);
      const retries = retriers.map(() => 0);
      for (;;) {
        const timeoutSeconds = typeof state.TimeoutSeconds === 'number' ? { timeoutInSeconds: state.TimeoutSeconds } : {};
        scope.history.add(thread, events.scheduled, { ...events.resource, ...events.input(input), ...timeoutSeconds });
        scope.history.add(thread, events.started, Object.keys(events.resource).length ? events.resource : undefined);
        try {
          const output = await this.attempt(stateName, state, input, scope);
          scope.history.add(thread, events.succeeded, { ...events.resource, output: JSON.stringify(output ?? null), outputDetails: { truncated: false } });
          return output;
        } catch (error) {
          if (scope.signal.aborted) throw error;
          const e = error as Error;
          scope.history.add(thread, e.name === 'States.Timeout' ? events.timedOut : events.failed, { ...events.resource, error: e.name, cause: e.message });
          if ((error as Partial<TaskError>).isRetryable === false) throw error;
          // The first retrier whose ErrorEquals matches decides; one that has used its MaxAttempts ends the retries.
          const index = retriers.findIndex((r) => errorMatches(r.ErrorEquals, (error as Error).name));
          if (index < 0 || retries[index] >= (retriers[index].MaxAttempts ?? 3)) throw error;
          const delay = retryDelayMs(retriers[index], retries[index], this.random);
          retries[index]++;
          await this.clock.sleep(delay, scope.signal);
        }
      }
    };
  }

  private async attempt(stateName: string, state: AslState, input: unknown, scope: ExecutionScope): Promise<unknown> {
    const timeoutMs = this.timeoutMs(state, input);
    const attempt = new AbortController();
    const onAbort = () => attempt.abort(scope.signal.reason);
    scope.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const work = this.invoke(stateName, state, input, scope);
      if (timeoutMs === undefined) return await abortable(work, attempt.signal);
      const timedOut = this.clock.sleep(timeoutMs, attempt.signal).then(() => Promise.reject(scope.timeoutError()));
      return await Promise.race([work, timedOut]);
    } finally {
      scope.signal.removeEventListener('abort', onAbort);
      attempt.abort();
    }
  }

  /** TimeoutSeconds, or TimeoutSecondsPath read from the state's effective input; undefined: no task timeout. */
  private timeoutMs(state: AslState, input: unknown): number | undefined {
    if (typeof state.TimeoutSeconds === 'number') return state.TimeoutSeconds * 1000;
    if (typeof state.TimeoutSecondsPath === 'string') {
      const seconds = readPath(input, state.TimeoutSecondsPath);
      if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1) {
        throw new TaskError('States.Runtime', `TimeoutSecondsPath ${state.TimeoutSecondsPath} is not a positive integer in the state's input`);
      }
      return seconds * 1000;
    }
    return undefined;
  }

  private async invoke(stateName: string, state: AslState, input: unknown, scope: ExecutionScope): Promise<unknown> {
    const resource = String(state.Resource);
    const viaInvoke = /^arn:aws:states:::lambda:invoke/.test(resource);
    const parameters = viaInvoke && input && typeof input === 'object' ? (input as { FunctionName?: unknown; Payload?: unknown }) : undefined;
    const target = viaInvoke ? String(parameters?.FunctionName ?? (state.Parameters as Record<string, unknown> | undefined)?.FunctionName ?? '') : resource;
    const lambdaTask = viaInvoke || /^arn:aws[\w-]*:lambda:/.test(resource);
    // Faults the Lambda service could produce before the function runs; the definition's Retry and Catch apply.
    if (lambdaTask && this.faults.inject('states.taskFailure', this.name, stateName)) {
      throw lambdaServiceError('ServiceException', 500, `ServiceException: Lambda could not process the invocation of ${target} (fault injected by the local runtime)`);
    }
    const injectTimeout = lambdaTask && this.faults.inject('states.taskTimeout', this.name, stateName);
    const invoker = this.functionFor(target);
    if (!invoker) throw lambdaServiceError('ResourceNotFoundException', 404, `Function not found: ${target}`);
    const payload = viaInvoke ? (parameters && 'Payload' in parameters ? parameters.Payload : input) : input;
    if (scope.signal.aborted) throw scope.signal.reason;
    const result = await invoker.invoke(payload);
    // The invocation ran (its effects stand) but its answer never reached the state: the task timed out.
    if (injectTimeout) throw scope.timeoutError();
    if (!result.ok) {
      const { error, cause } = lambdaFunctionError(result.error, result.timedOut);
      throw new TaskError(error, cause);
    }
    // lambda:invoke answers with the Invoke API's shape; a bare function ARN answers with the payload.
    return viaInvoke ? { Payload: result.result, StatusCode: 200, ExecutedVersion: '$LATEST' } : result.result;
  }

  /** StartExecution: returns at once; the execution runs in the background. */
  async start(input: unknown, name: string = randomUUID()): Promise<Execution> {
    const { machine, timeoutError } = await this.load();
    const executionArn = this.arn.replace(':stateMachine:', ':execution:') + `:${name}`;
    if (this.executions.has(executionArn)) {
      const error = new Error(`Execution Already Exists: '${executionArn}'`);
      error.name = 'ExecutionAlreadyExists';
      throw error;
    }
    // The state machine's TimeoutSeconds, on the runtime's clock: the execution ends TIMED_OUT where it is.
    let timedOut = false;
    const history = new ExecutionHistory(() => this.clock.now(), this.description.roleArn, machine, () => timedOut);
    const execution: Execution = { executionArn, stateMachineArn: this.arn, name, status: 'RUNNING', startDate: this.clock.now(), input: JSON.stringify(input ?? {}), history };
    this.executions.set(executionArn, execution);
    const context = { Execution: { Id: executionArn, Name: name, Input: input, StartTime: new Date(execution.startDate).toISOString(), RoleArn: this.description.roleArn }, StateMachine: { Id: this.arn, Name: this.name } };
    const stop = new AbortController();
    const run = machine.run((input ?? {}) as never, { overrides: this.overrides({ signal: stop.signal, timeoutError, history }), context, [HISTORY_TAP]: history } as never);
    const timeoutSeconds = this.definition.TimeoutSeconds;
    const cancelTimeout =
      typeof timeoutSeconds === 'number'
        ? this.clock.after(timeoutSeconds * 1000, () => {
            timedOut = true;
            stop.abort(new Error('the execution timed out'));
            run.abort();
          })
        : () => undefined;
    const done = (run.result as Promise<unknown>)
      .then(
        (output) => Object.assign(execution, { status: 'SUCCEEDED', output: JSON.stringify(output ?? null) }),
        (failure: Error & { cause?: unknown }) => {
          if (timedOut) return Object.assign(execution, { status: 'TIMED_OUT' });
          // ExecutionError carries the state's error as its cause.
          const error = (failure.cause instanceof Error ? failure.cause : failure) as Error;
          return Object.assign(execution, { status: 'FAILED', error: error.name || 'States.Runtime', cause: error.message });
        },
      )
      .then(() => {
        cancelTimeout();
        stop.abort();
        execution.stopDate = this.clock.now();
        this.onFinish?.(execution);
      });
    this.running.add(done);
    void done.finally(() => this.running.delete(done));
    return execution;
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}

/**
 * The history events of one Task attempt, by resource: a Lambda function ARN (the legacy integration, which
 * `LambdaInvoke` with `payloadResponseOnly` writes) records LambdaFunction* events with the function's input;
 * an optimized integration (`arn:aws:states:::lambda:invoke`...) records Task* events with its resource type and
 * the parameters it was called with.
 */
function taskEvents(resource: string, region: string) {
  if (/^arn:aws[\w-]*:lambda:/.test(resource)) {
    return {
      scheduled: 'LambdaFunctionScheduled',
      started: 'LambdaFunctionStarted',
      succeeded: 'LambdaFunctionSucceeded',
      failed: 'LambdaFunctionFailed',
      timedOut: 'LambdaFunctionTimedOut',
      resource: {} as Record<string, string>,
      input: (input: unknown) => ({ resource, input: JSON.stringify(input ?? null), inputDetails: { truncated: false } }),
    };
  }
  const [, service = '', action = ''] = /^arn:aws[\w-]*:states:::([^:]+):?(.*)$/.exec(resource) ?? [];
  return {
    scheduled: 'TaskScheduled',
    started: 'TaskStarted',
    succeeded: 'TaskSucceeded',
    failed: 'TaskFailed',
    timedOut: 'TaskTimedOut',
    resource: { resourceType: service, resource: action },
    input: (input: unknown) => ({ region, parameters: JSON.stringify(input ?? null) }),
  };
}
