/**
 * Consumer queues, their DLQs and the SQS event source mappings, against CONSUMERS. That every queue is encrypted and
 * refuses plain HTTP is in test/lib/security.test.ts.
 */
import { Duration } from 'aws-cdk-lib';
import { CONSUMERS, ConsumerName, QUEUE_RETENTION_DAYS, visibilityTimeoutFor } from '../../lib/config';
import { deadLetterQueueIds, render, resources, targetOf } from './cfn';
import { logicalIdOf, synth } from './synth';

const { stack, template } = synth();
const queues = resources(template, 'AWS::SQS::Queue');
const functions = resources(template, 'AWS::Lambda::Function');
const mappings = resources(template, 'AWS::Lambda::EventSourceMapping');
const consumerNames = Object.keys(CONSUMERS) as ConsumerName[];
/** The mappings that read an SQS queue of this template (the others read the orders table's stream: the relay's). */
const sqsMappings = Object.fromEntries(Object.entries(mappings).filter(([, m]) => targetOf(m.Properties.EventSourceArn) in queues));

/** The consumer's resources, found through its constructs. */
function idsOf(name: ConsumerName) {
  const consumer = stack.consumers[name];
  return {
    queue: logicalIdOf(stack, consumer.queue),
    dlq: logicalIdOf(stack, consumer.deadLetterQueue),
    fn: logicalIdOf(stack, consumer.function),
  };
}

/** The event source mapping that reads this queue (exactly one). */
function mappingOf(queueId: string) {
  const found = Object.entries(sqsMappings).filter(([, m]) => targetOf(m.Properties.EventSourceArn) === queueId);
  expect(found).toHaveLength(1);
  return found[0][1];
}

test('every consumer in CONSUMERS has a queue, a DLQ and a function in the template', () => {
  for (const name of consumerNames) {
    const { queue, dlq, fn } = idsOf(name);
    expect(queues).toHaveProperty([queue]);
    expect(queues).toHaveProperty([dlq]);
    expect(functions).toHaveProperty([fn]);
  }
});

describe.each(consumerNames)('consumer %s', (name) => {
  const settings = CONSUMERS[name];
  const { queue, dlq, fn } = idsOf(name);

  test('its queue redrives to its own DLQ after CONSUMERS maxReceiveCount receives', () => {
    expect(queues[queue].Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      maxReceiveCount: settings.maxReceiveCount,
    });
    expect(queues[dlq].Properties.RedrivePolicy).toBeUndefined();
  });

  test("its DLQ's redrive allow policy is byQueue and names exactly its source queue's ARN", () => {
    const sourceName = queues[queue].Properties.QueueName;
    expect(typeof sourceName).toBe('string');
    const allow = queues[dlq].Properties.RedriveAllowPolicy;
    expect(allow).toEqual({ redrivePermission: 'byQueue', sourceQueueArns: [expect.anything()] });
    expect(render(allow.sourceQueueArns[0])).toBe(`arn:<Ref:AWS::Partition>:sqs:<Ref:AWS::Region>:<Ref:AWS::AccountId>:${sourceName}`);
  });

  test('its DLQ keeps messages longer than its queue (QUEUE_RETENTION_DAYS)', () => {
    const sourceRetention = queues[queue].Properties.MessageRetentionPeriod;
    const dlqRetention = queues[dlq].Properties.MessageRetentionPeriod;
    expect(sourceRetention).toBe(Duration.days(QUEUE_RETENTION_DAYS.source).toSeconds());
    expect(dlqRetention).toBe(Duration.days(QUEUE_RETENTION_DAYS.deadLetter).toSeconds());
    expect(dlqRetention).toBeGreaterThan(sourceRetention);
  });

  test('its visibility timeout is visibilityTimeoutFor(CONSUMERS entry)', () => {
    expect(queues[queue].Properties.VisibilityTimeout).toBe(visibilityTimeoutFor(settings));
  });

  test('its function reads the queue with partial batch responses, batch size, window and concurrency from CONSUMERS', () => {
    const mapping = mappingOf(queue);
    expect(mapping.Properties).toEqual(
      expect.objectContaining({
        FunctionName: { Ref: fn },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: settings.batchSize,
        MaximumBatchingWindowInSeconds: settings.maxBatchingWindow,
        ScalingConfig: { MaximumConcurrency: settings.maxConcurrency },
      }),
    );
    expect(mapping.Properties.Enabled).not.toBe(false);
  });

  test('its function has the timeout and memory from CONSUMERS', () => {
    expect(functions[fn].Properties).toEqual(expect.objectContaining({ Timeout: settings.timeout, MemorySize: settings.memorySize }));
  });
});

