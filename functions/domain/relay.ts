/**
 * The event relay's use case: the orders table's stream, in order, becomes events on the bus. Each record's events
 * are built from the stored order alone (status-events.ts) and published in order, ten to a PutEvents call. A
 * failed publish stops the batch at the first event not published: its record and every later one are retried (the stream keeps order per
 * order, and a re-published event is deduplicated downstream by its id). A record no event can be built from is
 * dead-lettered on its own and never blocks the records behind it.
 */
import { PipelineEvent } from './events';
import { Clock, EventPublisher, PublishError, StoredOrder } from './ports';
import { eventsForChange } from './status-events';

export interface ChangeRecord {
  /** The stream record's sequence number: what a partial batch response names. */
  id: string;
  before?: StoredOrder;
  after?: StoredOrder;
}

export interface RelayDeps {
  events: EventPublisher;
  clock: Clock;
  deadLetter(record: ChangeRecord, reason: string): Promise<void>;
}

export interface RelayOutcome {
  published: number;
  deadLettered: number;
  /** The first record not relayed: it and all after it must be delivered again. */
  failedFrom?: string;
  failure?: string;
}

const PUT_EVENTS_MAX_ENTRIES = 10;

export async function relayChanges(records: ChangeRecord[], deps: RelayDeps): Promise<RelayOutcome> {
  const outcome: RelayOutcome = { published: 0, deadLettered: 0 };
  const now = deps.clock.now();
  // Events in stream order, each tagged with the position of the record it came from.
  const queue: { at: number; event: PipelineEvent }[] = [];
  const broken: { at: number; reason: string }[] = [];
  records.forEach((record, at) => {
    try {
      for (const event of eventsForChange(record.before, record.after, now)) queue.push({ at, event });
    } catch (error) {
      broken.push({ at, reason: (error as Error).message });
    }
  });
  let relayedUpTo = records.length;
  for (let i = 0; i < queue.length; i += PUT_EVENTS_MAX_ENTRIES) {
    const chunk = queue.slice(i, i + PUT_EVENTS_MAX_ENTRIES);
    try {
      await deps.events.publish(chunk.map((c) => c.event));
      outcome.published += chunk.length;
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      // The events before the first unpublished one went out: the retry starts at that event's record.
      outcome.published += error.firstUnpublished;
      relayedUpTo = chunk[Math.min(error.firstUnpublished, chunk.length - 1)]!.at;
      outcome.failedFrom = records[relayedUpTo]!.id;
      outcome.failure = error.message;
      break;
    }
  }
  // Only the broken records before the retry point: those after it are seen again when the batch is retried.
  for (const { at, reason } of broken) {
    if (at >= relayedUpTo) break;
    await deps.deadLetter(records[at]!, reason);
    outcome.deadLettered++;
  }
  return outcome;
}
