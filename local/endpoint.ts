/**
 * One AWS-compatible endpoint (default port 4566): requests are routed by X-Amz-Target to SQS (JSON 1.0),
 * EventBridge (JSON 1.1), Step Functions (JSON 1.0), or passed through unchanged to DynamoDB Local: DynamoDB
 * (`DynamoDB_20120810.*`) and DynamoDB Streams (`DynamoDBStreams_20120810.*`, served on the same port). Requests
 * without X-Amz-Target in SQS's query protocol (form-encoded `Action=...`) are SQS's too, translated to the JSON
 * handler and answered in XML (engines/sqs-query.ts). Point the SDK or CLI at it with AWS_ENDPOINT_URL. Signatures
 * are not checked.
 *
 * No request can stop the runtime: every one is answered in the AWS JSON error shape, or SQS's XML one for the query
 * protocol (a service that throws is logged through onError and answered 500 InternalFailure), bodies are capped per
 * service, only loopback Host names are served, and `/_local/...` paths are the runtime's own (fault counts, the
 * local token issuer).
 */
import { IncomingHttpHeaders, IncomingMessage, request, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { AwsJsonResponse } from './engines/aws-json';
import { handleSqsQuery, isSqsQueryRequest, sqsQueryError, SqsQueryAnswer } from './engines/sqs-query';
import { Faults } from './faults/faults';
import { dynamodbFault } from './http/dynamodb-faults';
import { answerAndClose, createGuardedServer, declaredLength, ErrorListener, isLoopbackHost, readBody, requestPath } from './http/guard';
import type { AdminAnswer, AdminRequest } from './issuer/issuer-api';

/** Per request: aborted when the client goes away (ends an SQS long poll early); the request's headers (SQS reads the
 *  signature's region and X-Amzn-Trace-Id). */
export interface EndpointRequestContext {
  signal: AbortSignal;
  headers: IncomingHttpHeaders;
}

type ServiceCall = (name: string, body: Record<string, unknown>, context: EndpointRequestContext) => Promise<AwsJsonResponse> | AwsJsonResponse;

export interface EndpointServices {
  /** Called with the whole target (`AmazonSQS.SendMessage`). */
  sqs: ServiceCall;
  /** Called with the operation (`PutEvents`); so is stepFunctions. */
  events: ServiceCall;
  stepFunctions: ServiceCall;
  /** DynamoDB Local's URL: DynamoDB and DynamoDB Streams requests are forwarded unchanged. */
  dynamodbEndpoint: string;
  /** When given, DynamoDB requests are buffered and their tables asked about dynamodb.* faults before forwarding. */
  faults?: Faults;
  /** Serves the runtime's `/_local/...` paths (`GET /_local/faults`, the local issuer); undefined answers 404. */
  admin?: (request: AdminRequest) => Promise<AdminAnswer | undefined> | AdminAnswer | undefined;
  /** Told of every error a request ran into (a service throwing, DynamoDB Local unreachable); the client gets a 500. */
  onError?: ErrorListener;
  /** The whole request must arrive within this (default 30 s); a stalled client gets 408. */
  requestTimeoutMs?: number;
}

const JSON_1_0 = 'application/x-amz-json-1.0';
const MiB = 1024 * 1024;
/**
 * Transport caps: how much body is read before answering 413. They bound memory and nothing else: the engines
 * check AWS's payload limits on the parsed request and answer AWS's own errors, so a cap must never refuse a request
 * AWS accepts. JSON can write one byte of payload as up to 6 (`\u00XX` for a control character, `\u00e9`-style
 * for encoders that escape non-ASCII, e.g. Python's json), so a cap is 6 × the payload limit + 64 KiB of envelope
 * (keys, queue URL, attributes' names, bus names).
 */
const ENVELOPE = 64 * 1024;
const SERVICES: Record<string, { contentType: string; limit: number; call: (s: EndpointServices) => ServiceCall; byTarget?: boolean }> = {
  // A message, and a SendMessageBatch in total: 1 MiB (1,048,576 bytes), quotas-messages.html and
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html
  AmazonSQS: { contentType: JSON_1_0, limit: 6 * MiB + ENVELOPE, call: (s) => s.sqs, byTarget: true },
  // PutEvents: "The total entry size must be less than 256KB", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
  AWSEvents: { contentType: 'application/x-amz-json-1.1', limit: 6 * 256 * 1024 + ENVELOPE, call: (s) => s.events },
  // "Maximum request size: 1 MB per request", a hard quota (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html):
  // AWS refuses larger requests itself, so the cap is the quota (read as MiB). The 256 KiB input limit is the engine's to check.
  AWSStepFunctions: { contentType: JSON_1_0, limit: MiB, call: (s) => s.stepFunctions },
};
/**
 * SQS's query protocol (form-encoded), the same 1 MiB of payload: a byte is at most 3 characters (`%XX`) in a string
 * and at most 4 in a binary attribute (base64 is 4 characters per 3 bytes, and `+`, `/`, `=` are written `%2B`,
 * `%2F`, `%3D`), so the cap is 4 × the payload limit + the envelope (the parameter names: a batch's 10 entries of 10
 * attributes each, 3 names of under 70 characters per attribute, are 21 KB).
 */
const SQS_QUERY_LIMIT = 4 * MiB + ENVELOPE;
/** A `/_local/...` request body (a token request) is small. */
const ADMIN_LIMIT = 64 * 1024;
/** BatchWriteItem: "The total request size exceeds 16 MB" is refused (API_BatchWriteItem.html); 1 MiB of margin for headers' sake. */
const DYNAMODB_LIMIT = 17 * MiB;

/** Answers to requests Node's parser refuses (no AWS SDK sends them, so no AWS document says what AWS answers), and 500. */
const RAW_CODES: Record<number, string> = { 408: 'RequestTimeout', 413: 'RequestEntityTooLargeException', 431: 'RequestHeaderFieldsTooLarge', 500: 'InternalFailure' };

export class AwsEndpoint {
  private server?: Server;
  url = '';

  constructor(private readonly services: EndpointServices) {}

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    this.server = createGuardedServer((req, res) => this.handle(req, res), {
      rawAnswer: (status) => ({ contentType: JSON_1_0, body: JSON.stringify({ __type: RAW_CODES[status] ?? 'MalformedHttpRequest', message: `${status} ${STATUS_CODES[status]}` }) }),
      bodyLimit: (req) => this.limit(req),
      requestTimeoutMs: this.services.requestTimeoutMs,
      onError: this.services.onError,
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private limit(req: IncomingMessage): number {
    const service = String(req.headers['x-amz-target'] ?? '').split('.')[0];
    if (!service && isSqsQueryRequest(req.headers['content-type'], req.url)) return SQS_QUERY_LIMIT;
    return SERVICES[service]?.limit ?? DYNAMODB_LIMIT;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, operation = ''] = target.split('.');
    const known = SERVICES[service];
    const contentType = known?.contentType ?? JSON_1_0;
    const query = !target && isSqsQueryRequest(req.headers['content-type'], req.url);
    if (!isLoopbackHost(req.headers.host)) {
      const message = `Host ${JSON.stringify(req.headers.host)} is not a loopback name: the local runtime answers only 127.0.0.1, localhost and [::1] (DNS rebinding guard)`;
      if (query) return this.answerQuery(req, res, sqsQueryError('AccessDenied', message, 403), true);
      return answerAndClose(req, res, 403, { 'content-type': contentType }, JSON.stringify({ __type: 'AccessDeniedException', message }));
    }
    const url = requestPath(req.url);
    const path = url?.path ?? '';
    if (path === '/_local' || path.startsWith('/_local/')) return this.adminRequest(req, res, path);
    if (service === 'DynamoDB_20120810' || service === 'DynamoDBStreams_20120810') return this.dynamodb(req, res, service, operation);
    if (query) return this.sqsQuery(req, res, path, url?.query ?? '');
    if (!target) return this.fail(res, 400, 'UnsupportedProtocol', 'requests need an X-Amz-Target header (AWS JSON protocol) or, for SQS, a form-encoded Action=... (query protocol)');
    if (!known) return this.fail(res, 400, 'UnknownService', `service ${service} is not emulated by the local runtime (SQS, EventBridge, Step Functions, DynamoDB and DynamoDB Streams are)`);

    const raw = await readBody(req, known.limit);
    if (!raw.ok) return raw.reason === 'tooLarge' ? this.tooLarge(req, res, service, known.limit) : void res.destroy();
    let body: unknown;
    try {
      body = raw.body.length ? JSON.parse(raw.body.toString('utf8')) : {};
    } catch {
      return this.fail(res, 400, 'SerializationException', 'request body is not valid JSON', service);
    }
    // Every AWS JSON input is a structure: `null`, `[]` or `"x"` never reach a service.
    if (!body || typeof body !== 'object' || Array.isArray(body)) return this.fail(res, 400, 'SerializationException', 'request body is not a JSON object', service);

    const aborted = new AbortController();
    res.once('close', () => res.writableFinished || aborted.abort());
    let answer: AwsJsonResponse;
    let text: string;
    try {
      answer = await known.call(this.services)(known.byTarget ? target : operation, body as Record<string, unknown>, { signal: aborted.signal, headers: req.headers });
      text = JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status, { 'content-type': contentType, 'x-amzn-requestid': cryptoId(), ...(answer.headers ?? {}) });
    } catch (error) {
      this.services.onError?.(error, target);
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      // CommonErrors.html: InternalFailure, HTTP 500, "The request processing has failed because of an unknown error, exception or failure."
      const detail = error instanceof Error ? error.message : String(error);
      return this.fail(res, 500, 'InternalFailure', `The request processing has failed because of an unknown error, exception or failure. (local runtime: ${detail})`, service);
    }
    res.end(text);
  }

  /** SQS's query protocol: translated to the JSON handler and back by engines/sqs-query.ts; every answer is XML. */
  private async sqsQuery(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    const raw = await readBody(req, SQS_QUERY_LIMIT);
    if (!raw.ok) {
      if (raw.reason === 'aborted') return void res.destroy();
      const answer = sqsQueryError('RequestEntityTooLargeException', `request body over the local runtime's ${SQS_QUERY_LIMIT}-byte cap for SQS query-protocol requests`, 413);
      return this.answerQuery(req, res, answer, true);
    }
    const aborted = new AbortController();
    res.once('close', () => res.writableFinished || aborted.abort());
    const request = { path, query, contentType: req.headers['content-type'], body: raw.body, host: req.headers.host };
    try {
      return this.answerQuery(req, res, await handleSqsQuery(request, (target, body) => this.services.sqs(target, body, { signal: aborted.signal, headers: req.headers })));
    } catch (error) {
      this.services.onError?.(error, 'SQS query protocol');
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      const detail = error instanceof Error ? error.message : String(error);
      return this.answerQuery(req, res, sqsQueryError('InternalFailure', `The request processing has failed because of an unknown error, exception or failure. (local runtime: ${detail})`, 500));
    }
  }

  private answerQuery(req: IncomingMessage, res: ServerResponse, answer: SqsQueryAnswer, close = false): void {
    if (close) return answerAndClose(req, res, answer.status, answer.headers, answer.body);
    if (res.headersSent || res.destroyed) return void res.end();
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  private async adminRequest(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = await readBody(req, ADMIN_LIMIT);
    if (!raw.ok) return raw.reason === 'tooLarge' ? answerAndClose(req, res, 413, { 'content-type': 'application/json' }, JSON.stringify({ __type: 'RequestEntityTooLargeException', message: `over ${ADMIN_LIMIT} bytes` })) : void res.destroy();
    let body: unknown;
    try {
      body = raw.body.length ? JSON.parse(raw.body.toString('utf8')) : undefined;
    } catch {
      return this.fail(res, 400, 'SerializationException', 'request body is not valid JSON');
    }
    const answer = await this.services.admin?.({ method: req.method ?? 'GET', path, body, query: requestPath(req.url)?.query ?? '', headers: req.headers });
    if (!answer) return this.fail(res, 404, 'NotFound', `no local admin resource ${req.method} ${path} (there are GET /_local/faults, the ops page /_local/ops/ and, with --local-jwt, /_local/issuer/...)`);
    res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json', ...(answer.headers ?? {}) });
    res.end(answer.text ?? JSON.stringify(answer.body ?? null));
  }

  /** Forwarded as is, or first buffered (within the cap) and asked about faults when faults are given. */
  private async dynamodb(req: IncomingMessage, res: ServerResponse, service: string, operation: string): Promise<void> {
    const faults = this.services.faults;
    if (declaredLength(req) > DYNAMODB_LIMIT) return this.tooLarge(req, res, service, DYNAMODB_LIMIT);
    if (!faults || service !== 'DynamoDB_20120810') return this.forward(req, res);
    const raw = await readBody(req, DYNAMODB_LIMIT);
    if (!raw.ok) return raw.reason === 'tooLarge' ? this.tooLarge(req, res, service, DYNAMODB_LIMIT) : void res.destroy();
    const fault = dynamodbFault(faults, operation, raw.body);
    if (!fault) return this.forward(req, res, raw.body);
    res.writeHead(fault.status, { 'content-type': JSON_1_0, 'x-amzn-requestid': cryptoId() });
    res.end(JSON.stringify(fault.body));
  }

  /** To DynamoDB Local: `body` when already read, else the request streamed through (counted against the cap). */
  private forward(req: IncomingMessage, res: ServerResponse, body?: Buffer): void {
    const upstream = new URL(this.services.dynamodbEndpoint);
    // Set when this side ends the upstream request itself (the client left, the body grew over the cap): not an error.
    let abandoned = false;
    const proxied = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      // Either side going away ends the other: a client that leaves stops the upstream answer, and vice versa.
      pipeline(answer, res, () => undefined);
    });
    proxied.on('error', (error) => {
      if (abandoned) return;
      this.services.onError?.(error, `forwarding ${String(req.headers['x-amz-target'])} to DynamoDB Local`);
      req.resume();
      this.fail(res, 500, 'InternalFailure', `DynamoDB Local did not answer: ${error.message}`);
    });
    if (body) return void proxied.end(body);
    // A client that leaves mid-body must not leave DynamoDB Local waiting for the rest.
    req.once('close', () => {
      if (req.complete || abandoned) return;
      abandoned = true;
      proxied.destroy();
    });
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= DYNAMODB_LIMIT || abandoned) return;
      abandoned = true;
      req.unpipe(proxied);
      proxied.destroy();
      this.tooLarge(req, res, String(req.headers['x-amz-target']).split('.')[0], DYNAMODB_LIMIT);
    });
    req.pipe(proxied);
  }

  /** No AWS document names the error for a body over a service's transport limit; 413 with a clear code (not retried by SDKs). */
  private tooLarge(req: IncomingMessage, res: ServerResponse, service: string, limit: number): void {
    const message = `request body over the local runtime's ${limit}-byte cap for ${service} requests`;
    answerAndClose(req, res, 413, this.errorHeaders(service, 'RequestEntityTooLargeException', 413), JSON.stringify({ __type: 'RequestEntityTooLargeException', message }));
  }

  private fail(res: ServerResponse, status: number, code: string, message: string, service = ''): void {
    if (res.headersSent || res.destroyed) return void res.end();
    res.writeHead(status, this.errorHeaders(service, code, status));
    res.end(JSON.stringify({ __type: code, message }));
  }

  /** SQS is query-compatible: its SDK reads the error code from x-amzn-query-error as well (see engines/sqs-api.ts). */
  private errorHeaders(service: string, code: string, status: number): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': SERVICES[service]?.contentType ?? JSON_1_0, 'x-amzn-requestid': cryptoId() };
    if (service === 'AmazonSQS') headers['x-amzn-query-error'] = `${code};${status >= 500 ? 'Receiver' : 'Sender'}`;
    return headers;
  }
}

function cryptoId(): string {
  return globalThis.crypto.randomUUID();
}
