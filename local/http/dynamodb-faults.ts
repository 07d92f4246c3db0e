/**
 * The DynamoDB fault seam of the AWS endpoint: before a `DynamoDB_20120810.*` request is forwarded to DynamoDB
 * Local, each table it names is asked about, kind by kind; on the first yes the endpoint answers as DynamoDB does
 * and the request is not forwarded (no write happened, as when DynamoDB refuses a request).
 *
 * Error shapes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
 * (status, `__type` "com.amazonaws.dynamodb.v20120810#<Name>", messages from its "Error messages and codes").
 * ThrottlingException is modeled in the DynamoDB API (the SDK's schema: `ThrottlingException`, HTTP 400); older
 * DynamoDB answers sent it from another namespace (`com.amazon.coral.availability#ThrottlingException`), which the
 * SDK reads the same way: it keeps only the part after `#`.
 */
import { FaultKind, Faults } from '../faults/faults';

export interface DynamoDBFault {
  status: number;
  body: { __type: string; message: string };
}

const NAMESPACE = 'com.amazonaws.dynamodb.v20120810';

/** Asked in this order; the answer is DynamoDB's for that kind. */
const KINDS: [FaultKind, number, string, string][] = [
  [
    'dynamodb.provisionedThroughputExceeded',
    400,
    'ProvisionedThroughputExceededException',
    'You exceeded your maximum allowed provisioned throughput for a table or for one or more global secondary indexes.',
  ],
  ['dynamodb.throttling', 400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.'],
  ['dynamodb.internalServerError', 500, 'InternalServerError', 'Internal server error'],
];

/** The fault kinds this seam answers (the runtime routes the functions' DynamoDB calls through it when one is planned). */
export const DYNAMODB_FAULT_KINDS: readonly FaultKind[] = KINDS.map(([kind]) => kind);

const TRANSACT_ACTIONS = ['Put', 'Update', 'Delete', 'ConditionCheck', 'Get'];

/** `TableName` may be the table's ARN (arn:aws:dynamodb:region:account:table/NAME); faults name tables. */
function tableOf(name: unknown): string | undefined {
  if (typeof name !== 'string' || !name) return undefined;
  return /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)/.exec(name)?.[1] ?? name;
}

/** The tables a request names: TableName, the RequestItems keys (Batch*), TransactItems[*].<action>.TableName. */
export function tableNames(request: unknown): string[] {
  if (!request || typeof request !== 'object') return [];
  const r = request as { TableName?: unknown; RequestItems?: unknown; TransactItems?: unknown };
  const names: (string | undefined)[] = [tableOf(r.TableName)];
  if (r.RequestItems && typeof r.RequestItems === 'object') names.push(...Object.keys(r.RequestItems).map(tableOf));
  if (Array.isArray(r.TransactItems)) {
    for (const item of r.TransactItems as Record<string, { TableName?: unknown } | undefined>[]) {
      for (const action of TRANSACT_ACTIONS) names.push(tableOf(item?.[action]?.TableName));
    }
  }
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/** The answer DynamoDB would give instead, or undefined: forward the request. `operation` is e.g. `TransactWriteItems`. */
export function dynamodbFault(faults: Faults, operation: string, body: Buffer): DynamoDBFault | undefined {
  let request: unknown;
  try {
    request = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined; // DynamoDB Local answers a body that is not JSON itself (SerializationException).
  }
  const tables = tableNames(request);
  for (const [kind, status, code, message] of KINDS) {
    for (const table of tables) {
      if (faults.inject(kind, table, operation)) return { status, body: { __type: `${NAMESPACE}#${code}`, message } };
    }
  }
  return undefined;
}
