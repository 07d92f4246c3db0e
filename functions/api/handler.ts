/** The order API: one function behind every route; each route is parse -> domain -> answer. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { Caller } from '../domain/caller';
import { ForbiddenError } from '../domain/errors';
import { cancelOrder, confirmPayment, getOrder, listOrders, OrderDeps, placeOrder } from '../domain/orders';
import { adjustStock, getStock, setStock } from '../domain/inventory';
import { orderView } from '../domain/order';
import { StockLevel, StockRepository, systemClock } from '../domain/ports';
import { dynamo, eventBridge } from '../adapters/clients';
import { DynamoDbOrderRepository } from '../adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../adapters/dynamodb-stock-repository';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { ENV, requireEnv } from '../shared/env';
import { logger, metrics, METRIC } from '../shared/observability';
import { callerOf, correlationIdOf, errorResponse, etagOf, header, ifMatchVersion, json, parseBody, problem, Response } from './http';
import { Reply, ROUTES, RouteName, RouteSpec, routeKey } from './routes';
// The committed document (npm run openapi writes it; a test holds it to the code): zod-openapi stays out of this bundle.
import apiDocument from '../../docs/openapi.json';

export interface ApiDeps extends OrderDeps {
  stock: StockRepository;
}

interface Request {
  event: APIGatewayProxyEventV2;
  context: Context;
  caller: Caller;
  correlationId: string;
  deps: ApiDeps;
}

/**
 * A route's scopes, as its JWT authorizer requires them on AWS: a customer needs one of them. A service (IAM-signed)
 * is trusted with every route.
 */
function requireScopes(route: RouteSpec, caller: Caller): void {
  if (caller.kind === 'customer' && route.scopes.length && !route.scopes.some((scope) => caller.scopes.includes(scope))) {
    throw new ForbiddenError(`${routeKey(route)} needs one of the scopes ${route.scopes.join(', ')}`);
  }
}

// HTTP APIs (and the local runtime) deliver path parameters already percent-decoded: decoding again would turn a
// literal `%2B` into `+` and make a sku containing `%` a URIError (500).
const param = (r: Request, name: string) => r.event.pathParameters?.[name] ?? '';

const ACTIONS: { [N in RouteName]: (r: Request) => Promise<Reply<N>> } = {
  async placeOrder(r) {
    const result = await placeOrder(
      {
        caller: r.caller,
        idempotencyKey: header(r.event, 'Idempotency-Key'),
        body: parseBody(r.event),
        correlationId: r.correlationId,
      },
      r.deps,
    );
    logger.appendKeys({ orderId: result.order.orderId });
    if (!result.replayed) {
      metrics.addMetric(METRIC.ordersPlaced, MetricUnit.Count, 1);
      logger.info('order placed');
    } else {
      logger.info('order request replayed');
    }
    return { status: 201, body: orderView(result.order), headers: { location: `/orders/${result.order.orderId}`, ...replayedHeader(result.replayed) } };
  },
  async listOrders(r) {
    const q = r.event.queryStringParameters ?? {};
    const page = await listOrders({ customerId: q.customerId, limit: q.limit, nextToken: q.nextToken }, r.caller, r.deps);
    return { status: 200, body: { items: page.orders.map(orderView), ...(page.cursor ? { nextToken: page.cursor } : {}) } };
  },
  async getOrder(r) {
    return { status: 200, body: orderView(await getOrder(param(r, 'orderId'), r.caller, r.deps)) };
  },
  async cancelOrder(r) {
    const orderId = param(r, 'orderId');
    logger.appendKeys({ orderId });
    const { order, replayed } = await cancelOrder(orderId, r.caller, r.deps);
    logger.info(replayed ? 'cancel replayed: event re-published' : 'order cancelled');
    return { status: 200, body: orderView(order), headers: replayedHeader(replayed) };
  },
  async confirmPayment(r) {
    const orderId = param(r, 'orderId');
    logger.appendKeys({ orderId });
    const { order, replayed } = await confirmPayment(orderId, parseBody(r.event), r.caller, r.deps);
    logger.info(replayed ? 'payment confirmation replayed: event re-published' : 'order paid');
    return { status: 200, body: orderView(order), headers: replayedHeader(replayed) };
  },
  async setStock(r) {
    const { level, created } = await setStock(param(r, 'sku'), parseBody(r.event), ifMatchVersion(r.event), r.deps.stock);
    const etag = { etag: etagOf(level.version) };
    if (!created) return { status: 200, body: stockView(level), headers: etag };
    return { status: 201, body: stockView(level), headers: { ...etag, location: `/inventory/${encodeURIComponent(level.sku)}` } };
  },
  async getStock(r) {
    const level = await getStock(param(r, 'sku'), r.deps.stock);
    return { status: 200, body: stockView(level), headers: { etag: etagOf(level.version) } };
  },
  async adjustStock(r) {
    const { level, replayed } = await adjustStock(
      { caller: r.caller, sku: param(r, 'sku'), idempotencyKey: header(r.event, 'Idempotency-Key'), body: parseBody(r.event) },
      { stock: r.deps.stock, clock: r.deps.clock },
    );
    logger.info(replayed ? 'stock adjustment replayed' : 'stock adjusted', { sku: level.sku });
    return { status: 200, body: stockView(level), headers: { etag: etagOf(level.version), ...replayedHeader(replayed) } };
  },
  async getApiDocument() {
    return { status: 200, body: apiDocument };
  },
};

