/**
 * `ops events replay-failed | replay`: EventBridge delivery failures (a rule-target DLQ: SQS cannot move them to a
 * bus) put back on the bus, and a window of the bus's archive replayed to its rules.
 */
import { DescribeReplayCommand, ListRulesCommand, PutEventsCommand, PutEventsRequestEntry, StartReplayCommand, DescribeArchiveCommand } from '@aws-sdk/client-eventbridge';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { EVENT_CATALOGUE } from '../functions/domain/events';
import { aws, OpsContext, sleep } from './context';
import { OpsError, UsageError } from './errors';
import { depth } from './dlq';
import { output, resolveQueue } from './stack';

export interface ReplayFailedReport {
  queue: string;
  name: string;
  bus: string;
  /** Events the bus accepted (their messages deleted). */
  sent: number;
  /** Messages left in the DLQ: the bus refused their entry, or their body is not an event. */
  failed: { messageId: string; error: string }[];
}

/**
 * Receives the DLQ's messages (each an event EventBridge could not deliver), puts each event on the bus again
 * (the rules route it as new: same source, detail-type, detail and time, a new id), and deletes a message only after
 * the bus accepted its entry. A refused entry's message is made visible again and reported. Works through the
 * messages the queue held when it started (a failure that comes back meanwhile waits for the next run).
 */
export async function replayFailed(ctx: OpsContext, queueArgument: string): Promise<ReplayFailedReport> {
  const queue = resolveQueue(ctx.stack, queueArgument, ['rule-target-dlq'], 'rule-target-dlq', 'events replay-failed');
  const bus = output(ctx.stack, 'EventBusName');
  const report: ReplayFailedReport = { queue: queue.role, name: queue.name, bus, sent: 0, failed: [] };
  let budget = await depth(ctx, queue);
  const tried = new Set<string>();
  let empty = 0;
  while (budget > 0 && empty < 2) {
    const { Messages = [] } = await aws(ctx, `ReceiveMessage ${queue.name}`, () =>
      ctx.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: Math.min(10, budget), VisibilityTimeout: 60, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] })),
    );
    const fresh = Messages.filter((m) => !tried.has(m.MessageId!));
    empty = fresh.length ? 0 : empty + 1;
    budget -= fresh.length;
    for (const m of fresh) tried.add(m.MessageId!);
    const entries: { message: Message; entry: PutEventsRequestEntry }[] = [];
    for (const message of fresh) {
      const entry = entryOf(message.Body ?? '', bus);
      if (typeof entry === 'string') {
        report.failed.push({ messageId: message.MessageId!, error: entry });
        await showAgain(ctx, queue.url, message);
      } else entries.push({ message, entry });
    }
    if (!entries.length) continue;
    const { Entries = [] } = await aws(ctx, `PutEvents to ${bus}`, () => ctx.clients.events.send(new PutEventsCommand({ Entries: entries.map((e) => e.entry) })));
    for (const [i, { message }] of entries.entries()) {
      const result = Entries[i];
      if (result?.EventId && !result.ErrorCode) {
        await aws(ctx, `DeleteMessage ${queue.name}`, () => ctx.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle! })));
        report.sent++;
      } else {
        report.failed.push({ messageId: message.MessageId!, error: `${result?.ErrorCode ?? 'NoResult'}: ${result?.ErrorMessage ?? 'the bus answered no entry for it'}` });
        await showAgain(ctx, queue.url, message);
      }
    }
    ctx.progress(`replay-failed ${queue.role} -> ${bus}: ${report.sent} sent, ${report.failed.length} left`);
  }
  return report;
}

/** The PutEvents entry that puts an archived or undelivered event on the bus again, or why there is none. */
export function entryOf(body: string, bus: string): PutEventsRequestEntry | string {
  let event: { source?: unknown; 'detail-type'?: unknown; detail?: unknown; time?: unknown; resources?: unknown };
  try {
    event = JSON.parse(body) as typeof event;
  } catch {
    return 'the message body is not JSON (not an EventBridge event)';
  }
  if (typeof event?.source !== 'string' || typeof event['detail-type'] !== 'string' || event.detail === undefined) return 'the message body is not an EventBridge event (no source, detail-type or detail)';
  return {
    EventBusName: bus,
    Source: event.source,
    DetailType: event['detail-type'],
    Detail: JSON.stringify(event.detail),
    ...(typeof event.time === 'string' ? { Time: new Date(event.time) } : {}),
    ...(Array.isArray(event.resources) && event.resources.length ? { Resources: event.resources as string[] } : {}),
  };
}

