/**
 * Shared set-up for the domain tests: the real DynamoDB adapters on DynamoDB Local (tables per test file), a RecordingPublisher and
 * a ManualClock. Not a test file itself (no `.test.ts`).
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbOrderRepository } from '../../../functions/adapters/dynamodb-order-repository';
import { DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';
import { Caller } from '../../../functions/domain/caller';
import { OrderLine } from '../../../functions/domain/order';
import { StoredOrder } from '../../../functions/domain/ports';
import { LocalTables, LocalTablesOptions, startLocalTables } from '../../support/local-tables';
import { ManualClock, RecordingPublisher } from '../../support/recording-publisher';

export const T0 = '2026-01-01T00:00:00.000Z';

let seq = 0;
/** Unique per test file run (each file has its own tables, so this is enough to keep tests apart). */
export function uid(prefix: string): string {
  seq += 1;
  return `${prefix}-${seq}`;
}

export const service = (principal = 'svc-test'): Caller => ({ kind: 'service', principal });
export const customer = (customerId: string, scopes: string[] = []): Caller => ({ kind: 'customer', customerId, scopes });

/** Creates the calling test file's tables (beforeAll/afterAll) and returns a getter for them. */
export function useLocalTables(options: LocalTablesOptions = {}): () => LocalTables {
  let tables: LocalTables | undefined;
  beforeAll(async () => {
    tables = await startLocalTables(options);
  });
  afterAll(async () => {
    await tables?.stop();
  });
  return () => {
    if (!tables) throw new Error('local tables are not started');
    return tables;
  };
}

export interface World {
  tables: LocalTables;
  orders: DynamoDbOrderRepository;
  stock: DynamoDbStockRepository;
  events: RecordingPublisher;
  clock: ManualClock;
}

/** Fresh publisher and clock over the file's tables: call it at the start of each test. */
export function world(tables: LocalTables, clock = new ManualClock(new Date(T0))): World {
  return {
    tables,
    orders: new DynamoDbOrderRepository(tables.client, tables.names.orders, tables.names.inventory),
    stock: new DynamoDbStockRepository(tables.client, tables.names.inventory, tables.names.idempotency),
    events: new RecordingPublisher(),
    clock,
  };
}

/** Awaits a promise that must reject with an instance of `type`, and returns the error for further checks. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: any[]) => E): Promise<E> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, but the promise resolved with ${JSON.stringify(outcome)}`);
}

/** How many items a table holds (a scan: fine for a test table). */
export async function countItems(tables: LocalTables, tableName: string): Promise<number> {
  const { Count } = await tables.client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }));
  return Count ?? 0;
}

export function linesOf(count: number, prefix = 'sku'): OrderLine[] {
  return Array.from({ length: count }, (_, i) => ({ sku: `${prefix}-${i}`, quantity: 1 }));
}

/** A stored order as the repository expects it, for adapter-level set-up. */
export function storedOrder(overrides: Partial<StoredOrder> = {}): StoredOrder {
  const at = overrides.createdAt ?? T0;
  return {
    orderId: uid('ord'),
    customerId: uid('cust'),
    status: 'PENDING',
    items: [{ sku: 'sku-1', quantity: 1 }],
    createdAt: at,
    updatedAt: at,
    statusChangedAt: at,
    requestHash: 'hash',
    correlationId: 'corr-1',
    ...overrides,
  };
}

/**
 * Tests that query "older than" indexes share one table per file; each such test takes an era one year EARLIER than
 * the previous one, so what earlier tests wrote is never "before" its own cut-off.
 */
export function eraClocks(startYear: number): () => ManualClock {
  let year = startYear;
  return () => new ManualClock(new Date(`${year--}-01-01T00:00:00.000Z`));
}

/**
 * The repository as a step sees it when another step's write lands between its read and its first status write:
 * `race` runs once, right before that write.
 */
export function racedOnce<R extends { transition: (...args: never[]) => Promise<unknown> }>(orders: R, race: () => Promise<unknown>): R {
  let raced = false;
  const racing = Object.create(orders) as R;
  racing.transition = (async (...args: Parameters<R['transition']>) => {
    if (!raced) {
      raced = true;
      await race();
    }
    return orders.transition(...args);
  }) as R['transition'];
  return racing;
}
