/**
 * EventBridge: buses, rules with event patterns, targets with Input / InputPath / InputTransformer, delivery
 * retried per the target's RetryPolicy and then sent to the target's DLQ (with the documented error attributes).
 * Archives keep the events their pattern matches and replays re-send them to the bus's rules (event-archive.ts).
 *
 * Failure paths, as the EventBridge User Guide describes them:
 * - PutEvents answers per entry (HTTP 200, FailedEntryCount); a request of more than 10 entries or over the size
 *   limit fails as a whole (ValidationException). Faults `events.putEventsInternalFailure` / `events.putEventsThrottling`
 *   fail single entries the way AWS can.
 * - Delivery ("Event retry policy and using dead-letter queues",
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html): a retryable failure is retried with
 *   exponential back-off and jitter until MaximumRetryAttempts (default 185) or MaximumEventAgeInSeconds (default
 *   86,400) runs out, whichever comes first; a missing target or missing permission is not retried. Then the event
 *   goes to the target's DLQ with RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS and, when a retry
 *   limit ended it, EXHAUSTED_RETRY_CONDITION; without a DLQ it is dropped.
 * - Time: an event's age is measured in the runtime's scaled clock. `clock.now()` is real time and every wait is
 *   divided by `clock.scale`, so simulated time runs `scale` times faster than real time: the age of an event
 *   ingested at real time t0 is (clock.now() - t0) * clock.scale. A MaximumEventAgeInSeconds of 60 at time scale 30
 *   therefore expires 2 real seconds after PutEvents. Time the process was down counts too (as it does on AWS, where
 *   an event keeps aging while its target is unavailable).
 * - Durability: with `journalDirectory`, every delivery is journaled before PutEvents answers and marked done when
 *   it is delivered or dead-lettered; `start()` resumes the deliveries a killed process left pending.
 */
import { randomUUID } from 'node:crypto';
import { Clock, sleepUnlessAborted } from '../clock';
import { Faults, NO_FAULTS } from '../faults/faults';
import { AwsError } from './aws-json';
import { ArchiveSpec, EventArchive, Replay, runReplay } from './event-archive';
import { CompiledPattern, compilePattern, matchesPattern } from './event-pattern';
import { PendingJournal } from './pending-journal';

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
  /** The pattern as PutRule received it: compiled from this text (duplicate keys count) and returned by DescribeRule. */
  eventPatternText?: string;
  /** Stored and described; the bus does not run scheduled rules (AWS::Scheduler schedules run, local/engines/schedules.ts). */
  scheduleExpression?: string;
  state: 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
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
  TraceHeader?: string;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/**
 * The ERROR_CODE values an EventBridge DLQ message can carry, as listed in "Using dead-letter queues to process
 * undelivered events" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
 */
export const TARGET_ERROR_CODES = [
  'CONNECTION_FAILURE',
  'CROSS_ACCOUNT_INGESTION_FAILED',
  'CROSS_REGION_INGESTION_FAILED',
  'ERROR_FROM_TARGET',
  'EVENTS_IN_BATCH_REQUEST_REJECTED',
  'FAILED_TO_ASSUME_ROLE',
  'INTERNAL_ERROR',
  'INVALID_JSON',
  'INVALID_PARAMETER',
  'NO_PERMISSIONS',
  'NO_RESOURCE',
  'RESOURCE_ALREADY_EXISTS',
  'RESOURCE_LIMIT_EXCEEDED',
  'RESOURCE_MODIFICATION_COLLISION',
  'SDK_CLIENT_ERROR',
  'THIRD_ACCOUNT_HOP_DETECTED',
  'THIRD_REGION_HOP_DETECTED',
  'THROTTLING',
  'TIMEOUT',
  'TRANSIENT_ASSUME_ROLE',
  'UNKNOWN',
] as const;
export type TargetErrorCode = (typeof TARGET_ERROR_CODES)[number];

/** Errors EventBridge sends to the DLQ without retrying: "missing permissions to a target, or a target resource that no longer exists". */
const NOT_RETRIED = new Set<TargetErrorCode>(['NO_RESOURCE', 'NO_PERMISSIONS']);

/**
 * What a Deliver callback throws when a target call fails: the DLQ's ERROR_CODE and ERROR_MESSAGE, and whether
 * EventBridge would retry it (by default every code but NO_RESOURCE and NO_PERMISSIONS).
 */
