/**
 * EventBridge Scheduler schedules (and scheduled rules): `rate(...)` expressions fire every period divided by the
 * time scale, first after one period, as AWS does; `at(...)` fires once. `cron(...)` is not emulated (warned at start).
 *
 * A firing whose target fails is retried under the target's RetryPolicy, with exponential back-off, until
 * MaximumRetryAttempts retries are made or the next one would fall past MaximumEventAgeInSeconds after the scheduled
 * time (defaults 185 and 86400); then it goes to the target's DeadLetterConfig queue, if any, with the attributes
 * Scheduler documents, or is dropped. An error the target marks `retryable: false` is dead-lettered at once.
 * https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
 */
import { randomUUID } from 'node:crypto';
import { Clock } from '../clock';

/** Target.RetryPolicy of an AWS::Scheduler::Schedule. */
export interface ScheduleRetryPolicy {
  /** 60..86400, default 86400: no retry is made later than this after the scheduled time. */
  maximumEventAgeInSeconds?: number;
  /** 0..185, default 185. */
  maximumRetryAttempts?: number;
}

export interface ScheduleSpec {
  name: string;
  expression: string;
  enabled: boolean;
  /** Invokes the target once; rejects when the target could not be invoked. */
  fire: () => Promise<void>;
  /** The schedule's ARN (SCHEDULE_ARN of a dead-letter message; default: made from the name, group `default`). */
  arn?: string;
  /** Target.Arn (TARGET_ARN of a dead-letter message). */
  targetArn?: string;
  /** Target.Input: what the target was sent, the body of a dead-letter message (default `{}`). */
  input?: string;
  /** Target.RetryPolicy. */
  retryPolicy?: ScheduleRetryPolicy;
  /** Target.DeadLetterConfig.Arn: a standard SQS queue's ARN. */
  deadLetterArn?: string;
}

/** Sends a dead-letter message: the queue's ARN, the body, the message attributes (all of DataType String). */
export type ScheduleDeadLetter = (queueArn: string, body: string, attributes: Record<string, string>) => Promise<void>;

export interface ScheduleFailure {
  schedule: string;
  target?: string;
  error: Error;
  /** Invocations made: the first and the retries. */
  attempts: number;
  /** Which limit ended the retries; undefined when the error was not retryable. */
  exhaustedRetryCondition?: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds';
  deadLettered: boolean;
}

export interface SchedulesOptions {
  /** Where dead-letter messages go (the runtime sends them to its local queue). Without it they are dropped. */
  deadLetter?: ScheduleDeadLetter;
  /** Delay before the first retry; doubles with each (default 1000 ms). */
  retryBaseDelayMs?: number;
  /** Longest delay between two retries (default 60 000 ms). */
  maxRetryDelayMs?: number;
  /** A firing that failed for good (after its retries), dead-lettered or dropped. */
  onFailure?: (failure: ScheduleFailure) => void;
}

const UNIT_MS: Record<string, number> = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 };

