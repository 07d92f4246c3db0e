/**
 * GetExecutionHistory, ListStateMachines, DescribeStateMachine and ListExecutions' pages through the real
 * @aws-sdk/client-sfn, from the API reference and from histories recorded on AWS (the Parallel + Map case below was
 * read off Step Functions in us-east-1: its event types and previousEventIds are AWS's). The stack's own sweep runs
 * from the synthesized template with stub functions. Time is a FakeClock: retries take no real time.
 */
import {
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { SWEEP_ACTIONS } from '../../functions/domain/sweep';
import { AwsEndpoint } from '../../local/endpoint';
import { InvokeResult, Invoker } from '../../local/engines/invoker';
import { handleSfnRequest } from '../../local/engines/sfn-api';
import { StateMachineEngine } from '../../local/engines/state-machines';
import { logicalIdOf, synth } from '../lib/synth';
import { FakeClock } from '../support/fake-clock';
import { allStates, catchAllAttempts, synthesizedDefinition } from '../support/sfn-local';

const PREFIX = 'arn:aws:states:us-east-1:000000000000:stateMachine:';
const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const ok = (result: unknown): InvokeResult => ({ ok: true, result, durationMs: 1 });
const fails = (errorType: string): InvokeResult => ({ ok: false, error: { errorType, errorMessage: `${errorType} happened` }, durationMs: 1 });

const clock = new FakeClock();
const machines = new Map<string, StateMachineEngine>();
let endpoint: AwsEndpoint;
let sfn: SFNClient;

/** A machine on these stub functions (by name or ARN), registered for the API. */
function machine(name: string, definition: unknown, functions: Record<string, (event: unknown) => InvokeResult | Promise<InvokeResult>> = {}, description = {}) {
  const invoker = (ref: string): Invoker | undefined => {
    const key = ref.split(':').pop()!;
    return functions[key] ? { name: key, invoke: async (event) => functions[key](event) } : undefined;
  };
  const engine = new StateMachineEngine(PREFIX + name, name, definition as never, invoker, clock, undefined, { validate: false, description });
  machines.set(engine.arn, engine);
  return engine;
}

async function history(executionArn: string, more: Record<string, unknown> = {}): Promise<HistoryEvent[]> {
  return (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, ...more }))).events ?? [];
}

async function runToEnd(engine: StateMachineEngine, input: unknown = {}, name?: string) {
  const execution = await engine.start(input, name);
  await engine.drain();
  return { execution, events: await history(execution.executionArn) };
}

/** `Type name` of every event that names a state, else the type. */
const steps = (events: HistoryEvent[]) => events.map((e) => [e.type, (e.stateEnteredEventDetails ?? e.stateExitedEventDetails)?.name].filter(Boolean).join(' '));

