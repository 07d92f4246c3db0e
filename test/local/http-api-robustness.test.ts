/**
 * The HTTP API port against bad input: each case is answered as API Gateway answers it, and the process lives on.
 * HttpApiEngine is built directly, with stub invokers; the server listens on 127.0.0.1, port 0.
 */
import { request } from 'node:http';
import { HTTP_API_MAX_PAYLOAD_BYTES, HttpApiEngine, HttpRoute } from '../../local/engines/http-api';
import { Invoker, InvokeResult } from '../../local/engines/invoker';
import { bodyOf, raw, statusOf } from '../support/raw-http';
import { localOperator } from '../../local/provision/http-api';

const events: Record<string, unknown>[] = [];
const errors: [unknown, string][] = [];
const logged: { status: number; path: string }[] = [];
const stub = (name: string, answer: (event: Record<string, unknown>) => Promise<InvokeResult> | InvokeResult): Invoker => ({
  name,
  invoke: async (event) => {
    events.push(event as Record<string, unknown>);
    return answer(event as Record<string, unknown>);
  },
});
const ok = (result: unknown): InvokeResult => ({ ok: true, result, durationMs: 1 });
const routes: HttpRoute[] = [
  { routeKey: 'GET /orders/{orderId}', invoker: stub('get', (e) => ok({ orderId: (e.pathParameters as Record<string, string>).orderId })) },
  { routeKey: 'POST /orders', invoker: stub('post', (e) => ok({ length: String(e.body ?? '').length })) },
  { routeKey: 'GET /operator', invoker: stub('operator', () => ok({})), authorizer: localOperator('000000000000') },
  { routeKey: 'GET /throws', invoker: stub('throws', () => Promise.reject(new Error('adapter bug'))) },
  { routeKey: 'GET /bad-status', invoker: stub('badStatus', () => ok({ statusCode: 1000, body: 'x' })) },
  { routeKey: 'GET /bad-header', invoker: stub('badHeader', () => ok({ statusCode: 200, headers: { 'x-bad': 'a\nb' }, body: 'x' })) },
  { routeKey: 'GET /binary', invoker: stub('binary', () => ok({ statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, isBase64Encoded: true, body: Buffer.from([0, 0x80, 0xff, 0x41]).toString('base64') })) },
];
const api = new HttpApiEngine({ routes, accountId: '000000000000', region: 'us-east-1', onError: (e, c) => errors.push([e, c]), onRequest: (i) => logged.push(i) });
let port = 0;

beforeAll(async () => {
  port = Number(new URL(await api.listen(0)).port);
});
afterAll(() => api.close());
beforeEach(() => {
  events.length = 0;
  errors.length = 0;
});

