/**
 * The HTTP API (API Gateway v2, payload format 2.0): routes from the template to their Lambda integrations, the
 * stage's throttling, and API Gateway's answers for what never reaches a function (404, 429, 500).
 * Authorizers are not enforced locally.
 */
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Invoker } from './invoker';

export interface HttpRoute {
  /** e.g. `POST /orders/{orderId}/cancel`, `$default` */
  routeKey: string;
  invoker: Invoker;
}

export interface HttpApiOptions {
  routes: HttpRoute[];
  throttle?: { rateLimit: number; burstLimit: number };
  accountId: string;
  region: string;
  /** Called after each request, for the live log. */
  onRequest?: (info: { routeKey: string; method: string; path: string; status: number; durationMs: number }) => void;
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
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
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
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const send = (status: number, body: string, headers: Record<string, string | string[]> = { 'content-type': 'application/json' }, routeKey = '-') => {
      res.writeHead(status, { ...headers, 'apigw-requestid': requestId });
      res.end(body);
      this.options.onRequest?.({ routeKey, method, path: url.pathname, status, durationMs: Date.now() - started });
    };
    const requestId = randomUUID();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const matched = this.match(method, url.pathname);
    if (!matched) return send(404, JSON.stringify({ message: 'Not Found' }));
    if (this.bucket && !this.bucket.take()) return send(429, JSON.stringify({ message: 'Too Many Requests' }), undefined, matched.route.routeKey);

    const event = this.toEvent(req, url, Buffer.concat(chunks), matched.route.routeKey, matched.pathParameters, requestId, started);
    const result = await matched.route.invoker.invoke(event);
    if (!result.ok) return send(500, JSON.stringify({ message: 'Internal Server Error' }), undefined, matched.route.routeKey);
    const response = toHttpResponse(result.result);
    send(response.status, response.body, response.headers, matched.route.routeKey);
  }

  private toEvent(req: IncomingMessage, url: URL, body: Buffer, routeKey: string, pathParameters: Record<string, string> | undefined, requestId: string, now: number) {
    const headers: Record<string, string> = {};
    const cookies: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      const value = req.rawHeaders[i + 1];
      if (name === 'cookie') cookies.push(...value.split(';').map((c) => c.trim()));
      else headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    }
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
    const contentType = headers['content-type'] ?? '';
    const textual = !contentType || /^(text\/|application\/(json|problem\+json|x-www-form-urlencoded|xml))/.test(contentType) || contentType.includes('charset');
    return {
      version: '2.0',
      routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.replace(/^\?/, ''),
      ...(cookies.length ? { cookies } : {}),
      headers,
      ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
      requestContext: {
        accountId: this.options.accountId,
        apiId: 'local',
        domainName: headers.host ?? '127.0.0.1',
        domainPrefix: 'local',
        http: { method: req.method, path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
        requestId,
        routeKey,
        stage: '$default',
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
export function toHttpResponse(result: unknown): { status: number; body: string; headers: Record<string, string | string[]> } {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const r = result as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean; cookies?: string[] };
    const headers: Record<string, string | string[]> = { ...(r.headers ?? {}) };
    if (r.cookies?.length) headers['set-cookie'] = r.cookies;
    const body = r.body === undefined ? '' : r.isBase64Encoded ? Buffer.from(r.body, 'base64').toString('latin1') : r.body;
    return { status: r.statusCode, body, headers };
  }
  return { status: 200, body: typeof result === 'string' ? result : JSON.stringify(result ?? null), headers: { 'content-type': 'application/json' } };
}
