/**
 * The SQS query protocol (form-encoded `Action=SendMessage&QueueUrl=...&Version=2012-11-05`, answered in XML), which
 * older SDKs and CLIs speak (Debian's awscli 2.9, botocore before SQS moved to JSON): each request is translated to
 * the JSON protocol's input, run by the JSON handler (sqs-api.ts: one source of truth for behaviour), and its answer
 * written as SQS's XML.
 *
 * Names and shapes are botocore's query-protocol SQS model (2012-11-05, `protocol: query`) and the SQS API
 * reference: lists and maps are flattened (`AttributeName.1`, `Attribute.1.Name` / `Attribute.1.Value`,
 * `MessageAttribute.1.Value.StringValue`, `SendMessageBatchRequestEntry.1.Id`), and an answer is
 * `<ActionResponse xmlns=...><ActionResult>...</ActionResult><ResponseMetadata><RequestId>` with the same flattened
 * elements (`<Message>` repeated, `<Attribute><Name/><Value/></Attribute>`). Parameters may come in the body
 * (POST, `application/x-www-form-urlencoded`) or the URL's query string (GET, as SQS accepts both); the queue URL may
 * be the request path (`POST /000000000000/my-queue`) instead of the QueueUrl parameter. Parameters outside the model
 * (`Version`, signature parameters, unknown names) are ignored; an Action the JSON handler does not serve is
 * `InvalidAction`.
 */
import { randomUUID } from 'node:crypto';
import { AwsJsonResponse } from './aws-json';
import { SqsError } from './queue-engine';
import { SQS_OPERATIONS, sqsErrorWire } from './sqs-api';

export interface SqsQueryRequest {
  /** The URL's path and query string (without `?`). */
  path: string;
  query: string;
  contentType?: string;
  body: Buffer;
  host?: string;
}

export interface SqsQueryAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Calls the JSON handler with the whole target (`AmazonSQS.SendMessage`) and the JSON input. */
export type SqsJsonCall = (target: string, body: Record<string, unknown>) => Promise<AwsJsonResponse> | AwsJsonResponse;

const NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** A request in the query protocol: no X-Amz-Target (the caller checks), and a form body or `Action` in the URL. */
export function isSqsQueryRequest(contentType: string | undefined, url: string | undefined): boolean {
  if (String(contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded')) return true;
  const q = String(url ?? '').indexOf('?');
  return q >= 0 && new URLSearchParams(String(url).slice(q + 1)).has('Action');
}

// ----- the model: one description of each action's input and output -----

/**
 * A member: its JSON name, its query name (botocore's `locationName`: the element of a flattened list or map, e.g.
 * `Attribute` for `Attributes`), and its shape. Input accepts the JSON name too (`Entries=` is how botocore spells
 * an empty list).
 */
export interface Member {
  json: string;
  wire: string;
  shape: Shape;
}
export type Shape = { kind: 'scalar' } | { kind: 'list'; of: Shape } | { kind: 'map'; key: string; value: string; of: Shape } | { kind: 'struct'; members: Member[] };

const SCALAR: Shape = { kind: 'scalar' };
const scalar = (json: string): Member => ({ json, wire: json, shape: SCALAR });
const list = (json: string, wire: string, of: Shape = SCALAR): Member => ({ json, wire, shape: { kind: 'list', of } });
const map = (json: string, wire: string, key: string, value: string, of: Shape = SCALAR): Member => ({ json, wire, shape: { kind: 'map', key, value, of } });
const struct = (...members: Member[]): Shape => ({ kind: 'struct', members });
const scalars = (...names: string[]) => names.map(scalar);

const QUEUE_URL = scalar('QueueUrl');
// MessageAttributeValue: the list values are in the model (SQS reserves them), the engine refuses them as SQS does.
const ATTRIBUTE_VALUE = struct(scalar('StringValue'), scalar('BinaryValue'), list('StringListValues', 'StringListValue'), list('BinaryListValues', 'BinaryListValue'), scalar('DataType'));
const QUEUE_ATTRIBUTES = map('Attributes', 'Attribute', 'Name', 'Value');
const MESSAGE_ATTRIBUTES = map('MessageAttributes', 'MessageAttribute', 'Name', 'Value', ATTRIBUTE_VALUE);
const SYSTEM_ATTRIBUTES = map('MessageSystemAttributes', 'MessageSystemAttribute', 'Name', 'Value', ATTRIBUTE_VALUE);
const TAGS = (json: string) => map(json, 'Tag', 'Key', 'Value');
const SEND = [scalar('MessageBody'), scalar('DelaySeconds'), MESSAGE_ATTRIBUTES, SYSTEM_ATTRIBUTES, ...scalars('MessageDeduplicationId', 'MessageGroupId')];
const SENT = scalars('MD5OfMessageBody', 'MD5OfMessageAttributes', 'MD5OfMessageSystemAttributes', 'MessageId', 'SequenceNumber');
const FAILED = list('Failed', 'BatchResultErrorEntry', struct(...scalars('Id', 'SenderFault', 'Code', 'Message')));
const batch = (action: string, entry: Member[], result: Member[] = []) => ({
  input: [QUEUE_URL, list('Entries', `${action}RequestEntry`, struct(scalar('Id'), ...entry))],
  output: [list('Successful', `${action}ResultEntry`, struct(scalar('Id'), ...result)), FAILED],
});

/** Every action the JSON protocol serves (SQS_OPERATIONS), input and output in the model's member order. */
export const SQS_QUERY_ACTIONS: Record<string, { input: Member[]; output?: Member[] }> = {
  CreateQueue: { input: [scalar('QueueName'), QUEUE_ATTRIBUTES, TAGS('tags')], output: [QUEUE_URL] },
  DeleteQueue: { input: [QUEUE_URL] },
  GetQueueUrl: { input: scalars('QueueName', 'QueueOwnerAWSAccountId'), output: [QUEUE_URL] },
  ListQueues: { input: scalars('QueueNamePrefix', 'NextToken', 'MaxResults'), output: [list('QueueUrls', 'QueueUrl'), scalar('NextToken')] },
  GetQueueAttributes: { input: [QUEUE_URL, list('AttributeNames', 'AttributeName')], output: [QUEUE_ATTRIBUTES] },
  SetQueueAttributes: { input: [QUEUE_URL, QUEUE_ATTRIBUTES] },
  TagQueue: { input: [QUEUE_URL, TAGS('Tags')] },
  UntagQueue: { input: [QUEUE_URL, list('TagKeys', 'TagKey')] },
  ListQueueTags: { input: [QUEUE_URL], output: [TAGS('Tags')] },
  SendMessage: { input: [QUEUE_URL, ...SEND], output: SENT },
  SendMessageBatch: batch('SendMessageBatch', SEND, [scalar('MessageId'), ...SENT.filter((m) => m.json !== 'MessageId')]),
  ReceiveMessage: {
    input: [
      QUEUE_URL,
      list('AttributeNames', 'AttributeName'),
      list('MessageSystemAttributeNames', 'MessageSystemAttributeName'),
      list('MessageAttributeNames', 'MessageAttributeName'),
      ...scalars('MaxNumberOfMessages', 'VisibilityTimeout', 'WaitTimeSeconds', 'ReceiveRequestAttemptId'),
    ],
    output: [
      list(
        'Messages',
        'Message',
        struct(...scalars('MessageId', 'ReceiptHandle', 'MD5OfBody', 'Body'), map('Attributes', 'Attribute', 'Name', 'Value'), scalar('MD5OfMessageAttributes'), MESSAGE_ATTRIBUTES),
      ),
    ],
  },
  DeleteMessage: { input: [QUEUE_URL, scalar('ReceiptHandle')] },
  DeleteMessageBatch: batch('DeleteMessageBatch', [scalar('ReceiptHandle')]),
  ChangeMessageVisibility: { input: [QUEUE_URL, ...scalars('ReceiptHandle', 'VisibilityTimeout')] },
  ChangeMessageVisibilityBatch: batch('ChangeMessageVisibilityBatch', scalars('ReceiptHandle', 'VisibilityTimeout')),
  PurgeQueue: { input: [QUEUE_URL] },
  // AWSAccountId.N and ActionName.N: the members' locationNames in botocore's query model (flattened lists).
  AddPermission: { input: [QUEUE_URL, scalar('Label'), list('AWSAccountIds', 'AWSAccountId'), list('Actions', 'ActionName')] },
  RemovePermission: { input: [QUEUE_URL, scalar('Label')] },
  ListDeadLetterSourceQueues: { input: [QUEUE_URL, ...scalars('NextToken', 'MaxResults')], output: [list('queueUrls', 'QueueUrl'), scalar('NextToken')] },
  StartMessageMoveTask: { input: scalars('SourceArn', 'DestinationArn', 'MaxNumberOfMessagesPerSecond'), output: [scalar('TaskHandle')] },
  ListMessageMoveTasks: {
    input: scalars('SourceArn', 'MaxResults'),
    output: [
      list(
        'Results',
        'ListMessageMoveTasksResultEntry',
        struct(
          ...scalars('TaskHandle', 'Status', 'SourceArn', 'DestinationArn', 'MaxNumberOfMessagesPerSecond'),
          ...scalars('ApproximateNumberOfMessagesMoved', 'ApproximateNumberOfMessagesToMove', 'FailureReason', 'StartedTimestamp'),
        ),
      ),
    ],
  },
  CancelMessageMoveTask: { input: [scalar('TaskHandle')], output: [scalar('ApproximateNumberOfMessagesMoved')] },
};

// ----- input: flat parameters -> the JSON input -----

/** The parameters as a tree on their dots: `Attribute.1.Name` is Attribute -> 1 -> Name. The first of repeats wins. */
interface Node {
  value?: string;
  children: Map<string, Node>;
}

function parameterTree(params: Iterable<[string, string]>): Node {
  const root: Node = { children: new Map() };
  for (const [key, value] of params) {
    let node = root;
    for (const part of key.split('.')) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { children: new Map() }));
      node = next;
    }
    node.value ??= value;
  }
  return root;
}

