/**
 * Lambda's SQS event source mapping, emulated over QueueEngine (per the Lambda developer guide, "Using Lambda with
 * Amazon SQS", https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, and the pages cited below):
 * - a poller long-polls the queue (up to 10 messages per ReceiveMessage, the queue's visibility timeout) and
 *   gathers a batch until it holds `batchSize` records, the batching window ends, or the 6 MB payload limit is
 *   reached; it hands the batch to an invocation and gathers the next one while that runs. By default there is one
 *   poller, so a batching window collects every message that arrives during it into one batch (deterministic
 *   batches); with `pollers: N` (AWS starts with five) N pollers gather at once and which messages share a batch
 *   depends on timing and a random jitter, as on AWS;
 * - the function is invoked with `{ Records: [...] }` in the SQS event format;
 * - on success every record is deleted; with `reportBatchItemFailures`, every record except the `itemIdentifier`s
 *   of `batchItemFailures` is deleted; an invalid response (an identifier not in the batch, an empty or missing
 *   identifier, a malformed body) fails the whole batch;
 * - on a function error or timeout nothing is deleted: the messages come back after the visibility timeout with a
 *   higher receive count, so the queue's redrive policy moves poison messages to the DLQ; and Lambda backs off:
 *   the mapping's concurrency halves and polling pauses (1 s, doubling to 10 s) after each failed batch in a row,
 *   until a batch succeeds. Not with ReportBatchItemFailures, where Lambda does not scale polling down
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html);
 * - at most `maximumConcurrency` batches are gathered or in flight (ScalingConfig.MaximumConcurrency, 2 to 1,000;
 *   unset: 5, the five concurrent batches AWS starts with; AWS then scales up by up to 300 a minute to 1,000, the
 *   local runtime stays at 5; https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). Reaching it
 *   is not throttling: the pollers stop receiving, the messages wait in the queue;
 * - throttling (the function has no free environment: `isThrottled()`, or an invocation answered with
 *   TooManyRequestsException): the received batch is retried with back-off (0.5 s doubling to 8 s) until its
 *   visibility timeout ends; then it is dropped, not deleted and not returned early: its messages are visible again
 *   when the timeout ends, with the receive counted (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html);
 *   throttles back the mapping's concurrency off too;
 * - stop() stops polling and waits for in-flight batches to finish (a batch gathered or throttled but never
 *   invoked is given back to the queue at once);
 * - FIFO queues (with-sqs.html, services-sqs-parameters.html, services-sqs-errorhandling.html): a batch size of at
 *   most 10 and no batching window (refused, as AWS refuses the mapping); each record carries MessageGroupId,
 *   MessageDeduplicationId and SequenceNumber; a batch holds the messages the queue gives one receive, each group's
 *   in order; while a batch is in flight its groups give no further messages, so concurrent batches never share a
 *   group and concurrency grows with the number of active groups. A failed batch blocks its groups until its
 *   messages return. With ReportBatchItemFailures the function should report the first failure of a group and every
 *   later message of the batch; a later message of a failed message's group that it did not report is not deleted
 *   either (held back, in `heldBackMessageIds`), so the group is retried from the failure in order.
 *
 * Time: every wait here is simulated time (divided by the time scale), but the function's timeout is real time.
 * checkTimeScale() says whether a queue's scaled visibility timeout still covers the function's timeout.
 */
import { Clock, systemClock } from '../clock';
import { InvokeError, InvokeResult, Invoker } from './invoker';
import { QueueEngine, ReceivedMessage } from './queue-engine';

/** What happened to one batch (for logs, traces and tests). */
export interface SqsBatchInfo {
  functionName: string;
  queueName: string;
  messageIds: string[];
  /**
   * success: all deleted; partial: all but the reported failures deleted; failure: nothing deleted; throttled: never
   * invoked (no environment free before the visibility timeout ended), nothing deleted.
   */
  outcome: 'success' | 'partial' | 'failure' | 'throttled';
  deletedMessageIds: string[];
  failedMessageIds: string[];
  /**
   * FIFO with ReportBatchItemFailures: messages the function did not report that follow a reported failure of
   * their group in the batch: not deleted (they are in failedMessageIds too), so the group stays in order.
   */
  heldBackMessageIds?: string[];
  /** Why the batch failed as a whole (function error, timeout, invalid partial batch response). */
  reason?: string;
  error?: InvokeError;
  timedOut?: boolean;
  /** How many invocation attempts were throttled before the batch ran (or was dropped). */
  throttles?: number;
  durationMs: number;
}

