/**
 * Public on-demand list prices, us-east-1, in USD, as the AWS pricing pages gave them (read for this file on
 * 2026-12-01; the DynamoDB on-demand prices are those after the November 2024 reduction). One place: the bench's cost
 * section and nothing else reads them. Free tiers are left out: they do not scale with orders.
 */
export const PRICES = {
  date: '2026-12-01',
  region: 'us-east-1',
  /** HTTP API, first 300 million requests a month. */
  httpApiPerMillionRequests: 1.0,
  lambdaPerMillionRequests: 0.2,
  /** Arm (the stack's functions are arm64), first 7.5 billion GB-seconds a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** Custom events; each 64 KB chunk of a PutEvents entry is one event. */
  eventBridgePerMillionEvents: 1.0,
  /** Standard queues; each 64 KB chunk of a request is one request. */
  sqsPerMillionRequests: 0.4,
  dynamodbPerMillionWriteUnits: 0.625,
  dynamodbPerMillionReadUnits: 0.125,
  /** Standard workflows. */
  stepFunctionsPerThousandTransitions: 0.025,
  /** CloudWatch Logs, standard class, data ingested. */
  cloudWatchLogsPerGbIngested: 0.5,
} as const;
