/**
 * Who may do what, from the functions' execution roles in the template: which tables each function may write and
 * read, and which may put events on the bus. State lives in the tables; the event relay publishes every change, so
 * only a handful of functions may publish at all (and the inventory consumer, which writes both tables in one
 * transaction, is not one of them).
 */
import { IConstruct } from 'constructs';
import { grantsOfFunction, resources } from './cfn';
import { logicalIdOf, synth } from './synth';

const { stack, template } = synth();
const id = (c: IConstruct) => logicalIdOf(stack, c);

const FUNCTIONS = {
  api: stack.api.function,
  inventory: stack.consumers.inventory.function,
  notification: stack.consumers.notification.function,
  relay: stack.relay.function,
  findWork: stack.sweep.functions.findWork,
  repairOrder: stack.sweep.functions.repairOrder,
  summarise: stack.sweep.functions.summarise,
};
type FunctionName = keyof typeof FUNCTIONS;
const TABLES = stack.tables;
type TableName = 'orders' | 'inventory' | 'idempotency' | 'notifications';
const tableNames: TableName[] = ['orders', 'inventory', 'idempotency', 'notifications'];

/** DynamoDB item writes (a transaction's items need these too: TransactWriteItems has no IAM action of its own). */
const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'];

const grantsOf = (name: FunctionName) => grantsOfFunction(template, id(FUNCTIONS[name]));

/** The tables (by name) on which the function has any of these actions, on the table or its indexes. */
function tablesWith(name: FunctionName, actions: string[]): TableName[] {
  const grants = grantsOf(name).filter((g) => g.effect === 'Allow' && actions.includes(g.action));
  return tableNames.filter((t) => grants.some((g) => g.resource === `<GetAtt:${id(TABLES[t])}.Arn>` || g.resource === `<GetAtt:${id(TABLES[t])}.Arn>/index/*`));
}

/** What each function must be able to write: the stack's design, one row per function. */
const WRITES: Record<FunctionName, TableName[]> = {
  // Orders and their stock moves in one transaction, stock adjustments with their once-only records.
  api: ['orders', 'inventory', 'idempotency'],
  // A reservation (or rejection): the order's status and the stock counters in one transaction.
  inventory: ['orders', 'inventory'],
  notification: ['notifications'],
  relay: [],
  findWork: [],
  // A republish count or flag; an expiry cancels the order and releases its stock in one transaction.
  repairOrder: ['orders', 'inventory'],
  summarise: [],
};

const PUBLISHERS: FunctionName[] = ['api', 'relay', 'repairOrder'];

test('the table covers every function in the template', () => {
  expect(Object.keys(resources(template, 'AWS::Lambda::Function')).sort()).toEqual(Object.values(FUNCTIONS).map(id).sort());
});

test.each(Object.entries(WRITES) as [FunctionName, TableName[]][])('%s writes exactly these tables: %j', (name, tables) => {
  expect(tablesWith(name, WRITE_ACTIONS)).toEqual(tables);
});

test("the sweep's find-work task reads the orders table and queries its indexes, and writes nothing", () => {
  const grants = grantsOf('findWork');
  const orders = `<GetAtt:${id(TABLES.orders)}.Arn>`;
  expect(grants).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'dynamodb:Query', resource: `${orders}/index/*` })]));
  expect(tablesWith('findWork', READ_ACTIONS)).toEqual(['orders']);
  expect(grants.filter((g) => WRITE_ACTIONS.includes(g.action))).toEqual([]);
});

test('only the API, the event relay and the sweep repair task may put events, and only on the bus', () => {
  const busArn = `<GetAtt:${id(stack.events.bus)}.Arn>`;
  const publishers = (Object.keys(FUNCTIONS) as FunctionName[]).filter((name) => grantsOf(name).some((g) => g.action.startsWith('events:')));
  expect(publishers.sort()).toEqual([...PUBLISHERS].sort());
  for (const name of PUBLISHERS) {
    expect([name, grantsOf(name).filter((g) => g.action.startsWith('events:')).map((g) => [g.action, g.resource])]).toEqual([name, [['events:PutEvents', busArn]]]);
  }
});

test('the inventory consumer has no events:PutEvents permission (it publishes nothing; the relay publishes its changes)', () => {
  const grants = grantsOf('inventory');
  expect(grants.length).toBeGreaterThan(0);
  expect(grants.filter((g) => g.action === 'events:PutEvents' || g.action === 'events:*' || g.action === '*')).toEqual([]);
  // Nor anything else it could publish with.
  expect(grants.filter((g) => g.action.startsWith('events:') || g.action.startsWith('sns:'))).toEqual([]);
});
