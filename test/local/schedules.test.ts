/**
 * EventBridge Scheduler failure paths through SchedulesEngine, from the pages named above each block: a target that
 * fails is retried under the schedule's RetryPolicy, then its firing goes to the DeadLetterConfig queue with the
 * attributes Scheduler documents. A manual FakeClock moves time: a day of retries takes milliseconds.
 */
import { ScheduleFailure, SchedulesEngine, ScheduleSpec, SchedulesOptions } from '../../local/engines/schedules';
import { FakeClock } from '../support/fake-clock';

const START = Date.parse('2026-01-01T00:00:00.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const SCHEDULE_ARN = 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/SweepSchedule';
const TARGET_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:Sweep';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:000000000000:ScheduleDLQ';

interface DeadLetterMessage {
  queueArn: string;
  body: string;
  attributes: Record<string, string>;
}

/** An engine, a target failing as told, and what reached the DLQ and the callbacks. */
function setup(target: (n: number) => Promise<void> | void, spec: Partial<ScheduleSpec> = {}, options: SchedulesOptions = {}) {
  const clock = new FakeClock({ start: START, auto: false });
  const invocations: number[] = [];
  const deadLetters: DeadLetterMessage[] = [];
  const fired: { name: string; error?: string }[] = [];
  const failures: ScheduleFailure[] = [];
  const engine = new SchedulesEngine(clock, (name, error) => fired.push({ name, error: error?.message }), {
    deadLetter: async (queueArn, body, attributes) => void deadLetters.push({ queueArn, body, attributes }),
    onFailure: (f) => failures.push(f),
    ...options,
  });
  engine.add({
    name: 'SweepSchedule',
    expression: 'rate(1 minute)',
    enabled: true,
    arn: SCHEDULE_ARN,
    targetArn: TARGET_ARN,
    input: '{"source":"schedule"}',
    deadLetterArn: DLQ_ARN,
    fire: async () => {
      invocations.push(clock.now() - START);
      await target(invocations.length);
    },
    ...spec,
  });
  return { clock, engine, invocations, deadLetters, fired, failures };
}

const alwaysFails = () => Promise.reject(new Error('StateMachineDoesNotExist: ' + TARGET_ARN));

// https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html (rate-based schedules)
describe('firing', () => {
  it('a rate schedule fires every period, the first after one period; a target that answers is not retried', async () => {
    const { clock, engine, invocations, deadLetters, fired } = setup(() => undefined);
    await clock.advance(3 * MINUTE);
    await engine.stop();
    expect(invocations).toEqual([MINUTE, 2 * MINUTE, 3 * MINUTE]);
    expect(fired).toEqual([{ name: 'SweepSchedule' }, { name: 'SweepSchedule' }, { name: 'SweepSchedule' }]);
    expect(deadLetters).toEqual([]);
  });

  it('cron() is reported as not emulated; a disabled schedule never fires', async () => {
    const clock = new FakeClock({ start: START, auto: false });
    const engine = new SchedulesEngine(clock);
    const fire = jest.fn(async () => undefined);
    engine.add({ name: 'Nightly', expression: 'cron(0 2 * * ? *)', enabled: true, fire });
    engine.add({ name: 'Off', expression: 'rate(1 minute)', enabled: false, fire });
    await clock.advance(10 * MINUTE);
    await engine.stop();
    expect(engine.unsupported).toEqual(['Nightly: cron(0 2 * * ? *)']);
    expect(fire).not.toHaveBeenCalled();
  });
});

// https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html
//   "Retry attempts with exponential backoff continue until either the maximum number of attempts is made or until
//   the duration of the MaximumEventAgeInSeconds is reached."
describe('RetryPolicy', () => {
  it('MaximumRetryAttempts 3 (the sweep schedule\'s): the first invocation and 3 retries, backing off 1, 2, 4 s, then the DLQ', async () => {
    const { clock, engine, invocations, deadLetters, fired, failures } = setup(alwaysFails, { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 } });
    await clock.advance(2 * MINUTE);
    await engine.stop();
    expect(invocations).toEqual([60_000, 61_000, 63_000, 67_000]);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0].attributes).toMatchObject({ RETRY_ATTEMPTS: '3', EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts' });
    expect(fired).toEqual([{ name: 'SweepSchedule', error: `StateMachineDoesNotExist: ${TARGET_ARN}` }]);
    expect(failures).toEqual([expect.objectContaining({ schedule: 'SweepSchedule', target: TARGET_ARN, attempts: 4, exhaustedRetryCondition: 'MaximumRetryAttempts', deadLettered: true })]);
  });

  it('MaximumEventAgeInSeconds 60: no retry falls later than 60 s after the scheduled time', async () => {
    const { clock, engine, invocations, deadLetters } = setup(alwaysFails, { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumEventAgeInSeconds: 60, maximumRetryAttempts: 185 } });
    await clock.advance(10 * MINUTE);
    await engine.stop();
    // Waits 1, 2, 4, 8, 16 s; the next (32 s) would land 63 s after the scheduled time.
    expect(invocations.map((t) => t - MINUTE)).toEqual([0, 1000, 3000, 7000, 15_000, 31_000]);
    expect(deadLetters[0].attributes).toMatchObject({ RETRY_ATTEMPTS: '5', EXHAUSTED_RETRY_CONDITION: 'MaximumEventAgeInSeconds' });
  });

  it('MaximumRetryAttempts 0: one invocation, then the DLQ', async () => {
    const { clock, engine, invocations, deadLetters } = setup(alwaysFails, { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumRetryAttempts: 0 } });
    await clock.advance(5 * MINUTE);
    await engine.stop();
    expect(invocations).toEqual([MINUTE]);
    expect(deadLetters[0].attributes).toMatchObject({ RETRY_ATTEMPTS: '0', EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts' });
  });

  it('no RetryPolicy: the defaults, 185 retries within 86400 s', async () => {
    const { clock, engine, invocations, deadLetters } = setup(alwaysFails, { expression: 'at(2026-01-01T00:01:00)' });
    await clock.advance(25 * 60 * MINUTE);
    await engine.stop();
    expect(invocations).toHaveLength(186);
    expect(invocations.at(-1)! - MINUTE).toBeLessThanOrEqual(86_400 * SECOND);
    // Exponential back-off up to the longest delay between two retries (60 s here).
    expect(invocations.slice(1, 9).map((t, i) => t - invocations[i])).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    expect(deadLetters.map((d) => d.attributes.RETRY_ATTEMPTS)).toEqual(['185']);
  });

  it('a target that answers on a retry is not dead-lettered', async () => {
    const { clock, engine, invocations, deadLetters, fired } = setup((n) => (n < 3 ? alwaysFails() : undefined), { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumRetryAttempts: 3 } });
    await clock.advance(5 * MINUTE);
    await engine.stop();
    expect(invocations).toEqual([60_000, 61_000, 63_000]);
    expect(deadLetters).toEqual([]);
    expect(fired).toEqual([{ name: 'SweepSchedule' }]);
  });

  it('each firing retries on its own: the next one is not held back by the previous one\'s retries', async () => {
    const { clock, engine, invocations, deadLetters } = setup(alwaysFails, { retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 90 } });
    await clock.advance(2 * MINUTE + 500);
    expect(invocations.filter((t) => t === 2 * MINUTE)).toHaveLength(1);
    await clock.advance(3 * MINUTE);
    await engine.stop();
    const ids = new Set(deadLetters.map((d) => d.attributes.EXECUTION_ID));
    expect(ids.size).toBe(deadLetters.length);
    expect(deadLetters.map((d) => d.attributes.SCHEDULED_TIME).slice(0, 2)).toEqual(['2026-01-01T00:01:00Z', '2026-01-01T00:02:00Z']);
  });

  it('an error the target marks retryable: false (no such target) is dead-lettered at once, without EXHAUSTED_RETRY_CONDITION', async () => {
    const missing = Object.assign(new Error(`StateMachineDoesNotExist: ${TARGET_ARN}`), { code: 'NO_RESOURCE', retryable: false });
    const { clock, engine, invocations, deadLetters, failures } = setup(() => Promise.reject(missing), { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumRetryAttempts: 3 } });
    await clock.advance(5 * MINUTE);
    await engine.stop();
    expect(invocations).toEqual([MINUTE]);
    expect(deadLetters[0].attributes).toMatchObject({ ERROR_CODE: 'NO_RESOURCE', RETRY_ATTEMPTS: '0' });
    expect(deadLetters[0].attributes.EXHAUSTED_RETRY_CONDITION).toBeUndefined();
    expect(failures).toEqual([expect.objectContaining({ attempts: 1, exhaustedRetryCondition: undefined, deadLettered: true })]);
  });

  it('stop() ends the retries: no further invocation, nothing dead-lettered', async () => {
    const { clock, engine, invocations, deadLetters } = setup(alwaysFails, { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumRetryAttempts: 10 } });
    await clock.advance(MINUTE + 3500);
    expect(invocations).toHaveLength(3);
    await engine.stop();
    await clock.advance(10 * MINUTE);
    expect(invocations).toHaveLength(3);
    expect(deadLetters).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

// https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html#configuring-schedule-dlq-dead-letter-event
describe('DeadLetterConfig: the dead-letter message', () => {
  it('goes to the DLQ\'s ARN with the target\'s input as its body and the documented attributes', async () => {
    const { clock, engine, deadLetters } = setup(alwaysFails, { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumRetryAttempts: 1 } });
    await clock.advance(2 * MINUTE);
    await engine.stop();
    expect(deadLetters).toHaveLength(1);
    const [message] = deadLetters;
    expect(message.queueArn).toBe(DLQ_ARN);
    expect(message.body).toBe('{"source":"schedule"}');
    expect(Object.keys(message.attributes).sort()).toEqual(
      ['ERROR_CODE', 'ERROR_MESSAGE', 'EXECUTION_ID', 'EXHAUSTED_RETRY_CONDITION', 'IS_PAYLOAD_TRUNCATED', 'RETRY_ATTEMPTS', 'SCHEDULED_TIME', 'SCHEDULE_ARN', 'TARGET_ARN'].sort(),
    );
    expect(message.attributes).toEqual({
      ERROR_CODE: 'StateMachineDoesNotExist',
      ERROR_MESSAGE: TARGET_ARN,
      EXECUTION_ID: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
      IS_PAYLOAD_TRUNCATED: 'false',
      RETRY_ATTEMPTS: '1',
      SCHEDULED_TIME: '2026-01-01T00:01:00Z',
      SCHEDULE_ARN: SCHEDULE_ARN,
      TARGET_ARN: TARGET_ARN,
    });
  });

  it('ERROR_CODE: the error\'s code, its own name, a "Code: message" prefix, else Scheduler\'s internal error', async () => {
    const codes: string[][] = [];
    for (const error of [
      Object.assign(new Error('Rate exceeded'), { code: 'ThrottlingException' }),
      Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }),
      new Error('NonExistentQueue: arn:aws:sqs:us-east-1:000000000000:gone'),
      new Error('socket hang up'),
    ]) {
      const { clock, engine, deadLetters } = setup(() => Promise.reject(error), { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumRetryAttempts: 0 } });
      await clock.advance(2 * MINUTE);
      await engine.stop();
      codes.push([deadLetters[0].attributes.ERROR_CODE, deadLetters[0].attributes.ERROR_MESSAGE]);
    }
    expect(codes).toEqual([
      ['ThrottlingException', 'Rate exceeded'],
      ['ResourceNotFoundException', 'Function not found'],
      ['NonExistentQueue', 'arn:aws:sqs:us-east-1:000000000000:gone'],
      ['AWS.Scheduler.InternalServerError', 'socket hang up'],
    ]);
  });

  it('no DeadLetterConfig: the firing is dropped after its retries', async () => {
    const { clock, engine, deadLetters, failures, fired } = setup(alwaysFails, { expression: 'at(2026-01-01T00:01:00)', deadLetterArn: undefined, retryPolicy: { maximumRetryAttempts: 2 } });
    await clock.advance(2 * MINUTE);
    await engine.stop();
    expect(deadLetters).toEqual([]);
    expect(failures).toEqual([expect.objectContaining({ attempts: 3, deadLettered: false })]);
    expect(fired).toHaveLength(1);
  });

  it('a dead-letter send that fails is reported, not thrown', async () => {
    const { clock, engine, failures, fired } = setup(alwaysFails, { expression: 'at(2026-01-01T00:01:00)', retryPolicy: { maximumRetryAttempts: 0 } }, { deadLetter: () => Promise.reject(new Error('queue gone')) });
    await clock.advance(2 * MINUTE);
    await engine.stop();
    expect(failures).toEqual([expect.objectContaining({ deadLettered: false })]);
    expect(fired).toEqual([{ name: 'SweepSchedule', error: `StateMachineDoesNotExist: ${TARGET_ARN}` }]);
  });
});