/** One request over its own connection, as `curl` sends it. */
function http(path: string, options: { method?: string; headers?: Record<string, string | number>; body?: Buffer | string } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { connection: 'close', ...options.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function stillServes(): Promise<void> {
  const answer = await http('/orders/o-1');
  expect(answer).toMatchObject({ status: 200, body: '{"orderId":"o-1"}' });
}

// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html (path parameters are decoded);
// an undecodable path is answered 400 {"message":"Bad Request"} by API Gateway (observed behaviour, no document).
test.each(['/orders/%FF', '/orders/%E2%82', '/orders/%', '/orders/%zz', '/nowhere/%C0'])('%s: 400 Bad Request, no invocation, the process lives', async (path) => {
  const answer = await http(path);
  expect(answer.status).toBe(400);
  expect(JSON.parse(answer.body)).toEqual({ message: 'Bad Request' });
  expect(events).toHaveLength(0);
  await stillServes();
});

test('a percent-encoded path parameter is decoded once (%2F stays inside the segment)', async () => {
  expect((await http('/orders/a%2Fb%20c')).body).toBe('{"orderId":"a/b c"}');
});

test('request targets: absolute-form is served by its path, `*` is 400, `//x` matches no route (404)', async () => {
  expect(bodyOf(await raw(port, `GET http://127.0.0.1:${port}/orders/abs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`))).toBe('{"orderId":"abs"}');
  expect(statusOf(await raw(port, 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'))).toBe(400);
  expect(statusOf(await raw(port, 'GET //x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'))).toBe(404);
});

test('only loopback Host names are served (DNS rebinding): anything else is 403 {"message":"Forbidden"}', async () => {
  for (const host of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `LOCALHOST:${port}`, '[::1]', `[::1]:${port}`]) {
    expect([host, (await http('/orders/o', { headers: { host } })).status]).toEqual([host, 200]);
  }
  for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.nip.io', 'localhost.evil.example', '0.0.0.0', '127.0.0.2']) {
    const answer = await http('/orders/o', { headers: { host } });
    expect([host, answer.status, answer.body]).toEqual([host, 403, '{"message":"Forbidden"}']);
  }
  expect(statusOf(await raw(port, 'GET /orders/o HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n'))).toBe(403);
  // HTTP/1.0 may leave Host out.
  expect(statusOf(await raw(port, 'GET /orders/o HTTP/1.0\r\n\r\n'))).toBe(200);
  expect(events.length).toBe(7);
});

// Payload size 10 MB: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
test('a body of exactly 10 MiB reaches the function; one byte more is 413 {"message":"Request Entity Too Large"}', async () => {
  const limit = HTTP_API_MAX_PAYLOAD_BYTES;
  expect((await http('/orders', { method: 'POST', body: Buffer.alloc(limit, 'a') })).body).toBe(`{"length":${limit}}`);
  // Streamed (chunked, no Content-Length): refused once the 10 MiB are exceeded.
  const streamed = await http('/orders', { method: 'POST', body: Buffer.alloc(limit + 1, 'a') });
  expect(streamed).toMatchObject({ status: 413, body: '{"message":"Request Entity Too Large"}' });
  expect(events).toHaveLength(1);
  await stillServes();
});

test('a declared Content-Length over the limit is refused before the body is read; with Expect: 100-continue it is never sent', async () => {
  const declared = await raw(port, `POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\npartial`);
  expect(statusOf(declared)).toBe(413);
  const expectContinue = await raw(port, `POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${HTTP_API_MAX_PAYLOAD_BYTES + 1}\r\nExpect: 100-continue\r\n\r\n`);
  expect(statusOf(expectContinue)).toBe(413);
  expect(expectContinue).not.toContain('100 Continue');
  expect(events).toHaveLength(0);
});

test('an integration that throws is logged (onError) and answered 500 {"message":"Internal Server Error"}', async () => {
  expect(await http('/throws')).toMatchObject({ status: 500, body: '{"message":"Internal Server Error"}' });
  expect(errors).toEqual([[expect.objectContaining({ message: 'adapter bug' }), 'GET /throws (throws)']]);
});

test('a function response Node cannot write (status 1000, a header with a newline) is a 500, logged', async () => {
  expect(await http('/bad-status')).toMatchObject({ status: 500, body: '{"message":"Internal Server Error"}' });
  expect(await http('/bad-header')).toMatchObject({ status: 500, body: '{"message":"Internal Server Error"}' });
  expect(errors.map(([, c]) => c)).toEqual(['GET /bad-status response', 'GET /bad-header response']);
});

test('a base64 function response is sent as its bytes', async () => {
  expect(Buffer.from((await http('/binary')).body, 'latin1')).toEqual(Buffer.from([0, 0x80, 0xff, 0x41]));
});

test('a truncated body (Content-Length 1000, then the client leaves) never reaches the function', async () => {
  await raw(port, 'POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{"only":"part"', { then: 'destroy', timeoutMs: 200 });
  await raw(port, 'POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{"only":"part"', { then: 'end', timeoutMs: 500 });
  await stillServes();
  expect(events).toHaveLength(1);
});

test('a request trickled a byte at a time is served; a header flood is 431; garbage is 400', async () => {
  const request = 'GET /orders/slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
  expect(bodyOf(await raw(port, [...request], { delayMs: 2 }))).toBe('{"orderId":"slow"}');
  const flood = Array.from({ length: 2000 }, (_, i) => `x-h${i}: ${'v'.repeat(20)}\r\n`).join('');
  expect(statusOf(await raw(port, `GET /orders/o HTTP/1.1\r\nHost: localhost\r\n${flood}\r\n`))).toBe(431);
  expect(statusOf(await raw(port, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n'))).toBe(400);
  await stillServes();
});

test('a client that stalls mid-request is answered 408 once requestTimeoutMs is over', async () => {
  const quick = new HttpApiEngine({ routes, accountId: '000000000000', region: 'us-east-1', requestTimeoutMs: 300 });
  const quickPort = Number(new URL(await quick.listen(0)).port);
  try {
    const started = Date.now();
    const headers = await raw(quickPort, 'GET /orders/o HTTP/1.1\r\nHost: localhost\r\n');
    const body = await raw(quickPort, 'POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n12345');
    expect([statusOf(headers), statusOf(body)]).toEqual([408, 408]);
    expect(JSON.parse(bodyOf(body))).toEqual({ message: 'Request Timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  } finally {
    await quick.close();
  }
});

test('every answer reaches the live log', () => {
  expect(logged.map((l) => l.status)).toEqual(expect.arrayContaining([200, 400, 403, 404, 413, 500]));
});

// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html: an IAM-authorized
// route hands the function the verified principal in requestContext.authorizer.iam. Locally that is the named local
// operator; a route whose authorizer is not run locally hands over no identity (and the API refuses the request).
test('an IAM route names the local operator as its caller; a route without a local authorizer names nobody', async () => {
  await http('/operator');
  expect((events[0].requestContext as { authorizer?: unknown }).authorizer).toEqual({
    iam: expect.objectContaining({ userArn: 'arn:aws:iam::000000000000:user/local-operator', callerId: 'local-operator', accountId: '000000000000' }),
  });
  await http('/orders/o-1');
  expect((events[1].requestContext as { authorizer?: unknown }).authorizer).toBeUndefined();
});
