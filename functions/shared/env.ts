/** Environment variable names: the stack sets them (lib/), the functions read them; neither restates the other. */
export const ENV = {
  ordersTable: 'ORDERS_TABLE_NAME',
  inventoryTable: 'INVENTORY_TABLE_NAME',
  idempotencyTable: 'IDEMPOTENCY_TABLE_NAME',
  notificationsTable: 'NOTIFICATIONS_TABLE_NAME',
  eventBus: 'EVENT_BUS_NAME',
  relayDeadLetterQueueUrl: 'RELAY_DEAD_LETTER_QUEUE_URL',
  paymentWindowSeconds: 'PAYMENT_WINDOW_SECONDS',
  notificationChannel: 'NOTIFICATION_CHANNEL',
  notificationTopicArn: 'NOTIFICATION_TOPIC_ARN',
  sweepStalePendingAfterSeconds: 'SWEEP_STALE_PENDING_AFTER_SECONDS',
  sweepMaxRepublishAttempts: 'SWEEP_MAX_REPUBLISH_ATTEMPTS',
  sweepMaxOrdersPerRun: 'SWEEP_MAX_ORDERS_PER_RUN',
} as const;

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

export function numberEnv(name: string): number {
  const value = Number(requireEnv(name));
  if (!Number.isFinite(value)) throw new Error(`environment variable ${name} must be a number`);
  return value;
}
