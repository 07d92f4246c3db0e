/** `ops status`: every queue and DLQ with its depth, and the last sweep runs with their summaries. */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { QueueKind } from '../lib/stack-outputs';
import { AlarmInAlarm, alarmsInAlarm } from './alarms';
import { aws, OpsContext } from './context';
import { peekMessages } from './messages';
import { stackQueues } from './stack';
import { lastSweeps, SweepRun } from './sweep';

export interface QueueStatus {
  role: string;
  kind: QueueKind;
  name: string;
  url: string;
  visible: number;
  inFlight: number;
  delayed: number;
  /**
   * Seconds since the oldest peeked message was sent, for a DLQ holding messages (its first 10 peeked: SQS gives no
   * order). A consumer's queue is not peeked (a receive counts towards its DLQ): its age is the CloudWatch metric
   * ApproximateAgeOfOldestMessage (the QueueAgeAlarm), null here.
   */
  oldestAgeSeconds: number | null;
}

export interface StatusReport {
  stack: string;
  queues: QueueStatus[];
  /** The stack's alarms in ALARM; null where there is no CloudWatch (the local runtime). */
  alarms: AlarmInAlarm[] | null;
  sweeps: SweepRun[];
}

const AGE_SAMPLE = 10;

/** `ages: false` skips the DLQ peeks (a live page polling every second must not keep a DLQ's messages hidden). */
export async function status(ctx: OpsContext, options: { sweeps?: number; now?: () => number; ages?: boolean } = {}): Promise<StatusReport> {
  const [queues, alarms, sweeps] = await Promise.all([queueStatuses(ctx, options), alarmsInAlarm(ctx), lastSweeps(ctx, options.sweeps ?? 5)]);
  return { stack: ctx.stack.stackName, queues, alarms, sweeps };
}

/** Every queue of the stack with its counts (and a DLQ's oldest age unless `ages: false`). */
export async function queueStatuses(ctx: OpsContext, options: { now?: () => number; ages?: boolean } = {}): Promise<QueueStatus[]> {
  const now = options.now ?? Date.now;
  return Promise.all(
    stackQueues(ctx.stack).map(async (queue): Promise<QueueStatus> => {
      const { Attributes = {} } = await aws(ctx, `GetQueueAttributes ${queue.name}`, () =>
        ctx.clients.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
        ),
      );
      const visible = Number(Attributes.ApproximateNumberOfMessages ?? 0);
      let oldestAgeSeconds: number | null = null;
      if (options.ages !== false && queue.kind !== 'queue' && visible > 0) {
        const sent = (await peekMessages(ctx, queue, AGE_SAMPLE)).map((m) => Date.parse(m.sentAt ?? '')).filter((t) => !Number.isNaN(t));
        if (sent.length) oldestAgeSeconds = Math.max(0, Math.round((now() - Math.min(...sent)) / 1000));
      }
      return {
        role: queue.role,
        kind: queue.kind,
        name: queue.name,
        url: queue.url,
        visible,
        inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
        oldestAgeSeconds,
      };
    }),
  );
}
