import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../domain/errors';
import { EventType } from '../domain/events';
import { OrderStatus } from '../domain/order';
import { OrderPage, OrderRepository, StoredOrder, TransitionRequest } from '../domain/ports';
import { ORDERS_TABLE } from './table-schema';

const { partitionKey: PK, indexes } = ORDERS_TABLE;

/** True for a conditional write that did not apply; every other error propagates. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

export class DynamoDbOrderRepository implements OrderRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(order: StoredOrder): Promise<'created' | 'exists'> {
    try {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: order, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } }));
      return 'created';
    } catch (error) {
      if (isConditionFailure(error)) return 'exists';
      throw error;
    }
  }

  async get(orderId: string): Promise<StoredOrder | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { [PK]: orderId }, ConsistentRead: true }));
    return Item as StoredOrder | undefined;
  }

  async listByCustomer(customerId: string, limit: number, cursor?: string): Promise<OrderPage> {
    const index = indexes.byCustomer;
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: '#pk = :customerId',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: { ':customerId': customerId },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor === undefined ? undefined : decodeCursor(cursor, customerId),
      }),
    );
    return { orders: Items as StoredOrder[], cursor: LastEvaluatedKey ? encodeCursor(LastEvaluatedKey) : undefined };
  }

  async transition(request: TransitionRequest): Promise<StoredOrder | undefined> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':to': request.to, ':at': request.at.toISOString() };
    const sets = ['#status = :to', 'updatedAt = :at', 'statusChangedAt = :at'];
    Object.entries(request.set ?? {}).forEach(([key, value], i) => {
      names[`#s${i}`] = key;
      values[`:s${i}`] = value;
      sets.push(`#s${i} = :s${i}`);
    });
    const from = request.from.map((status, i) => {
      values[`:from${i}`] = status;
      return `:from${i}`;
    });
    let condition = `#status IN (${from.join(', ')})`;
    if (request.deadlinePassedAt) {
      values[':deadline'] = request.deadlinePassedAt.toISOString();
      condition += ' AND paymentDeadline <= :deadline';
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: request.orderId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as StoredOrder;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async markUnpublished(orderId: string, type: EventType): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: orderId },
        UpdateExpression: 'SET unpublishedEvent = :type',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':type': type },
      }),
    );
  }

  async clearUnpublished(orderId: string, type: EventType): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: orderId },
          UpdateExpression: 'REMOVE unpublishedEvent',
          ConditionExpression: 'unpublishedEvent = :type',
          ExpressionAttributeValues: { ':type': type },
        }),
      );
    } catch (error) {
      // Another writer marked a different event meanwhile: leave its mark for the next sweep.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async countRepublish(orderId: string, max: number, at: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: orderId },
          UpdateExpression: 'SET republishCount = if_not_exists(republishCount, :zero) + :one, updatedAt = :at',
          ConditionExpression: '#status = :pending AND (attribute_not_exists(republishCount) OR republishCount < :max)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':at': at.toISOString(), ':pending': 'PENDING', ':max': max },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async findInStatusSince(status: OrderStatus, before: Date, limit: number): Promise<StoredOrder[]> {
    return this.queryOlderThan(indexes.byStatus, status, before, limit);
  }

  async findUnpublished(type: EventType, before: Date, limit: number): Promise<StoredOrder[]> {
    return this.queryOlderThan(indexes.byUnpublishedEvent, type, before, limit);
  }

  private async queryOlderThan(index: { name: string; partitionKey: string; sortKey: string }, key: string, before: Date, limit: number): Promise<StoredOrder[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: '#pk = :key AND #sk < :before',
        ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey },
        ExpressionAttributeValues: { ':key': key, ':before': before.toISOString() },
        ScanIndexForward: true,
        Limit: limit,
      }),
    );
    return Items as StoredOrder[];
  }
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string, customerId: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // A token from another customer's listing would start the page elsewhere: refuse it.
    // Exactly the key a byCustomer page ends on (else DynamoDB refuses it: a 500, not a 400).
    const { partitionKey, sortKey } = indexes.byCustomer;
    if (key && typeof key === 'object' && key[partitionKey] === customerId && typeof key[PK] === 'string' && typeof key[sortKey] === 'string' && Object.keys(key).length === 3) return key;
  } catch {
    /* fall through */
  }
  throw new ValidationError([{ field: 'nextToken', message: 'nextToken is not a token this listing returned' }]);
}
