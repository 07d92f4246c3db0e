/**
 * Counts what an order costs on AWS from what the code actually sends, priced by the documented billing rules:
 * - DynamoDB on demand (developer guide, "Read/write capacity mode" and "Transactions: capacity management"):
 *   a write costs ceil(size / 1 KB) of the larger of the item before and after, at least 1, also when its condition
 *   fails; in TransactWriteItems every item costs twice that; a strongly consistent read ceil(size / 4 KB), an
 *   eventually consistent one half; a Query the summed size of what it returns. Each global secondary index costs
 *   its own writes: an entry added or removed is one write of the projected size, a changed key is a delete plus a
 *   put (two), a changed projected attribute one, an update touching nothing projected none.
 * - Item sizes from test/support/item-size.ts (attribute names plus values).
 * - Events, SQS requests and invocations are counted by the saga harness (test/support/saga-system.ts).
 * DynamoDB Local's ReturnConsumedCapacity is not used: it undercounts transactions (2 units where AWS bills 4).
 */
import { PRICES as LIST } from '../../bench/prices';
import { GetCommand, QueryCommand, TransactWriteCommand, BatchGetCommand, PutCommand, UpdateCommand, DynamoDBDocumentClient, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { itemSize } from './item-size';

export interface IndexModel {
  name: string;
  partitionKey: string;
  sortKey?: string;
  /** Projected non-key attributes; 'ALL' for every attribute. */
  projects: readonly string[] | 'ALL';
}

export interface TableModel {
  keys: readonly string[];
  indexes: readonly IndexModel[];
}

export interface CostLine {
  what: string;
  count: number;
  unit: 'write units' | 'read units' | 'events' | 'SQS requests' | 'invocations' | 'HTTP requests';
}

type Item = Record<string, unknown> | undefined;

const KB = 1024;
const writeUnits = (item: Item) => (item ? Math.max(1, Math.ceil(itemSize(marshall(item, { removeUndefinedValues: true })) / KB)) : 1);
const readUnits = (bytes: number, consistent: boolean) => (consistent ? 1 : 0.5) * Math.max(1, Math.ceil(bytes / (4 * KB)));

export class CostMeter {
  readonly lines: CostLine[] = [];
  private running = false;

  constructor(
    private readonly raw: DynamoDBDocumentClient,
    private readonly tables: Record<string, TableModel>,
  ) {}

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
  }

  count(what: string, count: number, unit: CostLine['unit']): void {
    if (!this.running || count === 0) return;
    const line = this.lines.find((l) => l.what === what && l.unit === unit);
    if (line) line.count += count;
    else this.lines.push({ what, count, unit });
  }

  total(unit: CostLine['unit']): number {
    return this.lines.filter((l) => l.unit === unit).reduce((sum, l) => sum + l.count, 0);
  }

  /** The client a function of this name uses: its calls are counted under its name. */
  wrap(client: DynamoDBDocumentClient, fn: string): DynamoDBDocumentClient {
    return new Proxy(client, {
      get: (target, property, receiver) => {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          if (!this.running) return target.send(command as never);
          const writes = this.writesOf(command);
          const before = await Promise.all(writes.map((w) => this.read(w.table, w.key)));
          let result: unknown;
          let failure: unknown;
          try {
            result = await target.send(command as never);
          } catch (error) {
            failure = error;
          }
          const after = failure ? before : await Promise.all(writes.map((w) => this.read(w.table, w.key)));
          this.bill(fn, command, writes, before, after, result, failure !== undefined);
          if (failure) throw failure;
          return result;
        };
      },
    });
  }

  private bill(fn: string, command: unknown, writes: { table: string; key: Record<string, unknown> }[], before: Item[], after: Item[], result: unknown, failed: boolean): void {
    const transactional = command instanceof TransactWriteCommand;
    const op = (command as { constructor: { name: string } }).constructor.name.replace(/Command$/, '');
    writes.forEach((w, i) => {
      const larger = [before[i], after[i]].filter(Boolean).sort((a, b) => writeUnits(b) - writeUnits(a))[0];
      this.count(`${fn}: ${op} ${w.table}${failed ? ' (condition failed)' : ''}`, (transactional ? 2 : 1) * writeUnits(larger), 'write units');
      if (failed) return;
      for (const index of this.tables[w.table]?.indexes ?? []) {
        const units = indexWrites(index, this.tables[w.table]!.keys, before[i], after[i]);
        this.count(`${fn}: ${op} ${w.table} index ${index.name}`, units, 'write units');
      }
    });
    if (command instanceof GetCommand) {
      const item = (result as { Item?: Item } | undefined)?.Item;
      this.count(`${fn}: GetItem ${command.input.TableName}`, readUnits(item ? itemSize(marshall(item)) : 0, command.input.ConsistentRead === true), 'read units');
    }
    if (command instanceof QueryCommand) {
      const items = ((result as { Items?: Item[] } | undefined)?.Items ?? []) as Record<string, unknown>[];
      const bytes = items.reduce((sum, item) => sum + itemSize(marshall(item)), 0);
      this.count(`${fn}: Query ${command.input.TableName}${command.input.IndexName ? ` index ${command.input.IndexName}` : ''}`, readUnits(bytes, command.input.ConsistentRead === true), 'read units');
    }
    if (command instanceof BatchGetCommand) {
      for (const [table, items] of Object.entries((result as { Responses?: Record<string, Record<string, unknown>[]> } | undefined)?.Responses ?? {})) {
        for (const item of items) this.count(`${fn}: BatchGetItem ${table}`, readUnits(itemSize(marshall(item)), false), 'read units');
      }
    }
  }

  /** The items a command writes, by table and key. */
  private writesOf(command: unknown): { table: string; key: Record<string, unknown> }[] {
    const keyOf = (table: string, item: Record<string, unknown>) => Object.fromEntries((this.tables[table]?.keys ?? []).map((k) => [k, item[k]]));
    if (command instanceof PutCommand) return [{ table: command.input.TableName!, key: keyOf(command.input.TableName!, command.input.Item!) }];
    if (command instanceof UpdateCommand || command instanceof DeleteCommand) return [{ table: command.input.TableName!, key: command.input.Key! }];
    if (command instanceof TransactWriteCommand) {
      return command.input.TransactItems!.map((t) => {
        if (t.Put) return { table: t.Put.TableName!, key: keyOf(t.Put.TableName!, t.Put.Item!) };
        const op = (t.Update ?? t.Delete ?? t.ConditionCheck)!;
        return { table: op.TableName!, key: op.Key! };
      });
    }
    return [];
  }

  private async read(table: string, key: Record<string, unknown>): Promise<Item> {
    return (await this.raw.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
  }
}

