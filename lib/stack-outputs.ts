/**
 * The stack's outputs (`cdk deploy --outputs-file`, CloudFormation DescribeStacks, the local runtime's outputs file):
 * the stack writes exactly these, and the operator's CLI (ops/) finds every resource it acts on by them. No CDK
 * imports here, so the CLI loads it without loading the CDK.
 */
import { CONSUMERS, ConsumerName } from './config';

export const RESOURCE_OUTPUTS = [
  'ApiUrl', 'OrdersTableName', 'InventoryTableName', 'NotificationsTableName', 'EventBusName', 'EventArchiveName', 'SweepStateMachineArn', 'AlarmTopicArn',
] as const;

/**
 * What a queue is to an operator: a consumer's source queue, its redrive DLQ (consumer failures: redriven back to
 * the queue), its rule target's DLQ (EventBridge delivery failures: re-sent to the bus), the event relay's DLQ
 * (stream records no event was published for) or the sweep schedule's DLQ (sweep starts that failed).
 */
export type QueueKind = 'queue' | 'dlq' | 'rule-target-dlq' | 'relay-dlq' | 'schedule-dlq';

export interface QueueOutput {
  /** The name an operator types: `inventory`, `inventory-dlq`, `inventory-target-dlq`, `relay-dlq`, ... */
  role: string;
  /** The output holding the queue's URL. */
  output: string;
  kind: QueueKind;
  consumer?: ConsumerName;
}

const capitalized = (s: string) => s[0].toUpperCase() + s.slice(1);

export const QUEUE_OUTPUTS: readonly QueueOutput[] = [
  ...(Object.keys(CONSUMERS) as ConsumerName[]).flatMap((consumer): QueueOutput[] => [
    { role: consumer, output: `${capitalized(consumer)}QueueUrl`, kind: 'queue', consumer },
    { role: `${consumer}-dlq`, output: `${capitalized(consumer)}DLQUrl`, kind: 'dlq', consumer },
    { role: `${consumer}-target-dlq`, output: `${capitalized(consumer)}RuleTargetDLQUrl`, kind: 'rule-target-dlq', consumer },
  ]),
  { role: 'relay-dlq', output: 'EventRelayDLQUrl', kind: 'relay-dlq' },
  { role: 'sweep-schedule-dlq', output: 'SweepScheduleDLQUrl', kind: 'schedule-dlq' },
];

/** Every output key of the stack. */
export const OUTPUTS: readonly string[] = [...RESOURCE_OUTPUTS, ...QUEUE_OUTPUTS.map((q) => q.output)];
