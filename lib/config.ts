/**
 * Every tunable of the stack with its default, read from CDK context (`-c key=value` or cdk.json).
 * Consumer queue settings live here too: the constructs, the tests and the local runtime read them from here
 * or from the synthesized template.
 */
import { Node } from 'constructs';
import { EventType } from '../functions/domain/events';
import { INVENTORY_EVENTS } from '../functions/domain/inventory';
import { NOTIFICATION_EVENTS } from '../functions/domain/notifications';
import { NOTIFICATION_CHANNELS, NotificationChannel } from '../functions/adapters/notification-channels';

export interface ConsumerSettings {
  /** The catalogued events its rule delivers to its queue. */
  consumes: readonly EventType[];
  /** Seconds. */
  timeout: number;
  memorySize: number;
  batchSize: number;
  /** Seconds Lambda waits to fill a batch. */
  maxBatchingWindow: number;
  /** Concurrent invocations the event source may run (2..1000). */
  maxConcurrency: number;
  /** Receives before a message moves to the DLQ. */
  maxReceiveCount: number;
}

export const CONSUMERS = {
  inventory: { consumes: INVENTORY_EVENTS, timeout: 10, memorySize: 512, batchSize: 10, maxBatchingWindow: 1, maxConcurrency: 5, maxReceiveCount: 5 },
  notification: { consumes: NOTIFICATION_EVENTS, timeout: 10, memorySize: 256, batchSize: 10, maxBatchingWindow: 2, maxConcurrency: 2, maxReceiveCount: 5 },
} as const satisfies Record<string, ConsumerSettings>;
export type ConsumerName = keyof typeof CONSUMERS;

/**
 * The event relay on the orders table's stream. A bus outage delays events, in order, and loses none: a batch is
 * retried (without a limit on attempts) until its records are `maxRecordAgeHours` old; then their stream positions
 * go to the relay's DLQ while the stream (24 h) still holds them, so an operator can replay them. The iterator age
 * alarms long before that.
 */
export const EVENT_RELAY = { timeout: 30, memorySize: 256, batchSize: 100, maxBatchingWindow: 0, parallelizationFactor: 1, maxRecordAgeHours: 12, iteratorAgeAlarmSeconds: 300 } as const;

/** Queue retention: the DLQ keeps messages longer than its source, since expiry counts from the original enqueue. */
export const QUEUE_RETENTION_DAYS = { source: 4, deadLetter: 14 } as const;

/** EventBridge rule-target delivery: retried this many times within this age, then sent to the target's DLQ. */
export const RULE_TARGET_RETRY = { maxEventAgeHours: 2, retryAttempts: 20 } as const;

export interface PipelineConfig {
  paymentWindowSeconds: number;
  throttlingRateLimit: number;
  throttlingBurstLimit: number;
  /** Both set: a JWT authorizer (customer = token subject); neither: IAM authorization. */
  jwtIssuer?: string;
  jwtAudience?: string[];
  sweepIntervalMinutes: number;
  /** A PENDING order with no inventory outcome after this long is re-published. */
  stalePendingAfterSeconds: number;
  maxRepublishAttempts: number;
  maxOrdersPerSweep: number;
  notificationChannel: NotificationChannel;
  /** Oldest-message age (seconds) above which a queue alarms. */
  queueAgeAlarmSeconds: number;
  apiTimeoutSeconds: number;
  logRetentionDays: number;
  archiveRetentionDays: number;
  /** Email address subscribed to the alarm topic, if any. */
  alarmEmail?: string;
}

export const DEFAULT_CONFIG: PipelineConfig = {
  paymentWindowSeconds: 1800,
  throttlingRateLimit: 100,
  throttlingBurstLimit: 200,
  sweepIntervalMinutes: 5,
  stalePendingAfterSeconds: 300,
  maxRepublishAttempts: 3,
  maxOrdersPerSweep: 100,
  notificationChannel: 'table',
  queueAgeAlarmSeconds: 300,
  apiTimeoutSeconds: 10,
  logRetentionDays: 30,
  archiveRetentionDays: 30,
};

const positiveInteger = (key: string, value: unknown): number => {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`context ${key} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
};

/** Reads the config from context, rejecting bad values with a message that names the key. */
export function readConfig(node: Node): PipelineConfig {
  const config: PipelineConfig = { ...DEFAULT_CONFIG };
  const numeric = [
    'paymentWindowSeconds', 'throttlingRateLimit', 'throttlingBurstLimit', 'sweepIntervalMinutes',
    'stalePendingAfterSeconds', 'maxRepublishAttempts', 'maxOrdersPerSweep', 'queueAgeAlarmSeconds', 'apiTimeoutSeconds',
    'logRetentionDays', 'archiveRetentionDays',
  ] as const;
  for (const key of numeric) {
    const value = node.tryGetContext(key);
    if (value !== undefined) config[key] = positiveInteger(key, value);
  }
  const issuer = node.tryGetContext('jwtIssuer');
  const audience = node.tryGetContext('jwtAudience');
  if ((issuer === undefined) !== (audience === undefined)) throw new Error('context jwtIssuer and jwtAudience must be given together');
  if (issuer !== undefined) {
    if (typeof issuer !== 'string' || !/^https:\/\//.test(issuer)) throw new Error('context jwtIssuer must be an https:// URL');
    config.jwtIssuer = issuer;
    config.jwtAudience = (Array.isArray(audience) ? audience : String(audience).split(',')).map((a: unknown) => String(a).trim()).filter(Boolean);
    if (!config.jwtAudience.length) throw new Error('context jwtAudience must name at least one audience');
  }
  const channel = node.tryGetContext('notificationChannel');
  if (channel !== undefined) {
    if (!NOTIFICATION_CHANNELS.includes(channel)) throw new Error(`context notificationChannel must be one of ${NOTIFICATION_CHANNELS.join(', ')}`);
    config.notificationChannel = channel;
  }
  const alarmEmail = node.tryGetContext('alarmEmail');
  if (alarmEmail !== undefined) config.alarmEmail = String(alarmEmail);
  if (config.throttlingBurstLimit < config.throttlingRateLimit) {
    throw new Error('context throttlingBurstLimit must be at least throttlingRateLimit');
  }
  return config;
}

/** AWS's advice for an SQS event source: visibility timeout at least 6x the function timeout plus the batching window. */
export function visibilityTimeoutFor(settings: Pick<ConsumerSettings, 'timeout' | 'maxBatchingWindow'>): number {
  return 6 * settings.timeout + settings.maxBatchingWindow;
}
