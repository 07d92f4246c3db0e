/**
 * The HTTP API (API Gateway v2, payload format 2.0): routes from the template to their Lambda integrations, the
 * stage's throttling, JWT authorizers (jwt-authorizer.ts), and API Gateway's answers for what never reaches a
 * function (400, 401, 403, 404, 413, 429, 500). No request can stop the runtime: bad input is answered as API Gateway
 * would, a throwing integration is logged (onError) and answered 500. IAM signatures are not checked (see `authorizer`).
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { AddressInfo } from 'node:net';
import { answerAndClose, createGuardedServer, ErrorListener, isLoopbackHost, readBody, requestPath } from '../http/guard';
import { Invoker, InvokeResult } from './invoker';
import { JwtAuthorizer } from './jwt-authorizer';

export interface HttpRoute {
  /** e.g. `POST /orders/{orderId}/cancel`, `$default` */
  routeKey: string;
  invoker: Invoker;
  /**
   * The `requestContext.authorizer` the function receives (API Gateway's answer for an authorized caller): a fixed
   * identity (the local operator of an IAM route); absent otherwise, and then the function sees none.
   */
  authorizer?: Record<string, unknown>;
  /** A JWT authorizer run on every request, with the route's `AuthorizationScopes`; its answer is the identity. */
  jwt?: { authorizer: JwtAuthorizer; scopes: readonly string[] };
}

export interface HttpApiOptions {
  routes: HttpRoute[];
  throttle?: { rateLimit: number; burstLimit: number };
  accountId: string;
  region: string;
  /** Called after each request, for the live log. */
  onRequest?: (info: { routeKey: string; method: string; path: string; status: number; durationMs: number; authorizerError?: string }) => void;
  /** Told of an error a request ran into (an integration throwing, a response Node cannot write); the client gets a 500. */
  onError?: ErrorListener;
  /** The whole request must arrive within this (default 30 s); a stalled client gets 408. */
  requestTimeoutMs?: number;
}

/** "Payload size: 10 MB" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html), read as MiB. */
export const HTTP_API_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

const JSON_HEADERS = { 'content-type': 'application/json' };

/** API Gateway's `{"message": ...}` bodies (401 Unauthorized, 403 Forbidden); 413's wording is API Gateway's, not Node's "Payload Too Large". */
function message(status: number): string {
  return status === 413 ? 'Request Entity Too Large' : (STATUS_CODES[status] ?? 'Error');
}

function decodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

interface CompiledRoute extends HttpRoute {
  method: string;
  pattern?: RegExp;
  params: string[];
}

function compile(route: HttpRoute): CompiledRoute {
  if (route.routeKey === '$default') return { ...route, method: 'ANY', params: [] };
  const [method, path] = route.routeKey.split(' ');
  const params: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      const greedy = /^\{(.+)\+\}$/.exec(segment);
      if (greedy) return params.push(greedy[1]), '(.+)';
      const param = /^\{(.+)\}$/.exec(segment);
      if (param) return params.push(param[1]), '([^/]+)';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, method, pattern: new RegExp(`^${source}/?$`), params };
}

/** API Gateway picks the most specific route: exact before parameterised before greedy, then $default. */
function specificity(route: CompiledRoute): number {
  if (!route.pattern) return -1;
  return route.routeKey.includes('+}') ? 0 : route.params.length ? 1 : 2;
}

class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class HttpApiEngine {
  private server?: Server;
  private routes: CompiledRoute[] = [];
  private readonly bucket?: TokenBucket;

  constructor(private readonly options: HttpApiOptions) {
    this.setRoutes(options.routes);
    if (options.throttle) this.bucket = new TokenBucket(options.throttle.rateLimit, options.throttle.burstLimit);
  }