export function ratePeriodMs(expression: string): number | undefined {
  const m = /^rate\((\d+)\s+(minutes?|hours?|days?)\)$/.exec(expression.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

/**
 * ERROR_CODE and ERROR_MESSAGE of a failed firing: the error's `code`, its name when it has its own, or the
 * `Code: message` prefix the runtime's targets use; otherwise Scheduler's own internal error.
 */
function errorCodeAndMessage(error: Error): { code: string; message: string } {
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string' && own) return { code: own, message: error.message };
  if (error.name && error.name !== 'Error') return { code: error.name, message: error.message };
  const prefixed = /^([A-Za-z][\w.]*): (.*)$/s.exec(error.message ?? '');
  if (prefixed) return { code: prefixed[1], message: prefixed[2] };
  return { code: 'AWS.Scheduler.InternalServerError', message: error.message || 'Unexpected error occurred while processing the request.' };
}

export class SchedulesEngine {
  /** The pending timer of each schedule (re-armed after every firing). */
  private readonly timers = new Map<string, () => void>();
  private readonly firing = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  readonly unsupported: string[] = [];

  constructor(
    private readonly clock: Clock,
    /** Once per firing: without an error when the target was invoked, with the last error when it failed for good. */
    private readonly onFire?: (name: string, error?: Error) => void,
    private readonly options: SchedulesOptions = {},
  ) {}

  add(spec: ScheduleSpec): void {
    if (!spec.enabled) return;
    const period = ratePeriodMs(spec.expression);
    const at = /^at\((.+)\)$/.exec(spec.expression.trim());
    if (period) {
      const tick = () => {
        this.run(spec);
        this.timers.set(spec.name, this.clock.after(period, tick));
      };
      this.timers.set(spec.name, this.clock.after(period, tick));
    } else if (at) {
      const delay = Math.max(0, Date.parse(`${at[1]}Z`) - this.clock.now());
      this.timers.set(spec.name, this.clock.after(delay, () => this.run(spec)));
    } else {
      this.unsupported.push(`${spec.name}: ${spec.expression}`);
    }
  }

  private run(spec: ScheduleSpec): void {
    const p = this.invoke(spec, this.clock.now()).catch(() => undefined);
    this.firing.add(p);
    void p.finally(() => this.firing.delete(p));
  }

  /** One firing: the invocation, its retries, then the dead-letter queue. */
  private async invoke(spec: ScheduleSpec, scheduledTime: number): Promise<void> {
    const maxRetries = spec.retryPolicy?.maximumRetryAttempts ?? 185;
    const maxAgeMs = (spec.retryPolicy?.maximumEventAgeInSeconds ?? 86_400) * 1000;
    const maxDelay = this.options.maxRetryDelayMs ?? 60_000;
    let delay = this.options.retryBaseDelayMs ?? 1000;
    /** One invocation of the schedule, its retries included. */
    const executionId = randomUUID();
    let retries = 0;
    let exhausted: ScheduleFailure['exhaustedRetryCondition'];
    let lastError: Error;
    // A target error marked `retryable: false` (the runtime's TargetError for a target that does not exist or an
    // input it cannot take) is not retried: it goes to the DLQ at once.
    for (;;) {
      try {
        await spec.fire();
        this.onFire?.(spec.name);
        return;
      } catch (error) {
        lastError = error instanceof Error ? error : new Error(String(error));
      }
      if ((lastError as { retryable?: unknown }).retryable === false) break;
      if (retries >= maxRetries) {
        exhausted = 'MaximumRetryAttempts';
        break;
      }
      if (this.clock.now() + delay - scheduledTime > maxAgeMs) {
        exhausted = 'MaximumEventAgeInSeconds';
        break;
      }
      try {
        await this.clock.sleep(delay, this.stopping.signal);
      } catch {
        return; // stopped: the firing ends with the runtime
      }
      retries++;
      delay = Math.min(delay * 2, maxDelay);
    }
    const deadLettered = await this.deadLetter(spec, executionId, scheduledTime, lastError, retries, exhausted);
    this.options.onFailure?.({ schedule: spec.name, target: spec.targetArn, error: lastError, attempts: retries + 1, exhaustedRetryCondition: exhausted, deadLettered });
    this.onFire?.(spec.name, lastError);
  }

  private async deadLetter(spec: ScheduleSpec, executionId: string, scheduledTime: number, error: Error, retries: number, exhausted: ScheduleFailure['exhaustedRetryCondition']): Promise<boolean> {
    if (!spec.deadLetterArn || !this.options.deadLetter) return false;
    const { code, message } = errorCodeAndMessage(error);
    const attributes: Record<string, string> = {
      ERROR_CODE: code,
      ERROR_MESSAGE: message,
      EXECUTION_ID: executionId,
      ...(exhausted ? { EXHAUSTED_RETRY_CONDITION: exhausted } : {}),
      IS_PAYLOAD_TRUNCATED: 'false',
      RETRY_ATTEMPTS: String(retries),
      SCHEDULED_TIME: new Date(scheduledTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      SCHEDULE_ARN: spec.arn ?? `arn:aws:scheduler:::schedule/default/${spec.name}`,
      TARGET_ARN: spec.targetArn ?? '',
    };
    try {
      await this.options.deadLetter(spec.deadLetterArn, spec.input ?? '{}', attributes);
      return true;
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    this.timers.forEach((cancel) => cancel());
    this.timers.clear();
    this.stopping.abort();
    await Promise.allSettled([...this.firing]);
  }
}
