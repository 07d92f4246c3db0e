/**
 * Alarms (derived from the template: every DLQ, consumer queue, function, stream event source, the API and the
 * sweep), dashboard, outputs.
 */
import { OUTPUTS } from '../../lib/order-pipeline-stack';
import { QUEUE_OUTPUTS } from '../../lib/stack-outputs';
import { CONSUMERS, ConsumerName, DEFAULT_CONFIG } from '../../lib/config';
import { alarmsOn as alarmsOnMetric, deadLetterQueueIds, firesAt, render, resources, targetOf } from './cfn';
import { logicalIdOf, synth } from './synth';

const { stack, template } = synth();
const alarms = resources(template, 'AWS::CloudWatch::Alarm');
const queues = resources(template, 'AWS::SQS::Queue');
const functions = resources(template, 'AWS::Lambda::Function');
const outputs: Record<string, { Value: unknown }> = template.toJSON().Outputs ?? {};

/** The alarms on this metric whose dimension `name` refers to resource `id`. */
const alarmsOn = (namespace: string, metricName: string, dimension: string, id: string) => alarmsOnMetric(template, namespace, metricName, dimension, id);

const dlqs = deadLetterQueueIds(template);
const consumerQueues = (Object.keys(CONSUMERS) as ConsumerName[]).map((name) => logicalIdOf(stack, stack.consumers[name].queue));

describe('dead-letter queues (derived from the template)', () => {
  test('include every redrive, rule-target, schedule-target and event-source-mapping on-failure DLQ', () => {
    const redrive = Object.values(queues).filter((q) => q.Properties.RedrivePolicy).map((q) => targetOf(q.Properties.RedrivePolicy.deadLetterTargetArn));
    const ruleTargets = Object.values(resources(template, 'AWS::Events::Rule')).flatMap((r) => r.Properties.Targets.map((t: any) => targetOf(t.DeadLetterConfig.Arn)));
    const scheduleTargets = Object.values(resources(template, 'AWS::Scheduler::Schedule')).map((s) => targetOf(s.Properties.Target.DeadLetterConfig.Arn));
    const onFailure = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'))
      .filter((m) => m.Properties.DestinationConfig?.OnFailure)
      .map((m) => targetOf(m.Properties.DestinationConfig.OnFailure.Destination));
    // The event relay's DLQ, where its mapping sends what it could not relay.
    expect(onFailure).toContain(logicalIdOf(stack, stack.relay.deadLetterQueue));
    for (const group of [redrive, ruleTargets, scheduleTargets, onFailure]) {
      expect(group.length).toBeGreaterThan(0);
      for (const id of group) expect(dlqs.has(id)).toBe(true);
    }
  });

  test('each has exactly one ApproximateNumberOfMessagesVisible alarm that fires on the first message', () => {
    expect(dlqs.size).toBeGreaterThan(0);
    for (const dlq of dlqs) {
      const found = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', dlq);
      expect([dlq, found.length]).toEqual([dlq, 1]);
      expect([dlq, firesAt(found[0][1], 1)]).toEqual([dlq, true]);
      expect([dlq, firesAt(found[0][1], 0)]).toEqual([dlq, false]);
    }
  });
});

test('each consumer queue has an ApproximateAgeOfOldestMessage alarm at queueAgeAlarmSeconds', () => {
  for (const queue of consumerQueues) {
    const found = alarmsOn('AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', queue);
    expect([queue, found.length]).toEqual([queue, 1]);
    expect(found[0][1].Properties.Threshold).toBe(DEFAULT_CONFIG.queueAgeAlarmSeconds);
  }
});

test('each Lambda function has an Errors and a Throttles alarm', () => {
  expect(Object.keys(functions).length).toBeGreaterThan(0);
  for (const fn of Object.keys(functions)) {
    for (const metric of ['Errors', 'Throttles']) {
      const found = alarmsOn('AWS/Lambda', metric, 'FunctionName', fn);
      expect([fn, metric, found.length]).toEqual([fn, metric, 1]);
      expect(firesAt(found[0][1], 1)).toBe(true);
    }
  }
});