export class TargetError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly code: TargetErrorCode,
    message: string,
    retryable?: boolean,
  ) {
    super(message);
    this.name = 'TargetError';
    this.retryable = retryable ?? !NOT_RETRIED.has(code);
  }

  /** The target (queue, function, state machine) does not exist: dead-lettered at once. */
  static noResource(targetArn: string, message = `Target ${targetArn} does not exist.`): TargetError {
    return new TargetError('NO_RESOURCE', message, false);
  }

  /** EventBridge may not call the target: dead-lettered at once. */
  static noPermissions(targetArn: string, message = `EventBridge is not authorized to invoke ${targetArn}.`): TargetError {
    return new TargetError('NO_PERMISSIONS', message, false);
  }
}

/** Plain errors the runtime's deliver callback threw before TargetError existed (`NonExistentQueue: arn`...). */
const MISSING_TARGET = /^(NonExistentQueue|AWS\.SimpleQueueService\.NonExistentQueue|QueueDoesNotExist|ResourceNotFoundException|StateMachineDoesNotExist)\b/;

/** Any thrown value as a TargetError: a missing target named the old way is NO_RESOURCE, anything else a retryable SDK_CLIENT_ERROR. */
export function targetErrorOf(error: unknown): TargetError {
  if (error instanceof TargetError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : '';
  if (MISSING_TARGET.test(message) || MISSING_TARGET.test(name)) return new TargetError('NO_RESOURCE', message, false);
  if (/^(AccessDenied|AccessDeniedException|AuthorizationError)\b/.test(name || message)) return new TargetError('NO_PERMISSIONS', message, false);
  return new TargetError('SDK_CLIENT_ERROR', message, true);
}

/** Delivers a payload to a target by ARN (queue, function, state machine); throws (preferably a TargetError) if the call fails. */
export type Deliver = (targetArn: string, payload: string, context: { ruleArn: string; event: Record<string, unknown> }) => Promise<void>;

/** Sends a failed event to a target DLQ, with attributes naming the error, rule and target. */
export type DeadLetter = (dlqArn: string, payload: string, attributes: Record<string, string>) => Promise<void>;

export type ExhaustedRetryCondition = 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds';

export interface DeliveryFailure {
  rule: string;
  target: string;
  error: string;
  code: TargetErrorCode;
  /** Attempts made (1 + retries). */
  attempts: number;
  /** Set when a retry limit ended the delivery; absent for an error that is not retried. */
  exhaustedRetryCondition?: ExhaustedRetryCondition;
  deadLettered: boolean;
}

export interface EventBusOptions {
  region: string;
  accountId: string;
  clock: Clock;
  deliver: Deliver;
  deadLetter: DeadLetter;
  /** Fault injection (default: none). */
  faults?: Faults;
  /** Pending deliveries are journaled here and resumed by start() after a restart; default: in memory only. */
  journalDirectory?: string;
  /** fdatasync the journal before PutEvents answers (survives a power cut; default false: survives kill -9). */
  journalFsync?: boolean;
  /** Archived events are kept here (one file per archive); default: in memory only. */
  archiveDirectory?: string;
  /** Back-off base: the first retry waits up to this (simulated ms, default 1000); the bound doubles per retry. */
  retryBaseDelayMs?: number;
  /** Back-off cap (simulated ms, default 15 min: with full jitter, 185 attempts then span about a day, as AWS's defaults do). */
  retryMaxDelayMs?: number;
  /** The jitter's random source, in [0, 1) (default Math.random). */
  random?: () => number;
  onEvent?: (info: { bus: string; event: Record<string, unknown>; matchedRules: string[] }) => void;
  onDeliveryFailure?: (info: DeliveryFailure) => void;
}

/** "the total entry size must be less than 1MB" (PutEvents API reference); AWS accepts exactly 1,048,576 bytes (recorded). */
export const MAX_PUT_EVENTS_REQUEST_BYTES = 1_048_576;
/** PutEvents takes 1 to 10 entries (API reference: Entries, array members 1 to 10). */
export const MAX_PUT_EVENTS_ENTRIES = 10;

const DEFAULT_MAX_RETRY_ATTEMPTS = 185;
const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;
/** Age comparisons allow 1 simulated ms for the floating-point sums of scaled waits. */
const AGE_EPSILON_MS = 1;

/**
 * The size of a PutEvents entry as "Calculating PutEvents event entry size" defines it
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html#eb-putevent-size): Time counts 14 bytes
 * when present; Source, DetailType, Detail and each Resources entry count their UTF-8 bytes; nothing else counts.
 */
export function putEventsEntrySize(entry: PutEventsEntry): number {
  const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0);
  let size = entry.Time !== undefined && entry.Time !== null ? 14 : 0;
  size += bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  for (const resource of Array.isArray(entry.Resources) ? entry.Resources : []) size += bytes(resource);
  return size;
}

