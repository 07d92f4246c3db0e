/**
 * Shared fixtures for the handler tests: the environment the stack gives each function, a Lambda context,
 * API Gateway HTTP API (payload 2.0) events, SQS events carrying EventBridge envelopes built from the
 * event catalogue, and DynamoDB stream records of the orders table. Import this module first in a test file:
 * it sets the environment before any handler loads.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEventV2, Context, DynamoDBRecord, DynamoDBStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { EVENT_CATALOGUE, EventDetail, EventType, buildEvent } from '../../../functions/domain/events';
import { ENV } from '../../../functions/shared/env';
import type { StoredOrder } from '../../../functions/domain/ports';

export const TABLES = {
  orders: 'orders-table',
  inventory: 'inventory-table',
  idempotency: 'idempotency-table',
  notifications: 'notifications-table',
} as const;
export const EVENT_BUS = 'order-pipeline-bus';
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:order-notifications';
export const PAYMENT_WINDOW_SECONDS = 900;
export const RELAY_DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/order-pipeline-relay-dlq';

export const SWEEP = { stalePendingAfterSeconds: 900, maxRepublishAttempts: 3, maxOrdersPerRun: 50 } as const;

/** The variables the stack sets on the functions (names from ENV, never restated). */
export function setPipelineEnv(overrides: Partial<Record<keyof typeof ENV, string>> = {}): void {
  const values: Record<keyof typeof ENV, string> = {
    ordersTable: TABLES.orders,
    inventoryTable: TABLES.inventory,
    idempotencyTable: TABLES.idempotency,
    notificationsTable: TABLES.notifications,
    eventBus: EVENT_BUS,
    relayDeadLetterQueueUrl: RELAY_DLQ_URL,
    paymentWindowSeconds: String(PAYMENT_WINDOW_SECONDS),
    notificationChannel: 'table',
    notificationTopicArn: TOPIC_ARN,
    sweepStalePendingAfterSeconds: String(SWEEP.stalePendingAfterSeconds),
    sweepMaxRepublishAttempts: String(SWEEP.maxRepublishAttempts),
    sweepMaxOrdersPerRun: String(SWEEP.maxOrdersPerRun),
    ...overrides,
  };
  for (const [key, name] of Object.entries(ENV) as [keyof typeof ENV, string][]) process.env[name] = values[key];
}

setPipelineEnv();

// Metrics are disabled in tests, yet each invocation warns that it has none to publish: keep the output readable.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('No application metrics to publish')) return;
  warn(...args);
};

export function lambdaContext(functionName = 'order-pipeline-fn', remainingMs = 30_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export type Authorizer =
  | { jwt: { claims: Record<string, string>; scopes: string[] | null } }
  | { iam: { userArn: string; callerId: string; accountId: string; principalOrgId: null; accessKey: string; cognitoIdentity: null; userId: string } };

export const IAM_SERVICE: Authorizer = {
  iam: {
    userArn: 'arn:aws:sts::123456789012:assumed-role/checkout-service/session',
    callerId: 'AROAEXAMPLE:session',
    accountId: '123456789012',
    principalOrgId: null,
    accessKey: 'ASIAEXAMPLE',
    cognitoIdentity: null,
    userId: 'AROAEXAMPLE:session',
  },
};

export function jwtCustomer(sub: string, scope?: string): Authorizer {
  return { jwt: { claims: { sub, iss: 'https://issuer.example.com', ...(scope ? { scope } : {}) }, scopes: null } };
}

export interface HttpRequest {
  /** e.g. 'POST /orders/{orderId}/cancel' */
  routeKey: string;
  pathParameters?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  /** A raw body string (for invalid JSON); wins over `body`. */
  rawBody?: string;
  authorizer?: Authorizer | null;
  requestId?: string;
}

/**
 * An HTTP API payload 2.0 event. HTTP APIs hand Lambda the path and its parameters already percent-decoded, so
 * pathParameters hold the values as meant and rawPath is the route path with them filled in.
 */
export function httpEvent(request: HttpRequest): APIGatewayProxyEventV2 {
  const [method, path] = request.routeKey.split(' ');
  const rawPath = Object.entries(request.pathParameters ?? {}).reduce((p, [name, value]) => p.replace(`{${name}}`, value), path);
  const query = request.queryStringParameters;
  const requestId = request.requestId ?? `req-${randomUUID()}`;
  const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  const authorizer = request.authorizer === undefined ? IAM_SERVICE : request.authorizer;
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath,
    rawQueryString: query ? new URLSearchParams(query).toString() : '',
    headers: { 'content-type': 'application/json', host: 'api.example.com', ...(request.headers ?? {}) },
    ...(query ? { queryStringParameters: query } : {}),
    ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'jest' },
      requestId,
      routeKey: request.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      ...(authorizer ? { authorizer } : {}),
    } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body }),
  };
  return event;
}

