/**
 * Lambda's DynamoDB stream event source mapping, emulated over DynamoDB Local's own streams (Lambda developer
 * guide, "Using Lambda with DynamoDB", "Filtering", "Batch item failures"):
 * - a poller reads the table's stream shard by shard, parents before children, from TRIM_HORIZON or LATEST, four
 *   times a second (as Lambda polls a shard);
 * - filter criteria (EventBridge pattern syntax) are applied to each record: a record no filter matches is passed
 *   over without an invocation;
 * - up to `batchSize` matching records (no batching window: what a poll finds) go to one invocation, as
 *   `{ Records: [...] }` in the DynamoDB stream event format, in stream order; one batch at a time per mapping
 *   (parallelization factor 1);
 * - success moves the position past the batch; with `reportBatchItemFailures`, a reported sequence number moves it
 *   to just before that record (retried next), an empty list to past the batch, an invalid response fails the batch;
 * - a failed batch is retried (exponential back-off from 1 s up to 60 s, scaled); with `bisectBatchOnFunctionError`
 *   it is split in two first; once `maximumRetryAttempts` retries are spent or its oldest record is older than
 *   `maximumRecordAgeInSeconds` (-1 or unset: no limit), the batch's stream positions go to the on-failure
 *   destination (an SQS queue) and the poller goes on;
 * - the position survives restarts in the data directory, as a mapping's checkpoint does on AWS.
 */
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, Shard, _Record } from '@aws-sdk/client-dynamodb-streams';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Clock } from '../clock';
import { CompiledPattern, compilePattern, matchesPattern } from './event-pattern';
import { Invoker } from './invoker';

export interface StreamBatchInfo {
  functionName: string;
  tableName: string;
  sequenceNumbers: string[];
  outcome: 'success' | 'partial' | 'failure' | 'discarded';
  reason?: string;
  durationMs: number;
}

export interface DynamoDBStreamEventSourceOptions {
  /** DynamoDB Local's endpoint. */
  endpoint: string;
  region: string;
  tableName: string;
  streamArn: string;
  /** The ARN the records carry (the template's stream ARN: the function may check it). */
  eventSourceArn: string;
  invoker: Invoker;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  batchSize?: number;
  /** `FilterCriteria.Filters[].Pattern`, as JSON strings. */
  filterPatterns?: string[];
  reportBatchItemFailures?: boolean;
  bisectBatchOnFunctionError?: boolean;
  /** -1 or undefined: no limit. */
  maximumRetryAttempts?: number;
  /** -1 or undefined: no limit. */
  maximumRecordAgeInSeconds?: number;
  /** Where a discarded batch's positions go (SQS SendMessage body). */
  onFailure?: (message: string) => Promise<void>;
  /** Where the position is kept across restarts; none: in memory. */
  checkpointFile?: string;
  clock: Clock;
  onBatch?: (info: StreamBatchInfo) => void;
  onError?: (error: unknown) => void;
}

const POLL_MS = 250;
/** However fast the time scale, an idle poller waits this long in real time (each poll is HTTP to the JVM). */
const MIN_REAL_POLL_MS = 50;
/** How long the shard list is trusted before DescribeStream is asked again. */
const SHARDS_TTL_MS = 1_000;
/** A shard position meaning "from the shard's first record" (a LATEST mapping that started on an empty shard). */
const START = 'start';
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

interface Checkpoint {
  /** Per shard: the last sequence number done with, or 'closed' once a closed shard is read to its end. */
  shards: Record<string, string>;
}

export class DynamoDBStreamEventSource {
  private readonly client: DynamoDBStreamsClient;
  private readonly filters: CompiledPattern[];
  private readonly checkpoint: Checkpoint;
  private abort?: AbortController;
  private loop?: Promise<void>;

  constructor(private readonly options: DynamoDBStreamEventSourceOptions) {
    this.client = new DynamoDBStreamsClient({ endpoint: options.endpoint, region: options.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    // Compiled once, from their text (as EventBridge reads a pattern): a refused pattern fails here, not per record.
    this.filters = (options.filterPatterns ?? []).map((p) => compilePattern(p));
    this.checkpoint = options.checkpointFile && existsSync(options.checkpointFile) ? (JSON.parse(readFileSync(options.checkpointFile, 'utf8')) as Checkpoint) : { shards: {} };
  }

  start(): void {
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stops polling; an invocation in flight finishes (its batch is done with or retried after a restart). */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.client.destroy();
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const worked = await this.pollOnce(signal);
        if (!worked) await this.options.clock.sleep(Math.max(POLL_MS, MIN_REAL_POLL_MS * this.options.clock.scale), signal);
      } catch (error) {
        if (signal.aborted) return;
        this.options.onError?.(error);
        await this.options.clock.sleep(FIRST_RETRY_MS, signal).catch(() => undefined);
      }
    }
  }

