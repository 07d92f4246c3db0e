/**
 * EventBridge's AWS JSON 1.1 API over the local bus: PutEvents, TestEventPattern, PutRule, ListRules, DescribeRule, and the
 * archive's ListArchives, DescribeArchive, StartReplay, DescribeReplay, ListReplays, CancelReplay
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Operations.html). Error names are AWS's; the
 * messages of StartReplay's validations are local wording.
 */
import { AwsError, AwsJsonResponse, errorResponse, ok } from './aws-json';
import { EventArchive, Replay } from './event-archive';
import { EventBusEngine, PutEventsEntry, RuleSpec } from './event-bus';
import { compilePattern, testEventPattern } from './event-pattern';

const NAMESPACE = 'com.amazonaws.events';

function describe(rule: RuleSpec) {
  return {
    Name: rule.name,
    Arn: rule.arn,
    EventPattern: rule.eventPatternText ?? (rule.eventPattern ? JSON.stringify(rule.eventPattern) : undefined),
    ScheduleExpression: rule.scheduleExpression,
    State: rule.state,
    Description: rule.description,
    EventBusName: rule.eventBusName,
  };
}

export function handleEventsRequest(engine: EventBusEngine, operation: string, body: Record<string, unknown>): AwsJsonResponse {
  try {
    switch (operation) {
      case 'PutEvents': {
        // 1 to 10 entries of at most 1 MB together, else ValidationException (HTTP 400); per-entry errors answer 200.
        return ok(engine.putEvents(body.Entries as PutEventsEntry[]));
      }
      case 'TestEventPattern': {
        if (typeof body.EventPattern !== 'string' || typeof body.Event !== 'string') throw new AwsError('ValidationException', 'EventPattern and Event are required strings');
        try {
          return ok({ Result: testEventPattern(body.EventPattern, body.Event) });
        } catch (error) {
          const e = error as Error;
          throw new AwsError(e.name === 'InvalidEventPatternException' ? 'InvalidEventPatternException' : 'ValidationException', e.message);
        }
      }
      case 'PutRule':
        return ok({ RuleArn: putRule(engine, body) });
      case 'ListRules': {
        const bus = engine.busNameOf(body.EventBusName as string | undefined);
        if (!engine.hasBus(bus)) throw new AwsError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
        return ok({ Rules: engine.listRules(bus, body.NamePrefix as string | undefined).map(describe) });
      }
      case 'DescribeRule': {
        const bus = engine.busNameOf(body.EventBusName as string | undefined);
        const rule = engine.describeRule(String(body.Name ?? ''), bus);
        if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${String(body.Name)} does not exist on EventBus ${bus}.`);
        return ok(describe(rule));
      }
      case 'ListArchives': {
        const archives = [...engine.archives.values()].filter(
          (a) =>
            (!body.NamePrefix || a.spec.name.startsWith(String(body.NamePrefix))) &&
            (!body.EventSourceArn || a.spec.busArn === body.EventSourceArn) &&
            (!body.State || body.State === 'ENABLED'),
        );
        const { items, NextToken } = page(archives, body, 'archives');
        return ok({
          Archives: items.map((a) => ({ ArchiveName: a.spec.name, EventSourceArn: a.spec.busArn, State: 'ENABLED', RetentionDays: a.spec.retentionDays, ...a.stats(), CreationTime: seconds(a.createdAt) })),
          NextToken,
        });
      }
      case 'DescribeArchive': {
        const a = archiveNamed(engine, body.ArchiveName);
        return ok({
          ArchiveArn: a.spec.arn,
          ArchiveName: a.spec.name,
          EventSourceArn: a.spec.busArn,
          Description: a.spec.description,
          EventPattern: a.spec.eventPattern ? JSON.stringify(a.spec.eventPattern) : undefined,
          State: 'ENABLED',
          RetentionDays: a.spec.retentionDays,
          ...a.stats(),
          CreationTime: seconds(a.createdAt),
        });
      }
      case 'StartReplay': {
        const replay = newReplay(engine, body);
        engine.startReplay(replay);
        return ok({ ReplayArn: replay.arn, State: replay.state, ReplayStartTime: seconds(replay.replayStartTime) });
      }
      case 'DescribeReplay': {
        const r = replayNamed(engine, body.ReplayName);
        return ok({
          ReplayName: r.name,
          ReplayArn: r.arn,
          Description: r.description,
          State: r.state,
          StateReason: r.stateReason,
          EventSourceArn: r.archive.spec.arn,
          Destination: r.destination,
          EventStartTime: seconds(r.eventStartTime),
          EventEndTime: seconds(r.eventEndTime),
          EventLastReplayedTime: seconds(r.eventLastReplayedTime),
          ReplayStartTime: seconds(r.replayStartTime),
          ReplayEndTime: seconds(r.replayEndTime),
        });
      }
      case 'ListReplays': {
        const replays = [...engine.replays.values()].filter(
          (r) =>
            (!body.NamePrefix || r.name.startsWith(String(body.NamePrefix))) &&
            (!body.State || r.state === body.State) &&
            (!body.EventSourceArn || r.archive.spec.arn === body.EventSourceArn),
        );
        const { items, NextToken } = page(replays, body, 'replays');
        return ok({
          Replays: items.map((r) => ({
            ReplayName: r.name,
            EventSourceArn: r.archive.spec.arn,
            State: r.state,
            StateReason: r.stateReason,
            EventStartTime: seconds(r.eventStartTime),
            EventEndTime: seconds(r.eventEndTime),
            EventLastReplayedTime: seconds(r.eventLastReplayedTime),
            ReplayStartTime: seconds(r.replayStartTime),
            ReplayEndTime: seconds(r.replayEndTime),
          })),
          NextToken,
        });
      }
      case 'CancelReplay': {
        const r = replayNamed(engine, body.ReplayName);
        if (r.state !== 'STARTING' && r.state !== 'RUNNING') throw new AwsError('IllegalStatusException', `Replay ${r.name} is not in a state that can be cancelled (${r.state}).`);
        r.state = 'CANCELLING';
        return ok({ ReplayArn: r.arn, State: r.state });
      }
      default:
        throw new AwsError('UnknownOperationException', `EventBridge operation ${operation} is not supported by the local runtime`);
    }
  } catch (error) {
    return errorResponse(error, NAMESPACE);
  }
}

const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const RULE_STATES = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'] as const;

/**
 * PutRule (API_PutRule.html): creates the rule, or updates it in place (its targets stay). The pattern is compiled from
 * the text as given, so what TestEventPattern refuses PutRule refuses too (InvalidEventPatternException), and
 * DescribeRule returns the text unchanged. A ScheduleExpression is stored and described but not run by the bus.
 */
function putRule(engine: EventBusEngine, body: Record<string, unknown>): string {
  const name = body.Name;
  if (typeof name !== 'string' || !RULE_NAME.test(name)) {
    throw new AwsError('ValidationException', `1 validation error detected: Value '${String(name)}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64`);
  }
  const bus = engine.busNameOf(body.EventBusName as string | undefined);
  if (!engine.hasBus(bus)) throw new AwsError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
  const { EventPattern: text, ScheduleExpression: schedule, Description: description } = body;
  if (text === undefined && schedule === undefined) throw new AwsError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.');
  if (text !== undefined && typeof text !== 'string') throw new AwsError('ValidationException', 'EventPattern must be a string');
  if (schedule !== undefined && (typeof schedule !== 'string' || bus !== 'default')) {
    throw new AwsError('ValidationException', 'ScheduleExpression is supported only on the default event bus.');
  }
  const state = (body.State ?? 'ENABLED') as RuleSpec['state'];
  if (!RULE_STATES.includes(state)) {
    throw new AwsError('ValidationException', `1 validation error detected: Value '${String(body.State)}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [${RULE_STATES.join(', ')}]`);
  }
  let eventPattern: Record<string, unknown> | undefined;
  if (text !== undefined) {
    try {
      compilePattern(text);
    } catch (error) {
      throw new AwsError('InvalidEventPatternException', (error as Error).message);
    }
    eventPattern = JSON.parse(text) as Record<string, unknown>;
  }
  const existing = engine.describeRule(name, bus);
  const arn = engine.ruleArn(name, bus);
  engine.addRule({
    name,
    arn,
    eventBusName: bus,
    eventPattern,
    eventPatternText: text,
    scheduleExpression: schedule as string | undefined,
    state,
    description: description === undefined ? undefined : String(description),
    targets: existing?.targets ?? [],
  });
  return arn;
}

const seconds = (ms?: number) => (ms === undefined ? undefined : ms / 1000);
/** "You can have a maximum of 10 active concurrent replays per account per Region" (eb-replay-archived-event.html). */
const MAX_ACTIVE_REPLAYS = 10;
const REPLAY_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

/** Limit (1 to 100) and NextToken of the List operations; a token is the next item's offset in that list. */
function page<T>(items: T[], body: Record<string, unknown>, list: string): { items: T[]; NextToken?: string } {
  const limit = body.Limit === undefined ? 100 : Number(body.Limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new AwsError('ValidationException', `1 validation error detected: Value '${String(body.Limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100`);
  }
  let offset = 0;
  if (body.NextToken !== undefined && body.NextToken !== null) {
    const match = /^(\w+):(\d+)$/.exec(Buffer.from(String(body.NextToken), 'base64url').toString('utf8'));
    if (!match || match[1] !== list) throw new AwsError('ValidationException', 'The NextToken is not valid.');
    offset = Number(match[2]);
  }
  const end = offset + limit;
  return { items: items.slice(offset, end), NextToken: end < items.length ? Buffer.from(`${list}:${end}`).toString('base64url') : undefined };
}

function archiveNamed(engine: EventBusEngine, name: unknown): EventArchive {
  const archive = engine.archives.get(String(name ?? ''));
  if (!archive) throw new AwsError('ResourceNotFoundException', `Archive ${String(name)} does not exist.`);
  return archive;
}

function replayNamed(engine: EventBusEngine, name: unknown): Replay {
  const replay = engine.replays.get(String(name ?? ''));
  if (!replay) throw new AwsError('ResourceNotFoundException', `Replay ${String(name)} does not exist.`);
  return replay;
}

/** StartReplay's request, checked as the API reference and the user guide describe it. */
function newReplay(engine: EventBusEngine, body: Record<string, unknown>): Replay {
  const invalid = (parameter: string, reason: string) => new AwsError('ValidationException', `Parameter ${parameter} is not valid. Reason: ${reason}`);
  const name = body.ReplayName;
  if (typeof name !== 'string' || !REPLAY_NAME.test(name)) throw invalid('ReplayName', 'it must be 1 to 64 characters of [.-_A-Za-z0-9].');
  const archive = [...engine.archives.values()].find((a) => a.spec.arn === body.EventSourceArn);
  if (!archive) throw new AwsError('ResourceNotFoundException', `Archive ${String(body.EventSourceArn).split('/').pop()} does not exist.`);
  const start = Number(body.EventStartTime) * 1000;
  const end = Number(body.EventEndTime) * 1000;
  if (body.EventStartTime === undefined || !Number.isFinite(start)) throw invalid('EventStartTime', 'EventStartTime is required.');
  if (body.EventEndTime === undefined || !Number.isFinite(end)) throw invalid('EventEndTime', 'EventEndTime is required.');
  if (start >= end) throw invalid('EventStartTime', 'EventStartTime must be before EventEndTime.');
  const replayStartTime = engine.now();
  if (end > replayStartTime) throw invalid('EventEndTime', 'EventEndTime cannot be in the future.');
  const destination = body.Destination as { Arn?: unknown; FilterArns?: unknown } | undefined;
  // "you can replay events only to the same event bus that emitted the events" (eb-replay-archived-event.html).
  if (!destination || destination.Arn !== archive.spec.busArn) throw invalid('Destination.Arn', 'Cross event bus replay is not permitted.');
  const filterArns = destination.FilterArns === undefined ? undefined : (destination.FilterArns as unknown[]).map(String);
  const rules = new Set(engine.listRules(archive.spec.bus).map((r) => r.arn));
  const unknown = filterArns?.find((arn) => !rules.has(arn));
  if (unknown) throw invalid('Destination.FilterArns', `rule ${unknown} does not exist on event bus ${archive.spec.bus}.`);
  if (engine.replays.has(name)) throw new AwsError('ResourceAlreadyExistsException', `Replay ${name} already exists.`);
  const active = [...engine.replays.values()].filter((r) => r.state === 'STARTING' || r.state === 'RUNNING' || r.state === 'CANCELLING').length;
  if (active >= MAX_ACTIVE_REPLAYS) throw new AwsError('LimitExceededException', `The requested resource exceeds the maximum number allowed: ${MAX_ACTIVE_REPLAYS} active replays.`);
  return {
    name,
    arn: archive.spec.arn.replace(/:archive\/[^/]+$/, `:replay/${name}`),
    archive,
    description: body.Description === undefined ? undefined : String(body.Description),
    destination: { Arn: archive.spec.busArn, ...(filterArns ? { FilterArns: filterArns } : {}) },
    eventStartTime: start,
    eventEndTime: end,
    state: 'STARTING',
    replayStartTime,
  };
}
