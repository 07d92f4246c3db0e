/**
 * The SQS AWS JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Operation>`, PascalCase JSON bodies) over QueueEngine.
 *
 * handleSqsRequest(engine, 'AmazonSQS.SendMessage', body, { endpoint, region }) returns
 * `{ status, headers, body }` where `body` is a JSON-serializable object: write `JSON.stringify(body)` with the
 * returned headers. Errors are HTTP 4xx with `{"__type":"com.amazonaws.sqs#<Name>","message":...}` and the
 * `x-amzn-query-error: <QueryCode>;Sender` header that the query-compatible AWS SDKs read to pick the error class.
 */
import {
  MAX_MESSAGE_BYTES,
  MessageAttributeValue,
  QueueEngine,
  ReceivedMessage,
  SqsError,
  md5OfMessageAttributes,
  messageSize,
} from './queue-engine';

export interface SqsRequestContext {
  /** Base URL of the endpoint that received the request (queue URLs are built from it), e.g. http://127.0.0.1:4566 */
  endpoint: string;
  /** The region of a request that does not say (no SigV4 Authorization header): the runtime's. */
  region: string;
  /**
   * The request's headers: the region of its signature (`Credential=<key>/<date>/<region>/sqs/aws4_request`, the SDK
   * client's region) picks the queue when a QueueUrl does not name one, and `X-Amzn-Trace-Id` becomes the
   * AWSTraceHeader system attribute of the messages a SendMessage(Batch) sends.
   */
  headers?: Record<string, string | string[] | undefined>;
  /** Aborted when the client goes away: ends a long poll early. */
  signal?: AbortSignal;
}

export interface SqsResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const CONTENT_TYPE = 'application/x-amz-json-1.0';

/** Modeled error name -> [query-protocol code sent in x-amzn-query-error, HTTP status]. */
const ERROR_WIRE: Record<string, [string, number]> = {
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  QueueNameExists: ['QueueAlreadyExists', 400],
  QueueDeletedRecently: ['AWS.SimpleQueueService.QueueDeletedRecently', 400],
  InvalidAddress: ['InvalidAddress', 404],
  ReceiptHandleIsInvalid: ['ReceiptHandleIsInvalid', 404],
  ResourceNotFoundException: ['ResourceNotFoundException', 404],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
  MessageNotInflight: ['AWS.SimpleQueueService.MessageNotInflight', 400],
  PurgeQueueInProgress: ['AWS.SimpleQueueService.PurgeQueueInProgress', 403],
  TooManyEntriesInBatchRequest: ['AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 400],
  BatchEntryIdsNotDistinct: ['AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 400],
  EmptyBatchRequest: ['AWS.SimpleQueueService.EmptyBatchRequest', 400],
  InvalidBatchEntryId: ['AWS.SimpleQueueService.InvalidBatchEntryId', 400],
  BatchRequestTooLong: ['AWS.SimpleQueueService.BatchRequestTooLong', 400],
  OverLimit: ['OverLimit', 403],
  ServiceUnavailable: ['ServiceUnavailable', 503],
  InternalFailure: ['InternalFailure', 500],
};

/** Error names the AWS SDK reports for a given error (test helpers and the fidelity table use this). */
export function sqsErrorWire(code: string): { queryCode: string; status: number } {
  const [queryCode, status] = ERROR_WIRE[code] ?? [code, 400];
  return { queryCode, status };
}

export function sqsErrorResponse(code: string, message: string): SqsResponse {
  const { queryCode, status } = sqsErrorWire(code);
  return {
    status,
    headers: {
      'content-type': CONTENT_TYPE,
      'x-amzn-query-error': `${queryCode};${status >= 500 ? 'Receiver' : 'Sender'}`,
    },
    body: { __type: `com.amazonaws.sqs#${code}`, message },
  };
}

function ok(body: Record<string, unknown>): SqsResponse {
  return { status: 200, headers: { 'content-type': CONTENT_TYPE }, body };
}

// ----- input helpers -----

type Body = Record<string, unknown>;

function missing(name: string): SqsError {
  return new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
}

function str(body: Body, name: string, required: true): string;
function str(body: Body, name: string, required?: false): string | undefined;
function str(body: Body, name: string, required = false): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw missing(name);
    return undefined;
  }
  if (typeof v !== 'string') throw new SqsError('InvalidParameterValue', `Value for parameter ${name} must be a string.`);
  return v;
}

