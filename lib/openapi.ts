/**
 * The order API's contract as an OpenAPI 3.1 document, generated from the route table (functions/api/routes.ts), the
 * zod schemas it names, the refusals of functions/api/http.ts and the authorization the stack gives each route
 * (orders-api.ts): nothing here describes a route by hand. `npm run openapi` (bin/openapi.ts) writes it to
 * docs/openapi.json and its TypeScript types to docs/openapi.d.ts; the API function serves the committed JSON (so
 * zod-openapi never reaches its bundle), and test/lib/openapi.test.ts fails when either file differs from the code.
 */
import { z } from 'zod';
import { createDocument, ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponseObject } from 'zod-openapi';
import { conflictProblemSchema, PROBLEMS, ProblemStatus, problemSchema, REQUEST_HEADERS, RESPONSE_HEADERS, ResponseHeader, validationProblemSchema } from '../functions/api/http';
import { EVERY_ROUTE_REFUSES, ROUTES, RouteSpec } from '../functions/api/routes';
import {
  adjustStockSchema,
  orderLineSchema,
  orderPageSchema,
  orderViewSchema,
  paymentSchema,
  placeOrderBodySchema,
  setStockSchema,
  stockLevelSchema,
} from '../functions/domain/schemas';
import { version } from '../package.json';

export const API_DOCUMENT_FILES = { json: 'docs/openapi.json', types: 'docs/openapi.d.ts' } as const;

/** API Gateway's own answers (a JSON `{"message": ...}`), before the function runs or instead of its answer. */
const GATEWAY_ANSWERS = {
  401: { id: 'GatewayUnauthorized', description: 'API Gateway (JWT): no token, or one it refuses (signature, issuer, audience, expiry); www-authenticate says why' },
  403: { id: 'GatewayForbidden', description: 'API Gateway: the signature is refused (IAM), or the token has none of the route scopes (JWT)' },
  413: { id: 'PayloadTooLarge', description: 'API Gateway: the request is larger than its payload limit' },
  429: { id: 'Throttled', description: 'API Gateway: the stage throttling refused the request; retry later' },
  500: { id: 'GatewayError', description: 'API Gateway: the function failed' },
  503: { id: 'GatewayTimeout', description: 'API Gateway: the function did not answer in time' },
} as const;
const gatewayMessageSchema = z.strictObject({ message: z.string() });
const wwwAuthenticate = z.string().meta({ description: 'Why API Gateway refused the token' });

/** Named schemas: each appears once under components.schemas, referenced wherever the schema is used. */
const COMPONENTS = {
  Order: orderViewSchema,
  OrderLine: orderLineSchema,
  OrderPage: orderPageSchema,
  StockLevel: stockLevelSchema,
  PlaceOrderRequest: placeOrderBodySchema,
  PaymentRequest: paymentSchema,
  SetStockRequest: setStockSchema,
  StockAdjustmentRequest: adjustStockSchema,
  Problem: problemSchema,
  ValidationProblem: validationProblemSchema,
  ConflictProblem: conflictProblemSchema,
  GatewayMessage: gatewayMessageSchema,
};

/** As lib/orders-api.ts deploys the API: IAM authorization by default, a JWT authorizer when an issuer is given. */
const SECURITY_SCHEMES = {
  iam: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: 'The default deployment: requests signed with AWS Signature Version 4 (service execute-api) by an IAM principal of the account',
    'x-amazon-apigateway-authtype': 'awsSigv4',
  },
  jwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'Deployed with the jwtIssuer and jwtAudience context: a token of that issuer and audience; the customer is its subject. ' +
      'On a route with scopes the token needs one of them (each is listed as an alternative)',
  },
} as const;

/** Headers as zod-openapi reads them: an object whose optional members are the headers only some answers carry. */
function headersOf(spec: Partial<Record<ResponseHeader, boolean>>, extra: Record<string, z.ZodType> = {}) {
  const shape: Record<string, z.ZodType> = { ...extra };
  for (const [name, always] of Object.entries(spec) as [ResponseHeader, boolean][]) shape[name] = always ? RESPONSE_HEADERS[name] : RESPONSE_HEADERS[name].optional();
  return Object.keys(shape).length ? { headers: z.object(shape) } : {};
}

