/**
 * Least privilege, in one place: every AWS action each function's code sends, on which of the stack's resources.
 * The stack grants exactly this (grantAccess below) and nothing else: none of CDK's grant helpers, which add
 * Scan, DeleteItem, BatchWriteItem, ConditionCheckItem, DescribeTable and stream reads, and `<table>/index/*`.
 *
 * Two tests hold it to the truth from both sides:
 * - test/functions/function-access.test.ts runs each function's real handler through its flows on DynamoDB Local,
 *   with exactly the environment the template gives it, records every SDK command it sends, maps each to its IAM
 *   action and resource, and requires the recorded set to equal the one declared here: an action declared but never
 *   sent fails, and so does one sent but not declared;
 * - test/lib/security.test.ts requires each role in the template to hold exactly this, plus what AWS itself does
 *   with the role (logs, tracing, event source polling), granted by the constructs that set those up.
 *
 * DynamoDB's IAM model, as used here: TransactWriteItems has no action of its own, each of its items needs PutItem,
 * UpdateItem, DeleteItem or ConditionCheckItem on its table (TransactGetItems likewise GetItem); a Query on an index
 * needs dynamodb:Query on that index's ARN (`<table>/index/<name>`), and on nothing else.
 */
import { IKey } from 'aws-cdk-lib/aws-kms';
import { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { ITopic } from 'aws-cdk-lib/aws-sns';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { NotificationChannel } from '../functions/adapters/notification-channels';
import { ORDERS_TABLE } from '../functions/adapters/table-schema';

export const TABLE_NAMES = ['orders', 'inventory', 'idempotency', 'notifications'] as const;
export type TableName = (typeof TABLE_NAMES)[number];
export type OrdersIndex = (typeof ORDERS_TABLE.indexes)[keyof typeof ORDERS_TABLE.indexes]['name'];

/** Item actions a function may be declared (no Scan, no BatchWriteItem, no PartiQL: nothing here needs them). */
export type ItemAction = 'dynamodb:GetItem' | 'dynamodb:BatchGetItem' | 'dynamodb:PutItem' | 'dynamodb:UpdateItem' | 'dynamodb:DeleteItem' | 'dynamodb:ConditionCheckItem';

export interface Access {
  /** Item actions, per table (on the table's ARN only). */
  tables?: Partial<Record<TableName, readonly ItemAction[]>>;
  /** The orders table's indexes the function queries (dynamodb:Query on those indexes' ARNs only). */
  queries?: readonly OrdersIndex[];
  bus?: readonly 'events:PutEvents'[];
  notificationTopic?: readonly 'sns:Publish'[];
  /**
   * The topic's KMS key: SNS encrypts each published message under a data key it obtains from KMS with the
   * publisher's credentials, so a publisher needs kms:GenerateDataKey and kms:Decrypt on that key (exactly these:
   * CDK's Topic.grantPublish would grant "kms:GenerateDataKey*").
   */
  notificationTopicKey?: readonly ('kms:GenerateDataKey' | 'kms:Decrypt')[];
  relayDeadLetterQueue?: readonly 'sqs:SendMessage'[];
}

export const FUNCTION_NAMES = ['api', 'inventory', 'notification', 'relay', 'findWork', 'repairOrder', 'summarise'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** The notification consumer's access depends on its channel: one channel's resources, never the other's. */
const NOTIFICATION_ACCESS: Record<NotificationChannel, Access> = {
  // TableNotifier: the conditional put is the once-only record.
  table: { tables: { notifications: ['dynamodb:PutItem'] } },
  // SnsNotifier wrapped in Powertools idempotency (DynamoDBPersistenceLayer): PutItem (the in-progress record),
  // UpdateItem (completed), DeleteItem (the publish failed: the retry may go again), GetItem (the record a duplicate
  // ran into, when the failed put did not return it). No notifications-table access at all.
  sns: {
    tables: { idempotency: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem'] },
    notificationTopic: ['sns:Publish'],
    notificationTopicKey: ['kms:GenerateDataKey', 'kms:Decrypt'],
  },
};

/** What each function's code sends (functions/*, functions/adapters/*), per deployment's notification channel. */
export function functionAccess(channel: NotificationChannel): Record<FunctionName, Access> {
  return {
    // The internet-facing API: never a delete, a scan or a batch write, on any table.
    api: {
      tables: {
        // Orders: the conditional create, reads (one, and a listing's page by BatchGetItem), status changes
        // (alone, or as the order's item of a TransactWriteItems with its stock).
        orders: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
        // Stock: creating a SKU (put), replacing or adjusting it and moving it with an order (update), reading it.
        inventory: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
        // An adjustment's once-only record (the Put of its transaction), read back on a replay when the
        // cancelled transaction did not return it.
        idempotency: ['dynamodb:PutItem', 'dynamodb:GetItem'],
      },
      // GET /orders?customerId=...
      queries: [ORDERS_TABLE.indexes.byCustomer.name],
      // Re-publishing the event of a change a client retried; the relay publishes every change.
      bus: ['events:PutEvents'],
    },
    // Reserves (or rejects) an order: its status and its SKUs' counters in one transaction; reads an order or a SKU
    // only when a failed condition did not return it (gone, or never there). Publishes nothing.
    inventory: {
      tables: { orders: ['dynamodb:UpdateItem', 'dynamodb:GetItem'], inventory: ['dynamodb:UpdateItem', 'dynamodb:GetItem'] },
    },
    notification: NOTIFICATION_ACCESS[channel],
    // Publishes each change of the orders table (the stream is read by Lambda's event source, not by the code);
    // a change no event can be built from goes to its DLQ.
    relay: { bus: ['events:PutEvents'], relayDeadLetterQueue: ['sqs:SendMessage'] },
    // Two queries of the sparse open-orders index; never the orders themselves, never a scan.
    findWork: { queries: [ORDERS_TABLE.indexes.openOrders.name] },
    // Reads the order, counts a republish or flags it (update), expires it with its stock (one transaction of
    // updates), reads a SKU a failed release did not return; re-publishes OrderPlaced for a stuck order.
    repairOrder: {
      tables: { orders: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], inventory: ['dynamodb:UpdateItem', 'dynamodb:GetItem'] },
      bus: ['events:PutEvents'],
    },
    // Counts and logs what the run did: no AWS call.
    summarise: {},
  };
}

type NamedResource = Exclude<keyof Access, 'tables' | 'queries'>;
/** Every named resource of Access (a Record, so that a new one cannot be left out of accessPairs). */
const NAMED_RESOURCES: Record<NamedResource, true> = { bus: true, notificationTopic: true, notificationTopicKey: true, relayDeadLetterQueue: true };

/** A resource of the access map by name: a table, an index of the orders table, or one of the named resources. */
export type ResourceName = TableName | `orders/index/${OrdersIndex}` | NamedResource;

/** The access as (resource, action) pairs. */
export function accessPairs(access: Access): [ResourceName, string][] {
  const pairs: [ResourceName, string][] = [];
  for (const table of TABLE_NAMES) for (const action of access.tables?.[table] ?? []) pairs.push([table, action]);
  for (const index of access.queries ?? []) pairs.push([`orders/index/${index}`, 'dynamodb:Query']);
  for (const name of Object.keys(NAMED_RESOURCES) as NamedResource[]) for (const action of access[name] ?? []) pairs.push([name, action]);
  return pairs;
}

export interface AccessResources {
  tables: Record<TableName, ITableV2>;
  bus: IEventBus;
  relayDeadLetterQueue: IQueue;
  notificationTopic?: ITopic;
  notificationTopicKey?: IKey;
}

/** Grants the function exactly its access: one statement per resource, its actions on its ARN. */
export function grantAccess(fn: IFunction, access: Access, resources: AccessResources): void {
  const arnOf = (name: ResourceName): string => {
    if ((TABLE_NAMES as readonly string[]).includes(name)) return resources.tables[name as TableName].tableArn;
    if (name.startsWith('orders/index/')) return `${resources.tables.orders.tableArn}/index/${name.slice('orders/index/'.length)}`;
    const named: Record<NamedResource, string | undefined> = {
      bus: resources.bus.eventBusArn,
      relayDeadLetterQueue: resources.relayDeadLetterQueue.queueArn,
      notificationTopic: resources.notificationTopic?.topicArn,
      notificationTopicKey: resources.notificationTopicKey?.keyArn,
    };
    const arn = named[name as NamedResource];
    if (!arn) throw new Error(`${fn.node.path}: its access names ${name}, which this deployment does not have`);
    return arn;
  };
  const byResource = new Map<ResourceName, string[]>();
  for (const [resource, action] of accessPairs(access)) byResource.set(resource, [...(byResource.get(resource) ?? []), action]);
  for (const [resource, actions] of byResource) fn.addToRolePolicy(new PolicyStatement({ actions, resources: [arnOf(resource)] }));
}
