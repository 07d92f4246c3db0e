import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError } from '../domain/errors';
import { orderIdSchema } from '../domain/schemas';
import { OrderLine, OrderStatus } from '../domain/order';
import { OPEN_STATUSES, OpenOrder, OpenStatus, OrderPage, OrderRepository, StockEffect, StoredOrder, TransitionRequest, TransitionResult } from '../domain/ports';
import { INVENTORY_TABLE, ORDERS_TABLE } from './table-schema';
import { TransactionRetry, transactWrite } from './transactions';

const { partitionKey: PK, indexes } = ORDERS_TABLE;

/** True for a conditional write that did not apply; every other error propagates. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** What each stock effect does to a SKU item, and what must hold for it (never below zero). */
const STOCK_UPDATES: Record<StockEffect, { update: string; condition: string }> = {
  reserve: { update: 'SET available = available - :q, reserved = reserved + :q, version = version + :one', condition: 'attribute_exists(#sku) AND available >= :q' },
  release: { update: 'SET available = available + :q, reserved = reserved - :q, version = version + :one', condition: 'reserved >= :q' },
  settle: { update: 'SET reserved = reserved - :q, sold = sold + :q, version = version + :one', condition: 'reserved >= :q' },
};


/**
 * Orders, and the stock their status changes move. A status change with a stock effect is one TransactWriteItems:
 * the order's conditional update plus one conditional update per line's SKU item (at most 1 + 50 of the 100 items
 * a transaction may hold). SKU items hold counters only, so their write cost never grows with open reservations.
 */