beforeAll(async () => {
  const unsupported = () => ({ status: 400, body: {} });
  endpoint = new AwsEndpoint({ sqs: unsupported, events: unsupported, stepFunctions: (op, body) => handleSfnRequest(machines, op, body), dynamodbEndpoint: 'http://127.0.0.1:9' });
  sfn = new SFNClient({ endpoint: await endpoint.listen(0), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  sfn.destroy();
  await endpoint.close();
});

describe('GetExecutionHistory: the events of what ran, in order', () => {
  it('a Parallel branch then a Map of two: the types and previousEventIds AWS records', async () => {
    const engine = machine('recorded', {
      StartAt: 'P',
      States: {
        P: { Type: 'Parallel', Branches: [{ StartAt: 'A1', States: { A1: { Type: 'Pass', End: true } } }], Next: 'M' },
        M: { Type: 'Map', ItemsPath: '$[0].items', MaxConcurrency: 1, ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'I1', States: { I1: { Type: 'Pass', End: true } } }, End: true },
      },
    });
    const { events } = await runToEnd(engine, { items: [1, 2] });
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted', 'ParallelStateEntered', 'ParallelStateStarted', 'PassStateEntered', 'PassStateExited', 'ParallelStateSucceeded', 'ParallelStateExited',
      'MapStateEntered', 'MapStateStarted',
      'MapIterationStarted', 'PassStateEntered', 'PassStateExited', 'MapIterationSucceeded',
      'MapIterationStarted', 'PassStateEntered', 'PassStateExited', 'MapIterationSucceeded',
      'MapStateSucceeded', 'MapStateExited', 'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.previousEventId)).toEqual([0, 0, 2, 3, 4, 5, 5, 7, 8, 9, 10, 11, 12, 9, 14, 15, 16, 17, 17, 19]);
    expect(Object.keys(events[2]).filter((key) => key.endsWith('EventDetails'))).toEqual([]); // ParallelStateStarted has none
    expect(events[8].mapStateStartedEventDetails).toEqual({ length: 2 });
    expect(events[9].mapIterationStartedEventDetails).toEqual({ name: 'M', index: 0 });
    expect(events[16].mapIterationSucceededEventDetails).toEqual({ name: 'M', index: 1 });
    expect(events[18].stateExitedEventDetails).toEqual({ name: 'M', output: '[1,2]', outputDetails: { truncated: false } });
    expect(events[0].executionStartedEventDetails).toMatchObject({ input: '{"items":[1,2]}', inputDetails: { truncated: false } });
    expect(events[19].executionSucceededEventDetails).toEqual({ output: '[1,2]', outputDetails: { truncated: false } });
    expect(events.every((e) => e.timestamp instanceof Date)).toBe(true);
  });

  it('a Lambda function ARN: LambdaFunction* events per attempt (retried, then caught: the state exits to the Catch); lambda:invoke: Task* events', async () => {
    let calls = 0;
    const engine = machine(
      'tasks',
      {
        StartAt: 'Legacy',
        States: {
          Legacy: { Type: 'Task', Resource: fnArn('flaky'), Retry: [{ ErrorEquals: ['Flaky'], MaxAttempts: 1 }], Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'Optimized' }], Next: 'Optimized' },
          Optimized: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: fnArn('echo'), 'Payload.$': '$' }, TimeoutSeconds: 30, End: true },
        },
      },
      { flaky: () => (++calls, fails('Flaky')), echo: (event) => ok({ echoed: event }) },
    );
    const { events, execution } = await runToEnd(engine, { n: 1 });
    expect(execution.status).toBe('SUCCEEDED');
    expect(steps(events)).toEqual([
      'ExecutionStarted', 'TaskStateEntered Legacy',
      'LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionFailed',
      'LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionFailed',
      'TaskStateExited Legacy', 'TaskStateEntered Optimized', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited Optimized', 'ExecutionSucceeded',
    ]);
    expect(calls).toBe(2);
    expect(events[2].lambdaFunctionScheduledEventDetails).toEqual({ resource: fnArn('flaky'), input: '{"n":1}', inputDetails: { truncated: false } });
    expect(events[4].lambdaFunctionFailedEventDetails).toEqual({ error: 'Flaky', cause: JSON.stringify({ errorType: 'Flaky', errorMessage: 'Flaky happened', trace: [] }) });
    expect(JSON.parse(events[8].stateExitedEventDetails!.output!)).toMatchObject({ n: 1, caught: { Error: 'Flaky' } });
    expect(events[10].taskScheduledEventDetails).toEqual({
      resourceType: 'lambda',
      resource: 'invoke',
      region: 'us-east-1',
      parameters: JSON.stringify({ FunctionName: fnArn('echo'), Payload: { n: 1, caught: JSON.parse(events[8].stateExitedEventDetails!.output!).caught } }),
      timeoutInSeconds: 30,
    });
    expect(events[11].taskStartedEventDetails).toEqual({ resourceType: 'lambda', resource: 'invoke' });
    expect(JSON.parse(events[12].taskSucceededEventDetails!.output!)).toMatchObject({ StatusCode: 200, Payload: { echoed: { n: 1 } } });
  });

  it('Choice, Wait, Pass and Fail: their own Entered/Exited types; a failure ends with ExecutionFailed after the last event', async () => {
    const engine = machine('flow', {
      StartAt: 'Pick',
      States: {
        Pick: { Type: 'Choice', Choices: [{ Variable: '$.go', BooleanEquals: true, Next: 'Pause' }], Default: 'Stop' },
        Pause: { Type: 'Wait', Seconds: 5, Next: 'Shape' },
        Shape: { Type: 'Pass', Result: { shaped: true }, Next: 'Stop' },
        Stop: { Type: 'Fail', Error: 'Stopped', Cause: 'on purpose' },
      },
    });
    const { events } = await runToEnd(engine, { go: true });
    expect(steps(events)).toEqual([
      'ExecutionStarted', 'ChoiceStateEntered Pick', 'ChoiceStateExited Pick', 'WaitStateEntered Pause', 'WaitStateExited Pause',
      'PassStateEntered Shape', 'PassStateExited Shape', 'FailStateEntered Stop', 'ExecutionFailed',
    ]);
    expect(events.at(-1)).toMatchObject({ previousEventId: events.length - 1, executionFailedEventDetails: { error: 'Stopped', cause: 'on purpose' } });
  });

  it("the state machine's TimeoutSeconds: ExecutionTimedOut is the last event, nothing after it", async () => {
    const engine = machine('slow', { StartAt: 'Wait', TimeoutSeconds: 10, States: { Wait: { Type: 'Task', Resource: fnArn('slow'), End: true } } }, { slow: () => clock.sleep(60_000).then(() => ok({})) });
    const { events, execution } = await runToEnd(engine);
    expect(execution.status).toBe('TIMED_OUT');
    expect(steps(events)).toEqual(['ExecutionStarted', 'TaskStateEntered Wait', 'LambdaFunctionScheduled', 'LambdaFunctionStarted', 'ExecutionTimedOut']);
    expect(events.at(-1)!.executionTimedOutEventDetails).toMatchObject({ error: 'States.Timeout' });
  });

  it('the stack\'s sweep (synthesized definition): its states in order, each Map\'s iterations, a failing order retried then caught', async () => {
    const { stack, template } = synth();
    const id = (c: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, c);
    const definition = synthesizedDefinition(template.toJSON() as never, id(stack.sweep.stateMachine));
    const work = Object.fromEntries(SWEEP_ACTIONS.map((action, i) => [action, Array.from({ length: i + 2 }, (_, k) => ({ orderId: `${action}-${k}` }))]));
    const broken = `${SWEEP_ACTIONS[0]}-1`;
    const engine = machine('sweep', definition, {
      [id(stack.sweep.functions.findWork)]: () => ok(work),
      [id(stack.sweep.functions.repairOrder)]: (event) => ((event as { orderId: string }).orderId === broken ? fails('Error') : ok({ ...(event as object), outcome: 'done' })),
      [id(stack.sweep.functions.summarise)]: () => ok({ summary: true }),
    });
    const { events, execution } = await runToEnd(engine);
    expect(execution.status).toBe('SUCCEEDED');
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.every((e) => e.previousEventId! < e.id!)).toBe(true);

    // The top-level states, in the order the definition chains them.
    const chain: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; name = (definition.States[name] as { Next?: string }).Next) chain.push(name);
    const topLevel = steps(events).filter((s) => chain.some((n) => s.endsWith(` ${n}`)));
    expect(topLevel).toEqual(chain.flatMap((n) => [`${definition.States[n].Type}StateEntered ${n}`, `${definition.States[n].Type}StateExited ${n}`]));
    expect(events[0].type).toBe('ExecutionStarted');
    expect(events.at(-1)!.type).toBe('ExecutionSucceeded');

    // Every Map ran one iteration per order of its action, indexes 0..n-1.
    const maps = events.filter((e) => e.type === 'MapStateStarted');
    expect(maps.map((e) => e.mapStateStartedEventDetails!.length)).toEqual(expect.arrayContaining(SWEEP_ACTIONS.map((a) => work[a].length)));
    for (const started of maps) {
      const iterations = events.filter((e) => e.type === 'MapIterationStarted' && e.previousEventId === started.id);
      expect(iterations.map((e) => e.mapIterationStartedEventDetails!.index)).toEqual(iterations.map((_, i) => i));
    }

    // The broken order: from its Catch state back through previousEventId, each attempt of the repair task.
    const byId = new Map(events.map((e) => [e.id!, e]));
    const failedState = events.find((e) => e.type === 'PassStateEntered' && JSON.parse(e.stateEnteredEventDetails!.input!).orderId === broken)!;
    const path: string[] = [];
    for (let e: HistoryEvent | undefined = failedState; e && e.type !== 'MapIterationStarted'; e = byId.get(e.previousEventId!)) path.unshift(e.type!);
    // As many attempts as the repair task's States.ALL retrier gives (the error is not one of the Lambda.* ones).
    const repairTask = byId.get(failedState.previousEventId!)!.stateExitedEventDetails!.name!;
    const attempts = catchAllAttempts(allStates(definition).find(([name]) => name === repairTask)![1]);
    expect(path).toEqual([
      'TaskStateEntered',
      ...Array.from({ length: attempts }, () => ['LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionFailed']).flat(),
      'TaskStateExited',
      'PassStateEntered',
    ]);
  }, 60_000); // synthesizing the stack is seconds of CPU, more with two other jest workers beside it
});

