/** The tables: on-demand, point-in-time recovery, encrypted, keys and indexes from the shared table schema. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, GlobalSecondaryIndexPropsV2, ProjectionType, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { IDEMPOTENCY_TABLE, INVENTORY_TABLE, NOTIFICATIONS_TABLE, ORDERS_TABLE } from '../functions/adapters/table-schema';

const S = AttributeType.STRING;

export class Tables extends Construct {
  readonly orders: TableV2;
  readonly inventory: TableV2;
  readonly idempotency: TableV2;
  readonly notifications: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const common = {
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    };
    this.orders = new TableV2(this, 'Orders', {
      ...common,
      partitionKey: { name: ORDERS_TABLE.partitionKey, type: S },
      globalSecondaryIndexes: Object.values(ORDERS_TABLE.indexes).map((index): GlobalSecondaryIndexPropsV2 => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: S },
        sortKey: { name: index.sortKey, type: S },
        ...('keysOnly' in index.projection ? { projectionType: ProjectionType.KEYS_ONLY } : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection.include] }),
      })),
      dynamoStream: StreamViewType[ORDERS_TABLE.stream],
    });
    this.inventory = new TableV2(this, 'Inventory', { ...common, partitionKey: { name: INVENTORY_TABLE.partitionKey, type: S } });
    this.idempotency = new TableV2(this, 'Idempotency', {
      ...common,
      // Idempotency records expire by themselves; losing them on stack deletion is harmless.
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
      partitionKey: { name: IDEMPOTENCY_TABLE.partitionKey, type: S },
      timeToLiveAttribute: IDEMPOTENCY_TABLE.timeToLiveAttribute,
    });
    this.notifications = new TableV2(this, 'Notifications', {
      ...common,
      partitionKey: { name: NOTIFICATIONS_TABLE.partitionKey, type: S },
      sortKey: { name: NOTIFICATIONS_TABLE.sortKey, type: S },
    });
  }
}