/** One delivery of one event to one target, as journaled. Times are real epoch milliseconds. */
interface PendingDelivery {
  bus: string;
  rule: { name: string; arn: string };
  target: TargetSpec;
  event: Record<string, unknown>;
  payload: string;
  ingestedAt: number;
  /** Attempts made so far. */
  attempts: number;
  nextAttemptAt?: number;
  lastError?: { code: TargetErrorCode; message: string };
}

export class EventBusEngine {
  private readonly buses = new Set<string>(['default']);
  private readonly rules = new Map<string, RuleSpec>();
  private readonly compiled = new WeakMap<RuleSpec, CompiledPattern>();
  readonly archives = new Map<string, EventArchive>();
  readonly replays = new Map<string, Replay>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly faults: Faults;
  private readonly journal: PendingJournal<PendingDelivery> | undefined;
  /** Deliveries found pending in the journal, resumed by start(). */
  private resumable = new Map<string, PendingDelivery>();
  private readonly stopping = new AbortController();
  private started = false;

  constructor(private readonly options: EventBusOptions) {
    this.faults = options.faults ?? NO_FAULTS;
    if (options.journalDirectory) {
      this.journal = new PendingJournal<PendingDelivery>(options.journalDirectory, 'event-deliveries', { fsync: options.journalFsync });
      this.resumable = this.journal.open();
    }
  }

  addBus(name: string): void {
    this.buses.add(name);
  }

  addArchive(spec: ArchiveSpec): EventArchive {
    const archive = new EventArchive(spec, this.options.clock, this.options.archiveDirectory);
    this.archives.set(spec.name, archive);
    return archive;
  }

  /** The bus's clock time (real epoch ms): replay windows and their times are read on it. */
  now(): number {
    return this.options.clock.now();
  }

  busArn(name: string): string {
    return `arn:aws:events:${this.options.region}:${this.options.accountId}:event-bus/${name}`;
  }

  hasBus(name: string): boolean {
    return this.buses.has(name);
  }

  /** Adds or replaces a rule; its pattern is compiled first (InvalidEventPatternException for one the service refuses). */
  addRule(rule: RuleSpec): void {
    const pattern = rule.eventPatternText ?? rule.eventPattern;
    if (pattern !== undefined) this.compiled.set(rule, compilePattern(pattern));
    this.rules.set(`${rule.eventBusName}/${rule.name}`, rule);
  }

