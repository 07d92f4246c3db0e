/**
 * Seeded fuzzing of both local ports (the HTTP API and the AWS endpoint), built directly with stub invokers and
 * services: thousands of malformed requests (raw TCP garbage, truncated and trickled requests, resets, header
 * floods, absurd Content-Lengths, bad request targets, bad percent-encodings, bad JSON, unknown targets, bad Host
 * headers) with valid requests interleaved. Afterwards both servers still answer a well-formed request, every valid
 * request reached its stub exactly once and nothing else did, and nothing escaped as an error.
 * Same seed, same requests: a failure prints the seed and the case.
 */
import { Agent, createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AwsEndpoint } from '../../local/endpoint';
import { HttpApiEngine } from '../../local/engines/http-api';
import { Faults } from '../../local/faults/faults';
import { raw, statusOf } from '../support/raw-http';
import { seededRandom } from '../../local/seeded-random';

// PORT_FUZZ_SEED=<n> replays or explores another sequence.
const SEED = Number(process.env.PORT_FUZZ_SEED ?? 0x5eed2026);
const CASES_PER_PORT = 1500;

const random = seededRandom(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
const printable = (n: number) => Array.from({ length: n }, () => String.fromCharCode(33 + int(94))).join('');

// What a process-level escape would look like. Under jest these reach jest itself, which fails the running test;
// the listeners make the same check wherever this runs without jest's handlers.
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);

/** A deliberate failure inside a stub: logged through onError and answered 500, nothing else. */
class StubFailure extends Error {}

// ----- the HTTP API, with a function that records what it is given -----
const httpReceived: string[] = [];
const api = new HttpApiEngine({
  accountId: '000000000000',
  region: 'us-east-1',
  routes: [
    {
      routeKey: 'POST /orders',
      invoker: {
        name: 'create',
        invoke: async (event) => {
          httpReceived.push(String((event as { body?: string }).body));
          return { ok: true, result: { statusCode: 201, body: '{"ok":true}' }, durationMs: 1 };
        },
      },
    },
    { routeKey: 'GET /orders/{orderId}', invoker: { name: 'get', invoke: async (e) => ({ ok: true, result: (e as { pathParameters: unknown }).pathParameters, durationMs: 1 }) } },
    { routeKey: 'ANY /throws/{proxy+}', invoker: { name: 'throws', invoke: () => Promise.reject(new StubFailure('integration')) } },
  ],
  onError: (error) => void (error instanceof StubFailure || escaped.push(error)),
});

// ----- the AWS endpoint, with an SQS-like stub that records SendMessage bodies -----
const sqsReceived: string[] = [];
// Its own generator: fault answers are drawn in arrival order, which must not change the cases.
const faultRandom = seededRandom(SEED + 1);
const faults: Faults = { inject: () => faultRandom() < 0.3, random: () => 0, parameter: () => undefined };
let upstream: Server;
const endpoint = new AwsEndpoint({
  sqs: (target, body) => {
    if (target === 'AmazonSQS.SendMessage' && typeof body.MessageBody === 'string') sqsReceived.push(body.MessageBody);
    return { status: 200, body: { MessageId: 'm' } };
  },
  events: () => {
    throw new StubFailure('events');
  },
  stepFunctions: () => Promise.reject(new StubFailure('states')),
  get dynamodbEndpoint() {
    return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  },
  faults,
  admin: () => ({ status: 200, body: { ok: true } }),
  onError: (error) => void (error instanceof StubFailure || escaped.push(error)),
});

let httpPort = 0;
let awsPort = 0;
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

beforeAll(async () => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
  // Stands in for DynamoDB Local: reads the request, answers 200.
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  httpPort = Number(new URL(await api.listen(0)).port);
  awsPort = Number(new URL(await endpoint.listen(0)).port);
  console.log(`port fuzz: seed 0x${SEED.toString(16)}, ${CASES_PER_PORT} cases per port`);
});

afterAll(async () => {
  agent.destroy();
  await Promise.all([api.close(), endpoint.close()]);
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
});

