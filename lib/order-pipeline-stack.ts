/** The order pipeline: API -> table + bus -> one queue per consumer -> saga functions, swept on a schedule. */
import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ENV } from '../functions/shared/env';
import { CompensationSweep } from './compensation-sweep';
import { EventRelay } from './event-relay';
import { CONSUMERS, PipelineConfig } from './config';
import { Consumer } from './consumer';
import { Observability } from './observability';
import { OrderEvents } from './order-events';
import { OrdersApi } from './orders-api';
import { Tables } from './tables';
import { acknowledge } from './nag';

export interface OrderPipelineStackProps extends StackProps {
  config: PipelineConfig;
}

/** The stack output keys (deploy outputs, the local runtime's outputs file). */
export const OUTPUTS = ['ApiUrl', 'OrdersTableName', 'InventoryTableName', 'EventBusName', 'SweepStateMachineArn', 'AlarmTopicArn'] as const;

export class OrderPipelineStack extends Stack {
  readonly tables: Tables;
  readonly events: OrderEvents;
  readonly api: OrdersApi;
  readonly consumers: Record<keyof typeof CONSUMERS, Consumer>;
  readonly relay: EventRelay;
  readonly sweep: CompensationSweep;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: OrderPipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = retentionDays(config.logRetentionDays);

    this.observability = new Observability(this, 'Observability', { alarmEmail: config.alarmEmail, queueAgeAlarmSeconds: config.queueAgeAlarmSeconds });
    this.tables = new Tables(this, 'Tables');
    this.events = new OrderEvents(this, 'OrderEvents', { archiveRetentionDays: config.archiveRetentionDays });
    const { orders, inventory, idempotency, notifications } = this.tables;
    const bus = this.events.bus;

    this.relay = new EventRelay(this, 'EventRelay', { orders, bus, observability: this.observability, logRetention });

    this.api = new OrdersApi(this, 'OrdersApi', {
      environment: {
        [ENV.ordersTable]: orders.tableName,
        [ENV.inventoryTable]: inventory.tableName,
        [ENV.idempotencyTable]: idempotency.tableName,
        [ENV.eventBus]: bus.eventBusName,
      },
      timeoutSeconds: config.apiTimeoutSeconds,
      throttle: { rateLimit: config.throttlingRateLimit, burstLimit: config.throttlingBurstLimit },
      jwt: config.jwtIssuer ? { issuer: config.jwtIssuer, audience: config.jwtAudience! } : undefined,
      observability: this.observability,
      logRetention,
    });
    orders.grantReadWriteData(this.api.function);
    inventory.grantReadWriteData(this.api.function);
    idempotency.grantReadWriteData(this.api.function);
    // Only to re-publish the event of a change a client retried; the relay publishes every change.
    bus.grantPutEventsTo(this.api.function);

    const consumer = (id: string, name: keyof typeof CONSUMERS, entry: string, environment: Record<string, string>) =>
      new Consumer(this, id, { settings: CONSUMERS[name], entry, serviceName: id, environment, events: this.events, observability: this.observability, logRetention });

    // Reserves stock and moves the order to RESERVED in one transaction: it writes both tables and publishes nothing.
    const inventoryConsumer = consumer('inventory', 'inventory', 'inventory/handler.ts', {
      [ENV.inventoryTable]: inventory.tableName,
      [ENV.ordersTable]: orders.tableName,
      [ENV.paymentWindowSeconds]: String(config.paymentWindowSeconds),
    });
    inventory.grantReadWriteData(inventoryConsumer.function);
    orders.grantReadWriteData(inventoryConsumer.function);

    const notificationEnv: Record<string, string> = { [ENV.notificationChannel]: config.notificationChannel, [ENV.notificationsTable]: notifications.tableName };
    let notificationTopic: Topic | undefined;
    if (config.notificationChannel === 'sns') {
      const key = new Key(this, 'NotificationTopicKey', { enableKeyRotation: true, description: 'Encrypts customer notifications' });
      notificationTopic = new Topic(this, 'NotificationTopic', { masterKey: key, enforceSSL: true, displayName: 'Order notifications' });
      notificationEnv[ENV.notificationTopicArn] = notificationTopic.topicArn;
      notificationEnv[ENV.idempotencyTable] = idempotency.tableName;
    }
    const notificationConsumer = consumer('notification', 'notification', 'notification/handler.ts', notificationEnv);
    notifications.grantWriteData(notificationConsumer.function);
    if (notificationTopic) {
      notificationTopic.grantPublish(notificationConsumer.function);
      acknowledge(notificationConsumer.function.role!, {
        'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]':
          'Publishing to the KMS-encrypted notification topic needs kms:GenerateDataKey on its key; CDK\'s Topic.grantPublish grants "kms:GenerateDataKey*" (the data-key variants only), on that one key only.',
      });
      idempotency.grantReadWriteData(notificationConsumer.function);
    }
    this.consumers = { inventory: inventoryConsumer, notification: notificationConsumer };

    this.sweep = new CompensationSweep(this, 'CompensationSweep', {
      environment: {
        [ENV.ordersTable]: orders.tableName,
        [ENV.inventoryTable]: inventory.tableName,
        [ENV.eventBus]: bus.eventBusName,
        [ENV.sweepStalePendingAfterSeconds]: String(config.stalePendingAfterSeconds),
        [ENV.sweepMaxRepublishAttempts]: String(config.maxRepublishAttempts),
        [ENV.sweepMaxOrdersPerRun]: String(config.maxOrdersPerSweep),
      },
      intervalMinutes: config.sweepIntervalMinutes,
      observability: this.observability,
      logRetention,
    });
    orders.grantReadData(this.sweep.functions.findWork);
    orders.grantReadWriteData(this.sweep.functions.repairOrder);
    // An expiry gives the stock back in the cancelling transaction.
    inventory.grantReadWriteData(this.sweep.functions.repairOrder);
    // Re-publishing OrderPlaced for a stuck order (its first one was dead-lettered or lost downstream).
    bus.grantPutEventsTo(this.sweep.functions.repairOrder);

    const outputs: Record<(typeof OUTPUTS)[number], string> = {
      ApiUrl: this.api.stage.url,
      OrdersTableName: orders.tableName,
      InventoryTableName: inventory.tableName,
      EventBusName: bus.eventBusName,
      SweepStateMachineArn: this.sweep.stateMachine.stateMachineArn,
      AlarmTopicArn: this.observability.alarmTopic.topicArn,
    };
    for (const [key, value] of Object.entries(outputs)) new CfnOutput(this, key, { value });
  }
}

function retentionDays(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === 'number' && v > 0).sort((a, b) => a - b);
  const match = allowed.find((v) => v >= days);
  if (match === undefined) throw new Error(`logRetentionDays ${days} is longer than CloudWatch allows`);
  return match;
}