export class DynamoDbOrderRepository implements OrderRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly inventoryTableName = '',
    /** How a transaction cancelled for contention is retried (DynamoDB's TransactionConflict). */
    private readonly retry: TransactionRetry = {},
  ) {}

  async create(order: StoredOrder): Promise<'created' | 'exists'> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: { ...order, openStatus: order.status }, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } }),
      );
      return 'created';
    } catch (error) {
      if (isConditionFailure(error)) return 'exists';
      throw error;
    }
  }

  async get(orderId: string): Promise<StoredOrder | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { [PK]: orderId }, ConsistentRead: true }));
    return Item ? stored(Item) : undefined;
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
    // The index holds keys only (a status change does not rewrite it): the orders themselves are read here.
    const byId = await this.getMany(Items.map((item) => String(item[PK])));
    const orders = Items.map((item) => byId.get(String(item[PK]))).filter((o): o is StoredOrder => o !== undefined);
    return { orders, cursor: LastEvaluatedKey ? encodeCursor(LastEvaluatedKey) : undefined };
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    const update = this.orderUpdate(request);
    if (!request.stock) {
      try {
        const { Attributes } = await this.client.send(new UpdateCommand({ ...update, ReturnValues: 'ALL_NEW', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
        return { ok: true, order: stored(Attributes!) };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const item = (error as ConditionalCheckFailedException).Item;
        // An engine that does not return the item on a failed condition: read it.
        return { ok: false, reason: 'status', current: item ? stored(unmarshall(item as never)) : await this.get(request.orderId) };
      }
    }
    if (!this.inventoryTableName) throw new Error('this order repository was built without the inventory table: it cannot move stock');
    const lines = request.stock.lines;
    const items = [{ Update: { ...update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } }, ...lines.map((line) => ({ Update: this.stockUpdate(request.stock!.effect, line) }))];
    const reasons = await transactWrite(this.client, items, this.retry);
    if (!reasons) return { ok: true };
    const [order, ...skus] = reasons;
    if (order?.Code === 'ConditionalCheckFailed') {
      return { ok: false, reason: 'status', current: order.Item ? stored(unmarshall(order.Item as never)) : await this.get(request.orderId) };
    }
    const short = skus.findIndex((r) => r.Code === 'ConditionalCheckFailed');
    const sku = lines[short]!.sku;
    const exists = skus[short]!.Item ? true : await this.skuExists(sku);
    return { ok: false, reason: 'stock', sku, shortage: exists ? 'OUT_OF_STOCK' : 'UNKNOWN_SKU' };
  }

  async countRepublish(orderId: string, max: number, at: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: orderId },
          UpdateExpression: 'SET republishCount = if_not_exists(republishCount, :zero) + :one, republishedAt = :at, updatedAt = :at',
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

  async findInStatusSince(status: OpenStatus, before: Date, limit: number): Promise<OpenOrder[]> {
    const index = indexes.openOrders;
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: '#pk = :key AND #sk < :before',
        ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey },
        ExpressionAttributeValues: { ':key': status, ':before': before.toISOString() },
        ScanIndexForward: true,
        Limit: limit,
      }),
    );
    return Items.map((item) => ({ orderId: String(item[PK]), statusChangedAt: String(item.statusChangedAt), ...(item.paymentDeadline ? { paymentDeadline: String(item.paymentDeadline) } : {}) }));
  }

  /** The order's conditional status write; `openStatus` (the sparse sweep index's key) follows the status. */
  private orderUpdate(request: TransitionRequest) {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':to': request.to, ':at': request.at.toISOString() };
    const sets = ['#status = :to', 'updatedAt = :at', 'statusChangedAt = :at'];
    Object.entries(request.set ?? {}).forEach(([key, value], i) => {
      names[`#s${i}`] = key;
      values[`:s${i}`] = value;
      sets.push(`#s${i} = :s${i}`);
    });
    const open = (OPEN_STATUSES as readonly OrderStatus[]).includes(request.to);
    if (open) sets.push('openStatus = :to');
    const from = request.from.map((status, i) => {
      values[`:from${i}`] = status;
      return `:from${i}`;
    });
    let condition = `#status IN (${from.join(', ')})`;
    if (request.deadlinePassedAt) {
      values[':deadline'] = request.deadlinePassedAt.toISOString();
      condition += ' AND paymentDeadline <= :deadline';
    }
    return {
      TableName: this.tableName,
      Key: { [PK]: request.orderId },
      UpdateExpression: `SET ${sets.join(', ')}${open ? '' : ' REMOVE openStatus'}`,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  private stockUpdate(effect: StockEffect, line: OrderLine) {
    const { update, condition } = STOCK_UPDATES[effect];
    return {
      TableName: this.inventoryTableName,
      Key: { [INVENTORY_TABLE.partitionKey]: line.sku },
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeValues: { ':q': line.quantity, ':one': 1 },
      ...(condition.includes('#sku') ? { ExpressionAttributeNames: { '#sku': INVENTORY_TABLE.partitionKey } } : {}),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
  }

  private async skuExists(sku: string): Promise<boolean> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.inventoryTableName, Key: { [INVENTORY_TABLE.partitionKey]: sku }, ProjectionExpression: '#sku', ExpressionAttributeNames: { '#sku': INVENTORY_TABLE.partitionKey } }));
    return Item !== undefined;
  }

  private async getMany(orderIds: string[]): Promise<Map<string, StoredOrder>> {
    const found = new Map<string, StoredOrder>();
    let keys = orderIds.map((orderId) => ({ [PK]: orderId }));
    for (let attempt = 0; keys.length && attempt < 8; attempt++) {
      if (attempt) await sleep(Math.random() * 20 * 2 ** attempt);
      const { Responses = {}, UnprocessedKeys = {} } = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }));
      for (const item of Responses[this.tableName] ?? []) found.set(String(item[PK]), stored(item));
      keys = (UnprocessedKeys[this.tableName]?.Keys ?? []) as typeof keys;
    }
    if (keys.length) throw new Error(`could not read ${keys.length} orders of the listing (throttled)`);
    return found;
  }
}

/** The stored order without the index bookkeeping. */
function stored(item: Record<string, unknown>): StoredOrder {
  const { openStatus: _open, ...order } = item;
  return order as unknown as StoredOrder;
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
    // Its values too: an empty or oversized key value is a ValidationException (a 500) as well.
    const isTimestamp = (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
    if (key && typeof key === 'object' && key[partitionKey] === customerId && orderIdSchema.safeParse(key[PK]).success && isTimestamp(key[sortKey]) && Object.keys(key).length === 3) return key;
  } catch {
    /* fall through */
  }
  throw new ValidationError([{ field: 'nextToken', message: 'nextToken is not a token this listing returned' }]);
}
