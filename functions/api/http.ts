/** HTTP mapping: JSON answers, and RFC 9457 problem+json for every error the domain names. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { Caller } from '../domain/caller';
import {
  ForbiddenError,
  UnauthenticatedError,
  ContentionError,
  IdempotencyKeyReusedError,
  NotFoundError,
  PreconditionError,
  StateConflictError,
  ValidationError,
} from '../domain/errors';

export type Response = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): Response {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function problem(status: number, title: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }),
  };
}

/** Maps a thrown error to its answer; undefined for errors that are ours (they become a 500). */
export function errorResponse(error: unknown, instance: string): Response | undefined {
  if (error instanceof ValidationError) {
    return problem(400, 'Invalid request', error.message, { instance, errors: error.problems });
  }
  if (error instanceof UnauthenticatedError) return problem(401, 'Unauthenticated', error.message, { instance });
  if (error instanceof ForbiddenError) return problem(403, 'Forbidden', error.message, { instance });
  if (error instanceof NotFoundError) return problem(404, 'Not found', error.message, { instance });
  if (error instanceof StateConflictError) return problem(409, 'Conflict with the current state', error.message, { instance, currentStatus: error.currentStatus });
  if (error instanceof PreconditionError) {
    const title = error.status === 428 ? 'Precondition required' : 'Precondition failed';
    return problem(error.status, title, error.message, { instance }, error.currentVersion !== undefined ? { etag: etagOf(error.currentVersion) } : {});
  }
  if (error instanceof ContentionError) return problem(503, 'Busy', error.message, { instance }, { 'retry-after': '1' });
  if (error instanceof IdempotencyKeyReusedError) return problem(422, 'Idempotency-Key reused', error.message, { instance });
  if (error instanceof UnsupportedMediaTypeError) return problem(415, 'Unsupported media type', error.message, { instance });
  return undefined;
}

/** A stock level's version as a strong ETag. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/** The version an If-Match header names; undefined without the header; a 400 for anything but one ETag we issued. */
export function ifMatchVersion(event: APIGatewayProxyEventV2): number | undefined {
  const value = header(event, 'if-match');
  if (value === undefined) return undefined;
  const match = /^\s*"(\d{1,15})"\s*$/.exec(value);
  if (!match) throw new ValidationError([{ field: 'If-Match', message: 'If-Match must be one ETag that GET returned, e.g. "3"' }]);
  return Number(match[1]);
}

/** A body whose content type says it is not JSON (415): a form or text is refused, not guessed at. */
export class UnsupportedMediaTypeError extends Error {
  readonly name = 'UnsupportedMediaTypeError';
}

const JSON_MEDIA_TYPE = /^\s*application\/json\s*(;|$)/i;

/** The request body as JSON; a missing or unreadable body is a 400 naming the body, one not labelled JSON a 415. */
export function parseBody(event: APIGatewayProxyEventV2): unknown {
  if (!event.body) throw new ValidationError([{ field: '(body)', message: 'a JSON request body is required' }]);
  const contentType = header(event, 'content-type');
  if (!contentType || !JSON_MEDIA_TYPE.test(contentType)) {
    throw new UnsupportedMediaTypeError(`content-type must be application/json, not ${contentType ? JSON.stringify(contentType) : 'missing'}`);
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError([{ field: '(body)', message: 'the request body is not valid JSON' }]);
  }
}

export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/**
 * The caller as the authorizer established it: a JWT names a customer by its subject, IAM a service by its
 * principal. API Gateway only invokes us after IAM or JWT authorization (no route is open), so a request that names
 * nobody (a token without `sub`, no authorizer context at all) is refused, never trusted as a service: the local
 * runtime calls IAM routes as a named local operator for the same reason.
 */
export function callerOf(event: APIGatewayProxyEventV2): Caller {
  const authorizer = (event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] }; iam?: { userArn?: string; callerId?: string } } }).authorizer;
  if (authorizer?.jwt) {
    const sub = authorizer.jwt.claims?.sub;
    if (typeof sub !== 'string' || sub === '') throw new UnauthenticatedError('the token names no subject (sub claim): a token caller is a customer, known by its subject');
    const claimScopes = typeof authorizer.jwt.claims?.scope === 'string' ? authorizer.jwt.claims.scope.split(' ') : [];
    return { kind: 'customer', customerId: sub, scopes: [...(authorizer.jwt.scopes ?? []), ...claimScopes] };
  }
  const principal = authorizer?.iam?.userArn ?? authorizer?.iam?.callerId;
  if (!principal) throw new UnauthenticatedError('no authorizer identified the caller (IAM principal or token subject)');
  return { kind: 'service', principal };
}

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller-supplied X-Correlation-Id when it is sane, else API Gateway's request id. */
export function correlationIdOf(event: APIGatewayProxyEventV2): string {
  const supplied = header(event, 'x-correlation-id');
  return supplied && CORRELATION_ID.test(supplied) ? supplied : event.requestContext.requestId;
}
