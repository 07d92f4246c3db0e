/** AWS::StepFunctions::StateMachine -> the state machine engine, Lambda tasks bound to the local functions. */
import { StateMachineDescription, StateMachineEngine } from '../engines/state-machines';
import { Provisioning } from './context';

export function provisionStateMachines(p: Provisioning): void {
  const machines = p.engines.stateMachines;
  for (const [id, r] of p.resources('AWS::StepFunctions::StateMachine')) {
    const props = p.properties(r);
    const text = props.DefinitionString !== undefined ? p.resolve<string>(props.DefinitionString) : JSON.stringify(p.resolve(props.Definition));
    const arn = p.arn(id);
    const name = p.name(id);
    // DescribeStateMachine answers what the template says (camelCase, as the API spells it), intrinsics resolved.
    const description: StateMachineDescription = {
      definition: text,
      roleArn: p.resolve<string>(props.RoleArn) ?? '',
      type: props.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
      loggingConfiguration: props.LoggingConfiguration ? camelCase(p.resolve(props.LoggingConfiguration)) : undefined,
      tracingConfiguration: props.TracingConfiguration ? camelCase(p.resolve(props.TracingConfiguration)) : undefined,
    };
    machines.set(arn, new StateMachineEngine(arn, name, JSON.parse(text), (ref) => p.invoker(ref), p.clock, (e) => p.live.execution(name, e), { faults: p.faults, description }));
  }
  p.onStop(() => Promise.all([...machines.values()].map((m) => m.drain())).then(() => undefined));
}

/** CloudFormation's PascalCase keys as the Step Functions API's camelCase (`LogGroupArn` -> `logGroupArn`). */
function camelCase(value: unknown): Record<string, unknown> {
  const convert = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(convert) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k[0].toLowerCase() + k.slice(1), convert(x)])) : v;
  return convert(value) as Record<string, unknown>;
}
