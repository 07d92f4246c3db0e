import { IAM_SERVICE, httpEvent, jwtCustomer } from './fixtures';
import { callerOf, correlationIdOf, errorResponse, etagOf, header, ifMatchVersion, parseBody, UnsupportedMediaTypeError } from '../../../functions/api/http';
import {
  ContentionError,
  ForbiddenError,
  UnauthenticatedError,
  IdempotencyKeyReusedError,
  MalformedEventError,
  NotFoundError,
  PreconditionError,
  StateConflictError,
  ValidationError,
} from '../../../functions/domain/errors';
import { SCOPES } from '../../../functions/domain/caller';
import { ENV, numberEnv, requireEnv } from '../../../functions/shared/env';

describe('callerOf', () => {
  test('a JWT is a customer: subject, plus scopes from the authorizer and the scope claim', () => {
    const event = httpEvent({ routeKey: 'GET /orders', authorizer: jwtCustomer('cust-1', `openid ${SCOPES.payments}`) });
    expect(callerOf(event)).toEqual({ kind: 'customer', customerId: 'cust-1', scopes: ['openid', SCOPES.payments] });

    const withScopes = httpEvent({ routeKey: 'GET /orders', authorizer: { jwt: { claims: { sub: 'cust-2' }, scopes: [SCOPES.admin] } } });
    expect(callerOf(withScopes)).toEqual({ kind: 'customer', customerId: 'cust-2', scopes: [SCOPES.admin] });
  });

  test('IAM is a service named by its ARN; a request that names nobody is refused, never a service', () => {
    const arn = 'iam' in IAM_SERVICE ? IAM_SERVICE.iam.userArn : '';
    expect(callerOf(httpEvent({ routeKey: 'GET /orders', authorizer: IAM_SERVICE }))).toEqual({ kind: 'service', principal: arn });
    expect(() => callerOf(httpEvent({ routeKey: 'GET /orders', authorizer: null }))).toThrow(UnauthenticatedError);
    expect(() => callerOf(httpEvent({ routeKey: 'GET /orders', authorizer: { iam: {} } as never }))).toThrow(UnauthenticatedError);
  });

  test('a token without a subject is no caller at all: refused, not trusted as a service', () => {
    expect(() => callerOf(httpEvent({ routeKey: 'GET /orders', authorizer: { jwt: { claims: { scope: SCOPES.admin }, scopes: [SCOPES.admin] } } }))).toThrow(/names no subject/);
    expect(() => callerOf(httpEvent({ routeKey: 'GET /orders', authorizer: { jwt: { claims: { sub: '' }, scopes: [] } } }))).toThrow(UnauthenticatedError);
  });
});

