import { SweepDeps, SweepSettings } from '../domain/sweep';
import { systemClock } from '../domain/ports';
import { dynamo, eventBridge } from '../adapters/clients';
import { DynamoDbOrderRepository } from '../adapters/dynamodb-order-repository';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { ENV, numberEnv, requireEnv } from '../shared/env';

let deps: SweepDeps | undefined;
export const sweepDeps = (): SweepDeps =>
  (deps ??= {
    orders: new DynamoDbOrderRepository(dynamo(), requireEnv(ENV.ordersTable), requireEnv(ENV.inventoryTable)),
    events: new EventBridgePublisher(eventBridge(), requireEnv(ENV.eventBus)),
    clock: systemClock,
  });

export const sweepSettings = (): SweepSettings => ({
  stalePendingAfterSeconds: numberEnv(ENV.sweepStalePendingAfterSeconds),
  maxRepublishAttempts: numberEnv(ENV.sweepMaxRepublishAttempts),
  maxOrdersPerRun: numberEnv(ENV.sweepMaxOrdersPerRun),
});
