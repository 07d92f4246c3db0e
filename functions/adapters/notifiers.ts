/** Notification channels, chosen by configuration (NOTIFICATION_CHANNEL). */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Notification, Notifier } from '../domain/ports';
import { isConditionFailure } from './dynamodb-order-repository';
import { NOTIFICATIONS_TABLE } from './table-schema';

export interface ChannelNotifier extends Notifier {
  /** True when the channel itself delivers at most once per (order, event type): no idempotency record needed. */
  readonly deduplicates: boolean;
}

/** The default channel: records each notification in a table, once per (order, event type) by a conditional put. */
export class TableNotifier implements ChannelNotifier {
  readonly deduplicates = true;
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async send(notification: Notification): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...notification, sentAt: this.now().toISOString() },
          ConditionExpression: 'attribute_not_exists(#pk) AND attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#pk': NOTIFICATIONS_TABLE.partitionKey, '#sk': NOTIFICATIONS_TABLE.sortKey },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

/** Email/SMS through an SNS topic the operator subscribes to; SNS does not deduplicate, so the handler does. */
export class SnsNotifier implements ChannelNotifier {
  readonly deduplicates = false;
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async send(notification: Notification): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: notification.subject.slice(0, 100),
        Message: notification.message,
        MessageAttributes: {
          customerId: { DataType: 'String', StringValue: notification.customerId },
          orderId: { DataType: 'String', StringValue: notification.orderId },
          eventType: { DataType: 'String', StringValue: notification.eventType },
        },
      }),
    );
  }
}
