/** `ops dlq peek | redrive | purge`: a DLQ's messages read in place, moved back to their queue, or deleted. */
import { GetQueueAttributesCommand, ListMessageMoveTasksCommand, PurgeQueueCommand, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { QueueKind } from '../lib/stack-outputs';
import { aws, OpsContext, sleep } from './context';
import { OpsError, UsageError } from './errors';
import { PeekedMessage, peekMessages } from './messages';
import { resolveQueue, StackQueue, stackQueues } from './stack';

const DEAD_LETTER_KINDS: readonly QueueKind[] = ['dlq', 'rule-target-dlq', 'relay-dlq', 'schedule-dlq'];

export interface PeekReport {
  queue: string;
  name: string;
  kind: QueueKind;
  visible: number;
  messages: PeekedMessage[];
}

export async function peekDlq(ctx: OpsContext, queueArgument: string, options: { limit?: number } = {}): Promise<PeekReport> {
  const queue = resolveQueue(ctx.stack, queueArgument, DEAD_LETTER_KINDS, 'dlq', 'dlq peek');
  const limit = options.limit ?? 10;
  const messages = await peekMessages(ctx, queue, limit);
  return { queue: queue.role, name: queue.name, kind: queue.kind, visible: await depth(ctx, queue), messages };
}

export interface RedriveReport {
  queue: string;
  name: string;
  /** The queue the messages went back to. */
  destination: string;
  /** COMPLETED, FAILED, CANCELLED; NOTHING_TO_MOVE when the DLQ was empty (no task started). */
  status: string;
  moved: number;
  toMove: number;
  taskHandle?: string;
  failureReason?: string;
}

/**
 * StartMessageMoveTask from the DLQ back to its source (the queue whose redrive policy names it), polled with
 * ListMessageMoveTasks until it ends, as the console's "Start DLQ redrive" does. One task per DLQ at a time.
 */
export async function redriveDlq(ctx: OpsContext, queueArgument: string, options: { rate?: number } = {}): Promise<RedriveReport> {
  const queue = resolveQueue(ctx.stack, queueArgument, ['dlq'], 'dlq', 'dlq redrive');
  if (options.rate !== undefined && (!Number.isInteger(options.rate) || options.rate < 1 || options.rate > 500)) throw new UsageError('--rate must be an integer from 1 to 500 (messages per second)');
  const destination = stackQueues(ctx.stack).find((q) => q.kind === 'queue' && q.consumer === queue.consumer)?.name ?? 'its source queue';
  const base = { queue: queue.role, name: queue.name, destination };
  if ((await depth(ctx, queue)) === 0) return { ...base, status: 'NOTHING_TO_MOVE', moved: 0, toMove: 0 };
  const sourceArn = await arnOf(ctx, queue);
  const { TaskHandle } = await aws(ctx, `StartMessageMoveTask ${queue.name}`, () =>
    ctx.clients.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn, ...(options.rate ? { MaxNumberOfMessagesPerSecond: options.rate } : {}) })),
  );
  for (;;) {
    const { Results = [] } = await aws(ctx, `ListMessageMoveTasks ${queue.name}`, () => ctx.clients.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 })));
    const task = Results.find((t) => t.TaskHandle === TaskHandle) ?? Results[0];
    if (!task) throw new OpsError(`the redrive of ${queue.name} is not listed by ListMessageMoveTasks`);
    const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
    const toMove = task.ApproximateNumberOfMessagesToMove ?? 0;
    ctx.progress(`redrive ${queue.role} -> ${destination}: ${progressBar(moved, toMove)} ${moved}/${toMove} ${task.Status}`);
    if (task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') {
      const report = { ...base, status: task.Status!, moved, toMove, taskHandle: TaskHandle, ...(task.FailureReason ? { failureReason: task.FailureReason } : {}) };
      if (task.Status !== 'COMPLETED') throw new RedriveFailedError(`the redrive of ${queue.role} ended ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''} (${moved} of ${toMove} moved)`, report);
      return report;
    }
    await sleep(ctx.pollIntervalMs);
  }
}

export class RedriveFailedError extends OpsError {
  constructor(
    message: string,
    readonly report: RedriveReport,
  ) {
    super(message);
  }
}

export interface PurgeReport {
  queue: string;
  name: string;
  /** ApproximateNumberOfMessages just before the purge. */
  purged: number;
}

/** PurgeQueue on a DLQ (never a consumer's queue); refused without `yes`. */
export async function purgeDlq(ctx: OpsContext, queueArgument: string, options: { yes?: boolean } = {}): Promise<PurgeReport> {
  const queue = resolveQueue(ctx.stack, queueArgument, DEAD_LETTER_KINDS, 'dlq', 'dlq purge');
  if (!options.yes) throw new UsageError(`dlq purge deletes every message of ${queue.role} (${queue.name}) for good: add --yes to do it`);
  const purged = await depth(ctx, queue);
  await aws(ctx, `PurgeQueue ${queue.name}`, () => ctx.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url })));
  return { queue: queue.role, name: queue.name, purged };
}

export async function depth(ctx: OpsContext, queue: StackQueue): Promise<number> {
  const { Attributes = {} } = await aws(ctx, `GetQueueAttributes ${queue.name}`, () =>
    ctx.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages'] })),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

async function arnOf(ctx: OpsContext, queue: StackQueue): Promise<string> {
  const { Attributes = {} } = await aws(ctx, `GetQueueAttributes ${queue.name}`, () => ctx.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['QueueArn'] })));
  return Attributes.QueueArn!;
}

/** `[#####.....]`, as the console shows a redrive's progress. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