export interface SqsEventSourceOptions {
  engine: QueueEngine;
  queueName: string;
  invoker: Invoker;
  /** 1 to 10,000; default 10. Above 10 a batching window of at least 1 second is required (as on AWS). */
  batchSize?: number;
  /** 0 to 300 seconds; default 0. */
  maximumBatchingWindowSeconds?: number;
  /**
   * ScalingConfig.MaximumConcurrency, 2 to 1,000. Unset: 5 concurrent batches, the five AWS starts with (AWS then
   * scales up to 1,000; locally it stays at 5).
   */
  maximumConcurrency?: number;
  /** Concurrent pollers gathering batches (default 1: deterministic batches). AWS starts with 5. */
  pollers?: number;
  /** Random numbers in [0, 1) for the pollers' jitter (default Math.random); only used with more than one poller. */
  random?: () => number;
  /**
   * True while the function cannot start an invocation (every environment busy at its concurrency limit). The
   * local runtime passes `() => fn.stats().busy >= fn.maxConcurrency`. An invocation that answers
   * TooManyRequestsException counts as throttled too.
   */
  isThrottled?: () => boolean;
  /**
   * The function's timeout in (real) seconds. When the time scale makes the queue's visibility timeout shorter in
   * real time than this, the batch's visibility is held while the invocation runs (and given back when it ends), so
   * a message is never delivered again while its function may still be working on it: the guarantee AWS gives by
   * refusing a visibility timeout shorter than the function's timeout. See checkTimeScale.
   */
  functionTimeoutSeconds?: number;
  /** FunctionResponseTypes: ['ReportBatchItemFailures']. */
  reportBatchItemFailures?: boolean;
  clock?: Clock;
  region?: string;
  onBatch?: (info: SqsBatchInfo) => void;
  /** Polling errors (the queue was deleted, ...); the poller backs off and retries. */
  onError?: (error: unknown) => void;
}

export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, { stringValue?: string; binaryValue?: string; stringListValues: string[]; binaryListValues: string[]; dataType: string }>;
  md5OfMessageAttributes?: string;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const LONG_POLL_MS = 20_000;
/** Polling errors (the queue was deleted, ...): retry after 1 s. */
const ERROR_BACKOFF_MS = 1_000;
/** AWS starts an SQS event source with five concurrent batches (services-sqs-scaling.html); locally it stays there. */
export const DEFAULT_SQS_CONCURRENCY = 5;
/** Function errors: polling pauses 1 s, doubling with each failed batch in a row, at most 10 s (local choice). */
const FAILURE_BACKOFF_MS = 1_000;
const FAILURE_BACKOFF_MAX_MS = 10_000;
/** Throttled invocations: retried after 0.5 s, doubling, at most 8 s, until the visibility timeout ends (local choice). */
const THROTTLE_RETRY_MS = 500;
const THROTTLE_RETRY_MAX_MS = 8_000;
/** With several pollers, each waits a random 0 to 50 ms before a receive, so batch boundaries vary. */
const POLLER_JITTER_MS = 50;
const RECORD_ATTRIBUTES = ['ApproximateReceiveCount', 'SentTimestamp', 'SenderId', 'ApproximateFirstReceiveTimestamp', 'AWSTraceHeader'];
/** A FIFO queue's records also carry these (the FIFO event of with-sqs.html). */
const FIFO_RECORD_ATTRIBUTES = ['SequenceNumber', 'MessageGroupId', 'MessageDeduplicationId'];

