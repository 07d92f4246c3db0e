/**
 * AWS::Scheduler::Schedule (rate() and at()) -> the schedules engine, firing the schedule's target with its
 * RetryPolicy and DeadLetterConfig.
 */
import { SchedulesEngine } from '../engines/schedules';
import { Provisioning } from './context';

interface ScheduleTarget {
  Arn: string;
  Input?: string;
  RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number };
  DeadLetterConfig?: { Arn?: string };
}

export function provisionSchedules(p: Provisioning): void {
  const queues = p.engines.queues;
  const schedules = new SchedulesEngine(p.clock, (name, error) => p.live.schedule(name, error), {
    deadLetter: async (queueArn, body, attributes) => {
      const name = queues.queueNameFromArn(queueArn);
      if (!name || !queues.hasQueue(name)) throw new Error(`dead-letter queue ${queueArn} does not exist`);
      queues.sendMessage(name, { body, messageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])) });
    },
    onFailure: (f) => p.live.warn(`schedule ${f.schedule} -> ${f.target}: ${f.error.message} after ${f.attempts} attempt(s)${f.deadLettered ? ', sent to its DLQ' : ', dropped'}`),
  });
  for (const [id, r] of p.resources('AWS::Scheduler::Schedule')) {
    const props = p.resolve<Record<string, unknown>>(p.properties(r));
    const target = props.Target as ScheduleTarget;
    const input = target.Input ?? '{}';
    schedules.add({
      name: p.name(id),
      arn: p.arn(id),
      expression: String(props.ScheduleExpression),
      enabled: props.State !== 'DISABLED',
      targetArn: target.Arn,
      input,
      retryPolicy: target.RetryPolicy && { maximumEventAgeInSeconds: target.RetryPolicy.MaximumEventAgeInSeconds, maximumRetryAttempts: target.RetryPolicy.MaximumRetryAttempts },
      deadLetterArn: target.DeadLetterConfig?.Arn,
      fire: () => p.deliver(target.Arn, input),
    });
  }
  schedules.unsupported.forEach((s) => p.warnings.push(`schedule not emulated (only rate() and at()): ${s}`));
  p.onStop(() => schedules.stop());
}
