/**
 * What both local ports (the HTTP API, the AWS endpoint) need so that no request can take the runtime down:
 * a server whose parser errors, timeouts and socket errors are answered instead of thrown, a bounded body reader,
 * and the loopback Host check. Each port says how its answers look; this file only decides when to give them.
 */
import { createServer, IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { Socket } from 'node:net';

/** Where the runtime hears of an error a request ran into (an engine bug, a function adapter throwing): its live log. */
export type ErrorListener = (error: unknown, context: string) => void;

export interface GuardedServerOptions {
  /** The port's answer (content type, body) for a status: 400, 408, 413, 431 from the parser, 500 for what escaped the handler. */
  rawAnswer(status: number): { contentType: string; body: string };
  /** The largest body this request may have, from its headers; `Expect: 100-continue` bodies over it are never sent. */
  bodyLimit(req: IncomingMessage): number;
  /** The whole request (headers and body) must arrive within this (default 30 s); headers within min(this, 10 s). */
  requestTimeoutMs?: number;
  /** Told of what escaped the handler (a fault seam or admin hook throwing, a bug); the request is answered 500. */
  onError?: ErrorListener;
}

const noop = () => undefined;

/**
 * An HTTP server whose handler's rejections never escape: what `handler` does not answer itself is logged and
 * answered 500 (or, once an answer has started, ends that one connection). Node routes socket errors to `clientError`.
 */
export function createGuardedServer(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, options: GuardedServerOptions): Server {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const server = createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(requestTimeout, 10_000),
      // Node checks the two timeouts above on this interval (default 30 s): a stalled client is answered promptly.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, requestTimeout / 4)),
    },
    (req, res) => {
      req.on('error', noop);
      res.on('error', noop);
      handler(req, res).catch((error) => {
        options.onError?.(error, `${req.method} ${req.url}`);
        if (res.headersSent || res.destroyed) return void res.destroy();
        const { contentType, body } = options.rawAnswer(500);
        res.writeHead(500, { 'content-type': contentType });
        res.end(body);
      });
    },
  );
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket: Socket) => socket.on('error', noop));
  // A client that announces a body over the limit gets the answer before sending it (curl does this above 1 MB).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaredLength(req) <= options.bodyLimit(req)) res.writeContinue();
    server.emit('request', req, res);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // A response already under way on this socket cannot be followed by another one; a reset socket has no reader.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) return void socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? 413 : 400;
    const { contentType, body } = options.rawAnswer(status);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}

export function declaredLength(req: IncomingMessage): number {
  const value = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(value) ? value : 0;
}

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'tooLarge' | 'aborted' };

/**
 * The request body, or why not: over `limit` (never more than `limit` bytes are kept; the rest is read and dropped
 * until the socket closes) or the client went away mid-body (a truncated request never reaches a service).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  if (declaredLength(req) > limit) return Promise.resolve({ ok: false, reason: 'tooLarge' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyResult) => {
      req.off('data', onData).off('end', onEnd).off('error', onAborted).off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done({ ok: false, reason: 'tooLarge' });
      else chunks.push(chunk);
    };
    const onEnd = () => done({ ok: true, body: Buffer.concat(chunks, size) });
    const onAborted = () => done({ ok: false, reason: 'aborted' });
    const onClose = () => !req.complete && onAborted();
    req.on('data', onData).on('end', onEnd).on('error', onAborted).on('close', onClose);
  });
}

/**
 * Answers and closes the connection: for answers given before the body was read (too large, not allowed), so the
 * rest of the body is never read into memory. A client still sending after the answer is cut off after a second.
 */
export function answerAndClose(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  res.writeHead(status, { ...headers, connection: 'close' });
  res.end(body);
  req.resume();
  const socket = req.socket;
  res.once('finish', () => setTimeout(() => socket.destroy(), 1000).unref());
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;

/**
 * Only loopback names reach the ports: a browser tab on another site whose DNS is rebound to 127.0.0.1 still sends
 * its own name as Host. No Host (HTTP/1.0) is accepted; HTTP/1.1 without one is refused by Node itself (400).
 */
export function isLoopbackHost(host: string | undefined): boolean {
  return host === undefined || LOOPBACK_HOST.test(host);
}

/** The path of a request target: origin-form (`/a?b`), absolute-form (`http://h/a?b`, sent to proxies), or `*`. */
export function requestPath(url: string | undefined): { path: string; query: string } | undefined {
  let target = url ?? '/';
  if (!target.startsWith('/')) {
    if (!/^https?:\/\//i.test(target)) return undefined;
    try {
      const parsed = new URL(target);
      target = parsed.pathname + parsed.search;
    } catch {
      return undefined;
    }
  }
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}
