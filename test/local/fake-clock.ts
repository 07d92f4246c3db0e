/**
 * A manual Clock for tests: time stands still until advance(ms), which fires the due timers in order (letting
 * promises settle after each), so timing assertions do not depend on how loaded the machine is.
 */
import { Clock } from '../../local/clock';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** Lets every pending promise continuation (and setImmediate callback queued before it) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export class FakeClock implements Clock {
  readonly scale = 1;
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = Date.UTC(2025, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  scaled(ms: number): number {
    return Math.max(0, ms);
  }

  after(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
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

  /** When the earliest pending timer falls due, if any. */
  get nextAt(): number | undefined {
    return this.timers.length ? Math.min(...this.timers.map((x) => x.at)) : undefined;
  }

  /**
   * Runs until `done()` holds: lets promises settle, then jumps to the next timer, and so on. Throws when no timer
   * is left or more than maxMs of clock time would pass.
   */
  async runUntil(done: () => boolean, maxMs = 3_600_000, what = 'condition'): Promise<void> {
    const limit = this.t + maxMs;
    for (;;) {
      await settle();
      if (done()) return;
      const next = this.nextAt;
      if (next === undefined || next > limit) throw new Error(`${what} not reached (clock at +${this.t - (limit - maxMs)} ms)`);
      await this.advance(Math.max(0, next - this.t));
    }
  }

  /** Moves time forward by ms, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}