  /** One pass over the shards in order; true when it invoked the function (there may be more to do at once). */
  async pollOnce(signal?: AbortSignal): Promise<boolean> {
    const shards = await this.shards();
    for (const shard of inOrder(shards)) {
      const id = shard.ShardId!;
      const done = this.checkpoint.shards[id];
      if (done === 'closed') continue;
      if (shard.ParentShardId && this.checkpoint.shards[shard.ParentShardId] !== 'closed' && shards.some((s) => s.ShardId === shard.ParentShardId)) {
        return false; // a child waits for its parent to be read to its end (order per key)
      }
      if (done === undefined && this.options.startingPosition === 'LATEST') {
        // LATEST: what the shard holds when the mapping starts is passed over.
        const existing = await this.read(id, START);
        this.advance(id, existing?.length ? existing[existing.length - 1]!.dynamodb!.SequenceNumber! : START);
        continue;
      }
      const records = await this.read(id, done);
      if (records === undefined) {
        if (shard.SequenceNumberRange?.EndingSequenceNumber) {
          this.advance(id, 'closed');
          this.shardList = undefined; // its child may be new
        }
        continue;
      }
      // In order: the matching records up to a batch; the position covers every record looked at.
      const batch: _Record[] = [];
      let lookedAt = done === START ? undefined : done;
      for (const record of records) {
        if (batch.length >= (this.options.batchSize ?? 100)) break;
        lookedAt = record.dynamodb!.SequenceNumber!;
        if (this.matches(record)) batch.push(record);
      }
      if (batch.length && !(await this.deliver(id, batch, signal))) return true;
      if (lookedAt) this.advance(id, lookedAt);
      if (batch.length) return true;
    }
    return false;
  }

  private shardList?: { at: number; shards: Shard[] };

  private async shards(): Promise<Shard[]> {
    if (!this.shardList || Date.now() - this.shardList.at > SHARDS_TTL_MS) {
      const { StreamDescription } = await this.client.send(new DescribeStreamCommand({ StreamArn: this.options.streamArn }));
      this.shardList = { at: Date.now(), shards: StreamDescription?.Shards ?? [] };
    }
    return this.shardList.shards;
  }

  /** An idle shard's next iterator, good while its position stays where it was read from. */
  private readonly idle = new Map<string, { position?: string; iterator: string }>();

  /** Records after the position, or from the shard's start (undefined: nothing new in this shard). */
  private async read(shardId: string, after?: string): Promise<_Record[] | undefined> {
    const cached = this.idle.get(shardId);
    this.idle.delete(shardId);
    if (cached && cached.position === after) {
      try {
        return await this.readFrom(shardId, after, cached.iterator);
      } catch {
        // An iterator DynamoDB no longer honours (expired, or taken on a then-empty shard): take a fresh one.
      }
    }
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: shardId,
        ...(after && after !== START ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return this.readFrom(shardId, after, ShardIterator);
  }

  private async readFrom(shardId: string, after: string | undefined, first: string | undefined): Promise<_Record[] | undefined> {
    const records: _Record[] = [];
    let iterator = first;
    for (let page = 0; iterator && page < 10 && records.length < 1000; page++) {
      const { Records = [], NextShardIterator } = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      records.push(...Records);
      if (!Records.length) {
        // Nothing new: the next poll goes on from here without asking for a new iterator.
        if (!records.length && NextShardIterator) this.idle.set(shardId, { position: after, iterator: NextShardIterator });
        break;
      }
      iterator = NextShardIterator;
    }
    return records.length ? records : undefined;
  }

  private matches(record: _Record): boolean {
    if (!this.filters.length) return true;
    const event = toLambdaRecord(record, this.options);
    return this.filters.some((pattern) => matchesPattern(pattern, event));
  }

  /**
   * Invokes until the batch is done with (delivered or discarded: true), or a partial failure or a stop leaves the
   * position before a record to retry (false).
   */
  private async deliver(shardId: string, batch: _Record[], signal?: AbortSignal): Promise<boolean> {
    const { maximumRetryAttempts = -1, maximumRecordAgeInSeconds = -1 } = this.options;
    const queue: _Record[][] = [batch];
    let retries = 0;
    while (queue.length) {
      const part = queue[0]!;
      const outcome = await this.invoke(part);
      if (outcome.ok) {
        if (outcome.retryFrom !== undefined) {
          // Partial: everything before the reported record is done; it is retried from there on the next poll.
          if (outcome.retryFrom > 0) this.advance(shardId, part[outcome.retryFrom - 1]!.dynamodb!.SequenceNumber!);
          return false;
        }
        queue.shift();
        this.advance(shardId, part[part.length - 1]!.dynamodb!.SequenceNumber!);
        continue;
      }
      const oldest = Number(part[0]!.dynamodb!.ApproximateCreationDateTime?.getTime?.() ?? Date.now());
      const tooOld = maximumRecordAgeInSeconds >= 0 && Date.now() - oldest > maximumRecordAgeInSeconds * 1000;
      if ((maximumRetryAttempts >= 0 && retries >= maximumRetryAttempts) || tooOld) {
        await this.discard(part, outcome.reason);
        queue.shift();
        this.advance(shardId, part[part.length - 1]!.dynamodb!.SequenceNumber!);
        retries = 0;
        continue;
      }
      retries++;
      if (this.options.bisectBatchOnFunctionError && part.length > 1) {
        const half = Math.ceil(part.length / 2);
        queue.splice(0, 1, part.slice(0, half), part.slice(half));
      }
      if (signal?.aborted) return false; // retried after a restart, from the checkpoint
      await this.options.clock.sleep(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (retries - 1)), signal).catch(() => undefined);
      if (signal?.aborted) return false;
    }
    return true;
  }

