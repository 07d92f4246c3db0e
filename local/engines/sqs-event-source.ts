/**
 * Lambda's SQS event source mapping, emulated over QueueEngine (per the Lambda developer guide, "Using Lambda with
 * Amazon SQS"):
 * - a poller long-polls the queue (up to 10 messages per ReceiveMessage, the queue's visibility timeout) and
 *   gathers a batch until it holds `batchSize` records, the batching window ends, or the 6 MB payload limit is
 *   reached; it hands the batch to an invocation and gathers the next one while that runs (one gatherer, so a
 *   batching window collects every message that arrives during it into one batch);
 * - the function is invoked with `{ Records: [...] }` in the SQS event format;
 * - on success every record is deleted; with `reportBatchItemFailures`, every record except the `itemIdentifier`s
 *   of `batchItemFailures` is deleted; an invalid response (an identifier not in the batch, an empty or missing
 *   identifier, a malformed body) fails the whole batch;
 * - on a function error or timeout nothing is deleted: the messages come back after the visibility timeout with a
 *   higher receive count, so the queue's redrive policy moves poison messages to the DLQ;
 * - at most `maximumConcurrency` batches are in flight;
 * - stop() stops polling and waits for in-flight batches to finish.
 */
import { Clock, systemClock } from '../clock';
import { InvokeError, InvokeResult, Invoker } from './invoker';
import { QueueEngine, ReceivedMessage } from './queue-engine';

/** What happened to one batch (for logs, traces and tests). */
export interface SqsBatchInfo {
  functionName: string;
  queueName: string;
  messageIds: string[];
  /** success: all deleted; partial: all but the reported failures deleted; failure: nothing deleted. */
  outcome: 'success' | 'partial' | 'failure';
  deletedMessageIds: string[];
  failedMessageIds: string[];
  /** Why the batch failed as a whole (function error, timeout, invalid partial batch response). */
  reason?: string;
  error?: InvokeError;
  timedOut?: boolean;
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
  /** 2 to 1,000; the local default is 5 concurrent batches (AWS scales up to 1,250 unless limited). */
  maximumConcurrency?: number;
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
const ERROR_BACKOFF_MS = 1_000;
const DEFAULT_CONCURRENCY = 5;
const RECORD_ATTRIBUTES = ['ApproximateReceiveCount', 'SentTimestamp', 'SenderId', 'ApproximateFirstReceiveTimestamp', 'AWSTraceHeader'];

/** A counting semaphore whose waits can be abandoned. */
class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
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
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.used--;
  }
}

export class SqsEventSource {
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly maximumConcurrency: number;
  private readonly clock: Clock;
  private readonly region: string;
  private readonly slots: Slots;
  private readonly inFlight = new Set<Promise<void>>();
  private poller: Promise<void> | undefined;
  private abort: AbortController | undefined;

  constructor(private readonly options: SqsEventSourceOptions) {
    this.batchSize = options.batchSize ?? 10;
    this.maximumBatchingWindowSeconds = options.maximumBatchingWindowSeconds ?? 0;
    this.maximumConcurrency = options.maximumConcurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10_000) {
      throw new Error(`BatchSize must be an integer from 1 to 10000, got ${this.batchSize}`);
    }
    const w = this.maximumBatchingWindowSeconds;
    if (!Number.isInteger(w) || w < 0 || w > 300) {
      throw new Error(`MaximumBatchingWindowInSeconds must be an integer from 0 to 300, got ${w}`);
    }
    if (this.batchSize > 10 && w < 1) {
      throw new Error('Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10');
    }
    const c = this.maximumConcurrency;
    if (options.maximumConcurrency !== undefined && (!Number.isInteger(c) || c < 2 || c > 1000)) {
      throw new Error(`MaximumConcurrency must be an integer from 2 to 1000, got ${c}`);
    }
    this.clock = options.clock ?? options.engine.clock ?? systemClock();
    this.region = options.region ?? options.engine.region;
    this.slots = new Slots(this.maximumConcurrency);
  }

  get running(): boolean {
    return this.abort !== undefined;
  }

  /** Number of batches currently being processed. */
  get inFlightBatches(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    this.poller = this.poll(abort.signal);
  }

  /** Stops polling; resolves once every in-flight batch has finished (its messages deleted or left to return). */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    abort.abort(new Error('event source stopped'));
    await this.poller;
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
    this.poller = undefined;
    this.abort = undefined;
  }

  private async poll(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.slots.acquire(signal))) return;
      let records: ReceivedMessage[];
      try {
        records = await this.gather(signal);
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
      const batch = this.process(records).finally(() => {
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

  toEvent(records: ReceivedMessage[]): { Records: SqsEventRecord[] } {
    const eventSourceARN = this.options.engine.queueArn(this.options.queueName);
    return {
      Records: records.map((m) => {
        const attributes: Record<string, string> = {};
        for (const k of RECORD_ATTRIBUTES) if (m.attributes[k] !== undefined) attributes[k] = m.attributes[k];
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

  private async process(records: ReceivedMessage[]): Promise<void> {
    const { engine, queueName, invoker } = this.options;
    const ids = records.map((r) => r.messageId);
    let result: InvokeResult;
    try {
      result = await invoker.invoke(this.toEvent(records));
    } catch (err) {
      result = {
        ok: false,
        error: { errorType: 'InvokerError', errorMessage: err instanceof Error ? err.message : String(err) },
        durationMs: 0,
      };
    }
    let failed: string[];
    let reason: string | undefined;
    if (!result.ok) {
      failed = ids;
      reason = result.timedOut ? 'function timed out' : `function error: ${result.error.errorType}: ${result.error.errorMessage}`;
    } else if (!this.options.reportBatchItemFailures) {
      failed = [];
    } else {
      const parsed = parseBatchItemFailures(result.result, new Set(ids));
      if (parsed.valid) failed = parsed.failedIds;
      else {
        failed = ids;
        reason = `invalid partial batch response: ${parsed.reason}`;
      }
    }
    const failedSet = new Set(failed);
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
    try {
      this.options.onBatch?.(info);
    } catch (err) {
      this.options.onError?.(err);
    }
  }
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
