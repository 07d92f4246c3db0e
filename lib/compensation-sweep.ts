/**
 * The compensation sweep: a Step Functions state machine (JSONPath) started on a schedule by EventBridge
 * Scheduler. It finds what fell through, repairs each order in its own retried task (a failure is caught and
 * counted, never stops the rest), and ends with a summary of what it did.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import {
  DefinitionBody,
  Errors,
  JsonPath,
  LogLevel,
  Map as MapState,
  Parallel,
  Pass,
  QueryLanguage,
  StateMachine,
  StateMachineType,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { SWEEP_ACTIONS } from '../functions/domain/sweep';
import { METRIC, METRICS_NAMESPACE } from '../functions/shared/metric-names';
import { QUEUE_RETENTION_DAYS } from './config';
import { Observability } from './observability';
import { PipelineFunction } from './pipeline-function';
import { acknowledge, REASONS } from './nag';

export interface CompensationSweepProps {
  environment: Record<string, string>;
  intervalMinutes: number;
  observability: Observability;
  logRetention: RetentionDays;
}

/** Orders repaired at once per kind of work: the sweep must not crowd out live traffic. */
const REPAIR_CONCURRENCY = 5;
const SERVICE_NAME = 'compensation-sweep';

export class CompensationSweep extends Construct {
  readonly stateMachine: StateMachine;
  readonly schedule: Schedule;
  /** Sweep starts the schedule could not make (after its retries). */
  readonly scheduleDeadLetterQueue: Queue;
  readonly functions: { findWork: PipelineFunction; repairOrder: PipelineFunction; summarise: PipelineFunction };

  constructor(scope: Construct, id: string, props: CompensationSweepProps) {
    super(scope, id);
    const fn = (name: string, entry: string) =>
      new PipelineFunction(this, name, { entry, serviceName: SERVICE_NAME, timeoutSeconds: 30, environment: props.environment, logRetention: props.logRetention });
    this.functions = {
      findWork: fn('FindWorkFunction', 'sweep/find-work.ts'),
      repairOrder: fn('RepairOrderFunction', 'sweep/repair-order.ts'),
      summarise: fn('SummariseFunction', 'sweep/summarise.ts'),
    };

    const findWork = new LambdaInvoke(this, 'FindWork', { lambdaFunction: this.functions.findWork, payloadResponseOnly: true, resultPath: '$.work' });
    findWork.addRetry({ errors: [Errors.ALL], maxAttempts: 3, interval: Duration.seconds(2), backoffRate: 2 });

    const repairBranch = (action: (typeof SWEEP_ACTIONS)[number]) => {
      const repair = new LambdaInvoke(this, `Repair-${action}`, { lambdaFunction: this.functions.repairOrder, payloadResponseOnly: true });
      repair.addRetry({ errors: [Errors.ALL], maxAttempts: 3, interval: Duration.seconds(1), backoffRate: 2 });
      // A failed order becomes {action, orderId, error: <error name>}: the summary counts it, the others go on.
      // Only the name is kept (the cause with its stack is in the execution history) so that a run full of
      // failures stays far below the 256 KB state size limit.
      const failed = new Pass(this, `Failed-${action}`, {
        parameters: { 'action.$': '$.action', 'orderId.$': '$.orderId', 'error.$': '$.caught.Error' },
      });
      repair.addCatch(failed, { errors: [Errors.ALL], resultPath: '$.caught' });
      return new MapState(this, `Each-${action}`, {
        itemsPath: `$.work.${action}`,
        itemSelector: { action, 'orderId.$': '$$.Map.Item.Value.orderId' },
        maxConcurrency: REPAIR_CONCURRENCY,
      }).itemProcessor(repair);
    };
    const repairAll = new Parallel(this, 'RepairAll', { resultPath: '$.results' });
    for (const action of SWEEP_ACTIONS) repairAll.branch(repairBranch(action));

    const summarise = new LambdaInvoke(this, 'Summarise', {
      lambdaFunction: this.functions.summarise,
      payloadResponseOnly: true,
      payload: TaskInput.fromObject({ results: JsonPath.objectAt('$.results') }),
    });
    summarise.addRetry({ errors: [Errors.ALL], maxAttempts: 3, interval: Duration.seconds(2), backoffRate: 2 });

    const logs = new LogGroup(this, 'StateMachineLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      definitionBody: DefinitionBody.fromChainable(findWork.next(repairAll).next(summarise)),
      queryLanguage: QueryLanguage.JSON_PATH,
      stateMachineType: StateMachineType.STANDARD,
      timeout: Duration.minutes(Math.max(5, props.intervalMinutes * 2)),
      tracingEnabled: true,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
      comment: 'Re-publishes or flags stuck PENDING orders, cancels unpaid RESERVED orders past their deadline (stock released)',
    });

