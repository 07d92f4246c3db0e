/** Every Lambda function (runtime, architecture, tracing, JSON logs) and every DynamoDB table. */
import { Runtime, RuntimeFamily, Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Match } from 'aws-cdk-lib/assertions';
import { CONSUMERS, DEFAULT_CONFIG } from '../../lib/config';
import { FUNCTION_RUNTIME } from '../../lib/pipeline-function';
import { IDEMPOTENCY_TABLE, ORDERS_TABLE } from '../../functions/adapters/table-schema';
import { ENV } from '../../functions/shared/env';
import { resources, targetOf } from './cfn';
import { logicalIdOf, synth } from './synth';

const { stack, template } = synth();
const functions = resources(template, 'AWS::Lambda::Function');
const tables = resources(template, 'AWS::DynamoDB::GlobalTable');
const logGroups = resources(template, 'AWS::Logs::LogGroup');

describe('Lambda functions', () => {
  test('the template has Lambda functions', () => {
    expect(Object.keys(functions).length).toBeGreaterThan(0);
  });

  test('FUNCTION_RUNTIME is the newest Node.js runtime this aws-cdk-lib knows', () => {
    const version = (r: Runtime) => Number(/^nodejs(\d+)\.x$/.exec(r.name)?.[1] ?? NaN);
    const nodeRuntimes = Object.values(Runtime).filter(
      (r): r is Runtime => r instanceof Runtime && r.family === RuntimeFamily.NODEJS && !r.isVariable && !Number.isNaN(version(r)),
    );
    expect(nodeRuntimes.length).toBeGreaterThan(1);
    const newest = Math.max(...nodeRuntimes.map(version));
    expect(version(FUNCTION_RUNTIME)).toBe(newest);
  });

  test('every function runs FUNCTION_RUNTIME', () => {
    for (const [id, fn] of Object.entries(functions)) expect([id, fn.Properties.Runtime]).toEqual([id, FUNCTION_RUNTIME.name]);
  });

  test('every function is arm64, actively traced, and logs JSON to its own log group kept at least logRetentionDays', () => {
    const logGroupsUsed = new Set<string>();
    for (const [id, fn] of Object.entries(functions)) {
      expect([id, fn.Properties]).toEqual([
        id,
        expect.objectContaining({
          Architectures: [Architecture.ARM_64.name],
          TracingConfig: { Mode: 'Active' },
          LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
        }),
      ]);
      const logGroup = targetOf(fn.Properties.LoggingConfig.LogGroup);
      const retention = logGroups[logGroup]?.Properties.RetentionInDays;
      expect(Object.values(RetentionDays)).toContain(retention);
      expect(retention).toBeGreaterThanOrEqual(DEFAULT_CONFIG.logRetentionDays);
      logGroupsUsed.add(logGroup);
    }
    expect(logGroupsUsed.size).toBe(Object.keys(functions).length);
  });

  test('every function is the API, a CONSUMERS consumer, the event relay or a sweep task: no other (the order-status consumer is gone)', () => {
    const id = (c: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, c);
    const known = [
      id(stack.api.function),
      ...Object.values(stack.consumers).map((c) => id(c.function)),
      id(stack.relay.function),
      ...Object.values(stack.sweep.functions).map(id),
    ];
    expect(Object.keys(stack.consumers).sort()).toEqual(Object.keys(CONSUMERS).sort());
    expect(new Set(known).size).toBe(known.length);
    expect(Object.keys(functions).sort()).toEqual(known.sort());
    // Its construct id was 'order-status': nothing in the template still carries it.
    expect(Object.keys(template.toJSON().Resources).filter((r) => /^orderstatus/i.test(r))).toEqual([]);
  });

  test('every environment variable a function gets is one ENV names (none left over), besides the two PipelineFunction sets', () => {
    const known = new Set<string>([...Object.values(ENV), 'POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS']);
    for (const [id, fn] of Object.entries(functions)) {
      expect([id, Object.keys(fn.Properties.Environment?.Variables ?? {}).filter((name) => !known.has(name))]).toEqual([id, []]);
    }
  });

  test('the same holds via Template.allResourcesProperties', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: FUNCTION_RUNTIME.name,
      Architectures: [Architecture.ARM_64.name],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
    });
  });
});

describe('DynamoDB tables (TableV2: AWS::DynamoDB::GlobalTable)', () => {
  test('there is no provisioned-capacity or classic AWS::DynamoDB::Table', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(Object.keys(tables).length).toBeGreaterThan(0);
  });

  // Encryption at rest: test/lib/security.test.ts.
  test('every table is on-demand, with point-in-time recovery in every replica', () => {
    for (const [id, table] of Object.entries(tables)) {
      expect([id, table.Properties.BillingMode]).toEqual([id, 'PAY_PER_REQUEST']);
      expect(table.Properties.Replicas.length).toBeGreaterThan(0);
      for (const replica of table.Properties.Replicas) {
        expect([id, replica.PointInTimeRecoverySpecification]).toEqual([id, { PointInTimeRecoveryEnabled: true }]);
      }
    }
  });

  test('the orders table has the key and exactly the GSIs of ORDERS_TABLE.indexes, each with its projection', () => {
    const orders = tables[logicalIdOf(stack, stack.tables.orders)];
    expect(orders).toBeDefined();
    expect(orders.Properties.KeySchema).toEqual([{ AttributeName: ORDERS_TABLE.partitionKey, KeyType: 'HASH' }]);
    const expected = Object.values(ORDERS_TABLE.indexes).map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: 'keysOnly' in index.projection ? { ProjectionType: 'KEYS_ONLY' } : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection.include] },
    }));
    const byName = (a: { IndexName: string }, b: { IndexName: string }) => a.IndexName.localeCompare(b.IndexName);
    expect([...orders.Properties.GlobalSecondaryIndexes].sort(byName)).toEqual(expected.sort(byName));
    // Every key attribute is declared as a string.
    const keyAttributes = new Set([ORDERS_TABLE.partitionKey, ...Object.values(ORDERS_TABLE.indexes).flatMap((i) => [i.partitionKey, i.sortKey])]);
    expect([...orders.Properties.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName))).toEqual(
      [...keyAttributes].sort().map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    );
  });

  test('the orders table streams ORDERS_TABLE.stream images (what the event relay reads), and no other table streams', () => {
    const ordersId = logicalIdOf(stack, stack.tables.orders);
    expect(tables[ordersId].Properties.StreamSpecification).toEqual({ StreamViewType: ORDERS_TABLE.stream });
    // The relay needs the new image (the status an order entered) and the old one (the status it left).
    expect(ORDERS_TABLE.stream).toBe('NEW_AND_OLD_IMAGES');
    for (const [id, table] of Object.entries(tables)) if (id !== ordersId) expect([id, table.Properties.StreamSpecification]).toEqual([id, undefined]);
  });

  test('the idempotency table expires records by the Powertools TTL attribute', () => {
    const idempotency = tables[logicalIdOf(stack, stack.tables.idempotency)];
    expect(idempotency).toBeDefined();
    expect(idempotency.Properties.KeySchema).toEqual([{ AttributeName: IDEMPOTENCY_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(idempotency.Properties.TimeToLiveSpecification).toEqual({ AttributeName: IDEMPOTENCY_TABLE.timeToLiveAttribute, Enabled: true });
  });
});