/** A route API Gateway answers for alone gets the same response object as every other (a component: its id). */
const GATEWAY_RESPONSES = {} as Record<keyof typeof GATEWAY_ANSWERS, ZodOpenApiResponseObject>;
for (const [status, { id, description }] of Object.entries(GATEWAY_ANSWERS)) {
  GATEWAY_RESPONSES[Number(status) as keyof typeof GATEWAY_ANSWERS] = { id, description, content: { 'application/json': { schema: gatewayMessageSchema } } };
}

function responses(route: RouteSpec): Record<string, ZodOpenApiResponseObject> {
  const answered: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    answered[status] = {
      description: answer.description,
      ...headersOf({ ...answer.headers, 'x-correlation-id': true }),
      content: { 'application/json': { schema: answer.body } },
    };
  }
  const refusals: Partial<Record<ProblemStatus, string>> = { ...route.refusals, ...EVERY_ROUTE_REFUSES };
  const statuses = [...new Set([...Object.keys(refusals), ...Object.keys(GATEWAY_ANSWERS)].map(Number))].sort((a, b) => a - b);
  for (const status of statuses) {
    const when = refusals[status as ProblemStatus];
    const gateway = GATEWAY_ANSWERS[status as keyof typeof GATEWAY_ANSWERS];
    const refusal = when ? PROBLEMS[status as ProblemStatus] : undefined;
    if (!refusal) {
      answered[status] = GATEWAY_RESPONSES[status as keyof typeof GATEWAY_ANSWERS];
      continue;
    }
    answered[status] = {
      description: [`${refusal.title}: ${when}`, gateway?.description].filter(Boolean).join('. '),
      // API Gateway's own answers carry none of the function's headers.
      ...headersOf(
        { ...('headers' in refusal ? refusal.headers : {}), 'x-correlation-id': !gateway },
        status === 401 ? { 'www-authenticate': wwwAuthenticate.optional() } : {},
      ),
      content: {
        'application/problem+json': { schema: refusal.body },
        ...(gateway ? { 'application/json': { schema: gatewayMessageSchema } } : {}),
      },
    };
  }
  return answered;
}

function operation(name: string, route: RouteSpec): ZodOpenApiOperationObject {
  const header: Record<string, z.ZodType> = {};
  for (const [headerName, required] of Object.entries({ ...route.headers, 'X-Correlation-Id': false }) as [keyof typeof REQUEST_HEADERS, boolean][]) {
    header[headerName] = required ? REQUEST_HEADERS[headerName] : REQUEST_HEADERS[headerName].optional();
  }
  return {
    operationId: name,
    summary: route.summary,
    security: [{ iam: [] }, ...(route.scopes.length ? route.scopes.map((scope) => ({ jwt: [scope] })) : [{ jwt: [] }])],
    requestParams: { ...(route.params ? { path: z.object(route.params) } : {}), ...(route.query ? { query: route.query } : {}), header: z.object(header) },
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
    responses: responses(route),
  };
}

export function apiDocument() {
  const paths: ZodOpenApiPathsObject = {};
  for (const [name, route] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(name, route) };
  }
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'Order pipeline API',
        version,
        description:
          'Orders and stock. Every route needs authorization (no route is open). Refusals are RFC 9457 application/problem+json; ' +
          'API Gateway answers some requests itself with a JSON {"message"}. Generated by `npm run openapi` from functions/api/routes.ts.',
      },
      paths,
      components: {
        schemas: COMPONENTS,
        headers: {
          // Only headers every answer that names them carries: a reference hides `required` from openapi-typescript.
          CorrelationId: RESPONSE_HEADERS['x-correlation-id'],
          Location: RESPONSE_HEADERS.location,
          ETag: RESPONSE_HEADERS.etag,
          RetryAfter: RESPONSE_HEADERS['retry-after'],
        },
        securitySchemes: SECURITY_SCHEMES,
      },
    },
    {
      // zod writes a long pattern besides format date-time: the format says it.
      override: ({ jsonSchema }) => {
        if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
      },
    },
  );
}

export type ApiDocument = ReturnType<typeof apiDocument>;

/** The document as docs/openapi.json holds it. */
export function apiDocumentJson(document: ApiDocument = apiDocument()): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
