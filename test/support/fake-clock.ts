/**
 * A virtual runtime Clock (local/clock.ts) for engine tests: waits take no real time, `now()` moves only when a
 * timer fires. By default it runs itself: whenever timers are pending it fires the earliest, one per turn of the
 * event loop (setImmediate), so promise chains settle and register their next waits before the next one fires; an
 * engine that keeps re-arming timers (a rate schedule) runs with `auto: false` and `advance(ms)` instead.
 *
 * `scale` is what the engine reads for the waits it cannot route through the Clock (timers of a library): with the
 * default 1e6 they are real but negligible.
 */
import { Clock } from '../../local/clock';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

export class FakeClock implements Clock {
  readonly scale: number;
  private time: number;
  private seq = 0;
  private timers: Timer[] = [];
  private pumping = false;
  private readonly auto: boolean;
  /** Every wait asked for, in simulated ms, in the order asked (sleep and after alike). */
  readonly waits: number[] = [];

  constructor(options: { start?: number; scale?: number; auto?: boolean } = {}) {
    this.time = options.start ?? Date.parse('2026-01-01T00:00:00.000Z');
    this.scale = options.scale ?? 1e6;
    this.auto = options.auto ?? true;
  }

  now(): number {
    return this.time;
  }

  scaled(ms: number): number {
    return Math.max(0, ms / this.scale);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        cancel();
        reject(signal!.reason);
      };
      const cancel = this.after(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  after(ms: number, fn: () => void): () => void {
    this.waits.push(ms);
    const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fire: fn };
    this.timers.push(timer);
    if (this.auto) this.pump();
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Pending timers. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way in order, settling promises between them. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await settle();
    for (let next = this.earliest(); next && next.at <= until; next = this.earliest()) {
      this.fire(next);
      await settle();
    }
    this.time = until;
    await settle();
  }

  private earliest(): Timer | undefined {
    return this.timers.reduce<Timer | undefined>((best, t) => (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq) ? t : best), undefined);
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.time = Math.max(this.time, timer.at);
    timer.fire();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      const next = this.earliest();
      if (!next) return;
      this.fire(next);
      if (this.timers.length) this.pump();
    });
  }
}

/** Lets pending promise chains run (several turns of the event loop). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