test('there is one SQS event source mapping per consumer, and each reports batch item failures', () => {
  expect(Object.keys(sqsMappings)).toHaveLength(consumerNames.length);
  expect(Object.values(sqsMappings).map((m) => targetOf(m.Properties.EventSourceArn)).sort()).toEqual(consumerNames.map((n) => idsOf(n).queue).sort());
  template.allResourcesProperties('AWS::Lambda::EventSourceMapping', { FunctionResponseTypes: ['ReportBatchItemFailures'] });
});

test('the only other event source mapping is the event relay on the orders table stream', () => {
  const others = Object.values(mappings).filter((m) => !Object.values(sqsMappings).includes(m));
  expect(others.map((m) => [m.Properties.EventSourceArn, m.Properties.FunctionName])).toEqual([
    [{ 'Fn::GetAtt': [logicalIdOf(stack, stack.tables.orders), 'StreamArn'] }, { Ref: logicalIdOf(stack, stack.relay.function) }],
  ]);
});

test('every event-source queue: VisibilityTimeout >= 6 x function Timeout + MaximumBatchingWindowInSeconds (from the template)', () => {
  expect(Object.keys(sqsMappings).length).toBeGreaterThan(0);
  for (const mapping of Object.values(sqsMappings)) {
    const queue = queues[targetOf(mapping.Properties.EventSourceArn)];
    const fn = functions[targetOf(mapping.Properties.FunctionName)];
    expect(queue).toBeDefined();
    expect(fn).toBeDefined();
    const timeout: number = fn.Properties.Timeout ?? 3; // Lambda's default when unset
    const window: number = mapping.Properties.MaximumBatchingWindowInSeconds ?? 0;
    const visibility: number = queue.Properties.VisibilityTimeout ?? 30; // SQS's default when unset
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout + window);
  }
});

test("every queue is a consumer's queue, DLQ or rule-target DLQ, the relay's DLQ or the sweep schedule's DLQ, and nothing else", () => {
  const scheduleDlqs = Object.values(resources(template, 'AWS::Scheduler::Schedule')).map((s) => targetOf(s.Properties.Target.DeadLetterConfig.Arn));
  expect(scheduleDlqs).toHaveLength(1);
  const known = [
    ...consumerNames.flatMap((n) => {
      const consumer = stack.consumers[n];
      return [consumer.queue, consumer.deadLetterQueue, consumer.ruleTargetDeadLetterQueue].map((q) => logicalIdOf(stack, q));
    }),
    logicalIdOf(stack, stack.relay.deadLetterQueue),
    ...scheduleDlqs,
  ];
  expect(new Set(known).size).toBe(known.length);
  expect(Object.keys(queues).sort()).toEqual(known.sort());
});

test('every queue is either a consumer queue or a dead-letter queue, and the consumer queues are not DLQs', () => {
  const consumerQueues = new Set(consumerNames.map((n) => idsOf(n).queue));
  const dlqs = deadLetterQueueIds(template);
  for (const id of consumerQueues) expect(dlqs.has(id)).toBe(false);
  expect(Object.keys(queues).filter((id) => !consumerQueues.has(id) && !dlqs.has(id))).toEqual([]);
});