function int(body: Body, name: string, required = false): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw missing(name);
    return undefined;
  }
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new SqsError('InvalidParameterValue', `Value ${String(v)} for parameter ${name} is invalid. Reason: must be an integer.`);
  }
  return n;
}

function strList(body: Body, name: string): string[] | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new SqsError('InvalidParameterValue', `Value for parameter ${name} must be a list of strings.`);
  }
  return v as string[];
}

function strMap(body: Body, name: string): Record<string, string> | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new SqsError('InvalidParameterValue', `Value for parameter ${name} must be a map.`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
      throw new SqsError('InvalidParameterValue', `Value for ${name}.${k} must be a string.`);
    }
    out[k] = String(x);
  }
  return out;
}

function attrMap(v: unknown, name: string): Record<string, MessageAttributeValue> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new SqsError('InvalidParameterValue', `Value for parameter ${name} must be a map.`);
  return v as Record<string, MessageAttributeValue>;
}

function header(ctx: SqsRequestContext, name: string): string | undefined {
  const v = ctx.headers?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The request's region: its SigV4 credential scope's, else the context's. */
function requestRegion(ctx: SqsRequestContext): string {
  const scope = /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\/sqs\/aws4_request/.exec(header(ctx, 'authorization') ?? '');
  return scope?.[1] ?? ctx.region;
}

function queueName(engine: QueueEngine, body: Body, ctx: SqsRequestContext): string {
  return engine.queueNameFromUrl(str(body, 'QueueUrl', true), requestRegion(ctx));
}

function paginate(items: string[], body: Body): { page: string[]; nextToken?: string } {
  const maxResults = int(body, 'MaxResults');
  const token = str(body, 'NextToken');
  if (maxResults !== undefined && (maxResults < 1 || maxResults > 1000)) {
    throw new SqsError('InvalidParameterValue', `Value ${maxResults} for parameter MaxResults is invalid. Reason: Must be between 1 and 1000.`);
  }
  if (token !== undefined && maxResults === undefined) {
    throw new SqsError('InvalidParameterValue', 'MaxResults is a mandatory parameter when you provide a value for NextToken.');
  }
  let start = 0;
  if (token !== undefined) {
    let after: string;
    try {
      after = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { after: string }).after;
    } catch {
      throw new SqsError('InvalidParameterValue', 'Invalid NextToken value.');
    }
    if (typeof after !== 'string') throw new SqsError('InvalidParameterValue', 'Invalid NextToken value.');
    start = items.findIndex((n) => n > after);
    if (start < 0) start = items.length;
  }
  const limit = maxResults ?? 1000;
  const page = items.slice(start, start + limit);
  const more = maxResults !== undefined && start + limit < items.length;
  return {
    page,
    nextToken: more ? Buffer.from(JSON.stringify({ after: page[page.length - 1] })).toString('base64') : undefined,
  };
}

// ----- batches -----

interface BatchEntry {
  Id: string;
  [key: string]: unknown;
}

