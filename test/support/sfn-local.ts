/**
 * Runs a synthesized Step Functions definition in-process with aws-local-stepfunctions: the definition comes from
 * the CloudFormation template (its Fn::Join resolved, resources as placeholder ARNs), and every Task state is bound
 * to a local handler that behaves like a Lambda invocation (JSON in, JSON out, Lambda-shaped errors).
 */
import type { RunOptions, StateMachine as LocalStateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';

// aws-local-stepfunctions 3 wants Node >= 22 for Promise.withResolvers alone (its Task timeout); Node 20 lacks it.
const promiseStatics = Promise as unknown as { withResolvers?: <T>() => { promise: Promise<T>; resolve: (value: T) => void; reject: (reason?: unknown) => void } };
if (!promiseStatics.withResolvers) {
  promiseStatics.withResolvers = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
// Loaded after the polyfill on purpose.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions');

export type Definition = StateMachineDefinition;
export type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
export type EventLog = ReturnType<LocalStateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export const PLACEHOLDER = { partition: 'aws', region: 'us-east-1', account: '123456789012' } as const;

interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** The placeholder ARN a Ref or Fn::GetAtt of a template resource stands for. */
export function placeholderArn(logicalId: string, template: TemplateJson): string {
  const type = template.Resources[logicalId]?.Type;
  if (!type) throw new Error(`the definition refers to ${logicalId}, which is not in the template`);
  const { partition, region, account } = PLACEHOLDER;
  if (type === 'AWS::Lambda::Function') return `arn:${partition}:lambda:${region}:${account}:function:${logicalId}`;
  return `arn:${partition}:${type.split('::')[1].toLowerCase()}:${region}:${account}:${logicalId}`;
}

/** The logical id a placeholder Lambda ARN was made from. */
export function functionLogicalId(arn: string): string {
  const match = /^arn:aws:lambda:[^:]+:\d{12}:function:([A-Za-z0-9]+)$/.exec(arn);
  if (!match) throw new Error(`${arn} is not a placeholder Lambda function ARN`);
  return match[1];
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': PLACEHOLDER.partition,
  'AWS::Region': PLACEHOLDER.region,
  'AWS::AccountId': PLACEHOLDER.account,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** A string-valued CloudFormation expression (Fn::Join of strings, Ref, Fn::GetAtt ... Arn) as a plain string. */
export function resolveString(value: unknown, template: TemplateJson): string {
  if (typeof value === 'string') return value;
  const expression = value as Record<string, unknown>;
  const [fn] = Object.keys(expression ?? {});
  if (fn === 'Fn::Join') {
    const [separator, parts] = expression[fn] as [string, unknown[]];
    return parts.map((part) => resolveString(part, template)).join(separator);
  }
  if (fn === 'Ref') {
    const name = expression[fn] as string;
    return PSEUDO_PARAMETERS[name] ?? placeholderArn(name, template);
  }
  if (fn === 'Fn::GetAtt') {
    const [logicalId, attribute] = expression[fn] as [string, string];
    if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${logicalId}.${attribute}: only Arn is resolved`);
    return placeholderArn(logicalId, template);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** The ASL definition of an AWS::StepFunctions::StateMachine in a synthesized template. */
export function synthesizedDefinition(template: TemplateJson, logicalId: string): Definition {
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::StepFunctions::StateMachine') throw new Error(`${logicalId} is not a state machine in the template`);
  return JSON.parse(resolveString(resource.Properties?.DefinitionString, template)) as Definition;
}

type AnyState = Definition['States'][string] & Record<string, unknown>;

/** Every state in the definition, nested Parallel branches and Map item processors included. */
export function allStates(definition: Pick<Definition, 'States'>): [string, AnyState][] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const s = state as AnyState;
    const nested = [
      ...(s.Type === 'Parallel' ? (s.Branches as Definition[]) : []),
      ...(s.Type === 'Map' ? [(s.ItemProcessor ?? s.Iterator) as Definition] : []),
    ];
    return [[name, s] as [string, AnyState], ...nested.flatMap(allStates)];
  });
}

/** Calls a state makes at most (first try plus retries) for a thrown error none of the earlier retriers match. */
export function catchAllAttempts(state: AnyState): number {
  const retriers = (state.Retry ?? []) as { ErrorEquals: string[]; MaxAttempts?: number }[];
  const catchAll = retriers.find((r) => r.ErrorEquals.includes('States.ALL'));
  // ASL's default MaxAttempts is 3; no States.ALL retrier means a single try.
  return 1 + (catchAll ? (catchAll.MaxAttempts ?? 3) : 0);
}

/**
 * A local function shaped like a Lambda invocation through Step Functions: the input and the result cross as JSON,
 * and a thrown error reaches the state machine as Lambda reports it (Error = the error's name, Cause = a JSON
 * document with errorType, errorMessage and trace), not as aws-local-stepfunctions would (Cause = the message).
 */
export function asLambda<I, O>(fn: (input: I) => Promise<O> | O): TaskHandlers[string] {
  return async (input) => {
    try {
      const output = await fn(JSON.parse(JSON.stringify(input)) as I);
      return JSON.parse(JSON.stringify(output ?? null));
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const lambdaError = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') }));
      lambdaError.name = e.name;
      throw lambdaError;
    }
  };
}

/** What the States.ALL retrier of a state would pause in all, unoverridden (no jitter, no MaxDelaySeconds cap). */
export function retryPausesMs(state: AnyState): number {
  const retriers = (state.Retry ?? []) as { ErrorEquals: string[]; MaxAttempts?: number; IntervalSeconds?: number; BackoffRate?: number }[];
  const catchAll = retriers.find((r) => r.ErrorEquals.includes('States.ALL'));
  if (!catchAll) return 0;
  const { MaxAttempts = 3, IntervalSeconds = 1, BackoffRate = 2 } = catchAll;
  return Array.from({ length: MaxAttempts }, (_, k) => IntervalSeconds * BackoffRate ** k * 1000).reduce((a, b) => a + b, 0);
}

export interface LocalExecution<T> {
  output: T;
  events: EventLog[];
  elapsedMs: number;
}

/**
 * Runs the definition once. Every Task state must have a handler (nothing may call AWS), and every retry pause
 * is overridden to `retryPauseMs` so the Retry fields are exercised without their real back-off.
 */
const validated = new Set<string>();

export async function runLocally<T>(definition: Definition, input: unknown, handlers: TaskHandlers, retryPauseMs = 0): Promise<LocalExecution<T>> {
  const tasks = allStates(definition).filter(([, s]) => s.Type === 'Task').map(([name]) => name);
  const unbound = tasks.filter((name) => !handlers[name]);
  if (unbound.length) throw new Error(`Task states without a local handler would call AWS: ${unbound.join(', ')}`);
  // The library's validator writes into the definition it is given: each run gets its own copy. Validation (asl-validator,
  // ~0.5 s: it compiles its schemas on every call) runs once per definition; later runs of the same one skip it.
  const text = JSON.stringify(definition);
  const machine = new StateMachine(structuredClone(definition), validated.has(text) ? { validationOptions: { noValidate: true } } : undefined);
  validated.add(text);
  const started = performance.now();
  const execution = machine.run(input as Parameters<LocalStateMachine['run']>[0], {
    overrides: {
      taskResourceLocalHandlers: handlers,
      retryIntervalOverrides: Object.fromEntries(allStates(definition).filter(([, s]) => s.Retry).map(([name]) => [name, retryPauseMs])),
    },
  });
  const output = (await execution.result) as T;
  const elapsedMs = performance.now() - started;
  const events: EventLog[] = [];
  for await (const event of execution.eventLogs) events.push(event);
  return { output, events, elapsedMs };
}
