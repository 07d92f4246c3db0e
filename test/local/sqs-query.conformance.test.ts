/**
 * SQS's query protocol (form-encoded `Action=...`, XML answers) on the AWS endpoint, over the real QueueEngine:
 * hand-built requests whose parameters are spelled as botocore's query-protocol SQS model (botocore before 1.34,
 * read, not copied: flattened lists and maps) serializes them and the SQS API reference documents them, and XML
 * answers checked element by element against the reference's examples and that model's output shapes
 * (`<ActionResponse><ActionResult>`, `<Message>` repeated, `<Attribute><Name/><Value/></Attribute>`, the batch result
 * entries, `<ErrorResponse><Error><Type/><Code/><Message/><Detail/></Error><RequestId/>`). The XML is read by the
 * small strict parser below (no XML library is installed). Behaviour is the JSON handler's: where both protocols
 * answer, the test compares them (MD5s).
 */
import { createHash } from 'node:crypto';
import { systemClock } from '../../local/clock';
import { AwsEndpoint } from '../../local/endpoint';
import { QueueEngine } from '../../local/engines/queue-engine';
import { handleSqsRequest, SQS_OPERATIONS } from '../../local/engines/sqs-api';
import { SQS_QUERY_ACTIONS } from '../../local/engines/sqs-query';
import { eventually } from '../support/eventually';

const NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';
const REGION = 'us-east-1';
const SCALE = 100;

let engine: QueueEngine;
let endpoint: AwsEndpoint;
let url = '';
const errors: unknown[] = [];

beforeAll(async () => {
  engine = new QueueEngine({ clock: systemClock(SCALE), region: REGION });
  const unused = () => ({ status: 400, body: { __type: 'UnknownOperationException', message: 'not in this test' } });
  endpoint = new AwsEndpoint({
    sqs: (target, body, { signal }) => handleSqsRequest(engine, target, body, { endpoint: url, region: REGION, signal }),
    events: unused,
    stepFunctions: unused,
    dynamodbEndpoint: 'http://127.0.0.1:1',
    onError: (error) => errors.push(error),
  });
  url = await endpoint.listen(0);
});
afterAll(async () => {
  await endpoint.close();
  engine.close();
});
afterEach(() => expect(errors).toEqual([]));

// ----- a small strict XML reader: elements, attributes, text, the five entities and character references -----

interface Xml {
  name: string;
  attributes: Record<string, string>;
  children: Xml[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function parseXml(source: string): Xml {
  // End-of-line handling (XML 1.0 section 2.11), as every parser does: only `&#xD;` keeps a carriage return.
  const doc = source.replace(/\r\n?/g, '\n');
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`not well-formed XML (${what}) at ${i}: ${JSON.stringify(doc.slice(i, i + 60))}`);
  };
  const decode = (text: string) => {
    if (text.includes('<') || /&(?!(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);)/.test(text)) fail('a bare & or <');
    return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (_, e: string) =>
      e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e],
    );
  };
  const open = /<([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"<]*")*)\s*(\/?)>/y;
  const element = (): Xml => {
    open.lastIndex = i;
    const m = open.exec(doc) ?? fail('expected a start tag');
    i = open.lastIndex;
    const attributes: Record<string, string> = {};
    for (const [, k, v] of m[2].matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) attributes[k] = decode(v);
    const node: Xml = { name: m[1], attributes, children: [], text: '' };
    if (m[3]) return node;
    for (;;) {
      if (doc.startsWith(`</${node.name}>`, i)) {
        i += node.name.length + 3;
        return node;
      }
      if (doc.startsWith('</', i)) fail(`expected </${node.name}>`);
      if (doc[i] === '<') node.children.push(element());
      else {
        const end = doc.indexOf('<', i);
        if (end < 0) fail('unclosed element');
        node.text += decode(doc.slice(i, end));
        i = end;
      }
    }
  };
  const declaration = /<\?xml[^?]*\?>\s*/y;
  if (declaration.exec(doc)) i = declaration.lastIndex;
  const root = element();
  if (doc.slice(i).trim() !== '') fail('content after the root element');
  return root;
}

const kids = (node: Xml, name: string) => node.children.filter((c) => c.name === name);
const names = (node: Xml) => node.children.map((c) => c.name);
function one(node: Xml, ...path: string[]): Xml {
  for (const name of path) {
    const found = kids(node, name);
    if (found.length !== 1) throw new Error(`expected one <${name}> in <${node.name}>, found ${found.length}: ${names(node).join(', ')}`);
    node = found[0];
  }
  return node;
}
const text = (node: Xml, ...path: string[]) => one(node, ...path).text;
/** A flattened map (`<Attribute><Name/><Value/></Attribute>` repeated) as an object. */
const pairs = (node: Xml, element: string, key = 'Name', value = 'Value') => Object.fromEntries(kids(node, element).map((e) => [text(e, key), text(e, value)]));

// ----- requests -----

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  xml: Xml;
}

type Params = Record<string, string> | [string, string][];

