/**
 * AWS::Events::EventBus, AWS::Events::Rule (event patterns) and AWS::Events::Archive -> the bus engine, with each
 * rule's targets and each archive on its source bus.
 */
import { RuleSpec, TargetSpec } from '../engines/event-bus';
import { Provisioning } from './context';

export function provisionEventBus(p: Provisioning): void {
  const bus = p.engines.bus;
  for (const [id] of p.resources('AWS::Events::EventBus')) bus.addBus(p.name(id));
  for (const [id, r] of p.resources('AWS::Events::Rule')) {
    const props = p.resolve<Record<string, unknown>>(p.properties(r));
    if (props.ScheduleExpression) p.warnings.push(`rule ${id}: scheduled rules are run by the schedules engine only when they target a state machine`);
    if (!props.EventPattern) continue;
    const rule: RuleSpec = {
      name: p.name(id),
      arn: p.arn(id),
      eventBusName: bus.busNameOf(props.EventBusName as string | undefined),
      eventPattern: props.EventPattern as Record<string, unknown>,
      state: props.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
      description: props.Description as string | undefined,
      targets: ((props.Targets as Record<string, unknown>[] | undefined) ?? []).map(targetSpec),
    };
    bus.addRule(rule);
  }
  for (const [id, r] of p.resources('AWS::Events::Archive')) {
    const props = p.resolve<Record<string, unknown>>(p.properties(r));
    const busName = bus.busNameOf(String(props.SourceArn));
    if (!bus.hasBus(busName)) throw new Error(`archive ${id}: its source ${String(props.SourceArn)} is not a bus of the stack`);
    bus.addArchive({
      name: typeof props.ArchiveName === 'string' ? props.ArchiveName : p.name(id),
      arn: p.arn(id),
      bus: busName,
      busArn: bus.busArn(busName),
      eventPattern: props.EventPattern as Record<string, unknown> | undefined,
      // RetentionDays absent or 0: kept indefinitely, as on AWS.
      retentionDays: Number(props.RetentionDays ?? 0),
      description: props.Description as string | undefined,
    });
  }
  // stop, not drain: a retry can wait hours of simulated time; journaled deliveries resume at the next start.
  p.onStop(() => bus.stop());
}

function targetSpec(t: Record<string, unknown>): TargetSpec {
  const transformer = t.InputTransformer as { InputPathsMap?: Record<string, string>; InputTemplate: string } | undefined;
  const retry = t.RetryPolicy as { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number } | undefined;
  return {
    id: String(t.Id),
    arn: String(t.Arn),
    input: t.Input as string | undefined,
    inputPath: t.InputPath as string | undefined,
    inputTransformer: transformer ? { inputPathsMap: transformer.InputPathsMap, inputTemplate: String(transformer.InputTemplate) } : undefined,
    deadLetterArn: (t.DeadLetterConfig as { Arn?: string } | undefined)?.Arn,
    retryPolicy: retry ? { maximumEventAgeInSeconds: retry.MaximumEventAgeInSeconds, maximumRetryAttempts: retry.MaximumRetryAttempts } : undefined,
  };
}
