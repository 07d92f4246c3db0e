/** The compensation sweep: a JSONPath state machine (FindWork -> RepairAll -> Summarise) started by a schedule. */
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONFIG } from '../../lib/config';
import { SWEEP_ACTIONS } from '../../functions/domain/sweep';
import { ENV } from '../../functions/shared/env';
import { sweepSettings } from '../../functions/sweep/deps';
import { render, resources, targetOf } from './cfn';
import { logicalIdOf, OVERRIDES, Synthesized, synth } from './synth';

const defaults = synth();
const overridden = synth(OVERRIDES);

function stateMachineOf(s: Synthesized) {
  const machines = resources(s.template, 'AWS::StepFunctions::StateMachine');
  expect(Object.keys(machines)).toHaveLength(1);
  const [id, machine] = Object.entries(machines)[0];
  return { id, properties: machine.Properties, definition: JSON.parse(render(machine.Properties.DefinitionString)) };
}

/** Every object in a JSON document, depth first. */
function* objectsIn(value: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(value)) for (const v of value) yield* objectsIn(v);
  else if (value && typeof value === 'object') {
    yield value as Record<string, unknown>;
    for (const v of Object.values(value)) yield* objectsIn(v);
  }
}

const { id: machineId, properties, definition } = stateMachineOf(defaults);
const fnArn = (construct: Parameters<typeof logicalIdOf>[1]) => `<GetAtt:${logicalIdOf(defaults.stack, construct)}.Arn>`;
const functions = defaults.stack.sweep.functions;

describe('state machine', () => {
  test('is STANDARD, traced, and logs ALL events with execution data to a log group', () => {
    expect(properties.StateMachineType ?? 'STANDARD').toBe('STANDARD');
    expect(properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(properties.LoggingConfiguration).toEqual(expect.objectContaining({ Level: 'ALL', IncludeExecutionData: true }));
    const logGroup = targetOf(properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn);
    expect(resources(defaults.template, 'AWS::Logs::LogGroup')).toHaveProperty([logGroup]);
  });

  test('uses JSONPath: no QueryLanguage JSONata anywhere in the definition', () => {
    const languages = [...objectsIn(definition)].map((o) => o.QueryLanguage).filter((q) => q !== undefined);
    expect(languages).not.toContain('JSONata');
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  test('runs FindWork, then RepairAll, then Summarise', () => {
    expect(definition.StartAt).toBe('FindWork');
    expect(Object.keys(definition.States).sort()).toEqual(['FindWork', 'RepairAll', 'Summarise']);
    expect(definition.States.FindWork.Next).toBe('RepairAll');
    expect(definition.States.RepairAll.Next).toBe('Summarise');
    expect(definition.States.Summarise.End).toBe(true);
  });

  test('FindWork and Summarise are retried Lambda tasks on their functions', () => {
    const { FindWork, Summarise } = definition.States;
    expect(FindWork).toEqual(expect.objectContaining({ Type: 'Task', Resource: fnArn(functions.findWork), ResultPath: '$.work' }));
    expect(Summarise).toEqual(expect.objectContaining({ Type: 'Task', Resource: fnArn(functions.summarise) }));
    for (const task of [FindWork, Summarise]) {
      expect(task.Retry).toEqual(expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]));
    }
  });

  test('RepairAll is a Parallel of one Map per sweep action, over $.work.<action>', () => {
    const repairAll = definition.States.RepairAll;
    expect(repairAll.Type).toBe('Parallel');
    expect(repairAll.Branches).toHaveLength(SWEEP_ACTIONS.length);
    const itemsPaths = repairAll.Branches.map((branch: any) => {
      const states = Object.values<any>(branch.States);
      expect(states).toHaveLength(1);
      expect(states[0].Type).toBe('Map');
      expect(branch.States[branch.StartAt]).toBe(states[0]);
      return states[0].ItemsPath;
    });
    expect(itemsPaths.sort()).toEqual(SWEEP_ACTIONS.map((a) => `$.work.${a}`).sort());
  });

  test('each Map repairs items with a retried task on the repair function that catches every error', () => {
    for (const branch of definition.States.RepairAll.Branches) {
      const map: any = branch.States[branch.StartAt];
      const processor = map.ItemProcessor ?? map.Iterator;
      const tasks = Object.values<any>(processor.States).filter((s) => s.Type === 'Task');
      expect(tasks).toHaveLength(1);
      const [task] = tasks;
      expect(task.Resource).toBe(fnArn(functions.repairOrder));
      expect(task.Retry).toEqual(expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]));
      expect(task.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]);
      // The catch goes to a state of the same processor that ends the item without failing the map.
      const handler = processor.States[task.Catch[0].Next];
      expect(handler).toEqual(expect.objectContaining({ Type: 'Pass', End: true }));
      expect(map.MaxConcurrency).toBeGreaterThan(0);
    }
  });

  test('its role may invoke the three sweep functions', () => {
    const role = targetOf(properties.RoleArn);
    const policies = Object.values(resources(defaults.template, 'AWS::IAM::Policy')).filter((p) => p.Properties.Roles.some((r: unknown) => targetOf(r) === role));
    const invokable = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [].concat(s.Action).includes('lambda:InvokeFunction' as never))
      .flatMap((s: any) => [].concat(s.Resource))
      .map(render);
    for (const fn of Object.values(functions)) expect(invokable).toContain(fnArn(fn));
  });
});

