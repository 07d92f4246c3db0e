/**
 * What the ops page charts: every interval (real time, 2 s by default), each queue's depth as GetQueueAttributes
 * reports it, and how many events the bus took since the last sample, by detail-type. Kept for the last 10 minutes.
 * It starts when the page first asks (a runtime nobody watches pays nothing) and stops with the runtime.
 */
import type { OpsContext } from '../../ops/context';
import { queueStatuses } from '../../ops/status';

export interface DepthSample {
  /** ISO time of the sample. */
  at: string;
  /** Events the bus took since the previous sample, by detail-type. */
  events: Record<string, number>;
  /** Visible + in flight, per queue role. */
  depths: Record<string, number>;
}

export interface History {
  intervalMs: number;
  samples: DepthSample[];
}

export interface SamplerOptions {
  intervalMs?: number;
  keepMs?: number;
  now?: () => number;
}

export class QueueDepthSampler {
  readonly intervalMs: number;
  private readonly keep: number;
  private readonly now: () => number;
  private readonly samples: DepthSample[] = [];
  private events: Record<string, number> = {};
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: OpsContext,
    options: SamplerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 2_000;
    this.keep = Math.ceil((options.keepMs ?? 10 * 60_000) / this.intervalMs);
    this.now = options.now ?? Date.now;
  }

  /** An event the bus accepted (the runtime calls this for every one). */
  recordEvent(detailType: string): void {
    this.events[detailType] = (this.events[detailType] ?? 0) + 1;
  }

  /** Idempotent; the first sample is taken at once. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
    void this.sample();
  }

  history(): History {
    return { intervalMs: this.intervalMs, samples: [...this.samples] };
  }

  /** One sample now (skipped while the previous one is still asking). */
  sample(): Promise<void> {
    this.sampling ??= this.take().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  private async take(): Promise<void> {
    let depths: Record<string, number>;
    try {
      const queues = await queueStatuses(this.ctx, { ages: false });
      depths = Object.fromEntries(queues.map((q) => [q.role, q.visible + q.inFlight]));
    } catch {
      // The endpoint is stopping or a call failed: this interval has no sample; its events count in the next.
      return;
    }
    if (this.stopped) return;
    const events = this.events;
    this.events = {};
    this.samples.push({ at: new Date(this.now()).toISOString(), events, depths });
    if (this.samples.length > this.keep) this.samples.splice(0, this.samples.length - this.keep);
  }
}
