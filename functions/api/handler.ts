/** The order API: one function behind every route; each route is parse -> domain -> answer. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { Caller, isAdmin } from '../domain/caller';
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
import { ROUTES, RouteName, routeKey } from './routes';

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

const requireAdmin = (caller: Caller) => {
  if (!isAdmin(caller)) throw new ForbiddenError('inventory routes need the admin scope');
};

// HTTP APIs (and the local runtime) deliver path parameters already percent-decoded: decoding again would turn a
// literal `%2B` into `+` and make a sku containing `%` a URIError (500).
const param = (r: Request, name: string) => r.event.pathParameters?.[name] ?? '';

const ACTIONS: Record<RouteName, (r: Request) => Promise<Response>> = {
  async placeOrder(r) {
    const result = await placeOrder(
      {
        caller: r.caller,
        idempotencyKey: header(r.event, 'idempotency-key'),
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
    const headers: Record<string, string> = { location: `/orders/${result.order.orderId}` };
    if (result.replayed) headers['idempotent-replayed'] = 'true';
    return json(201, orderView(result.order), headers);
  },
  async listOrders(r) {
    const q = r.event.queryStringParameters ?? {};
    const page = await listOrders({ customerId: q.customerId, limit: q.limit, nextToken: q.nextToken }, r.caller, r.deps);
    return json(200, { items: page.orders.map(orderView), ...(page.cursor ? { nextToken: page.cursor } : {}) });
  },
  async getOrder(r) {
    return json(200, orderView(await getOrder(param(r, 'orderId'), r.caller, r.deps)));
  },
  async cancelOrder(r) {
    const orderId = param(r, 'orderId');
    logger.appendKeys({ orderId });
    const { order, replayed } = await cancelOrder(orderId, r.caller, r.deps);
    logger.info(replayed ? 'cancel replayed: event re-published' : 'order cancelled');
    return json(200, orderView(order), replayed ? { 'idempotent-replayed': 'true' } : {});
  },
  async confirmPayment(r) {
    const orderId = param(r, 'orderId');
    logger.appendKeys({ orderId });
    const { order, replayed } = await confirmPayment(orderId, parseBody(r.event), r.caller, r.deps);
    logger.info(replayed ? 'payment confirmation replayed: event re-published' : 'order paid');
    return json(200, orderView(order), replayed ? { 'idempotent-replayed': 'true' } : {});
  },
  async setStock(r) {
    requireAdmin(r.caller);
    const { level, created } = await setStock(param(r, 'sku'), parseBody(r.event), ifMatchVersion(r.event), r.deps.stock);
    return stockAnswer(created ? 201 : 200, level, created ? { location: `/inventory/${encodeURIComponent(level.sku)}` } : {});
  },
  async getStock(r) {
    requireAdmin(r.caller);
    return stockAnswer(200, await getStock(param(r, 'sku'), r.deps.stock));
  },
  async adjustStock(r) {
    requireAdmin(r.caller);
    const { level, replayed } = await adjustStock(
      { caller: r.caller, sku: param(r, 'sku'), idempotencyKey: header(r.event, 'idempotency-key'), body: parseBody(r.event) },
      { stock: r.deps.stock, clock: r.deps.clock },
    );
    logger.info(replayed ? 'stock adjustment replayed' : 'stock adjusted', { sku: level.sku });
    return stockAnswer(200, level, replayed ? { 'idempotent-replayed': 'true' } : {});
  },
};

/** A stock level, with its version as the ETag a replacing PUT sends back in If-Match. */
function stockAnswer(status: number, level: StockLevel, headers: Record<string, string> = {}): Response {
  const { sku, available, reserved, sold } = level;
  return json(status, { sku, available, reserved, sold }, { etag: etagOf(level.version), ...headers });
}

const BY_ROUTE_KEY = new Map(Object.entries(ROUTES).map(([name, route]) => [routeKey(route), ACTIONS[name as RouteName]]));

export function makeApiHandler(deps: () => ApiDeps) {
  return async (event: APIGatewayProxyEventV2, context: Context): Promise<Response> => {
    const correlationId = correlationIdOf(event);
    logger.appendKeys({ correlationId, routeKey: event.routeKey });
    const instance = event.rawPath;
    try {
      const action = BY_ROUTE_KEY.get(event.routeKey);
      if (!action) return problem(404, 'Not found', `no route ${event.routeKey}`, { instance }, { 'x-correlation-id': correlationId });
      const response = await action({ event, context, caller: callerOf(event), correlationId, deps: deps() });
      response.headers['x-correlation-id'] = correlationId;
      return response;
    } catch (error) {
      const answer = errorResponse(error, instance);
      if (answer) {
        logger.info('request refused', { statusCode: answer.statusCode, reason: (error as Error).message });
        answer.headers['x-correlation-id'] = correlationId;
        return answer;
      }
      logger.error('request failed', error as Error);
      return problem(500, 'Internal error', 'the request could not be completed; it is safe to retry with the same Idempotency-Key', { instance }, { 'x-correlation-id': correlationId });
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
