/**
 * Lambda asynchronous invocation (InvocationType Event), as EventBridge, S3 or SNS invoke a function: the caller's
 * request is accepted at once (202) and the event waits in the function's own queue, from which it is invoked and
 * retried in the background.
 *
 * "How Lambda handles errors and retries with asynchronous invocation"
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
 * - a function error (an error returned by the code, or by the runtime, such as a timeout) is retried twice by
 *   default, "with a one-minute wait between the first two attempts, and two minutes between the second and third";
 *   MaximumRetryAttempts is 0 to 2;
 * - a throttling (429) or system (500-series) error is retried "for up to 6 hours", the interval growing
 *   exponentially "from 1 second after the first attempt to a maximum of 5 minutes"; these do not count as retries;
 * - an event older than MaximumEventAgeInSeconds (60 to 21,600, default 6 hours) is discarded.
 * A discarded event goes to the on-failure destination (an invocation record, condition `RetriesExhausted` or
 * `EventAgeExceeded`) and/or the function's dead-letter queue (the event as-is, with RequestID, ErrorCode and
 * ErrorMessage attributes), or is dropped ("Asynchronous invocation", invocation-async.html).
 *
 * Locally an invoker that returns `{ ok: false }` is a function error; one that throws is a system error (429 when
 * the error is named TooManyRequestsException, else 500). Waits and the event's age run on the runtime's scaled
 * clock, as in event-bus.ts: age = (clock.now() - acceptedAt) * clock.scale.
 */
import { randomUUID } from 'node:crypto';
import { Clock, sleepUnlessAborted } from '../clock';
import { InvokeError, Invoker } from './invoker';
import { PendingJournal } from './pending-journal';

/** Lambda's defaults and bounds for asynchronous invocation (PutFunctionEventInvokeConfig). */
export const ASYNC_DEFAULT_MAX_RETRY_ATTEMPTS = 2;
export const ASYNC_DEFAULT_MAX_EVENT_AGE_SECONDS = 6 * 60 * 60;
/** Waits after the first and second function errors. */
export const FUNCTION_ERROR_RETRY_DELAYS_MS = [60_000, 120_000] as const;
/** Throttling and system errors: 1 s after the first attempt, doubling, at most 5 minutes. */
export const SYSTEM_ERROR_FIRST_DELAY_MS = 1000;
export const SYSTEM_ERROR_MAX_DELAY_MS = 5 * 60_000;
/** Age comparisons allow 1 simulated ms for the floating-point sums of scaled waits. */
const AGE_EPSILON_MS = 1;

export type InvocationCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';

/** The invocation record sent to a destination (shape of the "Example invocation record" in invocation-async.html). */
export interface InvocationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: InvocationCondition; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError?: 'Unhandled' };
  responsePayload?: unknown;
}

export type MessageAttributes = Record<string, { DataType: 'String' | 'Number'; StringValue: string }>;

export interface LambdaAsyncInvokeOptions {
  invoker: Invoker;
  clock: Clock;
  /** For invocation records (default arn:aws:lambda:us-east-1:000000000000:function:<name>). */
  functionArn?: string;
  /** 0 to 2 (default 2). */
  maximumRetryAttempts?: number;
  /** 60 to 21,600 (default 21,600), in simulated seconds. */
  maximumEventAgeInSeconds?: number;
  /** On-success destination. */
  onSuccess?: (record: InvocationRecord) => Promise<void> | void;
  /** On-failure destination. */
  onFailure?: (record: InvocationRecord) => Promise<void> | void;
  /** The function's dead-letter queue (DeadLetterConfig): the event as-is, with Lambda's attributes. */
  deadLetter?: (payload: string, attributes: MessageAttributes) => Promise<void> | void;
  /** Every discarded event (logging), whether or not a destination or DLQ took it. */
  onDiscard?: (info: { requestId: string; condition: Exclude<InvocationCondition, 'Success'>; attempts: number; error?: string }) => void;
  /** Accepted events are journaled here and resumed by start() after a restart; default: in memory only. */
  journalDirectory?: string;
  journalFsync?: boolean;
}