describe('request helpers', () => {
  test('headers are found whatever their case', () => {
    const event = httpEvent({ routeKey: 'POST /orders', headers: { 'IDEMPOTENCY-KEY': 'k1' } });
    expect(header(event, 'Idempotency-Key')).toBe('k1');
    expect(header(event, 'If-Match')).toBeUndefined();
  });

  test('the correlation id: a sane caller-supplied one, else the API Gateway request id', () => {
    expect(correlationIdOf(httpEvent({ routeKey: 'GET /orders', headers: { 'X-Correlation-Id': 'abc:123.x_y-z' }, requestId: 'req-1' }))).toBe('abc:123.x_y-z');
    expect(correlationIdOf(httpEvent({ routeKey: 'GET /orders', headers: { 'x-correlation-id': 'a'.repeat(129) }, requestId: 'req-1' }))).toBe('req-1');
    expect(correlationIdOf(httpEvent({ routeKey: 'GET /orders', headers: { 'x-correlation-id': '<script>' }, requestId: 'req-1' }))).toBe('req-1');
    expect(correlationIdOf(httpEvent({ routeKey: 'GET /orders', requestId: 'req-2' }))).toBe('req-2');
  });

  test('parseBody reads JSON, base64-encoded JSON, and refuses the rest naming the body', () => {
    expect(parseBody(httpEvent({ routeKey: 'POST /orders', body: { a: 1 } }))).toEqual({ a: 1 });
    const encoded = { ...httpEvent({ routeKey: 'POST /orders' }), isBase64Encoded: true, body: Buffer.from('{"b":2}').toString('base64') };
    expect(parseBody(encoded)).toEqual({ b: 2 });
    const refusal = (body?: string) => {
      try {
        parseBody(httpEvent({ routeKey: 'POST /orders', ...(body === undefined ? {} : { rawBody: body }) }));
      } catch (error) {
        return error;
      }
      throw new Error('expected a refusal');
    };
    expect(refusal('{oops')).toBeInstanceOf(ValidationError);
    expect((refusal('{oops') as ValidationError).problems).toEqual([{ field: '(body)', message: 'the request body is not valid JSON' }]);
    expect((refusal() as ValidationError).problems[0].field).toBe('(body)');
  });

  test('parseBody takes application/json with any parameters and case; another content type, or none, is a 415', () => {
    const withType = (type: string | undefined) => {
      const event = httpEvent({ routeKey: 'POST /orders', body: { a: 1 } });
      delete event.headers['content-type'];
      if (type !== undefined) event.headers['Content-Type'] = type;
      return event;
    };
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON', ' application/json ;charset=UTF-8']) expect(parseBody(withType(type))).toEqual({ a: 1 });
    for (const type of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonl', 'application/json-patch+json', 'text/json']) {
      expect(() => parseBody(withType(type))).toThrow(UnsupportedMediaTypeError);
    }
    expect(errorResponse(new UnsupportedMediaTypeError('content-type must be application/json, not "text/plain"'), '/orders')).toMatchObject({ statusCode: 415, headers: { 'content-type': 'application/problem+json' } });
  });

  test('etagOf quotes a version as a strong ETag', () => {
    expect(etagOf(7)).toBe('"7"');
  });

  test('ifMatchVersion: undefined without the header, the version of one strong ETag, a 400 naming If-Match otherwise', () => {
    const ifMatch = (value?: string) => ifMatchVersion(httpEvent({ routeKey: 'PUT /inventory/{sku}', ...(value === undefined ? {} : { headers: { 'If-Match': value } }) }));
    expect(ifMatch()).toBeUndefined();
    expect(ifMatch('"3"')).toBe(3);
    expect(ifMatch(' "42" ')).toBe(42);
    for (const bad of ['3', 'W/"3"', '"3", "4"', '*', '"x"', '""', '']) {
      let refusal: unknown;
      try {
        ifMatch(bad);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(ValidationError);
      expect((refusal as ValidationError).problems).toEqual([expect.objectContaining({ field: 'If-Match' })]);
    }
  });
});

describe('errorResponse', () => {
  const body = (r: ReturnType<typeof errorResponse>) => JSON.parse(r!.body!);

  test('maps each domain error to its status as problem+json', () => {
    const cases: [Error, number][] = [
      [new ValidationError([{ field: 'x', message: 'x is wrong' }]), 400],
      [new ForbiddenError('no'), 403],
      [new NotFoundError('gone'), 404],
      [new StateConflictError('late', 'PAID'), 409],
      [new IdempotencyKeyReusedError('other body'), 422],
      [new PreconditionError('needs If-Match', 428, 4), 428],
      [new PreconditionError('stale', 412, 5), 412],
      [new ContentionError('busy'), 503],
    ];
    for (const [error, status] of cases) {
      const response = errorResponse(error, '/orders/1');
      expect(response?.statusCode).toBe(status);
      expect(response?.headers['content-type']).toBe('application/problem+json');
      expect(body(response)).toMatchObject({ type: 'about:blank', status, detail: error.message, instance: '/orders/1' });
    }
    expect(body(errorResponse(cases[0][0], '/')).errors).toEqual([{ field: 'x', message: 'x is wrong' }]);
    expect(body(errorResponse(cases[3][0], '/')).currentStatus).toBe('PAID');
    expect(body(errorResponse(cases[4][0], '/'))).toMatchObject({ title: 'Idempotency-Key reused' });
  });

  test('a precondition answer carries the current version as its ETag (when known) and names what is missing', () => {
    const required = errorResponse(new PreconditionError('needs If-Match', 428, 4), '/inventory/s');
    expect(required?.headers.etag).toBe('"4"');
    expect(body(required)).toMatchObject({ status: 428, title: 'Precondition required' });
    const failed = errorResponse(new PreconditionError('stale', 412, 5), '/inventory/s');
    expect(failed?.headers.etag).toBe('"5"');
    expect(body(failed)).toMatchObject({ status: 412, title: 'Precondition failed' });
    expect(errorResponse(new PreconditionError('unknown version', 412), '/')?.headers).not.toHaveProperty('etag');
  });

  test('contention is a 503 the client may retry: retry-after, no etag', () => {
    const busy = errorResponse(new ContentionError('kept conflicting'), '/orders/1/payment');
    expect(busy?.headers['retry-after']).toBe('1');
    expect(body(busy)).toMatchObject({ status: 503, title: 'Busy', detail: 'kept conflicting', instance: '/orders/1/payment' });
  });

  test('anything else is ours: no answer (the handler makes it a 500)', () => {
    expect(errorResponse(new Error('bug'), '/')).toBeUndefined();
    expect(errorResponse(new MalformedEventError('x'), '/')).toBeUndefined();
    expect(errorResponse('thrown string', '/')).toBeUndefined();
  });
});

describe('env', () => {
  const NAME = 'TEST_ONLY_SETTING';
  afterEach(() => {
    delete process.env[NAME];
  });

  test('requireEnv returns the value, and names a missing or empty variable', () => {
    process.env[NAME] = 'x';
    expect(requireEnv(NAME)).toBe('x');
    process.env[NAME] = '';
    expect(() => requireEnv(NAME)).toThrow(`environment variable ${NAME} is not set`);
    delete process.env[NAME];
    expect(() => requireEnv(NAME)).toThrow(NAME);
  });

  test('numberEnv parses numbers and refuses the rest', () => {
    process.env[NAME] = '900';
    expect(numberEnv(NAME)).toBe(900);
    process.env[NAME] = 'soon';
    expect(() => numberEnv(NAME)).toThrow(`environment variable ${NAME} must be a number`);
  });

  test('the fixtures set every variable the stack sets', () => {
    for (const name of Object.values(ENV)) expect(process.env[name]).toBeTruthy();
  });
});
