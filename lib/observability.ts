/** The alarm topic every alarm notifies, and the dashboard every part of the pipeline adds its graphs to. */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, IMetric, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export interface ObservabilityProps {
  alarmEmail?: string;
  queueAgeAlarmSeconds: number;
}

export class Observability extends Construct {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, private readonly props: ObservabilityProps) {
    super(scope, id);
    // A customer-managed key: the AWS-managed SNS key cannot be used by CloudWatch alarms.
    const key = new Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: 'Encrypts the order pipeline alarm topic' });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.alarmTopic = new Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true, displayName: 'Order pipeline alarms' });
    if (props.alarmEmail) {
      const subscription = this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
      acknowledge(subscription, {
        'Serverless::Serverless-SNSRedrivePolicy':
          'Alarm e-mail only: an undelivered e-mail leaves the alarm in ALARM state in CloudWatch and on the dashboard; a DLQ of undelivered alarm e-mails would need watching by these same alarms.',
      });
    }
    this.action = new SnsAction(this.alarmTopic);
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
  }

  /** An alarm that notifies the topic; missing data is healthy (no traffic, no failures). */
  alarm(scope: Construct, id: string, metric: IMetric, threshold: number, description: string): Alarm {
    const alarm = new Alarm(scope, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** A DLQ holding anything is an operator's job: redrive it after fixing the cause. */
  alarmOnDeadLetters(scope: Construct, id: string, dlq: IQueue, what: string, advice = 'Find the cause in the logs, then redrive (console "Start DLQ redrive").'): Alarm {
    const visible = dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' });
    this.dashboard.addWidgets(new GraphWidget({ title: `${what} DLQ depth`, left: [visible], width: 8 }));
    return this.alarm(scope, id, visible, 1, `${what}: messages in the DLQ. ${advice}`);
  }

  /** Oldest message age: the consumer is falling behind or stuck. */
  alarmOnQueueAge(scope: Construct, id: string, queue: IQueue, what: string): Alarm {
    const age = queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' });
    this.dashboard.addWidgets(new GraphWidget({ title: `${what} oldest message (s)`, left: [age], width: 8 }));
    return this.alarm(scope, id, age, this.props.queueAgeAlarmSeconds, `${what}: oldest message older than ${this.props.queueAgeAlarmSeconds}s`);
  }

  alarmOnFunction(scope: Construct, fn: IFunction, what: string): void {
    const errors = fn.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' });
    const throttles = fn.metricThrottles({ period: Duration.minutes(1), statistic: 'Sum' });
    this.dashboard.addWidgets(new GraphWidget({ title: `${what} errors / throttles`, left: [errors, throttles], width: 8 }));
    this.alarm(scope, 'ErrorsAlarm', errors, 1, `${what}: function errors`);
    this.alarm(scope, 'ThrottlesAlarm', throttles, 1, `${what}: function throttled`);
  }

  graph(title: string, metrics: Metric[]): void {
    this.dashboard.addWidgets(new GraphWidget({ title, left: metrics, width: 8 }));
  }
}
