/**
 * A Clock whose real time only moves when a test advances it, with the runtime clock's semantics (local/clock.ts):
 * now() is real time, a wait of `ms` simulated milliseconds takes ms / scale of real time. Timers fire in order and
 * the promise chains they release run before the next one fires, so a test of hours of retries takes milliseconds.
 */
import { Clock } from '../../local/clock';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(
    readonly scale = 1,
    start = Date.UTC(2026, 0, 1, 12, 0, 0),
  ) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  scaled(ms: number): number {
    return Math.max(0, ms / this.scale);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer: Timer = {
        at: this.t + this.scaled(ms),
        seq: this.seq++,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  after(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.t + this.scaled(ms), seq: this.seq++, fire: fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  /** Timers waiting. */
  get waiting(): number {
    return this.timers.length;
  }

  /** Real milliseconds until the next timer fires (undefined when none waits). */
  get nextIn(): number | undefined {
    const next = this.next();
    return next === undefined ? undefined : next.at - this.t;
  }

  /** Moves real time forward by `ms`, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      const next = this.next();
      if (!next || next.at > target) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fire();
    }
    this.t = target;
    await settle();
  }

  /** Fires timers until none waits (or `limit` fired); returns the real milliseconds that passed. */
  async runAll(limit = 100_000): Promise<number> {
    const start = this.t;
    for (let n = 0; n < limit; n++) {
      await settle();
      const next = this.next();
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fire();
    }
    await settle();
    return this.t - start;
  }

  private next(): Timer | undefined {
    return [...this.timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
  }
}
