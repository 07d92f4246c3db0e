/**
 * An in-process Amazon SQS engine (standard queues) for the local runtime.
 *
 * Semantics follow the SQS API reference and developer guide: visibility timeouts, delays, long polling, retention,
 * receive counts and dead-letter redrive on the receive that would exceed `maxReceiveCount`, the redrive allow
 * policy, DLQ redrive tasks (StartMessageMoveTask) and purge.
 *
 * FIFO queues (a `.fifo` name and `FifoQueue=true`), per the developer guide's "FIFO queue delivery logic" and
 * "Exactly-once processing" and the API reference: every send names a MessageGroupId; a MessageDeduplicationId (or,
 * with ContentBasedDeduplication, the SHA-256 of the body) seen within the 5-minute deduplication interval (per
 * queue, or per group with DeduplicationScope=messageGroup) is accepted and answered with the original MessageId,
 * not enqueued again; each message gets a SequenceNumber that increases per queue. A receive returns the oldest
 * available group's messages first, as many of one group as it can, in send order, and never a message of a group
 * that has a message in flight (received, not deleted, visibility timeout running); a ReceiveRequestAttemptId
 * repeated within 5 minutes returns the same messages and receipt handles while none of them was changed. The
 * deduplication entries are journaled with the message they belong to (and kept as their own records by
 * compaction), so they survive a restart with FileQueueStore; in-flight groups follow from the messages' state.
 * Injected faults (`sqs.*`) are not applied to FIFO queues, whose ordering and exactly-once guarantees they would break.
 *
 * Time: every wait (visibility timeout, delay, long poll, retention, purge cool-down, move-task rate) is a
 * simulated duration turned into real time by the Clock (`clock.scaled`, `clock.after`, `clock.sleep`), so a time
 * scale speeds the whole queue up. Deadlines are kept as real epoch milliseconds (`clock.now()` + scaled duration)
 * and message timestamps are real `clock.now()` values.
 *
 * Regions: a queue is keyed by its name in the engine's own region and by `<region>/<name>` in any other, so one name
 * in two regions is two queues (ARNs and URLs carry the region; queueKey, queueNameFromUrl). The key is what every
 * method takes as `name`, what the journal records and what receipt handles carry.
 *
 * Persistence: every state change goes through a QueueStore (`append`), and the engine starts from `load()`.
 * MemoryQueueStore keeps it in memory (a new engine on the same store instance sees the same queues);
 * FileQueueStore keeps an append-only JSON-lines journal in a directory, compacted on load, and ignores a torn
 * last line (a process killed with SIGKILL mid-write). A message that changes queue (dead-letter redrive, a
 * message move task) is one journal record (`moveMessage`: out of one queue, into the other), so a crash mid-move
 * leaves it in exactly one of the two queues, never both and never neither; replaying the record is idempotent.
 *
 * Faults (`options.faults`, see local/faults/faults.ts; default none): on each receive the engine asks
 * `sqs.shortReceive` (fewer messages than available: none at all on a short poll, at least one on a long poll, which
 * on AWS queries every server) and `sqs.outOfOrder` (not the oldest messages, not in send order); for each message
 * delivered and each message deleted it asks `sqs.duplicate`: a copy of the message (same MessageId, body,
 * attributes and SentTimestamp; a new receipt handle when received) becomes visible after a random delay of up to
 * the visibility timeout, even if the original was deleted (at-least-once delivery). The copy is a message of its
 * own in the journal (it survives a restart with FileQueueStore); its ApproximateReceiveCount continues from the
 * original's count when the copy was made, so it arrives as a redelivery would (count + 1) and counts towards
 * `maxReceiveCount` like any message.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Clock, systemClock } from '../clock';
import { Faults, NO_FAULTS } from '../faults/faults';
import { replaceFileDurably } from './durable-file';

export const LOCAL_ACCOUNT_ID = '000000000000';

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/** An SQS API error: `code` is the error name the AWS SDK surfaces as `error.name` (see sqs-api.ts for the wire form). */
export class SqsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

const invalidParam = (message: string) => new SqsError('InvalidParameterValue', message);

// ---------------------------------------------------------------------------------------------------------------
// Public data shapes
// ---------------------------------------------------------------------------------------------------------------

/** A message attribute as SQS carries it (BinaryValue is base64, as on the JSON wire). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export interface PersistedQueue {
  name: string;
  /** Settable attributes as strings (defaults filled in). */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  /** Epoch seconds. */
  createdTimestamp: number;
  lastModifiedTimestamp: number;
  /** Real epoch ms of the last PurgeQueue (60 s cool-down). */
  lastPurgeAt?: number;
}

export interface PersistedMessage {
  queue: string;
  /** The key of the message in its queue: its MessageId, except for a duplicate copy (`<MessageId>#dup-<n>`). */
  id: string;
  /** Set on a duplicate copy (an injected `sqs.duplicate`): the MessageId it is delivered with. */
  messageId?: string;
  seq: number;
  /** Body as sent (a body with characters outside SQS's set is refused: InvalidMessageContents). */
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, MessageAttributeValue>;
  md5OfMessageAttributes?: string;
  systemAttributes?: Record<string, MessageAttributeValue>;
  md5OfMessageSystemAttributes?: string;
  messageGroupId?: string;
  senderId: string;
  /** Real epoch ms when first enqueued (kept across dead-lettering; retention counts from it). */
  sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  /** Real epoch ms of the current receive (the 12-hour visibility ceiling counts from it). */
  receivedAt?: number;
  /** Real epoch ms from which the message is visible (delay or visibility timeout). */
  visibleAt: number;
  /** The receipt handle of the most recent receive (only it can delete or change visibility). */
  receiptHandle?: string;
  /** Set on a message moved to a DLQ by redrive: the ARN of the queue it came from. */
  deadLetterSourceArn?: string;
  /** FIFO: the MessageDeduplicationId given or derived from the body (ContentBasedDeduplication). */
  deduplicationId?: string;
  /** FIFO: the SequenceNumber SQS assigned (a string of digits, increasing per queue). */
  sequenceNumber?: string;
}

/** A FIFO send remembered for the 5-minute deduplication interval (after the message itself may be gone). */
export interface PersistedDeduplication {
  queue: string;
  deduplicationId: string;
  messageGroupId: string;
  messageId: string;
  sequenceNumber: string;
  /** Real epoch ms of the send, and at which the interval ends. */
  sentAt: number;
  expiresAt: number;
}

export interface QueueState {
  queues: PersistedQueue[];
  messages: PersistedMessage[];
  /** FIFO deduplication entries, oldest first (absent in a journal written before FIFO support). */
  deduplications?: PersistedDeduplication[];
}

export type QueueChange =
  | { op: 'putQueue'; queue: PersistedQueue }
  | { op: 'deleteQueue'; name: string }
  /** A FIFO send carries its deduplication entry in the same record: a crash keeps both or neither. */
  | { op: 'putMessage'; message: PersistedMessage; deduplication?: PersistedDeduplication }
  | { op: 'deduplication'; entry: PersistedDeduplication }
  | {
      op: 'updateMessage';
      queue: string;
      id: string;
      receiveCount: number;
      visibleAt: number;
      firstReceiveTimestamp?: number;
      receivedAt?: number;
      receiptHandle?: string;
    }
  | { op: 'deleteMessage'; queue: string; id: string }
  /** One record for a message that leaves one queue (or key) for another: redrive, move task, duplicate of a deleted message. */
  | { op: 'moveMessage'; from: { queue: string; id: string }; message: PersistedMessage }
  | { op: 'purge'; queue: string; at: number };

/** The persistence seam: the engine loads its state once and appends every change. */
export interface QueueStore {
  load(): QueueState;
  append(change: QueueChange): void;
  close?(): void;
}

export interface SendMessageInput {
  body: string;
  delaySeconds?: number;
  messageAttributes?: Record<string, MessageAttributeValue>;
  messageSystemAttributes?: Record<string, MessageAttributeValue>;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  senderId?: string;
  /** The request's X-Amzn-Trace-Id header: the AWSTraceHeader system attribute unless `messageSystemAttributes` sets one. */
  traceHeader?: string;
}

export interface SendMessageResult {
  messageId: string;
  /** FIFO queues only. */
  sequenceNumber?: string;
  md5OfMessageBody: string;
  md5OfMessageAttributes?: string;
  md5OfMessageSystemAttributes?: string;
}

export interface ReceiveMessageInput {
  maxNumberOfMessages?: number;
  /** Seconds, 0 to 43200; defaults to the queue's VisibilityTimeout. */
  visibilityTimeout?: number;
  /** Seconds, 0 to 20; defaults to the queue's ReceiveMessageWaitTimeSeconds. */
  waitTimeSeconds?: number;
  /** Internal callers (the Lambda event source) may wait a simulated number of milliseconds instead. */
  waitMs?: number;
  /** Aborting ends a long poll early with whatever is available (usually nothing). */
  signal?: AbortSignal;
  /** FIFO queues only: a retry with the same id within 5 minutes returns the same messages. */
  receiveRequestAttemptId?: string;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, MessageAttributeValue>;
  md5OfMessageAttributes?: string;
  /** System attributes: SenderId, SentTimestamp, ApproximateReceiveCount, ApproximateFirstReceiveTimestamp, and when present AWSTraceHeader, DeadLetterQueueSourceArn, MessageGroupId. */
  attributes: Record<string, string>;
  /** Not on the wire: real epoch ms at which this receive's visibility timeout ends (the message is visible again unless deleted). */
  visibleAt: number;
}

export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

export interface MoveTaskInfo {
  taskHandle?: string;
  status: MoveTaskStatus;
  sourceArn: string;
  destinationArn?: string;
  maxNumberOfMessagesPerSecond?: number;
  approximateNumberOfMessagesMoved: number;
  approximateNumberOfMessagesToMove: number;
  failureReason?: string;
  startedTimestamp: number;
}

export interface QueueEngineOptions {
  clock?: Clock;
  store?: QueueStore;
  region?: string;
  accountId?: string;
  /** Base URL for queue URLs (`http://127.0.0.1:<port>`); the HTTP layer may pass its own instead. */
  endpoint?: string;
  /** Fault injection (`sqs.shortReceive`, `sqs.outOfOrder`, `sqs.duplicate`, targeted by queue name); default none. */
  faults?: Faults;
}

/** Observability: `engine.events.on('dead-lettered', e => ...)`. */
export type QueueEngineEvent =
  | { type: 'queue-created'; queue: string }
  | { type: 'queue-deleted'; queue: string }
  | { type: 'sent'; queue: string; messageId: string; delaySeconds: number }
  | { type: 'received'; queue: string; messageId: string; receiveCount: number }
  | { type: 'deleted'; queue: string; messageId: string }
  | { type: 'dead-lettered'; queue: string; deadLetterQueue: string; messageId: string; receiveCount: number }
  | { type: 'expired'; queue: string; messageId: string }
  | { type: 'purged'; queue: string; count: number }
  | { type: 'moved'; queue: string; destination: string; messageId: string; newMessageId: string };

