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
  /** RUNNING, CANCELLING, COMPLETED, FAILED, CANCELLED; NOTHING_TO_MOVE when the DLQ was empty (no task started). */
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
  const started = await startRedrive(ctx, queueArgument, options);
  if (started.status !== 'RUNNING') return started;
  for (;;) {
    const report = await redriveProgress(ctx, queueArgument, started.taskHandle);
    ctx.progress(`redrive ${report.queue} -> ${report.destination}: ${progressBar(report.moved, report.toMove)} ${report.moved}/${report.toMove} ${report.status}`);
    if (report.status !== 'RUNNING' && report.status !== 'CANCELLING') {
      if (report.status !== 'COMPLETED') throw new RedriveFailedError(`the redrive of ${report.queue} ended ${report.status}${report.failureReason ? `: ${report.failureReason}` : ''} (${report.moved} of ${report.toMove} moved)`, report);
      return report;
    }
    await sleep(ctx.pollIntervalMs);
  }
}

/** Starts the move task (RUNNING, with its handle), or answers NOTHING_TO_MOVE for an empty DLQ. */
export async function startRedrive(ctx: OpsContext, queueArgument: string, options: { rate?: number } = {}): Promise<RedriveReport> {
  const queue = resolveQueue(ctx.stack, queueArgument, ['dlq'], 'dlq', 'dlq redrive');
  if (options.rate !== undefined && (!Number.isInteger(options.rate) || options.rate < 1 || options.rate > 500)) throw new UsageError('--rate must be an integer from 1 to 500 (messages per second)');
  const base = redriveBase(ctx, queue);
  const toMove = await depth(ctx, queue);
  if (toMove === 0) return { ...base, status: 'NOTHING_TO_MOVE', moved: 0, toMove: 0 };
  const sourceArn = await arnOf(ctx, queue);
  const { TaskHandle } = await aws(ctx, `StartMessageMoveTask ${queue.name}`, () =>
    ctx.clients.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn, ...(options.rate ? { MaxNumberOfMessagesPerSecond: options.rate } : {}) })),
  );
  return { ...base, status: 'RUNNING', moved: 0, toMove, taskHandle: TaskHandle };
}

/**
 * The DLQ's move task as ListMessageMoveTasks reports it: the one with `taskHandle`, else the latest. Undefined when
 * the DLQ never had one.
 */
export async function redriveProgress(ctx: OpsContext, queueArgument: string, taskHandle?: string): Promise<RedriveReport>;
export async function redriveProgress(ctx: OpsContext, queueArgument: string, taskHandle: string | undefined, options: { optional: true }): Promise<RedriveReport | undefined>;
export async function redriveProgress(ctx: OpsContext, queueArgument: string, taskHandle?: string, options: { optional?: boolean } = {}): Promise<RedriveReport | undefined> {
  const queue = resolveQueue(ctx.stack, queueArgument, ['dlq'], 'dlq', 'dlq redrive');
  const sourceArn = await arnOf(ctx, queue);
  const { Results = [] } = await aws(ctx, `ListMessageMoveTasks ${queue.name}`, () => ctx.clients.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 })));
  const task = (taskHandle ? Results.find((t) => t.TaskHandle === taskHandle) : undefined) ?? Results[0];
  if (!task) {
    if (options.optional) return undefined;
    throw new OpsError(`the redrive of ${queue.name} is not listed by ListMessageMoveTasks`);
  }
  return {
    ...redriveBase(ctx, queue),
    status: task.Status!,
    moved: task.ApproximateNumberOfMessagesMoved ?? 0,
    toMove: task.ApproximateNumberOfMessagesToMove ?? 0,
    ...(task.TaskHandle ? { taskHandle: task.TaskHandle } : {}),
    ...(task.FailureReason ? { failureReason: task.FailureReason } : {}),
  };
}

function redriveBase(ctx: OpsContext, queue: StackQueue): Pick<RedriveReport, 'queue' | 'name' | 'destination'> {
  const destination = stackQueues(ctx.stack).find((q) => q.kind === 'queue' && q.consumer === queue.consumer)?.name ?? 'its source queue';
  return { queue: queue.role, name: queue.name, destination };
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
