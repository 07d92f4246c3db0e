import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_CATALOGUE, PipelineEvent } from '../domain/events';
import { EventPublisher, PublishError } from '../domain/ports';

/** PutEvents can answer 200 and still drop entries: FailedEntryCount is checked, and any failure is a PublishError. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(events: PipelineEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10);
      let response;
      try {
        response = await this.client.send(
          new PutEventsCommand({
            Entries: batch.map((event) => ({
              EventBusName: this.eventBusName,
              Source: EVENT_CATALOGUE[event.type].source,
              DetailType: event.type,
              Detail: JSON.stringify(event.detail),
            })),
          }),
        );
      } catch (error) {
        throw new PublishError(`PutEvents failed: ${(error as Error).message}`, { cause: error });
      }
      if (response.FailedEntryCount) {
        const failures = (response.Entries ?? [])
          .map((entry, j) => (entry.ErrorCode ? `${batch[j]?.type} ${batch[j]?.detail.orderId}: ${entry.ErrorCode} ${entry.ErrorMessage ?? ''}`.trim() : undefined))
          .filter(Boolean);
        throw new PublishError(`PutEvents rejected ${response.FailedEntryCount} of ${batch.length} entries: ${failures.join('; ')}`);
      }
    }
  }
}