  ruleArn(name: string, eventBusName = 'default'): string {
    return `arn:aws:events:${this.options.region}:${this.options.accountId}:rule/${eventBusName === 'default' ? '' : `${eventBusName}/`}${name}`;
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

  /** Deliveries a previous process left pending (journal), not yet resumed. */
  get pendingResumable(): number {
    return this.resumable.size;
  }

  /**
   * Resumes the deliveries found pending in the journal. Call it once the targets exist (queues, functions, state
   * machines): a delivery to a target that does not exist yet would be dead-lettered as NO_RESOURCE.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    const resumed = this.resumable;
    this.resumable = new Map();
    for (const [id, delivery] of resumed) this.track(this.run(id, delivery));
  }

  /**
   * PutEvents: one result per entry, in order; failed entries carry ErrorCode/ErrorMessage. A request of no entries,
   * more than 10, or over the size limit fails as a whole with ValidationException (thrown as an AwsError).
   */
  putEvents(entries: PutEventsEntry[]): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    validatePutEventsRequest(entries);
    const accepted: { id: string; value: PendingDelivery }[] = [];
    const archived = new Map<EventArchive, Record<string, unknown>[]>();
    const results = entries.map((entry) => this.putOne(entry, accepted, archived));
    // Journaled and archived (one write each for the request) before PutEvents answers: an acknowledged event
    // survives kill -9.
    this.journal?.put(accepted);
    for (const [archive, events] of archived) archive.append(events);
    for (const { id, value } of accepted) this.track(this.run(id, value));
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  /** Waits until every delivery started so far has finished (delivered, dead-lettered or dropped), retries included. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Stops: deliveries waiting for a retry stop waiting (with a journal they stay pending for the next start), attempts
   * under way finish, and the journal is closed. Without a journal, deliveries still being retried are lost.
   */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('event bus stopped'));
    await this.drain();
    this.journal?.close();
    for (const archive of this.archives.values()) archive.close();
  }

  /**
   * A replayed event, to the rules of its bus that match it now (only those of `ruleArns` when given), once per
   * rule and target, delivered like a live one (retries, DLQ, journal). It reaches no archive.
   */
  redeliver(bus: string, event: Record<string, unknown>, ruleArns?: string[]): void {
    const accepted: { id: string; value: PendingDelivery }[] = [];
    this.route(bus, event, this.options.clock.now(), accepted, ruleArns);
    this.journal?.put(accepted);
    for (const { id, value } of accepted) this.track(this.run(id, value));
  }

  /** Starts a replay (validated by the caller): it runs in the background, as on AWS. */
  startReplay(replay: Replay): void {
    this.replays.set(replay.name, replay);
    const bus = this.busNameOf(replay.destination.Arn);
    this.track(runReplay(replay, (event, ruleArns) => this.redeliver(bus, event, ruleArns), this.stopping.signal, () => this.options.clock.now()));
  }

  /** Matching rules' deliveries of one event; the rules matched, by name. */
  private route(bus: string, event: Record<string, unknown>, ingestedAt: number, accepted: { id: string; value: PendingDelivery }[], ruleArns?: string[]): void {
    const matched = [...this.rules.values()].filter(
      (r) => r.eventBusName === bus && r.state !== 'DISABLED' && this.compiled.has(r) && (!ruleArns || ruleArns.includes(r.arn)) && matchesPattern(this.compiled.get(r)!, event),
    );
    this.options.onEvent?.({ bus, event, matchedRules: matched.map((r) => r.name) });
    const ingestionTime = isoSeconds(new Date(ingestedAt));
    for (const rule of matched) {
      for (const target of rule.targets) {
        const payload = transformInput(target, event, { ruleArn: rule.arn, ruleName: rule.name, ingestionTime });
        accepted.push({ id: randomUUID(), value: { bus, rule: { name: rule.name, arn: rule.arn }, target, event, payload, ingestedAt, attempts: 0 } });
      }
    }
  }

  private putOne(entry: PutEventsEntry, accepted: { id: string; value: PendingDelivery }[], archived: Map<EventArchive, Record<string, unknown>[]>): PutEventsResultEntry {
    const fail = (ErrorCode: string, ErrorMessage: string) => ({ ErrorCode, ErrorMessage });
    if (!entry || typeof entry !== 'object') return fail('InvalidArgument', 'Parameter Entry is not valid.');
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
    const bus = this.busNameOf(entry.EventBusName);
    if (!this.buses.has(bus)) return fail('NotFoundException', `Event bus ${bus} does not exist.`);
    // PutEventsResultEntry lists InternalFailure and ThrottlingException as the retryable entry errors
    // (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html); the
    // InternalFailure message is the one the User Guide's "Handling failures with PutEvents" example shows.
    if (this.faults.inject('events.putEventsInternalFailure', bus)) return fail('InternalFailure', 'Internal Service Failure');
    if (this.faults.inject('events.putEventsThrottling', bus)) return fail('ThrottlingException', 'The request was denied due to request throttling.');
    const ingestedAt = this.options.clock.now();
    const time = entry.Time === undefined ? new Date(ingestedAt) : new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : entry.Time);
    const event: Record<string, unknown> = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.options.accountId,
      time: isoSeconds(Number.isNaN(time.getTime()) ? new Date(ingestedAt) : time),
      region: this.options.region,
      resources: entry.Resources ?? [],
      detail,
    };
    this.route(bus, event, ingestedAt, accepted);
    for (const archive of this.archives.values()) {
      if (archive.spec.bus === bus && archive.accepts(event)) archived.set(archive, [...(archived.get(archive) ?? []), event]);
    }
    return { EventId: event.id as string };
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Simulated milliseconds since the event was ingested (see the module comment). */
  private age(delivery: PendingDelivery): number {
    return (this.options.clock.now() - delivery.ingestedAt) * this.options.clock.scale;
  }

  /** Full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog): uniform in [0, min(cap, base * 2^(n-1))). */
  private backoff(retry: number): number {
    const base = this.options.retryBaseDelayMs ?? 1000;
    const cap = this.options.retryMaxDelayMs ?? 15 * 60_000;
    const bound = Math.min(cap, base * 2 ** Math.min(retry - 1, 40));
    return bound * (this.options.random ?? Math.random)();
  }

  /** Waits `ms` simulated milliseconds; false when the engine stops meanwhile. */
  private wait(ms: number): Promise<boolean> {
    return sleepUnlessAborted(this.options.clock, ms, this.stopping.signal);
  }

  private async run(id: string, d: PendingDelivery): Promise<void> {
    const maxAttempts = 1 + (d.target.retryPolicy?.maximumRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS);
    const maxAgeMs = (d.target.retryPolicy?.maximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
    const key = `${d.rule.name}/${d.target.id}`;
    // A resumed delivery waits for the retry it was waiting for (converted back to simulated time).
    if (d.nextAttemptAt !== undefined) {
      const remaining = Math.min((d.nextAttemptAt - this.options.clock.now()) * this.options.clock.scale, maxAgeMs - this.age(d));
      if (remaining > 0 && !(await this.wait(remaining))) return;
    }
    for (;;) {
      if (d.attempts > 0 && this.age(d) >= maxAgeMs - AGE_EPSILON_MS) return this.fail(id, d, 'MaximumEventAgeInSeconds');
      if (this.stopping.signal.aborted) return;
      d.attempts++;
      const error = await this.attempt(d, key);
      if (!error) {
        this.journal?.done(id);
        if (this.faults.inject('events.duplicateDelivery', key)) await this.attempt(d, key, true);
        return;
      }
      d.lastError = { code: error.code, message: error.message };
      if (!error.retryable) return this.fail(id, d, undefined);
      if (d.attempts >= maxAttempts) return this.fail(id, d, 'MaximumRetryAttempts');
      const remaining = maxAgeMs - this.age(d);
      if (remaining <= AGE_EPSILON_MS) return this.fail(id, d, 'MaximumEventAgeInSeconds');
      // The next attempt, or the moment the event expires if that comes first (it is then dead-lettered on time).
      const delay = Math.min(this.backoff(d.attempts), remaining);
      d.nextAttemptAt = this.options.clock.now() + this.options.clock.scaled(delay);
      this.journal?.update(id, { attempts: d.attempts, nextAttemptAt: d.nextAttemptAt, lastError: d.lastError });
      if (!(await this.wait(delay))) return;
    }
  }

  /** One call of the target; the error it failed with, if any. */
  private async attempt(d: PendingDelivery, key: string, duplicate = false): Promise<TargetError | undefined> {
    if (!duplicate && this.faults.inject('events.targetFailure', key)) {
      return new TargetError('ERROR_FROM_TARGET', `Injected fault events.targetFailure: the call to ${d.target.arn} failed.`, true);
    }
    try {
      await this.options.deliver(d.target.arn, d.payload, { ruleArn: d.rule.arn, event: d.event });
      return undefined;
    } catch (error) {
      return targetErrorOf(error);
    }
  }

  private async fail(id: string, d: PendingDelivery, exhaustedRetryCondition: ExhaustedRetryCondition | undefined): Promise<void> {
    const last = d.lastError ?? { code: 'UNKNOWN' as const, message: 'The event expired before it could be delivered.' };
    let deadLettered = false;
    if (d.target.deadLetterArn) {
      const attributes: Record<string, string> = {
        RULE_ARN: d.rule.arn,
        TARGET_ARN: d.target.arn,
        ERROR_CODE: last.code,
        ERROR_MESSAGE: last.message,
        RETRY_ATTEMPTS: String(Math.max(0, d.attempts - 1)),
      };
      if (exhaustedRetryCondition) attributes.EXHAUSTED_RETRY_CONDITION = exhaustedRetryCondition;
      try {
        await this.options.deadLetter(d.target.deadLetterArn, JSON.stringify(d.event), attributes);
        deadLettered = true;
      } catch {
        // AWS counts it in InvocationsFailedToBeSentToDLQ; the event is lost.
      }
    }
    this.journal?.done(id);
    this.options.onDeliveryFailure?.({
      rule: d.rule.name,
      target: d.target.arn,
      error: last.message,
      code: last.code,
      attempts: d.attempts,
      exhaustedRetryCondition,
      deadLettered,
    });
  }
}

