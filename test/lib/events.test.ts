/** The custom bus, its archive, and one rule per consumer generated from the event catalogue. */
import { Duration } from 'aws-cdk-lib';
import { Capture, Match } from 'aws-cdk-lib/assertions';
import { CONSUMERS, ConsumerName, DEFAULT_CONFIG, RULE_TARGET_RETRY } from '../../lib/config';
import { patternFor } from '../../lib/order-events';
import { EVENT_CATALOGUE, EVENT_TYPES, EventType } from '../../functions/domain/events';
import { EVENT_FOR_STATUS } from '../../functions/domain/status-events';
import { patternMatches, resources, targetOf } from './cfn';
import { logicalIdOf, synth } from './synth';

const { stack, template } = synth();
const buses = resources(template, 'AWS::Events::EventBus');
const rules = resources(template, 'AWS::Events::Rule');
const queues = resources(template, 'AWS::SQS::Queue');
const consumerNames = Object.keys(CONSUMERS) as ConsumerName[];

/** The only event bus in the template. */
function busId(): string {
  const ids = Object.keys(buses);
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** The rules whose targets include this queue. */
function rulesTargeting(queueId: string) {
  return Object.entries(rules).filter(([, rule]) => (rule.Properties.Targets ?? []).some((t: any) => targetOf(t.Arn) === queueId));
}

/** The CloudFormation form of patternFor(): `detailType` is `detail-type` in an event pattern. */
function cfnPattern(types: readonly EventType[]) {
  const { source, detailType } = patternFor(types);
  return { source, 'detail-type': detailType };
}

const redriveDlqs = new Set(Object.values(queues).filter((q) => q.Properties.RedrivePolicy).map((q) => targetOf(q.Properties.RedrivePolicy.deadLetterTargetArn)));

test('there is one custom event bus (not the default bus)', () => {
  template.resourceCountIs('AWS::Events::EventBus', 1);
  const name = buses[busId()].Properties.Name;
  expect(typeof name).toBe('string');
  expect(name).not.toBe('default');
});

test('the bus has an archive of every catalogued source, kept for archiveRetentionDays', () => {
  template.resourceCountIs('AWS::Events::Archive', 1);
  const sources = [...new Set(Object.values(EVENT_CATALOGUE).map((e) => e.source))].sort();
  template.hasResourceProperties('AWS::Events::Archive', {
    SourceArn: { 'Fn::GetAtt': [busId(), 'Arn'] },
    EventPattern: Match.objectEquals({ source: sources }),
    RetentionDays: DEFAULT_CONFIG.archiveRetentionDays,
  });
});

test('every rule is on the custom bus, and there is one rule per consumer', () => {
  const bus = busId();
  for (const rule of Object.values(rules)) expect(rule.Properties.EventBusName).toEqual({ Ref: bus });
  expect(Object.keys(rules)).toHaveLength(consumerNames.length);
});

describe.each(consumerNames)('consumer %s', (name) => {
  const { consumes } = CONSUMERS[name];
  const queue = logicalIdOf(stack, stack.consumers[name].queue);

  test('exactly one rule targets its queue, with the event pattern patternFor(consumes)', () => {
    const found = rulesTargeting(queue);
    expect(found).toHaveLength(1);
    const [ruleId, rule] = found[0];
    expect(rule.Properties.EventPattern).toEqual(cfnPattern(consumes));
    expect(rule.Properties.State ?? 'ENABLED').toBe('ENABLED');
    expect(ruleId).toBe(logicalIdOf(stack, stack.consumers[name].rule));
  });

  test('its rule matches every event it consumes and no other catalogued event', () => {
    const [, rule] = rulesTargeting(queue)[0];
    for (const type of EVENT_TYPES) {
      const event = { source: EVENT_CATALOGUE[type].source, 'detail-type': type };
      expect([type, patternMatches(rule.Properties.EventPattern, event)]).toEqual([type, (consumes as readonly EventType[]).includes(type)]);
    }
  });

  test('its rule target has a dedicated DLQ (not the redrive DLQ) and the RULE_TARGET_RETRY retry policy', () => {
    const [ruleId, rule] = rulesTargeting(queue)[0];
    const deadLetterArn = new Capture();
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
          Id: Match.anyValue(),
          DeadLetterConfig: { Arn: deadLetterArn },
          RetryPolicy: {
            MaximumEventAgeInSeconds: Duration.hours(RULE_TARGET_RETRY.maxEventAgeHours).toSeconds(),
            MaximumRetryAttempts: RULE_TARGET_RETRY.retryAttempts,
          },
        },
      ],
    });
    const dlq = targetOf(deadLetterArn.asObject());
    expect(queues).toHaveProperty([dlq]);
    expect(dlq).not.toBe(queue);
    expect(dlq).not.toBe(logicalIdOf(stack, stack.consumers[name].deadLetterQueue));
    expect(redriveDlqs.has(dlq)).toBe(false);
    expect(rule.Properties.Targets).toHaveLength(1);
    // EventBridge may write to the target DLQ, from this rule only.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  test('EventBridge may send to its queue, from its rule only', () => {
    const [ruleId] = rulesTargeting(queue)[0];
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: Match.arrayWith(['sqs:SendMessage']),
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          }),
        ]),
      },
    });
  });
});

test('each rule target has its own DLQ', () => {
  const dlqs = Object.values(rules).flatMap((rule) => (rule.Properties.Targets ?? []).map((t: any) => targetOf(t.DeadLetterConfig?.Arn)));
  expect(dlqs).toHaveLength(Object.values(rules).reduce((n, r) => n + (r.Properties.Targets ?? []).length, 0));
  expect(new Set(dlqs).size).toBe(dlqs.length);
});

test('every catalogued event type some consumer consumes is routed by a rule, with its catalogued source', () => {
  const consumed = new Set(consumerNames.flatMap((n) => [...CONSUMERS[n].consumes]));
  expect(consumed.size).toBeGreaterThan(0);
  const unrouted = [...consumed].filter(
    (type) => !Object.values(rules).some((rule) => patternMatches(rule.Properties.EventPattern, { source: EVENT_CATALOGUE[type].source, 'detail-type': type })),
  );
  expect(unrouted).toEqual([]);
});

test('every event a status owes (what the event relay publishes) is routed to some consumer', () => {
  const owed = [...new Set<EventType>(Object.values(EVENT_FOR_STATUS))];
  expect(owed.length).toBeGreaterThan(0);
  const unrouted = owed.filter(
    (type) => !Object.values(rules).some((rule) => patternMatches(rule.Properties.EventPattern, { source: EVENT_CATALOGUE[type].source, 'detail-type': type })),
  );
  expect(unrouted).toEqual([]);
});
