import { PipelineEvent } from './events';
import { EventPublisher, OrderRepository, PublishError } from './ports';

/**
 * Publish an order's event after its state was written. If publishing fails the state stands and the order is
 * marked, so the sweep publishes it later: the caller's answer does not depend on the bus.
 */
export async function publishOrMark(
  event: PipelineEvent,
  deps: { orders: OrderRepository; events: EventPublisher },
): Promise<'published' | 'deferred'> {
  try {
    await deps.events.publish([event]);
    return 'published';
  } catch (error) {
    if (!(error instanceof PublishError)) throw error;
    await deps.orders.markUnpublished(event.detail.orderId, event.type);
    return 'deferred';
  }
}
