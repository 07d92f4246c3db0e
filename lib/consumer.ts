/**
 * A queue consumer, the reusable box of the diagram: its queue and redrive DLQ (whose allow policy names the
 * queue, so the console's "Start DLQ redrive" works), the rule that feeds it (with the rule target's own DLQ),
 * the function on an SQS event source with partial batch responses, and an alarm on each DLQ.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Rule } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { ConsumerSettings, QUEUE_RETENTION_DAYS, visibilityTimeoutFor } from './config';
import { Observability } from './observability';
import { OrderEvents } from './order-events';
import { PipelineFunction } from './pipeline-function';
import { acknowledge, REASONS } from './nag';

export interface ConsumerProps {
  settings: ConsumerSettings;
  /** Path under functions/. */
  entry: string;
  serviceName: string;
  environment: Record<string, string>;
  events: OrderEvents;
  observability: Observability;
  logRetention: RetentionDays;
}

export class Consumer extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly ruleTargetDeadLetterQueue: Queue;
  readonly rule: Rule;
  readonly function: PipelineFunction;

  constructor(scope: Construct, id: string, props: ConsumerProps) {
    super(scope, id);
    const { settings } = props;
    if (settings.maxConcurrency < 2 || settings.maxConcurrency > 1000) throw new Error(`${id}: maxConcurrency must be 2..1000 (an SQS event source limit)`);
    if (settings.batchSize > 10 && settings.maxBatchingWindow < 1) throw new Error(`${id}: a batch size above 10 needs a batching window`);

    // The source queue has a set name so the DLQ's allow policy can name its ARN without a reference cycle
    // (the source's redrive policy already refers to the DLQ).
    const queueName = `${Stack.of(this).stackName}-${id}`.slice(0, 80);
    const queueArn = Stack.of(this).formatArn({ service: 'sqs', resource: queueName, arnFormat: ArnFormat.NO_RESOURCE_NAME });
    this.deadLetterQueue = new Queue(this, 'DLQ', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS.deadLetter),
      removalPolicy: RemovalPolicy.DESTROY,
      // Accepts messages from its own source only; redrive (console or StartMessageMoveTask) moves them back there.
      redriveAllowPolicy: { redrivePermission: RedrivePermission.BY_QUEUE, sourceQueues: [Queue.fromQueueArn(this, 'Source', queueArn)] },
    });
    this.queue = new Queue(this, 'Queue', {
      queueName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS.source),
      visibilityTimeout: Duration.seconds(visibilityTimeoutFor(settings)),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const subscription = props.events.subscribe(this, settings.consumes, this.queue);
    this.rule = subscription.rule;
    this.ruleTargetDeadLetterQueue = subscription.targetDeadLetterQueue;

    this.function = new PipelineFunction(this, 'Function', {
      entry: props.entry,
      serviceName: props.serviceName,
      timeoutSeconds: settings.timeout,
      memorySize: settings.memorySize,
      environment: props.environment,
      logRetention: props.logRetention,
    });
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: settings.batchSize,
        maxBatchingWindow: Duration.seconds(settings.maxBatchingWindow),
        maxConcurrency: settings.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    acknowledge(this.deadLetterQueue, { 'Serverless::Serverless-SQSRedrivePolicy': REASONS.isDeadLetterQueue });
    acknowledge(this.function, { 'Serverless::Serverless-LambdaEventSourceMappingDestination': REASONS.sqsEventSourceDestination });

    const o = props.observability;
    o.alarmOnDeadLetters(this, 'DLQAlarm', this.deadLetterQueue, `${id} queue`);
    o.alarmOnDeadLetters(
      this,
      'RuleTargetDLQAlarm',
      this.ruleTargetDeadLetterQueue,
      `${id} rule target`,
      'EventBridge could not deliver these events to the queue (ERROR_CODE and ERROR_MESSAGE on each message): fix the cause, then put them back on the bus (npm run ops -- events replay-failed; SQS cannot redrive to a bus). docs/runbook.md',
    );
    o.alarmOnQueueAge(this, 'QueueAgeAlarm', this.queue, `${id} queue`);
    o.alarmOnFunction(this, this.function, `${id} consumer`);
  }
}
