/**
 * Conformance cases for the local EventBridge bus's failure paths: PutEvents per-entry failures and request limits,
 * target delivery retries and the DLQ, input transformation, and durability of pending deliveries. Each case names
 * the AWS page it is written from; cases pinning behaviour the docs leave open say "local choice" or "recorded".
 * Time runs on a manual clock (test/support/fake-clock.ts, driven by hand): hours of retries take milliseconds.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FaultKind, Faults, NO_FAULTS } from '../../local/faults/faults';
import {
  DeliveryFailure,
  EventBusEngine,
  MAX_PUT_EVENTS_REQUEST_BYTES,
  PutEventsEntry,
  putEventsEntrySize,
  RuleSpec,
  TargetError,
  TargetSpec,
  transformInput,
} from '../../local/engines/event-bus';
import { handleEventsRequest } from '../../local/engines/events-api';
import { FakeClock } from '../support/fake-clock';

/** The clock these cases were written against: real time from 2026-01-01T12:00Z, waits divided by the time scale. */
const MANUAL_START = Date.UTC(2026, 0, 1, 12, 0, 0);

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-target`;
const DLQ_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-dlq`;
const RULE_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:rule/orders`;


type Behaviour = (attempt: number, arn: string, payload: string) => void | Promise<void>;

interface HarnessOptions {
  scale?: number;
  faults?: Faults;
  random?: () => number;
  journalDirectory?: string;
  target?: Partial<TargetSpec>;
  dlqFails?: boolean;
  start?: number;
  retryMaxDelayMs?: number;
}

function harness(options: HarnessOptions = {}) {
  const clock = new FakeClock({ start: options.start ?? MANUAL_START, scale: options.scale ?? 1, auto: false, waitsScaled: true, settleTurns: 3 });
  const attempts: { at: number; arn: string; payload: string }[] = [];
  const delivered: { at: number; arn: string; payload: string }[] = [];
  const deadLetters: { at: number; dlq: string; body: string; attributes: Record<string, string> }[] = [];
  const failures: DeliveryFailure[] = [];
  const state: { behaviour: Behaviour } = { behaviour: () => undefined };
  const bus = new EventBusEngine({
    region: REGION,
    accountId: ACCOUNT,
    clock,
    faults: options.faults,
    random: options.random ?? (() => 0.5),
    retryMaxDelayMs: options.retryMaxDelayMs,
    journalDirectory: options.journalDirectory,
    deliver: async (arn, payload) => {
      attempts.push({ at: clock.now(), arn, payload });
      await state.behaviour(attempts.length, arn, payload);
      delivered.push({ at: clock.now(), arn, payload });
    },
    deadLetter: async (dlq, body, attributes) => {
      if (options.dlqFails) throw new Error('AWS.SimpleQueueService.NonExistentQueue');
      deadLetters.push({ at: clock.now(), dlq, body, attributes });
    },
    onDeliveryFailure: (f) => failures.push(f),
  });
  bus.addRule(rule({ targets: [{ id: 'queue', arn: QUEUE_ARN, deadLetterArn: DLQ_ARN, ...options.target }] }));
  return {
    clock,
    bus,
    attempts,
    delivered,
    deadLetters,
    failures,
    /** What the target does on each attempt (throw to fail it). */
    set behaviour(b: Behaviour) {
      state.behaviour = b;
    },
    put: (detail: Record<string, unknown> = { orderId: 'o-1' }, extra: Partial<PutEventsEntry> = {}) =>
      bus.putEvents([{ Source: 'shop.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify(detail), ...extra }]),
  };
}

function rule(overrides: Partial<RuleSpec> = {}): RuleSpec {
  return { name: 'orders', arn: RULE_ARN, eventBusName: 'default', eventPattern: { source: ['shop.orders'] }, state: 'ENABLED', targets: [], ...overrides };
}

/** Faults that answer from a script and record every question. */
function scriptedFaults(decide: (kind: FaultKind, target: string, n: number) => boolean) {
  const calls: { kind: FaultKind; target: string }[] = [];
  const counts = new Map<string, number>();
  const faults: Faults = {
    ...NO_FAULTS,
    inject(kind, target) {
      calls.push({ kind, target });
      const key = `${kind} ${target}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      return decide(kind, target, n);
    },
  };
  return { faults, calls };
}

