/**
 * The order event bus, its archive (for replay), and one rule per consumer generated from the event catalogue.
 * Each rule target is an SQS queue with its own DLQ and a bounded retry policy.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Archive, EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_CATALOGUE, EventType } from '../functions/domain/events';
import { QUEUE_RETENTION_DAYS, RULE_TARGET_RETRY } from './config';
import { acknowledge, REASONS } from './nag';

export interface OrderEventsProps {
  archiveRetentionDays: number;
}

/** The event pattern that routes these catalogued events: their sources and detail-types. */
export function patternFor(types: readonly EventType[]) {
  return {
    source: [...new Set(types.map((t) => EVENT_CATALOGUE[t].source))].sort(),
    detailType: [...types],
  };
}

export class OrderEvents extends Construct {
  readonly bus: EventBus;
  readonly archive: Archive;

  constructor(scope: Construct, id: string, props: OrderEventsProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus');
    this.archive = this.bus.archive('Archive', {
      description: 'Every order pipeline event, for replay after an incident',
      eventPattern: { source: [...new Set(Object.values(EVENT_CATALOGUE).map((e) => e.source))].sort() },
      retention: Duration.days(props.archiveRetentionDays),
    });
  }

  /**
   * Routes the given events to a queue. Returns the rule-target DLQ: delivery failures (queue missing, access
   * denied) land there after the retry policy, instead of being dropped.
   */
  subscribe(scope: Construct, types: readonly EventType[], queue: Queue): { rule: Rule; targetDeadLetterQueue: Queue } {
    // SQS-managed encryption: EventBridge can write to it without a KMS grant (aws-cdk issue 33169).
    const targetDeadLetterQueue = new Queue(scope, 'RuleTargetDLQ', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS.deadLetter),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(targetDeadLetterQueue, {
      'Serverless::Serverless-SQSRedrivePolicy': REASONS.isDeadLetterQueue,
      'AwsSolutions::AwsSolutions-SQS3': `${REASONS.isDeadLetterQueue} (cdk-nag issue 1990: rule-target DLQs are not recognised as DLQs)`,
    });
    const rule = new Rule(scope, 'Rule', {
      eventBus: this.bus,
      description: `Routes ${types.join(', ')} to ${scope.node.id}`,
      eventPattern: patternFor(types),
      targets: [
        new SqsQueue(queue, {
          deadLetterQueue: targetDeadLetterQueue,
          maxEventAge: Duration.hours(RULE_TARGET_RETRY.maxEventAgeHours),
          retryAttempts: RULE_TARGET_RETRY.retryAttempts,
        }),
      ],
    });
    return { rule, targetDeadLetterQueue };
  }
}
