/**
 * The HTTP API's routes and what each one takes and answers: the stack creates one API Gateway route per entry (with
 * its authorization), the API function dispatches on the same route keys and answers only with a route's `answers`
 * (its actions are typed by them) or a refusal of http.ts's PROBLEMS, and docs/openapi.json is generated from this
 * table (lib/openapi.ts).
 */
import * as z from 'zod'; // a namespace import: see domain/schemas.ts
import { SCOPES } from '../domain/caller';
import {
  adjustStockSchema,
  customerIdSchema,
  orderIdSchema,
  orderPageSchema,
  orderViewSchema,
  pageLimitSchema,
  paymentSchema,
  placeOrderBodySchema,
  setStockSchema,
  skuSchema,
  stockLevelSchema,
} from '../domain/schemas';
import type { ProblemStatus, RequestHeader, ResponseHeader } from './http';

/** One success answer: its body, and its headers (true: on every such answer, false: on some). */
export interface AnswerSpec {
  description: string;
  body: z.ZodType;
  headers?: Partial<Record<ResponseHeader, boolean>>;
}

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  summary: string;
  /** With a JWT authorizer: a token needs one of these scopes (none listed: any valid customer token). */
  scopes: readonly string[];
  /** The path's `{parameters}`, by name. */
  params?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  /** The request headers the route reads (every route reads X-Correlation-Id): true when required. */
  headers?: Partial<Record<RequestHeader, boolean>>;
  /** A JSON request body. */
  body?: z.ZodType;
  answers: Record<number, AnswerSpec>;
  /** When the function refuses a request to this route, by status, besides the refusals of every route (EVERY_ROUTE_REFUSES). */
  refusals: Partial<Record<ProblemStatus, string>>;
}

/** Refusals any route may answer. */
export const EVERY_ROUTE_REFUSES = {
  401: 'nobody identified the caller: no IAM principal, or a token without a subject',
  500: 'the request could not be completed: it is safe to retry it as it was (the same Idempotency-Key)',
} as const satisfies Partial<Record<ProblemStatus, string>>;

const orderPath = { orderId: orderIdSchema };
const skuPath = { sku: skuSchema };
const replayed = { 'idempotent-replayed': false } as const;
const noSuchOrder = "no such order, or not the caller's";