/** A flattened list's or map's entries (`.1`, `.2`, ...), in index order; other children are not entries. */
function entries(node: Node): [string, Node][] {
  return [...node.children].filter(([k]) => /^[1-9]\d*$/.test(k)).sort((a, b) => Number(a[0]) - Number(b[0]));
}

const missing = (name: string) => new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);

function readMembers(node: Node, members: Member[], prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of members) {
    const name = [m.wire, m.json].find((n) => node.children.has(n));
    if (name === undefined) continue;
    const value = readShape(node.children.get(name)!, m.shape, prefix + name);
    if (value !== undefined) out[m.json] = value;
  }
  return out;
}

function readShape(node: Node, shape: Shape, name: string): unknown {
  switch (shape.kind) {
    case 'scalar':
      return node.value;
    case 'struct':
      return readMembers(node, shape.members, `${name}.`);
    case 'list': {
      const items = entries(node).map(([i, n]) => readShape(n, shape.of, `${name}.${i}`));
      // `Name=` alone is an empty list (botocore); `AttributeName=All` unnumbered, as the 2009 API spelled it, one item.
      if (node.value !== undefined && node.value !== '' && shape.of.kind === 'scalar') items.unshift(node.value);
      return items.length || node.value !== undefined ? items : undefined;
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [i, n] of entries(node)) {
        const key = n.children.get(shape.key)?.value;
        if (key === undefined) throw missing(`${name}.${i}.${shape.key}`);
        const value = n.children.get(shape.value);
        if (!value) throw missing(`${name}.${i}.${shape.value}`);
        out[key] = readShape(value, shape.of, `${name}.${i}.${shape.value}`);
      }
      return Object.keys(out).length || node.value !== undefined ? out : undefined;
    }
  }
}

// ----- output: the JSON answer -> XML -----

// XML 1.0's Char production; SQS bodies are held to it already, other strings (tags, policies) are made to fit.
const NOT_XML_CHAR = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
// `\r` as a reference: a parser would otherwise turn it (and `\r\n`) into `\n` (XML 1.0 section 2.11), as SQS does.
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#xD;' };

