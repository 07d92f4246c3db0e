/**
 * The AWS endpoint (port 4566) against bad input: AWS JSON error shapes, per-service body caps, the loopback Host
 * check, the admin path, errors thrown by a service, and the DynamoDB pass-through's failure modes. Stub services
 * and a stub "DynamoDB Local" (a plain HTTP server): the engines and the JVM are not needed here.
 */
import { createServer, IncomingMessage, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { AwsEndpoint, EndpointRequestContext } from '../../local/endpoint';
import { AwsJsonResponse } from '../../local/engines/aws-json';
import type { AdminAnswer, AdminRequest } from '../../local/issuer/issuer-api';
import { raw, statusOf } from '../support/raw-http';

type Call = { service: string; name: string; body: Record<string, unknown> };
const calls: Call[] = [];
const errors: [unknown, string][] = [];
let behaviour: (call: Call, context: EndpointRequestContext) => Promise<AwsJsonResponse> | AwsJsonResponse = () => ({ status: 200, body: {} });
const service =
  (name: string) =>
  (operation: string, body: Record<string, unknown>, context: EndpointRequestContext) => {
    const call = { service: name, name: operation, body };
    calls.push(call);
    return behaviour(call, context);
  };

/** Stands in for DynamoDB Local: answers every request with what it received. */
const upstreamRequests: { url?: string; target?: string; body: string; aborted: boolean }[] = [];
let upstreamMode: 'echo' | 'reset' = 'echo';
const upstream: Server = createServer((req, res) => {
  const seen = { url: req.url, target: req.headers['x-amz-target'] as string | undefined, body: '', aborted: false };
  upstreamRequests.push(seen);
  req.on('data', (c) => (seen.body += c));
  req.on('error', () => (seen.aborted = true));
  req.on('end', () => {
    if (upstreamMode === 'reset') return void res.socket?.resetAndDestroy();
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({ echoed: seen.body.length }));
  });
});

let admin: ((request: AdminRequest) => AdminAnswer | undefined) | undefined;
let dynamodbEndpoint = '';
const endpoint = new AwsEndpoint({
  sqs: service('sqs'),
  events: service('events'),
  stepFunctions: service('stepFunctions'),
  get dynamodbEndpoint() {
    return dynamodbEndpoint;
  },
  admin: (request) => admin?.(request),
  onError: (error, context) => errors.push([error, context]),
});
let port = 0;
let url = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  dynamodbEndpoint = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  url = await endpoint.listen(0);
  port = Number(new URL(url).port);
});
afterAll(async () => {
  await endpoint.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});
beforeEach(() => {
  calls.length = 0;
  errors.length = 0;
  upstreamRequests.length = 0;
  upstreamMode = 'echo';
  behaviour = () => ({ status: 200, body: {} });
});

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  json: { __type?: string; message?: string } & Record<string, unknown>;
}