describe('sweep functions', () => {
  const env = (fn: Parameters<typeof logicalIdOf>[1]) => resources(defaults.template, 'AWS::Lambda::Function')[logicalIdOf(defaults.stack, fn)].Properties.Environment.Variables as Record<string, unknown>;

  // The two tasks that build sweepDeps() and read sweepSettings() (Summarise needs neither).
  const working = [functions.findWork, functions.repairOrder];

  test('find-work and repair-order get the settings sweepSettings() reads, at their DEFAULT_CONFIG values', () => {
    for (const fn of working) {
      const variables = env(fn);
      const plain = Object.fromEntries(Object.entries(variables).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
      const saved = { ...process.env };
      try {
        // Only what the template gives the function: none of the pipeline's variables from elsewhere.
        for (const name of Object.values(ENV)) delete process.env[name];
        Object.assign(process.env, plain);
        expect(sweepSettings()).toEqual({
          stalePendingAfterSeconds: DEFAULT_CONFIG.stalePendingAfterSeconds,
          maxRepublishAttempts: DEFAULT_CONFIG.maxRepublishAttempts,
          maxOrdersPerRun: DEFAULT_CONFIG.maxOrdersPerSweep,
        });
      } finally {
        for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
        Object.assign(process.env, saved);
      }
    }
  });

  test('find-work and repair-order name the orders and inventory tables and the bus (an expiry moves stock; a republish publishes)', () => {
    const id = (c: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(defaults.stack, c);
    for (const fn of working) {
      expect(env(fn)).toEqual(
        expect.objectContaining({
          [ENV.ordersTable]: { Ref: id(defaults.stack.tables.orders) },
          [ENV.inventoryTable]: { Ref: id(defaults.stack.tables.inventory) },
          [ENV.eventBus]: { Ref: id(defaults.stack.events.bus) },
        }),
      );
    }
  });
});

describe('schedule', () => {
  function scheduleOf(s: Synthesized) {
    const schedules = Object.values(resources(s.template, 'AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(1);
    return schedules[0].Properties;
  }

  test('starts the state machine every sweepIntervalMinutes (DEFAULT_CONFIG), with a DLQ', () => {
    const schedule = scheduleOf(defaults);
    expect(schedule.ScheduleExpression).toBe(`rate(${DEFAULT_CONFIG.sweepIntervalMinutes} minutes)`);
    expect(schedule.State ?? 'ENABLED').toBe('ENABLED');
    expect(schedule.Target.Arn).toEqual({ Ref: machineId });
    expect(resources(defaults.template, 'AWS::SQS::Queue')).toHaveProperty([targetOf(schedule.Target.DeadLetterConfig.Arn)]);
  });

  test('context sweepIntervalMinutes changes the rate', () => {
    expect(OVERRIDES.sweepIntervalMinutes).not.toBe(DEFAULT_CONFIG.sweepIntervalMinutes);
    expect(scheduleOf(overridden).ScheduleExpression).toBe(`rate(${OVERRIDES.sweepIntervalMinutes} minutes)`);
    expect(scheduleOf(overridden).Target.Arn).toEqual({ Ref: stateMachineOf(overridden).id });
  });

  test("the schedule's role may start executions of the state machine and send to the schedule DLQ", () => {
    const schedule = scheduleOf(defaults);
    const role = targetOf(schedule.Target.RoleArn);
    for (const statement of [
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machineId } },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: schedule.Target.DeadLetterConfig.Arn },
    ]) {
      defaults.template.hasResourceProperties('AWS::IAM::Policy', { Roles: [{ Ref: role }], PolicyDocument: { Statement: Match.arrayWith([statement]) } });
    }
  });
});