/** One case: a description (printed on failure), how to send it, and the valid body it carries, if any. */
interface Case {
  what: string;
  send: () => Promise<number>;
  valid?: string;
  /** Statuses it may get; 0: the client left (or sent half a request) and no answer is owed. */
  expect: number[];
}

function http(port: number, method: string, path: string, headers: Record<string, string | number>, body?: string | Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
    });
    req.on('error', () => resolve(-1));
    req.end(body);
  });
}

const rawCase = (port: number, what: string, parts: string | Buffer | (string | Buffer)[], expectStatuses: number[], options: Parameters<typeof raw>[2] = {}): Case => ({
  what,
  expect: expectStatuses,
  send: async () => statusOf(await raw(port, parts, options)),
});

const BAD_PERCENT = ['%', '%F', '%FF', '%zz', '%C0%AF', '%E2%82', '%ED%A0%80', '%%', '%u0041', '%0', '%G0'];
const BAD_HOSTS = ['evil.example', 'evil.example:3000', '127.0.0.1.nip.io', 'localhost.evil', '192.168.1.10', '[::2]', 'a b', ''];
const TARGETS = ['http://127.0.0.1/orders', '//x', '*', '/..', '/./orders/../orders', '/?', '/#frag', '/orders?%FF=%FF', '/\u00e9'];

/** Shared by both ports: what the HTTP parser itself must survive. Answers: 400, 408, 413, 431 or the port's own. */
function transportCase(port: number, head: (path: string) => string, any: number[]): Case {
  const request = head('/');
  switch (int(9)) {
    case 0:
      return rawCase(port, 'random bytes', bytes(1 + int(300)), [0, 400]);
    case 1:
      return rawCase(port, 'header line without a colon', `GET / HTTP/1.1\r\nHost: localhost\r\n${printable(20).replace(/:/g, '_')}\r\n\r\n`, [400]);
    case 2:
      // Half-closed: the server can still answer (400, the request ended early).
      return rawCase(port, 'truncated body, client ends', `${request}Content-Length: 1000\r\n\r\nTRUNC${printable(int(990))}`, [400], { then: 'end', timeoutMs: 500 });
    case 3:
      return rawCase(port, 'truncated body, client resets', `${request}Content-Length: 1000\r\n\r\nTRUNC${printable(int(990))}`, [0], { then: 'destroy', timeoutMs: 200 });
    case 4:
      return rawCase(port, 'reset mid-headers', request.slice(0, int(request.length)), [0], { then: 'destroy', timeoutMs: 200 });
    case 5:
      return rawCase(port, 'header flood', `${request}${`x-flood: ${'f'.repeat(100)}\r\n`.repeat(200 + int(200))}\r\n`, [431]);
    case 6: {
      const length = pick(['1000000000000', '-1', 'abc', '1, 2', '0x10', '99999999999999999999']);
      return rawCase(port, `Content-Length: ${length}`, `${request}Content-Length: ${length}\r\nConnection: close\r\n\r\n{}`, [400, 413]);
    }
    case 7:
      return rawCase(port, 'bad chunked body', `${request}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${pick(['zz', '-1', 'fffffffffffffffff', '5\r\nabc'])}\r\n\r\n`, [0, 400, 413], {
        then: 'end',
        timeoutMs: 1000,
      });
    default: {
      const target = pick(TARGETS);
      return rawCase(port, `request target ${target}`, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, [400, ...any]);
    }
  }
}

let validCount = 0;