const throttled: Behaviour = () => {
  throw new TargetError('THROTTLING', 'Rate exceeded');
};

const entry = (n: number, extra: Partial<PutEventsEntry> = {}): PutEventsEntry => ({ Source: 'shop.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ n }), ...extra });

describe('PutEvents: per-entry failures (fault seam)', () => {
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html#eb-failure-handling ("Handling failures
  // with PutEvents"): a failed entry carries ErrorCode/ErrorMessage, the others an EventId, FailedEntryCount counts the
  // failures, and the answer is still 200. The example's failed entry is {"ErrorCode": "InternalFailure",
  // "ErrorMessage": "Internal Service Failure"}.
  test('events.putEventsInternalFailure: that entry fails with InternalFailure, is not put, the rest are (HTTP 200)', async () => {
    const { faults } = scriptedFaults((kind, _t, n) => kind === 'events.putEventsInternalFailure' && n === 2);
    const h = harness({ faults });
    const res = handleEventsRequest(h.bus, 'PutEvents', { Entries: [entry(1), entry(2), entry(3)] });
    expect(res.status).toBe(200);
    const body = res.body as { FailedEntryCount: number; Entries: Record<string, string>[] };
    expect(body.FailedEntryCount).toBe(1);
    expect(body.Entries[0].EventId).toBeDefined();
    expect(body.Entries[1]).toEqual({ ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Service Failure' });
    expect(body.Entries[2].EventId).toBeDefined();
    await h.bus.drain();
    expect(h.delivered.map((d) => JSON.parse(d.payload).detail.n)).toEqual([1, 3]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html: ThrottlingException "The
  // request was denied due to request throttling." is a retryable entry error (the runtime's exact ErrorMessage is not
  // documented; local choice: the documented text).
  test('events.putEventsThrottling: that entry fails with ThrottlingException and is not put', async () => {
    const { faults } = scriptedFaults((kind) => kind === 'events.putEventsThrottling');
    const h = harness({ faults });
    const out = h.bus.putEvents([entry(1)]);
    expect(out).toEqual({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'The request was denied due to request throttling.' }] });
    await h.bus.drain();
    expect(h.attempts).toHaveLength(0);
  });

  test('the seam is asked once per valid entry with the bus name (InternalFailure first); invalid entries are not asked', () => {
    const { faults, calls } = scriptedFaults(() => false);
    const h = harness({ faults });
    h.bus.addBus('orders-bus');
    h.bus.putEvents([entry(1), { Source: 'x', DetailType: 'y', Detail: 'not json' }, entry(2, { EventBusName: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/orders-bus` })]);
    expect(calls.filter((c) => c.kind.startsWith('events.putEvents'))).toEqual([
      { kind: 'events.putEventsInternalFailure', target: 'default' },
      { kind: 'events.putEventsThrottling', target: 'default' },
      { kind: 'events.putEventsInternalFailure', target: 'orders-bus' },
      { kind: 'events.putEventsThrottling', target: 'orders-bus' },
    ]);
  });
});

describe('PutEvents: request limits', () => {
  // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html, Entries: "Array Members: Minimum
  // number of 1 item. Maximum number of 10 items." A request outside that fails as a whole (HTTP 400
  // ValidationException), not per entry.
  test('10 entries are accepted; 11 fail the request with ValidationException', () => {
    const h = harness();
    expect(handleEventsRequest(h.bus, 'PutEvents', { Entries: Array.from({ length: 10 }, (_, i) => entry(i)) }).status).toBe(200);
    const res = handleEventsRequest(h.bus, 'PutEvents', { Entries: Array.from({ length: 11 }, (_, i) => entry(i)) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ __type: 'com.amazonaws.events#ValidationException' });
    expect((res.body as { message: string }).message).toMatch(/at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10/);
  });

  test('no entries, or no Entries at all, fail with ValidationException', () => {
    const h = harness();
    expect(handleEventsRequest(h.bus, 'PutEvents', { Entries: [] })).toMatchObject({ status: 400, body: { __type: 'com.amazonaws.events#ValidationException' } });
    expect(handleEventsRequest(h.bus, 'PutEvents', {})).toMatchObject({ status: 400, body: { __type: 'com.amazonaws.events#ValidationException' } });
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html#eb-putevent-size: Time is 14 bytes if
  // specified; Source and DetailType their UTF-8 bytes; Detail, if specified, its UTF-8 bytes; each Resources entry its
  // UTF-8 bytes. EventBusName does not count.
  test('entry size is computed as "Calculating PutEvents event entry size" says', () => {
    expect(putEventsEntrySize({ Source: 'com.mycompany.myapp', DetailType: 'myDetailType', Detail: '{ "key1": "value1", "key2": "value2" }' })).toBe(19 + 12 + 38);
    expect(putEventsEntrySize({ Time: '2016-01-14T01:02:03Z', Source: 'a', DetailType: 'b', Detail: '{}' })).toBe(14 + 1 + 1 + 2);
    expect(putEventsEntrySize({ Source: 'é', DetailType: '€', Detail: '{"k":"😀"}', Resources: ['resource1', 'resource2'], EventBusName: 'a-long-bus-name' })).toBe(2 + 3 + 12 + 18);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html (current): "the total entry size
  // must be less than 1MB" (it was 256KB until January 2026). The limit is on the request's entries together. Recorded
  // against AWS (a third-party lab, March 2026): an entry of exactly 1,048,576 bytes is accepted, one byte more fails
  // with ValidationException "Total size of the entries in the request is over the limit."
  test('entries of 1,048,576 bytes together are accepted; one byte more fails the whole request', () => {
    const h = harness();
    const sized = (bytes: number, n = 0): PutEventsEntry => {
      const base = { Source: 'test.payload', DetailType: 'PayloadSizeTest' };
      const overhead = putEventsEntrySize({ ...base, Detail: JSON.stringify({ n, p: '' }) });
      return { ...base, Detail: JSON.stringify({ n, p: 'x'.repeat(bytes - overhead) }) };
    };
    expect(putEventsEntrySize(sized(MAX_PUT_EVENTS_REQUEST_BYTES))).toBe(1_048_576);
    expect(handleEventsRequest(h.bus, 'PutEvents', { Entries: [sized(MAX_PUT_EVENTS_REQUEST_BYTES)] }).status).toBe(200);
    const over = handleEventsRequest(h.bus, 'PutEvents', { Entries: [sized(MAX_PUT_EVENTS_REQUEST_BYTES + 1)] });
    expect(over).toEqual({ status: 400, body: { __type: 'com.amazonaws.events#ValidationException', message: 'Total size of the entries in the request is over the limit.' } });
    // Two entries of 600,000 bytes: each under the limit, together over it.
    expect(handleEventsRequest(h.bus, 'PutEvents', { Entries: [sized(600_000, 1), sized(600_000, 2)] }).status).toBe(400);
    // The former 256 KB limit no longer applies: three entries of about 300 KB (recorded: 3 x 300 KB succeeded).
    expect(handleEventsRequest(h.bus, 'PutEvents', { Entries: [sized(306_000, 1), sized(306_000, 2), sized(306_000, 3)] }).status).toBe(200);
  });
});

describe('target delivery: retries with exponential back-off and jitter, then the DLQ', () => {
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html: "By default, EventBridge retries sending
  // the event for 24 hours and up to 185 times with an exponential back off and jitter, or randomized delay." The base
  // and cap are not documented (local choice: full jitter, base 1 s, cap 15 min).
  test('a retryable failure is retried, each wait drawn uniformly below a bound that doubles (1 s, 2 s, 4 s...) up to the cap', async () => {
    const h = harness({ random: () => 0.999999, target: { retryPolicy: { maximumRetryAttempts: 12 } } });
    h.behaviour = (n) => {
      if (n <= 12) throw new TargetError('THROTTLING', 'Rate exceeded');
    };
    h.put();
    await h.clock.runAll();
    const waits = h.attempts.slice(1).map((a, i) => Math.round((a.at - h.attempts[i].at) / 1000));
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
    expect(h.delivered).toHaveLength(1);
    expect(h.deadLetters).toHaveLength(0);
  });

  test('the jitter: each wait is random() times the bound (full jitter)', async () => {
    const draws = [0.1, 0.9, 0.5];
    const h = harness({ random: () => draws.shift() ?? 0, target: { retryPolicy: { maximumRetryAttempts: 3 } } });
    h.behaviour = (n) => {
      if (n <= 3) throw new TargetError('THROTTLING', 'Rate exceeded');
    };
    h.put();
    await h.clock.runAll();
    const waits = h.attempts.slice(1).map((a, i) => a.at - h.attempts[i].at);
    expect(waits).toEqual([100, 1800, 2000]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html: each DLQ message carries RULE_ARN,
  // TARGET_ARN, ERROR_CODE, ERROR_MESSAGE and "the Exhausted Retry Condition ... Retry Attempts"
  // (EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS). The page does not list the condition's values: MaximumRetryAttempts /
  // MaximumEventAgeInSeconds are the RetryPolicy field names, as in the Custom Event Bus dead-letter record
  // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-custom-bus-retry.html). The DLQ holds the event
  // itself.
  test('MaximumRetryAttempts 2: three attempts, then the DLQ with EXHAUSTED_RETRY_CONDITION MaximumRetryAttempts and RETRY_ATTEMPTS 2', async () => {
    const h = harness({ target: { retryPolicy: { maximumRetryAttempts: 2 } } });
    h.behaviour = throttled;
    const { Entries } = h.put({ orderId: 'o-7' });
    await h.clock.runAll();
    expect(h.attempts).toHaveLength(3);
    expect(h.deadLetters).toHaveLength(1);
    const [dead] = h.deadLetters;
    expect(dead.dlq).toBe(DLQ_ARN);
    expect(dead.attributes).toEqual({
      RULE_ARN: RULE_ARN,
      TARGET_ARN: QUEUE_ARN,
      ERROR_CODE: 'THROTTLING',
      ERROR_MESSAGE: 'Rate exceeded',
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
      RETRY_ATTEMPTS: '2',
    });
    const body = JSON.parse(dead.body);
    expect(body).toMatchObject({ id: (Entries[0] as { EventId: string }).EventId, source: 'shop.orders', 'detail-type': 'OrderPlaced', detail: { orderId: 'o-7' } });
    expect(h.failures).toEqual([expect.objectContaining({ rule: 'orders', code: 'THROTTLING', attempts: 3, exhaustedRetryCondition: 'MaximumRetryAttempts', deadLettered: true })]);
  });

  test('MaximumRetryAttempts 0: one attempt, RETRY_ATTEMPTS 0', async () => {
    const h = harness({ target: { retryPolicy: { maximumRetryAttempts: 0 } } });
    h.behaviour = throttled;
    h.put();
    await h.clock.runAll();
    expect(h.attempts).toHaveLength(1);
    expect(h.deadLetters[0].attributes).toMatchObject({ EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts', RETRY_ATTEMPTS: '0' });
  });

  test('the default policy: 185 retries (186 attempts) when no age limit comes first', async () => {
    const h = harness({ random: () => 0 });
    h.behaviour = throttled;
    h.put();
    await h.clock.runAll();
    expect(h.attempts).toHaveLength(186);
    expect(h.deadLetters[0].attributes).toMatchObject({ EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts', RETRY_ATTEMPTS: '185' });
  });

  test('the default policy: an event still failing after 24 hours expires (MaximumEventAgeInSeconds 86,400)', async () => {
    const h = harness({ random: () => 0.999999, retryMaxDelayMs: 60 * 60_000 });
    h.behaviour = throttled;
    h.put();
    const t0 = h.clock.now();
    await h.clock.runAll();
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0].at - t0).toBeCloseTo(86_400_000, -1);
    expect(h.deadLetters[0].attributes.EXHAUSTED_RETRY_CONDITION).toBe('MaximumEventAgeInSeconds');
    expect(h.attempts.length).toBeLessThan(186);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html: "Retry attempts continue until
  // either the maximum number of attempts is made or until the duration of the MaximumEventAgeInSeconds is met."
  // Age is measured on the runtime's scaled clock: at time scale 30, 60 simulated seconds are 2 real seconds.
  test('MaximumEventAgeInSeconds 60 at time scale 30: the event expires 2 real seconds after PutEvents, on time', async () => {
    const h = harness({ scale: 30, random: () => 0.999, target: { retryPolicy: { maximumEventAgeInSeconds: 60 } } });
    h.behaviour = throttled;
    const t0 = h.clock.now();
    h.put();
    await h.clock.advance(1990);
    expect(h.deadLetters).toHaveLength(0);
    expect(h.attempts.length).toBeGreaterThan(3);
    await h.clock.advance(11);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0].at - t0).toBeGreaterThanOrEqual(1999);
    expect(h.deadLetters[0].at - t0).toBeLessThanOrEqual(2001);
    expect(h.deadLetters[0].attributes).toMatchObject({ ERROR_CODE: 'THROTTLING', EXHAUSTED_RETRY_CONDITION: 'MaximumEventAgeInSeconds' });
    expect(Number(h.deadLetters[0].attributes.RETRY_ATTEMPTS)).toBe(h.attempts.length - 1);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html: "for errors that result from missing
  // permissions to a target, or a target resource that no longer exists, all retry attempts fail until an action is
  // taken ... Rather than retrying, EventBridge sends these events directly to the DLQ". ERROR_CODE values from the
  // doc's list: NO_RESOURCE, NO_PERMISSIONS.
  test.each([
    ['a missing target', () => TargetError.noResource(QUEUE_ARN), 'NO_RESOURCE'],
    ['a permission error', () => TargetError.noPermissions(QUEUE_ARN), 'NO_PERMISSIONS'],
  ])('%s goes to the DLQ at once, not retried: no EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS 0', async (_name, error, code) => {
    const h = harness();
    h.behaviour = () => {
      throw error();
    };
    h.put();
    await h.clock.runAll();
    expect(h.attempts).toHaveLength(1);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0].at).toBe(h.attempts[0].at);
    expect(h.deadLetters[0].attributes).toEqual({ RULE_ARN, TARGET_ARN: QUEUE_ARN, ERROR_CODE: code, ERROR_MESSAGE: error().message, RETRY_ATTEMPTS: '0' });
  });

  test.each([`NonExistentQueue: ${QUEUE_ARN}`, 'ResourceNotFoundException: arn:aws:lambda:us-east-1:1:function:gone', 'StateMachineDoesNotExist: arn:aws:states:us-east-1:1:stateMachine:gone'])(
    'the errors the runtime throws today for a missing target (%s) count as NO_RESOURCE',
    async (message) => {
      const h = harness();
      h.behaviour = () => {
        throw new Error(message);
      };
      h.put();
      await h.clock.runAll();
      expect(h.attempts).toHaveLength(1);
      expect(h.deadLetters[0].attributes).toMatchObject({ ERROR_CODE: 'NO_RESOURCE', ERROR_MESSAGE: message, RETRY_ATTEMPTS: '0' });
    },
  );

  test('any other error is retried (SDK_CLIENT_ERROR)', async () => {
    const h = harness({ target: { retryPolicy: { maximumRetryAttempts: 1 } } });
    h.behaviour = () => {
      throw new Error('socket hang up');
    };
    h.put();
    await h.clock.runAll();
    expect(h.attempts).toHaveLength(2);
    expect(h.deadLetters[0].attributes).toMatchObject({ ERROR_CODE: 'SDK_CLIENT_ERROR', ERROR_MESSAGE: 'socket hang up' });
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html: "If an event isn't delivered
  // after all retry attempts are exhausted, the event is dropped" (without a DLQ).
  test('without a DLQ the failed event is dropped (reported, not dead-lettered)', async () => {
    const h = harness({ target: { deadLetterArn: undefined, retryPolicy: { maximumRetryAttempts: 1 } } });
    h.behaviour = throttled;
    h.put();
    await h.clock.runAll();
    expect(h.deadLetters).toHaveLength(0);
    expect(h.failures).toEqual([expect.objectContaining({ deadLettered: false, attempts: 2 })]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html: InvocationsFailedToBeSentToDLQ: a DLQ
  // that cannot take the message loses the event.
  test('a DLQ that cannot be written: reported as not dead-lettered', async () => {
    const h = harness({ dlqFails: true });
    h.behaviour = () => {
      throw TargetError.noResource(QUEUE_ARN);
    };
    h.put();
    await h.clock.runAll();
    expect(h.failures).toEqual([expect.objectContaining({ code: 'NO_RESOURCE', deadLettered: false })]);
  });

  test('events.targetFailure: each attempt asks `rule/target`; a yes fails it as a retryable target failure', async () => {
    const { faults, calls } = scriptedFaults((kind, _t, n) => kind === 'events.targetFailure' && n <= 2);
    const h = harness({ faults });
    h.put();
    await h.clock.runAll();
    expect(calls.filter((c) => c.kind === 'events.targetFailure')).toEqual([
      { kind: 'events.targetFailure', target: 'orders/queue' },
      { kind: 'events.targetFailure', target: 'orders/queue' },
      { kind: 'events.targetFailure', target: 'orders/queue' },
    ]);
    expect(h.attempts).toHaveLength(1); // the two injected failures never reached the target
    expect(h.delivered).toHaveLength(1);
  });

  test('events.targetFailure on every attempt: retried under the RetryPolicy, then the DLQ (ERROR_FROM_TARGET)', async () => {
    const { faults } = scriptedFaults((kind) => kind === 'events.targetFailure');
    const h = harness({ faults, target: { retryPolicy: { maximumRetryAttempts: 3 } } });
    h.put();
    await h.clock.runAll();
    expect(h.attempts).toHaveLength(0);
    expect(h.deadLetters[0].attributes).toMatchObject({ ERROR_CODE: 'ERROR_FROM_TARGET', EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts', RETRY_ATTEMPTS: '3' });
  });

  test('events.duplicateDelivery: a yes delivers the event to that target twice', async () => {
    const { faults, calls } = scriptedFaults((kind) => kind === 'events.duplicateDelivery');
    const h = harness({ faults });
    h.put();
    await h.bus.drain();
    expect(h.delivered).toHaveLength(2);
    expect(h.delivered[0].payload).toBe(h.delivered[1].payload);
    expect(calls.filter((c) => c.kind === 'events.duplicateDelivery')).toEqual([{ kind: 'events.duplicateDelivery', target: 'orders/queue' }]);
  });
});

describe('input transformation', () => {
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html: the example EC2 event and
  // Input Path of "Input transform examples".
  const ec2 = {
    version: '0',
    id: '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '123456789012',
    time: '2015-11-11T21:29:54Z',
    region: 'us-east-1',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
    detail: { 'instance-id': 'i-0123456789', state: 'RUNNING' },
  };
  const inputPathsMap = { timestamp: '$.time', instance: '$.detail.instance-id', state: '$.detail.state' };
  const context = { ruleArn: 'arn:aws:events:us-east-2:123456789012:rule/example', ruleName: 'example', ingestionTime: '2015-11-11T21:29:55Z' };
  const render = (inputTemplate: string) => transformInput({ inputTransformer: { inputPathsMap, inputTemplate } }, ec2, context);

  test('"Simple string": a string template takes the values as text', () => {
    expect(render('"instance <instance> is in <state>"')).toBe('"instance i-0123456789 is in RUNNING"');
  });

  test('"String with escaped quotes": escaped quotes stay escaped, placeholders inside are replaced', () => {
    expect(render('"instance \\"<instance>\\" is in <state>"')).toBe('"instance \\"i-0123456789\\" is in RUNNING"');
  });

  test('"Simple JSON": a string placeholder outside quotes becomes a JSON string (valid JSON)', () => {
    const out = render('{\n  "instance" : <instance>,\n  "state": <state>\n}');
    expect(JSON.parse(out)).toEqual({ instance: 'i-0123456789', state: 'RUNNING' });
  });

  test('"JSON with strings and variables"', () => {
    const out = render('{\n "instance" : <instance>,\n "state": "<state>",\n "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}');
    expect(JSON.parse(out)).toEqual({ instance: 'i-0123456789', state: 'RUNNING', instanceStatus: 'instance "i-0123456789" is in RUNNING' });
  });

  test('"JSON with a mix of variables and static information"', () => {
    const out = render('{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}');
    expect(JSON.parse(out)).toEqual({ instance: 'i-0123456789', state: [9, 'RUNNING', true], Transformed: 'Yes' });
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html#eb-transform-input-predefined:
  // aws.events.rule-arn, aws.events.rule-name, aws.events.event.ingestion-time, aws.events.event ("The original event
  // payload as JSON (without the detail field)") and aws.events.event.json ("The full original event payload as JSON
  // (with the detail field)"); both "can only be used as a value for a JSON field".
  test('"Including reserved variables in JSON": rule ARN and name filled, aws.events.event without detail, .json whole', () => {
    const out = JSON.parse(
      render('{\n  "instance" : <instance>,\n  "ruleArn" : <aws.events.rule-arn>,\n  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event>,\n  "json": <aws.events.event.json>,\n  "ingested": <aws.events.event.ingestion-time>\n}'),
    );
    expect(out.ruleArn).toBe('arn:aws:events:us-east-2:123456789012:rule/example');
    expect(out.ruleName).toBe('example');
    const { detail: _detail, ...withoutDetail } = ec2;
    expect(out.originalEvent).toEqual(withoutDetail);
    expect(out.json).toEqual(ec2);
    expect(out.ingested).toBe('2015-11-11T21:29:55Z');
  });

  test('"Including reserved variables in a string"', () => {
    expect(render('"<aws.events.rule-name> triggered"')).toBe('"example triggered"');
  });

  test('the predefined names are reserved: an InputPathsMap key of the same name does not replace them', () => {
    const out = transformInput({ inputTransformer: { inputPathsMap: { 'aws.events.rule-name': '$.source' }, inputTemplate: '{"r": <aws.events.rule-name>}' } }, ec2, context);
    expect(JSON.parse(out)).toEqual({ r: 'example' });
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html#eb-transform-input-issues:
  // "EventBridge doesn't escape values extracted by Input Path, when populating the Input Template".
  test('inside a JSON string a value is inserted as it is, not escaped', () => {
    const event = { ...ec2, detail: { note: 'say "hi"' } };
    const out = transformInput({ inputTransformer: { inputPathsMap: { note: '$.detail.note' }, inputTemplate: '{"text": "<note>"}' } }, event, context);
    expect(out).toBe('{"text": "say "hi""}');
  });

  test('numbers, objects and booleans outside quotes keep their JSON type', () => {
    const event = { ...ec2, detail: { count: 3, ok: true, items: [{ sku: 'a' }] } };
    const out = transformInput({ inputTransformer: { inputPathsMap: { count: '$.detail.count', ok: '$.detail.ok', items: '$.detail.items' }, inputTemplate: '{"c": <count>, "ok": <ok>, "items": <items>}' } }, event, context);
    expect(JSON.parse(out)).toEqual({ c: 3, ok: true, items: [{ sku: 'a' }] });
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html#eb-transform-input-issues:
  // "If you specify a variable to match a JSON path that doesn't exist in the event, that variable isn't created and
  // won't appear in the output." Local choice: empty inside a string or text, null as a JSON value (valid JSON).
  test('a path that matches nothing: empty inside a string, null as a JSON value', () => {
    const out = transformInput({ inputTransformer: { inputPathsMap: { missing: '$.detail.nope' }, inputTemplate: '{"a": <missing>, "b": "x<missing>y"}' } }, ec2, context);
    expect(JSON.parse(out)).toEqual({ a: null, b: 'xy' });
  });

  // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html example: "InputTemplate":
  // "<instance> is in state <status>".
  test('a text template (not JSON) takes the values as text', () => {
    const out = transformInput({ inputTransformer: { inputPathsMap: { instance: '$.detail.instance-id', status: '$.detail.state' }, inputTemplate: '<instance> is in state <status>' } }, ec2, context);
    expect(out).toBe('i-0123456789 is in state RUNNING');
  });

  test('through the bus: the rule ARN and name are filled in and ingestion-time is when the bus received the event, not the entry Time', async () => {
    const h = harness({ target: { inputTransformer: { inputPathsMap: { order: '$.detail.orderId' }, inputTemplate: '{"order": <order>, "rule": <aws.events.rule-arn>, "name": <aws.events.rule-name>, "at": <aws.events.event.ingestion-time>, "time": <aws.events.event>}' } } });
    const received = new Date(h.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    h.put({ orderId: 'o-9' }, { Time: '2020-01-01T00:00:00Z' });
    await h.bus.drain();
    const payload = JSON.parse(h.delivered[0].payload);
    expect(payload).toMatchObject({ order: 'o-9', rule: RULE_ARN, name: 'orders', at: received });
    expect(payload.time).toMatchObject({ time: '2020-01-01T00:00:00Z', source: 'shop.orders' });
    expect(payload.time.detail).toBeUndefined();
  });
});

describe('durability: pending deliveries survive a restart (journal)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-bus-journal-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a delivery still being retried is resumed by a new engine on the same directory, its attempts and age carried over', async () => {
    const first = harness({ journalDirectory: dir, random: () => 0.999999, target: { retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeInSeconds: 3600 } } });
    first.behaviour = throttled;
    const t0 = first.clock.now();
    first.put({ orderId: 'o-durable' });
    await first.clock.advance(3500); // attempts at 0, 1 s, 3 s; the next is due at 7 s
    expect(first.attempts).toHaveLength(3);
    // No stop(): the process is gone. A new engine reads the journal.
    const second = harness({ journalDirectory: dir, start: t0 + 5000, target: { retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeInSeconds: 3600 } } });
    expect(second.bus.pendingResumable).toBe(1);
    second.behaviour = throttled;
    second.bus.start();
    await second.clock.advance(1000);
    expect(second.attempts).toHaveLength(0); // waits for the retry due at 7 s
    await second.clock.advance(1001);
    expect(second.attempts).toHaveLength(1);
    await second.clock.runAll();
    // 3 attempts before the restart + 3 after = 1 + MaximumRetryAttempts.
    expect(second.attempts).toHaveLength(3);
    expect(second.deadLetters[0].attributes).toMatchObject({ RETRY_ATTEMPTS: '5', EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts' });
    expect(JSON.parse(second.deadLetters[0].body).detail).toEqual({ orderId: 'o-durable' });
    // Done: a third engine finds nothing to resume.
    expect(harness({ journalDirectory: dir }).bus.pendingResumable).toBe(0);
  });

  test('the age keeps counting across the restart: an event older than its limit is dead-lettered on resume', async () => {
    const first = harness({ journalDirectory: dir, target: { retryPolicy: { maximumEventAgeInSeconds: 60 } } });
    first.behaviour = throttled;
    const t0 = first.clock.now();
    first.put();
    await first.clock.advance(100);
    const second = harness({ journalDirectory: dir, start: t0 + 120_000, target: { retryPolicy: { maximumEventAgeInSeconds: 60 } } });
    second.bus.start();
    await second.clock.runAll();
    expect(second.attempts).toHaveLength(0);
    expect(second.deadLetters[0].attributes).toMatchObject({ ERROR_CODE: 'THROTTLING', EXHAUSTED_RETRY_CONDITION: 'MaximumEventAgeInSeconds' });
  });

  test('delivered and dead-lettered deliveries are not resumed; the journal is compacted on open', async () => {
    const first = harness({ journalDirectory: dir, target: { retryPolicy: { maximumRetryAttempts: 0 } } });
    first.behaviour = (n) => {
      if (n === 2) throw new TargetError('THROTTLING', 'Rate exceeded');
    };
    first.put({ n: 1 });
    first.put({ n: 2 });
    await first.clock.runAll();
    expect(first.delivered).toHaveLength(1);
    expect(first.deadLetters).toHaveLength(1);
    const second = harness({ journalDirectory: dir });
    expect(second.bus.pendingResumable).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'event-deliveries.jsonl'), 'utf8')).toBe('');
  });

  test('stop(): a delivery waiting for its retry stops waiting and stays journaled for the next start', async () => {
    const first = harness({ journalDirectory: dir });
    first.behaviour = throttled;
    first.put();
    await first.clock.advance(10);
    await first.bus.stop();
    expect(first.clock.pending).toBe(0);
    expect(harness({ journalDirectory: dir }).bus.pendingResumable).toBe(1);
  });

  test('without a journal directory nothing is written', async () => {
    const h = harness();
    h.put();
    await h.bus.drain();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('kill -9 while deliveries are being retried: every event PutEvents acknowledged is delivered after the restart', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'event-bus-crash-child.ts'), dir], { cwd: path.join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (d) => {
        buffer += d;
        for (const line of buffer.split('\n').slice(0, -1)) if (line.startsWith('acked ')) acked.push(line.slice(6));
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
        if (acked.length >= 5) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) after ${acked.length} acks: ${stderr}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));
    expect(child.signalCode).toBe('SIGKILL');

    const after = harness({ journalDirectory: dir, start: Date.now() });
    expect(after.bus.pendingResumable).toBe(5);
    after.bus.start();
    await after.clock.runAll();
    const ids = after.delivered.map((d) => JSON.parse(d.payload).id as string);
    expect(ids.sort()).toEqual([...acked].sort());
    expect(after.deadLetters).toHaveLength(0);
  }, 20_000);
});
