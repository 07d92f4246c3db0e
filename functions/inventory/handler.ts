/** Inventory consumer: reserves an order's stock on OrderPlaced, in one transaction with the order's move to RESERVED. */
import { handleInventoryEvent, INVENTORY_EVENTS, InventoryDeps } from '../domain/inventory';
import { systemClock } from '../domain/ports';
import { dynamo } from '../adapters/clients';
import { DynamoDbOrderRepository } from '../adapters/dynamodb-order-repository';
import { ENV, numberEnv, requireEnv } from '../shared/env';
import { makeConsumerHandler } from '../shared/sqs-consumer';

let deps: InventoryDeps | undefined;
const inventoryDeps = (): InventoryDeps =>
  (deps ??= {
    orders: new DynamoDbOrderRepository(dynamo(), requireEnv(ENV.ordersTable), requireEnv(ENV.inventoryTable)),
    clock: systemClock,
    paymentWindowSeconds: numberEnv(ENV.paymentWindowSeconds),
  });

export const handler = makeConsumerHandler({ accepts: INVENTORY_EVENTS, handle: (event) => handleInventoryEvent(event, inventoryDeps()) });