  /** Replaces the routes (the runtime listens first, to know its URL, then binds routes to functions). */
  setRoutes(routes: HttpRoute[]): void {
    this.routes = routes.map(compile).sort((a, b) => specificity(b) - specificity(a));
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    this.server = createGuardedServer((req, res) => this.handle(req, res), {
      rawAnswer: (status) => ({ contentType: 'application/json', body: JSON.stringify({ message: message(status) }) }),
      bodyLimit: () => HTTP_API_MAX_PAYLOAD_BYTES,
      requestTimeoutMs: this.options.requestTimeoutMs,
      onError: this.options.onError,
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return `http://${host}:${(this.server.address() as AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private match(method: string, path: string): { route: CompiledRoute; pathParameters?: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (!route.pattern) continue;
      if (route.method !== 'ANY' && route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (m) return { route, pathParameters: route.params.length ? Object.fromEntries(route.params.map((p, i) => [p, decodeURIComponent(m[i + 1])])) : undefined };
    }
    const fallback = this.routes.find((r) => r.routeKey === '$default');
    return fallback ? { route: fallback } : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID();
    const method = (req.method ?? 'GET').toUpperCase();
    const target = requestPath(req.url);
    let routeKey = '-';
    let authorizerError: string | undefined;
    const logged = (status: number) =>
      this.options.onRequest?.({ routeKey, method, path: target?.path ?? String(req.url), status, durationMs: Date.now() - started, ...(authorizerError ? { authorizerError } : {}) });
    const send = (status: number, body: string | Buffer, headers: Record<string, string | string[]> = JSON_HEADERS) => {
      try {
        res.writeHead(status, { ...headers, 'apigw-requestid': requestId });
      } catch (error) {
        // A function response Node cannot write (status 1000, a header with a newline): API Gateway answers 500.
        this.options.onError?.(error, `${routeKey} response`);
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        return send(500, JSON.stringify({ message: message(500) }));
      }
      res.end(body);
      logged(status);
    };
    const fail = (status: number) => send(status, JSON.stringify({ message: message(status) }));

    // Refused before the body is read: the connection is closed so the rest of it never is.
    const refuse = (status: number) => {
      answerAndClose(req, res, status, { ...JSON_HEADERS, 'apigw-requestid': requestId }, JSON.stringify({ message: message(status) }));
      logged(status);
    };
    if (!isLoopbackHost(req.headers.host)) return refuse(403);
    // `*`, a path whose percent-encoding does not decode (`/orders/%FF`): API Gateway answers 400 Bad Request.
    if (!target || !decodable(target.path)) return fail(400);
    const body = await readBody(req, HTTP_API_MAX_PAYLOAD_BYTES);
    if (!body.ok) return body.reason === 'tooLarge' ? refuse(413) : void res.destroy();

    const matched = this.match(method, target.path);
    if (!matched) return fail(404);
    routeKey = matched.route.routeKey;
    if (this.bucket && !this.bucket.take()) return fail(429);

    const event = this.toEvent(req, target.path, target.query, body.body, routeKey, matched.pathParameters, requestId, started, matched.route.authorizer);
    if (matched.route.jwt) {
      // Refused before the integration: the function is not invoked.
      const authorization = await matched.route.jwt.authorizer.authorize(event, matched.route.jwt.scopes);
      if (!authorization.ok) {
        authorizerError = authorization.reason;
        const headers = { ...JSON_HEADERS, ...(authorization.wwwAuthenticate ? { 'www-authenticate': authorization.wwwAuthenticate } : {}) };
        return send(authorization.status, JSON.stringify({ message: message(authorization.status) }), headers);
      }
      (event.requestContext as Record<string, unknown>).authorizer = authorization.context;
    }
    let result: InvokeResult;
    let response: ReturnType<typeof toHttpResponse>;
    try {
      result = await matched.route.invoker.invoke(event);
      if (!result.ok) return fail(500);
      response = toHttpResponse(result.result);
    } catch (error) {
      this.options.onError?.(error, `${routeKey} (${matched.route.invoker.name})`);
      return fail(500);
    }
    send(response.status, response.body, response.headers);
  }

  private toEvent(req: IncomingMessage, path: string, rawQuery: string, body: Buffer, routeKey: string, pathParameters: Record<string, string> | undefined, requestId: string, now: number, authorizer?: Record<string, unknown>) {
    const headers: Record<string, string> = {};
    const cookies: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      const value = req.rawHeaders[i + 1];
      if (name === 'cookie') cookies.push(...value.split(';').map((c) => c.trim()));
      else headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    }
    const query: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(rawQuery)) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
    const contentType = headers['content-type'] ?? '';
    const textual = !contentType || /^(text\/|application\/(json|problem\+json|x-www-form-urlencoded|xml))/.test(contentType) || contentType.includes('charset');
    return {
      version: '2.0',
      routeKey,
      rawPath: path,
      rawQueryString: rawQuery,
      ...(cookies.length ? { cookies } : {}),
      headers,
      ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
      requestContext: {
        accountId: this.options.accountId,
        apiId: 'local',
        domainName: headers.host ?? '127.0.0.1',
        domainPrefix: 'local',
        http: { method: req.method, path, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
        requestId,
        routeKey,
        stage: '$default',
        ...(authorizer ? { authorizer } : {}),
        time: new Date(now).toUTCString(),
        timeEpoch: now,
      },
      ...(body.length ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
      ...(pathParameters ? { pathParameters } : {}),
      isBase64Encoded: body.length > 0 && !textual,
    };
  }
}

/** Payload 2.0 response mapping: a {statusCode,...} object is used as is; anything else is a 200 JSON body. */
export function toHttpResponse(result: unknown): { status: number; body: string | Buffer; headers: Record<string, string | string[]> } {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const r = result as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean; cookies?: string[] };
    const headers: Record<string, string | string[]> = { ...(r.headers ?? {}) };
    if (r.cookies?.length) headers['set-cookie'] = r.cookies;
    // Bytes, not a string: a latin1 string would be written out as UTF-8 (0x80 and up as two bytes each).
    const body = r.body === undefined ? '' : r.isBase64Encoded ? Buffer.from(String(r.body), 'base64') : String(r.body);
    return { status: r.statusCode, body, headers };
  }
  return { status: 200, body: typeof result === 'string' ? result : JSON.stringify(result ?? null), headers: { 'content-type': 'application/json' } };
}