function send(options: { target?: string; body?: string | Buffer; headers?: Record<string, string | number>; method?: string; path?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { connection: 'close', ...(options.target ? { 'x-amz-target': options.target } : {}), ...options.headers };
    const req = request({ host: '127.0.0.1', port, method: options.method ?? 'POST', path: options.path ?? '/', headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        let json = {};
        try {
          json = JSON.parse(body);
        } catch {
          // not JSON: the test says so
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const JSON_1_0 = 'application/x-amz-json-1.0';
const JSON_1_1 = 'application/x-amz-json-1.1';
const MiB = 1024 * 1024;

/** A JSON object of exactly `size` bytes. */
function jsonOfSize(size: number, key = 'MessageBody'): string {
  const shell = JSON.stringify({ QueueUrl: 'q', [key]: '' });
  return JSON.stringify({ QueueUrl: 'q', [key]: 'a'.repeat(size - shell.length) });
}

describe('AWS JSON error shapes (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-faqs.html)', () => {
  test('no X-Amz-Target and not the query protocol: 400 UnsupportedProtocol', async () => {
    expect(await send({ body: '{}' })).toMatchObject({ status: 400, json: { __type: 'UnsupportedProtocol', message: expect.stringContaining('X-Amz-Target') } });
    expect(await send({ method: 'GET', path: '/?Version=2012-11-05' })).toMatchObject({ status: 400, json: { __type: 'UnsupportedProtocol' } });
    expect(calls).toHaveLength(0);
  });

  test('an unknown service: 400 UnknownService; an unknown operation goes to its service (which answers it)', async () => {
    expect(await send({ target: 'AmazonSNS.Publish', body: '{}' })).toMatchObject({ status: 400, json: { __type: 'UnknownService' } });
    expect(await send({ target: 'Garbage', body: '{}' })).toMatchObject({ status: 400, json: { __type: 'UnknownService' } });
    await send({ target: 'AWSEvents.NoSuchOperation', body: '{}' });
    expect(calls).toEqual([{ service: 'events', name: 'NoSuchOperation', body: {} }]);
  });

  test.each([
    ['AmazonSQS.SendMessage', JSON_1_0],
    ['AWSEvents.PutEvents', JSON_1_1],
    ['AWSStepFunctions.StartExecution', JSON_1_0],
  ])('%s: a body that is not a JSON object is 400 SerializationException (%s), never reaching the service', async (target, contentType) => {
    for (const body of ['{bad', '{"a":', '\u0000', 'null', '[]', '"text"', '42']) {
      const answer = await send({ target, body });
      expect([body, answer.status, answer.json.__type, answer.headers['content-type']]).toEqual([body, 400, 'SerializationException', contentType]);
    }
    expect(calls).toHaveLength(0);
    // An empty body is an empty structure, as the SDK sends for operations without input.
    expect((await send({ target })).status).toBe(200);
  });

  // InternalFailure, HTTP 500: https://docs.aws.amazon.com/sqs/latest/APIReference/CommonErrors.html
  test('a service that throws is logged (onError) and answered 500 InternalFailure in its content type', async () => {
    behaviour = () => {
      throw new Error('engine bug');
    };
    const sqs = await send({ target: 'AmazonSQS.SendMessage', body: '{}' });
    expect(sqs).toMatchObject({ status: 500, json: { __type: 'InternalFailure', message: expect.stringContaining('engine bug') } });
    expect(sqs.headers).toMatchObject({ 'content-type': JSON_1_0, 'x-amzn-query-error': 'InternalFailure;Receiver' });
    behaviour = () => Promise.reject(new Error('async engine bug'));
    const events = await send({ target: 'AWSEvents.PutEvents', body: '{}' });
    expect(events).toMatchObject({ status: 500, json: { __type: 'InternalFailure' }, headers: { 'content-type': JSON_1_1 } });
    // An answer that cannot be written (a BigInt body, a status Node refuses) is the service's failure too.
    behaviour = () => ({ status: 200, body: { n: BigInt(1) } });
    expect((await send({ target: 'AWSStepFunctions.DescribeExecution', body: '{}' })).status).toBe(500);
    behaviour = () => ({ status: 99, body: {} });
    expect((await send({ target: 'AWSStepFunctions.DescribeExecution', body: '{}' })).status).toBe(500);
    expect(errors.map(([e, c]) => [c, (e as Error).message])).toEqual([
      ['AmazonSQS.SendMessage', 'engine bug'],
      ['AWSEvents.PutEvents', 'async engine bug'],
      ['AWSStepFunctions.DescribeExecution', expect.stringContaining('BigInt')],
      ['AWSStepFunctions.DescribeExecution', expect.stringContaining('Invalid status code')],
    ]);
  });

  test('the SDK reads that 500 as InternalFailure, a server fault', async () => {
    behaviour = () => {
      throw new Error('engine bug');
    };
    const sqs = new SQSClient({ endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      await expect(sqs.send(new SendMessageCommand({ QueueUrl: `${url}/000000000000/q`, MessageBody: 'x' }))).rejects.toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    } finally {
      sqs.destroy();
    }
  });

  test('a client that leaves aborts the call’s signal (an SQS long poll ends early)', async () => {
    let signal: AbortSignal | undefined;
    behaviour = (_call, context) => {
      signal = context.signal;
      return new Promise((resolve) => context.signal.addEventListener('abort', () => resolve({ status: 200, body: {} })));
    };
    await raw(port, 'POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: 2\r\n\r\n{}', { then: 'destroy', timeoutMs: 100 });
    await new Promise((r) => setTimeout(r, 50));
    expect(signal?.aborted).toBe(true);
  });
});

describe('SQS query protocol (form-encoded Action=..., engines/sqs-query.ts)', () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };

  test('a form-encoded request reaches the SQS service as its JSON input, and the answer is XML', async () => {
    behaviour = () => ({ status: 200, body: { MD5OfMessageBody: 'm', MessageId: 'id-1' } });
    const answer = await send({ body: 'Action=SendMessage&Version=2012-11-05&MessageBody=h%C3%A9+llo&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v', headers: { ...form, 'x-amzn-query-mode': 'true' }, path: '/000000000000/q' });
    expect(calls).toEqual([{ service: 'sqs', name: 'AmazonSQS.SendMessage', body: { QueueUrl: `http://127.0.0.1:${port}/000000000000/q`, MessageBody: 'hé llo', MessageAttributes: { a: { DataType: 'String', StringValue: 'v' } } } }]);
    expect([answer.status, answer.headers['content-type']]).toEqual([200, 'text/xml']);
    expect(answer.body).toBe(
      `<?xml version="1.0"?><SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><SendMessageResult><MD5OfMessageBody>m</MD5OfMessageBody><MessageId>id-1</MessageId></SendMessageResult><ResponseMetadata><RequestId>${answer.headers['x-amzn-requestid']}</RequestId></ResponseMetadata></SendMessageResponse>`,
    );
    // GET with the parameters in the URL, no content type.
    await send({ method: 'GET', path: '/?Action=ListQueues&QueueNamePrefix=a' });
    expect(calls[1]).toEqual({ service: 'sqs', name: 'AmazonSQS.ListQueues', body: { QueueNamePrefix: 'a' } });
  });

  test('a service that throws is logged and answered 500 InternalFailure in the XML error shape', async () => {
    behaviour = () => {
      throw new Error('engine bug');
    };
    const answer = await send({ body: 'Action=PurgeQueue&QueueUrl=q', headers: form });
    expect([answer.status, answer.headers['content-type']]).toEqual([500, 'text/xml']);
    expect(answer.body).toContain('<Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>The request processing has failed');
    expect(errors.map(([e, c]) => [c, (e as Error).message])).toEqual([['SQS query protocol', 'engine bug']]);
  });

  test('a non-loopback Host is 403 AccessDenied in XML; MissingAction and InvalidAction never reach the service', async () => {
    const denied = await send({ body: 'Action=ListQueues', headers: { ...form, host: 'attacker.example' } });
    expect([denied.status, denied.headers['content-type']]).toEqual([403, 'text/xml']);
    expect(denied.body).toContain('<Code>AccessDenied</Code>');
    expect((await send({ body: 'QueueUrl=q', headers: form })).body).toContain('<Code>MissingAction</Code>');
    expect((await send({ body: 'Action=Explode', headers: form })).body).toContain('<Code>InvalidAction</Code>');
    expect(calls).toHaveLength(0);
  });

  // A form spells a payload byte in at most 3 characters (%XX), a binary attribute's byte in at most 4 (base64's +, /
  // and = are %2B, %2F, %3D): the cap is 4 x 1 MiB + 64 KiB.
  const cap = 4 * MiB + 64 * 1024;
  test(`a form body of exactly ${cap} bytes reaches the service, one byte more is 413 in XML`, async () => {
    const shell = 'Action=SendMessage&QueueUrl=q&MessageBody=';
    expect((await send({ body: shell + 'a'.repeat(cap - shell.length), headers: form })).status).toBe(200);
    const over = await send({ body: shell + 'a'.repeat(cap + 1 - shell.length), headers: form });
    expect([over.status, over.headers['content-type'], over.headers.connection]).toEqual([413, 'text/xml', 'close']);
    expect(over.body).toContain('<Code>RequestEntityTooLargeException</Code>');
    expect(calls).toHaveLength(1);
  });

  test('the cap passes the largest message a form can spell: a 1 MiB binary attribute whose base64 is all +', async () => {
    // 0xFB 0xEF 0xBE is "++++" in base64; with the 1-byte body, name and "Binary" the message is just under 1 MiB.
    const bytes = Buffer.alloc(Math.floor((MiB - 8) / 3) * 3, Buffer.from([0xfb, 0xef, 0xbe]));
    const form64 = new URLSearchParams({ Action: 'SendMessage', QueueUrl: 'q', MessageBody: 'x', 'MessageAttribute.1.Name': 'b', 'MessageAttribute.1.Value.DataType': 'Binary', 'MessageAttribute.1.Value.BinaryValue': bytes.toString('base64') }).toString();
    expect(form64.length).toBeGreaterThan(4 * (MiB - 64));
    expect((await send({ body: form64, headers: form })).status).toBe(200);
    // Buffer.equals: jest's toEqual walks a 1 MiB buffer byte by byte for seconds.
    expect(Buffer.from((calls[0].body.MessageAttributes as Record<string, { BinaryValue: string }>).b.BinaryValue, 'base64').equals(bytes)).toBe(true);
  });
});

describe('body caps: 413 RequestEntityTooLargeException, nothing beyond the cap is read', () => {
  // SQS 1 MiB (quotas-messages.html); PutEvents entries < 256 KB (eb-putevent-size.html); Step Functions requests
  // 1 MB (service-quotas.html); BatchWriteItem 16 MB (API_BatchWriteItem.html). Caps: 6x the payload + 64 KiB.
  const caps: [string, number][] = [
    ['AmazonSQS.SendMessageBatch', 6 * MiB + 64 * 1024],
    ['AWSEvents.PutEvents', 6 * 256 * 1024 + 64 * 1024],
    ['AWSStepFunctions.StartExecution', MiB],
  ];

  test.each(caps)('%s: a body of exactly %i bytes reaches the service, one byte more does not', async (target, cap) => {
    expect((await send({ target, body: jsonOfSize(cap) })).status).toBe(200);
    const over = await send({ target, body: jsonOfSize(cap + 1) });
    expect(over).toMatchObject({ status: 413, json: { __type: 'RequestEntityTooLargeException' } });
    expect(over.headers.connection).toBe('close');
    // Declared and never sent: answered from the headers alone.
    const declared = await raw(port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: ${target}\r\nContent-Length: ${cap + 1}\r\nExpect: 100-continue\r\n\r\n`);
    expect([statusOf(declared), declared.includes('100 Continue')]).toEqual([413, false]);
    expect(calls).toHaveLength(1);
  });

  test('the SQS cap passes the largest message JSON can spell: 1 MiB written 6 bytes per byte (\\u00XX)', async () => {
    const body = JSON.stringify({ QueueUrl: `${url}/000000000000/q`, MessageBody: '\u0001'.repeat(MiB), DelaySeconds: 0, MessageAttributes: { a: { DataType: 'String', StringValue: 'v' } } });
    expect(body.length).toBeGreaterThan(6 * MiB);
    expect((await send({ target: 'AmazonSQS.SendMessage', body })).status).toBe(200);
  });

  test('DynamoDB: a body over 17 MiB is refused, declared or streamed, and DynamoDB Local sees no complete request', async () => {
    const declared = await raw(port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.BatchWriteItem\r\nContent-Length: ${17 * MiB + 1}\r\n\r\n{"Req`);
    expect(statusOf(declared)).toBe(413);
    const streamed = await send({ target: 'DynamoDB_20120810.BatchWriteItem', body: Buffer.alloc(17 * MiB + 1, 'a') });
    expect(streamed).toMatchObject({ status: 413, json: { __type: 'RequestEntityTooLargeException' } });
    await new Promise((r) => setTimeout(r, 50));
    expect(upstreamRequests.every((r) => r.aborted)).toBe(true);
  });
});

describe('loopback Host names only (DNS rebinding)', () => {
  test('127.0.0.1, localhost and [::1], with or without the port, are served; anything else is 403 AccessDeniedException', async () => {
    for (const host of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `localhost:${port}`, '[::1]', `[::1]:${port}`]) {
      expect([host, (await send({ target: 'AmazonSQS.ListQueues', body: '{}', headers: { host } })).status]).toEqual([host, 200]);
    }
    for (const host of ['attacker.example', `attacker.example:${port}`, '127.0.0.1.nip.io', '10.0.0.1']) {
      const answer = await send({ target: 'AWSEvents.PutEvents', body: '{}', headers: { host } });
      expect([host, answer.status, answer.json.__type, answer.headers['content-type']]).toEqual([host, 403, 'AccessDeniedException', JSON_1_1]);
    }
    // Not forwarded to DynamoDB either, and the admin path is not served.
    expect((await send({ target: 'DynamoDB_20120810.ListTables', body: '{}', headers: { host: 'attacker.example' } })).status).toBe(403);
    expect((await send({ method: 'GET', path: '/_local/faults', headers: { host: 'attacker.example' } })).status).toBe(403);
    expect(statusOf(await raw(port, 'POST / HTTP/1.0\r\nX-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: 2\r\n\r\n{}'))).toBe(200);
    expect(calls).toHaveLength(7);
    expect(upstreamRequests).toHaveLength(0);
  });
});

describe('admin path', () => {
  test('GET /_local/faults answers what admin() gives; other /_local paths and methods are 404 JSON', async () => {
    admin = ({ method, path }) => (method === 'GET' && path === '/_local/faults' ? { status: 200, body: { injected: { 'dynamodb.throttling': 2 } } } : undefined);
    expect(await send({ method: 'GET', path: '/_local/faults?x=1' })).toMatchObject({ status: 200, json: { injected: { 'dynamodb.throttling': 2 } }, headers: { 'content-type': 'application/json' } });
    for (const [method, path] of [
      ['GET', '/_local/nothing'],
      ['GET', '/_local'],
      ['POST', '/_local/faults'],
    ]) {
      expect(await send({ method, path })).toMatchObject({ status: 404, json: { __type: 'NotFound' } });
    }
    admin = undefined;
    expect((await send({ method: 'GET', path: '/_local/faults' })).status).toBe(404);
    // An admin hook that throws is logged and answered 500, as any error escaping a request.
    admin = () => {
      throw new Error('admin bug');
    };
    expect(await send({ method: 'GET', path: '/_local/faults' })).toMatchObject({ status: 500, json: { __type: 'InternalFailure' } });
    expect(errors).toEqual([[expect.objectContaining({ message: 'admin bug' }), 'GET /_local/faults']]);
  });

  test('a POST to a /_local path reaches admin() with its JSON body parsed; a body that is not JSON is 400, one over 64 KiB 413', async () => {
    const seen: AdminRequest[] = [];
    admin = (request) => (seen.push(request), { status: 200, body: { ok: true } });
    expect(await send({ method: 'POST', path: '/_local/issuer/token', body: '{"sub":"c-1"}' })).toMatchObject({ status: 200, json: { ok: true } });
    expect(seen).toEqual([{ method: 'POST', path: '/_local/issuer/token', body: { sub: 'c-1' }, query: '', headers: expect.objectContaining({ 'content-length': '13' }) }]);
    expect(await send({ method: 'POST', path: '/_local/issuer/token', body: '{"sub":' })).toMatchObject({ status: 400, json: { __type: 'SerializationException' } });
    expect((await send({ method: 'POST', path: '/_local/issuer/token', body: 'x'.repeat(64 * 1024 + 1) })).status).toBe(413);
    expect(seen).toHaveLength(1);
    admin = undefined;
  });
});

describe('DynamoDB pass-through', () => {
  test('requests are forwarded unchanged (no faults: streamed, not buffered)', async () => {
    const body = JSON.stringify({ TableName: 't', Item: { pk: { S: 'é'.repeat(1000) } } });
    const answer = await send({ target: 'DynamoDB_20120810.PutItem', body });
    expect(answer).toMatchObject({ status: 200, json: { echoed: body.length } });
    expect(upstreamRequests).toEqual([{ url: '/', target: 'DynamoDB_20120810.PutItem', body, aborted: false }]);
  });

  test('DynamoDB Local unreachable or resetting: 500 InternalFailure or a cut answer, logged, and the endpoint lives', async () => {
    upstreamMode = 'reset';
    await expect(send({ target: 'DynamoDBStreams_20120810.ListStreams', body: '{}' })).resolves.toMatchObject({ status: 500, json: { __type: 'InternalFailure' } });
    const saved = dynamodbEndpoint;
    dynamodbEndpoint = 'http://127.0.0.1:1';
    try {
      expect(await send({ target: 'DynamoDB_20120810.ListTables', body: '{}' })).toMatchObject({ status: 500, json: { __type: 'InternalFailure', message: expect.stringContaining('ECONNREFUSED') } });
    } finally {
      dynamodbEndpoint = saved;
    }
    expect(errors.map(([, c]) => c)).toEqual(['forwarding DynamoDBStreams_20120810.ListStreams to DynamoDB Local', 'forwarding DynamoDB_20120810.ListTables to DynamoDB Local']);
    upstreamMode = 'echo';
    expect((await send({ target: 'DynamoDB_20120810.ListTables', body: '{}' })).status).toBe(200);
  });

  test('a client that leaves mid-body does not leave DynamoDB Local waiting', async () => {
    const head = 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: 1000\r\n\r\n';
    await raw(port, [head, '{"TableName":', ''], { delayMs: 30, then: 'destroy', timeoutMs: 200 });
    await new Promise((r) => setTimeout(r, 50));
    expect(upstreamRequests).toMatchObject([{ body: '{"TableName":', aborted: true }]);
    // Ending the upstream request because the client left is not an error worth the live log.
    expect(errors).toEqual([]);
  });
});
