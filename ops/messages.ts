/**
 * Reading a queue's messages without consuming them: received hidden (so that one peek sees each message once),
 * then made visible again at once. SQS counts every receive, so a peek adds one to each message's receive count,
 * as the console's "Poll for messages" does: peek only DLQs, never a consumer's queue (it would move messages
 * towards its DLQ).
 */
import { ChangeMessageVisibilityBatchCommand, Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { aws, OpsContext } from './context';
import { StackQueue } from './stack';

/** A DLQ message as an operator reads it. */
export interface PeekedMessage {
  messageId: string;
  eventType?: string;
  orderId?: string;
  eventId?: string;
  /** Receives so far, this peek's included. */
  receiveCount: number;
  /** When the message was first sent (to the source queue for a redrive DLQ; SQS keeps it on the move). */
  sentAt?: string;
  /** When it was first received (by the consumer, for a redrive DLQ). */
  firstReceivedAt?: string;
  /** What EventBridge attached to a delivery failure (rule-target DLQ): ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS, RULE_ARN, ... */
  attributes: Record<string, string>;
  body: string;
}

const HIDE_SECONDS = 30;

/** Up to `limit` messages of the queue, each once, left visible as they were. */
export async function peekMessages(ctx: OpsContext, queue: StackQueue, limit: number): Promise<PeekedMessage[]> {
  const seen = new Map<string, Message>();
  let empty = 0;
  try {
    // Short polling samples a subset of servers: an empty answer is not proof of an empty queue, two in a row are enough here.
    while (seen.size < limit && empty < 2) {
      const { Messages = [] } = await aws(ctx, `ReceiveMessage ${queue.name}`, () =>
        ctx.clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: Math.min(10, limit - seen.size),
            VisibilityTimeout: HIDE_SECONDS,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        ),
      );
      // A message seen again (its hide ran out while this loop went on) keeps its latest receipt handle: only that one
      // releases the hold the last receive put on it. Nothing new counts as an empty answer.
      let fresh = 0;
      for (const m of Messages) {
        if (!m.MessageId) continue;
        if (!seen.has(m.MessageId)) fresh++;
        seen.set(m.MessageId, m);
      }
      empty = fresh ? 0 : empty + 1;
    }
  } finally {
    await showAgain(ctx, queue, [...seen.values()]);
  }
  return [...seen.values()].map(describeMessage);
}

async function showAgain(ctx: OpsContext, queue: StackQueue, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10);
    await aws(ctx, `ChangeMessageVisibilityBatch ${queue.name}`, () =>
      ctx.clients.sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: queue.url, Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }),
      ),
    );
  }
}

export function describeMessage(m: Message): PeekedMessage {
  const body = m.Body ?? '';
  let event: { id?: unknown; 'detail-type'?: unknown; detail?: { orderId?: unknown } } = {};
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object') event = parsed as typeof event;
  } catch {
    // not an event (a relay DLQ record, a schedule's input): shown as its body
  }
  const time = (ms: string | undefined) => (ms && Number(ms) ? new Date(Number(ms)).toISOString() : undefined);
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) attributes[name] = value.StringValue ?? (value.BinaryValue ? '<binary>' : '');
  return {
    messageId: m.MessageId!,
    ...(typeof event['detail-type'] === 'string' ? { eventType: event['detail-type'] } : {}),
    ...(typeof event.detail?.orderId === 'string' ? { orderId: event.detail.orderId } : {}),
    ...(typeof event.id === 'string' ? { eventId: event.id } : {}),
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    ...(time(m.Attributes?.SentTimestamp) ? { sentAt: time(m.Attributes?.SentTimestamp) } : {}),
    ...(time(m.Attributes?.ApproximateFirstReceiveTimestamp) ? { firstReceivedAt: time(m.Attributes?.ApproximateFirstReceiveTimestamp) } : {}),
    attributes,
    body,
  };
}
