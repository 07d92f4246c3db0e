/** AWS::StepFunctions::StateMachine -> the state machine engine, Lambda tasks bound to the local functions. */
import { StateMachineEngine } from '../engines/state-machines';
import { Provisioning } from './context';

export function provisionStateMachines(p: Provisioning): void {
  const machines = p.engines.stateMachines;
  for (const [id, r] of p.resources('AWS::StepFunctions::StateMachine')) {
    const props = p.properties(r);
    const definition = props.DefinitionString !== undefined ? JSON.parse(p.resolve<string>(props.DefinitionString)) : p.resolve(props.Definition);
    const arn = p.arn(id);
    const name = p.name(id);
    machines.set(arn, new StateMachineEngine(arn, name, definition, (ref) => p.invoker(ref), p.clock, (e) => p.live.execution(name, e), { faults: p.faults }));
  }
  p.onStop(() => Promise.all([...machines.values()].map((m) => m.drain())).then(() => undefined));
}
