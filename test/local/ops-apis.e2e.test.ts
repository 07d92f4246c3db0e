/**
 * The operator's APIs on the whole local runtime (the synthesized stack, the AWS SDK only): the sweep state machine
 * as DescribeStateMachine and GetExecutionHistory show it, and the bus's archive (AWS::Events::Archive) replayed
 * to the stack's rules. Names come from the template and the stack's outputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeArchiveCommand, DescribeReplayCommand, EventBridgeClient, ListArchivesCommand, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, DescribeStateMachineCommand, GetExecutionHistoryCommand, ListStateMachinesCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { LocalRuntime, startRuntime } from '../../local/runtime';
import { request } from '../support/api-client';
import { e2eAssembly } from '../support/e2e-assembly';
import { eventually } from '../support/eventually';

jest.setTimeout(120_000);

const work = mkdtempSync(path.join(tmpdir(), 'order-pipeline-ops-'));
const logLines: string[] = [];
let runtime: LocalRuntime;
let sfn: SFNClient;
let events: EventBridgeClient;

const output = (key: string) => runtime.outputs[runtime.stackName][key];
/** The template's only resource of a type: [logical id, properties]. */
function only(type: string): [string, Record<string, unknown>] {
  const found = Object.entries(runtime.template.Resources).filter(([, r]) => r.Type === type);
  expect(found).toHaveLength(1);
  return [found[0][0], (found[0][1].Properties ?? {}) as Record<string, unknown>];
}
const getAttTarget = (value: unknown) => (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

beforeAll(async () => {
  runtime = await startRuntime({
    port: 0,
    awsPort: 0,
    inMemory: true,
    timeScale: 30,
    useAssembly: await e2eAssembly(),
    outputsFile: path.join(work, 'outputs.json'),
    log: (line) => logLines.push(line),
  });
  const config = { endpoint: runtime.endpoints.aws, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  sfn = new SFNClient(config);
  events = new EventBridgeClient(config);
});

afterAll(async () => {
  sfn?.destroy();
  events?.destroy();
  await runtime?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('ListStateMachines and DescribeStateMachine: the sweep as the template declares it', async () => {
  const stateMachineArn = output('SweepStateMachineArn');
  const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
  expect(stateMachines.map((m) => m.stateMachineArn)).toEqual([stateMachineArn]);
  const [, props] = only('AWS::StepFunctions::StateMachine');
  const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
  const logging = props.LoggingConfiguration as { Level: string; IncludeExecutionData: boolean };
  expect(described).toMatchObject({
    status: 'ACTIVE',
    type: props.StateMachineType,
    roleArn: expect.stringMatching(new RegExp(`:role/${runtime.names(getAttTarget(props.RoleArn))}$`)),
    loggingConfiguration: { level: logging.Level, includeExecutionData: logging.IncludeExecutionData },
    tracingConfiguration: { enabled: (props.TracingConfiguration as { Enabled: boolean }).Enabled },
  });
  // The definition with its function ARNs resolved to the local functions.
  expect(described.definition).not.toContain('Fn::GetAtt');
  expect(JSON.parse(described.definition!).StartAt).toBeTruthy();
});

test('GetExecutionHistory of a sweep run: its states in the order the definition chains them, then ExecutionSucceeded', async () => {
  const stateMachineArn = output('SweepStateMachineArn');
  const definition = JSON.parse((await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).definition!) as { StartAt: string; States: Record<string, { Type: string; Next?: string }> };
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'ops-history', input: '{}' }));
  await eventually(async () => expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('SUCCEEDED'), 60_000);
  const { events: history = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  const chain: string[] = [];
  for (let name: string | undefined = definition.StartAt; name; name = definition.States[name].Next) chain.push(name);
  const topLevel = history.filter((e) => chain.includes((e.stateEnteredEventDetails ?? e.stateExitedEventDetails)?.name ?? '')).map((e) => e.type);
  expect(topLevel).toEqual(chain.flatMap((n) => [`${definition.States[n].Type}StateEntered`, `${definition.States[n].Type}StateExited`]));
  expect(history[0].type).toBe('ExecutionStarted');
  expect(history.at(-1)!.type).toBe('ExecutionSucceeded');
});

test("the archive keeps the order's events; a replay sends each once more to each rule that took it, with replay-name, and archives nothing", async () => {
  const [archiveId, props] = only('AWS::Events::Archive');
  const archiveName = runtime.names(archiveId);
  const { Archives = [] } = await events.send(new ListArchivesCommand({}));
  expect(Archives).toMatchObject([{ ArchiveName: archiveName, RetentionDays: props.RetentionDays, State: 'ENABLED' }]);
  const before = (await events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }))).EventCount!;

  const from = new Date(Math.floor(Date.now() / 1000) * 1000);
  expect((await request(output('ApiUrl'), 'PUT', '/inventory/ops-replay', { body: { available: 5 } })).status).toBe(201);
  const placed = await request(output('ApiUrl'), 'POST', '/orders', { body: { customerId: 'c-ops', items: [{ sku: 'ops-replay', quantity: 1 }] }, headers: { 'idempotency-key': `ops-${process.pid}` } });
  const orderId = placed.body.orderId as string;
  await eventually(async () => expect((await request(output('ApiUrl'), 'GET', `/orders/${orderId}`)).body.status).toBe('RESERVED'));
  /** The live log's event lines for this order, without their time. */
  const routed = () => logLines.filter((l) => / event +/.test(l) && l.includes(`order=${orderId} `)).map((l) => l.replace(/^\S+ event +/, ''));
  await eventually(async () => expect(routed()).toHaveLength(2)); // OrderPlaced, InventoryReserved
  const live = routed();
  const archived = (await events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }))).EventCount!;
  expect(archived - before).toBeGreaterThanOrEqual(2);

  const described = await events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
  // EventEndTime may not be in the future and an event's time is whole seconds: the window ends in the next second.
  await new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000)));
  await events.send(
    new StartReplayCommand({ ReplayName: 'ops-replay', EventSourceArn: described.ArchiveArn, EventStartTime: from, EventEndTime: new Date(), Destination: { Arn: described.EventSourceArn } }),
  );
  await eventually(async () => expect((await events.send(new DescribeReplayCommand({ ReplayName: 'ops-replay' }))).State).toBe('COMPLETED'));
  await runtime.engines.bus.drain();
  const replayed = routed().filter((l) => l.endsWith(' (replay ops-replay)'));
  expect(replayed.map((l) => l.replace(' (replay ops-replay)', '')).sort()).toEqual([...live].sort());
  expect((await events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }))).EventCount).toBe(archived);
  // The inventory consumer took the copy of OrderPlaced as the duplicate it is: one unit held, not two.
  await runtime.engines.bus.drain();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const level = (await request(output('ApiUrl'), 'GET', '/inventory/ops-replay')).body as { available: number; reserved: number };
  expect(level.available).toBeGreaterThanOrEqual(4);
  expect(level.reserved).toBeLessThanOrEqual(1);
});
