/**
 * The one fake runtime Clock (local/clock.ts) for tests: waits take no real time, `now()` moves only when a timer
 * fires or a test advances it. Timers fire in order (earliest first, then in the order they were set) and the
 * promise chains they release settle before the next one fires, so hours of retries take milliseconds and no timing
 * assertion depends on how loaded the machine is.
 *
 * Two ways of driving it:
 * - `auto: true` (the default): whenever timers are pending it fires the earliest, one per turn of the event loop
 *   (setImmediate), so promise chains settle and register their next waits before the next one fires.
 * - `auto: false`: time stands still until the test calls `advance(ms)`, `runAll()` or `runUntil(done)`. An engine
 *   that keeps re-arming timers (a rate schedule) needs this.
 *
 * Two readings of `scale`:
 * - `waitsScaled: false` (the default): `now()` is simulated time and a wait of `ms` fires `ms` later; `scale` is
 *   only what the engine reads for the waits it cannot route through the Clock (timers of a library): with the
 *   default 1e6 they are real but negligible.
 * - `waitsScaled: true`: the runtime clock's own semantics, `now()` is real time and a wait of `ms` simulated
 *   milliseconds fires `ms / scale` later.
 * With scale 1 the two agree.
 */
import { Clock } from '../../local/clock';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

export interface FakeClockOptions {
  /** Epoch milliseconds the clock starts at; default 2026-01-01T00:00:00.000Z. */
  start?: number;
  /** The clock's time scale; default 1e6. */
  scale?: number;
  /** Fire pending timers by itself (default true), or only when the test advances time (false). */
  auto?: boolean;
  /** Divide every wait by `scale` (the runtime clock's semantics); default false. */
  waitsScaled?: boolean;
  /** Turns of the event loop `advance`, `runAll` and `runUntil` give promise chains between timers; default 5. */
  settleTurns?: number;
}

export class FakeClock implements Clock {
  readonly scale: number;
  private time: number;
  private seq = 0;
  private timers: Timer[] = [];
  private pumping = false;
  private readonly auto: boolean;
  private readonly waitsScaled: boolean;
  private readonly settleTurns: number;
  /** Every wait asked for, in simulated ms, in the order asked (sleep and after alike). */
  readonly waits: number[] = [];

  constructor(options: FakeClockOptions = {}) {
    this.time = options.start ?? Date.parse('2026-01-01T00:00:00.000Z');
    this.scale = options.scale ?? 1e6;
    this.auto = options.auto ?? true;
    this.waitsScaled = options.waitsScaled ?? false;
    this.settleTurns = options.settleTurns ?? 5;
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
    const delay = this.waitsScaled ? this.scaled(ms) : Math.max(0, ms);
    const timer: Timer = { at: this.time + delay, seq: this.seq++, fire: fn };
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

  /** When the earliest pending timer falls due, if any. */
  get nextAt(): number | undefined {
    return this.earliest()?.at;
  }

  /** Moves time forward by `ms`, firing every timer due on the way in order, settling promises between them. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await this.settle();
    for (let next = this.earliest(); next && next.at <= until; next = this.earliest()) {
      this.fire(next);
      await this.settle();
    }
    this.time = until;
    await this.settle();
  }

  /** Fires timers until none is pending (or `limit` fired); returns the milliseconds that passed. */
  async runAll(limit = 100_000): Promise<number> {
    const start = this.time;
    for (let n = 0; n < limit; n++) {
      await this.settle();
      const next = this.earliest();
      if (!next) break;
      this.fire(next);
    }
    await this.settle();
    return this.time - start;
  }

  /**
   * Runs until `done()` holds: lets promises settle, then jumps to the next timer, and so on. Throws when no timer
   * is left or more than maxMs of clock time would pass.
   */
  async runUntil(done: () => boolean, maxMs = 3_600_000, what = 'condition'): Promise<void> {
    const limit = this.time + maxMs;
    for (;;) {
      await this.settle();
      if (done()) return;
      const next = this.nextAt;
      if (next === undefined || next > limit) throw new Error(`${what} not reached (clock at +${this.time - (limit - maxMs)} ms)`);
      await this.advance(Math.max(0, next - this.time));
    }
  }

  private settle(): Promise<void> {
    return settle(this.settleTurns);
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
