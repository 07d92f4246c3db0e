import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AdjustResult, SetStockResult, StockAdjustment, StockLevel, StockRepository } from '../domain/ports';
import { isConditionFailure } from './dynamodb-order-repository';
import { IDEMPOTENCY_TABLE, INVENTORY_TABLE } from './table-schema';
import { TransactionRetry, transactWrite } from './transactions';

const PK = INVENTORY_TABLE.partitionKey;

/** How long an adjustment's once-only record outlives it: far beyond any client's retries. */
export const ADJUSTMENT_RECORD_TTL_SECONDS = 30 * 24 * 3600;

/**
 * One small item per SKU: `available`, `reserved` (held for RESERVED orders), `sold` (PAID orders) and `version`.
 * No per-order data: a write costs the same with one open reservation or fifty thousand. Reservations, releases
 * and sales change these counters inside the order's own transaction (DynamoDbOrderRepository); here are the
 * operator's writes, each conditional so that no concurrent reservation is ever overwritten.
 */
export class DynamoDbStockRepository implements StockRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Where adjustments keep their once-only records (the idempotency table). */
    private readonly recordsTableName = '',
    private readonly retry: TransactionRetry = {},
  ) {}

  async get(sku: string): Promise<StockLevel | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { [PK]: sku }, ConsistentRead: true }));
    return Item ? level(Item) : undefined;
  }

  async set(sku: string, available: number, ifVersion?: number): Promise<SetStockResult> {
    if (ifVersion === undefined) {
      const created = { [PK]: sku, available, reserved: 0, sold: 0, version: 1 };
      try {
        await this.client.send(new PutCommand({ TableName: this.tableName, Item: created, ConditionExpression: 'attribute_not_exists(#sku)', ExpressionAttributeNames: { '#sku': PK } }));
        return { outcome: 'created', level: level(created) };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return { outcome: 'exists', level: await this.get(sku) };
      }
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: sku },
          UpdateExpression: 'SET available = :available, version = version + :one',
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: { ':available': available, ':version': ifVersion, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { outcome: 'replaced', level: level(Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { outcome: 'version-mismatch', level: await this.get(sku) };
    }
  }

  /** The record and the change in one transaction: a retry after a crash finds the record and changes nothing. */
  async adjust(adjustment: StockAdjustment): Promise<AdjustResult> {
    if (!this.recordsTableName) throw new Error('this stock repository was built without the idempotency table: it cannot adjust stock');
    const { sku, delta, recordId, requestHash, at } = adjustment;
    const reasons = await transactWrite(this.client, [
      {
        Put: {
          TableName: this.recordsTableName,
          Item: {
            [IDEMPOTENCY_TABLE.partitionKey]: recordId,
            sku,
            delta,
            requestHash,
            at: at.toISOString(),
            [IDEMPOTENCY_TABLE.timeToLiveAttribute]: Math.floor(at.getTime() / 1000) + ADJUSTMENT_RECORD_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': IDEMPOTENCY_TABLE.partitionKey },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: { [PK]: sku },
          UpdateExpression: 'SET available = available + :delta, version = version + :one',
          ConditionExpression: 'attribute_exists(#sku) AND available >= :floor',
          ExpressionAttributeNames: { '#sku': PK },
          // available + delta >= 0, written as available >= -delta.
          ExpressionAttributeValues: { ':delta': delta, ':one': 1, ':floor': -delta },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ], this.retry);
    if (!reasons) return { outcome: 'adjusted', level: (await this.get(sku))! };
    const [record, stock] = reasons;
    if (record?.Code === 'ConditionalCheckFailed') {
      // An engine that does not return the item on a failed condition: read the record.
      const existing = record.Item
        ? unmarshall(record.Item as never)
        : (await this.client.send(new GetCommand({ TableName: this.recordsTableName, Key: { [IDEMPOTENCY_TABLE.partitionKey]: recordId }, ConsistentRead: true }))).Item;
      if (!existing || existing.requestHash !== requestHash || existing.sku !== sku) return { outcome: 'key-reused' };
      return { outcome: 'replayed', level: (await this.get(sku))! };
    }
    if (!stock?.Item) return { outcome: 'unknown-sku' };
    return { outcome: 'insufficient', level: level(unmarshall(stock.Item as never)) };
  }
}

function level(item: Record<string, unknown>): StockLevel {
  return { sku: String(item[PK]), available: Number(item.available ?? 0), reserved: Number(item.reserved ?? 0), sold: Number(item.sold ?? 0), version: Number(item.version ?? 0) };
}
