/**
 * The notification consumer with NOTIFICATION_CHANNEL=sns: SNS does not deduplicate, so each send is wrapped in
 * Powertools idempotency keyed on orderId#eventType, persisted in the idempotency table via DynamoDBClient.
 */
import { TABLES, TOPIC_ARN, envelope, lambdaContext, setPipelineEnv, sqsEvent, sqsRecord, conditionalFailure } from '../shared/fixtures';

import { createHash } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { handler } from '../../../functions/notification/handler';
import { IDEMPOTENCY_TABLE } from '../../../functions/adapters/table-schema';

const FUNCTION_NAME = 'order-pipeline-notification';
// Powertools prefixes idempotency keys with the function name, read when the persistence layer is created (first event).
process.env.AWS_LAMBDA_FUNCTION_NAME = FUNCTION_NAME;
setPipelineEnv({ notificationChannel: 'sns' });

const rawDynamo = mockClient(DynamoDBClient);
const documents = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);

const ITEMS = [{ sku: 'sku-apple', quantity: 2 }];
const invoke = (event: SQSEvent) => handler(event, lambdaContext(FUNCTION_NAME, 45_000));
const reserved = (orderId: string, messageId = `msg-${orderId}`) => sqsRecord(envelope('InventoryReserved', orderId, { items: ITEMS }), messageId);

/** Powertools' key: `<function name>#<md5, base64, of the JSON of what eventKeyJmesPath selects>` (here orderId#eventType). */
const idempotencyKey = (notificationKey: string) => `${FUNCTION_NAME}#${createHash('md5').update(JSON.stringify(notificationKey)).digest('base64')}`;

const futureSeconds = () => Math.floor(Date.now() / 1000) + 3600;

beforeEach(() => {
  rawDynamo.reset();
  documents.reset();
  sns.reset();
  rawDynamo.on(PutItemCommand).resolves({});
  rawDynamo.on(UpdateItemCommand).resolves({});
  rawDynamo.on(DeleteItemCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
});

test('the idempotency record (keyed on orderId#eventType) is written before SNS publishes, then completed', async () => {
  const response = await invoke(sqsEvent(reserved('ord_1')));

  expect(response.batchItemFailures).toEqual([]);

  const puts = rawDynamo.commandCalls(PutItemCommand);
  expect(puts).toHaveLength(1);
  const put = puts[0].args[0].input;
  expect(put.TableName).toBe(TABLES.idempotency);
  const record = unmarshall(put.Item!);
  expect(record[IDEMPOTENCY_TABLE.partitionKey]).toBe(idempotencyKey('ord_1#InventoryReserved'));
  expect(record.status).toBe('INPROGRESS');
  expect(record[IDEMPOTENCY_TABLE.timeToLiveAttribute]).toBeGreaterThan(Date.now() / 1000 + 6 * 24 * 3600);
  // The in-progress lock lasts as long as this invocation may still run.
  expect(Number(record.in_progress_expiration)).toBeGreaterThan(Date.now());
  expect(Number(record.in_progress_expiration)).toBeLessThanOrEqual(Date.now() + 45_000);
  expect(put.ConditionExpression).toContain('attribute_not_exists(#id)');

  const publishes = sns.commandCalls(PublishCommand);
  expect(publishes).toHaveLength(1);
  expect(puts[0].calledBefore(publishes[0])).toBe(true);
  expect(publishes[0].args[0].input).toEqual({
    TopicArn: TOPIC_ARN,
    Subject: 'Order ord_1 confirmed',
    Message: expect.stringContaining('reserved'),
    MessageAttributes: {
      customerId: { DataType: 'String', StringValue: 'cust-1' },
      orderId: { DataType: 'String', StringValue: 'ord_1' },
      eventType: { DataType: 'String', StringValue: 'InventoryReserved' },
    },
  });

  const completions = rawDynamo.commandCalls(UpdateItemCommand);
  expect(completions).toHaveLength(1);
  expect(publishes[0].calledBefore(completions[0])).toBe(true);
  const completion = completions[0].args[0].input;
  expect(completion.TableName).toBe(TABLES.idempotency);
  expect(unmarshall(completion.Key!)).toEqual({ [IDEMPOTENCY_TABLE.partitionKey]: idempotencyKey('ord_1#InventoryReserved') });
  expect(unmarshall(completion.ExpressionAttributeValues!)).toMatchObject({ ':status': 'COMPLETED', ':response_data': { action: 'notified' } });

  // The notifications table is not the channel here.
  expect(documents.calls()).toHaveLength(0);
});

test('a second identical event finds the COMPLETED record and does not publish again', async () => {
  const key = idempotencyKey('ord_1#InventoryReserved');
  const completed = marshall({ id: key, status: 'COMPLETED', expiration: futureSeconds(), data: { action: 'notified' } });
  rawDynamo.on(PutItemCommand).rejects(conditionalFailure(completed));

  const response = await invoke(sqsEvent(reserved('ord_1', 'msg-redelivered')));

  expect(response.batchItemFailures).toEqual([]);
  expect(unmarshall(rawDynamo.commandCalls(PutItemCommand)[0].args[0].input.Item!).id).toBe(key);
  expect(sns.calls()).toHaveLength(0);
  expect(rawDynamo.commandCalls(UpdateItemCommand)).toHaveLength(0);
});

test('without the old record in the condition failure, Powertools reads it and still does not publish', async () => {
  const key = idempotencyKey('ord_1#InventoryReserved');
  rawDynamo.on(PutItemCommand).rejects(conditionalFailure());
  rawDynamo.on(GetItemCommand).resolves({ Item: marshall({ id: key, status: 'COMPLETED', expiration: futureSeconds(), data: { action: 'notified' } }) });

  const response = await invoke(sqsEvent(reserved('ord_1')));

  expect(response.batchItemFailures).toEqual([]);
  expect(rawDynamo.commandCalls(GetItemCommand)[0].args[0].input).toMatchObject({ TableName: TABLES.idempotency, Key: { id: { S: key } }, ConsistentRead: true });
  expect(sns.calls()).toHaveLength(0);
});

test('the same event being sent by another invocation right now: the record fails, to be retried, and SNS is not called for it', async () => {
  const key = idempotencyKey('ord_1#InventoryReserved');
  const inProgress = marshall({ id: key, status: 'INPROGRESS', expiration: futureSeconds(), in_progress_expiration: Date.now() + 60_000 });
  rawDynamo.on(PutItemCommand, { Item: { id: { S: key } } }).rejects(conditionalFailure(inProgress));

  const response = await invoke(sqsEvent(reserved('ord_1'), reserved('ord_2')));

  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-ord_1' }]);
  expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.MessageAttributes?.orderId.StringValue)).toEqual(['ord_2']);
});