export const ROUTES = {
  placeOrder: {
    method: 'POST',
    path: '/orders',
    summary: 'Place an order',
    scopes: [],
    headers: { 'Idempotency-Key': true },
    body: placeOrderBodySchema,
    answers: { 201: { description: 'The order, PENDING (RESERVED or REJECTED a moment later); a replay answers it as it is now', body: orderViewSchema, headers: { location: true, ...replayed } } },
    refusals: {
      400: 'an invalid body or Idempotency-Key: every wrong field named; nothing written',
      403: 'a customer ordering for another customer',
      415: 'a body that is not application/json',
      422: 'the Idempotency-Key was used with another body',
    },
  },
  listOrders: {
    method: 'GET',
    path: '/orders',
    summary: "List a customer's orders, newest first",
    scopes: [],
    query: z.object({
      customerId: customerIdSchema.optional().meta({ description: "Whose orders: required for a service (IAM) caller; a customer (JWT) lists its own" }),
      limit: pageLimitSchema,
      nextToken: z.string().optional().meta({ description: "The previous page's nextToken" }),
    }),
    answers: { 200: { description: 'A page of orders', body: orderPageSchema } },
    refusals: { 400: 'no customerId (a service), a limit out of range, a nextToken this listing did not return', 403: "a customer listing another customer's orders" },
  },
  getOrder: {
    method: 'GET',
    path: '/orders/{orderId}',
    summary: 'Read an order',
    scopes: [],
    params: orderPath,
    answers: { 200: { description: 'The order', body: orderViewSchema } },
    refusals: { 400: 'an orderId no order can have', 404: noSuchOrder },
  },
  cancelOrder: {
    method: 'POST',
    path: '/orders/{orderId}/cancel',
    summary: 'Cancel an order (PENDING, RESERVED or NEEDS_ATTENTION): its held stock is given back',
    scopes: [],
    params: orderPath,
    answers: { 200: { description: 'The cancelled order; a retry of a cancel answers it again and re-publishes its event', body: orderViewSchema, headers: replayed } },
    refusals: { 400: 'an orderId no order can have', 404: noSuchOrder, 409: 'the order is in a status that cannot be cancelled (currentStatus)', 503: 'the order kept changing meanwhile: retry' },
  },
  confirmPayment: {
    method: 'POST',
    path: '/orders/{orderId}/payment',
    summary: 'Confirm the payment of a RESERVED order: its held units become sales',
    scopes: [SCOPES.payments, SCOPES.admin],
    params: orderPath,
    body: paymentSchema,
    answers: { 200: { description: 'The PAID order; a retry with the same paymentId answers it again and re-publishes its event', body: orderViewSchema, headers: replayed } },
    refusals: {
      400: 'an invalid body or orderId',
      403: 'a token without the payments or admin scope',
      404: 'no such order',
      409: 'the order is not RESERVED, or PAID by another payment (currentStatus)',
      415: 'a body that is not application/json',
      503: 'the order kept changing meanwhile: retry',
    },
  },
  setStock: {
    method: 'PUT',
    path: '/inventory/{sku}',
    summary: "Create a SKU, or replace its available units at the version read (If-Match)",
    scopes: [SCOPES.admin],
    params: skuPath,
    headers: { 'If-Match': false },
    body: setStockSchema,
    answers: {
      200: { description: 'Replaced (If-Match held)', body: stockLevelSchema, headers: { etag: true } },
      201: { description: 'Created', body: stockLevelSchema, headers: { etag: true, location: true } },
    },
    refusals: {
      400: 'an invalid body, sku or If-Match',
      403: 'a token without the admin scope',
      404: 'If-Match on a SKU that is not stocked',
      412: 'the If-Match ETag is stale: the current ETag comes with it',
      415: 'a body that is not application/json',
      428: 'the SKU exists: replacing it needs If-Match (the current ETag comes with it), or POST an adjustment',
    },
  },
  getStock: {
    method: 'GET',
    path: '/inventory/{sku}',
    summary: "Read a SKU's stock",
    scopes: [SCOPES.admin],
    params: skuPath,
    answers: { 200: { description: 'The stock level; its ETag is the If-Match of a replacing PUT', body: stockLevelSchema, headers: { etag: true } } },
    refusals: { 400: 'an invalid sku', 403: 'a token without the admin scope', 404: 'the SKU is not stocked' },
  },
  adjustStock: {
    method: 'POST',
    path: '/inventory/{sku}/adjustments',
    summary: 'Add or remove units, once per Idempotency-Key',
    scopes: [SCOPES.admin],
    params: skuPath,
    headers: { 'Idempotency-Key': true },
    body: adjustStockSchema,
    answers: { 200: { description: 'The stock level after the adjustment; a replay answers the level as it is now', body: stockLevelSchema, headers: { etag: true, ...replayed } } },
    refusals: {
      400: 'an invalid body, sku or Idempotency-Key',
      403: 'a token without the admin scope',
      404: 'the SKU is not stocked',
      409: 'the removal would make available negative (currentStatus INSUFFICIENT_STOCK)',
      415: 'a body that is not application/json',
      422: 'the Idempotency-Key was used for another adjustment',
      503: 'the SKU kept changing meanwhile: retry',
    },
  },
  getApiDocument: {
    method: 'GET',
    path: '/openapi.json',
    summary: "This API's OpenAPI document",
    scopes: [],
    answers: {
      200: {
        description: 'docs/openapi.json as this version of the API function was built with it',
        body: z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }),
      },
    },
    refusals: {},
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

/** API Gateway's route key, e.g. `POST /orders/{orderId}/cancel`. */
export function routeKey(route: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

type AnswersOf<N extends RouteName> = (typeof ROUTES)[N]['answers'];
type BodyOf<A> = A extends { body: infer B extends z.ZodType } ? z.output<B> : never;
type HeadersOf<A> = A extends { headers: infer H } ? keyof H : never;

/** What a route's action answers: one of the route's answers, its body typed by the answer's schema. */
export type Reply<N extends RouteName> = {
  [S in keyof AnswersOf<N> & number]: { status: S; body: BodyOf<AnswersOf<N>[S]>; headers?: Partial<Record<HeadersOf<AnswersOf<N>[S]>, string>> };
}[keyof AnswersOf<N> & number];
