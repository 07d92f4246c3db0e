/**
 * What `npm run ops` does only on AWS, with the SDK clients mocked (aws-sdk-client-mock): the stack's outputs from
 * CloudFormation's DescribeStacks when `--stack` is given without an outputs file, and `status`'s alarms in ALARM
 * (DescribeAlarms filtered by the alarm topic every alarm of the stack notifies). The local runtime has neither
 * service; the rest of the CLI runs against it in test/local/ops.e2e.test.ts.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { OUTPUTS, QUEUE_OUTPUTS } from '../../lib/stack-outputs';
import { alarmsInAlarm } from '../../ops/alarms';
import { runOps } from '../../ops/cli';
import { createClients, destroyClients, OpsClients } from '../../ops/clients';
import { OpsContext } from '../../ops/context';
import { UsageError } from '../../ops/errors';
import { readCloudFormationOutputs } from '../../ops/stack';

const REGION = 'eu-west-1';
const TOPIC = `arn:aws:sns:${REGION}:123456789012:OrderPipeline-AlarmTopic-abc`;
/** Every output the stack declares, valued as a deployed stack's would be. */
const DEPLOYED: Record<string, string> = Object.fromEntries(
  OUTPUTS.map((key) => {
    const queue = QUEUE_OUTPUTS.find((q) => q.output === key);
    if (queue) return [key, `https://sqs.${REGION}.amazonaws.com/123456789012/OrderPipeline-${queue.role}`];
    if (key === 'AlarmTopicArn') return [key, TOPIC];
    if (key === 'SweepStateMachineArn') return [key, `arn:aws:states:${REGION}:123456789012:stateMachine:Sweep`];
    return [key, `OrderPipeline-${key}`];
  }),
);

let clients: OpsClients;
beforeEach(() => {
  clients = createClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterEach(() => destroyClients(clients));

const ctxOf = (local = false): OpsContext => ({ stack: { stackName: 'OrderPipeline', outputs: DEPLOYED, source: 'test' }, clients, where: `AWS (${REGION})`, local, progress: () => undefined, pollIntervalMs: 1 });

describe('alarms in ALARM', () => {
  test('DescribeAlarms in state ALARM with the alarm topic as ActionPrefix, every page, metric and composite alarms, by name', async () => {
    const cw = mockClient(clients.cloudwatch);
    const since = new Date('2026-12-01T10:00:00Z');
    cw.on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'OrderPipeline-notificationDLQAlarm', StateReason: 'Threshold Crossed: 1 datapoint [5.0] >= 1.0', StateUpdatedTimestamp: since, AlarmDescription: 'notification: messages in the DLQ.' }], NextToken: 'page-2' })
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'OrderPipeline-inventoryQueueAgeAlarm' }], CompositeAlarms: [{ AlarmName: 'OrderPipeline-composite' }] });
    const alarms = await alarmsInAlarm(ctxOf());
    expect(alarms).toEqual([
      { name: 'OrderPipeline-composite' },
      { name: 'OrderPipeline-inventoryQueueAgeAlarm' },
      { name: 'OrderPipeline-notificationDLQAlarm', reason: 'Threshold Crossed: 1 datapoint [5.0] >= 1.0', since: since.toISOString(), description: 'notification: messages in the DLQ.' },
    ]);
    const calls = cw.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { StateValue: 'ALARM', ActionPrefix: TOPIC, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: undefined },
      { StateValue: 'ALARM', ActionPrefix: TOPIC, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: 'page-2' },
    ]);
  });

  test('against the local runtime: null, and CloudWatch is not called', async () => {
    const cw = mockClient(clients.cloudwatch);
    expect(await alarmsInAlarm(ctxOf(true))).toBeNull();
    expect(cw.calls()).toHaveLength(0);
  });
});

describe('the stack outputs from CloudFormation', () => {
  test('DescribeStacks of the named stack: its outputs by key', async () => {
    const cfn = mockClient(clients.cloudformation);
    cfn.on(DescribeStacksCommand, { StackName: 'OrderPipeline' }).resolves({
      Stacks: [{ StackName: 'OrderPipeline', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(DEPLOYED).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
    });
    expect(await readCloudFormationOutputs(clients, 'OrderPipeline', 'AWS (eu-west-1)')).toEqual({ stackName: 'OrderPipeline', outputs: DEPLOYED, source: 'CloudFormation stack OrderPipeline (AWS (eu-west-1))' });
  });

  test('a stack CloudFormation does not know: a usage error naming it (CloudFormation answers ValidationError)', async () => {
    const cfn = mockClient(clients.cloudformation);
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    const failure = readCloudFormationOutputs(clients, 'Nope', 'AWS (eu-west-1)');
    await expect(failure).rejects.toThrow(UsageError);
    await expect(failure).rejects.toThrow('no stack Nope in CloudFormation (AWS (eu-west-1)): check --stack and --region');
  });
});

describe('ops status --stack NAME on AWS (every client mocked)', () => {
  function mockStack() {
    mockClient(clients.cloudformation)
      .on(DescribeStacksCommand)
      .resolves({ Stacks: [{ StackName: 'OrderPipeline', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(DEPLOYED).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
    const sqs = mockClient(clients.sqs);
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } });
    const sfn = mockClient(clients.sfn);
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(DescribeExecutionCommand).rejects(new Error('not called'));
    mockClient(clients.cloudwatch)
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'OrderPipeline-notificationDLQAlarm', StateReason: 'Threshold Crossed', StateUpdatedTimestamp: new Date('2026-12-01T10:00:00Z') }] });
    return sqs;
  }

  async function ops(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runOps(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { AWS_REGION: REGION }, clients });
    return { code, stdout, stderr };
  }

  test('--json: the queues from the outputs CloudFormation gave, and the alarm in ALARM', async () => {
    const sqs = mockStack();
    const { code, stdout, stderr } = await ops('status', '--stack', 'OrderPipeline', '--json');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(stdout);
    expect(report.alarms).toEqual([{ name: 'OrderPipeline-notificationDLQAlarm', reason: 'Threshold Crossed', since: '2026-12-01T10:00:00.000Z' }]);
    expect(report.queues.map((q: { url: string }) => q.url)).toEqual(QUEUE_OUTPUTS.map((q) => DEPLOYED[q.output]));
    expect(sqs.commandCalls(GetQueueAttributesCommand)).toHaveLength(QUEUE_OUTPUTS.length);
  });

  test('as text: the alarm is named with its reason', async () => {
    mockStack();
    const { code, stdout } = await ops('status', '--stack', 'OrderPipeline');
    expect(code).toBe(0);
    expect(stdout).toContain('alarms in ALARM (docs/runbook.md says what each means):\n  OrderPipeline-notificationDLQAlarm since 2026-12-01T10:00:00.000Z: Threshold Crossed');
  });
});