export function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHAR, '\uFFFD').replace(/[&<>"'\r]/g, (c) => ESCAPES[c]);
}

function element(name: string, content: string): string {
  return `<${name}>${content}</${name}>`;
}

function writeMembers(value: Record<string, unknown>, members: Member[]): string {
  let xml = '';
  for (const m of members) {
    const v = value[m.json];
    if (v !== undefined && v !== null) xml += writeShape(v, m.shape, m.wire);
  }
  return xml;
}

function writeShape(value: unknown, shape: Shape, name: string): string {
  switch (shape.kind) {
    case 'scalar':
      return element(name, escapeXml(typeof value === 'string' ? value : String(value)));
    case 'struct':
      return element(name, writeMembers(value as Record<string, unknown>, shape.members));
    case 'list':
      return (value as unknown[]).map((v) => writeShape(v, shape.of, name)).join('');
    case 'map':
      return Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => element(name, element(shape.key, escapeXml(k)) + writeShape(v, shape.of, shape.value)))
        .join('');
  }
}

function answer(status: number, xml: string, requestId: string): SqsQueryAnswer {
  return { status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body: `<?xml version="1.0"?>${xml}` };
}

/** SQS's XML error: `<ErrorResponse><Error><Type/><Code/><Message/><Detail/></Error><RequestId/></ErrorResponse>`. */
export function sqsQueryError(code: string, message: string, status: number, requestId: string = randomUUID()): SqsQueryAnswer {
  const error = element('Type', status >= 500 ? 'Receiver' : 'Sender') + element('Code', escapeXml(code)) + element('Message', escapeXml(message)) + '<Detail/>';
  return answer(status, `<ErrorResponse xmlns="${NAMESPACE}">${element('Error', error)}${element('RequestId', requestId)}</ErrorResponse>`, requestId);
}

/** The JSON handler's error in the query protocol: its code is the one the JSON answer gives in x-amzn-query-error. */
function fromJsonError(json: AwsJsonResponse, requestId: string): SqsQueryAnswer {
  const body = (json.body ?? {}) as { __type?: unknown; message?: unknown };
  const name = String(body.__type ?? 'InternalFailure').split('#').pop()!;
  const header = Object.entries(json.headers ?? {}).find(([k]) => k.toLowerCase() === 'x-amzn-query-error')?.[1];
  const code = header ? header.split(';')[0] : sqsErrorWire(name).queryCode;
  return sqsQueryError(code, String(body.message ?? ''), json.status, requestId);
}

// ----- one request -----

/**
 * Answers one query-protocol request through `call` (the JSON handler). Throws only what `call` throws (the
 * endpoint answers that 500 InternalFailure).
 */
export async function handleSqsQuery(request: SqsQueryRequest, call: SqsJsonCall): Promise<SqsQueryAnswer> {
  const requestId = randomUUID();
  const params: [string, string][] = [];
  if (String(request.contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded')) params.push(...new URLSearchParams(request.body.toString('utf8')));
  params.push(...new URLSearchParams(request.query));
  const tree = parameterTree(params);

  const action = tree.children.get('Action')?.value;
  // CommonErrors.html: MissingAction and InvalidAction, both 400.
  if (!action) return sqsQueryError('MissingAction', 'The request must contain the parameter Action.', 400, requestId);
  const model = Object.hasOwn(SQS_QUERY_ACTIONS, action) && SQS_OPERATIONS.includes(action) ? SQS_QUERY_ACTIONS[action] : undefined;
  if (!model) return sqsQueryError('InvalidAction', `The action ${action} is not valid for this endpoint.`, 400, requestId);

  let input: Record<string, unknown>;
  try {
    input = readMembers(tree, model.input, '');
  } catch (error) {
    if (!(error instanceof SqsError)) throw error;
    const { queryCode, status } = sqsErrorWire(error.code);
    return sqsQueryError(queryCode, error.message, status, requestId);
  }
  // The queue's own URL as the endpoint: `POST /000000000000/my-queue` without QueueUrl.
  if (input.QueueUrl === undefined && model.input.includes(QUEUE_URL) && request.path && request.path !== '/') {
    input.QueueUrl = `http://${request.host ?? '127.0.0.1'}${request.path}`;
  }

  const json = await call(`AmazonSQS.${action}`, input);
  if (json.status >= 300) return fromJsonError(json, requestId);
  const result = model.output ? element(`${action}Result`, writeMembers((json.body ?? {}) as Record<string, unknown>, model.output)) : '';
  const metadata = element('ResponseMetadata', element('RequestId', requestId));
  return answer(json.status, `<${action}Response xmlns="${NAMESPACE}">${result}${metadata}</${action}Response>`, requestId);
}