async function showAgain(ctx: OpsContext, queueUrl: string, message: Message): Promise<void> {
  await aws(ctx, 'ChangeMessageVisibility', () => ctx.clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })));
}

export interface ReplayReport {
  replayName: string;
  archive: string;
  from: string;
  to: string;
  /** The rules replayed to: every rule of the bus, or (--type) those whose pattern takes that type. */
  rules: string[];
  state: string;
  eventLastReplayedTime?: string;
  stateReason?: string;
}

/**
 * StartReplay of the archive's events in [from, to) to the bus's rules, waiting until it is COMPLETED. With `type`,
 * only the rules whose pattern names that detail-type get the replay (StartReplay filters by rule, not by event):
 * they also get the other types they take.
 */
export async function replayArchive(ctx: OpsContext, options: { from: Date; to: Date; type?: string; timeoutSeconds?: number }): Promise<ReplayReport> {
  if (options.type && !(options.type in EVENT_CATALOGUE)) throw new UsageError(`--type ${options.type} is no event type: one of ${Object.keys(EVENT_CATALOGUE).join(', ')}`);
  if (!(options.from < options.to)) throw new UsageError('--from must be before --to');
  const archive = output(ctx.stack, 'EventArchiveName');
  const bus = output(ctx.stack, 'EventBusName');
  const described = await aws(ctx, `DescribeArchive ${archive}`, () => ctx.clients.events.send(new DescribeArchiveCommand({ ArchiveName: archive })));
  let rules: { Name?: string; Arn?: string; EventPattern?: string }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await aws(ctx, `ListRules on ${bus}`, () => ctx.clients.events.send(new ListRulesCommand({ EventBusName: bus, NextToken: nextToken })));
    rules.push(...(page.Rules ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  if (options.type) {
    rules = rules.filter((r) => takesType(r.EventPattern, options.type!));
    if (!rules.length) throw new OpsError(`no rule of ${bus} takes ${options.type}: nothing to replay to`);
  }
  const replayName = `ops-${new Date().toISOString().replace(/[:.]/g, '-')}`.slice(0, 64);
  await aws(ctx, 'StartReplay', () =>
    ctx.clients.events.send(
      new StartReplayCommand({
        ReplayName: replayName,
        EventSourceArn: described.ArchiveArn,
        EventStartTime: options.from,
        EventEndTime: options.to,
        Destination: { Arn: described.EventSourceArn, ...(options.type ? { FilterArns: rules.map((r) => r.Arn!) } : {}) },
      }),
    ),
  );
  const deadline = Date.now() + (options.timeoutSeconds ?? 600) * 1000;
  for (;;) {
    const r = await aws(ctx, `DescribeReplay ${replayName}`, () => ctx.clients.events.send(new DescribeReplayCommand({ ReplayName: replayName })));
    const report: ReplayReport = {
      replayName,
      archive,
      from: options.from.toISOString(),
      to: options.to.toISOString(),
      rules: rules.map((rule) => rule.Name!),
      state: r.State!,
      ...(r.EventLastReplayedTime ? { eventLastReplayedTime: r.EventLastReplayedTime.toISOString() } : {}),
      ...(r.StateReason ? { stateReason: r.StateReason } : {}),
    };
    ctx.progress(`replay ${replayName}: ${r.State}${r.EventLastReplayedTime ? `, replayed up to ${r.EventLastReplayedTime.toISOString()}` : ''}`);
    if (r.State === 'COMPLETED') return report;
    if (r.State === 'FAILED' || r.State === 'CANCELLED') throw new OpsError(`replay ${replayName} ended ${r.State}${r.StateReason ? `: ${r.StateReason}` : ''}`);
    if (Date.now() > deadline) throw new OpsError(`replay ${replayName} still ${r.State} after ${options.timeoutSeconds ?? 600} s (it goes on: aws events describe-replay --replay-name ${replayName})`);
    await sleep(ctx.pollIntervalMs);
  }
}

function takesType(pattern: string | undefined, type: string): boolean {
  if (!pattern) return false;
  try {
    const detailType = (JSON.parse(pattern) as { 'detail-type'?: unknown })['detail-type'];
    return Array.isArray(detailType) && detailType.includes(type);
  } catch {
    return false;
  }
}