test('each function reading a DynamoDB stream has an IteratorAge alarm', () => {
  const streamReaders = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'))
    .filter((m) => m.Properties.EventSourceArn?.['Fn::GetAtt']?.[1] === 'StreamArn')
    .map((m) => targetOf(m.Properties.FunctionName));
  expect(streamReaders).toEqual([logicalIdOf(stack, stack.relay.function)]);
  for (const fn of streamReaders) {
    const found = alarmsOn('AWS/Lambda', 'IteratorAge', 'FunctionName', fn);
    expect([fn, found.length]).toEqual([fn, 1]);
    expect(found[0][1].Properties.Statistic).toBe('Maximum');
  }
});

test('the HTTP API has a 5xx alarm', () => {
  const api = logicalIdOf(stack, stack.api.api);
  const found = alarmsOn('AWS/ApiGateway', '5xx', 'ApiId', api);
  expect(found).toHaveLength(1);
  expect(firesAt(found[0][1], 1)).toBe(true);
});

test('the sweep state machine has an ExecutionsFailed alarm', () => {
  const [machine] = Object.keys(resources(template, 'AWS::StepFunctions::StateMachine'));
  const found = alarmsOn('AWS/States', 'ExecutionsFailed', 'StateMachineArn', machine);
  expect(found).toHaveLength(1);
  expect(firesAt(found[0][1], 1)).toBe(true);
});

test('every alarm notifies the alarm topic (the AlarmTopicArn output), and only it', () => {
  const topic = targetOf(outputs.AlarmTopicArn.Value);
  expect(resources(template, 'AWS::SNS::Topic')).toHaveProperty([topic]);
  expect(Object.keys(alarms).length).toBeGreaterThan(0);
  for (const [id, alarm] of Object.entries(alarms)) {
    expect([id, alarm.Properties.AlarmActions]).toEqual([id, [{ Ref: topic }]]);
    expect([id, alarm.Properties.ActionsEnabled ?? true]).toEqual([id, true]);
  }
  template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: topic }] });
});

test('a dashboard exists', () => {
  template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
});

describe('outputs', () => {
  test('name every queue and DLQ by its role, as the ops CLI finds them', () => {
    const id = (c: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, c);
    const urlOf = (key: string) => outputs[key].Value;
    for (const name of Object.keys(stack.consumers) as (keyof typeof stack.consumers)[]) {
      const c = stack.consumers[name];
      const byKind = Object.fromEntries(QUEUE_OUTPUTS.filter((q) => q.consumer === name).map((q) => [q.kind, urlOf(q.output)]));
      expect(byKind).toEqual({ queue: { Ref: id(c.queue) }, dlq: { Ref: id(c.deadLetterQueue) }, 'rule-target-dlq': { Ref: id(c.ruleTargetDeadLetterQueue) } });
    }
    const single = (kind: string) => urlOf(QUEUE_OUTPUTS.find((q) => q.kind === kind)!.output);
    expect(single('relay-dlq')).toEqual({ Ref: id(stack.relay.deadLetterQueue) });
    expect(single('schedule-dlq')).toEqual({ Ref: id(stack.sweep.scheduleDeadLetterQueue) });
    // Every queue of the stack is one of them.
    expect(Object.keys(resources(template, 'AWS::SQS::Queue')).sort()).toEqual(QUEUE_OUTPUTS.map((q) => (urlOf(q.output) as { Ref: string }).Ref).sort());
  });

  test('are exactly OUTPUTS', () => {
    expect(Object.keys(outputs).sort()).toEqual([...OUTPUTS].sort());
  });

  test('name the resources they describe', () => {
    const id = (c: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, c);
    expect(outputs.OrdersTableName.Value).toEqual({ Ref: id(stack.tables.orders) });
    expect(outputs.InventoryTableName.Value).toEqual({ Ref: id(stack.tables.inventory) });
    expect(outputs.EventBusName.Value).toEqual({ Ref: id(stack.events.bus) });
    expect(outputs.SweepStateMachineArn.Value).toEqual({ Ref: id(stack.sweep.stateMachine) });
    expect(outputs.AlarmTopicArn.Value).toEqual({ Ref: id(stack.observability.alarmTopic) });
    expect(outputs.NotificationsTableName.Value).toEqual({ Ref: id(stack.tables.notifications) });
    expect(outputs.EventArchiveName.Value).toEqual({ Ref: id(stack.events.archive) });
    expect(render(outputs.ApiUrl.Value)).toMatch(new RegExp(`^https://<Ref:${id(stack.api.api)}>\\.execute-api\\.`));
  });
});
