/** cdk-nag acknowledgements, each placed on the construct it concerns and each with its reason. */
import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

export function acknowledge(scope: IConstruct, findings: Record<string, string>): void {
  Validations.of(scope).acknowledge(...Object.entries(findings).map(([id, reason]) => ({ id, reason })));
}

export const REASONS = {
  xrayWildcard: 'X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions: AWS requires Resource "*".',
  syncInvoke: 'Invoked synchronously only (API Gateway, SQS event source, Step Functions): an asynchronous-invoke DLQ would never receive anything; failures surface to the caller or return to the queue and its redrive DLQ.',
  isDeadLetterQueue: 'This queue is itself a dead-letter queue, the end of the line for failed messages; it is alarmed and operators redrive it.',
  sqsEventSourceDestination: 'SQS event sources cannot have on-failure destinations; failed records return to the queue and its redrive DLQ (maxReceiveCount) takes them.',
} as const;