describe('GetExecutionHistory: maxResults, nextToken, reverseOrder, includeExecutionData', () => {
  let executionArn: string;
  let all: HistoryEvent[];

  beforeAll(async () => {
    const engine = machine('pages', { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', Next: 'C' }, C: { Type: 'Pass', End: true } } });
    ({ execution: { executionArn }, events: all } = await runToEnd(engine, { secret: 'data' }));
  });

  it('pages of maxResults follow each other through nextToken, to the last, which has none', async () => {
    const pages: HistoryEvent[][] = [];
    let nextToken: string | undefined;
    do {
      const answer = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 3, nextToken }));
      pages.push(answer.events!);
      nextToken = answer.nextToken;
    } while (nextToken);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
    expect(pages.flat()).toEqual(all);
    // maxResults 0 (or none) is the default page of 100.
    expect(await history(executionArn, { maxResults: 0 })).toEqual(all);
  });

  it('reverseOrder: newest first, paged the same way', async () => {
    const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 5 }));
    const rest = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 5, nextToken: first.nextToken }));
    expect([...first.events!, ...rest.events!]).toEqual([...all].reverse());
  });

  it('includeExecutionData false: no input or output in any event', async () => {
    const events = await history(executionArn, { includeExecutionData: false });
    expect(JSON.stringify(events)).not.toContain('secret');
    expect(events[1].stateEnteredEventDetails).toEqual({ name: 'A' });
  });

  it('InvalidToken: a token that does not decode, or one of another list (the other order)', async () => {
    await expect(history(executionArn, { nextToken: 'not-a-token' })).rejects.toMatchObject({ name: 'InvalidToken' });
    const { nextToken } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 2 }));
    await expect(history(executionArn, { nextToken, reverseOrder: true })).rejects.toMatchObject({ name: 'InvalidToken' });
  });
});