  private async invoke(records: _Record[]): Promise<{ ok: true; retryFrom?: number } | { ok: false; reason: string }> {
    const started = Date.now();
    const info = (outcome: StreamBatchInfo['outcome'], reason?: string) =>
      this.options.onBatch?.({ functionName: this.options.invoker.name, tableName: this.options.tableName, sequenceNumbers: records.map((r) => r.dynamodb!.SequenceNumber!), outcome, reason, durationMs: Date.now() - started });
    const result = await this.options.invoker.invoke({ Records: records.map((r) => toLambdaRecord(r, this.options)) });
    if (!result.ok) {
      const reason = result.timedOut ? 'the function timed out' : `${result.error.errorType}: ${result.error.errorMessage}`;
      info('failure', reason);
      return { ok: false, reason };
    }
    if (!this.options.reportBatchItemFailures) {
      info('success');
      return { ok: true };
    }
    const failures = (result.result as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
    if (failures === undefined || failures === null || (Array.isArray(failures) && failures.length === 0)) {
      info('success');
      return { ok: true };
    }
    const numbers = records.map((r) => r.dynamodb!.SequenceNumber!);
    const reported = Array.isArray(failures) ? failures.map((f) => (f as { itemIdentifier?: unknown })?.itemIdentifier) : undefined;
    if (!reported || reported.some((id) => typeof id !== 'string' || !numbers.includes(id))) {
      const reason = 'invalid partial batch response: every itemIdentifier must be a sequence number of the batch';
      info('failure', reason);
      return { ok: false, reason };
    }
    // Lambda retries from the lowest reported sequence number: everything before it is done.
    const first = numbers.findIndex((n) => reported.includes(n));
    info('partial', `retried from ${numbers[first]}`);
    return { ok: true, retryFrom: first };
  }

  private async discard(records: _Record[], reason: string): Promise<void> {
    const first = records[0]!.dynamodb!;
    const last = records[records.length - 1]!.dynamodb!;
    // Lambda's on-failure record for a stream source: where the records are, not the records.
    const message = JSON.stringify({
      requestContext: { condition: 'RetryAttemptsExhausted', functionArn: this.options.invoker.name, approximateInvokeCount: 1 },
      responseContext: { functionError: reason },
      DDBStreamBatchInfo: {
        shardId: undefined,
        startSequenceNumber: first.SequenceNumber,
        endSequenceNumber: last.SequenceNumber,
        approximateArrivalOfFirstRecord: first.ApproximateCreationDateTime?.toISOString?.(),
        approximateArrivalOfLastRecord: last.ApproximateCreationDateTime?.toISOString?.(),
        batchSize: records.length,
        streamArn: this.options.eventSourceArn,
      },
    });
    this.options.onBatch?.({ functionName: this.options.invoker.name, tableName: this.options.tableName, sequenceNumbers: records.map((r) => r.dynamodb!.SequenceNumber!), outcome: 'discarded', reason, durationMs: 0 });
    await this.options.onFailure?.(message);
  }

  private advance(shardId: string, to: string): void {
    this.checkpoint.shards[shardId] = to;
    const file = this.options.checkpointFile;
    if (!file) return;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(this.checkpoint));
    renameSync(`${file}.tmp`, file);
  }
}

/** Parents before children, then by where each shard starts. */
function inOrder(shards: Shard[]): Shard[] {
  return [...shards].sort((a, b) => {
    const start = (s: Shard) => BigInt(s.SequenceNumberRange?.StartingSequenceNumber ?? '0');
    return start(a) < start(b) ? -1 : start(a) > start(b) ? 1 : 0;
  });
}

/** A stream record as Lambda hands it to the function (`ApproximateCreationDateTime` in epoch seconds). */
export function toLambdaRecord(record: _Record, options: Pick<DynamoDBStreamEventSourceOptions, 'region' | 'eventSourceArn'>): Record<string, unknown> {
  const d = record.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime instanceof Date ? d.ApproximateCreationDateTime.getTime() / 1000 : d.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: options.region,
    dynamodb: {
      ApproximateCreationDateTime: created,
      Keys: d.Keys,
      ...(d.NewImage ? { NewImage: d.NewImage } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
    eventSourceARN: options.eventSourceArn,
  };
}
