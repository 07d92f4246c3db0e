import { EventBridgeClient, PutEventsCommand, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_CATALOGUE, PipelineEvent } from '../domain/events';
import { EventPublisher, PublishError } from '../domain/ports';

/** PutEvents takes at most ten entries. */
const MAX_ENTRIES = 10;
/**
 * How many times one entry is sent before the publish fails. PutEvents can answer 200 and still reject entries
 * (FailedEntryCount); AWS's advice is to send again only the rejected ones. Sending the whole call again, as a
 * retry of the caller would, publishes the accepted entries a second time: every consumer then pays a delivery, an
 * invocation and an idempotency lookup for each copy.
 */
export const PUT_EVENTS_ATTEMPTS = 3;
/** Back-off before the first resend (doubled for each next one, with jitter). */
const RESEND_BASE_MS = 50;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes in order, ten to a PutEvents; whatever stays rejected after PUT_EVENTS_ATTEMPTS is a PublishError. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(events: PipelineEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_ENTRIES) {
      // Each event with its position in `events`: what a PublishError names.
      let pending = events.slice(i, i + MAX_ENTRIES).map((event, j) => ({ event, at: i + j }));
      for (let attempt = 1; ; attempt++) {
        let entries: PutEventsResultEntry[];
        try {
          // The SDK itself retries a throttled or failed call (its standard retry strategy).
          const response = await this.client.send(new PutEventsCommand({ Entries: pending.map(({ event }) => this.entry(event)) }));
          if (!response.FailedEntryCount) break;
          entries = response.Entries ?? [];
        } catch (error) {
          throw new PublishError(`PutEvents failed: ${(error as Error).message}`, { firstUnpublished: pending[0]!.at, cause: error });
        }
        // Entries answer the request's entries in order; one without an EventId was not accepted.
        const rejected = pending.map((p, j) => ({ ...p, result: entries[j] })).filter(({ result }) => !result?.EventId || result.ErrorCode);
        if (attempt >= PUT_EVENTS_ATTEMPTS) {
          const reasons = rejected.map(({ event, result }) => `${event.type} ${event.detail.orderId}: ${result?.ErrorCode ?? 'no result'} ${result?.ErrorMessage ?? ''}`.trim());
          throw new PublishError(`PutEvents rejected ${rejected.length} entries ${PUT_EVENTS_ATTEMPTS} times: ${reasons.join('; ')}`, { firstUnpublished: rejected[0]!.at });
        }
        pending = rejected.map(({ event, at }) => ({ event, at }));
        await pause(RESEND_BASE_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      }
    }
  }

  private entry(event: PipelineEvent) {
    return { EventBusName: this.eventBusName, Source: EVENT_CATALOGUE[event.type].source, DetailType: event.type, Detail: JSON.stringify(event.detail) };
  }
}
