/** Inventory consumer: reserves stock for placed orders, gives it back on cancellation, settles it on payment. */
import { handleInventoryEvent, INVENTORY_EVENTS, InventoryDeps } from '../domain/inventory';
import { systemClock } from '../domain/ports';
import { dynamo, eventBridge } from '../adapters/clients';
import { DynamoDbOrderRepository } from '../adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../adapters/dynamodb-stock-repository';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { ENV, requireEnv } from '../shared/env';
import { makeConsumerHandler } from '../shared/sqs-consumer';

let deps: InventoryDeps | undefined;
const inventoryDeps = (): InventoryDeps =>
  (deps ??= {
    stock: new DynamoDbStockRepository(dynamo(), requireEnv(ENV.inventoryTable)),
    orders: new DynamoDbOrderRepository(dynamo(), requireEnv(ENV.ordersTable)),
    events: new EventBridgePublisher(eventBridge(), requireEnv(ENV.eventBus)),
    clock: systemClock,
  });

export const handler = makeConsumerHandler({ accepts: INVENTORY_EVENTS, handle: (event) => handleInventoryEvent(event, inventoryDeps()) });