interface PendingInvocation {
  requestId: string;
  payload: unknown;
  /** Real epoch ms. */
  acceptedAt: number;
  /** Invocations made (approximateInvokeCount). */
  invokes: number;
  /** Function errors so far (retries = functionErrors - 1). */
  functionErrors: number;
  /** Throttling / system errors so far (back-off exponent). */
  systemErrors: number;
  nextAttemptAt?: number;
  last?: { statusCode: number; functionError?: 'Unhandled'; payload?: unknown; message: string };
}

export class LambdaAsyncInvoke {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly journal: PendingJournal<PendingInvocation> | undefined;
  private resumable = new Map<string, PendingInvocation>();
  private started = false;
  private readonly maxRetries: number;
  private readonly maxAgeMs: number;

  constructor(private readonly options: LambdaAsyncInvokeOptions) {
    this.maxRetries = clamp(options.maximumRetryAttempts ?? ASYNC_DEFAULT_MAX_RETRY_ATTEMPTS, 0, 2);
    this.maxAgeMs = clamp(options.maximumEventAgeInSeconds ?? ASYNC_DEFAULT_MAX_EVENT_AGE_SECONDS, 60, ASYNC_DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
    if (options.journalDirectory) {
      this.journal = new PendingJournal<PendingInvocation>(options.journalDirectory, `lambda-async-${options.invoker.name}`, { fsync: options.journalFsync });
      this.resumable = this.journal.open();
    }
  }

  get functionName(): string {
    return this.options.invoker.name;
  }

  /** Events accepted and not yet processed or discarded. */
  get pending(): number {
    return this.inFlight.size + this.resumable.size;
  }

  /** Invoke with InvocationType Event: accepted at once (journaled first when there is a journal). */
  invokeAsync(event: unknown): { StatusCode: 202; requestId: string } {
    const invocation: PendingInvocation = {
      requestId: randomUUID(),
      payload: structuredClone(event),
      acceptedAt: this.options.clock.now(),
      invokes: 0,
      functionErrors: 0,
      systemErrors: 0,
    };
    this.journal?.put([{ id: invocation.requestId, value: invocation }]);
    this.track(this.run(invocation));
    return { StatusCode: 202, requestId: invocation.requestId };
  }

  /** Resumes the events a previous process left in the journal (call once the function can run). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const resumed = this.resumable;
    this.resumable = new Map();
    for (const invocation of resumed.values()) this.track(this.run(invocation));
  }

  /** Waits until every accepted event was processed or discarded, retries included. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops waiting for retries (journaled events stay for the next start), lets running invocations finish, closes the journal. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('asynchronous invocations stopped'));
    await this.drain();
    this.journal?.close();
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private age(invocation: PendingInvocation): number {
    return (this.options.clock.now() - invocation.acceptedAt) * this.options.clock.scale;
  }

  /** Waits `ms` simulated milliseconds; false when the engine stops meanwhile. */
  private wait(ms: number): Promise<boolean> {
    return sleepUnlessAborted(this.options.clock, ms, this.stopping.signal);
  }

  private async run(inv: PendingInvocation): Promise<void> {
    if (inv.nextAttemptAt !== undefined) {
      const remaining = Math.min((inv.nextAttemptAt - this.options.clock.now()) * this.options.clock.scale, this.maxAgeMs - this.age(inv));
      if (remaining > 0 && !(await this.wait(remaining))) return;
    }
    for (;;) {
      if (inv.invokes > 0 && this.age(inv) >= this.maxAgeMs - AGE_EPSILON_MS) return this.discard(inv, 'EventAgeExceeded');
      if (this.stopping.signal.aborted) return;
      inv.invokes++;
      let delay: number;
      try {
        const result = await this.options.invoker.invoke(structuredClone(inv.payload));
        if (result.ok) {
          this.journal?.done(inv.requestId);
          await this.deliverRecord(this.options.onSuccess, this.record(inv, 'Success', { statusCode: 200, executedVersion: '$LATEST' }, result.result));
          return;
        }
        inv.functionErrors++;
        inv.last = { statusCode: 200, functionError: 'Unhandled', payload: errorPayload(result.error), message: result.error.errorMessage };
        if (inv.functionErrors > this.maxRetries) return this.discard(inv, 'RetriesExhausted');
        delay = FUNCTION_ERROR_RETRY_DELAYS_MS[inv.functionErrors - 1] ?? FUNCTION_ERROR_RETRY_DELAYS_MS[1];
      } catch (error) {
        // Throttling (429) or a system error (500): back to the queue, retried until the event is too old.
        const e = error as Error;
        inv.systemErrors++;
        const statusCode = e?.name === 'TooManyRequestsException' ? 429 : 500;
        inv.last = { statusCode, payload: { errorType: e?.name ?? 'ServiceException', errorMessage: e?.message ?? String(error) }, message: e?.message ?? String(error) };
        delay = Math.min(SYSTEM_ERROR_MAX_DELAY_MS, SYSTEM_ERROR_FIRST_DELAY_MS * 2 ** Math.min(inv.systemErrors - 1, 20));
      }
      const remaining = this.maxAgeMs - this.age(inv);
      if (remaining <= AGE_EPSILON_MS) return this.discard(inv, 'EventAgeExceeded');
      const wait = Math.min(delay, remaining);
      inv.nextAttemptAt = this.options.clock.now() + this.options.clock.scaled(wait);
      this.journal?.update(inv.requestId, { invokes: inv.invokes, functionErrors: inv.functionErrors, systemErrors: inv.systemErrors, nextAttemptAt: inv.nextAttemptAt, last: inv.last });
      if (!(await this.wait(wait))) return;
    }
  }

  private record(inv: PendingInvocation, condition: InvocationCondition, responseContext: InvocationRecord['responseContext'], responsePayload: unknown): InvocationRecord {
    const record: InvocationRecord = {
      version: '1.0',
      timestamp: new Date(this.options.clock.now()).toISOString(),
      requestContext: { requestId: inv.requestId, functionArn: `${this.functionArn()}:$LATEST`, condition, approximateInvokeCount: inv.invokes },
      requestPayload: inv.payload,
      responseContext,
    };
    if (responsePayload !== undefined) record.responsePayload = responsePayload;
    return record;
  }

  private functionArn(): string {
    return this.options.functionArn ?? `arn:aws:lambda:us-east-1:000000000000:function:${this.options.invoker.name}`;
  }

  private async discard(inv: PendingInvocation, condition: 'RetriesExhausted' | 'EventAgeExceeded'): Promise<void> {
    const last = inv.last;
    const responseContext: InvocationRecord['responseContext'] = { statusCode: last?.statusCode ?? 200, executedVersion: '$LATEST' };
    if (last?.functionError) responseContext.functionError = last.functionError;
    await this.deliverRecord(this.options.onFailure, this.record(inv, condition, responseContext, last?.payload));
    if (this.options.deadLetter) {
      const attributes: MessageAttributes = {
        RequestID: { DataType: 'String', StringValue: inv.requestId },
        ErrorCode: { DataType: 'Number', StringValue: String(last?.statusCode ?? 200) },
        // "The first 1 KB of the error message."
        ErrorMessage: { DataType: 'String', StringValue: truncateUtf8(last?.message ?? 'Event age exceeded', 1024) },
      };
      try {
        await this.options.deadLetter(JSON.stringify(inv.payload), attributes);
      } catch {
        // Lambda deletes the event and counts DeadLetterErrors.
      }
    }
    this.journal?.done(inv.requestId);
    this.options.onDiscard?.({ requestId: inv.requestId, condition, attempts: inv.invokes, error: last?.message });
  }

  private async deliverRecord(destination: ((record: InvocationRecord) => Promise<void> | void) | undefined, record: InvocationRecord): Promise<void> {
    if (!destination) return;
    try {
      await destination(record);
    } catch {
      // A destination that cannot be reached loses the record (Lambda counts DestinationDeliveryFailures).
    }
  }
}

function errorPayload(error: InvokeError): Record<string, unknown> {
  const payload: Record<string, unknown> = { errorType: error.errorType, errorMessage: error.errorMessage };
  if (error.stackTrace) payload.stackTrace = error.stackTrace;
  return payload;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function truncateUtf8(text: string, bytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= bytes) return text;
  return buffer.subarray(0, bytes).toString('utf8').replace(/\uFFFD$/, '');
}