function batchEntries(body: Body, name: string): BatchEntry[] {
  const v = body[name];
  if (v === undefined || v === null) throw missing(name);
  if (!Array.isArray(v)) throw new SqsError('InvalidParameterValue', `Value for parameter ${name} must be a list.`);
  if (v.length === 0) throw new SqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
  if (v.length > 10) throw new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${v.length}.`);
  const seen = new Set<string>();
  for (const e of v as unknown[]) {
    const id = (e as { Id?: unknown } | null)?.Id;
    if (typeof id !== 'string') throw missing(`${name}.member.Id`);
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw new SqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
    }
    if (seen.has(id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    seen.add(id);
  }
  return v as BatchEntry[];
}

function failure(id: string, err: unknown): Record<string, unknown> {
  const e = err instanceof SqsError ? err : new SqsError('InternalFailure', String(err));
  return { Id: id, SenderFault: e.code !== 'InternalFailure', Code: e.code, Message: e.message };
}

/** A batch answers per entry: each entry succeeds or fails on its own, as SQS does. */
function eachEntry(entries: BatchEntry[], apply: (entry: BatchEntry) => Record<string, unknown> | void) {
  const Successful: Record<string, unknown>[] = [];
  const Failed: Record<string, unknown>[] = [];
  for (const e of entries) {
    try {
      Successful.push({ Id: e.Id, ...(apply(e) ?? {}) });
    } catch (err) {
      Failed.push(failure(e.Id, err));
    }
  }
  return { Successful, Failed };
}

// ----- ReceiveMessage projection -----

const SYSTEM_ATTRIBUTE_NAMES = new Set([
  'All',
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
  'MessageGroupId',
  'MessageDeduplicationId',
  'SequenceNumber',
]);

/**
 * MessageAttributeNames: "All" or ".*" return every attribute (so does "*", as SQS answers), a name its attribute,
 * and `prefix.*` every attribute whose name starts with the prefix (`Hel.*` returns Hello and Help.Me); a name no
 * attribute can have (`AWS.`, `..foo`) selects nothing. API_ReceiveMessage.html, MessageAttributeNames.
 */
function attributeWanted(filter: string, name: string): boolean {
  if (filter === 'All' || filter === '.*' || filter === '*') return true;
  if (filter.endsWith('.*')) return name.startsWith(filter.slice(0, -2));
  return filter === name;
}

function projectMessage(m: ReceivedMessage, systemNames: string[], attributeNames: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    MessageId: m.messageId,
    ReceiptHandle: m.receiptHandle,
    MD5OfBody: m.md5OfBody,
    Body: m.body,
  };
  const allSystem = systemNames.includes('All');
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.attributes)) if (allSystem || systemNames.includes(k)) attrs[k] = v;
  if (Object.keys(attrs).length) out.Attributes = attrs;
  const selected: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(m.messageAttributes)) if (attributeNames.some((n) => attributeWanted(n, k))) selected[k] = v;
  if (Object.keys(selected).length) {
    out.MessageAttributes = selected;
    out.MD5OfMessageAttributes = md5OfMessageAttributes(selected);
  }
  return out;
}

// ----- operations -----

type Handler = (engine: QueueEngine, body: Body, ctx: SqsRequestContext) => Promise<Record<string, unknown>> | Record<string, unknown>;

function taskEntry(t: ReturnType<QueueEngine['listMessageMoveTasks']>[number]): Record<string, unknown> {
  const e: Record<string, unknown> = {
    Status: t.status,
    SourceArn: t.sourceArn,
    ApproximateNumberOfMessagesMoved: t.approximateNumberOfMessagesMoved,
    ApproximateNumberOfMessagesToMove: t.approximateNumberOfMessagesToMove,
    StartedTimestamp: t.startedTimestamp,
  };
  if (t.taskHandle !== undefined) e.TaskHandle = t.taskHandle;
  if (t.destinationArn !== undefined) e.DestinationArn = t.destinationArn;
  if (t.maxNumberOfMessagesPerSecond !== undefined) e.MaxNumberOfMessagesPerSecond = t.maxNumberOfMessagesPerSecond;
  if (t.failureReason !== undefined) e.FailureReason = t.failureReason;
  return e;
}

function sendResult(r: ReturnType<QueueEngine['sendMessage']>): Record<string, unknown> {
  const out: Record<string, unknown> = { MessageId: r.messageId, MD5OfMessageBody: r.md5OfMessageBody };
  if (r.md5OfMessageAttributes) out.MD5OfMessageAttributes = r.md5OfMessageAttributes;
  if (r.md5OfMessageSystemAttributes) out.MD5OfMessageSystemAttributes = r.md5OfMessageSystemAttributes;
  if (r.sequenceNumber) out.SequenceNumber = r.sequenceNumber;
  return out;
}

function sendInput(e: Body, ctx: SqsRequestContext) {
  const body = e.MessageBody;
  if (body === undefined || body === null) throw missing('MessageBody');
  if (typeof body !== 'string') throw new SqsError('InvalidParameterValue', 'Value for parameter MessageBody must be a string.');
  return {
    body,
    delaySeconds: int(e, 'DelaySeconds'),
    messageAttributes: attrMap(e.MessageAttributes, 'MessageAttributes'),
    messageSystemAttributes: attrMap(e.MessageSystemAttributes, 'MessageSystemAttributes'),
    messageGroupId: str(e, 'MessageGroupId'),
    messageDeduplicationId: str(e, 'MessageDeduplicationId'),
    traceHeader: header(ctx, 'x-amzn-trace-id'),
  };
}

const OPERATIONS: Record<string, Handler> = {
  CreateQueue(engine, body, ctx) {
    const name = str(body, 'QueueName', true);
    if (name.includes('/')) throw new SqsError('InvalidParameterValue', 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    const key = engine.queueKey(name, requestRegion(ctx));
    engine.createQueue(key, strMap(body, 'Attributes') ?? {}, strMap(body, 'tags') ?? {});
    return { QueueUrl: engine.queueUrl(key, ctx.endpoint) };
  },
  DeleteQueue(engine, body, ctx) {
    engine.deleteQueue(queueName(engine, body, ctx));
    return {};
  },
  GetQueueUrl(engine, body, ctx) {
    const name = engine.queueKey(str(body, 'QueueName', true), requestRegion(ctx));
    const owner = str(body, 'QueueOwnerAWSAccountId');
    if ((owner !== undefined && owner !== engine.accountId) || !engine.hasQueue(name)) {
      throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    }
    return { QueueUrl: engine.queueUrl(name, ctx.endpoint) };
  },
  ListQueues(engine, body, ctx) {
    const { page, nextToken } = paginate(engine.listQueues(str(body, 'QueueNamePrefix') ?? '', requestRegion(ctx)), body);
    const out: Record<string, unknown> = {};
    if (page.length) out.QueueUrls = page.map((n) => engine.queueUrl(n, ctx.endpoint));
    if (nextToken) out.NextToken = nextToken;
    return out;
  },
  GetQueueAttributes(engine, body, ctx) {
    const names = strList(body, 'AttributeNames') ?? [];
    const name = queueName(engine, body, ctx);
    if (names.length === 0) return {};
    const attrs = engine.getQueueAttributes(name, names);
    return Object.keys(attrs).length ? { Attributes: attrs } : {};
  },
  SetQueueAttributes(engine, body, ctx) {
    const name = queueName(engine, body, ctx);
    const attrs = strMap(body, 'Attributes');
    if (!attrs) throw missing('Attributes');
    engine.setQueueAttributes(name, attrs);
    return {};
  },
  TagQueue(engine, body, ctx) {
    const tags = strMap(body, 'Tags');
    if (!tags) throw missing('Tags');
    engine.tagQueue(queueName(engine, body, ctx), tags);
    return {};
  },
  UntagQueue(engine, body, ctx) {
    const keys = strList(body, 'TagKeys');
    if (!keys) throw missing('TagKeys');
    engine.untagQueue(queueName(engine, body, ctx), keys);
    return {};
  },
  ListQueueTags(engine, body, ctx) {
    const tags = engine.listQueueTags(queueName(engine, body, ctx));
    return Object.keys(tags).length ? { Tags: tags } : {};
  },
  SendMessage(engine, body, ctx) {
    const name = queueName(engine, body, ctx);
    return sendResult(engine.sendMessage(name, sendInput(body, ctx)));
  },
  SendMessageBatch(engine, body, ctx) {
    const name = queueName(engine, body, ctx);
    const entries = batchEntries(body, 'Entries');
    // The whole request fails when the entries together (each body plus its message attributes, as SendMessage
    // counts a message) exceed 1 MiB; each entry is then held to the queue's MaximumMessageSize on its own.
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
    let total = 0;
    for (const e of entries) {
      const attributes = e.MessageAttributes && typeof e.MessageAttributes === 'object' ? (e.MessageAttributes as Record<string, MessageAttributeValue>) : undefined;
      total += messageSize(typeof e.MessageBody === 'string' ? e.MessageBody : '', attributes);
    }
    if (total > MAX_MESSAGE_BYTES) {
      throw new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes. You have sent ${total} bytes.`);
    }
    return eachEntry(entries, (e) => sendResult(engine.sendMessage(name, sendInput(e, ctx))));
  },
  async ReceiveMessage(engine, body, ctx) {
    const name = queueName(engine, body, ctx);
    const systemNames = [...(strList(body, 'MessageSystemAttributeNames') ?? []), ...(strList(body, 'AttributeNames') ?? [])];
    for (const n of systemNames) {
      if (!SYSTEM_ATTRIBUTE_NAMES.has(n)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${n}.`);
    }
    const attributeNames = strList(body, 'MessageAttributeNames') ?? [];
    const messages = await engine.receiveMessage(name, {
      maxNumberOfMessages: int(body, 'MaxNumberOfMessages'),
      visibilityTimeout: int(body, 'VisibilityTimeout'),
      waitTimeSeconds: int(body, 'WaitTimeSeconds'),
      receiveRequestAttemptId: str(body, 'ReceiveRequestAttemptId'),
      signal: ctx.signal,
    });
    return messages.length ? { Messages: messages.map((m) => projectMessage(m, systemNames, attributeNames)) } : {};
  },
  DeleteMessage(engine, body, ctx) {
    engine.deleteMessage(queueName(engine, body, ctx), str(body, 'ReceiptHandle', true));
    return {};
  },
  DeleteMessageBatch(engine, body, ctx) {
    const name = queueName(engine, body, ctx);
    return eachEntry(batchEntries(body, 'Entries'), (e) => {
      engine.deleteMessage(name, str(e, 'ReceiptHandle', true));
    });
  },
  ChangeMessageVisibility(engine, body, ctx) {
    engine.changeMessageVisibility(queueName(engine, body, ctx), str(body, 'ReceiptHandle', true), int(body, 'VisibilityTimeout', true)!);
    return {};
  },
  ChangeMessageVisibilityBatch(engine, body, ctx) {
    const name = queueName(engine, body, ctx);
    return eachEntry(batchEntries(body, 'Entries'), (e) => {
      engine.changeMessageVisibility(name, str(e, 'ReceiptHandle', true), int(e, 'VisibilityTimeout', true)!);
    });
  },
  AddPermission(engine, body, ctx) {
    const name = queueName(engine, body, ctx);
    engine.addPermission(name, str(body, 'Label', true), strList(body, 'AWSAccountIds') ?? [], strList(body, 'Actions') ?? []);
    return {};
  },
  RemovePermission(engine, body, ctx) {
    engine.removePermission(queueName(engine, body, ctx), str(body, 'Label', true));
    return {};
  },
  PurgeQueue(engine, body, ctx) {
    engine.purgeQueue(queueName(engine, body, ctx));
    return {};
  },
  ListDeadLetterSourceQueues(engine, body, ctx) {
    const name = queueName(engine, body, ctx);
    const { page, nextToken } = paginate(engine.listDeadLetterSourceQueues(name), body);
    const out: Record<string, unknown> = { queueUrls: page.map((n) => engine.queueUrl(n, ctx.endpoint)) };
    if (nextToken) out.NextToken = nextToken;
    return out;
  },
  StartMessageMoveTask(engine, body) {
    const handle = engine.startMessageMoveTask({
      sourceArn: str(body, 'SourceArn', true),
      destinationArn: str(body, 'DestinationArn'),
      maxNumberOfMessagesPerSecond: int(body, 'MaxNumberOfMessagesPerSecond'),
    });
    return { TaskHandle: handle };
  },
  ListMessageMoveTasks(engine, body) {
    const tasks = engine.listMessageMoveTasks(str(body, 'SourceArn', true), int(body, 'MaxResults') ?? 1);
    return { Results: tasks.map(taskEntry) };
  },
  CancelMessageMoveTask(engine, body) {
    return { ApproximateNumberOfMessagesMoved: engine.cancelMessageMoveTask(str(body, 'TaskHandle', true)) };
  },
};

/** The operations this endpoint implements. */
export const SQS_OPERATIONS = Object.keys(OPERATIONS);

/** Handles one SQS JSON 1.0 request. `target` is the X-Amz-Target header, e.g. `AmazonSQS.SendMessage`. */
export async function handleSqsRequest(
  engine: QueueEngine,
  target: string,
  body: unknown,
  ctx: SqsRequestContext,
): Promise<SqsResponse> {
  const [prefix, operation] = String(target ?? '').split('.');
  const handler = prefix === 'AmazonSQS' && operation ? OPERATIONS[operation] : undefined;
  if (!handler) {
    const r = sqsErrorResponse('UnknownOperationException', `Operation ${target} is not supported by the local SQS endpoint.`);
    r.body.__type = 'com.amazon.coral.service#UnknownOperationException';
    return r;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return sqsErrorResponse('InvalidParameterValue', 'The request body must be a JSON object.');
  }
  try {
    return ok(await handler(engine, body as Body, ctx));
  } catch (err) {
    if (err instanceof SqsError) return sqsErrorResponse(err.code, err.message);
    return sqsErrorResponse('InternalFailure', err instanceof Error ? err.message : String(err));
  }
}