/** A counting semaphore whose waits can be abandoned and whose limit can change (back-off). */
class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private limit: number) {}
  get inUse(): number {
    return this.used;
  }
  setLimit(limit: number): void {
    this.limit = limit;
    while (this.used < this.limit && this.waiting.length) {
      this.used++;
      this.waiting.shift()!();
    }
  }
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.used < this.limit) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  release(): void {
    const next = this.used <= this.limit ? this.waiting.shift() : undefined;
    if (next) next(); // the slot passes straight to the next waiter
    else this.used--;
  }
}

export class SqsEventSource {
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly maximumConcurrency: number;
  readonly pollers: number;
  /** Whether the queue is a FIFO queue (known when the event source is created). */
  readonly fifo: boolean;
  private readonly clock: Clock;
  private readonly region: string;
  private readonly random: () => number;
  private readonly slots: Slots;
  private readonly inFlight = new Set<Promise<void>>();
  private pollerLoops: Promise<void>[] = [];
  private abort: AbortController | undefined;
  /** Failed (or throttled) batches in a row: the back-off level. */
  private failures = 0;
  /** Real epoch ms before which no poller starts a receive (back-off after a function error). */
  private pausedUntil = 0;

  constructor(private readonly options: SqsEventSourceOptions) {
    this.batchSize = options.batchSize ?? 10;
    this.maximumBatchingWindowSeconds = options.maximumBatchingWindowSeconds ?? 0;
    this.maximumConcurrency = options.maximumConcurrency ?? DEFAULT_SQS_CONCURRENCY;
    this.pollers = options.pollers ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10_000) {
      throw new Error(`BatchSize must be an integer from 1 to 10000, got ${this.batchSize}`);
    }
    const w = this.maximumBatchingWindowSeconds;
    if (!Number.isInteger(w) || w < 0 || w > 300) {
      throw new Error(`MaximumBatchingWindowInSeconds must be an integer from 0 to 300, got ${w}`);
    }
    this.fifo = options.engine.hasQueue(options.queueName) && options.engine.isFifoQueue(options.queueName);
    if (this.fifo && w !== 0) throw new Error(`Batching window is not supported for FIFO queues (${options.queueName})`);
    if (this.fifo && this.batchSize > 10) throw new Error(`BatchSize must be an integer from 1 to 10 for a FIFO queue (${options.queueName}), got ${this.batchSize}`);
    if (this.batchSize > 10 && w < 1) {
      throw new Error('Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10');
    }
    const c = this.maximumConcurrency;
    if (options.maximumConcurrency !== undefined && (!Number.isInteger(c) || c < 2 || c > 1000)) {
      throw new Error(`MaximumConcurrency must be an integer from 2 to 1000, got ${c}`);
    }
    if (!Number.isInteger(this.pollers) || this.pollers < 1 || this.pollers > 1000) {
      throw new Error(`pollers must be an integer from 1 to 1000, got ${this.pollers}`);
    }
    this.clock = options.clock ?? options.engine.clock ?? systemClock();
    this.region = options.region ?? options.engine.region;
    this.random = options.random ?? Math.random;
    this.slots = new Slots(this.maximumConcurrency);
  }

  get running(): boolean {
    return this.abort !== undefined;
  }

  /** Number of batches currently being processed (invoked, or waiting out a throttle). */
  get inFlightBatches(): number {
    return this.inFlight.size;
  }

  /** Failed (or throttled) batches in a row, the back-off level: 0 when the last batch ran fine. */
  get backOffLevel(): number {
    return this.failures;
  }

  /** Concurrent batches allowed now: maximumConcurrency, halved per failed batch in a row (at least 1). */
  get currentConcurrency(): number {
    return Math.max(1, Math.floor(this.maximumConcurrency / 2 ** this.failures));
  }

  start(): void {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    this.pollerLoops = Array.from({ length: this.pollers }, () => this.poll(abort.signal));
  }

  /** Stops polling; resolves once every in-flight batch has finished (its messages deleted or left to return). */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    abort.abort(new Error('event source stopped'));
    await Promise.all(this.pollerLoops);
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
    this.pollerLoops = [];
    this.abort = undefined;
  }

  private async poll(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.slots.acquire(signal))) return;
      // Back-off after function errors: no receive until the pause ends (it may grow while we wait).
      for (let pause = this.pausedUntil - this.clock.now(); pause > 0 && !signal.aborted; pause = this.pausedUntil - this.clock.now()) {
        await this.clock.sleep(pause * this.clock.scale, signal).catch(() => undefined);
      }
      if (this.pollers > 1) await this.clock.sleep(this.random() * POLLER_JITTER_MS, signal).catch(() => undefined);
      let records: ReceivedMessage[];
      try {
        records = signal.aborted ? [] : await this.gather(signal);
      } catch (err) {
        this.slots.release();
        this.options.onError?.(err);
        await this.clock.sleep(ERROR_BACKOFF_MS, signal).catch(() => undefined);
        continue;
      }
      if (records.length === 0) {
        this.slots.release();
        continue;
      }
      if (signal.aborted) {
        // Gathered but never handed to the function: give the messages back now rather than after the timeout.
        this.returnToQueue(records);
        this.slots.release();
        return;
      }
      const batch = this.process(records, signal).finally(() => {
        this.inFlight.delete(batch);
        this.slots.release();
      });
      this.inFlight.add(batch);
    }
  }

  /** Receives until the batch is full, the batching window (from the first record) ends, or 6 MB is reached. */
  private async gather(signal: AbortSignal): Promise<ReceivedMessage[]> {
    const { engine, queueName } = this.options;
    const records: ReceivedMessage[] = [];
    let bytes = 0;
    let windowEnds: number | undefined;
    while (records.length < this.batchSize && !signal.aborted) {
      let waitMs = LONG_POLL_MS;
      if (windowEnds !== undefined) {
        const remainingReal = windowEnds - this.clock.now();
        if (remainingReal <= 0) break;
        waitMs = Math.min(LONG_POLL_MS, remainingReal * this.clock.scale);
      }
      const got = await engine.receiveMessage(queueName, {
        maxNumberOfMessages: Math.min(10, this.batchSize - records.length),
        waitMs,
        signal,
      });
      const overflow: ReceivedMessage[] = [];
      for (const m of got) {
        const size = Buffer.byteLength(m.body, 'utf8') + 1024;
        if (records.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) overflow.push(m);
        else {
          records.push(m);
          bytes += size;
        }
      }
      if (overflow.length) {
        this.returnToQueue(overflow);
        break;
      }
      if (records.length > 0 && this.maximumBatchingWindowSeconds === 0) break;
      if (records.length > 0 && windowEnds === undefined) {
        windowEnds = this.clock.now() + this.clock.scaled(this.maximumBatchingWindowSeconds * 1000);
      }
    }
    return records;
  }

  private returnToQueue(records: ReceivedMessage[]): void {
    for (const m of records) {
      try {
        this.options.engine.changeMessageVisibility(this.options.queueName, m.receiptHandle, 0);
      } catch {
        // already visible again or deleted: nothing to give back
      }
    }
  }

  /** A failed or throttled batch: halve the concurrency; after a function error also pause polling. */
  private backOff(pausePolling: boolean): void {
    this.failures = Math.min(this.failures + 1, 30);
    this.slots.setLimit(this.currentConcurrency);
    if (pausePolling) {
      const pauseMs = Math.min(FAILURE_BACKOFF_MAX_MS, FAILURE_BACKOFF_MS * 2 ** (this.failures - 1));
      this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + this.clock.scaled(pauseMs));
    }
  }

  private recovered(): void {
    if (this.failures === 0) return;
    this.failures = 0;
    this.pausedUntil = 0;
    this.slots.setLimit(this.maximumConcurrency);
  }

  toEvent(records: ReceivedMessage[]): { Records: SqsEventRecord[] } {
    const eventSourceARN = this.options.engine.queueArn(this.options.queueName);
    return {
      Records: records.map((m) => {
        const attributes: Record<string, string> = {};
        for (const k of RECORD_ATTRIBUTES) if (m.attributes[k] !== undefined) attributes[k] = m.attributes[k];
        if (this.fifo) for (const k of FIFO_RECORD_ATTRIBUTES) if (m.attributes[k] !== undefined) attributes[k] = m.attributes[k];
        const messageAttributes: SqsEventRecord['messageAttributes'] = {};
        for (const [name, a] of Object.entries(m.messageAttributes)) {
          messageAttributes[name] = {
            ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
            ...(a.BinaryValue !== undefined ? { binaryValue: a.BinaryValue } : {}),
            stringListValues: [],
            binaryListValues: [],
            dataType: a.DataType,
          };
        }
        const record: SqsEventRecord = {
          messageId: m.messageId,
          receiptHandle: m.receiptHandle,
          body: m.body,
          attributes,
          messageAttributes,
          md5OfBody: m.md5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN,
          awsRegion: this.region,
        };
        if (m.md5OfMessageAttributes) record.md5OfMessageAttributes = m.md5OfMessageAttributes;
        return record;
      }),
    };
  }

  /**
   * Invokes the function with the batch, retrying throttled attempts until the batch's visibility timeout ends
   * (then the batch is dropped: nothing deleted, nothing given back early).
   */
  private async invokeUnlessThrottled(
    records: ReceivedMessage[],
    signal: AbortSignal,
  ): Promise<{ result?: InvokeResult; throttles: number; stopped?: boolean }> {
    const { invoker } = this.options;
    const deadline = Math.min(...records.map((r) => r.visibleAt));
    let throttles = 0;
    for (;;) {
      if (this.clock.now() >= deadline) return { throttles };
      let result: InvokeResult | undefined;
      if (!this.options.isThrottled?.()) {
        try {
          result = await invoker.invoke(this.toEvent(records));
        } catch (err) {
          result = {
            ok: false,
            error: { errorType: 'InvokerError', errorMessage: err instanceof Error ? err.message : String(err) },
            durationMs: 0,
          };
        }
        if (!isThrottle(result)) return { result, throttles };
      }
      if (throttles++ === 0) this.backOff(false);
      const retryMs = Math.min(THROTTLE_RETRY_MAX_MS, THROTTLE_RETRY_MS * 2 ** (throttles - 1));
      const untilDeadlineMs = (deadline - this.clock.now()) * this.clock.scale;
      try {
        await this.clock.sleep(Math.max(0, Math.min(retryMs, untilDeadlineMs)), signal);
      } catch {
        return { throttles, stopped: true };
      }
    }
  }

  private async process(records: ReceivedMessage[], signal: AbortSignal): Promise<void> {
    const { engine, queueName, invoker } = this.options;
    const ids = records.map((r) => r.messageId);
    const held = this.holdVisibility(records);
    const { result, throttles, stopped } = await this.invokeUnlessThrottled(records, signal);
    // A failed (or never invoked) batch comes back when its own visibility timeout ends, as on AWS; a successful
    // one is deleted below, its reported failures given back there.
    if (held && !stopped && !result?.ok) for (const r of records) this.giveBack(r);
    if (!result) {
      // Never invoked. Stopping: give the messages back now. Throttled out: they are visible again already.
      if (stopped) this.returnToQueue(records);
      this.report({
        functionName: invoker.name,
        queueName,
        messageIds: ids,
        outcome: 'throttled',
        deletedMessageIds: [],
        failedMessageIds: ids,
        reason: stopped
          ? 'throttled (TooManyRequestsException) until the event source stopped'
          : 'throttled (TooManyRequestsException) until the visibility timeout ended: the messages are visible again',
        throttles,
        durationMs: 0,
      });
      return;
    }
    let failed: string[];
    let heldBack: string[] = [];
    let reason: string | undefined;
    if (!result.ok) {
      failed = ids;
      reason = result.timedOut ? 'function timed out' : `function error: ${result.error.errorType}: ${result.error.errorMessage}`;
    } else if (!this.options.reportBatchItemFailures) {
      failed = [];
    } else {
      const parsed = parseBatchItemFailures(result.result, new Set(ids));
      if (parsed.valid) {
        // FIFO: a group is retried from its first failure, so nothing after it in the batch is deleted.
        if (this.fifo) heldBack = laterInFailedGroups(records, new Set(parsed.failedIds));
        failed = [...parsed.failedIds, ...heldBack];
      } else {
        failed = ids;
        reason = `invalid partial batch response: ${parsed.reason}`;
      }
    }
    // Back-off after a function error or timeout, not with ReportBatchItemFailures (services-sqs-errorhandling.html).
    if (!result.ok && !this.options.reportBatchItemFailures) this.backOff(true);
    else this.recovered();
    const failedSet = new Set(failed);
    if (held && result.ok) for (const r of records) if (failedSet.has(r.messageId)) this.giveBack(r);
    const deleted: string[] = [];
    for (const r of records) {
      if (failedSet.has(r.messageId)) continue;
      try {
        engine.deleteMessage(queueName, r.receiptHandle);
        deleted.push(r.messageId);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
    const info: SqsBatchInfo = {
      functionName: invoker.name,
      queueName,
      messageIds: ids,
      outcome: failed.length === 0 ? 'success' : failed.length === ids.length && deleted.length === 0 ? 'failure' : 'partial',
      deletedMessageIds: deleted,
      failedMessageIds: failed,
      durationMs: result.durationMs,
    };
    if (reason !== undefined) {
      info.outcome = 'failure';
      info.reason = reason;
    }
    if (!result.ok) {
      info.error = result.error;
      if (result.timedOut) info.timedOut = true;
    }
    if (throttles > 0) info.throttles = throttles;
    if (heldBack.length) info.heldBackMessageIds = heldBack;
    this.report(info);
  }

  /** Holds the batch invisible for the function's real timeout when the scaled visibility timeout is shorter. */
  private holdVisibility(records: ReceivedMessage[]): boolean {
    const timeout = this.options.functionTimeoutSeconds;
    if (!timeout || records.length === 0) return false;
    const realVisibilityMs = Math.min(...records.map((r) => r.visibleAt)) - this.clock.now();
    if (realVisibilityMs >= timeout * 1000) return false;
    // Simulated seconds that last the function's timeout (plus a second for the answer) in real time.
    const seconds = Math.min(43_200, Math.ceil((timeout + 1) * this.clock.scale));
    for (const r of records) {
      try {
        this.options.engine.changeMessageVisibility(this.options.queueName, r.receiptHandle, seconds);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
    return true;
  }

  /** Gives a held message its own visibility timeout back: visible when it ends (at once if it already has). */
  private giveBack(r: ReceivedMessage): void {
    const remaining = Math.max(0, Math.ceil(((r.visibleAt - this.clock.now()) * this.clock.scale) / 1000));
    try {
      this.options.engine.changeMessageVisibility(this.options.queueName, r.receiptHandle, remaining);
    } catch {
      // deleted meanwhile (a duplicate's delete), or the receipt is stale: nothing to give back
    }
  }

  private report(info: SqsBatchInfo): void {
    try {
      this.options.onBatch?.(info);
    } catch (err) {
      this.options.onError?.(err);
    }
  }
}

/** The records of a FIFO batch that follow a failed record of their group and were not reported themselves. */
function laterInFailedGroups(records: ReceivedMessage[], failed: Set<string>): string[] {
  const failedGroups = new Set<string>();
  const later: string[] = [];
  for (const r of records) {
    const group = r.attributes.MessageGroupId ?? '';
    if (failed.has(r.messageId)) failedGroups.add(group);
    else if (failedGroups.has(group)) later.push(r.messageId);
  }
  return later;
}

/** Lambda's throttling error (HTTP 429): the invocation did not run. */
function isThrottle(result: InvokeResult): boolean {
  return !result.ok && (result.error.errorType === 'TooManyRequestsException' || result.error.errorType === 'Lambda.TooManyRequestsException');
}

/**
 * Reads a partial batch response as Lambda does. Complete success: null/undefined, an object without
 * batchItemFailures, `batchItemFailures: null` or `[]`. Complete failure (invalid): anything that is not an object,
 * batchItemFailures not a list, an entry without a non-empty string itemIdentifier, or an identifier not in the batch.
 */
export function parseBatchItemFailures(
  response: unknown,
  batchIds: Set<string>,
): { valid: true; failedIds: string[] } | { valid: false; reason: string } {
  if (response === undefined || response === null) return { valid: true, failedIds: [] };
  if (typeof response !== 'object' || Array.isArray(response)) return { valid: false, reason: 'the response is not a JSON object' };
  const list = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return { valid: true, failedIds: [] };
  if (!Array.isArray(list)) return { valid: false, reason: 'batchItemFailures is not a list' };
  const failedIds: string[] = [];
  for (const entry of list) {
    const id = entry && typeof entry === 'object' ? (entry as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') return { valid: false, reason: 'an entry has a missing, null or empty itemIdentifier' };
    if (!batchIds.has(id)) return { valid: false, reason: `itemIdentifier ${id} is not a message of this batch` };
    if (!failedIds.includes(id)) failedIds.push(id);
  }
  return { valid: true, failedIds };
}

export interface TimeScaleCheck {
  queueName: string;
  /** The queue's VisibilityTimeout in (simulated) seconds. */
  visibilityTimeoutSeconds: number;
  functionName: string;
  /** The function's Timeout in seconds: enforced in real time, whatever the time scale. */
  functionTimeoutSeconds: number;
  timeScale: number;
  /** The mapping's MaximumBatchingWindowInSeconds (default 0): the first message of a batch is in flight during it. */
  maximumBatchingWindowSeconds?: number;
}

/**
 * Whether an SQS event source still works at a time scale: the runtime divides the visibility timeout (and the
 * batching window) by the scale, but the function's timeout runs in real time, so a scaled visibility timeout
 * shorter than the function's timeout lets a message become visible, and be delivered again, while the function
 * is still working on it. Returns undefined when the combination is safe, else an error message naming the queue,
 * the function and the largest safe scale, (visibility timeout - batching window) / function timeout (at least 1:
 * at scale 1 the runtime waits as long as AWS does).
 *
 * AWS itself rejects a mapping whose function timeout exceeds the queue's visibility timeout (and advises at least
 * six times the function timeout): https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
export function checkTimeScale(c: TimeScaleCheck): string | undefined {
  const window = c.maximumBatchingWindowSeconds ?? 0;
  const vt = c.visibilityTimeoutSeconds;
  const ft = c.functionTimeoutSeconds;
  if (!(ft > 0) || !(vt >= 0) || !(c.timeScale > 0)) {
    return `queue ${c.queueName} / function ${c.functionName}: cannot check the time scale (visibility timeout ${vt} s, function timeout ${ft} s, time scale ${c.timeScale})`;
  }
  if (ft > vt) {
    return (
      `queue ${c.queueName}: its visibility timeout (${vt} s) is shorter than the timeout of function ${c.functionName} (${ft} s); ` +
      'AWS rejects this event source mapping (the function timeout must not exceed the visibility timeout) at any time scale'
    );
  }
  // At scale 1 or slower nothing runs faster than on AWS: only AWS's own rule applies.
  const largest = Math.max(1, (vt - window) / ft);
  if (c.timeScale <= largest * (1 + 1e-9)) return undefined;
  const shown = Math.floor(largest * 1000) / 1000;
  const realVisibility = Math.max(0, Math.round(((vt - window) / c.timeScale) * 1000) / 1000);
  return (
    `queue ${c.queueName}: at time scale ${c.timeScale} its visibility timeout of ${vt} s` +
    (window ? ` less the ${window} s batching window` : '') +
    ` lasts ${realVisibility} s of real time, shorter than the ${ft} s timeout of function ${c.functionName} ` +
    `(function timeouts run in real time): messages would be delivered again while the function still runs. ` +
    `The largest time scale for this queue and function is ${shown}.`
  );
}