/** The order-event detail fields every test shares (loose: for hand-made, possibly malformed details). */
export function eventDetail(orderId: string, extra: Record<string, unknown> = {}) {
  return { orderId, customerId: 'cust-1', correlationId: `corr-${orderId}`, ...extra };
}

/** What a test gives for an event: its detail without the ids and times every event of an order shares. */
export type DetailFields<T extends EventType> = Omit<EventDetail<T>, 'eventId' | 'occurredAt' | 'orderId' | 'customerId' | 'correlationId'> & { customerId?: string };

/** A catalogued event for an order (customer cust-1, correlation id corr-<orderId>), built by buildEvent and wrapped in
 * the EventBridge envelope a rule delivers to SQS. */
export function envelope<T extends EventType>(type: T, orderId: string, fields: DetailFields<T>, now = new Date()) {
  const detail = { ...eventDetail(orderId), ...fields } as Parameters<typeof buildEvent<T>>[1];
  return envelopeOf(type, buildEvent(type, detail, now).detail);
}

/** An envelope around an arbitrary detail (for malformed cases); source from the catalogue unless overridden. */
export function envelopeOf(type: string, detail: unknown, source?: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': type,
    source: source ?? (type in EVENT_CATALOGUE ? EVENT_CATALOGUE[type as EventType].source : 'unknown.source'),
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

export function sqsRecord(body: unknown, messageId: string = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:consumer-queue',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

export function conditionalFailure(item?: ConditionalCheckFailedException['Item']): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 }, ...(item ? { Item: item } : {}) });
}

/**
 * A cancelled TransactWriteItems, one reason per item in order (DynamoDB's `None` for items that were fine).
 * Items in reasons are AttributeValue maps, as DynamoDB returns them (the document client does not unmarshall errors).
 */
export function transactionCanceled(reasons: { Code: string; Item?: object }[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: reasons.map(({ Code, Item }) => ({ Code, ...(Item ? { Item: marshall(Item as Record<string, unknown>, { removeUndefinedValues: true }) } : {}) })),
  });
}

/** Contention: another transaction held one of the items (what the adapter retries, then reports as busy). */
export function transactionConflict(items: number): TransactionCanceledException {
  return transactionCanceled(Array.from({ length: items }, (_, i) => ({ Code: i === 0 ? 'TransactionConflict' : 'None' })));
}

/** An error DynamoDB may throw that is not a condition failure (it must propagate). */
export function throttled(): Error {
  return Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' });
}

/** An item as the table holds it (an order, with any bookkeeping attributes). */
export type StreamImage = object;

const marshallImage = (image: StreamImage) => marshall(image as Record<string, unknown>, { removeUndefinedValues: true }) as never;

/**
 * A record of the orders table's stream (NEW_AND_OLD_IMAGES), images marshalled as DynamoDB writes them:
 * INSERT has only a new image, MODIFY both, REMOVE only the old one.
 */
export function streamRecord(sequenceNumber: string, change: { old?: StreamImage; new?: StreamImage }): DynamoDBRecord {
  const image = (change.new ?? change.old!) as { orderId?: unknown };
  const eventName = change.old && change.new ? 'MODIFY' : change.new ? 'INSERT' : 'REMOVE';
  return {
    eventID: `evt-${sequenceNumber}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: `arn:aws:dynamodb:us-east-1:123456789012:table/${TABLES.orders}/stream/2026-01-01T00:00:00.000`,
    dynamodb: {
      ApproximateCreationDateTime: 1767225600,
      Keys: marshall({ orderId: image.orderId }) as never,
      ...(change.old ? { OldImage: marshallImage(change.old) } : {}),
      ...(change.new ? { NewImage: marshallImage(change.new) } : {}),
      SequenceNumber: sequenceNumber,
      SizeBytes: 512,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

export function streamEvent(...records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records };
}

export type { EventDetail };

/** A stored order as the handlers' adapters read and write it (items ITEMS unless overridden). */
export function storedOrderOf(orderId: string, items: { sku: string; quantity: number }[], overrides: Partial<StoredOrder> = {}): StoredOrder {
  return {
    orderId,
    customerId: 'cust-1',
    status: 'PENDING',
    items,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    statusChangedAt: '2026-01-01T00:00:00.000Z',
    requestHash: 'h',
    correlationId: `corr-${orderId}`,
    ...overrides,
  };
}
