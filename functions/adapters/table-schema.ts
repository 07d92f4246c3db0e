/** Table keys and indexes: the stack creates tables from these and the repositories query with them. */
export const ORDERS_TABLE = {
  partitionKey: 'orderId',
  indexes: {
    /** The sweep's way in: orders in a status, oldest first. */
    byStatus: { name: 'byStatus', partitionKey: 'status', sortKey: 'statusChangedAt' },
    /** GET /orders?customerId=..., newest first. */
    byCustomer: { name: 'byCustomer', partitionKey: 'customerId', sortKey: 'createdAt' },
    /** Sparse: only orders whose event failed to publish carry `unpublishedEvent`. */
    byUnpublishedEvent: { name: 'byUnpublishedEvent', partitionKey: 'unpublishedEvent', sortKey: 'statusChangedAt' },
  },
} as const;

export const INVENTORY_TABLE = { partitionKey: 'sku' } as const;

/** Powertools idempotency's default attribute names. */
export const IDEMPOTENCY_TABLE = { partitionKey: 'id', timeToLiveAttribute: 'expiration' } as const;

export const NOTIFICATIONS_TABLE = { partitionKey: 'orderId', sortKey: 'eventType' } as const;