function httpApiCase(): Case {
  const any = [200, 201, 400, 403, 404, 413, 500];
  if (int(10) === 0) {
    // Valid, over keep-alive or trickled over its own connection.
    const body = JSON.stringify({ valid: `v-${validCount++}` });
    if (int(8) === 0) {
      const text = `POST /orders HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
      const parts = text.match(/[\s\S]{1,7}/g)!;
      return { ...rawCase(httpPort, 'valid, trickled', parts, [201], { delayMs: 1 }), valid: body };
    }
    return { what: 'valid', expect: [201], valid: body, send: () => http(httpPort, 'POST', '/orders', { 'content-type': 'application/json' }, body) };
  }
  switch (int(6)) {
    case 0: {
      // Around the bad escape, nothing that could complete it (a hex digit) or end the path (? #).
      const plain = (n: number) => printable(n).replace(/[%?#0-9a-fA-F]/g, '_');
      const path = `/orders/${plain(int(5))}${pick(BAD_PERCENT)}${plain(int(3))}`;
      return { what: `GET ${path}`, expect: [400], send: () => http(httpPort, pick(['GET', 'DELETE', 'HEAD']), path, {}) };
    }
    case 1: {
      const host = pick(BAD_HOSTS);
      return rawCase(httpPort, `Host ${JSON.stringify(host)}`, `POST /orders HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"g":"host"}`, [403]);
    }
    case 2: {
      const method = pick(['GET', 'POST', 'PUT', 'PATCH', 'OPTIONS', 'DELETE']);
      const path = pick(['/', '/orders', '/orders/', '/throws/a/b', '/nothing', `/orders/${encodeURIComponent(printable(8))}`]);
      const body = method === 'POST' || method === 'PUT' ? `{"g":${JSON.stringify(printable(int(50)))}` : undefined;
      const expectStatuses = method === 'POST' && (path === '/orders' || path === '/orders/') ? [201] : any;
      return { what: `${method} ${path}`, expect: expectStatuses, send: () => http(httpPort, method, path, {}, body) };
    }
    case 3:
      // Over the 10 MiB payload, declared: refused from the headers.
      return rawCase(httpPort, 'declared 11 MiB', `POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${11 * 1024 * 1024}\r\n\r\n{"g":"big"`, [413]);
    default:
      return transportCase(httpPort, (path) => `POST ${path === '/' ? '/orders' : path} HTTP/1.1\r\nHost: localhost\r\n`, any);
  }
}

function awsCase(): Case {
  const any = [200, 400, 403, 404, 413, 500];
  const head = (target: string) => `POST / HTTP/1.1\r\nHost: localhost:${awsPort}\r\nX-Amz-Target: ${target}\r\nContent-Type: application/x-amz-json-1.0\r\n`;
  if (int(10) === 0) {
    const message = `v-${validCount++}`;
    const body = JSON.stringify({ QueueUrl: 'http://127.0.0.1/000000000000/q', MessageBody: message });
    if (int(8) === 0) {
      const parts = `${head('AmazonSQS.SendMessage')}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`.match(/[\s\S]{1,7}/g)!;
      return { ...rawCase(awsPort, 'valid, trickled', parts, [200], { delayMs: 1 }), valid: message };
    }
    return { what: 'valid', expect: [200], valid: message, send: () => http(awsPort, 'POST', '/', { 'x-amz-target': 'AmazonSQS.SendMessage', 'content-type': 'application/x-amz-json-1.0' }, body) };
  }
  const json = () =>
    pick([
      `{"QueueUrl":"q","MessageBody":"g-${int(1e6)}"`,
      '{bad',
      'null',
      '[]',
      '"string"',
      '{"MessageBody":{"nested":true}}',
      `{"TableName":"t${int(3)}","Item":{}}`,
      `{"RequestItems":{"a":[],"b":[]}}`,
      `{"TransactItems":[{"Put":{"TableName":"t"}},null,7]}`,
      bytes(int(40)).toString('latin1'),
      '',
    ]);
  switch (int(6)) {
    case 0: {
      const target = pick(['AmazonSQS.SendMessage', 'AmazonSQS.Nope', 'AWSEvents.PutEvents', 'AWSStepFunctions.StartExecution', 'DynamoDB_20120810.PutItem', 'DynamoDB_20120810.TransactWriteItems', 'DynamoDBStreams_20120810.GetRecords']);
      let body = json();
      // Never a valid SendMessage: garbage must not count as one.
      if (target === 'AmazonSQS.SendMessage' && /^\{"QueueUrl"/.test(body)) body = body.slice(0, -3);
      return { what: `${target} ${JSON.stringify(body)}`, expect: any, send: () => http(awsPort, 'POST', '/', { 'x-amz-target': target }, Buffer.from(body, 'latin1')) };
    }
    case 1: {
      const target = pick(['', printable(10), `${printable(4)}.${printable(4)}`, 'AmazonSNS.Publish', 'AmazonSQS', '.', 'DynamoDB_20120810']);
      return { what: `target ${JSON.stringify(target)}`, expect: any, send: () => http(awsPort, 'POST', '/', target ? { 'x-amz-target': target } : {}, '{}') };
    }
    case 2: {
      const host = pick(BAD_HOSTS);
      return rawCase(awsPort, `Host ${JSON.stringify(host)}`, `POST / HTTP/1.1\r\nHost: ${host}\r\nX-Amz-Target: AmazonSQS.SendMessage\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`, [403]);
    }
    case 3: {
      const [target, size] = pick([
        ['AmazonSQS.SendMessage', 7 * 1024 * 1024],
        ['AWSStepFunctions.StartExecution', 2 * 1024 * 1024],
        ['DynamoDB_20120810.BatchWriteItem', 18 * 1024 * 1024],
        ['AWSEvents.PutEvents', 1e12],
      ] as const);
      return rawCase(awsPort, `${target} declared ${size}`, `${head(target)}Content-Length: ${size}\r\n\r\n{"Que`, [413]);
    }
    case 4: {
      const path = pick(['/_local/faults', '/_local/', '/_local/x', `/_local/${pick(BAD_PERCENT)}`, `/${pick(BAD_PERCENT)}`]);
      return { what: `GET ${path}`, expect: [200, 400, 404], send: () => http(awsPort, 'GET', path, {}) };
    }
    default:
      return transportCase(awsPort, () => head(pick(['AmazonSQS.SendMessage', 'DynamoDB_20120810.PutItem', 'AWSEvents.PutEvents'])), any);
  }
}

/** Runs the cases `width` at a time; the failures, with their case, are returned rather than thrown. */
async function run(cases: Case[], width: number): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < cases.length) {
        const index = next++;
        const c = cases[index];
        const status = await c.send();
        if (!c.expect.includes(status) && !(status === -1 && c.expect.includes(0))) failures.push(`case ${index} (${c.what}): status ${status}, expected one of ${c.expect.join(', ')}`);
      }
    }),
  );
  return failures;
}