const replayedHeader = (replayed: boolean) => (replayed ? { 'idempotent-replayed': 'true' } : {});

/** A stock level as the API shows it; its version travels as the ETag a replacing PUT sends back in If-Match. */
const stockView = ({ sku, available, reserved, sold }: StockLevel) => ({ sku, available, reserved, sold });

type AnyReply = { [N in RouteName]: Reply<N> }[RouteName];
const BY_ROUTE_KEY = new Map(
  (Object.keys(ROUTES) as RouteName[]).map((name) => {
    const route: RouteSpec = ROUTES[name];
    const action = ACTIONS[name] as (r: Request) => Promise<AnyReply>;
    return [routeKey(route), { route, action }];
  }),
);

export function makeApiHandler(deps: () => ApiDeps) {
  return async (event: APIGatewayProxyEventV2, context: Context): Promise<Response> => {
    const correlationId = correlationIdOf(event);
    logger.appendKeys({ correlationId, routeKey: event.routeKey });
    const instance = event.rawPath;
    try {
      const entry = BY_ROUTE_KEY.get(event.routeKey);
      if (!entry) return problem(404, `no route ${event.routeKey}`, { instance }, { 'x-correlation-id': correlationId });
      const caller = callerOf(event);
      requireScopes(entry.route, caller);
      const reply = await entry.action({ event, context, caller, correlationId, deps: deps() });
      return json(reply.status, reply.body, { ...reply.headers, 'x-correlation-id': correlationId });
    } catch (error) {
      const answer = errorResponse(error, instance);
      if (answer) {
        logger.info('request refused', { statusCode: answer.statusCode, reason: (error as Error).message });
        answer.headers['x-correlation-id'] = correlationId;
        return answer;
      }
      logger.error('request failed', error as Error);
      return problem(500, 'the request could not be completed; it is safe to retry with the same Idempotency-Key', { instance }, { 'x-correlation-id': correlationId });
    } finally {
      logger.removeKeys(['orderId', 'correlationId', 'routeKey']);
    }
  };
}

let awsDeps: ApiDeps | undefined;
function defaultDeps(): ApiDeps {
  awsDeps ??= {
    orders: new DynamoDbOrderRepository(dynamo(), requireEnv(ENV.ordersTable), requireEnv(ENV.inventoryTable)),
    stock: new DynamoDbStockRepository(dynamo(), requireEnv(ENV.inventoryTable), requireEnv(ENV.idempotencyTable)),
    events: new EventBridgePublisher(eventBridge(), requireEnv(ENV.eventBus)),
    clock: systemClock,
  };
  return awsDeps;
}

export const handler = middy(makeApiHandler(defaultDeps)).use(injectLambdaContext(logger)).use(logMetrics(metrics));