// ---------------------------------------------------------------------------------------------------------------
// MD5s (documented encodings)
// ---------------------------------------------------------------------------------------------------------------

export function md5Hex(data: string | Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * MD5OfMessageAttributes as the SQS developer guide documents it: attributes sorted by name; for each, the
 * 4-byte big-endian length and UTF-8 bytes of the name, then of the data type, then one transport byte
 * (1 = String/Number, 2 = Binary), then the 4-byte length and bytes of the value.
 */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const lengthPrefixed = (bytes: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    parts.push(len, bytes);
  };
  for (const name of names) {
    const a = attributes[name];
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(a.DataType, 'utf8'));
    if (a.BinaryValue !== undefined && a.StringValue === undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(Buffer.from(a.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(a.StringValue ?? '', 'utf8'));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

// ---------------------------------------------------------------------------------------------------------------
// Stores
// ---------------------------------------------------------------------------------------------------------------

interface MutableState {
  queues: Map<string, PersistedQueue>;
  messages: Map<string, Map<string, PersistedMessage>>;
  deduplications: Map<string, DeduplicationIndex>;
}

function emptyState(): MutableState {
  return { queues: new Map(), messages: new Map(), deduplications: new Map() };
}

/**
 * A FIFO queue's deduplication entries: found by MessageDeduplicationId (and group, with DeduplicationScope
 * messageGroup), forgotten once their interval has ended (oldest first: entries arrive in time order).
 */
class DeduplicationIndex {
  private readonly byId = new Map<string, PersistedDeduplication[]>();
  private readonly inOrder: PersistedDeduplication[] = [];
  private head = 0;

  add(entry: PersistedDeduplication): void {
    this.inOrder.push(entry);
    const list = this.byId.get(entry.deduplicationId);
    if (list) list.push(entry);
    else this.byId.set(entry.deduplicationId, [entry]);
  }

  /** The unexpired entry a send with this id (and group) duplicates, if any. */
  find(deduplicationId: string, messageGroupId: string, perGroup: boolean, now: number): PersistedDeduplication | undefined {
    this.prune(now);
    return this.byId.get(deduplicationId)?.find((e) => e.expiresAt > now && (!perGroup || e.messageGroupId === messageGroupId));
  }

  /** Forgets the entries whose interval ended before `now` (real epoch ms). */
  prune(now: number): void {
    while (this.head < this.inOrder.length && this.inOrder[this.head].expiresAt <= now) {
      const e = this.inOrder[this.head++];
      const list = this.byId.get(e.deduplicationId);
      const rest = list?.filter((x) => x !== e) ?? [];
      if (rest.length) this.byId.set(e.deduplicationId, rest);
      else this.byId.delete(e.deduplicationId);
    }
    if (this.head > 1024 && this.head * 2 > this.inOrder.length) {
      this.inOrder.splice(0, this.head);
      this.head = 0;
    }
  }

  entries(): PersistedDeduplication[] {
    return this.inOrder.slice(this.head);
  }
}

function addDeduplication(state: MutableState, entry: PersistedDeduplication): void {
  if (!state.queues.has(entry.queue)) return;
  let index = state.deduplications.get(entry.queue);
  if (!index) state.deduplications.set(entry.queue, (index = new DeduplicationIndex()));
  // Replaying needs no clock: an entry whose interval ended before this send is no longer needed.
  index.prune(entry.sentAt);
  index.add(entry);
}

function applyChange(state: MutableState, change: QueueChange): void {
  switch (change.op) {
    case 'putQueue':
      state.queues.set(change.queue.name, change.queue);
      if (!state.messages.has(change.queue.name)) state.messages.set(change.queue.name, new Map());
      return;
    case 'deleteQueue':
      state.queues.delete(change.name);
      state.messages.delete(change.name);
      state.deduplications.delete(change.name);
      return;
    case 'putMessage': {
      const msgs = state.messages.get(change.message.queue);
      if (msgs) msgs.set(change.message.id, change.message);
      if (change.deduplication) addDeduplication(state, change.deduplication);
      return;
    }
    case 'deduplication':
      addDeduplication(state, change.entry);
      return;
    case 'updateMessage': {
      const m = state.messages.get(change.queue)?.get(change.id);
      if (!m) return;
      m.receiveCount = change.receiveCount;
      m.visibleAt = change.visibleAt;
      m.firstReceiveTimestamp = change.firstReceiveTimestamp;
      m.receivedAt = change.receivedAt;
      m.receiptHandle = change.receiptHandle;
      return;
    }
    case 'deleteMessage':
      state.messages.get(change.queue)?.delete(change.id);
      return;
    case 'moveMessage': {
      // Idempotent: replaying it again (or after the destination already holds the message) changes nothing.
      state.messages.get(change.from.queue)?.delete(change.from.id);
      const msgs = state.messages.get(change.message.queue);
      if (msgs) msgs.set(change.message.id, change.message);
      return;
    }
    case 'purge': {
      state.messages.get(change.queue)?.clear();
      const q = state.queues.get(change.queue);
      if (q) q.lastPurgeAt = change.at;
      return;
    }
  }
}

function stateToPlain(state: MutableState): QueueState {
  const messages: PersistedMessage[] = [];
  for (const msgs of state.messages.values()) messages.push(...msgs.values());
  messages.sort((a, b) => a.seq - b.seq);
  const deduplications: PersistedDeduplication[] = [];
  for (const index of state.deduplications.values()) deduplications.push(...index.entries());
  return { queues: [...state.queues.values()], messages, deduplications };
}

/** Calls fn for each line of a file, reading it in chunks (a journal can outgrow the largest string). */
function forEachLine(file: string, fn: (line: string) => void): void {
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let pending: Buffer[] = [];
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      let start = 0;
      for (let i = chunk.indexOf(10, 0); i >= 0 && i < n; i = chunk.indexOf(10, i + 1)) {
        pending.push(chunk.subarray(start, i));
        fn(Buffer.concat(pending).toString('utf8'));
        pending = [];
        start = i + 1;
      }
      if (start < n) pending.push(Buffer.from(chunk.subarray(start, n)));
    }
    if (pending.length) fn(Buffer.concat(pending).toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

/** Keeps the state in memory: a new QueueEngine on the same store instance picks it up (a "restart" in tests). */
export class MemoryQueueStore implements QueueStore {
  private state = emptyState();
  load(): QueueState {
    return structuredClone(stateToPlain(this.state));
  }
  append(change: QueueChange): void {
    applyChange(this.state, structuredClone(change));
  }
}

export interface FileQueueStoreOptions {
  /** fsync after every append (slow, survives power loss); default false: survives a killed process, not a power cut. */
  fsyncEveryWrite?: boolean;
}

/**
 * An append-only JSON-lines journal (`<dir>/sqs-journal.jsonl`). Each change is one line written with a single
 * write(2) (no fsync per line by default: a SIGKILL cannot lose it, a power cut can). On load the journal is
 * replayed, a torn or unparsable line is skipped, and the journal is compacted to one line per queue and message
 * (written to a temporary file, fsynced, renamed over the journal).
 */
export class FileQueueStore implements QueueStore {
  readonly file: string;
  /** Lines skipped on the last load (a torn last line after a crash). */
  skippedLines = 0;
  private fd: number | undefined;

  constructor(
    readonly dir: string,
    private readonly options: FileQueueStoreOptions = {},
  ) {
    this.file = path.join(dir, 'sqs-journal.jsonl');
  }

  load(): QueueState {
    fs.mkdirSync(this.dir, { recursive: true });
    const state = emptyState();
    this.skippedLines = 0;
    if (fs.existsSync(this.file)) {
      forEachLine(this.file, (line) => {
        if (line.trim() === '') return;
        let change: QueueChange;
        try {
          change = JSON.parse(line) as QueueChange;
        } catch {
          this.skippedLines++; // a torn line (the process died mid-write)
          return;
        }
        if (!change || typeof change !== 'object' || typeof (change as { op?: unknown }).op !== 'string') {
          this.skippedLines++;
          return;
        }
        applyChange(state, change);
      });
    }
    const plain = stateToPlain(state);
    this.compact(plain);
    return plain;
  }

  append(change: QueueChange): void {
    if (this.fd === undefined) this.fd = fs.openSync(this.file, 'a');
    fs.writeSync(this.fd, JSON.stringify(change) + '\n');
    if (this.options.fsyncEveryWrite) fs.fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.fdatasyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private compact(state: QueueState): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    replaceFileDurably(this.file, [
      ...state.queues.map((queue) => JSON.stringify({ op: 'putQueue', queue } satisfies QueueChange)),
      ...state.messages.map((message) => JSON.stringify({ op: 'putMessage', message } satisfies QueueChange)),
      ...(state.deduplications ?? []).map((entry) => JSON.stringify({ op: 'deduplication', entry } satisfies QueueChange)),
    ]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Attribute rules
// ---------------------------------------------------------------------------------------------------------------

const DEFAULT_ATTRIBUTES: Record<string, string> = {
  VisibilityTimeout: '30',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  MaximumMessageSize: '1048576',
  SqsManagedSseEnabled: 'true',
};

const INTEGER_RANGES: Record<string, [number, number]> = {
  VisibilityTimeout: [0, 43200],
  MessageRetentionPeriod: [60, 1209600],
  DelaySeconds: [0, 900],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  MaximumMessageSize: [1024, 1048576],
  KmsDataKeyReusePeriodSeconds: [60, 86400],
};

const SETTABLE_ATTRIBUTES = new Set([
  ...Object.keys(INTEGER_RANGES),
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'SqsManagedSseEnabled',
]);

const PERMISSION_LABEL = /^[A-Za-z0-9_-]{1,80}$/;
/** The actions AddPermission grants: SQS's API actions, or `*`. */
const PERMISSION_ACTIONS = new Set([
  '*',
  'AddPermission', 'CancelMessageMoveTask', 'ChangeMessageVisibility', 'ChangeMessageVisibilityBatch', 'CreateQueue', 'DeleteMessage',
  'DeleteMessageBatch', 'DeleteQueue', 'GetQueueAttributes', 'GetQueueUrl', 'ListDeadLetterSourceQueues', 'ListMessageMoveTasks',
  'ListQueueTags', 'ListQueues', 'PurgeQueue', 'ReceiveMessage', 'RemovePermission', 'SendMessage', 'SendMessageBatch',
  'SetQueueAttributes', 'StartMessageMoveTask', 'TagQueue', 'UntagQueue',
]);

const FIFO_ATTRIBUTES = new Set(['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']);

/** A FIFO queue's attributes when CreateQueue does not set them (API reference, CreateQueue). */
const FIFO_DEFAULT_ATTRIBUTES: Record<string, string> = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  DeduplicationScope: 'queue',
  FifoThroughputLimit: 'perQueue',
};

const FIFO_ATTRIBUTE_VALUES: Record<string, string[]> = {
  FifoQueue: ['true'],
  ContentBasedDeduplication: ['true', 'false'],
  DeduplicationScope: ['messageGroup', 'queue'],
  FifoThroughputLimit: ['perQueue', 'perMessageGroupId'],
};

/** The deduplication interval and the ReceiveRequestAttemptId interval: 5 minutes (simulated). */
const FIFO_INTERVAL_MS = 5 * 60_000;
/** MessageGroupId, MessageDeduplicationId, ReceiveRequestAttemptId: up to 128 alphanumeric and punctuation characters. */
const FIFO_TOKEN = /^[\x21-\x7e]{1,128}$/;

export const READABLE_QUEUE_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesDelayed',
  'ApproximateNumberOfMessagesNotVisible',
  'CreatedTimestamp',
  'DelaySeconds',
  'LastModifiedTimestamp',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'Policy',
  'QueueArn',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'VisibilityTimeout',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
] as const;

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
/** A QueueUrl that is a queue's bare name (no scheme, no path), which SQS accepts in its place. */
const QUEUE_NAME_IN_URL = /^[A-Za-z0-9_.-]{1,80}$/;
/**
 * A message attribute name: letters (any script: AWS accepts `attr.1øßä`), digits, `_`, `-` and `.`, up to 256
 * characters; not starting with `AWS.`/`Amazon.` (any case) nor with or ending in `.`, and no `..` (checked below).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html (MessageAttributes)
 */
const ATTRIBUTE_NAME = /^[\p{L}\p{N}_.-]{1,256}$/u;
const NUMBER_VALUE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/**
 * Characters SQS accepts in a body and in a String/Number attribute value (XML 1.0 Char): #x9 | #xA | #xD | #x20 to
 * #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF. A body with any other is refused (InvalidMessageContents), as
 * real SQS has been recorded answering; a newer page of the API reference speaks of replacing them with U+FFFD.
 */
const INVALID_CHARS = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const VALID_CHARS_TEXT = '#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF';

interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

interface RedriveAllowPolicy {
  redrivePermission: 'allowAll' | 'denyAll' | 'byQueue';
  sourceQueueArns?: string[];
}

/** A policy attribute's JSON object; anything else is SQS's "not a valid JSON map" error. */
function parseJsonMap(value: string, bad: (reason: string) => SqsError, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw bad(`${what} is not a valid JSON map.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad(`${what} is not a valid JSON map.`);
  return parsed as Record<string, unknown>;
}

function parseRedrivePolicy(value: string): RedrivePolicy {
  const bad = (reason: string) => invalidParam(`Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`);
  const p = parseJsonMap(value, bad, 'Redrive policy');
  for (const key of Object.keys(p)) {
    if (key !== 'deadLetterTargetArn' && key !== 'maxReceiveCount') throw bad(`Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].`);
  }
  if (typeof p.deadLetterTargetArn !== 'string') throw bad('Redrive policy is missing the deadLetterTargetArn.');
  const count = typeof p.maxReceiveCount === 'string' ? Number(p.maxReceiveCount) : p.maxReceiveCount;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000) {
    throw bad('Invalid value for maxReceiveCount: must be an integer from 1 to 1000.');
  }
  return { deadLetterTargetArn: p.deadLetterTargetArn, maxReceiveCount: count };
}

function parseRedriveAllowPolicy(value: string): RedriveAllowPolicy {
  const bad = (reason: string) => invalidParam(`Value ${value} for parameter RedriveAllowPolicy is invalid. Reason: ${reason}`);
  const p = parseJsonMap(value, bad, 'Redrive allow policy');
  const permission = p.redrivePermission;
  if (permission !== 'allowAll' && permission !== 'denyAll' && permission !== 'byQueue') {
    throw bad('Invalid value for redrivePermission: must be allowAll, denyAll or byQueue.');
  }
  if (permission === 'byQueue') {
    const arns = p.sourceQueueArns;
    if (!Array.isArray(arns) || arns.length < 1 || arns.length > 10 || arns.some((a) => typeof a !== 'string')) {
      throw bad('sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.');
    }
    return { redrivePermission: permission, sourceQueueArns: arns as string[] };
  }
  if (p.sourceQueueArns !== undefined) throw bad('sourceQueueArns can be specified only when redrivePermission is byQueue.');
  return { redrivePermission: permission };
}

/** High throughput mode: FifoThroughputLimit=perMessageGroupId is allowed only with DeduplicationScope=messageGroup. */
function checkHighThroughput(attributes: Record<string, string>): void {
  if (attributes.FifoThroughputLimit === 'perMessageGroupId' && attributes.DeduplicationScope !== 'messageGroup') {
    throw new SqsError('InvalidAttributeValue', 'Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId is allowed only when DeduplicationScope is messageGroup.');
  }
}

function maxBigInt(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function validateMessageAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
  kind: 'message' | 'system',
): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  if (!attributes) return out;
  const names = Object.keys(attributes);
  if (kind === 'message' && names.length > 10) {
    throw invalidParam(`Number of message attributes [${names.length}] exceeds the allowed maximum [10].`);
  }
  for (const name of names) {
    const a = attributes[name];
    if (kind === 'system' && name !== 'AWSTraceHeader') {
      throw invalidParam(`Message system attribute name '${name}' is invalid. Valid names: [AWSTraceHeader].`);
    }
    if (kind === 'message') {
      if (
        !ATTRIBUTE_NAME.test(name) ||
        name.startsWith('.') ||
        name.endsWith('.') ||
        name.includes('..') ||
        /^(aws\.|amazon\.)/i.test(name)
      ) {
        throw invalidParam(`Message attribute name '${name}' is invalid.`);
      }
    }
    if (!a || typeof a !== 'object' || typeof a.DataType !== 'string' || a.DataType === '') {
      throw invalidParam(`The message attribute '${name}' must contain non-empty message attribute type.`);
    }
    const baseType = a.DataType.split('.')[0];
    if (!['String', 'Number', 'Binary'].includes(baseType) || utf8Length(a.DataType) > 256) {
      throw invalidParam(`The type of message attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
    }
    if (kind === 'system' && baseType !== 'String') {
      throw invalidParam(`The message system attribute '${name}' must be of type String.`);
    }
    if (baseType === 'Binary') {
      if (typeof a.BinaryValue !== 'string' || a.BinaryValue === '' || a.StringValue !== undefined) {
        throw invalidParam(`The message attribute '${name}' with type 'Binary' must use field 'Binary'.`);
      }
      out[name] = { DataType: a.DataType, BinaryValue: a.BinaryValue };
    } else {
      if (typeof a.StringValue !== 'string' || a.StringValue === '' || a.BinaryValue !== undefined) {
        throw invalidParam(`The message attribute '${name}' with type '${baseType}' must use field 'String'.`);
      }
      const bad = INVALID_CHARS.exec(a.StringValue);
      if (bad) {
        const code = bad[0].codePointAt(0)!.toString(16).toUpperCase();
        throw invalidParam(`Message (user) attribute '${name}' value contains invalid binary character '#x${code}'. You must use only the following supported characters: ${VALID_CHARS_TEXT}.`);
      }
      if (baseType === 'Number' && !NUMBER_VALUE.test(a.StringValue.trim())) {
        throw invalidParam(`Can't cast the value of message (user) attribute '${name}' to a number.`);
      }
      out[name] = { DataType: a.DataType, StringValue: a.StringValue };
    }
  }
  return out;
}

function attributesSize(attributes: Record<string, MessageAttributeValue>): number {
  let size = 0;
  for (const [name, a] of Object.entries(attributes)) {
    if (!a || typeof a !== 'object') continue;
    size += utf8Length(name) + (typeof a.DataType === 'string' ? utf8Length(a.DataType) : 0);
    if (typeof a.BinaryValue === 'string') size += Buffer.from(a.BinaryValue, 'base64').length;
    else if (typeof a.StringValue === 'string') size += utf8Length(a.StringValue);
  }
  return size;
}

/** The largest message (body + message attributes) and the largest SendMessageBatch (all entries): 1 MiB. */
export const MAX_MESSAGE_BYTES = 1_048_576;

/**
 * The size SQS counts for a message: the body's UTF-8 bytes plus every part of every message attribute (name,
 * data type, value). Message system attributes (AWSTraceHeader) do not count.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html
 */
export function messageSize(body: string, attributes?: Record<string, MessageAttributeValue>): number {
  return utf8Length(body) + (attributes && typeof attributes === 'object' ? attributesSize(attributes) : 0);
}

// ---------------------------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------------------------

interface Waiter {
  check(): void;
  close(): void;
}

interface QueueRuntime {
  rec: PersistedQueue;
  messages: Map<string, PersistedMessage>;
  waiters: Set<Waiter>;
  /** Set on a FIFO queue. */
  fifo?: FifoRuntime;
}

interface FifoRuntime {
  deduplications: DeduplicationIndex;
  /** The last SequenceNumber given in this queue. */
  lastSequenceNumber: bigint;
  /** ReceiveRequestAttemptId -> what that receive returned (kept in memory only). */
  attempts: Map<string, { expiresAt: number; messages: { id: string; receiptHandle: string; visibleAt: number }[] }>;
}

interface MoveTask extends MoveTaskInfo {
  taskId: string;
  sourceName: string;
  pending: Set<string>;
  cancelled: boolean;
}

const RECEIPT_PREFIX = 'LQ1';

/** The MessageId a stored message is delivered with (a duplicate copy keeps its original's). */
function publicId(m: PersistedMessage): string {
  return m.messageId ?? m.id;
}

export class QueueEngine {
  readonly clock: Clock;
  readonly region: string;
  readonly accountId: string;
  endpoint: string;
  readonly events = new EventEmitter();

  private readonly store: QueueStore;
  private readonly faults: Faults;
  private readonly queues = new Map<string, QueueRuntime>();
  private readonly tasks: MoveTask[] = [];
  /** Real epoch ms at which each queue was deleted (CreateQueue of the name within 60 s: QueueDeletedRecently); in memory. */
  private readonly deletedAt = new Map<string, number>();
  private readonly timers = new Set<() => void>();
  private readonly closing = new AbortController();
  private seq = 0;
  private closed = false;

  constructor(options: QueueEngineOptions = {}) {
    this.clock = options.clock ?? systemClock();
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? LOCAL_ACCOUNT_ID;
    this.endpoint = (options.endpoint ?? 'http://127.0.0.1:4566').replace(/\/+$/, '');
    this.store = options.store ?? new MemoryQueueStore();
    this.faults = options.faults ?? NO_FAULTS;
    const state = this.store.load();
    for (const rec of state.queues) this.queues.set(rec.name, this.runtimeFor(rec));
    for (const m of [...state.messages].sort((a, b) => a.seq - b.seq)) {
      const q = this.queues.get(m.queue);
      if (!q) continue;
      q.messages.set(m.id, m);
      this.seq = Math.max(this.seq, m.seq);
      if (q.fifo && m.sequenceNumber) q.fifo.lastSequenceNumber = maxBigInt(q.fifo.lastSequenceNumber, BigInt(m.sequenceNumber));
    }
    for (const e of state.deduplications ?? []) {
      const fifo = this.queues.get(e.queue)?.fifo;
      if (!fifo) continue;
      fifo.deduplications.add(e);
      fifo.lastSequenceNumber = maxBigInt(fifo.lastSequenceNumber, BigInt(e.sequenceNumber));
    }
    this.events.setMaxListeners(0);
  }

  // ----- identity -----

  /** The key of queue `name` in `region`: the name itself in the engine's own region, `<region>/<name>` in another. */
  queueKey(name: string, region = this.region): string {
    return region === this.region ? name : `${region}/${name}`;
  }

  /** A key's region and queue name. */
  queueLocation(key: string): { region: string; name: string } {
    const slash = key.indexOf('/');
    return slash < 0 ? { region: this.region, name: key } : { region: key.slice(0, slash), name: key.slice(slash + 1) };
  }

  queueArn(name: string): string {
    const { region, name: queue } = this.queueLocation(name);
    return `arn:aws:sqs:${region}:${this.accountId}:${queue}`;
  }

  /**
   * A queue's URL on the local endpoint. In the engine's own region `<endpoint>/<accountId>/<name>` (the region is the
   * request's: the SDK client's); in another, `<endpoint>/queue/<region>/<accountId>/<name>`, which carries it.
   */
  queueUrl(name: string, endpoint = this.endpoint): string {
    const { region, name: queue } = this.queueLocation(name);
    const base = endpoint.replace(/\/+$/, '');
    return region === this.region ? `${base}/${this.accountId}/${queue}` : `${base}/queue/${region}/${this.accountId}/${queue}`;
  }

  /**
   * The key of the queue a QueueUrl names; throws InvalidAddress / QueueDoesNotExist. The region is the URL's when it
   * says (`sqs.<region>.<domain>` or `<region>.queue.<domain>` hosts, as AWS's URLs are, or a `/queue/<region>/...`
   * path), else `requestRegion` (the SDK client's). A bare queue name is accepted too, as AWS accepts it.
   */
  queueNameFromUrl(queueUrl: string, requestRegion = this.region): string {
    const invalid = () => new SqsError('InvalidAddress', `The address ${queueUrl} is not valid for this endpoint.`);
    let key: string;
    if (QUEUE_NAME_IN_URL.test(queueUrl)) key = this.queueKey(queueUrl, requestRegion);
    else {
      let url: URL;
      try {
        url = new URL(queueUrl);
      } catch {
        throw invalid();
      }
      const parts = url.pathname.split('/').filter(Boolean);
      const host = /^sqs\.([a-z]{2}(?:-[a-z]+)+-\d+)\./.exec(url.hostname) ?? /^([a-z]{2}(?:-[a-z]+)+-\d+)\.queue\./.exec(url.hostname);
      let region = host?.[1] ?? requestRegion;
      if (parts.length === 4 && parts[0] === 'queue') region = parts.splice(0, 2)[1];
      if (parts.length !== 2) throw invalid();
      if (parts[0] !== this.accountId) throw this.noQueue();
      key = this.queueKey(parts[1], region);
    }
    if (!this.queues.has(key)) throw this.noQueue();
    return key;
  }

  /** The key of the queue an ARN of this account names (any region), or undefined. */
  queueNameFromArn(arn: string): string | undefined {
    const m = /^arn:aws:sqs:([^:]+):([^:]+):([^:]+)$/.exec(arn);
    if (!m || m[2] !== this.accountId) return undefined;
    return this.queueKey(m[3], m[1]);
  }

  hasQueue(name: string): boolean {
    return this.queues.has(name);
  }

  /** Whether the queue is a FIFO queue (FifoQueue=true). */
  isFifoQueue(name: string): boolean {
    return this.queue(name).fifo !== undefined;
  }

  // ----- queues -----

  /**
   * CreateQueue. Attribute values may be strings (API form), numbers or booleans, or for RedrivePolicy and
   * RedriveAllowPolicy a JSON object (CloudFormation form, already resolved): they are normalized to strings.
   */
  createQueue(
    name: string,
    attributes: Record<string, unknown> = {},
    tags: Record<string, string> = {},
  ): string {
    this.assertOpen();
    // FifoQueue is an attribute of FIFO queues only: a standard queue given it, even as "false", is refused.
    const fifo = attributes.FifoQueue !== undefined;
    // Names are checked without the region part of the engine's per-region key.
    const bare = this.queueLocation(name).name;
    if (fifo && String(attributes.FifoQueue) !== 'true') throw new SqsError('InvalidAttributeName', 'Unknown Attribute FifoQueue.');
    if (fifo) {
      if (!bare.endsWith('.fifo') || bare.length > 80 || !QUEUE_NAME.test(bare.slice(0, -'.fifo'.length))) {
        throw invalidParam('The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.');
      }
    } else if (!QUEUE_NAME.test(bare)) {
      throw invalidParam('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    const requested = this.normalizeAttributes(name, attributes, true, fifo);
    const existing = this.queues.get(name);
    if (existing) {
      for (const [key, value] of Object.entries(requested)) {
        if ((existing.rec.attributes[key] ?? '') !== value) {
          throw new SqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${key}`);
        }
      }
      return name;
    }
    // "You must wait 60 seconds after deleting a queue before you can create another with the same name" (API_DeleteQueue.html).
    const deletedAt = this.deletedAt.get(name);
    if (deletedAt !== undefined && this.clock.now() < deletedAt + this.clock.scaled(60_000)) {
      throw new SqsError('QueueDeletedRecently', 'You must wait 60 seconds after deleting a queue before you can create another with the same name.');
    }
    this.deletedAt.delete(name);
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const rec: PersistedQueue = {
      name,
      attributes: { ...DEFAULT_ATTRIBUTES, ...(fifo ? FIFO_DEFAULT_ATTRIBUTES : {}), ...requested },
      tags: { ...tags },
      createdTimestamp: nowSeconds,
      lastModifiedTimestamp: nowSeconds,
    };
    this.fixEncryption(rec.attributes, requested);
    if (fifo) checkHighThroughput(rec.attributes);
    this.queues.set(name, this.runtimeFor(rec));
    this.store.append({ op: 'putQueue', queue: rec });
    this.emit({ type: 'queue-created', queue: name });
    return name;
  }

  deleteQueue(name: string): void {
    const q = this.queue(name);
    this.queues.delete(name);
    this.deletedAt.set(name, this.clock.now());
    this.store.append({ op: 'deleteQueue', name });
    for (const w of [...q.waiters]) w.close();
    for (const t of this.tasks) if (t.sourceName === name && t.status === 'RUNNING') t.cancelled = true;
    this.emit({ type: 'queue-deleted', queue: name });
  }

  /** The keys of the queues of `region` (the engine's own by default) whose name starts with `prefix`, by name. */
  listQueues(prefix = '', region = this.region): string[] {
    return [...this.queues.keys()]
      .filter((key) => {
        const at = this.queueLocation(key);
        return at.region === region && at.name.startsWith(prefix);
      })
      .sort();
  }

  getQueueAttributes(name: string, names: string[] = ['All']): Record<string, string> {
    const q = this.queue(name);
    for (const n of names) {
      if (n !== 'All' && !(READABLE_QUEUE_ATTRIBUTES as readonly string[]).includes(n) && !FIFO_ATTRIBUTES.has(n)) {
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${n}.`);
      }
    }
    const all = names.includes('All');
    const wanted = (n: string) => all || names.includes(n);
    this.sweepExpired(q);
    const now = this.clock.now();
    let visible = 0;
    let notVisible = 0;
    let delayed = 0;
    for (const m of q.messages.values()) {
      if (m.visibleAt <= now) visible++;
      else if (m.receiveCount === 0 && m.receiptHandle === undefined) delayed++;
      else notVisible++;
    }
    const a = q.rec.attributes;
    const values: Record<string, string | undefined> = {
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesDelayed: String(delayed),
      ApproximateNumberOfMessagesNotVisible: String(notVisible),
      CreatedTimestamp: String(q.rec.createdTimestamp),
      DelaySeconds: a.DelaySeconds,
      LastModifiedTimestamp: String(q.rec.lastModifiedTimestamp),
      MaximumMessageSize: a.MaximumMessageSize,
      MessageRetentionPeriod: a.MessageRetentionPeriod,
      Policy: a.Policy,
      QueueArn: this.queueArn(name),
      ReceiveMessageWaitTimeSeconds: a.ReceiveMessageWaitTimeSeconds,
      RedrivePolicy: a.RedrivePolicy,
      RedriveAllowPolicy: a.RedriveAllowPolicy,
      VisibilityTimeout: a.VisibilityTimeout,
      KmsMasterKeyId: a.KmsMasterKeyId,
      KmsDataKeyReusePeriodSeconds: a.KmsMasterKeyId ? (a.KmsDataKeyReusePeriodSeconds ?? '300') : undefined,
      SqsManagedSseEnabled: a.SqsManagedSseEnabled,
    };
    const out: Record<string, string> = {};
    for (const key of READABLE_QUEUE_ATTRIBUTES) {
      const v = values[key];
      if (wanted(key) && v !== undefined) out[key] = v;
    }
    if (q.fifo) for (const key of FIFO_ATTRIBUTES) if (wanted(key)) out[key] = a[key];
    return out;
  }

  setQueueAttributes(name: string, attributes: Record<string, unknown>): void {
    const q = this.queue(name);
    // A standard queue has no FIFO attributes: SetQueueAttributes knows their names no more than any other unknown one.
    if (q.rec.attributes.FifoQueue !== 'true') {
      for (const key of Object.keys(attributes)) if (FIFO_ATTRIBUTES.has(key)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
    }
    const normalized = this.normalizeAttributes(name, attributes, false, q.fifo !== undefined);
    const next = { ...q.rec.attributes };
    for (const [key, value] of Object.entries(normalized)) {
      if (value === '' && (key === 'RedrivePolicy' || key === 'RedriveAllowPolicy' || key === 'Policy' || key === 'KmsMasterKeyId')) {
        delete next[key];
      } else {
        next[key] = value;
      }
    }
    this.fixEncryption(next, normalized);
    if (q.fifo) checkHighThroughput(next);
    q.rec.attributes = next;
    q.rec.lastModifiedTimestamp = Math.floor(this.clock.now() / 1000);
    this.store.append({ op: 'putQueue', queue: q.rec });
    // A shorter wait or a redrive change can matter to pollers already waiting.
    this.notify(q);
  }

  tagQueue(name: string, tags: Record<string, string>): void {
    const q = this.queue(name);
    q.rec.tags = { ...q.rec.tags, ...tags };
    this.store.append({ op: 'putQueue', queue: q.rec });
  }

  untagQueue(name: string, keys: string[]): void {
    const q = this.queue(name);
    const tags = { ...q.rec.tags };
    for (const k of keys) delete tags[k];
    q.rec.tags = tags;
    this.store.append({ op: 'putQueue', queue: q.rec });
  }

  listQueueTags(name: string): Record<string, string> {
    return { ...this.queue(name).rec.tags };
  }

  /** Queues whose RedrivePolicy names this queue as their dead-letter queue. */
  listDeadLetterSourceQueues(name: string): string[] {
    this.queue(name);
    const arn = this.queueArn(name);
    return this.listQueues('', this.queueLocation(name).region).filter((n) => {
      const rp = this.queues.get(n)!.rec.attributes.RedrivePolicy;
      return rp !== undefined && parseRedrivePolicy(rp).deadLetterTargetArn === arn;
    });
  }

  // ----- permissions -----

  /**
   * AddPermission: a statement in the queue's Policy, as SQS writes it: `Sid` the label, `Principal.AWS` the accounts'
   * root ARNs (one is a string), `Action` `SQS:<action>` (one is a string), `Resource` the queue ARN; the policy is
   * created (`Version` 2008-10-17, `Id` `<queue ARN>/SQSDefaultPolicy`) when the queue has none.
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_AddPermission.html
   */
  addPermission(name: string, label: string, accountIds: string[], actions: string[]): void {
    const q = this.queue(name);
    if (!PERMISSION_LABEL.test(label)) {
      throw invalidParam(`Value ${label} for parameter Label is invalid. Reason: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.`);
    }
    if (accountIds.length === 0) throw new SqsError('MissingParameter', 'The request must contain the parameter AWSAccountIds.');
    if (actions.length === 0) throw new SqsError('MissingParameter', 'The request must contain the parameter Actions.');
    for (const id of accountIds) if (!/^\d{12}$/.test(id)) throw invalidParam(`Value [${id}] for parameter PrincipalId is invalid. Reason: Unable to verify.`);
    for (const action of actions) {
      if (!PERMISSION_ACTIONS.has(action)) throw invalidParam(`Value SQS:${action} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions.`);
    }
    const arn = this.queueArn(name);
    const policy = q.rec.attributes.Policy ? (JSON.parse(q.rec.attributes.Policy) as { Statement?: unknown }) : { Version: '2008-10-17', Id: `${arn}/SQSDefaultPolicy`, Statement: [] };
    const statements = Array.isArray(policy.Statement) ? (policy.Statement as { Sid?: unknown }[]) : policy.Statement ? [policy.Statement as { Sid?: unknown }] : [];
    if (statements.some((st) => st.Sid === label)) throw invalidParam(`Value ${label} for parameter Label is invalid. Reason: Already exists.`);
    const principals = [...new Set(accountIds)].map((id) => `arn:aws:iam::${id}:root`);
    const granted = [...new Set(actions)].map((action) => `SQS:${action}`);
    statements.push({
      Sid: label,
      Effect: 'Allow',
      Principal: { AWS: principals.length === 1 ? principals[0] : principals },
      Action: granted.length === 1 ? granted[0] : granted,
      Resource: arn,
    } as { Sid: string });
    this.writePolicy(q, { ...policy, Statement: statements });
  }

  /** RemovePermission: the statement of that label leaves the Policy; with none left the queue has no Policy. */
  removePermission(name: string, label: string): void {
    const q = this.queue(name);
    const policy = q.rec.attributes.Policy ? (JSON.parse(q.rec.attributes.Policy) as { Statement?: unknown }) : undefined;
    const statements = Array.isArray(policy?.Statement) ? (policy!.Statement as { Sid?: unknown }[]) : policy?.Statement ? [policy.Statement as { Sid?: unknown }] : [];
    if (!statements.some((st) => st.Sid === label)) throw invalidParam(`Value ${label} for parameter Label is invalid. Reason: can't find label.`);
    const left = statements.filter((st) => st.Sid !== label);
    this.writePolicy(q, left.length ? { ...policy, Statement: left } : undefined);
  }

  private writePolicy(q: QueueRuntime, policy: object | undefined): void {
    const attributes = { ...q.rec.attributes };
    if (policy) attributes.Policy = JSON.stringify(policy);
    else delete attributes.Policy;
    q.rec.attributes = attributes;
    q.rec.lastModifiedTimestamp = Math.floor(this.clock.now() / 1000);
    this.store.append({ op: 'putQueue', queue: q.rec });
  }

  // ----- messages -----

  sendMessage(name: string, input: SendMessageInput): SendMessageResult {
    const q = this.queue(name);
    const a = q.rec.attributes;
    if (typeof input.body !== 'string' || input.body.length === 0) {
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    }
    if (input.messageDeduplicationId !== undefined && !q.fifo) {
      throw invalidParam(`Value ${input.messageDeduplicationId} for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter that is not valid for this queue type.`);
    }
    if (input.messageGroupId !== undefined && !FIFO_TOKEN.test(input.messageGroupId)) {
      throw invalidParam(`Value ${input.messageGroupId} for parameter MessageGroupId is invalid. Reason: MessageGroupId can contain up to 128 alphanumeric and punctuation characters.`);
    }
    if (q.fifo) {
      if (input.messageGroupId === undefined) throw new SqsError('MissingParameter', 'The request must contain the parameter MessageGroupId.');
      // A FIFO queue's delay is the queue's DelaySeconds only (0 given explicitly asks for no delay of its own).
      if (input.delaySeconds !== undefined && input.delaySeconds !== 0) {
        throw invalidParam(`Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`);
      }
      if (input.messageDeduplicationId !== undefined && !FIFO_TOKEN.test(input.messageDeduplicationId)) {
        throw invalidParam(`Value ${input.messageDeduplicationId} for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can contain up to 128 alphanumeric and punctuation characters.`);
      }
      if (input.messageDeduplicationId === undefined && a.ContentBasedDeduplication !== 'true') {
        throw invalidParam('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      }
    }
    const delay = q.fifo ? Number(a.DelaySeconds) : (input.delaySeconds ?? Number(a.DelaySeconds));
    if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
      throw invalidParam(`Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`);
    }
    const messageAttributes = validateMessageAttributes(input.messageAttributes, 'message');
    const givenSystemAttributes = validateMessageAttributes(input.messageSystemAttributes, 'system');
    // "When both header instrumentations are set, the message system attribute overrides the HTTP trace header" (xray-services-sqs.html).
    const systemAttributes =
      input.traceHeader !== undefined && input.traceHeader !== '' && !givenSystemAttributes.AWSTraceHeader
        ? { ...givenSystemAttributes, AWSTraceHeader: { DataType: 'String', StringValue: input.traceHeader } }
        : givenSystemAttributes;
    if (INVALID_CHARS.test(input.body)) {
      throw new SqsError('InvalidMessageContents', `Invalid characters found. Valid unicode characters are ${VALID_CHARS_TEXT}`);
    }
    const stored = input.body;
    const size = utf8Length(stored) + attributesSize(messageAttributes);
    const max = Number(a.MaximumMessageSize);
    if (size > max) {
      throw invalidParam(`One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`);
    }
    const now = this.clock.now();
    let deduplication: PersistedDeduplication | undefined;
    if (q.fifo) {
      // Content-based deduplication: the SHA-256 of the body (not of its attributes); an explicit id overrides it.
      const deduplicationId = input.messageDeduplicationId ?? createHash('sha256').update(input.body, 'utf8').digest('hex');
      const groupId = input.messageGroupId!;
      const original = q.fifo.deduplications.find(deduplicationId, groupId, a.DeduplicationScope === 'messageGroup', now);
      if (original) {
        // Accepted, not enqueued again: the answer names the message the first send enqueued.
        return {
          messageId: original.messageId,
          sequenceNumber: original.sequenceNumber,
          md5OfMessageBody: md5Hex(input.body),
          md5OfMessageAttributes: md5OfMessageAttributes(messageAttributes),
          md5OfMessageSystemAttributes: md5OfMessageAttributes(systemAttributes),
        };
      }
      deduplication = {
        queue: name,
        deduplicationId,
        messageGroupId: groupId,
        messageId: randomUUID(),
        sequenceNumber: this.nextSequenceNumber(q.fifo, now),
        sentAt: now,
        expiresAt: now + this.clock.scaled(FIFO_INTERVAL_MS),
      };
    }
    const m: PersistedMessage = {
      queue: name,
      id: deduplication?.messageId ?? randomUUID(),
      seq: ++this.seq,
      body: stored,
      md5OfBody: md5Hex(stored),
      messageAttributes,
      md5OfMessageAttributes: md5OfMessageAttributes(messageAttributes),
      systemAttributes: Object.keys(systemAttributes).length ? systemAttributes : undefined,
      md5OfMessageSystemAttributes: md5OfMessageAttributes(givenSystemAttributes),
      messageGroupId: input.messageGroupId,
      senderId: input.senderId ?? this.accountId,
      sentTimestamp: now,
      receiveCount: 0,
      visibleAt: now + this.clock.scaled(delay * 1000),
      ...(deduplication ? { deduplicationId: deduplication.deduplicationId, sequenceNumber: deduplication.sequenceNumber } : {}),
    };
    q.messages.set(m.id, m);
    if (deduplication) q.fifo!.deduplications.add(deduplication);
    this.store.append(deduplication ? { op: 'putMessage', message: m, deduplication } : { op: 'putMessage', message: m });
    this.emit({ type: 'sent', queue: name, messageId: m.id, delaySeconds: delay });
    this.notify(q);
    return {
      messageId: m.id,
      ...(deduplication ? { sequenceNumber: deduplication.sequenceNumber } : {}),
      md5OfMessageBody: m.md5OfBody,
      md5OfMessageAttributes: m.md5OfMessageAttributes,
      md5OfMessageSystemAttributes: m.md5OfMessageSystemAttributes,
    };
  }

  /** ReceiveMessage: up to 10 visible messages; with a wait, returns as soon as at least one is available. */
  async receiveMessage(name: string, input: ReceiveMessageInput = {}): Promise<ReceivedMessage[]> {
    const q = this.queue(name);
    const max = input.maxNumberOfMessages ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) {
      throw invalidParam(`Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
    }
    const vt = input.visibilityTimeout ?? Number(q.rec.attributes.VisibilityTimeout);
    if (!Number.isInteger(vt) || vt < 0 || vt > 43200) {
      throw invalidParam(`Value ${vt} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.`);
    }
    let waitMs: number;
    if (input.waitMs !== undefined) {
      waitMs = Math.max(0, input.waitMs);
    } else {
      const wait = input.waitTimeSeconds ?? Number(q.rec.attributes.ReceiveMessageWaitTimeSeconds);
      if (!Number.isInteger(wait) || wait < 0 || wait > 20) {
        throw invalidParam(`Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`);
      }
      waitMs = wait * 1000;
    }
    const vtMs = vt * 1000;
    const attemptId = input.receiveRequestAttemptId;
    if (attemptId !== undefined && q.fifo) {
      if (!FIFO_TOKEN.test(attemptId)) {
        throw invalidParam(`Value ${attemptId} for parameter ReceiveRequestAttemptId is invalid. Reason: ReceiveRequestAttemptId can contain up to 128 alphanumeric and punctuation characters.`);
      }
      const again = this.repeatAttempt(q, attemptId, vtMs);
      if (again) return again;
      const got = await this.receiveMessage(name, { ...input, receiveRequestAttemptId: undefined });
      this.rememberAttempt(q, attemptId, got);
      return got;
    }
    const longPoll = waitMs > 0;
    const first = this.tryReceive(q, max, vtMs, longPoll);
    if (first.length > 0 || waitMs <= 0 || input.signal?.aborted || this.closed) return first;

    return new Promise<ReceivedMessage[]>((resolve) => {
      let done = false;
      let cancelWake: (() => void) | undefined;
      const finish = (result: ReceivedMessage[]) => {
        if (done) return;
        done = true;
        cancelTimeout();
        cancelWake?.();
        q.waiters.delete(waiter);
        input.signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const scheduleWake = () => {
        cancelWake?.();
        cancelWake = undefined;
        const next = this.nextVisibleAt(q);
        if (next === undefined) return;
        cancelWake = this.afterReal(next - this.clock.now(), () => waiter.check());
      };
      const waiter: Waiter = {
        check: () => {
          if (done) return;
          if (this.queues.get(name) !== q || this.closed) return finish([]);
          const got = this.tryReceive(q, max, vtMs, longPoll);
          if (got.length > 0) return finish(got);
          scheduleWake();
        },
        close: () => finish([]),
      };
      const onAbort = () => finish([]);
      const cancelTimeout = this.track(
        this.clock.after(waitMs, () => finish(this.queues.get(name) === q && !this.closed ? this.tryReceive(q, max, vtMs, longPoll) : [])),
      );
      q.waiters.add(waiter);
      input.signal?.addEventListener('abort', onAbort, { once: true });
      scheduleWake();
    });
  }

  /** Returns true when the message was deleted; a stale receipt handle (the message was received again since) is a no-op. */
  deleteMessage(name: string, receiptHandle: string): boolean {
    const q = this.queue(name);
    const { id } = this.parseReceiptHandle(name, receiptHandle);
    const m = q.messages.get(id);
    // A FIFO queue refuses a receipt handle whose visibility timeout has ended (the group may be delivered again).
    if (m && q.fifo && (m.receiptHandle !== receiptHandle || m.visibleAt <= this.clock.now())) {
      throw invalidParam(`Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`);
    }
    if (!m || m.receiptHandle !== receiptHandle) return false;
    if (q.fifo) {
      this.store.append({ op: 'deleteMessage', queue: name, id });
      q.messages.delete(id);
      // The group's next message may be delivered now: long polls look again.
      this.wakeWaiters(q);
    } else if (this.faults.inject('sqs.duplicate', name)) {
      // At-least-once: the delete did not reach every copy. One record: the message leaves, its copy stays behind.
      const copy = this.duplicateOf(q, m, this.clock.scaled(Number(q.rec.attributes.VisibilityTimeout) * 1000));
      this.store.append({ op: 'moveMessage', from: { queue: name, id }, message: copy });
      q.messages.delete(id);
      q.messages.set(copy.id, copy);
      this.wakeWaiters(q);
    } else {
      this.store.append({ op: 'deleteMessage', queue: name, id });
      q.messages.delete(id);
    }
    this.emit({ type: 'deleted', queue: name, messageId: publicId(m) });
    return true;
  }

  changeMessageVisibility(name: string, receiptHandle: string, visibilityTimeout: number): void {
    const q = this.queue(name);
    if (!Number.isInteger(visibilityTimeout) || visibilityTimeout < 0 || visibilityTimeout > 43200) {
      throw invalidParam(`Value ${visibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200.`);
    }
    const { id } = this.parseReceiptHandle(name, receiptHandle);
    const m = q.messages.get(id);
    if (!m) {
      throw invalidParam(`Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`);
    }
    // As SQS answers (recorded): a message whose visibility timeout has already run out is not in flight, and the call
    // succeeds without changing anything; a handle from an earlier receive of a message received again is the
    // message's still, and changes the visibility of its current receive.
    const now = this.clock.now();
    if (m.receiptHandle === undefined || m.visibleAt <= now) return;
    const ceiling = (m.receivedAt ?? now) + this.clock.scaled(43200 * 1000);
    const visibleAt = now + this.clock.scaled(visibilityTimeout * 1000);
    if (visibleAt > ceiling) {
      throw invalidParam(`Value ${visibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]`);
    }
    m.visibleAt = visibleAt;
    this.journalUpdate(m);
    this.notify(q);
  }

  purgeQueue(name: string): number {
    const q = this.queue(name);
    const now = this.clock.now();
    if (q.rec.lastPurgeAt !== undefined && now < q.rec.lastPurgeAt + this.clock.scaled(60_000)) {
      throw new SqsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`);
    }
    const count = q.messages.size;
    q.messages.clear();
    q.rec.lastPurgeAt = now;
    this.store.append({ op: 'purge', queue: name, at: now });
    this.emit({ type: 'purged', queue: name, count });
    return count;
  }

  // ----- message move tasks (DLQ redrive) -----

  startMessageMoveTask(input: { sourceArn: string; destinationArn?: string; maxNumberOfMessagesPerSecond?: number }): string {
    this.assertOpen();
    const sourceName = this.queueNameFromArn(input.sourceArn);
    if (!sourceName || !this.queues.has(sourceName)) {
      throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the SourceArn parameter doesn\'t exist.');
    }
    if (this.listDeadLetterSourceQueues(sourceName).length === 0) {
      throw invalidParam('Source queue must be configured as a Dead Letter Queue.');
    }
    if (input.destinationArn !== undefined) {
      const dest = this.queueNameFromArn(input.destinationArn);
      if (!dest || !this.queues.has(dest)) {
        throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the DestinationArn parameter doesn\'t exist.');
      }
      if (dest === sourceName) throw invalidParam('Source queue arn and destination queue arn cannot be the same.');
      if (this.queues.get(dest)!.fifo !== undefined !== (this.queues.get(sourceName)!.fifo !== undefined)) {
        throw invalidParam('The source queue and the destination queue must be of the same type (both FIFO or both standard).');
      }
    }
    const rate = input.maxNumberOfMessagesPerSecond;
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 500)) {
      throw invalidParam(`Value ${rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500.`);
    }
    // A task being cancelled is still active until it has stopped.
    if (this.tasks.some((t) => t.sourceName === sourceName && (t.status === 'RUNNING' || t.status === 'CANCELLING'))) {
      throw new SqsError('UnsupportedOperation', 'There is already a task running. Only one active task is allowed for a source queue arn at a given time.');
    }
    const q = this.queues.get(sourceName)!;
    this.sweepExpired(q);
    const taskId = randomUUID();
    const task: MoveTask = {
      taskId,
      taskHandle: Buffer.from(JSON.stringify({ taskId, sourceArn: input.sourceArn })).toString('base64'),
      status: 'RUNNING',
      sourceArn: input.sourceArn,
      sourceName,
      destinationArn: input.destinationArn,
      maxNumberOfMessagesPerSecond: rate,
      approximateNumberOfMessagesMoved: 0,
      approximateNumberOfMessagesToMove: q.messages.size,
      startedTimestamp: this.clock.now(),
      pending: new Set(q.messages.keys()),
      cancelled: false,
    };
    this.tasks.unshift(task);
    void this.runMoveTask(task);
    return task.taskHandle!;
  }

  listMessageMoveTasks(sourceArn: string, maxResults = 1): MoveTaskInfo[] {
    const name = this.queueNameFromArn(sourceArn);
    if (!name || !this.queues.has(name)) {
      throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the SourceArn parameter doesn\'t exist.');
    }
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 10) {
      throw invalidParam(`Value ${maxResults} for parameter MaxResults is invalid. Reason: Must be between 1 and 10.`);
    }
    return this.tasks
      .filter((t) => t.sourceArn === sourceArn)
      .slice(0, maxResults)
      .map((t) => ({
        taskHandle: t.status === 'RUNNING' ? t.taskHandle : undefined,
        status: t.status,
        sourceArn: t.sourceArn,
        destinationArn: t.destinationArn,
        maxNumberOfMessagesPerSecond: t.maxNumberOfMessagesPerSecond,
        approximateNumberOfMessagesMoved: t.approximateNumberOfMessagesMoved,
        approximateNumberOfMessagesToMove: t.approximateNumberOfMessagesToMove,
        failureReason: t.failureReason,
        startedTimestamp: t.startedTimestamp,
      }));
  }

  /**
   * Cancels a RUNNING task; returns the number of messages moved so far. The task is CANCELLING until it has
   * stopped (it finishes the message it is moving, or its rate-limited pause of up to one simulated second), then
   * CANCELLED; messages already moved stay moved.
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CancelMessageMoveTask.html
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html
   */
  cancelMessageMoveTask(taskHandle: string): number {
    let taskId: unknown;
    try {
      taskId = (JSON.parse(Buffer.from(taskHandle, 'base64').toString('utf8')) as { taskId?: unknown }).taskId;
    } catch {
      taskId = undefined;
    }
    const task = this.tasks.find((t) => t.taskId === taskId);
    if (!task) throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the TaskHandle parameter doesn\'t exist.');
    if (task.status !== 'RUNNING') {
      throw new SqsError('UnsupportedOperation', `Only a RUNNING task can be cancelled; this task is ${task.status}.`);
    }
    task.cancelled = true;
    task.status = 'CANCELLING';
    return task.approximateNumberOfMessagesMoved;
  }

  /** Ends long polls, stops move tasks, cancels timers and closes the store. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new Error('queue engine closed'));
    for (const q of this.queues.values()) for (const w of [...q.waiters]) w.close();
    for (const t of this.tasks) if (t.status === 'RUNNING') t.cancelled = true;
    for (const cancel of [...this.timers]) cancel();
    this.timers.clear();
    this.store.close?.();
  }

  // ----- internals -----

  private emit(event: QueueEngineEvent): void {
    this.events.emit(event.type, event);
    this.events.emit('event', event);
  }

  private assertOpen(): void {
    if (this.closed) throw new SqsError('ServiceUnavailable', 'The local queue engine is closed.');
  }

  private noQueue(): SqsError {
    return new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
  }

  private queue(name: string): QueueRuntime {
    const q = this.queues.get(name);
    if (!q) throw this.noQueue();
    return q;
  }

  private track(cancel: () => void): () => void {
    const wrapped = () => {
      this.timers.delete(wrapped);
      cancel();
    };
    this.timers.add(wrapped);
    return wrapped;
  }

  /** A timer for a real-time delay (deadlines are real epoch ms), expressed through the clock. */
  private afterReal(realMs: number, fn: () => void): () => void {
    let cancel: () => void = () => undefined;
    const fire = () => {
      cancel();
      fn();
    };
    cancel = this.track(this.clock.after(Math.max(1, realMs) * this.clock.scale, fire));
    return cancel;
  }

  private notify(q: QueueRuntime): void {
    for (const w of [...q.waiters]) w.check();
  }

  private nextVisibleAt(q: QueueRuntime): number | undefined {
    const now = this.clock.now();
    let next: number | undefined;
    for (const m of q.messages.values()) {
      if (m.visibleAt > now && (next === undefined || m.visibleAt < next)) next = m.visibleAt;
    }
    return next;
  }

  private retentionDeadline(q: QueueRuntime, m: PersistedMessage): number {
    return m.sentTimestamp + this.clock.scaled(Number(q.rec.attributes.MessageRetentionPeriod) * 1000);
  }

  private sweepExpired(q: QueueRuntime): void {
    const now = this.clock.now();
    for (const m of q.messages.values()) if (now >= this.retentionDeadline(q, m)) this.expire(q, m);
  }

  private expire(q: QueueRuntime, m: PersistedMessage): void {
    q.messages.delete(m.id);
    this.store.append({ op: 'deleteMessage', queue: q.rec.name, id: m.id });
    this.emit({ type: 'expired', queue: q.rec.name, messageId: publicId(m) });
  }

  private redriveTarget(q: QueueRuntime): { dlq: QueueRuntime; maxReceiveCount: number } | undefined {
    const rp = q.rec.attributes.RedrivePolicy;
    if (!rp) return undefined;
    const policy = parseRedrivePolicy(rp);
    const dlqName = this.queueNameFromArn(policy.deadLetterTargetArn);
    const dlq = dlqName === undefined ? undefined : this.queues.get(dlqName);
    if (!dlq || dlq === q) return undefined;
    return { dlq, maxReceiveCount: policy.maxReceiveCount };
  }

  private runtimeFor(rec: PersistedQueue): QueueRuntime {
    const fifo = rec.attributes.FifoQueue === 'true' ? { deduplications: new DeduplicationIndex(), lastSequenceNumber: 0n, attempts: new Map() } : undefined;
    return { rec, messages: new Map(), waiters: new Set(), ...(fifo ? { fifo } : {}) };
  }

  /** A large number that increases per queue (from the send time, so it keeps increasing across a restart). */
  private nextSequenceNumber(fifo: FifoRuntime, now: number): string {
    const fromTime = BigInt(Math.max(0, Math.floor(now))) * 10_000_000n;
    fifo.lastSequenceNumber = fromTime > fifo.lastSequenceNumber ? fromTime : fifo.lastSequenceNumber + 1n;
    return fifo.lastSequenceNumber.toString();
  }

  /**
   * A FIFO receive: the oldest available group first, as many of its messages as fit, in order, then the next
   * group's; a group with a message in flight gives none, and a delayed message holds back its group's later ones.
   * Expired messages are dropped and ones past maxReceiveCount moved to the DLQ on the way, so the next message of
   * the group is delivered in its place.
   */
  private receiveFifo(q: QueueRuntime, max: number, vtMs: number): ReceivedMessage[] {
    const now = this.clock.now();
    const redrive = this.redriveTarget(q);
    const held = new Set<string>();
    for (const m of q.messages.values()) if (m.visibleAt > now && m.receiptHandle !== undefined) held.add(m.messageGroupId ?? '');
    const groups = new Map<string, PersistedMessage[]>();
    for (const m of [...q.messages.values()]) {
      const group = m.messageGroupId ?? '';
      if (held.has(group)) continue;
      if (now >= this.retentionDeadline(q, m)) {
        this.expire(q, m);
        continue;
      }
      if (m.visibleAt > now) {
        held.add(group);
        continue;
      }
      if (redrive && m.receiveCount >= redrive.maxReceiveCount) {
        this.deadLetter(q, m, redrive.dlq);
        continue;
      }
      const list = groups.get(group);
      if (list) list.push(m);
      else groups.set(group, [m]);
    }
    const chosen: PersistedMessage[] = [];
    for (const list of groups.values()) {
      for (const m of list.slice(0, max - chosen.length)) chosen.push(m);
      if (chosen.length >= max) break;
    }
    return chosen.map((m) => this.deliver(q, m, vtMs, now));
  }

  /**
   * A ReceiveRequestAttemptId seen within 5 minutes: the same messages and receipt handles, their visibility
   * timeout started again, provided none of them was deleted, had its visibility changed or was received since.
   */
  private repeatAttempt(q: QueueRuntime, attemptId: string, vtMs: number): ReceivedMessage[] | undefined {
    const fifo = q.fifo!;
    const now = this.clock.now();
    for (const [id, a] of fifo.attempts) if (a.expiresAt <= now) fifo.attempts.delete(id);
    const attempt = fifo.attempts.get(attemptId);
    if (!attempt) return undefined;
    const found = attempt.messages.map((r) => ({ r, m: q.messages.get(r.id) }));
    if (found.some(({ r, m }) => !m || m.receiptHandle !== r.receiptHandle || m.visibleAt !== r.visibleAt)) {
      fifo.attempts.delete(attemptId);
      return undefined;
    }
    return found.map(({ r, m }) => {
      m!.visibleAt = now + this.clock.scaled(vtMs);
      r.visibleAt = m!.visibleAt;
      this.journalUpdate(m!);
      return this.toReceived(m!);
    });
  }

  private rememberAttempt(q: QueueRuntime, attemptId: string, got: ReceivedMessage[]): void {
    if (got.length === 0 || this.queues.get(q.rec.name) !== q) return;
    q.fifo!.attempts.set(attemptId, {
      expiresAt: this.clock.now() + this.clock.scaled(FIFO_INTERVAL_MS),
      messages: got.map((r) => ({ id: r.messageId, receiptHandle: r.receiptHandle, visibleAt: r.visibleAt })),
    });
  }

  private tryReceive(q: QueueRuntime, max: number, vtMs: number, longPoll: boolean): ReceivedMessage[] {
    if (q.fifo) return this.receiveFifo(q, max, vtMs);
    const name = q.rec.name;
    const short = this.faults.inject('sqs.shortReceive', name);
    const outOfOrder = this.faults.inject('sqs.outOfOrder', name);
    if (!short && !outOfOrder) return this.receiveOldestFirst(q, max, vtMs);

    // A faulty receive: look at every visible message first (expiring and dead-lettering on the way, as a normal
    // receive does), then pick which ones this receive returns.
    const now = this.clock.now();
    const candidates = [...this.receivable(q, now)];
    const n = Math.min(max, candidates.length);
    let count = n;
    if (short && n > 0) {
      // Short polling samples a subset of the servers: fewer than available, possibly none. A long poll queries
      // every server, so it returns at least one message when one is available.
      const least = longPoll ? 1 : 0;
      count = n - 1 < least ? n : least + Math.floor(this.faults.random('sqs.shortReceive', name) * (n - least));
    }
    let chosen = candidates.slice(0, count);
    if (outOfOrder && candidates.length > 1 && count > 0) {
      const shuffled = [...candidates];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(this.faults.random('sqs.outOfOrder', name) * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      chosen = shuffled.slice(0, count);
      // Never the oldest messages in send order: if the shuffle gave exactly that, reverse it or take the newest.
      if (chosen.every((m, i) => m === candidates[i])) {
        chosen = count > 1 ? chosen.reverse() : [candidates[candidates.length - 1]];
      }
    }
    return chosen.map((m) => this.deliver(q, m, vtMs, now));
  }

  /** The fault-free receive: the oldest visible messages, in send order. */
  private receiveOldestFirst(q: QueueRuntime, max: number, vtMs: number): ReceivedMessage[] {
    const now = this.clock.now();
    const out: ReceivedMessage[] = [];
    for (const m of this.receivable(q, now)) {
      if (out.length >= max) break;
      out.push(this.deliver(q, m, vtMs, now));
    }
    return out;
  }

  /**
   * The messages a receive may return, oldest first: expired ones are dropped and ones past maxReceiveCount moved
   * to the DLQ on the way, as SQS does at receive. Lazy, so a receive looks no further than it takes; a duplicate
   * copy made while a receive delivers is not part of that receive.
   */
  private *receivable(q: QueueRuntime, now: number): Generator<PersistedMessage> {
    const redrive = this.redriveTarget(q);
    const lastSeq = this.seq;
    for (const m of q.messages.values()) {
      if (m.seq > lastSeq) continue;
      if (now >= this.retentionDeadline(q, m)) {
        this.expire(q, m);
        continue;
      }
      if (m.visibleAt > now) continue;
      if (redrive && m.receiveCount >= redrive.maxReceiveCount) {
        this.deadLetter(q, m, redrive.dlq);
        continue;
      }
      yield m;
    }
  }

  /** One delivery: the receive count goes up, a new receipt handle, invisible for the visibility timeout. */
  private deliver(q: QueueRuntime, m: PersistedMessage, vtMs: number, now: number): ReceivedMessage {
    m.receiveCount++;
    m.firstReceiveTimestamp ??= now;
    m.receivedAt = now;
    m.visibleAt = now + this.clock.scaled(vtMs);
    m.receiptHandle = this.newReceiptHandle(q.rec.name, m.id);
    this.journalUpdate(m);
    this.emit({ type: 'received', queue: q.rec.name, messageId: publicId(m), receiveCount: m.receiveCount });
    const received = this.toReceived(m);
    if (!q.fifo && this.faults.inject('sqs.duplicate', q.rec.name)) {
      // Another copy of the message will be delivered too, while this one is in flight or after it was deleted.
      const copy = this.duplicateOf(q, m, this.clock.scaled(vtMs));
      q.messages.set(copy.id, copy);
      this.store.append({ op: 'putMessage', message: copy });
      this.wakeWaiters(q);
    }
    return received;
  }

  /**
   * A duplicate copy of m (injected `sqs.duplicate`): same MessageId, body, attributes and SentTimestamp, the
   * receive count m has now, visible after a random delay in [0, maxDelayRealMs).
   */
  private duplicateOf(q: QueueRuntime, m: PersistedMessage, maxDelayRealMs: number): PersistedMessage {
    const now = this.clock.now();
    const messageId = publicId(m);
    return {
      ...structuredClone(m),
      id: `${messageId}#dup-${randomUUID().slice(0, 8)}`,
      messageId,
      queue: q.rec.name,
      seq: ++this.seq,
      receiptHandle: undefined,
      receivedAt: undefined,
      visibleAt: now + Math.floor(this.faults.random('sqs.duplicate', q.rec.name) * maxDelayRealMs),
    };
  }

  /** Lets waiting long polls look again (deferred: callers may be inside a receive loop). */
  private wakeWaiters(q: QueueRuntime): void {
    queueMicrotask(() => {
      if (this.queues.get(q.rec.name) === q && !this.closed) this.notify(q);
    });
  }

  /** Moves a message to its queue's DLQ: same id, body, attributes, SentTimestamp and receive count. */
  private deadLetter(q: QueueRuntime, m: PersistedMessage, dlq: QueueRuntime): void {
    const moved: PersistedMessage = {
      ...m,
      queue: dlq.rec.name,
      seq: ++this.seq,
      visibleAt: this.clock.now(),
      receiptHandle: undefined,
      receivedAt: undefined,
      deadLetterSourceArn: this.queueArn(q.rec.name),
    };
    // One journal record: a crash leaves the message in the source queue or in the DLQ, never both or neither.
    this.store.append({ op: 'moveMessage', from: { queue: q.rec.name, id: m.id }, message: moved });
    q.messages.delete(m.id);
    dlq.messages.set(moved.id, moved);
    this.emit({ type: 'dead-lettered', queue: q.rec.name, deadLetterQueue: dlq.rec.name, messageId: publicId(m), receiveCount: m.receiveCount });
    // The DLQ's own pollers may be waiting (deferred: we are inside the source queue's receive loop).
    queueMicrotask(() => this.notify(dlq));
  }

  private journalUpdate(m: PersistedMessage): void {
    this.store.append({
      op: 'updateMessage',
      queue: m.queue,
      id: m.id,
      receiveCount: m.receiveCount,
      visibleAt: m.visibleAt,
      firstReceiveTimestamp: m.firstReceiveTimestamp,
      receivedAt: m.receivedAt,
      receiptHandle: m.receiptHandle,
    });
  }

  private toReceived(m: PersistedMessage): ReceivedMessage {
    const attributes: Record<string, string> = {
      SenderId: m.senderId,
      SentTimestamp: String(m.sentTimestamp),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? m.sentTimestamp),
    };
    const trace = m.systemAttributes?.AWSTraceHeader?.StringValue;
    if (trace !== undefined) attributes.AWSTraceHeader = trace;
    if (m.deadLetterSourceArn) attributes.DeadLetterQueueSourceArn = m.deadLetterSourceArn;
    if (m.messageGroupId !== undefined) attributes.MessageGroupId = m.messageGroupId;
    if (m.deduplicationId !== undefined) attributes.MessageDeduplicationId = m.deduplicationId;
    if (m.sequenceNumber !== undefined) attributes.SequenceNumber = m.sequenceNumber;
    return {
      messageId: publicId(m),
      receiptHandle: m.receiptHandle!,
      body: m.body,
      md5OfBody: m.md5OfBody,
      messageAttributes: structuredClone(m.messageAttributes),
      md5OfMessageAttributes: m.md5OfMessageAttributes,
      attributes,
      visibleAt: m.visibleAt,
    };
  }

  private newReceiptHandle(queue: string, id: string): string {
    return Buffer.from(JSON.stringify([RECEIPT_PREFIX, queue, id, randomUUID()])).toString('base64');
  }

  private parseReceiptHandle(queue: string, handle: string): { id: string } {
    const invalid = () => new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
    if (typeof handle !== 'string' || handle === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(handle)) throw invalid();
    let parts: unknown;
    try {
      parts = JSON.parse(Buffer.from(handle, 'base64').toString('utf8'));
    } catch {
      throw invalid();
    }
    if (!Array.isArray(parts) || parts.length !== 4 || parts[0] !== RECEIPT_PREFIX || typeof parts[2] !== 'string') throw invalid();
    if (parts[1] !== queue) throw invalid();
    return { id: parts[2] };
  }

  private normalizeAttributes(
    queueName: string,
    attributes: Record<string, unknown>,
    creating: boolean,
    fifo: boolean,
  ): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, raw] of Object.entries(attributes)) {
      const value = raw !== null && typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
      if (FIFO_ATTRIBUTES.has(key)) {
        // A standard queue has none of them; FifoQueue can be given only when the queue is created.
        if (!fifo || (key === 'FifoQueue' && !creating)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
        if (!FIFO_ATTRIBUTE_VALUES[key].includes(value)) throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`);
        out[key] = value;
        continue;
      }
      if (!SETTABLE_ATTRIBUTES.has(key)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
      const range = INTEGER_RANGES[key];
      if (range) {
        const n = Number(value);
        if (!/^\d+$/.test(value.trim()) || n < range[0] || n > range[1]) {
          throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`);
        }
        out[key] = String(n);
        continue;
      }
      switch (key) {
        case 'SqsManagedSseEnabled':
          if (value !== 'true' && value !== 'false') throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`);
          out[key] = value;
          break;
        case 'RedrivePolicy': {
          if (value === '') {
            out[key] = '';
            break;
          }
          const policy = parseRedrivePolicy(value);
          this.checkDeadLetterTarget(queueName, policy, value);
          out[key] = JSON.stringify({ deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: policy.maxReceiveCount });
          break;
        }
        case 'RedriveAllowPolicy': {
          if (value === '') {
            out[key] = '';
            break;
          }
          const policy = parseRedriveAllowPolicy(value);
          out[key] = JSON.stringify(policy);
          break;
        }
        case 'Policy':
          if (value !== '') {
            try {
              JSON.parse(value);
            } catch {
              throw new SqsError('InvalidAttributeValue', 'Invalid value for the parameter Policy.');
            }
          }
          out[key] = value;
          break;
        default:
          out[key] = value;
      }
    }
    if (out.KmsMasterKeyId && out.SqsManagedSseEnabled === 'true') {
      throw new SqsError('InvalidAttributeValue', 'You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.');
    }
    return out;
  }

  /** SSE-KMS and SSE-SQS are exclusive: a KMS key switches SQS-managed SSE off unless explicitly given. */
  private fixEncryption(attributes: Record<string, string>, requested: Record<string, string>): void {
    if (attributes.KmsMasterKeyId && requested.SqsManagedSseEnabled === undefined) attributes.SqsManagedSseEnabled = 'false';
    if (!attributes.KmsMasterKeyId) delete attributes.KmsDataKeyReusePeriodSeconds;
  }

  /** The DLQ must exist and its RedriveAllowPolicy must allow this source queue. */
  private checkDeadLetterTarget(sourceName: string, policy: RedrivePolicy, raw: string): void {
    const dlqName = this.queueNameFromArn(policy.deadLetterTargetArn);
    const dlq = dlqName === undefined ? undefined : this.queues.get(dlqName);
    if (!dlq) throw invalidParam(`Value ${raw} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`);
    if (dlqName === sourceName) throw invalidParam(`Value ${raw} for parameter RedrivePolicy is invalid. Reason: A queue cannot be its own dead-letter queue.`);
    // The dead-letter queue of a FIFO queue must be a FIFO queue, and a standard queue's a standard queue.
    if (sourceName.endsWith('.fifo') !== (dlq.fifo !== undefined)) {
      throw invalidParam(`Value ${raw} for parameter RedrivePolicy is invalid. Reason: Dead-letter target owner must be the same queue type as the source queue (${dlq.fifo ? 'FIFO' : 'standard'} target).`);
    }
    const allow = dlq.rec.attributes.RedriveAllowPolicy;
    if (!allow) return;
    const p = parseRedriveAllowPolicy(allow);
    const sourceArn = this.queueArn(sourceName);
    const allowed =
      p.redrivePermission === 'allowAll' || (p.redrivePermission === 'byQueue' && (p.sourceQueueArns ?? []).includes(sourceArn));
    if (!allowed) {
      throw invalidParam(`Value ${raw} for parameter RedrivePolicy is invalid. Reason: Queue ${policy.deadLetterTargetArn} does not allow ${sourceArn} to use it as a dead-letter queue (RedriveAllowPolicy ${p.redrivePermission}).`);
    }
  }

  private async runMoveTask(task: MoveTask): Promise<void> {
    const batchLimit = task.maxNumberOfMessagesPerSecond ?? 100;
    const fail = (reason: string) => {
      task.status = 'FAILED';
      task.failureReason = reason;
    };
    try {
      while (!task.cancelled && !this.closed) {
        const source = this.queues.get(task.sourceName);
        if (!source) return fail('The source queue was deleted.');
        const now = this.clock.now();
        for (const id of [...task.pending]) {
          const m = source.messages.get(id);
          if (!m) task.pending.delete(id);
          else if (now >= this.retentionDeadline(source, m)) {
            this.expire(source, m);
            task.pending.delete(id);
          }
        }
        if (task.pending.size === 0) {
          task.status = 'COMPLETED';
          return;
        }
        let movedThisRound = 0;
        // FIFO: a group's messages move in order, so none moves past one of its group that is in flight.
        const heldGroups = new Set<string>();
        for (const id of [...task.pending]) {
          if (movedThisRound >= batchLimit || task.cancelled) break;
          const m = source.messages.get(id)!;
          if (source.fifo && heldGroups.has(m.messageGroupId ?? '')) continue;
          if (m.visibleAt > now) {
            if (source.fifo) heldGroups.add(m.messageGroupId ?? '');
            continue; // in flight: move it once it becomes visible again (or is deleted)
          }
          const destArn = task.destinationArn ?? m.deadLetterSourceArn;
          if (!destArn) return fail(`Message ${m.id} has no original source queue; specify a DestinationArn.`);
          const destName = this.queueNameFromArn(destArn);
          const dest = destName === undefined ? undefined : this.queues.get(destName);
          if (!dest) return fail(`The destination queue ${destArn} does not exist.`);
          const t = this.clock.now();
          const moved: PersistedMessage = {
            ...m,
            queue: dest.rec.name,
            id: randomUUID(),
            messageId: undefined,
            seq: ++this.seq,
            sentTimestamp: t,
            receiveCount: 0,
            firstReceiveTimestamp: undefined,
            receivedAt: undefined,
            receiptHandle: undefined,
            visibleAt: t,
            deadLetterSourceArn: undefined,
            ...(dest.fifo ? { sequenceNumber: this.nextSequenceNumber(dest.fifo, t) } : {}),
          };
          // One journal record, as for redrive: never in both queues, never in neither, after a crash.
          this.store.append({ op: 'moveMessage', from: { queue: source.rec.name, id: m.id }, message: moved });
          source.messages.delete(m.id);
          dest.messages.set(moved.id, moved);
          task.pending.delete(id);
          task.approximateNumberOfMessagesMoved++;
          movedThisRound++;
          this.emit({ type: 'moved', queue: source.rec.name, destination: dest.rec.name, messageId: publicId(m), newMessageId: moved.id });
          this.notify(dest);
        }
        if (task.pending.size === 0) continue;
        // Rate limit: one round per (simulated) second with a set rate; otherwise yield briefly, or wait for in-flight ones.
        const pause = task.maxNumberOfMessagesPerSecond !== undefined || movedThisRound === 0 ? 1000 : 0;
        if (pause > 0) await this.clock.sleep(pause, this.closing.signal);
        else await new Promise<void>((r) => setImmediate(r));
      }
    } catch (err) {
      if (!this.closed) fail(err instanceof Error ? err.message : String(err));
    } finally {
      if (task.status === 'RUNNING' || task.status === 'CANCELLING') task.status = task.cancelled ? 'CANCELLED' : 'FAILED';
    }
  }
}
