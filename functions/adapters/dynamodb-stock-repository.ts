import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ReserveResult, StockLevel, StockRepository } from '../domain/ports';
import { isConditionFailure } from './dynamodb-order-repository';
import { INVENTORY_TABLE } from './table-schema';

const PK = INVENTORY_TABLE.partitionKey;

/**
 * One item per SKU: `available`, `reserved`, and `holds` (order id -> quantity held). The hold is what makes
 * each change idempotent in its own conditional write: an order takes from a SKU at most once, gives back at most once.
 */
export class DynamoDbStockRepository implements StockRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async reserve(sku: string, orderId: string, quantity: number): Promise<ReserveResult> {
    try {
      await this.update(sku, {
        UpdateExpression: 'SET available = available - :q, reserved = reserved + :q, holds.#order = :q',
        ConditionExpression: 'attribute_exists(#pk) AND available >= :q AND attribute_not_exists(holds.#order)',
        ExpressionAttributeNames: { '#pk': PK, '#order': orderId },
        ExpressionAttributeValues: { ':q': quantity },
      });
      return 'reserved';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Which condition failed: a consistent read tells (the local engine ignores ReturnValuesOnConditionCheckFailure).
      const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { [PK]: sku }, ConsistentRead: true }));
      if (!Item) return 'unknown-sku';
      if (Item.holds?.[orderId] !== undefined) return 'already-reserved';
      return 'insufficient';
    }
  }

  release(sku: string, orderId: string, quantity: number): Promise<boolean> {
    return this.applyToHold(sku, orderId, quantity, 'SET available = available + :q, reserved = reserved - :q REMOVE holds.#order');
  }

  settle(sku: string, orderId: string, quantity: number): Promise<boolean> {
    return this.applyToHold(sku, orderId, quantity, 'SET reserved = reserved - :q REMOVE holds.#order');
  }

  async set(sku: string, available: number): Promise<StockLevel> {
    const { Attributes } = await this.update(sku, {
      UpdateExpression: 'SET available = :available, reserved = if_not_exists(reserved, :zero), holds = if_not_exists(holds, :none)',
      ExpressionAttributeValues: { ':available': available, ':zero': 0, ':none': {} },
      ReturnValues: 'ALL_NEW',
    });
    return level(Attributes!);
  }

  async get(sku: string): Promise<StockLevel | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { [PK]: sku }, ConsistentRead: true }));
    return Item ? level(Item) : undefined;
  }

  private async applyToHold(sku: string, orderId: string, quantity: number, updateExpression: string): Promise<boolean> {
    try {
      await this.update(sku, {
        UpdateExpression: updateExpression,
        ConditionExpression: 'holds.#order = :q',
        ExpressionAttributeNames: { '#order': orderId },
        ExpressionAttributeValues: { ':q': quantity },
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private update(sku: string, input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>) {
    return this.client.send(new UpdateCommand({ TableName: this.tableName, Key: { [PK]: sku }, ...input }));
  }
}

function level(item: Record<string, unknown>): StockLevel {
  return { sku: String(item[PK]), available: Number(item.available ?? 0), reserved: Number(item.reserved ?? 0) };
}
