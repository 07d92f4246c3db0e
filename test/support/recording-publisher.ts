import { PipelineEvent } from '../../functions/domain/events';
import { EventPublisher, PublishError } from '../../functions/domain/ports';

/** An EventPublisher that keeps what it was given, and fails on demand like PutEvents with failed entries. */
export class RecordingPublisher implements EventPublisher {
  readonly published: PipelineEvent[] = [];
  failNext = 0;

  async publish(events: PipelineEvent[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new PublishError('PutEvents rejected 1 of 1 entries: InternalFailure');
    }
    this.published.push(...events);
  }

  types(): string[] {
    return this.published.map((e) => e.type);
  }
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(private current = new Date('2026-01-01T00:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
