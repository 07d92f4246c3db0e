/**
 * EventBridge: buses, rules with event patterns, targets with Input / InputPath / InputTransformer, delivery
 * retried per the target's RetryPolicy and then sent to the target's DLQ (with the documented error attributes).
 * The archive is recorded as configuration only: replay is not emulated.
 */
import { randomUUID } from 'node:crypto';
import { Clock } from '../clock';
import { matchesPattern, validatePattern } from './event-pattern';

export interface TargetSpec {
  id: string;
  arn: string;
  input?: string;
  inputPath?: string;
  inputTransformer?: { inputPathsMap?: Record<string, string>; inputTemplate: string };
  deadLetterArn?: string;
  retryPolicy?: { maximumEventAgeInSeconds?: number; maximumRetryAttempts?: number };
}

export interface RuleSpec {
  name: string;
  arn: string;
  eventBusName: string;
  eventPattern?: Record<string, unknown>;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  targets: TargetSpec[];
}

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: string | number | Date;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** Delivers a payload to a target by ARN (queue, function, state machine); throws if delivery fails. */
export type Deliver = (targetArn: string, payload: string, context: { ruleArn: string; event: Record<string, unknown> }) => Promise<void>;

/** Sends a failed event to a target DLQ, with attributes naming the error, rule and target. */
export type DeadLetter = (dlqArn: string, payload: string, attributes: Record<string, string>) => Promise<void>;

export interface EventBusOptions {
  region: string;
  accountId: string;
  clock: Clock;
  deliver: Deliver;
  deadLetter: DeadLetter;
  /** First retry delay; doubles per attempt (EventBridge backs off exponentially with jitter). */
  retryBaseDelayMs?: number;
  onEvent?: (info: { bus: string; event: Record<string, unknown>; matchedRules: string[] }) => void;
  onDeliveryFailure?: (info: { rule: string; target: string; error: string; deadLettered: boolean }) => void;
}

const MAX_ENTRY_BYTES = 256 * 1024;

export class EventBusEngine {
  private readonly buses = new Set<string>(['default']);
  private readonly rules = new Map<string, RuleSpec>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: EventBusOptions) {}

  addBus(name: string): void {
    this.buses.add(name);
  }

  hasBus(name: string): boolean {
    return this.buses.has(name);
  }

  addRule(rule: RuleSpec): void {
    if (rule.eventPattern) validatePattern(rule.eventPattern);
    this.rules.set(`${rule.eventBusName}/${rule.name}`, rule);
  }

  listRules(eventBusName = 'default', namePrefix?: string): RuleSpec[] {
    return [...this.rules.values()].filter((r) => r.eventBusName === eventBusName && (!namePrefix || r.name.startsWith(namePrefix)));
  }

  describeRule(name: string, eventBusName = 'default'): RuleSpec | undefined {
    return this.rules.get(`${eventBusName}/${name}`);
  }

  busNameOf(nameOrArn: string | undefined): string {
    if (!nameOrArn) return 'default';
    const m = /^arn:aws:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(nameOrArn);
    return m ? m[1] : nameOrArn;
  }

  /** PutEvents: one result per entry, in order; failed entries carry ErrorCode/ErrorMessage. */
  putEvents(entries: PutEventsEntry[]): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    const results = entries.map((entry) => this.putOne(entry));
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  /** Waits until every delivery started so far has finished (or dead-lettered). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private putOne(entry: PutEventsEntry): PutEventsResultEntry {
    const fail = (ErrorCode: string, ErrorMessage: string) => ({ ErrorCode, ErrorMessage });
    if (!entry.Source) return fail('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
    if (!entry.DetailType) return fail('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
    if (entry.Detail === undefined) return fail('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return fail('MalformedDetail', 'Detail is malformed.');
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail)) return fail('MalformedDetail', 'Detail is malformed.');
    if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES) return fail('InvalidArgument', 'Total size of the entries in the request is over the limit.');
    const bus = this.busNameOf(entry.EventBusName);
    if (!this.buses.has(bus)) return fail('NotFoundException', `Event bus ${bus} does not exist.`);
    const time = entry.Time === undefined ? new Date(this.options.clock.now()) : new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : entry.Time);
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.options.accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region,
      resources: entry.Resources ?? [],
      detail,
    };
    const matched = [...this.rules.values()].filter((r) => r.eventBusName === bus && r.state === 'ENABLED' && r.eventPattern && matchesPattern(r.eventPattern, event));
    this.options.onEvent?.({ bus, event, matchedRules: matched.map((r) => r.name) });
    for (const rule of matched) for (const target of rule.targets) this.track(this.deliverWithRetry(rule, target, event));
    return { EventId: event.id };
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async deliverWithRetry(rule: RuleSpec, target: TargetSpec, event: Record<string, unknown>): Promise<void> {
    const payload = transformInput(target, event);
    const maxAttempts = 1 + (target.retryPolicy?.maximumRetryAttempts ?? 185);
    const maxAgeMs = (target.retryPolicy?.maximumEventAgeInSeconds ?? 86_400) * 1000;
    const started = this.options.clock.now();
    let delay = this.options.retryBaseDelayMs ?? 1000;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        await this.options.deliver(target.arn, payload, { ruleArn: rule.arn, event });
        return;
      } catch (error) {
        lastError = (error as Error).message ?? String(error);
      }
      if (attempt === maxAttempts || this.options.clock.now() - started + delay > maxAgeMs) break;
      await this.options.clock.sleep(delay);
      delay = Math.min(delay * 2, 60_000);
    }
    const deadLettered = Boolean(target.deadLetterArn);
    this.options.onDeliveryFailure?.({ rule: rule.name, target: target.arn, error: lastError, deadLettered });
    if (target.deadLetterArn) {
      await this.options.deadLetter(target.deadLetterArn, JSON.stringify(event), {
        ERROR_CODE: 'SDK_CLIENT_ERROR',
        ERROR_MESSAGE: lastError.slice(0, 1000),
        RULE_ARN: rule.arn,
        TARGET_ARN: target.arn,
      }).catch(() => undefined);
    }
  }
}

/** A JSONPath of the simple form EventBridge accepts ($, $.a.b, $.a[0]). */
export function readPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  const parts = path.replace(/^\$\.?/, '').match(/[^.[\]]+/g) ?? [];
  let current: unknown = value;
  for (const part of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Input, InputPath or InputTransformer, as the target receives it; otherwise the whole event. */
export function transformInput(target: Pick<TargetSpec, 'input' | 'inputPath' | 'inputTransformer'>, event: Record<string, unknown>): string {
  if (target.input !== undefined) return target.input;
  if (target.inputPath) return JSON.stringify(readPath(event, target.inputPath) ?? null);
  if (target.inputTransformer) {
    const values: Record<string, unknown> = { 'aws.events.event': event, 'aws.events.event.json': event, 'aws.events.rule-arn': '', 'aws.events.event.ingestion-time': event.time };
    for (const [name, path] of Object.entries(target.inputTransformer.inputPathsMap ?? {})) values[name] = readPath(event, path);
    const template = target.inputTransformer.inputTemplate;
    // Inside quotes a placeholder is replaced by the raw string; outside, by its JSON.
    return template.replace(/("?)<([\w.-]+)>("?)/g, (whole, open: string, name: string, close: string) => {
      if (!(name in values)) return whole;
      const v = values[name];
      if (open && close) return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v === undefined ? null : v);
      const inner = typeof v === 'string' ? v : JSON.stringify(v === undefined ? null : v);
      return `${open}${inner}${close}`;
    });
  }
  return JSON.stringify(event);
}
