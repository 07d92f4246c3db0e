/**
 * Step Functions: the synthesized definition run by aws-local-stepfunctions, each Lambda task bound to the local
 * function it names, waits and retry intervals divided by the time scale. Executions are kept in memory for
 * DescribeExecution / ListExecutions.
 */
import { randomUUID } from 'node:crypto';
import { Clock } from '../clock';
import { Invoker } from './invoker';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node >= 22); this is the whole of what it needs on Node 20.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= function withResolvers<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

type AslState = Record<string, unknown> & { Type: string };
type AslDefinition = { StartAt: string; States: Record<string, AslState>; QueryLanguage?: string };

export interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}

/** Error thrown into the state machine with the function's error type as its name, so Retry/Catch match it. */
class TaskFailure extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
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

export class StateMachineEngine {
  readonly executions = new Map<string, Execution>();
  private readonly running = new Set<Promise<void>>();
  private machine?: import('aws-local-stepfunctions').StateMachine;

  constructor(
    readonly arn: string,
    readonly name: string,
    private readonly definition: AslDefinition,
    /** Resolves a Lambda function ARN (or name) to its local invoker. */
    private readonly functionFor: (arnOrName: string) => Invoker | undefined,
    private readonly clock: Clock,
    private readonly onFinish?: (execution: Execution) => void,
  ) {
    if (definition.QueryLanguage === 'JSONata') throw new Error(`state machine ${name}: JSONata definitions are not supported locally (aws-local-stepfunctions ignores them)`);
  }

  private async load() {
    if (!this.machine) {
      const { StateMachine } = await import('aws-local-stepfunctions');
      this.machine = new StateMachine(this.definition as never, { validationOptions: { checkPaths: false, checkArn: false } } as never);
    }
    return this.machine;
  }

  private overrides() {
    const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const waitTimeOverrides: Record<string, number> = {};
    const retryIntervalOverrides: Record<string, number[]> = {};
    for (const [stateName, state] of allStates(this.definition)) {
      if (state.Type === 'Task') taskResourceLocalHandlers[stateName] = this.taskHandler(stateName, state);
      if (state.Type === 'Wait' && typeof state.Seconds === 'number') waitTimeOverrides[stateName] = this.clock.scaled(state.Seconds * 1000);
      const retriers = state.Retry as { IntervalSeconds?: number; BackoffRate?: number; MaxAttempts?: number }[] | undefined;
      if (retriers?.length) {
        // One interval per retry of the first retrier: AWS waits IntervalSeconds * BackoffRate^(n-1).
        const r = retriers[0];
        const attempts = r.MaxAttempts ?? 3;
        retryIntervalOverrides[stateName] = Array.from({ length: attempts }, (_, n) => this.clock.scaled((r.IntervalSeconds ?? 1) * 1000 * (r.BackoffRate ?? 2) ** n));
      }
    }
    return { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides };
  }

  private taskHandler(stateName: string, state: AslState) {
    const resource = String(state.Resource);
    const viaInvoke = /^arn:aws:states:::lambda:invoke/.test(resource);
    const target = viaInvoke ? String((state.Parameters as Record<string, unknown> | undefined)?.FunctionName ?? '') : resource;
    return async (input: unknown) => {
      const invoker = this.functionFor(target);
      if (!invoker) throw new TaskFailure('Lambda.ResourceNotFoundException', `state ${stateName}: no local function for ${target}`);
      const payload = viaInvoke && input && typeof input === 'object' && 'Payload' in input ? (input as { Payload: unknown }).Payload : input;
      const result = await invoker.invoke(payload);
      if (!result.ok) throw new TaskFailure(result.error.errorType, result.error.errorMessage);
      // lambda:invoke answers with the Invoke API's shape; a bare function ARN answers with the payload.
      return viaInvoke ? { Payload: result.result, StatusCode: 200, ExecutedVersion: '$LATEST' } : result.result;
    };
  }

  /** StartExecution: returns at once; the execution runs in the background. */
  async start(input: unknown, name: string = randomUUID()): Promise<Execution> {
    const machine = await this.load();
    const executionArn = this.arn.replace(':stateMachine:', ':execution:') + `:${name}`;
    if (this.executions.has(executionArn)) {
      const error = new Error(`Execution Already Exists: '${executionArn}'`);
      error.name = 'ExecutionAlreadyExists';
      throw error;
    }
    const execution: Execution = { executionArn, stateMachineArn: this.arn, name, status: 'RUNNING', startDate: this.clock.now(), input: JSON.stringify(input ?? {}) };
    this.executions.set(executionArn, execution);
    const context = { Execution: { Id: executionArn, Name: name, Input: input, StartTime: new Date(execution.startDate).toISOString(), RoleArn: '' }, StateMachine: { Id: this.arn, Name: this.name } };
    const run = machine.run((input ?? {}) as never, { overrides: this.overrides(), context } as never);
    const done = (run.result as Promise<unknown>).then(
      (output) => Object.assign(execution, { status: 'SUCCEEDED', output: JSON.stringify(output ?? null) }),
      (error: Error & { cause?: unknown }) => Object.assign(execution, { status: 'FAILED', error: error.name ?? 'States.Runtime', cause: error.message }),
    ).then(() => {
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
