/** The order pipeline: API -> table + bus -> one queue per consumer -> saga functions, swept on a schedule. */
import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../functions/shared/env';
import { CompensationSweep } from './compensation-sweep';
import { EventRelay } from './event-relay';
import { CONSUMERS, PipelineConfig } from './config';
import { Consumer } from './consumer';
import { AccessResources, FunctionName, functionAccess, grantAccess } from './function-access';
import { Observability } from './observability';
import { OrderEvents } from './order-events';
import { OrdersApi } from './orders-api';
import { PipelineFunction } from './pipeline-function';
import { QUEUE_OUTPUTS, QueueKind, RESOURCE_OUTPUTS } from './stack-outputs';
import { Tables } from './tables';

export interface OrderPipelineStackProps extends StackProps {
  config: PipelineConfig;
}

export { OUTPUTS } from './stack-outputs';

export class OrderPipelineStack extends Stack {
  readonly tables: Tables;
  readonly events: OrderEvents;
  readonly api: OrdersApi;
  readonly consumers: Record<keyof typeof CONSUMERS, Consumer>;
  readonly relay: EventRelay;
  readonly sweep: CompensationSweep;
  readonly observability: Observability;
  /** The notification channel's topic and its key (SNS channel only). */
  readonly notificationTopic?: Topic;
  readonly notificationTopicKey?: Key;
  /** Every function of the stack, by its name in lib/function-access.ts. */
  readonly functions: Record<FunctionName, PipelineFunction>;

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

    const consumer = (id: string, name: keyof typeof CONSUMERS, entry: string, environment: Record<string, string>) =>
      new Consumer(this, id, { settings: CONSUMERS[name], entry, serviceName: id, environment, events: this.events, observability: this.observability, logRetention });

    // Reserves stock and moves the order to RESERVED in one transaction: it writes both tables and publishes nothing.
    const inventoryConsumer = consumer('inventory', 'inventory', 'inventory/handler.ts', {
      [ENV.inventoryTable]: inventory.tableName,
      [ENV.ordersTable]: orders.tableName,
      [ENV.paymentWindowSeconds]: String(config.paymentWindowSeconds),
    });

    // Each channel names only its own resources: the table channel its table, SNS its topic and the idempotency table.
    const notificationEnv: Record<string, string> = { [ENV.notificationChannel]: config.notificationChannel };
    if (config.notificationChannel === 'sns') {
      this.notificationTopicKey = new Key(this, 'NotificationTopicKey', { enableKeyRotation: true, description: 'Encrypts customer notifications' });
      this.notificationTopic = new Topic(this, 'NotificationTopic', { masterKey: this.notificationTopicKey, enforceSSL: true, displayName: 'Order notifications' });
      notificationEnv[ENV.notificationTopicArn] = this.notificationTopic.topicArn;
      notificationEnv[ENV.idempotencyTable] = idempotency.tableName;
    } else {
      notificationEnv[ENV.notificationsTable] = notifications.tableName;
    }
    const notificationConsumer = consumer('notification', 'notification', 'notification/handler.ts', notificationEnv);
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

    // Least privilege: each function gets exactly the actions its code sends, on its own resources.
    this.functions = {
      api: this.api.function,
      inventory: inventoryConsumer.function,
      notification: notificationConsumer.function,
      relay: this.relay.function,
      ...this.sweep.functions,
    };
    const accessResources: AccessResources = {
      tables: this.tables,
      bus,
      relayDeadLetterQueue: this.relay.deadLetterQueue,
      notificationTopic: this.notificationTopic,
      notificationTopicKey: this.notificationTopicKey,
    };
    const access = functionAccess(config.notificationChannel);
    for (const name of Object.keys(this.functions) as FunctionName[]) grantAccess(this.functions[name], access[name], accessResources);

    const outputs: Record<(typeof RESOURCE_OUTPUTS)[number], string> = {
      ApiUrl: this.api.stage.url,
      OrdersTableName: orders.tableName,
      InventoryTableName: inventory.tableName,
      NotificationsTableName: notifications.tableName,
      EventBusName: bus.eventBusName,
      EventArchiveName: this.events.archive.archiveName,
      SweepStateMachineArn: this.sweep.stateMachine.stateMachineArn,
      AlarmTopicArn: this.observability.alarmTopic.topicArn,
    };
    for (const [key, value] of Object.entries(outputs)) new CfnOutput(this, key, { value });
    // The queues an operator watches and redrives (the ops CLI finds them by these outputs).
    const queueOf: Record<QueueKind, (c?: Consumer) => Queue> = {
      queue: (c) => c!.queue,
      dlq: (c) => c!.deadLetterQueue,
      'rule-target-dlq': (c) => c!.ruleTargetDeadLetterQueue,
      'relay-dlq': () => this.relay.deadLetterQueue,
      'schedule-dlq': () => this.sweep.scheduleDeadLetterQueue,
    };
    for (const q of QUEUE_OUTPUTS) new CfnOutput(this, q.output, { value: queueOf[q.kind](q.consumer && this.consumers[q.consumer]).queueUrl });
  }
}

function retentionDays(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === 'number' && v > 0).sort((a, b) => a - b);
  const match = allowed.find((v) => v >= days);
  if (match === undefined) throw new Error(`logRetentionDays ${days} is longer than CloudWatch allows`);
  return match;
}