/** Writes a global secondary index takes for one item write (DynamoDB's documented rules). */
export function indexWrites(index: IndexModel, tableKeys: readonly string[], before: Item, after: Item): number {
  const entry = (item: Item): Record<string, unknown> | undefined => {
    if (!item || item[index.partitionKey] === undefined || (index.sortKey && item[index.sortKey] === undefined)) return undefined;
    const names = index.projects === 'ALL' ? Object.keys(item) : [...tableKeys, index.partitionKey, ...(index.sortKey ? [index.sortKey] : []), ...index.projects];
    return Object.fromEntries(names.filter((n) => item[n] !== undefined).map((n) => [n, item[n]]));
  };
  const [old, now] = [entry(before), entry(after)];
  if (!old && !now) return 0;
  if (!old || !now) return writeUnits(old ?? now);
  const keyChanged = [index.partitionKey, index.sortKey].some((k) => k && JSON.stringify(old[k]) !== JSON.stringify(now[k]));
  if (keyChanged) return writeUnits(old) + writeUnits(now);
  return JSON.stringify(old) === JSON.stringify(now) ? 0 : writeUnits(now);
}

/** Prices per million, from the one price list (bench/prices.ts). */
export const PRICES = {
  'write units': LIST.dynamodbPerMillionWriteUnits,
  'read units': LIST.dynamodbPerMillionReadUnits,
  events: LIST.eventBridgePerMillionEvents,
  'SQS requests': LIST.sqsPerMillionRequests,
  invocations: LIST.lambdaPerMillionRequests,
  'HTTP requests': LIST.httpApiPerMillionRequests,
} as const;

/** The itemised table: each line with its count per order and its price per million orders. */
export function costTable(lines: CostLine[]): { rows: string[]; totalPerMillion: number } {
  const rows = lines.map((l) => `| ${l.what} | ${l.count} ${l.unit} | $${(l.count * PRICES[l.unit]).toFixed(3)} |`);
  const totalPerMillion = lines.reduce((sum, l) => sum + l.count * PRICES[l.unit], 0);
  return { rows, totalPerMillion };
}