    const scheduleDeadLetters = (this.scheduleDeadLetterQueue = new Queue(this, 'ScheduleDLQ', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS.deadLetter),
      removalPolicy: RemovalPolicy.DESTROY,
    }));
    acknowledge(scheduleDeadLetters, {
      'Serverless::Serverless-SQSRedrivePolicy': REASONS.isDeadLetterQueue,
      'AwsSolutions::AwsSolutions-SQS3': REASONS.isDeadLetterQueue,
    });
    // The role may invoke exactly these three functions; CDK adds "<arn>:*" for their versions and aliases.
    acknowledge(this.stateMachine.role, Object.fromEntries([
      ['AwsSolutions::AwsSolutions-IAM5[Resource::*]', `${REASONS.xrayWildcard} Log delivery (logs:CreateLogDelivery and friends) likewise has no resource-level permissions.`],
      ...Object.values(this.functions).map((f) => [
        `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(f.node.defaultChild as CfnFunction)}.Arn>:*]`,
        'Step Functions invokes this one function; the ":*" suffix covers its versions and aliases, as CDK grants it.',
      ]),
    ]));
    this.schedule = new Schedule(this, 'Schedule', {
      description: `Starts the compensation sweep every ${props.intervalMinutes} minutes`,
      schedule: ScheduleExpression.rate(Duration.minutes(props.intervalMinutes)),
      target: new StepFunctionsStartExecution(this.stateMachine, { deadLetterQueue: scheduleDeadLetters, retryAttempts: 3, maxEventAge: Duration.hours(1) }),
    });

    const o = props.observability;
    o.alarm(this, 'ExecutionsFailedAlarm', this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }), 1, 'Compensation sweep execution failed');
    o.alarm(this, 'ExecutionsTimedOutAlarm', this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }), 1, 'Compensation sweep execution timed out');
    const itemFailures = new Metric({ namespace: METRICS_NAMESPACE, metricName: METRIC.sweepFailures, dimensionsMap: { service: SERVICE_NAME }, period: Duration.minutes(5), statistic: 'Sum' });
    o.alarm(this, 'ItemFailuresAlarm', itemFailures, 1, 'The compensation sweep could not repair some orders (see the execution output)');
    const needingAttention = new Metric({ namespace: METRICS_NAMESPACE, metricName: METRIC.ordersNeedingAttention, dimensionsMap: { service: SERVICE_NAME }, period: Duration.minutes(5), statistic: 'Sum' });
    o.alarm(this, 'NeedsAttentionAlarm', needingAttention, 1, 'Orders moved to NEEDS_ATTENTION after their re-publish attempts ran out');
    o.alarmOnDeadLetters(
      this,
      'ScheduleDLQAlarm',
      scheduleDeadLetters,
      'sweep schedule target',
      'The schedule could not start the sweep (ERROR_CODE on each message): fix the cause, run it by hand (npm run ops -- sweep run), then purge the DLQ. docs/runbook.md',
    );
    o.graph('Sweep executions / item failures', [this.stateMachine.metricSucceeded(), this.stateMachine.metricFailed(), itemFailures, needingAttention]);
    for (const f of Object.values(this.functions)) o.alarmOnFunction(f, f, `sweep ${f.node.id}`);
  }
}
