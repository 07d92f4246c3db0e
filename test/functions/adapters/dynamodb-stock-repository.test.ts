import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ADJUSTMENT_RECORD_TTL_SECONDS, DynamoDbStockRepository } from '../../../functions/adapters/dynamodb-stock-repository';
import { IDEMPOTENCY_TABLE } from '../../../functions/adapters/table-schema';
import { T0, uid, useLocalTables } from '../domain/fixtures';

const tables = useLocalTables();
const repo = () => new DynamoDbStockRepository(tables().client, tables().names.inventory, tables().names.idempotency);
const at = new Date(T0);
const adjustment = (sku: string, delta: number, recordId = uid('stock-adjustment#rec'), requestHash = `h-${sku}-${delta}`) => ({ sku, delta, recordId, requestHash, at });

describe('set', () => {
  test('creates a SKU with counters at zero and version 1; a second create is "exists" and changes nothing', async () => {
    const sku = uid('sku');
    expect(await repo().set(sku, 10)).toEqual({ outcome: 'created', level: { sku, available: 10, reserved: 0, sold: 0, version: 1 } });
    expect(await repo().set(sku, 99)).toEqual({ outcome: 'exists', level: { sku, available: 10, reserved: 0, sold: 0, version: 1 } });
  });

  test('replaces available only at the version read, and moves the version', async () => {
    const sku = uid('sku');
    await repo().set(sku, 10);
    expect(await repo().set(sku, 25, 1)).toEqual({ outcome: 'replaced', level: { sku, available: 25, reserved: 0, sold: 0, version: 2 } });
    expect(await repo().set(sku, 40, 1)).toEqual({ outcome: 'version-mismatch', level: { sku, available: 25, reserved: 0, sold: 0, version: 2 } });
    expect((await repo().get(sku))?.available).toBe(25);
  });

  test('replacing a SKU that does not exist: version-mismatch without a level, nothing created', async () => {
    const sku = uid('sku');
    expect(await repo().set(sku, 5, 1)).toEqual({ outcome: 'version-mismatch', level: undefined });
    expect(await repo().get(sku)).toBeUndefined();
  });
});

describe('adjust', () => {
  test('adds and removes units, moving the version; a negative result is refused and nothing changes', async () => {
    const sku = uid('sku');
    await repo().set(sku, 10);
    expect(await repo().adjust(adjustment(sku, 5))).toEqual({ outcome: 'adjusted', level: { sku, available: 15, reserved: 0, sold: 0, version: 2 } });
    expect(await repo().adjust(adjustment(sku, -15))).toEqual({ outcome: 'adjusted', level: { sku, available: 0, reserved: 0, sold: 0, version: 3 } });
    expect(await repo().adjust(adjustment(sku, -1))).toEqual({ outcome: 'insufficient', level: { sku, available: 0, reserved: 0, sold: 0, version: 3 } });
  });

  test('once per record: the same adjustment again is a replay; the record carries a TTL', async () => {
    const sku = uid('sku');
    await repo().set(sku, 1);
    const once = adjustment(sku, 4);
    expect((await repo().adjust(once)).outcome).toBe('adjusted');
    expect(await repo().adjust(once)).toEqual({ outcome: 'replayed', level: { sku, available: 5, reserved: 0, sold: 0, version: 2 } });
    const { Item } = await tables().client.send(new GetCommand({ TableName: tables().names.idempotency, Key: { [IDEMPOTENCY_TABLE.partitionKey]: once.recordId } }));
    expect(Item).toMatchObject({ sku, delta: 4, [IDEMPOTENCY_TABLE.timeToLiveAttribute]: Math.floor(at.getTime() / 1000) + ADJUSTMENT_RECORD_TTL_SECONDS });
  });

  test('the same record for a different adjustment: key-reused, nothing changes', async () => {
    const sku = uid('sku');
    await repo().set(sku, 1);
    const first = adjustment(sku, 4);
    await repo().adjust(first);
    expect(await repo().adjust({ ...first, delta: 9, requestHash: 'other' })).toEqual({ outcome: 'key-reused' });
    expect((await repo().get(sku))?.available).toBe(5);
  });

  test('an unknown SKU: unknown-sku, and neither the SKU nor the record is written', async () => {
    const sku = uid('sku');
    const once = adjustment(sku, 3);
    expect(await repo().adjust(once)).toEqual({ outcome: 'unknown-sku' });
    expect(await repo().get(sku)).toBeUndefined();
    const { Item } = await tables().client.send(new GetCommand({ TableName: tables().names.idempotency, Key: { [IDEMPOTENCY_TABLE.partitionKey]: once.recordId } }));
    expect(Item).toBeUndefined();
  });
});

test('get of a SKU nobody stocked is undefined', async () => {
  expect(await repo().get(uid('sku'))).toBeUndefined();
});
