/** HTTP mapping: JSON answers, and RFC 9457 problem+json for every error the domain names. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod'; // a namespace import: see domain/schemas.ts
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
import { idempotencyKeySchema, toProblems } from '../domain/schemas';

export type Response = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): Response {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

const PROBLEM_FIELDS = {
  type: z.string().meta({ description: 'A URI reference naming the kind of problem; about:blank: the status says it' }),
  title: z.string(),
  status: z.int(),
  detail: z.string().meta({ description: 'What was wrong with this request' }),
  instance: z.string().meta({ description: 'The request path' }),
};
/** An RFC 9457 problem, as every refusal of the API function is. */
export const problemSchema = z.strictObject(PROBLEM_FIELDS);
/** A 400: every wrong field of the request named, none left for a second try to find. */
export const validationProblemSchema = z.strictObject({
  ...PROBLEM_FIELDS,
  errors: z.array(z.strictObject({ field: z.string().meta({ description: 'e.g. items[2].quantity, Idempotency-Key, limit' }), message: z.string() })).min(1),
});
/** A 409: the status (or stock state) the request conflicts with. */
export const conflictProblemSchema = z.strictObject({ ...PROBLEM_FIELDS, currentStatus: z.string().meta({ description: 'The order status, or INSUFFICIENT_STOCK' }) });
type ProblemBody = z.output<typeof problemSchema> & Partial<Pick<z.output<typeof validationProblemSchema>, 'errors'> & Pick<z.output<typeof conflictProblemSchema>, 'currentStatus'>>;

/**
 * Every refusal the API function answers, by status: its title, its body, the headers it may carry. errorResponse
 * builds them; the OpenAPI document describes them from here.
 */
export const PROBLEMS = {
  400: { title: 'Invalid request', body: validationProblemSchema },
  401: { title: 'Unauthenticated', body: problemSchema },
  403: { title: 'Forbidden', body: problemSchema },
  404: { title: 'Not found', body: problemSchema },
  409: { title: 'Conflict with the current state', body: conflictProblemSchema },
  412: { title: 'Precondition failed', body: problemSchema, headers: { etag: true } },
  415: { title: 'Unsupported media type', body: problemSchema },
  422: { title: 'Idempotency-Key reused', body: problemSchema },
  428: { title: 'Precondition required', body: problemSchema, headers: { etag: false } },
  500: { title: 'Internal error', body: problemSchema },
  503: { title: 'Busy', body: problemSchema, headers: { 'retry-after': true } },
} as const satisfies Record<number, { title: string; body: z.ZodType; headers?: Partial<Record<ResponseHeader, boolean>> }>;
export type ProblemStatus = keyof typeof PROBLEMS;

type ProblemExtra = Omit<ProblemBody, 'type' | 'title' | 'status' | 'detail'>;

export function problem(status: ProblemStatus, detail: string, extra: ProblemExtra, headers: Partial<Record<ResponseHeader, string>> = {}): Response {
  const body: ProblemBody = { type: 'about:blank', title: PROBLEMS[status].title, status, detail, ...extra };
  return { statusCode: status, headers: { 'content-type': 'application/problem+json', ...headers }, body: JSON.stringify(body) };
}

/** Maps a thrown error to its answer; undefined for errors that are ours (they become a 500). */
export function errorResponse(error: unknown, instance: string): Response | undefined {
  if (error instanceof ValidationError) return problem(400, error.message, { instance, errors: error.problems });
  if (error instanceof UnauthenticatedError) return problem(401, error.message, { instance });
  if (error instanceof ForbiddenError) return problem(403, error.message, { instance });
  if (error instanceof NotFoundError) return problem(404, error.message, { instance });
  if (error instanceof StateConflictError) return problem(409, error.message, { instance, currentStatus: error.currentStatus });
  if (error instanceof PreconditionError) {
    return problem(error.status, error.message, { instance }, error.currentVersion !== undefined ? { etag: etagOf(error.currentVersion) } : {});
  }
  if (error instanceof ContentionError) return problem(503, error.message, { instance }, { 'retry-after': '1' });
  if (error instanceof IdempotencyKeyReusedError) return problem(422, error.message, { instance });
  if (error instanceof UnsupportedMediaTypeError) return problem(415, error.message, { instance });
  return undefined;
}

/** A stock level's version as a strong ETag. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

const STRONG_ETAG = /^\s*"(\d{1,15})"\s*$/;

/** The request headers the API reads, by the name it documents (HTTP header names are case-insensitive). */
export const REQUEST_HEADERS = {
  'Idempotency-Key': idempotencyKeySchema.meta({ description: 'The same key and body again answers the first result (idempotent-replayed: true); another body, 422' }),
  'If-Match': z
    .string()
    .regex(STRONG_ETAG, { error: 'If-Match must be one ETag that GET returned, e.g. "3"' })
    .meta({ description: 'The ETag GET returned: the stock level is replaced only if it has not changed since' }),
  'X-Correlation-Id': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .meta({ description: 'Chooses the correlation id of the logs (one that does not match is replaced by the request id)' }),
} as const;
export type RequestHeader = keyof typeof REQUEST_HEADERS;

/** The response headers the API sends, lower-case as it writes them. */
export const RESPONSE_HEADERS = {
  'x-correlation-id': z.string().meta({ description: "The request's X-Correlation-Id, or else the request id" }),
  location: z.string().meta({ description: 'The path of the created resource' }),
  etag: z.string().regex(/^"\d+"$/).meta({ description: "The stock level's version: If-Match of a replacing PUT" }),
  'idempotent-replayed': z.literal('true').meta({ description: 'The change had already been made (a retry): this answers it again' }),
  'retry-after': z.string().regex(/^\d+$/).meta({ description: 'Seconds to wait before retrying the same request' }),
} as const;
export type ResponseHeader = keyof typeof RESPONSE_HEADERS;

/** The version an If-Match header names; undefined without the header; a 400 for anything but one ETag we issued. */
export function ifMatchVersion(event: APIGatewayProxyEventV2): number | undefined {
  const value = header(event, 'If-Match');
  if (value === undefined) return undefined;
  const parsed = REQUEST_HEADERS['If-Match'].safeParse(value);
  if (!parsed.success) throw new ValidationError(toProblems(parsed.error, 'If-Match'));
  return Number(STRONG_ETAG.exec(value)![1]);
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

export function header(event: APIGatewayProxyEventV2, name: RequestHeader | 'content-type'): string | undefined {
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

/** A caller-supplied X-Correlation-Id when it is sane, else API Gateway's request id. */
export function correlationIdOf(event: APIGatewayProxyEventV2): string {
  const supplied = header(event, 'X-Correlation-Id');
  return supplied && REQUEST_HEADERS['X-Correlation-Id'].safeParse(supplied).success ? supplied : event.requestContext.requestId;
}
