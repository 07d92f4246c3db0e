/**
 * Fault injection for the local runtime: one plan (from `--faults FILE` or the programmatic API), one decision
 * function, one count. Engines never read the plan; each asks its seam's question, `faults.inject(kind, target)`,
 * at the point where AWS could fail the same way, and does what AWS would do when the answer is yes.
 *
 * Reproducible: a decision is a pure function of (seed, kind, target, n), where n counts the calls of that kind on
 * that target. A run that makes the same calls in the same order gets the same faults and the same counts; a run
 * whose timing reorders calls gets the same fault rate, not the same victims.
 */

/** Every fault the runtime can inject, by engine. The name says what AWS would do. */
export const FAULT_KINDS = {
  /** The function's invocation fails with an error of its own (as a bug or a failed dependency would). */
  'lambda.error': 'function error',
  /** The invocation runs out of its timeout (`Sandbox.Timedout`); the environment is replaced. */
  'lambda.timeout': 'function timeout',
  /** The environment dies after the k-th AWS call of the invocation (OOM kill, crash): the call took effect, the rest did not. */
  'lambda.crash': 'function killed mid-invocation',
  /** A cold start takes longer (INIT latency). */
  'lambda.coldStart': 'slow cold start',
  /** A message is delivered again later, even after it was deleted (at-least-once delivery). */
  'sqs.duplicate': 'duplicate delivery',
  /** A receive returns messages out of their send order. */
  'sqs.outOfOrder': 'out-of-order receive',
  /** A receive returns fewer messages than are available (short polling samples a subset of servers). */
  'sqs.shortReceive': 'short receive',
  /** A PutEvents entry fails with `InternalFailure` (HTTP 200, FailedEntryCount > 0). */
  'events.putEventsInternalFailure': 'PutEvents entry InternalFailure',
  /** A PutEvents entry fails with `ThrottlingException` (HTTP 200, FailedEntryCount > 0). */
  'events.putEventsThrottling': 'PutEvents entry ThrottlingException',
  /** A delivery attempt to a rule target fails (retried under the target's RetryPolicy, then its DLQ). */
  'events.targetFailure': 'target delivery failure',
  /** An event is delivered to a target twice. */
  'events.duplicateDelivery': 'duplicate target delivery',
  /** A DynamoDB call fails with `ProvisionedThroughputExceededException` (HTTP 400; the SDK retries it). */
  'dynamodb.provisionedThroughputExceeded': 'ProvisionedThroughputExceededException',
  /** A DynamoDB call fails with `ThrottlingException` (HTTP 400; the SDK retries it). */
  'dynamodb.throttling': 'ThrottlingException',
  /** A DynamoDB call fails with `InternalServerError` (HTTP 500; the SDK retries it). */
  'dynamodb.internalServerError': 'InternalServerError',
  /** A state machine's Lambda task fails (`Lambda.Unknown`-style error; the definition's Retry and Catch apply). */
  'states.taskFailure': 'task failure',
  /** A state machine's Lambda task times out (`States.Timeout`). */
  'states.taskTimeout': 'task timeout',
} as const;

export type FaultKind = keyof typeof FAULT_KINDS;

export function isFaultKind(value: string): value is FaultKind {
  return Object.prototype.hasOwnProperty.call(FAULT_KINDS, value);
}

/** What an engine asks. `target` is the resource's local name (function, queue, bus/rule/target, table, state machine). */
export interface Faults {
  /** True when this call should fail; a true answer is counted and logged. `operation` narrows rules (e.g. `TransactWriteItems`). */
  inject(kind: FaultKind, target: string, operation?: string): boolean;
  /** A number in [0, 1) from the seed, for a choice inside an injected fault (how many messages, which one). */
  random(kind: FaultKind, target: string): number;
  /** A numeric parameter of the rule that matches (e.g. `afterAwsCalls`, `latencyMs`), or undefined. */
  parameter(kind: FaultKind, target: string, name: string): number | undefined;
}

/** The default: nothing fails. */
export const NO_FAULTS: Faults = {
  inject: () => false,
  random: () => 0,
  parameter: () => undefined,
};