/** A query-protocol request as botocore sends it: POST, form-encoded, `Version=2012-11-05`. */
async function query(params: Params, options: { method?: 'GET' | 'POST'; path?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const form = new URLSearchParams(params);
  if (!form.has('Version')) form.append('Version', '2012-11-05');
  const get = options.method === 'GET';
  const res = await fetch(`${url}${options.path ?? '/'}${get ? `?${form}` : ''}`, {
    method: options.method ?? 'POST',
    headers: get ? options.headers : { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...options.headers },
    body: get ? undefined : form.toString(),
  });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, xml: parseXml(body) };
}

/** The `<ActionResult>` of a successful answer (undefined for actions without output), its envelope checked. */
function result(answer: Answer, action: string): Xml | undefined {
  expect([answer.status, answer.headers.get('content-type'), answer.xml.name, answer.xml.attributes.xmlns]).toEqual([200, 'text/xml', `${action}Response`, NAMESPACE]);
  // The actions whose answer has no result (no output shape in the model): only the metadata.
  const output = !['DeleteQueue', 'SetQueueAttributes', 'TagQueue', 'UntagQueue', 'DeleteMessage', 'ChangeMessageVisibility', 'PurgeQueue', 'AddPermission', 'RemovePermission'].includes(action);
  expect(names(answer.xml)).toEqual(output ? [`${action}Result`, 'ResponseMetadata'] : ['ResponseMetadata']);
  expect(text(answer.xml, 'ResponseMetadata', 'RequestId')).toBe(answer.headers.get('x-amzn-requestid'));
  return output ? one(answer.xml, `${action}Result`) : undefined;
}
const ok = async (action: string, params: Record<string, string> = {}, options?: Parameters<typeof query>[1]) => result(await query({ Action: action, ...params }, options), action)!;

function failure(answer: Answer): { status: number; type: string; code: string; message: string } {
  expect([answer.headers.get('content-type'), answer.xml.name, answer.xml.attributes.xmlns, names(answer.xml)]).toEqual(['text/xml', 'ErrorResponse', NAMESPACE, ['Error', 'RequestId']]);
  const error = one(answer.xml, 'Error');
  expect(names(error)).toEqual(['Type', 'Code', 'Message', 'Detail']);
  expect(one(error, 'Detail')).toMatchObject({ children: [], text: '' });
  expect(text(answer.xml, 'RequestId')).toBe(answer.headers.get('x-amzn-requestid'));
  return { status: answer.status, type: text(error, 'Type'), code: text(error, 'Code'), message: text(error, 'Message') };
}