test('an SNS failure fails the record and removes the in-progress record so the retry can send', async () => {
  sns.on(PublishCommand, { MessageAttributes: { orderId: { DataType: 'String', StringValue: 'ord_boom' } } }).rejects(new Error('SNS unavailable'));

  const response = await invoke(sqsEvent(reserved('ord_ok'), reserved('ord_boom')));

  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-ord_boom' }]);
  const deletes = rawDynamo.commandCalls(DeleteItemCommand);
  expect(deletes).toHaveLength(1);
  expect(unmarshall(deletes[0].args[0].input.Key!)).toEqual({ id: idempotencyKey('ord_boom#InventoryReserved') });
  expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.MessageAttributes?.orderId.StringValue)).toEqual(['ord_ok', 'ord_boom']);
});

test('different event types for one order are different keys: both are sent', async () => {
  const response = await invoke(
    sqsEvent(reserved('ord_1'), sqsRecord(envelope('OrderPaid', 'ord_1', { items: ITEMS, paymentId: 'pay-1' }), 'msg-paid')),
  );
  expect(response.batchItemFailures).toEqual([]);
  const ids = rawDynamo.commandCalls(PutItemCommand).map((c) => unmarshall(c.args[0].input.Item!).id);
  expect(ids).toEqual([idempotencyKey('ord_1#InventoryReserved'), idempotencyKey('ord_1#OrderPaid')]);
  expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
});

test('a malformed record next to a good one: only it fails, the good one is sent once', async () => {
  const response = await invoke(sqsEvent(sqsRecord('{"detail-type": 42}', 'msg-bad'), reserved('ord_1')));
  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-bad' }]);
  expect(rawDynamo.commandCalls(PutItemCommand)).toHaveLength(1);
  expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
});
