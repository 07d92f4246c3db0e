/** Table keys and indexes: the stack creates tables from these and the repositories query with them. */
export const ORDERS_TABLE = {
  partitionKey: 'orderId',
  indexes: {
    /**
     * Sparse: only orders the sweep may still have to act on (PENDING, RESERVED, NEEDS_ATTENTION) carry `openStatus`,
     * oldest first. A settled order leaves the index with one delete instead of costing two writes per status change
     * forever; `paymentDeadline` is projected because it is written in the same write as the key.
     */
    openOrders: { name: 'openOrders', partitionKey: 'openStatus', sortKey: 'statusChangedAt', projection: { include: ['paymentDeadline'] } },
    /**
     * GET /orders?customerId=..., newest first. Keys only: a status change does not rewrite the index entry; the
     * listing reads the orders themselves.
     */
    byCustomer: { name: 'byCustomer', partitionKey: 'customerId', sortKey: 'createdAt', projection: { keysOnly: true } },
  },
  /** Every status change leaves the table as a stream record: the event relay publishes it (no change without its event). */
  stream: 'NEW_AND_OLD_IMAGES',
} as const;

export const INVENTORY_TABLE = { partitionKey: 'sku' } as const;

/**
 * Powertools idempotency's default attribute names. Stock adjustments keep their once-only records here too
 * (ids prefixed `stock-adjustment#`), written in the same transaction as the adjustment.
 */
export const IDEMPOTENCY_TABLE = { partitionKey: 'id', timeToLiveAttribute: 'expiration' } as const;

export const NOTIFICATIONS_TABLE = { partitionKey: 'orderId', sortKey: 'eventType' } as const;