/** The JSON protocol on the same endpoint, for comparison. */
async function json(operation: string, body: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await fetch(url, { method: 'POST', headers: { 'x-amz-target': `AmazonSQS.${operation}`, 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

let counter = 0;
async function newQueue(params: Record<string, string> = {}): Promise<{ name: string; url: string; path: string; arn: string }> {
  const name = `query-${++counter}`;
  const queueUrl = text((await ok('CreateQueue', { QueueName: name, ...params })), 'QueueUrl');
  return { name, url: queueUrl, path: new URL(queueUrl).pathname, arn: `arn:aws:sqs:${REGION}:000000000000:${name}` };
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

// ----- the cases -----

test('every action the JSON protocol serves has a query-protocol model, and none other', () => {
  expect(Object.keys(SQS_QUERY_ACTIONS).sort()).toEqual([...SQS_OPERATIONS].sort());
});

describe('queues', () => {
  test('CreateQueue (Attribute.N.Name/Value, Tag.N.Key/Value) answers <CreateQueueResult><QueueUrl>; GetQueueUrl finds it', async () => {
    const created = await ok('CreateQueue', {
      QueueName: 'query-created',
      'Attribute.1.Name': 'VisibilityTimeout',
      'Attribute.1.Value': '45',
      'Attribute.2.Name': 'DelaySeconds',
      'Attribute.2.Value': '2',
      'Tag.1.Key': 'team',
      'Tag.1.Value': 'orders',
    });
    expect(names(created)).toEqual(['QueueUrl']);
    const queueUrl = `${url}/000000000000/query-created`;
    expect(text(created, 'QueueUrl')).toBe(queueUrl);
    expect(text(await ok('GetQueueUrl', { QueueName: 'query-created' }), 'QueueUrl')).toBe(queueUrl);
    // What the JSON protocol sees: the same queue.
    expect((await json('GetQueueAttributes', { QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout', 'DelaySeconds'] })).Attributes).toEqual({ VisibilityTimeout: '45', DelaySeconds: '2' });
    expect((await json('ListQueueTags', { QueueUrl: queueUrl })).Tags).toEqual({ team: 'orders' });
    // Idempotent with the same attributes; QueueAlreadyExists (the query code of QueueNameExists) with others.
    expect((await query({ Action: 'CreateQueue', QueueName: 'query-created', 'Attribute.1.Name': 'VisibilityTimeout', 'Attribute.1.Value': '45', 'Attribute.2.Name': 'DelaySeconds', 'Attribute.2.Value': '2' })).status).toBe(200);
    expect(failure(await query({ Action: 'CreateQueue', QueueName: 'query-created', 'Attribute.1.Name': 'VisibilityTimeout', 'Attribute.1.Value': '46' }))).toMatchObject({ status: 400, type: 'Sender', code: 'QueueAlreadyExists' });
  });

  test('ListQueues: <QueueUrl> repeated, QueueNamePrefix, MaxResults and NextToken', async () => {
    for (const n of ['list-a', 'list-b', 'list-c']) await ok('CreateQueue', { QueueName: n });
    const all = await ok('ListQueues', { QueueNamePrefix: 'list-' });
    expect(names(all)).toEqual(['QueueUrl', 'QueueUrl', 'QueueUrl']);
    expect(kids(all, 'QueueUrl').map((n) => n.text)).toEqual(['list-a', 'list-b', 'list-c'].map((n) => `${url}/000000000000/${n}`));
    const first = await ok('ListQueues', { QueueNamePrefix: 'list-', MaxResults: '2' });
    expect(names(first)).toEqual(['QueueUrl', 'QueueUrl', 'NextToken']);
    const rest = await ok('ListQueues', { QueueNamePrefix: 'list-', MaxResults: '2', NextToken: text(first, 'NextToken') });
    expect(kids(rest, 'QueueUrl').map((n) => n.text)).toEqual([`${url}/000000000000/list-c`]);
    // Nothing found: an empty result element.
    expect(names(await ok('ListQueues', { QueueNamePrefix: 'no-such-prefix' }))).toEqual([]);
  });

  test('GetQueueAttributes: AttributeName.1=All gives every <Attribute><Name/><Value/></Attribute>; named ones give those', async () => {
    const q = await newQueue({ 'Attribute.1.Name': 'VisibilityTimeout', 'Attribute.1.Value': '5' });
    const all = await ok('GetQueueAttributes', { QueueUrl: q.url, 'AttributeName.1': 'All' });
    expect(new Set(names(all))).toEqual(new Set(['Attribute']));
    for (const a of kids(all, 'Attribute')) expect(names(a)).toEqual(['Name', 'Value']);
    const attributes = pairs(all, 'Attribute');
    expect(attributes).toMatchObject({ QueueArn: q.arn, VisibilityTimeout: '5', DelaySeconds: '0', MaximumMessageSize: '1048576', ApproximateNumberOfMessages: '0' });
    expect(attributes).toEqual((await json('GetQueueAttributes', { QueueUrl: q.url, AttributeNames: ['All'] })).Attributes);
    const named = await ok('GetQueueAttributes', { QueueUrl: q.url, 'AttributeName.1': 'QueueArn', 'AttributeName.2': 'VisibilityTimeout' });
    expect(pairs(named, 'Attribute')).toEqual({ QueueArn: q.arn, VisibilityTimeout: '5' });
    // No names: an empty result, as the JSON protocol answers {}.
    expect(names(await ok('GetQueueAttributes', { QueueUrl: q.url }))).toEqual([]);
    expect(failure(await query({ Action: 'GetQueueAttributes', QueueUrl: q.url, 'AttributeName.1': 'NoSuchAttribute' }))).toMatchObject({ status: 400, code: 'InvalidAttributeName' });
  });

  test('SetQueueAttributes answers an empty <SetQueueAttributesResponse> and sets the attributes', async () => {
    const q = await newQueue();
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage', Resource: q.arn }] });
    expect(await ok('SetQueueAttributes', { QueueUrl: q.url, 'Attribute.1.Name': 'VisibilityTimeout', 'Attribute.1.Value': '90', 'Attribute.2.Name': 'Policy', 'Attribute.2.Value': policy })).toBeUndefined();
    // A JSON document as a value comes back intact (quotes and all, escaped in the XML).
    expect(pairs(await ok('GetQueueAttributes', { QueueUrl: q.url, 'AttributeName.1': 'VisibilityTimeout', 'AttributeName.2': 'Policy' }), 'Attribute')).toEqual({ VisibilityTimeout: '90', Policy: policy });
  });

  test('tags: TagQueue (Tag.N.Key/Value), ListQueueTags (<Tag><Key/><Value/></Tag>), UntagQueue (TagKey.N)', async () => {
    const q = await newQueue();
    expect(await ok('TagQueue', { QueueUrl: q.url, 'Tag.1.Key': 'env', 'Tag.1.Value': 'dev', 'Tag.2.Key': 'owner', 'Tag.2.Value': 'Zoë & co <ops>' })).toBeUndefined();
    const listed = await ok('ListQueueTags', { QueueUrl: q.url });
    for (const t of kids(listed, 'Tag')) expect(names(t)).toEqual(['Key', 'Value']);
    expect(pairs(listed, 'Tag', 'Key', 'Value')).toEqual({ env: 'dev', owner: 'Zoë & co <ops>' });
    expect(await ok('UntagQueue', { QueueUrl: q.url, 'TagKey.1': 'env' })).toBeUndefined();
    expect(pairs(await ok('ListQueueTags', { QueueUrl: q.url }), 'Tag', 'Key', 'Value')).toEqual({ owner: 'Zoë & co <ops>' });
  });

  test('AddPermission (Label, AWSAccountId.N, ActionName.N) and RemovePermission answer empty; the Policy attribute shows the statement, then none', async () => {
    const q = await newQueue();
    expect(await ok('AddPermission', { QueueUrl: q.url, Label: 'readers', 'AWSAccountId.1': '111122223333', 'AWSAccountId.2': '444455556666', 'ActionName.1': 'ReceiveMessage', 'ActionName.2': 'DeleteMessage' })).toBeUndefined();
    const policy = JSON.parse(pairs(await ok('GetQueueAttributes', { QueueUrl: q.url, 'AttributeName.1': 'Policy' }), 'Attribute').Policy);
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Sid: 'readers', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:root'] }, Action: ['SQS:ReceiveMessage', 'SQS:DeleteMessage'], Resource: q.arn }),
    ]);
    expect(await ok('RemovePermission', { QueueUrl: q.url, Label: 'readers' })).toBeUndefined();
    expect(pairs(await ok('GetQueueAttributes', { QueueUrl: q.url, 'AttributeName.1': 'Policy' }), 'Attribute').Policy).toBeUndefined();
  });

  test('PurgeQueue empties the queue; DeleteQueue removes it (then AWS.SimpleQueueService.NonExistentQueue)', async () => {
    const q = await newQueue();
    await ok('SendMessage', { QueueUrl: q.url, MessageBody: 'to purge' });
    expect(await ok('PurgeQueue', { QueueUrl: q.url })).toBeUndefined();
    expect(pairs(await ok('GetQueueAttributes', { QueueUrl: q.url, 'AttributeName.1': 'ApproximateNumberOfMessages' }), 'Attribute')).toEqual({ ApproximateNumberOfMessages: '0' });
    expect(await ok('DeleteQueue', { QueueUrl: q.url })).toBeUndefined();
    expect(failure(await query({ Action: 'GetQueueUrl', QueueName: q.name }))).toEqual({ status: 400, type: 'Sender', code: 'AWS.SimpleQueueService.NonExistentQueue', message: 'The specified queue does not exist.' });
  });
});

describe('messages', () => {
  const attributes = {
    'MessageAttribute.1.Name': 'kind',
    'MessageAttribute.1.Value.DataType': 'String',
    'MessageAttribute.1.Value.StringValue': 'order <placed> & "paid"',
    'MessageAttribute.2.Name': 'amount',
    'MessageAttribute.2.Value.DataType': 'Number',
    'MessageAttribute.2.Value.StringValue': '12.50',
    'MessageAttribute.3.Name': 'blob',
    'MessageAttribute.3.Value.DataType': 'Binary',
    'MessageAttribute.3.Value.BinaryValue': Buffer.from([0, 1, 2, 0xfb, 0xef, 0xff]).toString('base64'),
    'MessageAttribute.4.Name': 'custom',
    'MessageAttribute.4.Value.DataType': 'String.json',
    'MessageAttribute.4.Value.StringValue': '{"a":1}',
  };
  const jsonAttributes = {
    kind: { DataType: 'String', StringValue: 'order <placed> & "paid"' },
    amount: { DataType: 'Number', StringValue: '12.50' },
    blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2, 0xfb, 0xef, 0xff]).toString('base64') },
    custom: { DataType: 'String.json', StringValue: '{"a":1}' },
  };
  // Any character SQS allows: #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF; and XML's own.
  const body = 'héllo wörld ✓ 😀 \u2028 \uE000\uFFFD <tag a="x"> & ]]> \'q\'\r\n\ttabbed\rcr\n';

  test('SendMessage answers MD5OfMessageBody, MD5OfMessageAttributes and MessageId, the same MD5s as the JSON protocol', async () => {
    const q = await newQueue();
    const sent = await ok('SendMessage', { QueueUrl: q.url, MessageBody: body, ...attributes });
    expect(names(sent)).toEqual(['MD5OfMessageBody', 'MD5OfMessageAttributes', 'MessageId']);
    expect(text(sent, 'MessageId')).toMatch(/^[0-9a-f-]{36}$/);
    expect(text(sent, 'MD5OfMessageBody')).toBe(md5(body));
    const viaJson = await json('SendMessage', { QueueUrl: q.url, MessageBody: body, MessageAttributes: jsonAttributes });
    expect([text(sent, 'MD5OfMessageBody'), text(sent, 'MD5OfMessageAttributes')]).toEqual([viaJson.MD5OfMessageBody, viaJson.MD5OfMessageAttributes]);
    // The attributes in another order hash the same (SQS sorts them by name).
    const reordered = Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k.replace(/^MessageAttribute\.(\d)/, (_, i) => `MessageAttribute.${5 - Number(i)}`), v]));
    expect(text(await ok('SendMessage', { QueueUrl: q.url, MessageBody: body, ...reordered }), 'MD5OfMessageAttributes')).toBe(viaJson.MD5OfMessageAttributes);
    // A system attribute (MessageSystemAttribute.N): MD5OfMessageSystemAttributes, as over JSON.
    const traced = await ok('SendMessage', {
      QueueUrl: q.url,
      MessageBody: 'traced',
      'MessageSystemAttribute.1.Name': 'AWSTraceHeader',
      'MessageSystemAttribute.1.Value.DataType': 'String',
      'MessageSystemAttribute.1.Value.StringValue': 'Root=1-5759e988-bd862e3fe1be46a994272793',
    });
    const tracedJson = await json('SendMessage', { QueueUrl: q.url, MessageBody: 'traced', MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' } } });
    expect(names(traced)).toEqual(['MD5OfMessageBody', 'MD5OfMessageSystemAttributes', 'MessageId']);
    expect(text(traced, 'MD5OfMessageSystemAttributes')).toBe(tracedJson.MD5OfMessageSystemAttributes);
  });

  test('ReceiveMessage: <Message> with its <Attribute>s and <MessageAttribute>s (string, number, binary), every character intact', async () => {
    const q = await newQueue();
    const sent = await ok('SendMessage', { QueueUrl: q.url, MessageBody: body, DelaySeconds: '0', ...attributes });
    const received = await ok('ReceiveMessage', { QueueUrl: q.url, 'AttributeName.1': 'All', 'MessageAttributeName.1': 'All', MaxNumberOfMessages: '10' });
    expect(names(received)).toEqual(['Message']);
    const message = one(received, 'Message');
    const order = names(message).filter((n, i, all) => all.indexOf(n) === i);
    expect(order).toEqual(['MessageId', 'ReceiptHandle', 'MD5OfBody', 'Body', 'Attribute', 'MD5OfMessageAttributes', 'MessageAttribute']);
    expect(text(message, 'MessageId')).toBe(text(sent, 'MessageId'));
    expect(text(message, 'Body')).toBe(body);
    expect(text(message, 'MD5OfBody')).toBe(md5(body));
    expect(text(message, 'MD5OfMessageAttributes')).toBe(text(sent, 'MD5OfMessageAttributes'));
    const system = pairs(message, 'Attribute');
    expect(Object.keys(system).sort()).toEqual(['ApproximateFirstReceiveTimestamp', 'ApproximateReceiveCount', 'SenderId', 'SentTimestamp']);
    expect(system).toMatchObject({ ApproximateReceiveCount: '1', SenderId: '000000000000' });
    // <MessageAttribute><Name/><Value><StringValue/>|<BinaryValue/><DataType/></Value></MessageAttribute>
    const values = Object.fromEntries(
      kids(message, 'MessageAttribute').map((a) => {
        expect(names(a)).toEqual(['Name', 'Value']);
        return [text(a, 'Name'), Object.fromEntries(one(a, 'Value').children.map((c) => [c.name, c.text]))];
      }),
    );
    expect(values).toEqual(jsonAttributes);
    expect(Object.keys(values.blob)).toEqual(['BinaryValue', 'DataType']);
    expect(Buffer.from(values.blob.BinaryValue, 'base64')).toEqual(Buffer.from([0, 1, 2, 0xfb, 0xef, 0xff]));

    // Named attributes only (MessageAttributeName.N, MessageSystemAttributeName.N); none asked: none given.
    await ok('ChangeMessageVisibility', { QueueUrl: q.url, ReceiptHandle: text(message, 'ReceiptHandle'), VisibilityTimeout: '0' });
    const named = one(await ok('ReceiveMessage', { QueueUrl: q.url, 'MessageAttributeName.1': 'amount', 'MessageAttributeName.2': 'custom', 'MessageSystemAttributeName.1': 'SentTimestamp' }), 'Message');
    expect(kids(named, 'MessageAttribute').map((a) => text(a, 'Name'))).toEqual(['amount', 'custom']);
    expect(Object.keys(pairs(named, 'Attribute'))).toEqual(['SentTimestamp']);
    await ok('ChangeMessageVisibility', { QueueUrl: q.url, ReceiptHandle: text(named, 'ReceiptHandle'), VisibilityTimeout: '0' });
    const bare = one(await ok('ReceiveMessage', { QueueUrl: q.url }), 'Message');
    expect(names(bare)).toEqual(['MessageId', 'ReceiptHandle', 'MD5OfBody', 'Body']);
    // Nothing to receive: an empty <ReceiveMessageResult/>.
    expect(names(await ok('ReceiveMessage', { QueueUrl: q.url, WaitTimeSeconds: '0' }))).toEqual([]);
  });

  test('a send, receive and delete over the query protocol, the queue addressed by the request path', async () => {
    const q = await newQueue();
    const sent = await ok('SendMessage', { MessageBody: 'path-addressed' }, { path: q.path });
    const message = one(await ok('ReceiveMessage', { VisibilityTimeout: '30' }, { path: q.path }), 'Message');
    expect([text(message, 'MessageId'), text(message, 'Body')]).toEqual([text(sent, 'MessageId'), 'path-addressed']);
    expect(await ok('DeleteMessage', { ReceiptHandle: text(message, 'ReceiptHandle') }, { path: q.path })).toBeUndefined();
    const counts = pairs(await ok('GetQueueAttributes', { 'AttributeName.1': 'ApproximateNumberOfMessages', 'AttributeName.2': 'ApproximateNumberOfMessagesNotVisible' }, { path: q.path }), 'Attribute');
    expect(counts).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
    // A QueueUrl parameter wins over the path; a path that is not a queue's is an address SQS does not know.
    expect(await ok('PurgeQueue', { QueueUrl: q.url }, { path: '/000000000000/elsewhere' })).toBeUndefined();
    expect(failure(await query({ Action: 'PurgeQueue' }, { path: '/000000000000/no-such-queue' }))).toMatchObject({ status: 400, code: 'AWS.SimpleQueueService.NonExistentQueue' });
    expect(failure(await query({ Action: 'PurgeQueue' }, { path: '/not/a/queue/path' }))).toMatchObject({ status: 404, code: 'InvalidAddress' });
  });

  test('parameters in a GET query string, and a POST with x-amzn-query-mode, are the same request', async () => {
    const q = await newQueue();
    const viaGet = result(await query({ Action: 'SendMessage', QueueUrl: q.url, MessageBody: 'by GET é&=+' }, { method: 'GET' }), 'SendMessage')!;
    expect(text(viaGet, 'MD5OfMessageBody')).toBe(md5('by GET é&=+'));
    await ok('SendMessage', { QueueUrl: q.url, MessageBody: 'by POST' }, { headers: { 'x-amzn-query-mode': 'true' } });
    const received = result(await query({ Action: 'ReceiveMessage', MaxNumberOfMessages: '10' }, { method: 'GET', path: q.path }), 'ReceiveMessage')!;
    expect(kids(received, 'Message').map((m) => text(m, 'Body')).sort()).toEqual(['by GET é&=+', 'by POST']);
  });

  test('SendMessageBatch: <SendMessageBatchResultEntry> for a success, <BatchResultErrorEntry> for a failed entry', async () => {
    const q = await newQueue();
    const batch = await ok('SendMessageBatch', {
      QueueUrl: q.url,
      'SendMessageBatchRequestEntry.1.Id': 'good',
      'SendMessageBatchRequestEntry.1.MessageBody': 'first',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Name': 'k',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType': 'String',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue': 'v',
      'SendMessageBatchRequestEntry.2.Id': 'bad',
      'SendMessageBatchRequestEntry.2.MessageBody': 'second',
      'SendMessageBatchRequestEntry.2.MessageAttribute.1.Name': 'n',
      'SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType': 'Number',
      'SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue': 'not a number',
      'SendMessageBatchRequestEntry.3.Id': 'delayed',
      'SendMessageBatchRequestEntry.3.MessageBody': 'third',
      'SendMessageBatchRequestEntry.3.DelaySeconds': '1',
    });
    expect(names(batch)).toEqual(['SendMessageBatchResultEntry', 'SendMessageBatchResultEntry', 'BatchResultErrorEntry']);
    const [good, delayed] = kids(batch, 'SendMessageBatchResultEntry');
    expect(names(good)).toEqual(['Id', 'MessageId', 'MD5OfMessageBody', 'MD5OfMessageAttributes']);
    const viaJson = await json('SendMessage', { QueueUrl: q.url, MessageBody: 'first', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } });
    expect([text(good, 'Id'), text(good, 'MD5OfMessageBody'), text(good, 'MD5OfMessageAttributes')]).toEqual(['good', md5('first'), viaJson.MD5OfMessageAttributes]);
    expect([text(delayed, 'Id'), names(delayed)]).toEqual(['delayed', ['Id', 'MessageId', 'MD5OfMessageBody']]);
    const failed = one(batch, 'BatchResultErrorEntry');
    expect(names(failed)).toEqual(['Id', 'SenderFault', 'Code', 'Message']);
    expect([text(failed, 'Id'), text(failed, 'SenderFault'), text(failed, 'Code')]).toEqual(['bad', 'true', 'InvalidParameterValue']);
    expect(text(failed, 'Message')).toContain("Can't cast");
  });

  test('batch refusals: no entries, an empty list (Entries=), 11 entries, repeated ids', async () => {
    const q = await newQueue();
    expect(failure(await query({ Action: 'SendMessageBatch', QueueUrl: q.url }))).toMatchObject({ status: 400, code: 'MissingParameter' });
    // botocore spells an empty list as its member name with no value.
    expect(failure(await query({ Action: 'DeleteMessageBatch', QueueUrl: q.url, Entries: '' }))).toMatchObject({ status: 400, code: 'AWS.SimpleQueueService.EmptyBatchRequest' });
    const eleven: [string, string][] = [['Action', 'SendMessageBatch'], ['QueueUrl', q.url]];
    for (let i = 1; i <= 11; i++) eleven.push([`SendMessageBatchRequestEntry.${i}.Id`, `e${i}`], [`SendMessageBatchRequestEntry.${i}.MessageBody`, 'x']);
    expect(failure(await query(eleven))).toMatchObject({ status: 400, code: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest' });
    const repeated = { Action: 'SendMessageBatch', QueueUrl: q.url, 'SendMessageBatchRequestEntry.1.Id': 'a', 'SendMessageBatchRequestEntry.1.MessageBody': 'x', 'SendMessageBatchRequestEntry.2.Id': 'a', 'SendMessageBatchRequestEntry.2.MessageBody': 'y' };
    expect(failure(await query(repeated))).toMatchObject({ status: 400, code: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' });
  });

  test('DeleteMessageBatch, ChangeMessageVisibility and ChangeMessageVisibilityBatch: their result entries and failures', async () => {
    const q = await newQueue();
    for (const b of ['one', 'two', 'three']) await ok('SendMessage', { QueueUrl: q.url, MessageBody: b });
    const messages = kids(await ok('ReceiveMessage', { QueueUrl: q.url, MaxNumberOfMessages: '10', VisibilityTimeout: '600' }), 'Message');
    expect(messages).toHaveLength(3);
    const handle = (i: number) => text(messages[i], 'ReceiptHandle');

    expect(await ok('ChangeMessageVisibility', { QueueUrl: q.url, ReceiptHandle: handle(0), VisibilityTimeout: '700' })).toBeUndefined();
    const changed = await ok('ChangeMessageVisibilityBatch', {
      QueueUrl: q.url,
      'ChangeMessageVisibilityBatchRequestEntry.1.Id': 'back',
      'ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle': handle(1),
      'ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout': '0',
      'ChangeMessageVisibilityBatchRequestEntry.2.Id': 'garbage',
      'ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle': 'not-a-handle',
      'ChangeMessageVisibilityBatchRequestEntry.2.VisibilityTimeout': '0',
    });
    expect(names(changed)).toEqual(['ChangeMessageVisibilityBatchResultEntry', 'BatchResultErrorEntry']);
    expect(names(one(changed, 'ChangeMessageVisibilityBatchResultEntry'))).toEqual(['Id']);
    expect(text(changed, 'ChangeMessageVisibilityBatchResultEntry', 'Id')).toBe('back');
    expect(text(changed, 'BatchResultErrorEntry', 'Id')).toBe('garbage');
    expect(text(changed, 'BatchResultErrorEntry', 'Code')).toBe('ReceiptHandleIsInvalid');
    // The message made visible again is the one received now.
    const again = one(await ok('ReceiveMessage', { QueueUrl: q.url, MaxNumberOfMessages: '10', VisibilityTimeout: '600' }), 'Message');
    expect(text(again, 'Body')).toBe(text(messages[1], 'Body'));

    const deleted = await ok('DeleteMessageBatch', {
      QueueUrl: q.url,
      'DeleteMessageBatchRequestEntry.1.Id': 'd0',
      'DeleteMessageBatchRequestEntry.1.ReceiptHandle': handle(0),
      'DeleteMessageBatchRequestEntry.2.Id': 'd1',
      'DeleteMessageBatchRequestEntry.2.ReceiptHandle': text(again, 'ReceiptHandle'),
      'DeleteMessageBatchRequestEntry.3.Id': 'd2',
      'DeleteMessageBatchRequestEntry.3.ReceiptHandle': handle(2),
      'DeleteMessageBatchRequestEntry.4.Id': 'bogus',
      'DeleteMessageBatchRequestEntry.4.ReceiptHandle': 'bogus',
    });
    expect(kids(deleted, 'DeleteMessageBatchResultEntry').map((e) => text(e, 'Id'))).toEqual(['d0', 'd1', 'd2']);
    expect([text(deleted, 'BatchResultErrorEntry', 'Id'), text(deleted, 'BatchResultErrorEntry', 'SenderFault'), text(deleted, 'BatchResultErrorEntry', 'Code')]).toEqual(['bogus', 'true', 'ReceiptHandleIsInvalid']);
    expect(pairs(await ok('GetQueueAttributes', { QueueUrl: q.url, 'AttributeName.1': 'All' }), 'Attribute')).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });
});

describe('dead-letter queues', () => {
  test('ListDeadLetterSourceQueues: <QueueUrl> per source queue', async () => {
    const dlq = await newQueue();
    const redrive = JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 3 });
    const sources = [await newQueue({ 'Attribute.1.Name': 'RedrivePolicy', 'Attribute.1.Value': redrive }), await newQueue({ 'Attribute.1.Name': 'RedrivePolicy', 'Attribute.1.Value': redrive })];
    const listed = await ok('ListDeadLetterSourceQueues', { QueueUrl: dlq.url });
    expect(names(listed)).toEqual(['QueueUrl', 'QueueUrl']);
    expect(kids(listed, 'QueueUrl').map((n) => n.text)).toEqual(sources.map((s) => s.url));
    const page = await ok('ListDeadLetterSourceQueues', { QueueUrl: dlq.url, MaxResults: '1' });
    expect(names(page)).toEqual(['QueueUrl', 'NextToken']);
  });

  test('message move tasks: StartMessageMoveTask <TaskHandle>, ListMessageMoveTasks <ListMessageMoveTasksResultEntry>, CancelMessageMoveTask', async () => {
    const dlq = await newQueue();
    await newQueue({ 'Attribute.1.Name': 'RedrivePolicy', 'Attribute.1.Value': JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }) });
    const elsewhere = await newQueue();
    await ok('SendMessage', { QueueUrl: dlq.url, MessageBody: 'moved' });
    await ok('SendMessage', { QueueUrl: dlq.url, MessageBody: 'held' });
    // One message in flight keeps the task RUNNING (as in test/local/sqs-api.test.ts).
    await ok('ReceiveMessage', { QueueUrl: dlq.url, VisibilityTimeout: '600' });
    const started = await ok('StartMessageMoveTask', { SourceArn: dlq.arn, DestinationArn: elsewhere.arn, MaxNumberOfMessagesPerSecond: '1' });
    expect(names(started)).toEqual(['TaskHandle']);
    const handle = text(started, 'TaskHandle');
    await eventually(async () => expect(pairs(await ok('GetQueueAttributes', { QueueUrl: elsewhere.url, 'AttributeName.1': 'ApproximateNumberOfMessages' }), 'Attribute').ApproximateNumberOfMessages).toBe('1'), 3000, 10);
    const running = one(await ok('ListMessageMoveTasks', { SourceArn: dlq.arn, MaxResults: '10' }), 'ListMessageMoveTasksResultEntry');
    expect(names(running)).toEqual(['TaskHandle', 'Status', 'SourceArn', 'DestinationArn', 'MaxNumberOfMessagesPerSecond', 'ApproximateNumberOfMessagesMoved', 'ApproximateNumberOfMessagesToMove', 'StartedTimestamp']);
    expect(Object.fromEntries(running.children.map((c) => [c.name, c.text]))).toMatchObject({
      TaskHandle: handle,
      Status: 'RUNNING',
      SourceArn: dlq.arn,
      DestinationArn: elsewhere.arn,
      MaxNumberOfMessagesPerSecond: '1',
      ApproximateNumberOfMessagesToMove: '2',
    });
    expect(text(running, 'StartedTimestamp')).toMatch(/^\d{13}$/);
    const cancelled = await ok('CancelMessageMoveTask', { TaskHandle: handle });
    expect([names(cancelled), text(cancelled, 'ApproximateNumberOfMessagesMoved')]).toEqual([['ApproximateNumberOfMessagesMoved'], '1']);
    expect(failure(await query({ Action: 'CancelMessageMoveTask', TaskHandle: 'bm9wZQ==' }))).toMatchObject({ status: 404, code: 'ResourceNotFoundException' });
  });
});

describe('errors: <ErrorResponse> with the query error codes', () => {
  test('a queue that does not exist: 400 Sender AWS.SimpleQueueService.NonExistentQueue', async () => {
    const answer = await query({ Action: 'SendMessage', QueueUrl: `${url}/000000000000/missing`, MessageBody: 'x' });
    expect(failure(answer)).toEqual({ status: 400, type: 'Sender', code: 'AWS.SimpleQueueService.NonExistentQueue', message: 'The specified queue does not exist.' });
  });

  test('an unknown Action is InvalidAction, a missing one MissingAction (400, CommonErrors.html)', async () => {
    expect(failure(await query({ Action: 'PublishMessage' }))).toMatchObject({ status: 400, type: 'Sender', code: 'InvalidAction', message: expect.stringContaining('PublishMessage') });
    // A known action missing its queue: the JSON handler's MissingParameter, not InvalidAction.
    expect(failure(await query({ Action: 'AddPermission', Label: 'l' }))).toMatchObject({ status: 400, code: 'MissingParameter' });
    expect(failure(await query({ Action: 'constructor' }))).toMatchObject({ status: 400, code: 'InvalidAction' });
    expect(failure(await query({ QueueName: 'x' }))).toMatchObject({ status: 400, type: 'Sender', code: 'MissingAction' });
    expect(failure(await query({ Action: '' }, { method: 'GET' }))).toMatchObject({ status: 400, code: 'MissingAction' });
  });

  test('malformed parameters: MissingParameter, InvalidParameterValue, InvalidAddress, from the same checks as the JSON protocol', async () => {
    const q = await newQueue();
    const cases: [Record<string, string>, number, string, string?][] = [
      [{ Action: 'SendMessage', QueueUrl: q.url }, 400, 'MissingParameter', 'MessageBody'],
      [{ Action: 'ReceiveMessage', QueueUrl: q.url, MaxNumberOfMessages: 'ten' }, 400, 'InvalidParameterValue', 'MaxNumberOfMessages'],
      [{ Action: 'ReceiveMessage', QueueUrl: q.url, MaxNumberOfMessages: '11' }, 400, 'InvalidParameterValue'],
      [{ Action: 'SendMessage', QueueUrl: q.url, MessageBody: 'x', 'MessageAttribute.1.Value.DataType': 'String', 'MessageAttribute.1.Value.StringValue': 'v' }, 400, 'MissingParameter', 'MessageAttribute.1.Name'],
      [{ Action: 'SendMessage', QueueUrl: q.url, MessageBody: 'x', 'MessageAttribute.1.Name': 'a' }, 400, 'MissingParameter', 'MessageAttribute.1.Value'],
      [{ Action: 'SendMessage', QueueUrl: q.url, MessageBody: 'x', 'MessageAttribute.1.Name': 'a', 'MessageAttribute.1.Value.StringValue': 'v' }, 400, 'InvalidParameterValue', 'type'],
      [{ Action: 'SetQueueAttributes', QueueUrl: q.url, 'Attribute.1.Name': 'DelaySeconds' }, 400, 'MissingParameter', 'Attribute.1.Value'],
      [{ Action: 'SetQueueAttributes', QueueUrl: q.url, 'Attribute.1.Name': 'DelaySeconds', 'Attribute.1.Value': '-1' }, 400, 'InvalidAttributeValue'],
      [{ Action: 'SetQueueAttributes', QueueUrl: q.url }, 400, 'MissingParameter', 'Attributes'],
      [{ Action: 'DeleteMessage', QueueUrl: 'not a url', ReceiptHandle: 'x' }, 404, 'InvalidAddress'],
      [{ Action: 'DeleteMessage', QueueUrl: q.url, ReceiptHandle: 'x' }, 404, 'ReceiptHandleIsInvalid'],
    ];
    for (const [params, status, code, mention] of cases) {
      const answer = failure(await query(params));
      expect([params, answer.status, answer.type, answer.code]).toEqual([params, status, 'Sender', code]);
      if (mention) expect(answer.message).toContain(mention);
    }
  });
});
