/** AWS::Scheduler::Schedule (rate() and at()) -> the schedules engine, firing the schedule's target. */
import { SchedulesEngine } from '../engines/schedules';
import { Provisioning } from './context';

export function provisionSchedules(p: Provisioning): void {
  const schedules = new SchedulesEngine(p.clock, (name, error) => p.live.schedule(name, error));
  for (const [id, r] of p.resources('AWS::Scheduler::Schedule')) {
    const props = p.resolve<Record<string, unknown>>(p.properties(r));
    const target = props.Target as { Arn: string; Input?: string };
    schedules.add({
      name: p.name(id),
      expression: String(props.ScheduleExpression),
      enabled: props.State !== 'DISABLED',
      fire: () => p.deliver(target.Arn, target.Input ?? '{}'),
    });
  }
  schedules.unsupported.forEach((s) => p.warnings.push(`schedule not emulated (only rate() and at()): ${s}`));
  p.onStop(() => schedules.stop());
}