describe('ListStateMachines, DescribeStateMachine, ListExecutions', () => {
  const description = {
    definition: '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}',
    roleArn: 'arn:aws:iam::000000000000:role/described-role',
    type: 'STANDARD' as const,
    loggingConfiguration: { level: 'ALL', includeExecutionData: true, destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: 'arn:aws:logs:us-east-1:000000000000:log-group:g:*' } }] },
    tracingConfiguration: { enabled: true },
  };

  it('DescribeStateMachine: the definition, role, type, logging and tracing as provisioned, status ACTIVE; ExecutionStarted names the role', async () => {
    const engine = machine('described', JSON.parse(description.definition), {}, description);
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: engine.arn }));
    expect(described).toMatchObject({ ...description, stateMachineArn: engine.arn, name: 'described', status: 'ACTIVE', creationDate: expect.any(Date) });
    const { events } = await runToEnd(engine);
    expect(events[0].executionStartedEventDetails!.roleArn).toBe(description.roleArn);
  });

  it('ListStateMachines: every machine, by name, paged', async () => {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const answer = await sfn.send(new ListStateMachinesCommand({ maxResults: 2, nextToken }));
      names.push(...answer.stateMachines!.map((m) => m.name!));
      expect(answer.stateMachines!.every((m) => m.type === 'STANDARD' && m.creationDate instanceof Date && m.stateMachineArn === PREFIX + m.name)).toBe(true);
      nextToken = answer.nextToken;
    } while (nextToken);
    expect(names).toEqual([...machines.values()].map((m) => m.name).sort());
  });

  it('ListExecutions: statusFilter, maxResults and nextToken (newest first)', async () => {
    const engine = machine('listed', { StartAt: 'Go', States: { Go: { Type: 'Choice', Choices: [{ Variable: '$.fail', BooleanEquals: true, Next: 'No' }], Default: 'Yes' }, Yes: { Type: 'Succeed' }, No: { Type: 'Fail', Error: 'E' } } });
    for (const [name, fail] of [['e1', false], ['e2', true], ['e3', false], ['e4', false]] as const) {
      await engine.start({ fail }, name);
      await engine.drain();
      await clock.advance(1000);
    }
    const list = async (more: Record<string, unknown>) => sfn.send(new ListExecutionsCommand({ stateMachineArn: engine.arn, ...more }));
    const first = await list({ statusFilter: 'SUCCEEDED', maxResults: 2 });
    expect(first.executions!.map((e) => e.name)).toEqual(['e4', 'e3']);
    const second = await list({ statusFilter: 'SUCCEEDED', maxResults: 2, nextToken: first.nextToken });
    expect(second.executions!.map((e) => e.name)).toEqual(['e1']);
    expect(second.nextToken).toBeUndefined();
    expect((await list({ statusFilter: 'FAILED' })).executions!.map((e) => e.name)).toEqual(['e2']);
    await expect(list({ statusFilter: 'FAILED', nextToken: first.nextToken })).rejects.toMatchObject({ name: 'InvalidToken' });
    await expect(list({ maxResults: 1001 })).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('errors: InvalidArn for what is not an ARN of the kind, StateMachineDoesNotExist, ExecutionDoesNotExist', async () => {
    await expect(sfn.send(new DescribeStateMachineCommand({ stateMachineArn: 'not-an-arn' }))).rejects.toMatchObject({ name: 'InvalidArn' });
    await expect(sfn.send(new DescribeStateMachineCommand({ stateMachineArn: `${PREFIX}missing` }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(history(`${PREFIX}pages`)).rejects.toMatchObject({ name: 'InvalidArn' });
    await expect(history(`${PREFIX.replace(':stateMachine:', ':execution:')}pages:missing`)).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });
});
