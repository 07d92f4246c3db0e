/** Order-status consumer: moves orders to RESERVED or REJECTED as inventory decides. */
import { applyInventoryOutcome, ORDER_STATUS_EVENTS, OrderStatusDeps } from '../domain/order-status';
import { systemClock } from '../domain/ports';
import { dynamo, eventBridge } from '../adapters/clients';
import { DynamoDbOrderRepository } from '../adapters/dynamodb-order-repository';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { ENV, numberEnv, requireEnv } from '../shared/env';
import { makeConsumerHandler } from '../shared/sqs-consumer';

let deps: OrderStatusDeps | undefined;
const statusDeps = (): OrderStatusDeps =>
  (deps ??= {
    orders: new DynamoDbOrderRepository(dynamo(), requireEnv(ENV.ordersTable)),
    events: new EventBridgePublisher(eventBridge(), requireEnv(ENV.eventBus)),
    clock: systemClock,
    paymentWindowSeconds: numberEnv(ENV.paymentWindowSeconds),
  });

export const handler = makeConsumerHandler({ accepts: ORDER_STATUS_EVENTS, handle: (event) => applyInventoryOutcome(event, statusDeps()) });
