/**
 * The event relay, the box between the orders table and the bus: a function on the table's stream that publishes
 * one event per status change (functions/domain/status-events.ts). The API, the inventory consumer and the sweep
 * write state only; nothing can die between a write and its event, because the write is the event's source.
 * Retried without an attempt limit for 12 h, split on error, in order per order; what cannot become an event goes
 * to the relay's DLQ (alarmed), as do the stream positions of records still failing after 12 h (the stream keeps
 * them 24 h: time to replay them).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_FOR_STATUS } from '../functions/domain/status-events';
import { ENV } from '../functions/shared/env';
import { EVENT_RELAY, QUEUE_RETENTION_DAYS } from './config';
import { Observability } from './observability';
import { PipelineFunction } from './pipeline-function';
import { acknowledge, REASONS } from './nag';

export interface EventRelayProps {
  orders: TableV2;
  bus: EventBus;
  observability: Observability;
  logRetention: RetentionDays;
}

/**
 * Stream records that can owe an event: creations, and writes that leave an order in a status owing one. Filtered
 * records cost no invocation (a republish count, a NEEDS_ATTENTION flag).
 */
export function relayFilters() {
  const statuses = Object.keys(EVENT_FOR_STATUS).filter((s) => s !== 'PENDING');
  return [
    FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT') }),
    FilterCriteria.filter({ eventName: FilterRule.isEqual('MODIFY'), dynamodb: { NewImage: { status: { S: FilterRule.or(...statuses) } } } }),
  ];
}

export class EventRelay extends Construct {
  readonly function: PipelineFunction;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: EventRelayProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DLQ', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS.deadLetter),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(this.deadLetterQueue, {
      'Serverless::Serverless-SQSRedrivePolicy': REASONS.isDeadLetterQueue,
      'AwsSolutions::AwsSolutions-SQS3': REASONS.isDeadLetterQueue,
    });
    this.function = new PipelineFunction(this, 'Function', {
      entry: 'event-relay/handler.ts',
      serviceName: 'event-relay',
      timeoutSeconds: EVENT_RELAY.timeout,
      memorySize: EVENT_RELAY.memorySize,
      environment: { [ENV.eventBus]: props.bus.eventBusName, [ENV.relayDeadLetterQueueUrl]: this.deadLetterQueue.queueUrl },
      logRetention: props.logRetention,
    });
    this.function.addEventSource(
      new DynamoEventSource(props.orders, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: EVENT_RELAY.batchSize,
        maxBatchingWindow: Duration.seconds(EVENT_RELAY.maxBatchingWindow),
        parallelizationFactor: EVENT_RELAY.parallelizationFactor,
        maxRecordAge: Duration.hours(EVENT_RELAY.maxRecordAgeHours),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: relayFilters(),
      }),
    );
    // What its code sends (PutEvents, SendMessage to this DLQ) is granted by the stack from lib/function-access.ts;
    // the event source grants the stream reads and (SqsDlq) the on-failure sends Lambda itself makes.

    const o = props.observability;
    o.alarmOnDeadLetters(
      this,
      'DLQAlarm',
      this.deadLetterQueue,
      'event relay',
      'Each message is a change no event could be built from (its record inside), or the stream positions of changes still unpublished after 12 h: read them from the stream within 24 h of the change and publish their events (docs/saga.md).',
    );
    const iteratorAge = this.function.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' });
    o.graph('Event relay iterator age (ms)', [iteratorAge]);
    o.alarm(this, 'IteratorAgeAlarm', iteratorAge, EVENT_RELAY.iteratorAgeAlarmSeconds * 1000, `event relay: stream records older than ${EVENT_RELAY.iteratorAgeAlarmSeconds}s are not yet on the bus (PutEvents failing?)`);
    o.alarmOnFunction(this, this.function, 'event relay');
  }
}