/**
 * The request-level checks of PutEvents: Entries must hold 1 to 10 entries whose total size is at most 1 MB. AWS
 * answers HTTP 400 ValidationException for these, not a per-entry error.
 */
export function validatePutEventsRequest(entries: unknown): asserts entries is PutEventsEntry[] {
  if (entries === undefined || entries === null) {
    throw new AwsError('ValidationException', "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  if (!Array.isArray(entries)) throw new AwsError('SerializationException', 'Entries must be a list');
  if (entries.length < 1) {
    throw new AwsError('ValidationException', "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1");
  }
  if (entries.length > MAX_PUT_EVENTS_ENTRIES) {
    throw new AwsError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PUT_EVENTS_ENTRIES}`);
  }
  const total = entries.reduce((sum: number, e) => sum + (e && typeof e === 'object' ? putEventsEntrySize(e as PutEventsEntry) : 0), 0);
  if (total > MAX_PUT_EVENTS_REQUEST_BYTES) throw new AwsError('ValidationException', 'Total size of the entries in the request is over the limit.');
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
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

export interface TransformContext {
  ruleArn?: string;
  ruleName?: string;
  /** ISO 8601 time EventBridge received the event (default: the event's `time`). */
  ingestionTime?: string;
}

/**
 * Input, InputPath or InputTransformer, as the target receives it; otherwise the whole event.
 *
 * InputTransformer ("Amazon EventBridge input transformation",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html):
 * - predefined variables: `aws.events.rule-arn`, `aws.events.rule-name`, `aws.events.event.ingestion-time`,
 *   `aws.events.event` (the original event without its `detail` field) and `aws.events.event.json` (the whole
 *   event);
 * - a template that is JSON (it starts with `{`, `[` or `"`): a placeholder outside a JSON string is replaced by the
 *   value's JSON (a string gets its quotes, as in the doc's "Simple JSON" example), a placeholder inside a string by
 *   the value's text, not escaped ("EventBridge doesn't escape values extracted by Input Path");
 * - any other template is text: every placeholder is replaced by the value's text;
 * - a path that matches nothing: its placeholder becomes empty inside a string or in text, `null` in a JSON value
 *   position (the doc says only that the variable "won't appear in the output").
 */
export function transformInput(target: Pick<TargetSpec, 'input' | 'inputPath' | 'inputTransformer'>, event: Record<string, unknown>, context: TransformContext = {}): string {
  if (target.input !== undefined) return target.input;
  if (target.inputPath) return JSON.stringify(readPath(event, target.inputPath) ?? null);
  if (!target.inputTransformer) return JSON.stringify(event);
  const withoutDetail = Object.fromEntries(Object.entries(event).filter(([key]) => key !== 'detail'));
  const values = new Map<string, unknown>([
    ['aws.events.rule-arn', context.ruleArn ?? ''],
    ['aws.events.rule-name', context.ruleName ?? ''],
    ['aws.events.event.ingestion-time', context.ingestionTime ?? event.time],
    ['aws.events.event', withoutDetail],
    ['aws.events.event.json', event],
  ]);
  // The predefined names are reserved: a path of the same name does not replace them.
  const reserved = new Set(values.keys());
  for (const [name, path] of Object.entries(target.inputTransformer.inputPathsMap ?? {})) {
    if (!reserved.has(name)) values.set(name, readPath(event, path));
  }
  return renderTemplate(target.inputTransformer.inputTemplate, values);
}

function renderTemplate(template: string, values: Map<string, unknown>): string {
  const json = /^\s*[{["]/.test(template);
  const text = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (inString && c === '\\') {
      out += c + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') {
      inString = !inString;
      out += c;
      continue;
    }
    if (c === '<') {
      const m = /^<([^<>"\s]+)>/.exec(template.slice(i, i + 300));
      if (m && values.has(m[1])) {
        const v = values.get(m[1]);
        out += json && !inString ? JSON.stringify(v === undefined ? null : v) : text(v);
        i += m[0].length - 1;
        continue;
      }
    }
    out += c;
  }
  return out;
}