test(`both ports survive ${2 * CASES_PER_PORT} malformed and valid requests, seeded, and lose nothing`, async () => {
  const httpCases = Array.from({ length: CASES_PER_PORT }, httpApiCase);
  const awsCases = Array.from({ length: CASES_PER_PORT }, awsCase);
  const started = Date.now();
  const cpu = process.cpuUsage();
  const all = [...httpCases, ...awsCases];
  for (let i = all.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  const failures = await run(all, 24);
  const valid = all.filter((c) => c.valid).length;
  const { user, system } = process.cpuUsage(cpu);
  console.log(`port fuzz: ${all.length} requests (${valid} valid) in ${Date.now() - started} ms (${Math.round((user + system) / 1000)} ms CPU), seed 0x${SEED.toString(16)}`);
  expect(failures).toEqual([]);

  // Still serving, correctly.
  expect(await http(httpPort, 'GET', '/orders/after', {})).toBe(200);
  expect(await http(awsPort, 'POST', '/', { 'x-amz-target': 'AmazonSQS.SendMessage' }, JSON.stringify({ QueueUrl: 'q', MessageBody: 'after' }))).toBe(200);

  // Nothing lost, nothing extra: each valid request arrived exactly once; no garbage (nor half of a request) did.
  const expected = (cases: Case[]) => cases.flatMap((c) => (c.valid ? [c.valid] : [])).sort();
  expect(httpReceived.filter((b) => b.startsWith('{"valid"')).sort()).toEqual(expected(httpCases));
  expect(httpReceived.filter((b) => b.includes('TRUNC') || (b.includes('"v-') && !b.startsWith('{"valid"')))).toEqual([]);
  expect(sqsReceived.sort()).toEqual([...expected(awsCases), 'after'].sort());
  expect(escaped).toEqual([]);
}, 30_000);
