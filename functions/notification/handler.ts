/**
 * Notification consumer: tells the customer once per (order, event type). A channel that cannot deduplicate by
 * itself (SNS) is wrapped in Powertools idempotency keyed on that pair; the default table channel's conditional
 * put already is the once-only record, so it pays for no second one.
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { PipelineEvent } from '../domain/events';
import { NOTIFICATION_EVENTS, notificationFor, notificationKey } from '../domain/notifications';
import { Notification } from '../domain/ports';
import { dynamo } from '../adapters/clients';
import { ChannelNotifier, SnsNotifier, TableNotifier } from '../adapters/notifiers';
import { NOTIFICATION_CHANNELS, NotificationChannel } from '../adapters/notification-channels';
import { ENV, requireEnv } from '../shared/env';
import { makeConsumerHandler } from '../shared/sqs-consumer';

export function notifierFor(channel: string): ChannelNotifier {
  switch (channel as NotificationChannel) {
    case 'table':
      return new TableNotifier(dynamo(), requireEnv(ENV.notificationsTable));
    case 'sns':
      return new SnsNotifier(new SNSClient({}), requireEnv(ENV.notificationTopicArn));
    default:
      throw new Error(`${ENV.notificationChannel} must be one of ${NOTIFICATION_CHANNELS.join(', ')}, not ${channel}`);
  }
}

export function makeNotify(notifier: ChannelNotifier, idempotencyTable?: string) {
  const send = async (notification: Notification & { key: string }) => {
    const { key: _key, ...message } = notification;
    await notifier.send(message);
    return { action: 'notified' };
  };
  if (notifier.deduplicates || !idempotencyTable) return (notification: Notification & { key: string }, _context?: Context) => send(notification);
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', throwOnNoIdempotencyKey: true, expiresAfterSeconds: 7 * 24 * 3600 });
  const sendOnce = makeIdempotent(send, { persistenceStore: new DynamoDBPersistenceLayer({ tableName: idempotencyTable }), config });
  return (notification: Notification & { key: string }, context?: Context) => {
    // The in-progress record expires with this invocation, so a crashed attempt does not block its retry for long.
    if (context) config.registerLambdaContext(context);
    return sendOnce(notification);
  };
}

let notify: ReturnType<typeof makeNotify> | undefined;

export const handler = makeConsumerHandler({
  accepts: NOTIFICATION_EVENTS,
  async handle(event: PipelineEvent, context: Context) {
    notify ??= makeNotify(notifierFor(process.env[ENV.notificationChannel] ?? 'table'), process.env[ENV.idempotencyTable]);
    return notify({ ...notificationFor(event), key: notificationKey(event) }, context);
  },
});
